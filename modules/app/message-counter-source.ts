/**
 * Where the message counter comes from, so that no value is ever used twice with the same key (OMS
 * Vol. 2 §9.3: it enters the mode-7 key derivation) whatever part of the flash is damaged.
 *
 * Two records bound it, in different partitions and the same storage protocol:
 *  - the telegram counter record (energy partition): the exact counter, written before each telegram;
 *  - the meter witness (calibration partition): a reservation, written before the counter passes it,
 *    COUNTER_BLOCK telegrams at a time (meter-witness.ts).
 * After a restart the counter continues above the reservation (skipping at most a block); a telegram
 * record gone although telegrams were sent is flagged. Doubt — the telegram record above the
 * reservation (the witness went back), the witness missing while the telegram record or any other
 * sign of use is there, a record in an unknown format — makes it jump
 * ahead by COUNTER_JUMP above the highest value known (to 2^31 when no counter survived at all: a
 * meter sending every 15 minutes reaches 2^31 after 61 000 years) and sets the sticky
 * counter-resynchronised flag, which every later telegram carries.
 * Residual: a writer that rolls both records back consistently is not seen (no secure counter here).
 */
import type { TelegramCounterState, TelegramCounterStore } from '../wmbus-tx/counters.js';
import type { AirtimeHistory, TelegramCounterRecord } from './counter-records.js';
import { COUNTER_BLOCK, WITNESS_COUNTER_RESYNC, type MeterWitness } from './meter-witness.js';

/** How far the counter jumps above the highest value known when a record is in doubt (2^20: over a
 *  block and over every slot a telegram record ring could roll back). */
export const COUNTER_JUMP = 0x10_0000;
/** Where it goes when no counter survived on a meter that was in service. */
export const COUNTER_NONE_SURVIVED = 0x8000_0000;
const MAX_COUNTER = 0xffff_ffff;

export interface MessageCounterOptions {
  record: TelegramCounterRecord;
  witness: MeterWitness;
  /** The meter was in service before this start (its other stores show use): missing counter records
   *  are then damage, not a new meter. A new meter writes its witness (reservation 0) at once. */
  inService: boolean;
  /** The energy registers for the witness's snapshot, when a reservation is written. */
  energy: { readonly registerValues: ArrayLike<number> };
  /** The airtime to store with every telegram record (the radio budget's last hour). Objects, not
   *  closures: nothing per meter beyond the parts themselves. */
  airtime: { airtimeHistory(): AirtimeHistory };
}

export class MessageCounterSource implements TelegramCounterStore {
  /** Whether the counter had to jump at this start (a record was missing, damaged or went back). */
  readonly resynced: boolean = false;
  // What save() uses of the options, as own fields (not the whole bag).
  private readonly record: TelegramCounterRecord;
  private readonly witness: MeterWitness;
  private readonly energy: MessageCounterOptions['energy'];
  private readonly airtime: MessageCounterOptions['airtime'];
  private readonly resume: TelegramCounterState | undefined;

  constructor(o: MessageCounterOptions) {
    this.record = o.record;
    this.witness = o.witness;
    this.energy = o.energy;
    this.airtime = o.airtime;
    const tele = o.record.counters;
    const reserved = o.witness.found?.reservedCounter;
    let from: number | undefined;
    if (reserved !== undefined && !o.record.damaged && (!tele || tele.messageCounter <= reserved)) {
      from = reserved;
      // Safe (nothing above the reservation was used), but a record that is gone after telegrams were
      // sent is damage all the same: flagged.
      this.resynced = !tele && reserved > 0;
    } else if (reserved !== undefined || tele || o.record.damaged || o.inService) {
      const known = Math.max(reserved ?? 0, tele?.messageCounter ?? 0);
      from = known > 0 ? Math.min(MAX_COUNTER, known + COUNTER_JUMP) : COUNTER_NONE_SURVIVED;
      this.resynced = true;
    }
    this.resume = from === undefined ? undefined : { messageCounter: from, accessNumber: tele?.accessNumber ?? 0 };
    // The witness says from now on how far counters may have gone (a new meter: none), and keeps the flag.
    if (this.resynced) o.witness.save({ reservedCounter: from ?? 0, flags: o.witness.flags | WITNESS_COUNTER_RESYNC, registers: o.energy.registerValues });
    else if (reserved === undefined) o.witness.save({ reservedCounter: 0, flags: 0, registers: [] });
  }

  /** The counters to continue after (TelegramCounters hands out the next ones). */
  load(): TelegramCounterState | undefined {
    return this.resume && { ...this.resume };
  }

  /**
   * Before a counter is used: the witness first — the reservation moved on when the counter passes
   * it, and the energy floor with every telegram (the sender persisted the registers just before, so
   * the journal holds them: a restart never finds it below the floor but for damage) — then the
   * record. A journal that loses its newest records (a sector erased) is then seen below the floor,
   * one telegram interval back at most, not a reservation block (a day).
   */
  save(state: TelegramCounterState): void {
    const w = this.witness;
    const reserved = w.reservedCounter;
    const upTo = state.messageCounter > reserved ? Math.min(MAX_COUNTER, state.messageCounter + COUNTER_BLOCK - 1) : reserved;
    w.save({ reservedCounter: upTo, flags: w.flags, registers: this.energy.registerValues });
    this.record.save(state, this.airtime.airtimeHistory());
  }
}
