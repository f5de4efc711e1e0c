/**
 * The telegrams a slice of meters put on the air in an epoch (meter-slice.ts), packed as they are
 * sent: their numbers in one array of doubles, their PHY streams and frames in one byte array, and
 * handed out in (time, fleet index) order through a sorted index. The same arrays go to the main
 * thread from a worker (a message copies each in one piece) and are read there by an EventCursor.
 *
 * Why packed: a telegram held as an object with two typed arrays of its own cost ~1.1 KB in V8
 * (each array its object, its buffer and a malloc'd store), packed ~270 bytes (a mode-7 T1
 * telegram's stream and frame are 196); and a worker's telegrams are sent as they were logged, not
 * packed again for the message.
 */
import type { WmbusMode } from '../../modules/ports/radio.js';
import type { FrameFormat } from '../../modules/wmbus/frame.js';
import type { AirEvent, MeterSpec } from './meter-slice.js';

/** An epoch's telegrams: STRIDE numbers each in `nums`, their bytes in `bytes`, and `order` their
 *  indices sorted by (wallMs, fleet index), one a telegram. Plain typed arrays: a message copies
 *  them. */
export interface PackedAir {
  nums: Float64Array;
  bytes: Uint8Array;
  order: Uint32Array;
}

/** Numbers per telegram (STRIDE): the meter's place in the slice, wallMs, airtimeMs, importWh,
 *  exportWh, where its bytes start, the stream's and the frame's lengths, flags. */
const PLACE = 0;
const WALL = 1;
const AIRTIME = 2;
const IMPORT = 3;
const EXPORT = 4;
const AT = 5;
const STREAM_LENGTH = 6;
const FRAME_LENGTH = 7;
const FLAGS = 8;
const STRIDE = 9;
const C1 = 1;
const FORMAT_B = 2;
const HAS_IMPORT = 4;
const HAS_EXPORT = 8;
/** Telegrams an epoch's arrays are made for at first (grown by doubling). */
const FIRST_SIZE = 64;

/** A slice's telegrams since the last `take()`. */
export class AirLog {
  private nums: Float64Array;
  private bytes: Uint8Array;
  private count = 0;
  private used = 0;

  constructor() {
    this.nums = new Float64Array(STRIDE * FIRST_SIZE);
    this.bytes = new Uint8Array(256 * FIRST_SIZE);
  }

  /** Logs a telegram of the meter at `place` in the slice (its stream and frame are copied). */
  push(place: number, wallMs: number, airtimeMs: number, mode: WmbusMode, format: FrameFormat, stream: Uint8Array, frame: Uint8Array, importWh: number | undefined, exportWh: number | undefined): void {
    const o = STRIDE * this.count;
    if (o + STRIDE > this.nums.length) this.nums = grown(this.nums, o + STRIDE);
    const at = this.used;
    const end = at + stream.length + frame.length;
    if (end > this.bytes.length) this.bytes = grown(this.bytes, end);
    const nums = this.nums;
    nums[o + PLACE] = place;
    nums[o + WALL] = wallMs;
    nums[o + AIRTIME] = airtimeMs;
    nums[o + IMPORT] = importWh ?? 0;
    nums[o + EXPORT] = exportWh ?? 0;
    nums[o + AT] = at;
    nums[o + STREAM_LENGTH] = stream.length;
    nums[o + FRAME_LENGTH] = frame.length;
    nums[o + FLAGS] = (mode === 'C1' ? C1 : 0) | (format === 'B' ? FORMAT_B : 0) | (importWh !== undefined ? HAS_IMPORT : 0) | (exportWh !== undefined ? HAS_EXPORT : 0);
    this.bytes.set(stream, at);
    this.bytes.set(frame, at + stream.length);
    this.used = end;
    this.count++;
  }

  /** Telegrams logged and not taken. */
  get size(): number {
    return this.count;
  }

  /** The telegrams logged since the last call, sorted by (wallMs, place), in arrays of their own
   *  of the exact size (a message copies whole buffers). The log starts again small: between
   *  epochs it holds nothing (an epoch's arrays kept were ~1 KB a meter of a fleet in hourly
   *  epochs, for copies of ~5 MB an epoch of 20 000 telegrams). */
  take(): PackedAir {
    const n = this.count;
    const nums = this.nums.slice(0, STRIDE * n);
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    // Logged meter by meter, each in time order: runs that the sort merges.
    order.sort((a, b) => nums[STRIDE * a + WALL] - nums[STRIDE * b + WALL] || nums[STRIDE * a + PLACE] - nums[STRIDE * b + PLACE]);
    const out: PackedAir = { nums, bytes: this.bytes.slice(0, this.used), order };
    this.nums = new Float64Array(STRIDE * FIRST_SIZE);
    this.bytes = new Uint8Array(256 * FIRST_SIZE);
    this.count = 0;
    this.used = 0;
    return out;
  }
}

function grown<T extends Float64Array | Uint8Array>(a: T, atLeast: number): T {
  const b = new (a.constructor as new (n: number) => T)(Math.max(atLeast, 2 * a.length));
  b.set(a);
  return b;
}

/**
 * An epoch's telegrams of one slice in (wallMs, fleet index) order, read one at a time, each made
 * into an object only when taken (its stream and frame views of the packed bytes). The main thread
 * merges and delivers them one by one, so each object dies young; a whole epoch unpacked at once
 * (tens of thousands of objects and views) outlived the young generation and waited in the old one
 * for a full collection.
 */
export class EventCursor {
  private i = 0;
  /** Where the next telegram's numbers start (valid while `left` > 0). */
  private o = 0;
  constructor(
    private readonly air: PackedAir,
    private readonly specs: readonly MeterSpec[],
  ) {
    this.seek();
  }

  private seek(): void {
    if (this.i < this.air.order.length) this.o = STRIDE * this.air.order[this.i];
  }

  /** Telegrams not taken yet. */
  get left(): number {
    return this.air.order.length - this.i;
  }

  /** The next telegram's wallMs and fleet index (with `left` > 0). */
  get wallMs(): number {
    return this.air.nums[this.o + WALL];
  }
  get meterIndex(): number {
    return this.specs[this.air.nums[this.o + PLACE]].index;
  }

  /** The next telegram. */
  take(): AirEvent {
    const { nums, bytes } = this.air;
    const o = this.o;
    const spec = this.specs[nums[o + PLACE]];
    const flags = nums[o + FLAGS];
    const at = nums[o + AT];
    const streamEnd = at + nums[o + STREAM_LENGTH];
    this.i++;
    this.seek();
    return {
      meterIndex: spec.index,
      meterId: spec.meterId,
      wallMs: nums[o + WALL],
      airtimeMs: nums[o + AIRTIME],
      mode: flags & C1 ? 'C1' : 'T1',
      stream: bytes.subarray(at, streamEnd),
      frame: bytes.subarray(streamEnd, streamEnd + nums[o + FRAME_LENGTH]),
      format: flags & FORMAT_B ? 'B' : 'A',
      importWh: flags & HAS_IMPORT ? nums[o + IMPORT] : undefined,
      exportWh: flags & HAS_EXPORT ? nums[o + EXPORT] : undefined,
    };
  }
}

/** Every telegram of `air` as an object, in order (tests, the fleet bench). */
export function airEvents(air: PackedAir, specs: readonly MeterSpec[]): AirEvent[] {
  const c = new EventCursor(air, specs);
  const out: AirEvent[] = [];
  while (c.left > 0) out.push(c.take());
  return out;
}
