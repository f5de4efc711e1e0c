/**
 * The same host on Moddable's desktop simulator (`mcconfig -d -m -p lin` or `-p mac`): host.ts wired
 * to desktop-meter.ts (CC1101 simulator, an ADE7953 simulator measuring a load, NVS provisioned with
 * demonstration keys) with the device's own crypto (ports/crypto.ts) and the flash partitions in
 * files of the working directory (file-flash.ts: outside the XS heap, kept across runs, as on the
 * board). Boots like the board (boot.ts: CC1101 check, then MeterApp) on Moddable's `Timer` and
 * `Time`.
 *
 * Built with `xsmeterDay=HOURS` (an mcconfig argument) it instead runs that many simulated hours of
 * a household load on virtual time as fast as it can (desktop-day.ts) and traces every telegram,
 * the registers and the calibration log export, then DAY_DONE.
 */
import Debug from 'debug';
import Instrumentation from 'instrumentation';
import config from 'mc/config';
import Timer from 'timer';
import { HostBoot } from './boot.js';
import { DesktopDay, DAY_DONE } from './desktop-day.js';
import { DESKTOP_PARTITION_SECTORS } from './desktop-io.js';
import { createDesktopMeterBoard } from './desktop-meter.js';
import { FileFlashPartition } from './file-flash.js';
import { moddableTime } from './moddable-time.js';
import { ModdableCrypto } from './ports/crypto.js';
import type { ModdableFlashPartition } from './ports/flash.js';

/** Simulated ms the day-run covers per timer callback, and the pause between callbacks: mcsim samples
 *  its instruments (and runs its window) only when no timer is due. */
const DAY_STEP_MS = 5 * 60_000;
const DAY_PAUSE_MS = 10;

function openFlash(partition: string): ModdableFlashPartition {
  return new FileFlashPartition(`xsmeter-${partition}.flash`, (DESKTOP_PARTITION_SECTORS[partition] ?? 0) * 4096);
}

function log(line: string): void {
  trace(`${line}\n`);
}

/** XS's live heap in bytes (collects garbage, then reads the chunk and slot heaps in use), its count
 *  of collections and its stack peak (both since mcsim last sampled its instruments, which resets them). */
function liveHeap(): { chunks: number; slots: number; collections: number; stack: number } {
  const collections = Instrumentation.get(Instrumentation.map('XS Garbage Collection Count'));
  const stack = Instrumentation.get(Instrumentation.map('XS Stack Used'));
  Debug.gc();
  return {
    chunks: Instrumentation.get(Instrumentation.map('XS Chunk Heap Used')),
    slots: Instrumentation.get(Instrumentation.map('XS Slot Heap Used')),
    collections,
    stack,
  };
}

export default function main(): void {
  const hours = Number(config.xsmeterDay ?? 0);
  if (hours > 0) {
    const day = new DesktopDay({ crypto: new ModdableCrypto(), hours, openFlash, out: log, heap: liveHeap });
    day.start();
    Timer.repeat((id) => {
      if (day.step(DAY_STEP_MS)) return;
      Timer.clear(id);
      day.finish();
    }, DAY_PAUSE_MS);
    return;
  }
  const desktop = createDesktopMeterBoard({ crypto: new ModdableCrypto(), openFlash });
  // The simulated chip integrates the load on the host's own time.
  let last = moddableTime.ticks();
  moddableTime.repeat(() => {
    const now = moddableTime.ticks();
    desktop.advanceMeasurand(now - last);
    last = now;
  }, 100);
  new HostBoot({ ...desktop.io, ...moddableTime }, desktop.board.preferences).boot(log);
}

export { DAY_DONE };
