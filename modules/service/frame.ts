/**
 * Service-interface framing over a byte stream (serial port, TCP bridge, pseudo-terminal):
 *
 *   offset  size  field
 *   0       2     SOF 0xA5 0x5A
 *   2       2     LEN: payload length, u16 little-endian, at most maxPayload (default 1024)
 *   4       1     LCS: length checksum, (LEN low + LEN high + LCS) mod 256 = 0
 *   5       1     TYPE: command (requests 0x01–0x7F; a response is the request's type | 0x80)
 *   6       1     SEQ: chosen by the client, echoed in the response
 *   7       LEN   PAYLOAD
 *   7+LEN   2     CRC-16/CCITT-FALSE over bytes 2 … 6+LEN (LEN to the end of PAYLOAD), high byte first
 *
 * The length checksum (as in the NXP PN532 extended frame) lets a receiver reject a corrupted length
 * at once instead of waiting for up to a kilobyte that will never come. `FrameDecoder` takes the
 * stream in arbitrary chunks and resynchronises after garbage, a bad header or a bad CRC by
 * searching for the next SOF from the byte after the rejected one, so a good frame that followed
 * (or hid inside) a broken one is still found. Problems are reported as FrameError values, never
 * thrown: a noisy line is not an exception.
 */
import { MeterError } from '../core/errors.js';
import { crc16Ccitt } from './crc16-ccitt.js';

export const SOF = Object.freeze([0xa5, 0x5a] as const);
/** Bytes of a frame besides its payload: SOF 2, LEN 2, LCS 1, TYPE 1, SEQ 1, CRC 2. */
export const FRAME_OVERHEAD = 9;
export const DEFAULT_MAX_PAYLOAD = 1024;
const HEADER = 7;

/**
 * A framing problem. Codes: 'garbage' (bytes outside any frame were skipped; details.skipped),
 * 'header-check' (LCS does not match LEN), 'too-long' (LEN above the maximum), 'crc',
 * 'abandoned' (a partial frame was given up after the line went idle), 'frame-timeout' (a partial
 * frame was not complete in time), and on encoding 'range'.
 */
export class FrameError extends MeterError {}

export interface Frame {
  type: number;
  seq: number;
  payload: Uint8Array;
}

export type DecodeEvent = { kind: 'frame'; frame: Frame } | { kind: 'error'; error: FrameError };

function lengthChecksum(len: number): number {
  return (0x100 - (((len & 0xff) + (len >>> 8)) & 0xff)) & 0xff;
}

function checkByte(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new FrameError('range', `${what} ${v} is not a byte`, { field: what });
}

export function encodeFrame(frame: Frame, maxPayload = DEFAULT_MAX_PAYLOAD): Uint8Array {
  checkByte(frame.type, 'type');
  checkByte(frame.seq, 'seq');
  const n = frame.payload.length;
  if (n > maxPayload || n > 0xffff) {
    throw new FrameError('range', `payload of ${n} bytes exceeds the maximum of ${maxPayload}`, { length: n, max: maxPayload });
  }
  const out = new Uint8Array(FRAME_OVERHEAD + n);
  out[0] = SOF[0];
  out[1] = SOF[1];
  out[2] = n & 0xff;
  out[3] = n >>> 8;
  out[4] = lengthChecksum(n);
  out[5] = frame.type;
  out[6] = frame.seq;
  out.set(frame.payload, HEADER);
  const crc = crc16Ccitt(out, 2, HEADER + n);
  out[HEADER + n] = crc >>> 8;
  out[HEADER + n + 1] = crc & 0xff;
  return out;
}

export interface FrameDecoderOptions {
  /** Largest payload accepted (default 1024); a longer LEN is rejected as 'too-long'. */
  maxPayload?: number;
  /** A partial frame still incomplete this long after its first byte was taken is given up
   *  ('frame-timeout'; default 2000 ms: a maximal frame takes 1.1 s at 9600 baud). Needs `now`. */
  frameTimeoutMs?: number;
  /** A partial frame is given up once no byte has arrived for this long ('abandoned'; default
   *  250 ms). Needs `now`. */
  idleTimeoutMs?: number;
}

/**
 * What one call may spend, counted down by the decoder: frames completed, and bytes checked by CRC
 * (a candidate frame costs its length whether it passes or not). The second bounds the work a
 * crafted stream can cause: after a failed CRC the search restarts two bytes on, so without it one
 * kilobyte of input could cost hundreds of kilobytes of CRC.
 */
export interface DecodeBudget {
  frames: number;
  checkBytes: number;
}

export const DEFAULT_FRAME_TIMEOUT_MS = 2000;

/** A decoder's `maxPayload`, checked (FrameError 'range'): for a caller that makes its decoder later. */
export function checkMaxPayload(maxPayload: number): number {
  if (!Number.isInteger(maxPayload) || maxPayload < 0 || maxPayload > 0xffff) {
    throw new FrameError('range', `maxPayload ${maxPayload} must be an integer from 0 to 65535`);
  }
  return maxPayload;
}
export const DEFAULT_IDLE_TIMEOUT_MS = 250;

/**
 * Streaming decoder: `push()` bytes as they arrive, get back the frames and errors they complete.
 * A polled server uses `feed()` instead, which takes bytes only while a budget lasts and says how
 * many it took, and `expire()`, which gives up a partial frame that stalls (times on the caller's
 * clock, so a test runs them on simulated time).
 */
export class FrameDecoder {
  readonly maxPayload: number;
  readonly frameTimeoutMs: number;
  readonly idleTimeoutMs: number;
  /** Made when the first byte arrives: a port that never receives one (most meters) holds none. */
  private buf: Uint8Array | undefined;
  private len = 0;
  /** When the partial frame at the head of the buffer began, and when the last byte arrived. */
  private partialSince = 0;
  private lastByteAt = 0;
  /** The last scan ran to the end: what is held is a partial frame waiting for bytes. */
  private waiting = false;

  constructor(options: FrameDecoderOptions = {}) {
    this.maxPayload = checkMaxPayload(options.maxPayload ?? DEFAULT_MAX_PAYLOAD);
    this.frameTimeoutMs = options.frameTimeoutMs ?? DEFAULT_FRAME_TIMEOUT_MS;
    this.idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  }

  /** Bytes held back: the start of a frame not yet complete (or, after a budget ran out, frames not yet checked). */
  get buffered(): number {
    return this.len;
  }

  /** A budget ran out on what is held: the next feed() checks it first, even with no new bytes. */
  get unchecked(): boolean {
    return this.len > 0 && !this.waiting;
  }

  /** Bytes of one maximal frame: what one call's budget must at least allow to check. */
  get maxFrameBytes(): number {
    return this.maxPayload + FRAME_OVERHEAD;
  }

  push(chunk: Uint8Array): DecodeEvent[] {
    const events: DecodeEvent[] = [];
    this.feed(chunk, events, { frames: Infinity, checkBytes: Infinity }, 0);
    return events;
  }

  /**
   * Decodes what is held and then bytes of `chunk` until the chunk or the budget runs out; appends
   * the events to `events` and returns how many bytes of `chunk` it took (pass the rest again
   * later). `now` (the caller's clock, ms) starts the timeouts of `expire()`.
   */
  feed(chunk: Uint8Array, events: DecodeEvent[], budget: DecodeBudget, now: number): number {
    // Frames left unchecked when a budget ran out come first.
    if (this.len > 0 && !this.waiting && this.scan(events, budget, now)) return 0;
    let i = 0;
    // Invariant after every scan that ran to the end: what is left is a proper prefix of one frame
    // that fits, so the buffer never needs more than one maximal frame.
    const buf = chunk.length > 0 ? (this.buf ??= new Uint8Array(this.maxFrameBytes)) : this.buf;
    while (i < chunk.length) {
      // After a scan that ran to the end the buffer has room (see the invariant).
      const b = buf as Uint8Array;
      const n = Math.min(b.length - this.len, chunk.length - i);
      if (this.len === 0) this.partialSince = now;
      b.set(chunk.subarray(i, i + n), this.len);
      this.len += n;
      i += n;
      if (this.scan(events, budget, now)) break;
    }
    if (i > 0) this.lastByteAt = now;
    return i;
  }

  /**
   * Gives up the partial frame held back when it has waited too long: no byte for `idleTimeoutMs`
   * ('abandoned', e.g. its LEN was corrupted) or not complete `frameTimeoutMs` after it began
   * ('frame-timeout', a sender dribbling bytes). The bytes after its SOF are searched again, so a
   * frame hidden in it is still found. Returns whether it gave one up.
   */
  expire(now: number, events: DecodeEvent[], budget: DecodeBudget): boolean {
    if (!this.waiting || this.len === 0) return false;
    const idle = now - this.lastByteAt >= this.idleTimeoutMs;
    if (!idle && now - this.partialSince < this.frameTimeoutMs) return false;
    this.giveUp(idle ? 'abandoned' : 'frame-timeout', events, budget, now);
    return true;
  }

  /** Restarts both timeouts at `now` (the caller did not take bytes for a while: not the sender's delay). */
  touch(now: number): void {
    this.partialSince = now;
    this.lastByteAt = now;
  }

  /** Gives up the partial frame held back now, whatever the time (see expire()). */
  abandonPartial(): DecodeEvent[] {
    const events: DecodeEvent[] = [];
    if (this.len > 0) this.giveUp('abandoned', events, { frames: Infinity, checkBytes: Infinity }, this.partialSince);
    return events;
  }

  reset(): void {
    this.len = 0;
    this.waiting = false;
  }

  private giveUp(code: 'abandoned' | 'frame-timeout', events: DecodeEvent[], budget: DecodeBudget, now: number): void {
    const what = code === 'abandoned' ? 'abandoned after the line went idle' : 'not complete in time';
    events.push({ kind: 'error', error: new FrameError(code, `partial frame of ${this.len} bytes ${what}`, { length: this.len }) });
    const drop = Math.min(2, this.len);
    (this.buf as Uint8Array).copyWithin(0, drop, this.len); // len > 0: the buffer exists
    this.len -= drop;
    this.partialSince = now;
    this.scan(events, budget, now);
  }

  /** Decodes the buffer from its start; returns true when it stopped because the budget ran out. */
  private scan(events: DecodeEvent[], budget: DecodeBudget, now: number): boolean {
    if (!this.buf) {
      this.waiting = false; // nothing ever held
      return false;
    }
    const b = this.buf;
    let p = 0;
    let stopped = false;
    for (;;) {
      let s = p;
      while (s < this.len && !(b[s] === SOF[0] && (s + 1 === this.len || b[s + 1] === SOF[1]))) s++;
      if (s > p) {
        events.push({ kind: 'error', error: new FrameError('garbage', `${s - p} bytes outside a frame skipped`, { skipped: s - p }) });
        p = s;
      }
      if (this.len - p < 5) break;
      const n = b[p + 2] | (b[p + 3] << 8);
      if (((b[p + 2] + b[p + 3] + b[p + 4]) & 0xff) !== 0) {
        events.push({ kind: 'error', error: new FrameError('header-check', `length checksum does not match length ${n}`, { length: n }) });
        p += 2;
        continue;
      }
      if (n > this.maxPayload) {
        events.push({
          kind: 'error',
          error: new FrameError('too-long', `frame length ${n} exceeds the maximum of ${this.maxPayload}`, {
            length: n,
            max: this.maxPayload,
          }),
        });
        p += 2;
        continue;
      }
      if (this.len - p < FRAME_OVERHEAD + n) break;
      const end = p + HEADER + n;
      if (budget.frames < 1 || budget.checkBytes < end - p - 2) {
        stopped = true;
        break;
      }
      budget.checkBytes -= end - p - 2;
      const crc = crc16Ccitt(b, p + 2, end);
      const got = (b[end] << 8) | b[end + 1];
      if (crc !== got) {
        events.push({ kind: 'error', error: new FrameError('crc', `frame CRC ${got.toString(16)} should be ${crc.toString(16)}`, { length: n }) });
        p += 2;
        continue;
      }
      events.push({ kind: 'frame', frame: { type: b[p + 5], seq: b[p + 6], payload: b.slice(p + HEADER, end) } });
      budget.frames--;
      p = end + 2;
    }
    if (p > 0) {
      b.copyWithin(0, p, this.len);
      this.len -= p;
      this.partialSince = now; // another frame is at the head now
    }
    this.waiting = !stopped && this.len > 0;
    return stopped;
  }
}
