/**
 * The same host on Moddable's desktop simulator (`mcconfig -d -m -p lin` or `-p mac`): host.ts wired
 * to desktop-io.ts (CC1101 simulator, simulated flash partitions) with Moddable's `Timer` and `Time`.
 * Exports the same `startHost(app)` as main.ts, so the meter application runs unchanged.
 */
import Time from 'time';
import Timer from 'timer';
import type { MeterApplication } from './app.js';
import { createDesktopBoard } from './desktop-io.js';
import { createPorts, runApplication, type HostIo, type HostWiring, type RunningHost } from './host.js';

const desktop = createDesktopBoard();
const io: HostIo = {
  ...desktop.io,
  ticks: () => Time.ticks,
  now: () => Date.now(),
  repeat(callback, ms) {
    const id = Timer.repeat(callback, ms);
    return () => Timer.clear(id);
  },
};

let wiring: HostWiring | undefined;

export function hostPorts(): HostWiring {
  wiring ??= createPorts(io);
  return wiring;
}

export function startHost(app: MeterApplication): RunningHost {
  return runApplication(app, hostPorts().ports, io);
}

export default function main(): void {
  hostPorts().radio.configure('T1');
  trace('xsmeter desktop host: simulated CC1101 ready; waiting for the meter application\n');
}
