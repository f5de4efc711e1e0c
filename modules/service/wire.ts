/**
 * Field encoding of the service-interface messages: little-endian fixed-width integers (u64 as a
 * JavaScript number, limited to 2^53 − 1 so no precision is lost), UTF-8 strings with a one-byte
 * length, and byte strings with a two-byte length. The reader is strict: reading past the end, a
 * value out of its range, invalid UTF-8 (overlong, surrogate, above U+10FFFF) or trailing bytes is
 * a WireError, never an untyped exception.
 */
import { MeterError } from '../core/errors.js';
import { readU16LE, readU32LE, writeU16LE, writeU32LE } from '../core/bytes.js';

/** A message body does not decode (or a value cannot be encoded): code 'malformed' or 'range'. */
export class WireError extends MeterError {}

const TWO32 = 0x100000000;

export function utf8Encode(s: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff) throw new WireError('range', 'lone surrogate in string', { index: i });
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return Uint8Array.from(out);
}

export function utf8Decode(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; ) {
    const c = b[i];
    let n = 0;
    let cp = 0;
    let min = 0;
    if (c < 0x80) (cp = c), (n = 0);
    else if (c >= 0xc2 && c <= 0xdf) (cp = c & 0x1f), (n = 1), (min = 0x80);
    else if (c >= 0xe0 && c <= 0xef) (cp = c & 0x0f), (n = 2), (min = 0x800);
    else if (c >= 0xf0 && c <= 0xf4) (cp = c & 0x07), (n = 3), (min = 0x10000);
    else throw new WireError('malformed', `invalid UTF-8 lead byte at ${i}`, { index: i });
    if (i + n >= b.length) throw new WireError('malformed', `truncated UTF-8 sequence at ${i}`, { index: i });
    for (let k = 1; k <= n; k++) {
      const d = b[i + k];
      if ((d & 0xc0) !== 0x80) throw new WireError('malformed', `invalid UTF-8 continuation at ${i + k}`, { index: i + k });
      cp = (cp << 6) | (d & 63);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      throw new WireError('malformed', `invalid UTF-8 code point at ${i}`, { index: i });
    }
    s += String.fromCodePoint(cp);
    i += n + 1;
  }
  return s;
}

function checkUint(v: number, max: number, what: string): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new WireError('range', `${what} ${v} is not an integer from 0 to ${max}`, { field: what });
  }
}

function checkInt32(v: number, what: string): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) {
    throw new WireError('range', `${what} ${v} is not a signed 32-bit integer`, { field: what });
  }
}

/** Appends fields; `bytes()` returns the result. Values out of range are a WireError('range'). */
export class ByteWriter {
  private parts: number[] = [];

  u8(v: number, what = 'u8'): this {
    checkUint(v, 0xff, what);
    this.parts.push(v);
    return this;
  }
  u16(v: number, what = 'u16'): this {
    checkUint(v, 0xffff, what);
    this.parts.push(v & 0xff, v >>> 8);
    return this;
  }
  u32(v: number, what = 'u32'): this {
    checkUint(v, 0xffffffff, what);
    const b = new Uint8Array(4);
    writeU32LE(b, 0, v);
    return this.raw(b);
  }
  i32(v: number, what = 'i32'): this {
    checkInt32(v, what);
    return this.u32(v >>> 0, what);
  }
  /** A non-negative integer up to 2^53 − 1, as 8 bytes little-endian. */
  u64(v: number, what = 'u64'): this {
    checkUint(v, Number.MAX_SAFE_INTEGER, what);
    this.u32(v % TWO32, what);
    return this.u32(Math.floor(v / TWO32), what);
  }
  bool(v: boolean, what = 'bool'): this {
    if (typeof v !== 'boolean') throw new WireError('range', `${what} is not a boolean`, { field: what });
    return this.u8(v ? 1 : 0, what);
  }
  /** UTF-8 with a one-byte length (at most 255 bytes). */
  str(s: string, what = 'string'): this {
    if (typeof s !== 'string') throw new WireError('range', `${what} is not a string`, { field: what });
    const b = utf8Encode(s);
    if (b.length > 0xff) throw new WireError('range', `${what} is ${b.length} bytes of UTF-8, at most 255`, { field: what });
    this.u8(b.length, `${what} length`);
    return this.raw(b);
  }
  /** A byte string with a two-byte length. */
  blob(b: Uint8Array, what = 'bytes'): this {
    if (!(b instanceof Uint8Array)) throw new WireError('range', `${what} is not a Uint8Array`, { field: what });
    this.u16(b.length, `${what} length`);
    return this.raw(b);
  }
  raw(b: Uint8Array): this {
    for (let i = 0; i < b.length; i++) this.parts.push(b[i]);
    return this;
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** Reads fields in order; `end()` insists that nothing is left over. */
export class ByteReader {
  private pos = 0;
  constructor(private readonly b: Uint8Array) {}

  private need(n: number, what: string): number {
    if (this.pos + n > this.b.length) {
      throw new WireError('malformed', `${what}: needs ${n} bytes at offset ${this.pos}, ${this.b.length - this.pos} left`, {
        field: what,
        offset: this.pos,
      });
    }
    const p = this.pos;
    this.pos += n;
    return p;
  }
  u8(what = 'u8'): number {
    return this.b[this.need(1, what)];
  }
  u16(what = 'u16'): number {
    return readU16LE(this.b, this.need(2, what));
  }
  u32(what = 'u32'): number {
    return readU32LE(this.b, this.need(4, what));
  }
  i32(what = 'i32'): number {
    return this.u32(what) | 0;
  }
  u64(what = 'u64'): number {
    const lo = this.u32(what);
    const hi = this.u32(what);
    if (hi > 0x1fffff) throw new WireError('range', `${what} exceeds 2^53 - 1`, { field: what });
    return hi * TWO32 + lo;
  }
  bool(what = 'bool'): boolean {
    const v = this.u8(what);
    if (v > 1) throw new WireError('malformed', `${what}: ${v} is not 0 or 1`, { field: what });
    return v === 1;
  }
  str(what = 'string'): string {
    const n = this.u8(`${what} length`);
    return utf8Decode(this.b.slice(this.need(n, what), this.pos));
  }
  blob(what = 'bytes'): Uint8Array {
    const n = this.u16(`${what} length`);
    return this.b.slice(this.need(n, what), this.pos);
  }
  /** `n` raw bytes (a copy). */
  raw(n: number, what = 'bytes'): Uint8Array {
    return this.b.slice(this.need(n, what), this.pos);
  }
  get remaining(): number {
    return this.b.length - this.pos;
  }
  end(what = 'message'): void {
    if (this.pos !== this.b.length) {
      throw new WireError('malformed', `${what}: ${this.b.length - this.pos} unexpected trailing bytes`, { field: what });
    }
  }
}
