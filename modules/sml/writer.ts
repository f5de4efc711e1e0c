/**
 * SML type-length encoding (SML 1.04 §6.3) into a caller-owned buffer that is reused file after file.
 *
 * A TL field is one or more bytes: bit 7 "another TL byte follows", bits 6–4 the type (000 octet
 * string, 100 boolean, 101 integer, 110 unsigned, 111 list) in the first byte only, bits 3–0 a
 * nibble of the length, most significant first. For octet strings, booleans and numbers the length
 * counts the TL bytes too; for a list it is the number of elements. 0x01 is an omitted optional
 * field, 0x00 the end of a message.
 *
 * Integers and unsigneds are written in the smallest of 1, 2, 4 or 8 bytes that holds them (the
 * widths of SML's Integer8…64 / Unsigned8…64), or a fixed width where the field demands it (CRC).
 */
import { SmlError } from './errors.js';

export const TYPE_OCTETS = 0x00;
export const TYPE_BOOLEAN = 0x40;
export const TYPE_INTEGER = 0x50;
export const TYPE_UNSIGNED = 0x60;
export const TYPE_LIST = 0x70;

const TWO32 = 4294967296;

function rangeError(v: number | bigint, what: string): SmlError {
  return new SmlError('range', `${String(v)} ${what}`, { value: String(v) });
}

export class SmlWriter {
  readonly buf: Uint8Array;
  pos = 0;

  constructor(capacity: number) {
    this.buf = new Uint8Array(capacity);
  }

  reset(): void {
    this.pos = 0;
  }

  private room(n: number): void {
    if (this.pos + n > this.buf.length) {
      throw new SmlError('too-long', `SML message does not fit the encoder's ${this.buf.length}-byte buffer`, { capacity: this.buf.length });
    }
  }

  /** A TL field of `type` with length value `len`, in as many bytes as `len` needs nibbles. */
  private tl(type: number, len: number, nibbles: number): void {
    this.room(nibbles);
    for (let i = 0; i < nibbles; i++) {
      const nibble = Math.floor(len / 16 ** (nibbles - 1 - i)) & 0x0f;
      this.buf[this.pos++] = (i < nibbles - 1 ? 0x80 : 0) | (i === 0 ? type : 0) | nibble;
    }
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.pos++] = b;
  }

  /** An omitted OPTIONAL field. */
  omitted(): void {
    this.byte(0x01);
  }

  /** endOfSmlMsg. */
  endOfMessage(): void {
    this.byte(0x00);
  }

  /** A list header of `count` elements (the elements follow). */
  list(count: number): void {
    let k = 1;
    while (count > 16 ** k - 1) k++;
    this.tl(TYPE_LIST, count, k);
  }

  octets(bytes: Uint8Array): void {
    const n = bytes.length;
    let k = 1;
    while (n + k > 16 ** k - 1) k++;
    this.tl(TYPE_OCTETS, n + k, k);
    this.room(n);
    this.buf.set(bytes, this.pos);
    this.pos += n;
  }

  boolean(v: boolean): void {
    this.room(2);
    this.buf[this.pos++] = TYPE_BOOLEAN | 2;
    this.buf[this.pos++] = v ? 0xff : 0x00;
  }

  /** Unsigned, 0 … 2^64 − 1, in the smallest of 1/2/4/8 bytes unless `width` is given. */
  unsigned(v: number | bigint, width?: 1 | 2 | 4 | 8): void {
    // Numbers first, without `typeof`: under XS each `typeof` makes a string, and this runs ~50
    // times per push file.
    if (Number.isSafeInteger(v)) {
      const n = v as number;
      if (n < 0) throw rangeError(v, 'is not an unsigned integer SML can carry');
      this.number(TYPE_UNSIGNED, n, width ?? (n < 0x100 ? 1 : n < 0x10000 ? 2 : n < TWO32 ? 4 : 8));
      return;
    }
    if (typeof v !== 'bigint' || v < BigInt(0) || v >= BigInt(2) ** BigInt(64)) throw rangeError(v, 'is not an unsigned integer SML can carry');
    this.number(TYPE_UNSIGNED, v, width ?? (v < 0x100 ? 1 : v < 0x10000 ? 2 : v < TWO32 ? 4 : 8));
  }

  /** Integer, −2^63 … 2^63 − 1 (two's complement), in the smallest of 1/2/4/8 bytes unless `width` is given. */
  integer(v: number | bigint, width?: 1 | 2 | 4 | 8): void {
    if (Number.isSafeInteger(v)) {
      const n = v as number;
      this.number(TYPE_INTEGER, n, width ?? (n >= -0x80 && n < 0x80 ? 1 : n >= -0x8000 && n < 0x8000 ? 2 : n >= -0x80000000 && n < 0x80000000 ? 4 : 8));
      return;
    }
    if (typeof v !== 'bigint' || v < -(BigInt(2) ** BigInt(63)) || v >= BigInt(2) ** BigInt(63)) throw rangeError(v, 'is not an integer SML can carry');
    this.number(TYPE_INTEGER, v, width ?? (v >= -0x80 && v < 0x80 ? 1 : v >= -0x8000 && v < 0x8000 ? 2 : v >= -0x80000000 && v < 0x80000000 ? 4 : 8));
  }

  private number(type: number, v: number | bigint, w: number): void {
    let hi: number;
    let lo: number;
    if (Number.isSafeInteger(v)) {
      const n = v as number;
      const bits = 8 * w;
      if (type === TYPE_UNSIGNED ? n >= 2 ** bits : n < -(2 ** (bits - 1)) || n >= 2 ** (bits - 1)) throw rangeError(v, `does not fit ${w} bytes`);
      hi = Math.floor(n / TWO32);
      lo = n - hi * TWO32; // 0 ≤ lo < 2^32, also for negative n (two's complement below)
    } else {
      const b = v as bigint;
      if (w < 8 && BigInt.asIntN(8 * w, b) !== b && BigInt.asUintN(8 * w, b) !== b) throw rangeError(v, `does not fit ${w} bytes`);
      const u = BigInt.asUintN(64, b);
      hi = Number(u >> BigInt(32));
      lo = Number(u & BigInt(0xffffffff));
    }
    this.room(1 + w);
    this.buf[this.pos++] = type | (1 + w);
    const b = this.buf;
    let p = this.pos;
    if (w === 8) {
      b[p++] = (hi >>> 24) & 0xff;
      b[p++] = (hi >>> 16) & 0xff;
      b[p++] = (hi >>> 8) & 0xff;
      b[p++] = hi & 0xff;
    }
    if (w >= 4) {
      b[p++] = (lo >>> 24) & 0xff;
      b[p++] = (lo >>> 16) & 0xff;
    }
    if (w >= 2) b[p++] = (lo >>> 8) & 0xff;
    b[p++] = lo & 0xff;
    this.pos = p;
  }
}
