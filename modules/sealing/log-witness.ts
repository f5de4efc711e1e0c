/**
 * The calibration log's witness: a second record of how far the log got, kept in another partition
 * (the flash map's `logWitness`, in the energy partition) in the same storage protocol (a RecordRing:
 * frames, commit byte, torn-write rules of modules/storage). After each record commits, the log
 * writes here how many records it holds and the SHA-256 of the newest. At open the two must agree:
 * the log may be one record ahead (power cut between the commit and this save), never behind and
 * never with another newest record. So a committed record cannot disappear unnoticed — clearing its
 * commit byte or flipping one of its bytes makes it read as torn, but the witness still counts it.
 * Payload: format 1 | record count u32 LE | head hash (32).
 * Residual, by design: a writer that rewrites both partitions consistently can roll the log back to
 * an earlier state; only a monotonic counter in secure hardware would see that.
 */
import { readU32LE, writeU32LE } from '../core/bytes.js';
import type { RecordRing } from '../storage/record-ring.js';

const FORMAT = 1;
export const LOG_WITNESS_SIZE = 37;

export interface LogWitnessState {
  /** Records the log held (log-init included). */
  count: number;
  /** SHA-256 of its newest record. */
  headHash: Uint8Array;
}

/** Where the log's witness lives; `load` gives undefined when none is readable. */
export interface LogWitness {
  load(): LogWitnessState | undefined;
  save(state: LogWitnessState): void;
}

/** The witness in a RecordRing (the flash map's logWitness region). */
export class LogWitnessRecord implements LogWitness {
  constructor(private readonly ring: RecordRing) {}

  load(): LogWitnessState | undefined {
    const p = this.ring.load()?.payload;
    if (!p || p.length !== LOG_WITNESS_SIZE || p[0] !== FORMAT) return undefined;
    return { count: readU32LE(p, 1), headHash: p.slice(5, 37) };
  }

  save(state: LogWitnessState): void {
    const b = this.ring.payload(LOG_WITNESS_SIZE);
    b[0] = FORMAT;
    writeU32LE(b, 1, state.count);
    b.set(state.headHash, 5);
    this.ring.save(b, LOG_WITNESS_SIZE);
  }
}
