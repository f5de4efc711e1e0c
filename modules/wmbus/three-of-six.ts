/**
 * EN 13757-4 mode T "3 out of 6" chip coding: each data nibble becomes a 6-chip symbol with exactly
 * three ones (high nibble first), so a byte is 12 chips. The table is the one of EN 13757-4 as
 * used in TI AN067 (3outof6.c, encodeTab) and rtl_433 src/devices/m_bus.c (m_bus_decode_3of6); the
 * 48 other 6-bit values are invalid and rejected with PhyError 'symbol'.
 * The postamble follows TI AN067 mbus_packet.c (encodeTXBytesTmode): after an odd number of bytes
 * 4 chips 0101 complete the last byte, after an even number a byte 0x55 (8 chips) is appended;
 * both lie in the 2..8 chips EN 13757-4 allows, and the result is a whole number of bytes.
 */
import { PhyError } from './link-errors.js';

/** Nibble 0..15 → 6-chip symbol. */
export const THREE_OF_SIX: readonly number[] = Object.freeze([
  0x16, 0x0d, 0x0e, 0x0b, 0x1c, 0x19, 0x1a, 0x13, 0x2c, 0x25, 0x26, 0x23, 0x34, 0x31, 0x32, 0x29,
]);

/** 6-chip symbol → nibble, -1 for the 48 invalid symbols. */
const DECODE = decodeTable();

function decodeTable(): Int8Array {
  const t = new Int8Array(64).fill(-1);
  for (let n = 0; n < 16; n++) t[THREE_OF_SIX[n]] = n;
  return t;
}

/** Chips of the postamble after `byteCount` encoded bytes (4 or 8). */
export function threeOfSixPostambleChips(byteCount: number): number {
  return byteCount % 2 === 1 ? 4 : 8;
}

/** Bytes of encodeThreeOfSix's output for `byteCount` data bytes (symbols + postamble). */
export function threeOfSixEncodedLength(byteCount: number): number {
  return (12 * byteCount + threeOfSixPostambleChips(byteCount)) / 8;
}

/** Byte → its two symbols as 12 chips (high nibble first), so encoding is one lookup per byte. */
const BYTE_CHIPS = byteChipsTable();

function byteChipsTable(): Uint16Array {
  const t = new Uint16Array(256);
  for (let b = 0; b < 256; b++) t[b] = (THREE_OF_SIX[b >> 4] << 6) | THREE_OF_SIX[b & 15];
  return t;
}

/** The 3-of-6 symbols of `data`, packed MSB first, followed by the postamble (whole bytes). */
export function encodeThreeOfSix(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(threeOfSixEncodedLength(data.length));
  encodeThreeOfSixInto(data, out, 0);
  return out;
}

/** As encodeThreeOfSix, written into `out` from byte `offset` (threeOfSixEncodedLength bytes). */
export function encodeThreeOfSixInto(data: Uint8Array, out: Uint8Array, offset: number): void {
  const n = data.length;
  let o = offset;
  let i = 0;
  // Two bytes are 24 chips: three whole output bytes.
  for (; i + 1 < n; i += 2) {
    const v = (BYTE_CHIPS[data[i]] << 12) | BYTE_CHIPS[data[i + 1]];
    out[o++] = v >>> 16;
    out[o++] = (v >>> 8) & 0xff;
    out[o++] = v & 0xff;
  }
  if (i < n) {
    // Odd count: 12 chips and the 4-chip postamble 0101.
    const v = (BYTE_CHIPS[data[i]] << 4) | 0x5;
    out[o++] = v >>> 8;
    out[o] = v & 0xff;
  } else {
    out[o] = 0x55;
  }
}

/** Nibble of one 6-chip symbol, or -1 when the symbol is not a 3-of-6 code. */
export function decodeSymbol(symbol: number): number {
  return DECODE[symbol & 63];
}

/**
 * Decodes `count` bytes from the 3-of-6 chips starting at bit `bitOffset` of `chips`.
 * PhyError 'truncated' when the stream ends first, 'symbol' (with the symbol's index from
 * `bitOffset`, its bit offset in `chips` and its value) on an invalid symbol. With `scratch` (long
 * enough), the bytes go to a view of its start (to it, when it is exactly as long) instead of a new
 * array.
 */
export function decodeThreeOfSix(chips: Uint8Array, bitOffset: number, count: number, scratch?: Uint8Array): Uint8Array {
  const needed = bitOffset + 12 * count;
  if (needed > chips.length * 8) {
    throw new PhyError('truncated', `3-of-6 stream ends before ${count} bytes (${needed - chips.length * 8} chips missing)`, {
      expectedBits: 12 * count,
      availableBits: chips.length * 8 - bitOffset,
    });
  }
  const out = scratch && scratch.length >= count ? (scratch.length === count ? scratch : scratch.subarray(0, count)) : new Uint8Array(count);
  decodeThreeOfSixInto(chips, bitOffset, count, out);
  return out;
}

/** decodeThreeOfSix into out[0, count), the length of `chips` already checked. */
function decodeThreeOfSixInto(chips: Uint8Array, bitOffset: number, count: number, out: Uint8Array): void {
  let i = 0;
  if ((bitOffset & 7) === 0) {
    // Byte aligned (a transceiver's FIFO): 3 chip bytes are 4 symbols, 2 data bytes. An invalid
    // symbol leaves the pair to the loop below, which names it.
    for (let k = bitOffset >>> 3; i + 1 < count; i += 2, k += 3) {
      const v = (chips[k] << 16) | (chips[k + 1] << 8) | chips[k + 2];
      const s0 = DECODE[v >>> 18];
      const s1 = DECODE[(v >>> 12) & 63];
      const s2 = DECODE[(v >>> 6) & 63];
      const s3 = DECODE[v & 63];
      if ((s0 | s1 | s2 | s3) < 0) break;
      out[i] = (s0 << 4) | s1;
      out[i + 1] = (s2 << 4) | s3;
    }
  }
  let pos = bitOffset + 12 * i;
  for (; i < count; i++) {
    // A byte's two symbols are 12 chips: one read of the 3 bytes they lie in.
    const k = pos >>> 3;
    const chips12 = ((((chips[k] | 0) << 16) | ((chips[k + 1] | 0) << 8) | (chips[k + 2] | 0)) >>> (12 - (pos & 7))) & 0xfff;
    const hi = DECODE[chips12 >>> 6];
    const lo = DECODE[chips12 & 63];
    if (hi < 0 || lo < 0) {
      const hiSym = chips12 >>> 6;
      const loSym = chips12 & 63;
      const bad = hi < 0 ? 0 : 1;
      const symbol = bad === 0 ? hiSym : loSym;
      throw new PhyError('symbol', `invalid 3-of-6 symbol 0b${symbol.toString(2).padStart(6, '0')} (byte ${i})`, {
        symbolIndex: 2 * i + bad,
        byteIndex: i,
        bitOffset: pos + 6 * bad,
        symbol,
      });
    }
    out[i] = (hi << 4) | lo;
    pos += 12;
  }
}

/** The byte of the 12 chips at bit `bitOffset`, or -1 when the stream ends first or a symbol is not
 *  a 3-of-6 code (decodeThreeOfSix says which). */
export function threeOfSixByteAt(chips: Uint8Array, bitOffset: number): number {
  if (bitOffset + 12 > chips.length * 8) return -1;
  const k = bitOffset >>> 3;
  const chips12 = ((((chips[k] | 0) << 16) | ((chips[k + 1] | 0) << 8) | (chips[k + 2] | 0)) >>> (12 - (bitOffset & 7))) & 0xfff;
  const hi = DECODE[chips12 >>> 6];
  const lo = DECODE[chips12 & 63];
  return hi < 0 || lo < 0 ? -1 : (hi << 4) | lo;
}
