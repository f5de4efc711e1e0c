/**
 * The meter witness: what the calibration partition keeps of the energy partition's state (the flash
 * map's `meterWitness`, a RecordRing), so that damage to one partition is seen from the other.
 *  - Message counter reservation: the highest message counter that may be used before this record is
 *    written again. The telegram sender writes the witness with every telegram (reserve before use)
 *    and moves the reservation on, COUNTER_BLOCK telegrams at a time, when the counter reaches it;
 *    after a restart the counters continue above it, so whatever happened to the telegram counter
 *    record, no counter is used twice.
 *  - Energy snapshot: the registers (whole µWh) at the last telegram (written with each, after the
 *    registers were persisted) — a floor the energy journal must not be below.
 *  - Sticky flags: damage once seen is shown in every telegram from then on (the meter needs service).
 * Payload (LE): format 1 | reserved message counter u32 | flags u8 | register count u8 |
 * count × (µWh u32 low, u32 high).
 */
import { readU32LE, writeU32LE } from '../core/bytes.js';
import type { RecordRing } from '../storage/record-ring.js';

const FORMAT = 1;
const HEAD = 7;
/** Most registers a snapshot holds (3 phases × 8 tariffs × 2). */
export const WITNESS_REGISTERS = 48;
export const METER_WITNESS_SIZE = HEAD + WITNESS_REGISTERS * 8;

/** The payload of a snapshot of `registers` registers (at most WITNESS_REGISTERS). */
export function meterWitnessSize(registers: number): number {
  return HEAD + Math.min(registers, WITNESS_REGISTERS) * 8;
}

/** Telegrams reserved per witness write: one write a day at a 15-minute interval; a restart skips at
 *  most this many counters (2^32 / 96: 44 million restarts). */
export const COUNTER_BLOCK = 96;

/** Sticky damage flags. */
export const WITNESS_ENERGY_DAMAGED = 0x01;
export const WITNESS_COUNTER_RESYNC = 0x02;

export interface MeterWitnessState {
  /** Highest message counter that may have been used (reserved). */
  reservedCounter: number;
  flags: number;
  /** Whole µWh per register, the energy journal's order. */
  registers: number[];
}

export class MeterWitness {
  /** What the record held at start (undefined: none readable). */
  readonly found: MeterWitnessState | undefined;
  // The record as last written or read, as own fields (not an object of them kept for good);
  // `registers` undefined: none.
  private reserved = 0;
  private flagBits = 0;
  private registers: number[] | undefined;

  constructor(private readonly ring: RecordRing) {
    const p = ring.load()?.payload;
    if (p && p.length >= HEAD && p[0] === FORMAT && p[6] <= WITNESS_REGISTERS && p.length === HEAD + p[6] * 8) {
      const registers: number[] = [];
      for (let i = 0; i < p[6]; i++) registers.push(readU32LE(p, HEAD + 8 * i) + readU32LE(p, HEAD + 8 * i + 4) * 0x1_0000_0000);
      this.found = { reservedCounter: readU32LE(p, 1), flags: p[5], registers };
      this.reserved = this.found.reservedCounter;
      this.flagBits = this.found.flags;
      this.registers = registers.slice();
    }
  }

  get state(): MeterWitnessState | undefined {
    return this.registers && { reservedCounter: this.reserved, flags: this.flagBits, registers: this.registers.slice() };
  }

  /** state.reservedCounter (0 without a record), without making the state. */
  get reservedCounter(): number {
    return this.reserved;
  }

  /** state.flags (0 without a record), without making the state. */
  get flags(): number {
    return this.flagBits;
  }

  /** The sticky counter-resynchronised flag (the status's `counterResync`). */
  get resynced(): boolean {
    return (this.flagBits & WITNESS_COUNTER_RESYNC) !== 0;
  }

  /** Writes the record (committed on return). `registers` is read, not kept: with every telegram
   *  the copy kept here is written over in place, not made anew. */
  save(state: { reservedCounter: number; flags: number; registers: ArrayLike<number> }): void {
    const n = Math.min(state.registers.length, WITNESS_REGISTERS);
    const b = this.ring.payload(meterWitnessSize(n));
    b[0] = FORMAT;
    writeU32LE(b, 1, state.reservedCounter);
    b[5] = state.flags & 0xff;
    b[6] = n;
    for (let i = 0; i < n; i++) {
      const v = state.registers[i];
      writeU32LE(b, HEAD + 8 * i, v % 0x1_0000_0000);
      writeU32LE(b, HEAD + 8 * i + 4, Math.floor(v / 0x1_0000_0000));
    }
    this.ring.save(b, HEAD + n * 8);
    this.reserved = state.reservedCounter;
    this.flagBits = state.flags;
    let kept = this.registers;
    if (!kept || kept.length !== n) kept = this.registers = new Array<number>(n);
    for (let i = 0; i < n; i++) kept[i] = state.registers[i];
  }

  /** Sets sticky flags (written at once). */
  flag(flags: number, registers: ArrayLike<number>): void {
    const r = this.registers;
    if (r && (this.flagBits & flags) === flags) return;
    this.save({ reservedCounter: this.reserved, flags: this.flagBits | flags, registers: r ?? registers });
  }
}
