/** Byte helpers shared by the portable modules (typed arrays only; no Buffer). */
import { MeterError } from './errors.js';

const HEX = '0123456789abcdef';

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i] >> 4] + HEX[bytes[i] & 15];
  return s;
}

/** Parses hex (case-insensitive; spaces allowed). Odd length or a non-hex digit is a typed error. */
export function fromHex(hex: string): Uint8Array {
  // One pass over the characters (a receiver parses every line it reads with this).
  const out = new Uint8Array(hex.length >> 1);
  let n = 0;
  let hi = -1;
  for (let i = 0; i < hex.length; i++) {
    const c = hex.charCodeAt(i);
    let v: number;
    if (c >= 48 && c <= 57) v = c - 48;
    else if (c >= 97 && c <= 102) v = c - 87;
    else if (c >= 65 && c <= 70) v = c - 55;
    else if (c === 32 || c === 9 || c === 10 || c === 13 || c === 11 || c === 12) continue;
    else throw badHex(hex);
    if (hi < 0) hi = v;
    else {
      out[n++] = (hi << 4) | v;
      hi = -1;
    }
  }
  if (hi >= 0) throw badHex(hex);
  return n === out.length ? out : out.slice(0, n);
}

function badHex(hex: string): MeterError {
  return new MeterError('bad-hex', `not a hex byte string: "${hex.length > 40 ? hex.slice(0, 40) + '…' : hex}"`);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return concatAll(parts);
}

/** `concat` of an array of parts (no spread: any number of them, e.g. a day of SML files). */
export function concatAll(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Equality in time independent of where the first difference is (for MACs and tags). */
export function equalConstantTime(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

export function readU16LE(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}
export function readU32LE(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}
export function writeU16LE(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
}
export function writeU32LE(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}
