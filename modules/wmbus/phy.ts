/**
 * EN 13757-4 PHY transmit entry point: `phyEncode` dispatches to mode T1 (phy-t1.ts, 3-of-6,
 * format A only) or C1 (phy-c1.ts, NRZ, format A or B), and `airtimeMs` gives the on-air time of
 * a frame from the length of that encoded stream (for the radio duty-cycle budget: EN 300 220 /
 * ERC 70-03 limit the 868 MHz sub-bands to 0.1 % or 1 %).
 */
import type { WmbusMode } from '../ports/radio.js';
import { frameLengthFromL, type FrameFormat } from './frame.js';
import { PhyError } from './link-errors.js';
import { C1_CHIP_RATE, phyEncodeC1 } from './phy-c1.js';
import { ON_AIR_PREAMBLE, T1_CHIP_RATE, phyEncodeT1 } from './phy-t1.js';
import { threeOfSixEncodedLength } from './three-of-six.js';

export { C1_CHIP_RATE, T1_CHIP_RATE };
export { encodeT1Fifo } from './phy-t1.js';
export { encodeC1Fifo } from './phy-c1.js';

/** Bytes before the frame: the on-air preamble (6 bytes, phy-t1.ts) + sync word (2 bytes in T1, 4 in C1). */
const HEADER_BYTES = Object.freeze({ T1: ON_AIR_PREAMBLE.length + 2, C1: ON_AIR_PREAMBLE.length + 4 } as const);

function checkModeFormat(mode: WmbusMode, format: FrameFormat): void {
  if (mode !== 'T1' && mode !== 'C1') {
    throw new PhyError('mode', `mode must be 'T1' or 'C1', got ${JSON.stringify(mode)}`, { mode: String(mode) });
  }
  if (format !== 'A' && (format !== 'B' || mode === 'T1')) {
    throw new PhyError('format', `mode ${mode} cannot carry frame format ${JSON.stringify(format)}`, {
      mode,
      format: String(format),
    });
  }
}

/** Where phyEncode puts a stream: an array of exactly `length` bytes, every one of which it writes (a
 *  host making many streams may cut them from larger buffers; default: a new array each). */
export type StreamAlloc = (length: number) => Uint8Array;

/** The complete on-air chip stream as the meter's transceiver sends it (preamble, sync word, coded
 *  frame, postamble), packed MSB first. */
export function phyEncode(frame: Uint8Array, mode: WmbusMode, format: FrameFormat, alloc?: StreamAlloc): Uint8Array {
  checkModeFormat(mode, format);
  return mode === 'T1' ? phyEncodeT1(frame, alloc) : phyEncodeC1(frame, format, alloc);
}

/** Chips on air for a frame of `frameLength` bytes (L to last CRC), as phyEncode produces them. */
export function encodedChips(frameLength: number, mode: WmbusMode, format: FrameFormat): number {
  checkModeFormat(mode, format);
  if (!Number.isInteger(frameLength) || frameLength < 1 || frameLength > frameLengthFromL(255, format)) {
    throw new PhyError('length', `frame length ${frameLength} is outside 1..${frameLengthFromL(255, format)}`, {
      length: Number(frameLength),
      format,
    });
  }
  const body = mode === 'T1' ? threeOfSixEncodedLength(frameLength) : frameLength + 1;
  return (HEADER_BYTES[mode] + body) * 8;
}

/** On-air time in milliseconds of a frame of `frameLength` bytes (L to last CRC). */
export function airtimeMs(frameLength: number, mode: WmbusMode, format: FrameFormat): number {
  return (encodedChips(frameLength, mode, format) * 1000) / (mode === 'T1' ? T1_CHIP_RATE : C1_CHIP_RATE);
}
