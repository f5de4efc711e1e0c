/**
 * A worker thread running one MeterSlice for sim-runner.ts (`xsmeter sim --workers N`): it makes its
 * meters, then runs them epoch by epoch as the runner asks, sending back the telegrams they put on
 * the air. The runner sets a shared stop flag on SIGINT/SIGTERM; the worker checks it between
 * meters and events, so a stop takes effect within milliseconds even in a long epoch.
 * Built as its own bundle (dist/slice-worker.mjs, scripts/build.mjs); under tsx the .ts runs.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { MeterError } from '../../modules/core/errors.js';
import { MeterSlice, type AirEvent, type MeterSpec, type SliceOptions, type SliceReport } from './meter-slice.js';

export const SLICE_WORKER = 'xsmeter-meter-slice';

export interface SliceWorkerData {
  kind: typeof SLICE_WORKER;
  options: SliceOptions;
  /** Int32 flag: non-zero asks the worker to stop what it is doing. */
  stop: SharedArrayBuffer;
}

export type ToSliceWorker = { type: 'run'; limit: number } | { type: 'finish'; end?: number };

export type FromSliceWorker =
  | { type: 'setup'; made: number; keys: string[] }
  | { type: 'ready'; complete: boolean; next: number }
  | { type: 'ran'; complete: boolean; next: number; events: SentEvents }
  | { type: 'done'; report: SliceReport; events: SentEvents }
  | { type: 'error'; message: string; code?: string };

/**
 * An epoch's telegrams as the worker sends them: packed (numbers in one array, the streams and
 * frames in one byte array, each copied by the message in one piece), or as objects when an event
 * does not fit the packing. A structured clone of the events cost ~3-5 µs an event on the two
 * threads together (an object with two typed arrays each, made again field by field); packed, an
 * event is a few numbers and bytes copied and a view each for its stream and frame. The worker's
 * arrays are kept from epoch to epoch: transferring new ones each epoch (no copy, but a fresh
 * multi-megabyte buffer on both sides) was slower over a whole run than a copy (A/B cpu 1.08).
 */
export type SentEvents = { packed: true; count: number; nums: Float64Array; bytes: Uint8Array } | { packed: false; list: AirEvent[] };

/** Numbers per packed event: the meter's place in the slice, wallMs, airtimeMs, importWh, exportWh,
 *  the stream's and the frame's lengths, flags. */
const PACKED = 8;
const C1 = 1;
const FORMAT_B = 2;
const HAS_IMPORT = 4;
const HAS_EXPORT = 8;

/** Arrays a worker packs its events into, kept from one epoch to the next (grown when short). */
export class EventPacker {
  private nums = new Float64Array(0);
  private bytes = new Uint8Array(0);

  /** `events` (of the slice's meters `specs`) packed in this packer's arrays (valid until the next
   *  call; a message copies them), or as they are if one does not fit the packing. */
  pack(events: AirEvent[], specs: MeterSpec[]): SentEvents {
    const n = events.length;
    const first = specs.length > 0 ? specs[0].index : 0;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const e = events[i];
      const spec = specs[e.meterIndex - first];
      if (spec === undefined || spec.index !== e.meterIndex || spec.meterId !== e.meterId) return { packed: false, list: events };
      if ((e.mode !== 'T1' && e.mode !== 'C1') || (e.format !== 'A' && e.format !== 'B')) return { packed: false, list: events };
      total += e.stream.length + e.frame.length;
    }
    // A message copies the whole arrays: made again when short, or when four times what is needed
    // (a paced run's small epochs after a large one).
    const words = PACKED * n;
    if (this.nums.length < words || this.nums.length > 4 * words + 4096) this.nums = new Float64Array(words + (words >> 2));
    if (this.bytes.length < total || this.bytes.length > 4 * total + 65536) this.bytes = new Uint8Array(total + (total >> 2));
    const nums = this.nums;
    const bytes = this.bytes;
    let at = 0;
    for (let i = 0, o = 0; i < n; i++, o += PACKED) {
      const e = events[i];
      nums[o] = e.meterIndex - first;
      nums[o + 1] = e.wallMs;
      nums[o + 2] = e.airtimeMs;
      nums[o + 3] = e.importWh ?? 0;
      nums[o + 4] = e.exportWh ?? 0;
      nums[o + 5] = e.stream.length;
      nums[o + 6] = e.frame.length;
      nums[o + 7] = (e.mode === 'C1' ? C1 : 0) | (e.format === 'B' ? FORMAT_B : 0) | (e.importWh !== undefined ? HAS_IMPORT : 0) | (e.exportWh !== undefined ? HAS_EXPORT : 0);
      bytes.set(e.stream, at);
      at += e.stream.length;
      bytes.set(e.frame, at);
      at += e.frame.length;
    }
    return { packed: true, count: n, nums, bytes };
  }
}

/**
 * An epoch's events of one slice in (wallMs, meterIndex) order, read one at a time: packed ones are
 * made into objects only when taken. The main thread merges and delivers them one by one, so each
 * object dies young; a whole epoch unpacked at once (tens of thousands of objects and views) outlived
 * the young generation and waited in the old one for a full collection.
 */
export class EventCursor {
  private i = 0;
  private o = 0;
  private at = 0;
  constructor(
    private readonly events: SentEvents,
    private readonly specs: MeterSpec[],
  ) {}

  /** Events not taken yet. */
  get left(): number {
    const e = this.events;
    return (e.packed ? e.count : e.list.length) - this.i;
  }

  /** The next event's wallMs and meter index (with `left` > 0). */
  get wallMs(): number {
    const e = this.events;
    return e.packed ? e.nums[this.o + 1] : e.list[this.i].wallMs;
  }
  get meterIndex(): number {
    const e = this.events;
    return e.packed ? this.specs[e.nums[this.o]].index : e.list[this.i].meterIndex;
  }

  /** The next event (the same fields `EventPacker.pack` packed; streams and frames are views of
   *  one buffer). */
  take(): AirEvent {
    const e = this.events;
    if (!e.packed) return e.list[this.i++];
    const { nums, bytes } = e;
    const o = this.o;
    const spec = this.specs[nums[o]];
    const flags = nums[o + 7];
    const stream = bytes.subarray(this.at, (this.at += nums[o + 5]));
    const frame = bytes.subarray(this.at, (this.at += nums[o + 6]));
    this.i++;
    this.o += PACKED;
    return {
      meterIndex: spec.index,
      meterId: spec.meterId,
      wallMs: nums[o + 1],
      airtimeMs: nums[o + 2],
      mode: flags & C1 ? 'C1' : 'T1',
      stream,
      frame,
      format: flags & FORMAT_B ? 'B' : 'A',
      importWh: flags & HAS_IMPORT ? nums[o + 3] : undefined,
      exportWh: flags & HAS_EXPORT ? nums[o + 4] : undefined,
    };
  }
}

/** All the events `EventPacker.pack` packed, as objects. */
export function unpackEvents(events: SentEvents, specs: MeterSpec[]): AirEvent[] {
  if (!events.packed) return events.list;
  const c = new EventCursor(events, specs);
  const out: AirEvent[] = [];
  while (c.left > 0) out.push(c.take());
  return out;
}

function serve(data: SliceWorkerData): void {
  const port = parentPort as NonNullable<typeof parentPort>;
  const flag = new Int32Array(data.stop);
  const stop = () => Atomics.load(flag, 0) !== 0;
  const fail = (e: unknown) => {
    port.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e), code: e instanceof MeterError ? e.code : undefined } satisfies FromSliceWorker);
  };
  let slice: MeterSlice;
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
  const packer = new EventPacker();
  port.on('message', (m: ToSliceWorker) => {
    try {
      if (m.type === 'run') {
        const complete = slice.runUntil(m.limit, stop);
        port.postMessage({ type: 'ran', complete, next: slice.nextEventWall, events: packer.pack(slice.take(), slice.specs) } satisfies FromSliceWorker);
      } else {
        const report = slice.finish(m.end);
        port.postMessage({ type: 'done', report, events: packer.pack(slice.take(), slice.specs) } satisfies FromSliceWorker);
        slice.close();
        port.close();
      }
    } catch (e) {
      fail(e);
    }
  });
}

if (!isMainThread && (workerData as SliceWorkerData | undefined)?.kind === SLICE_WORKER) serve(workerData as SliceWorkerData);
