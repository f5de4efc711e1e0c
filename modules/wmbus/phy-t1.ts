/**
 * EN 13757-4 mode T1 (meter → other) transmit coding: 100 kchip/s, format A only, frame chips in
 * 3-of-6 code (three-of-six.ts). On air: a preamble of n × (01), n ≥ 19, then the sync word
 * 0000111101 (EN 13757-4; Microchip's wM-Bus stack: "T1 … n × (01), n ≥ 19, 0x03D (10 bit)").
 *
 * The stream modelled is the one this meter's CC1101 sends (modules/radio/cc1101-wmbus.ts):
 * ON_AIR_PREAMBLE — the chip's fixed 0xAA preamble (2 bytes) and its sync register 0x5555 sent twice,
 * 32 chips of (01) in phase — then 0x543D, whose leading 010101 makes 19 pairs before 0000111101:
 * AA AA 55 55 55 55 54 3D. The 0xAA bytes are (01) pairs one chip out of phase, so they do not count;
 * rtl_433 (PREAMBLE_T = 54 3D) and rtl-wmbus (0101010101010000111101) search past them.
 *
 * FIFO level: the CC1101 generates ON_AIR_PREAMBLE itself and is fed `encodeT1Fifo(frame)`: 0x543D,
 * the 3-of-6 symbols of the frame and the postamble (TI AN067 encodeTXBytesTmode).
 */
import { frameLengthFromL } from './frame.js';
import { PhyError } from './link-errors.js';
import { encodeThreeOfSixInto, threeOfSixEncodedLength } from './three-of-six.js';

/** Chip rate of mode T1, meter → other. */
export const T1_CHIP_RATE = 100_000;
/** What the transceiver sends before the FIFO: 2 × 0xAA (its preamble), 4 × 0x55 (its sync register, twice). */
export const ON_AIR_PREAMBLE: Uint8Array = Uint8Array.of(0xaa, 0xaa, 0x55, 0x55, 0x55, 0x55);
/** The 16-chip sync word (its first 6 chips end the preamble). */
export const T1_SYNC = 0x543d;

/** PhyError 'length' unless `frame` is a whole frame of `format` according to its L field. */
export function checkFrameLength(frame: Uint8Array, format: 'A' | 'B'): void {
  let expected = -1;
  // L below the minimum has no frame length (frameLengthFromL would throw): checked first.
  if (frame instanceof Uint8Array && frame.length > 0 && frame[0] >= (format === 'A' ? 10 : 12)) {
    try {
      expected = frameLengthFromL(frame[0], format);
    } catch {
      expected = -1; // format B L = 128 or 129
    }
  }
  if (expected < 0 || frame.length !== expected) {
    throw new PhyError('length', `not a whole format ${format} frame: L=${frame?.[0]}, ${frame?.length} bytes`, {
      format,
      length: frame?.length ?? -1,
      expected,
    });
  }
}

/** What a CC1101 FIFO is fed in T1: the sync word 0x543D, 3-of-6 frame chips and postamble. */
export function encodeT1Fifo(frame: Uint8Array): Uint8Array {
  checkFrameLength(frame, 'A');
  const out = new Uint8Array(2 + threeOfSixEncodedLength(frame.length));
  out[0] = T1_SYNC >> 8;
  out[1] = T1_SYNC & 0xff;
  encodeThreeOfSixInto(frame, out, 2);
  return out;
}

/** The complete T1 chip stream as the meter sends it: preamble, sync word, 3-of-6 frame, postamble (MSB
 *  first); in a new array, or in `alloc(length)` (phy.ts StreamAlloc). */
export function phyEncodeT1(frame: Uint8Array, alloc?: (length: number) => Uint8Array): Uint8Array {
  checkFrameLength(frame, 'A');
  const p = ON_AIR_PREAMBLE.length;
  const n = p + 2 + threeOfSixEncodedLength(frame.length);
  const out = alloc ? alloc(n) : new Uint8Array(n);
  out.set(ON_AIR_PREAMBLE, 0);
  out[p] = T1_SYNC >> 8;
  out[p + 1] = T1_SYNC & 0xff;
  encodeThreeOfSixInto(frame, out, p + 2);
  return out;
}
