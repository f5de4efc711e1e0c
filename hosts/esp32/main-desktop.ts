/**
 * The same host on Moddable's desktop simulator (`mcconfig -d -m -p lin` or `-p mac`): host.ts wired
 * to desktop-meter.ts (CC1101 simulator, simulated flash partitions, an ADE7953 simulator measuring a
 * steady load, NVS provisioned with demonstration keys) with Moddable's `Timer` and `Time`. Boots
 * like the board (boot.ts: CC1101 check, then MeterApp) and exports the same `startHost(app)` as
 * main.ts.
 */
import type { MeterApplication } from './app.js';
import { HostBoot } from './boot.js';
import { createDesktopMeterBoard } from './desktop-meter.js';
import type { HostWiring, RunningHost } from './host.js';
import { moddableTime } from './moddable-time.js';

const desktop = createDesktopMeterBoard();
const host = new HostBoot({ ...desktop.io, ...moddableTime }, desktop.board.preferences);

export function hostPorts(): HostWiring {
  return host.hostPorts();
}

export function startHost(app: MeterApplication): RunningHost {
  return host.startHost(app);
}

export default function main(): void {
  // The simulated chip integrates the load on the host's own time.
  let last = moddableTime.ticks();
  moddableTime.repeat(() => {
    const now = moddableTime.ticks();
    desktop.advanceMeasurand(now - last);
    last = now;
  }, 100);
  host.boot((line) => trace(`${line}\n`));
}
