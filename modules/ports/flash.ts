import { MeterError } from '../core/errors.js';

/**
 * NOR flash, as Moddable's `flash` module exposes a partition: erasing a sector sets every byte to
 * 0xFF; writing can only clear bits (1 → 0); reads are of any range. Writing a 1 over a 0 without an
 * erase is a fault the simulated flash reports. A power cut may interrupt any write or erase: the
 * simulator can cut before, inside (some bytes written / sector partly erased) or after a call.
 */
export interface Flash {
  readonly sectorSize: number;
  readonly sectorCount: number;
  read(offset: number, length: number): Uint8Array;
  write(offset: number, data: Uint8Array): void;
  erase(sector: number): void;
}

/** A flash call that failed: out of range, or (simulated flash) a write that would set a 0 bit to 1. */
export class FlashFault extends MeterError {}
