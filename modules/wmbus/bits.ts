/**
 * Bit-level access to MSB-first packed chip streams (EN 13757-4 PHY: chips go on air most
 * significant bit of each byte first). A receiver is not byte aligned, so the PHY decoder reads
 * fields at any bit offset. Reads past the end return 0 bits; callers check lengths first.
 */

/** `n` (1..16) bits starting at bit `pos`, MSB first, as an unsigned integer. */
export function readBits(buf: Uint8Array, pos: number, n: number): number {
  const k = pos >>> 3;
  const window = ((buf[k] | 0) << 16) | ((buf[k + 1] | 0) << 8) | (buf[k + 2] | 0);
  return (window >>> (24 - (pos & 7) - n)) & ((1 << n) - 1);
}
