/**
 * A worker thread running one MeterSlice for sim-runner.ts (`xsmeter sim --workers N`): it makes its
 * meters, then runs them epoch by epoch as the runner asks, sending back the telegrams they put on
 * the air. The runner sets a shared stop flag on SIGINT/SIGTERM; the worker checks it between
 * meters and events, so a stop takes effect within milliseconds even in a long epoch.
 * Built as its own bundle (dist/slice-worker.mjs, scripts/build.mjs); under tsx the .ts runs.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { MeterError } from '../../modules/core/errors.js';
import type { PackedAir } from './air-log.js';
import { MeterSlice, type SliceOptions, type SliceReport } from './meter-slice.js';

export const SLICE_WORKER = 'xsmeter-meter-slice';

export interface SliceWorkerData {
  kind: typeof SLICE_WORKER;
  options: SliceOptions;
  /** Int32 flag: non-zero asks the worker to stop what it is doing. */
  stop: SharedArrayBuffer;
  /** Int32: the meters the worker has run through the epoch it is running (MeterSlice.metersRun),
   *  for the runner's progress during a long epoch. */
  progress: SharedArrayBuffer;
}

export type ToSliceWorker = { type: 'run'; limit: number } | { type: 'finish'; end?: number };

export type FromSliceWorker =
  | { type: 'setup'; made: number; keys: string[] }
  | { type: 'ready'; complete: boolean; next: number }
  | { type: 'ran'; complete: boolean; next: number; events: PackedAir }
  | { type: 'done'; report: SliceReport; events: PackedAir }
  | { type: 'error'; message: string; code?: string };

function serve(data: SliceWorkerData): void {
  const port = parentPort as NonNullable<typeof parentPort>;
  const flag = new Int32Array(data.stop);
  const metersRun = new Int32Array(data.progress);
  let slice: MeterSlice | undefined;
  // Checked between meters: also where the worker shows how far it got.
  const stop = () => {
    if (slice) Atomics.store(metersRun, 0, slice.metersRun);
    return Atomics.load(flag, 0) !== 0;
  };
  const fail = (e: unknown) => {
    port.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e), code: e instanceof MeterError ? e.code : undefined } satisfies FromSliceWorker);
  };
  try {
    slice = new MeterSlice(data.options);
    let reported = 0;
    for (;;) {
      const complete = slice.setUp(performance.now() + 200, stop);
      const keys: string[] = [];
      for (let p = reported; p < slice.made; p++) keys.push(slice.meterKey(p));
      reported = slice.made;
      port.postMessage({ type: 'setup', made: slice.made, keys } satisfies FromSliceWorker);
      if (complete || stop()) {
        port.postMessage({ type: 'ready', complete, next: slice.nextEventWall } satisfies FromSliceWorker);
        break;
      }
    }
  } catch (e) {
    fail(e);
    return;
  }
  const running = slice;
  port.on('message', (m: ToSliceWorker) => {
    try {
      if (m.type === 'run') {
        const complete = running.runUntil(m.limit, stop);
        port.postMessage({ type: 'ran', complete, next: running.nextEventWall, events: running.take() } satisfies FromSliceWorker);
      } else {
        const report = running.finish(m.end);
        port.postMessage({ type: 'done', report, events: running.take() } satisfies FromSliceWorker);
        running.close();
        port.close();
      }
    } catch (e) {
      fail(e);
    }
  });
}

if (!isMainThread && (workerData as SliceWorkerData | undefined)?.kind === SLICE_WORKER) serve(workerData as SliceWorkerData);
