/**
 * The meter's counters that must never go back across restarts, in one power-safe flash record
 * (flash-record.ts): the telegram message counter and access number (modules/wmbus-tx/counters.ts,
 * reserve-then-send: the record is written before a value is used) and the last accepted service
 * command counter (modules/service/auth.ts, persisted before the command runs).
 * Record: "CN" | version 1 | message counter u32 | access number u8 | auth counter u32 (LE).
 */
import { readU32LE, writeU32LE } from '../core/bytes.js';
import { MeterError } from '../core/errors.js';
import type { AuthCounterStore } from '../service/auth.js';
import type { CounterState, CounterStore } from '../wmbus-tx/counters.js';
import type { FlashRecord } from './flash-record.js';

export const COUNTER_RECORD_SIZE = 12;

export class PersistentCounters implements CounterStore {
  private telegram: CounterState | undefined;
  private auth = 0;
  /** Record saves since start (flash wear accounting). */
  saves = 0;

  constructor(private readonly record: FlashRecord) {
    const b = record.load();
    if (b === undefined) return;
    if (b.length !== COUNTER_RECORD_SIZE || b[0] !== 0x43 || b[1] !== 0x4e || b[2] !== 1) {
      throw new MeterError('counter-store', 'the counter record on flash is not a version-1 counter record', { length: b.length });
    }
    const mc = readU32LE(b, 3);
    if (mc > 0 || b[7] > 0) this.telegram = { messageCounter: mc, accessNumber: b[7] };
    this.auth = readU32LE(b, 8);
  }

  private persist(): void {
    const b = new Uint8Array(COUNTER_RECORD_SIZE);
    b[0] = 0x43;
    b[1] = 0x4e;
    b[2] = 1;
    writeU32LE(b, 3, this.telegram?.messageCounter ?? 0);
    b[7] = this.telegram?.accessNumber ?? 0;
    writeU32LE(b, 8, this.auth);
    this.record.save(b);
    this.saves++;
  }

  // CounterStore (telegrams)
  load(): CounterState | undefined {
    return this.telegram && { ...this.telegram };
  }
  save(state: CounterState): void {
    const before = this.telegram;
    this.telegram = { ...state };
    try {
      this.persist();
    } catch (e) {
      this.telegram = before;
      throw e;
    }
  }

  /** The service's last accepted command counter. */
  readonly service: AuthCounterStore = {
    load: () => this.auth,
    save: (counter: number) => {
      const before = this.auth;
      this.auth = counter;
      try {
        this.persist();
      } catch (e) {
        this.auth = before;
        throw e;
      }
    },
  };
}
