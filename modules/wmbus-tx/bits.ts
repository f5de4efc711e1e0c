/**
 * Bit-level access to MSB-first packed chip streams (EN 13757-4 PHY: chips go on air most
 * significant bit of each byte first). A receiver is not byte aligned, so the PHY decoder reads
 * fields at any bit offset. Reads past the end return 0 bits; callers check lengths first.
 */

/** Number of bits in `buf`. */
export function bitLength(buf: Uint8Array): number {
  return buf.length * 8;
}

/** `n` (1..16) bits starting at bit `pos`, MSB first, as an unsigned integer. */
export function readBits(buf: Uint8Array, pos: number, n: number): number {
  const k = pos >>> 3;
  const window = ((buf[k] | 0) << 16) | ((buf[k + 1] | 0) << 8) | (buf[k + 2] | 0);
  return (window >>> (24 - (pos & 7) - n)) & ((1 << n) - 1);
}

/** Appends bits to a growing MSB-first buffer of known final size. */
export class BitWriter {
  readonly bytes: Uint8Array;
  private pos = 0;

  constructor(totalBits: number) {
    this.bytes = new Uint8Array(Math.ceil(totalBits / 8));
  }

  /** Writes the low `n` (1..24) bits of `value`, most significant first. */
  write(value: number, n: number): void {
    for (let i = n - 1; i >= 0; i--) {
      if ((value >>> i) & 1) this.bytes[this.pos >>> 3] |= 0x80 >>> (this.pos & 7);
      this.pos++;
    }
  }

  get bitPosition(): number {
    return this.pos;
  }
}
