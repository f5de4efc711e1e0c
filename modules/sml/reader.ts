/**
 * Reads SML type-length fields (the decoding side of writer.ts) from a file's payload, with the
 * checks a receiver needs: a reserved type or a length that cannot be is SmlTlError('tl'); a field
 * of the wrong type for its place in a message is SmlStructureError('structure'). Octet strings are
 * copied out (the stream decoder reuses its buffer).
 */
import { SmlStructureError, SmlTlError } from './errors.js';
import { TYPE_BOOLEAN, TYPE_INTEGER, TYPE_LIST, TYPE_OCTETS, TYPE_UNSIGNED } from './writer.js';
import type { SmlTime, SmlValue } from './messages.js';

const TYPE_NAMES: Readonly<Record<number, string>> = Object.freeze({
  [TYPE_OCTETS]: 'octet string',
  [TYPE_BOOLEAN]: 'boolean',
  [TYPE_INTEGER]: 'integer',
  [TYPE_UNSIGNED]: 'unsigned',
  [TYPE_LIST]: 'list',
});

/** A TL field longer than this many bytes cannot describe anything inside a file we accept. */
const MAX_TL_BYTES = 4;
/** Nesting `skip` follows at most (SML's own structures nest about 6 deep): bounds the stack. */
const MAX_SKIP_DEPTH = 16;

export class SmlReader {
  pos: number;
  /** Type (0x00, 0x40, 0x50, 0x60, 0x70) and length of the TL just read: data bytes, or list elements. */
  private type = 0;
  private len = 0;

  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  /** The byte at the cursor (e.g. 0x01 for an omitted field, 0x00 for endOfSmlMsg), or -1 at the end. */
  peek(): number {
    return this.pos < this.end ? this.buf[this.pos] : -1;
  }

  private readTl(what: string): void {
    const at = this.pos;
    if (at >= this.end) throw new SmlTlError('tl', `${what}: the message ends where a field should begin`, { offset: at });
    let b = this.buf[this.pos++];
    const type = b & 0x70;
    let len = b & 0x0f;
    let k = 1;
    while (b & 0x80) {
      if (this.pos >= this.end || k >= MAX_TL_BYTES) throw new SmlTlError('tl', `${what}: TL field at offset ${at} does not end`, { offset: at });
      b = this.buf[this.pos++];
      if ((b & 0x70) !== 0) throw new SmlTlError('tl', `${what}: TL continuation byte 0x${b.toString(16)} at offset ${this.pos - 1} has type bits set`, { offset: this.pos - 1 });
      len = len * 16 + (b & 0x0f);
      k++;
    }
    if (TYPE_NAMES[type] === undefined) throw new SmlTlError('tl', `${what}: reserved TL type 0x${type.toString(16)} at offset ${at}`, { offset: at });
    if (type !== TYPE_LIST) {
      if (len < k) throw new SmlTlError('tl', `${what}: TL length ${len} at offset ${at} is shorter than the TL field itself`, { offset: at });
      len -= k;
      if (this.pos + len > this.end) throw new SmlTlError('tl', `${what}: ${len} bytes at offset ${at} run past the end of the file`, { offset: at });
      if ((type === TYPE_INTEGER || type === TYPE_UNSIGNED) && (len < 1 || len > 8)) {
        throw new SmlTlError('tl', `${what}: a number of ${len} bytes at offset ${at} (1–8 allowed)`, { offset: at });
      }
      if (type === TYPE_BOOLEAN && len !== 1) throw new SmlTlError('tl', `${what}: a boolean of ${len} bytes at offset ${at}`, { offset: at });
    }
    this.type = type;
    this.len = len;
  }

  private expect(type: number, what: string, at: number): void {
    if (this.type !== type) {
      throw new SmlStructureError('structure', `${what}: expected ${TYPE_NAMES[type]}, found ${TYPE_NAMES[this.type]} at offset ${at}`, { offset: at, field: what });
    }
  }

  /** True (and consumed) when the next field is an omitted OPTIONAL (0x01). */
  omitted(): boolean {
    if (this.peek() !== 0x01) return false;
    this.pos++;
    return true;
  }

  /** A list header; with `count`, the list must have exactly that many elements. Returns the count. */
  list(what: string, count?: number): number {
    const at = this.pos;
    this.readTl(what);
    this.expect(TYPE_LIST, what, at);
    if (count !== undefined && this.len !== count) {
      throw new SmlStructureError('structure', `${what}: a list of ${this.len} at offset ${at}, expected ${count}`, { offset: at, field: what });
    }
    return this.len;
  }

  octets(what: string): Uint8Array {
    const at = this.pos;
    this.readTl(what);
    this.expect(TYPE_OCTETS, what, at);
    const v = this.buf.slice(this.pos, this.pos + this.len);
    this.pos += this.len;
    return v;
  }

  optOctets(what: string): Uint8Array | undefined {
    return this.omitted() ? undefined : this.octets(what);
  }

  private bits(signed: boolean): bigint {
    const n = this.len;
    const b = this.buf;
    const p = this.pos;
    this.pos += n;
    if (n <= 6) {
      // Exact in a double: one BigInt at the end instead of one per byte.
      let v = 0;
      for (let i = 0; i < n; i++) v = v * 256 + b[p + i];
      if (signed && b[p] & 0x80) v -= 2 ** (8 * n);
      return BigInt(v);
    }
    let hi = 0;
    for (let i = 0; i < n - 4; i++) hi = hi * 256 + b[p + i];
    const lo = b[p + n - 4] * 0x1000000 + ((b[p + n - 3] << 16) | (b[p + n - 2] << 8) | b[p + n - 1]);
    const v = (BigInt(hi) << BigInt(32)) | BigInt(lo);
    return signed ? BigInt.asIntN(8 * n, v) : v;
  }

  /** An Unsigned of any width. */
  unsigned(what: string): bigint {
    const at = this.pos;
    this.readTl(what);
    this.expect(TYPE_UNSIGNED, what, at);
    return this.bits(false);
  }

  optUnsigned(what: string): bigint | undefined {
    return this.omitted() ? undefined : this.unsigned(what);
  }

  /** A small Unsigned field as a number, within its type's range: `max` 0xFF for an Unsigned8
   *  (unit, version, group), else an Unsigned32 (tags, times). A value beyond it is no such field
   *  (a width a 64-bit read would take whole, but no number the field can mean). */
  small(what: string, max = 0xffff_ffff): number {
    const at = this.pos;
    const v = this.unsigned(what);
    if (v > BigInt(max)) throw new SmlStructureError('structure', `${what}: ${v} at offset ${at} is beyond its type (at most ${max})`, { offset: at, field: what });
    return Number(v);
  }

  optSmall(what: string, max?: number): number | undefined {
    return this.omitted() ? undefined : this.small(what, max);
  }

  /** An Integer of any width. */
  integer(what: string): bigint {
    const at = this.pos;
    this.readTl(what);
    this.expect(TYPE_INTEGER, what, at);
    return this.bits(true);
  }

  /** An Integer8 (the scaler) or Integer16 (time offsets) as a number, within its type's range. */
  smallInteger(what: string, bits: 8 | 16): number {
    const at = this.pos;
    const v = this.integer(what);
    const limit = 1n << BigInt(bits - 1);
    if (v < -limit || v >= limit) throw new SmlStructureError('structure', `${what}: ${v} at offset ${at} is beyond an Integer${bits}`, { offset: at, field: what });
    return Number(v);
  }

  /** SML_Value: octet string, boolean, integer or unsigned (a list-typed value is a structure error here). */
  value(what: string): SmlValue {
    const at = this.pos;
    this.readTl(what);
    if (this.type === TYPE_OCTETS) {
      const v = this.buf.slice(this.pos, this.pos + this.len);
      this.pos += this.len;
      return v;
    }
    if (this.type === TYPE_BOOLEAN) return this.buf[this.pos++] !== 0;
    if (this.type === TYPE_INTEGER || this.type === TYPE_UNSIGNED) return this.bits(this.type === TYPE_INTEGER);
    throw new SmlStructureError('structure', `${what}: a list-typed value at offset ${at} is not supported`, { offset: at, field: what });
  }

  /** SML_Time (OPTIONAL): secIndex, timestamp or localTimestamp. */
  optTime(what: string): SmlTime | undefined {
    if (this.omitted()) return undefined;
    const at = this.pos;
    this.list(what, 2);
    const tag = this.small(`${what} tag`);
    if (tag === 1) return { kind: 'secIndex', seconds: this.small(`${what} secIndex`) };
    if (tag === 2) return { kind: 'timestamp', seconds: this.small(`${what} timestamp`) };
    if (tag === 3) {
      this.list(`${what} localTimestamp`, 3);
      const seconds = this.small(`${what} timestamp`);
      const localOffset = this.smallInteger(`${what} localOffset`, 16);
      const seasonOffset = this.smallInteger(`${what} seasonTimeOffset`, 16);
      return { kind: 'localTimestamp', seconds, localOffset, seasonOffset };
    }
    throw new SmlStructureError('structure', `${what}: SML_Time tag ${tag} at offset ${at}`, { offset: at, field: what });
  }

  /** endOfSmlMsg (0x00). */
  endOfMessage(): void {
    if (this.peek() !== 0x00) {
      throw new SmlStructureError('structure', `endOfSmlMsg (00) expected at offset ${this.pos}`, { offset: this.pos, field: 'endOfSmlMsg' });
    }
    this.pos++;
  }

  /** Skips one field of any type, lists with all their elements (for bodies this module does not read). */
  skip(what: string, depth = 0): void {
    if (this.omitted()) return;
    const at = this.pos;
    this.readTl(what);
    if (this.type !== TYPE_LIST) {
      this.pos += this.len;
      return;
    }
    if (depth >= MAX_SKIP_DEPTH) throw new SmlStructureError('structure', `${what}: lists nested deeper than ${MAX_SKIP_DEPTH} at offset ${at}`, { offset: at, field: what });
    for (let n = this.len; n > 0; n--) this.skip(what, depth + 1);
  }
}
