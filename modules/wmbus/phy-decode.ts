/**
 * EN 13757-4 PHY receive side for modes T1 and C1: a bit-aligned search for the sync word 0x543D
 * (a real receiver is not byte aligned), then
 *  - T1: 3-of-6 decoding (format A only); the first decoded byte, L, gives the frame length;
 *  - C1: the next 16 chips select the format (0x54CD: A, 0x543D: B), then NRZ bytes; L gives the
 *    length by the format A or B rule (frameLengthFromL).
 * If decoding after a sync match fails (a chance match in noise before the preamble), the search
 * goes on; when no match yields a frame, the error of the first match is raised (PhyError 'symbol',
 * 'truncated', 'length' or 'format'), or 'sync' when the sync word never occurs. The postamble is
 * not required. CRCs are not checked here: parseFrame (frame.ts) does that.
 */
import type { WmbusMode } from '../ports/radio.js';
import { readBits } from './bits.js';
import { frameLengthFromL, type FrameFormat } from './frame.js';
import { MeterError } from '../core/errors.js';
import { PhyError } from './link-errors.js';
import { C1_SYNC_A, C1_SYNC_B } from './phy-c1.js';
import { T1_SYNC } from './phy-t1.js';
import { decodeThreeOfSix, threeOfSixByteAt } from './three-of-six.js';

export { PhyError };

/** Where phyDecode puts the frame: a scratch array (the frame is a view of its start) or a function
 *  that gives an array of exactly the frame's length (a receiver's, keeping its view while frames
 *  keep their length: no view per frame). */
export type FrameSpace = Uint8Array | ((length: number) => Uint8Array);

export interface PhyFrame {
  frame: Uint8Array;
  format: FrameFormat;
}

function frameLength(l: number, format: FrameFormat, bitOffset: number): number {
  try {
    return frameLengthFromL(l, format);
  } catch {
    throw new PhyError('length', `L=${l} is impossible in format ${format}`, { l, format, bitOffset });
  }
}

function decodeT1At(stream: Uint8Array, pos: number, scratch: FrameSpace | undefined): PhyFrame {
  let l = threeOfSixByteAt(stream, pos);
  if (l < 0) l = decodeThreeOfSix(stream, pos, 1)[0]; // throws the error that says why
  const n = frameLength(l, 'A', pos);
  return { frame: decodeThreeOfSix(stream, pos, n, typeof scratch === 'function' ? scratch(n) : scratch), format: 'A' };
}

function decodeC1At(stream: Uint8Array, pos: number, scratch: FrameSpace | undefined): PhyFrame {
  const total = stream.length * 8;
  if (pos + 16 + 8 > total) {
    throw new PhyError('truncated', 'stream ends inside the C1 sync word', { bitOffset: pos, availableBits: total - pos });
  }
  const word = (T1_SYNC << 16) | readBits(stream, pos, 16);
  let format: FrameFormat;
  if (word === (C1_SYNC_A | 0)) format = 'A';
  else if (word === (C1_SYNC_B | 0)) format = 'B';
  else {
    throw new PhyError('format', `C1 sync word 0x543d is followed by 0x${(word & 0xffff).toString(16)}, not 54cd (A) or 543d (B)`, {
      bitOffset: pos,
    });
  }
  const start = pos + 16;
  const n = frameLength(readBits(stream, start, 8), format, start);
  if (start + 8 * n > total) {
    throw new PhyError('truncated', `C1 stream ends before the ${n}-byte frame L announces`, {
      expectedBits: 8 * n,
      availableBits: total - start,
    });
  }
  const frame = typeof scratch === 'function' ? scratch(n) : scratch && scratch.length >= n ? scratch.subarray(0, n) : new Uint8Array(n);
  if ((start & 7) === 0) {
    for (let i = 0, k = start >>> 3; i < n; i++, k++) frame[i] = stream[k];
  } else {
    for (let i = 0; i < n; i++) frame[i] = readBits(stream, start + 8 * i, 8);
  }
  return { frame, format };
}

/**
 * Finds the sync word, decodes (3-of-6 for T1), uses L to know where the frame ends. Returns the
 * frame bytes exactly as given to phyEncode (with CRCs) and its format; with `scratch` (long enough)
 * the frame is a view of its start, or what a FrameSpace function gives, for a receiver that keeps no
 * frame past its decoding.
 */
export function phyDecode(stream: Uint8Array, mode: WmbusMode, scratch?: FrameSpace): PhyFrame {
  if (mode !== 'T1' && mode !== 'C1') {
    throw new PhyError('mode', `mode must be 'T1' or 'C1', got ${JSON.stringify(mode)}`, { mode: String(mode) });
  }
  if (!(stream instanceof Uint8Array)) throw new PhyError('sync', 'no chip stream', {});
  const decodeAt = mode === 'T1' ? decodeT1At : decodeC1At;
  const totalBits = stream.length * 8;
  let first: MeterError | undefined;
  // A byte at a time: `win` holds the last 24 chips, and the 16 ending at chip i = 8k + j are
  // (win >>> (7 - j)) & 0xffff, tried for j = 0..7 in order (so matches come in chip order).
  let win = 0;
  for (let k = 0; k < stream.length; k++) {
    win = ((win << 8) | stream[k]) & 0xffffff;
    for (let j = 0; j < 8; j++) {
      const i = 8 * k + j;
      if (i < 15 || ((win >>> (7 - j)) & 0xffff) !== T1_SYNC) continue;
      try {
        return decodeAt(stream, i + 1, scratch);
      } catch (e) {
        if (!(e instanceof MeterError)) throw e;
        first ??= e;
      }
    }
  }
  if (first) throw first;
  throw new PhyError('sync', `no ${mode} sync word 0x543d in ${totalBits} chips`, { mode, bits: totalBits });
}
