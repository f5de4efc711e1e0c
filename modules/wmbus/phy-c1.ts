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
import { concat } from '../core/bytes.js';
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
  if (format !== 'A' && format !== 'B') {
    throw new PhyError('format', `C1 carries frame format A or B, got ${JSON.stringify(format)}`, { format: String(format) });
  }
  checkFrameLength(frame, format);
  const sync = format === 'A' ? C1_SYNC_A : C1_SYNC_B;
  return concat(Uint8Array.of(sync >>> 24, (sync >>> 16) & 0xff, (sync >>> 8) & 0xff, sync & 0xff), frame, Uint8Array.of(C1_POSTAMBLE));
}

/** The complete C1 chip stream as the meter sends it: preamble, 32-bit sync word, frame, postamble. */
export function phyEncodeC1(frame: Uint8Array, format: FrameFormat): Uint8Array {
  return concat(ON_AIR_PREAMBLE, encodeC1Fifo(frame, format));
}
