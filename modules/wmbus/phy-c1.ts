/**
 * EN 13757-4 mode C1 (meter → other) transmit coding: 100 kchip/s NRZ (a chip is a bit, no
 * 3-of-6), frame format A or B told apart by the sync word: 0x543D54CD for format A, 0x543D543D for
 * format B (rtl_433 src/devices/m_bus.c PREAMBLE_CA = 55 54 3D 54 CD, PREAMBLE_CB = 55 54 3D 54 3D),
 * after at least 16 chip pairs (01); a postamble of 8 chips 0x55 follows the frame.
 *
 * The stream modelled is the one this meter's CC1101 sends: ON_AIR_PREAMBLE (phy-t1.ts: 2 × 0xAA from
 * the chip's preamble, 4 × 0x55 from its sync register: the 16 pairs), then the 32-bit sync word. The
 * FIFO is fed `encodeC1Fifo(frame, format)`: sync word, frame, postamble.
 */
import type { FrameFormat } from './frame.js';
import { PhyError } from './link-errors.js';
import { checkFrameLength, ON_AIR_PREAMBLE } from './phy-t1.js';

/** Chip rate of mode C1, meter → other. */
export const C1_CHIP_RATE = 100_000;
/** 32-bit sync words; the first half is T mode's 0x543D. */
export const C1_SYNC_A = 0x543d54cd;
export const C1_SYNC_B = 0x543d543d;
export const C1_POSTAMBLE = 0x55;

/** What a CC1101 FIFO is fed in C1: the 32-bit sync word, the frame, the postamble. */
export function encodeC1Fifo(frame: Uint8Array, format: FrameFormat): Uint8Array {
  checkC1(frame, format);
  return writeC1Fifo(frame, format, new Uint8Array(4 + frame.length + 1), 0);
}

function checkC1(frame: Uint8Array, format: FrameFormat): void {
  if (format !== 'A' && format !== 'B') {
    throw new PhyError('format', `C1 carries frame format A or B, got ${JSON.stringify(format)}`, { format: String(format) });
  }
  checkFrameLength(frame, format);
}

/** The FIFO's bytes written to out[at…] (one array, no concatenation); returns `out`. */
function writeC1Fifo(frame: Uint8Array, format: FrameFormat, out: Uint8Array, at: number): Uint8Array {
  const sync = format === 'A' ? C1_SYNC_A : C1_SYNC_B;
  out[at] = sync >>> 24;
  out[at + 1] = (sync >>> 16) & 0xff;
  out[at + 2] = (sync >>> 8) & 0xff;
  out[at + 3] = sync & 0xff;
  out.set(frame, at + 4);
  out[at + 4 + frame.length] = C1_POSTAMBLE;
  return out;
}

/** The complete C1 chip stream as the meter sends it: preamble, 32-bit sync word, frame, postamble;
 *  in a new array, or in `alloc(length)` (phy.ts StreamAlloc). */
export function phyEncodeC1(frame: Uint8Array, format: FrameFormat, alloc?: (length: number) => Uint8Array): Uint8Array {
  checkC1(frame, format);
  const p = ON_AIR_PREAMBLE.length;
  const n = p + 4 + frame.length + 1;
  const out = alloc ? alloc(n) : new Uint8Array(n);
  out.set(ON_AIR_PREAMBLE, 0);
  return writeC1Fifo(frame, format, out, p);
}
