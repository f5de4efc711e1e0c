/**
 * The meter's counters that must never go back across restarts, in one power-safe flash record
 * (flash-record.ts): the telegram message counter and access number (modules/wmbus-tx/counters.ts,
 * reserve-then-send: the record is written before a value is used) and the last accepted service
 * command counter (modules/service/auth.ts, persisted before the command runs); with them, in the
 * same write, the radio airtime of the last hour (radio-budget.ts), so the duty-cycle budget holds
 * across a restart without a flash write of its own.
 * Record (LE): "CN" | version 2 | message counter u32 | access number u8 | auth counter u32 |
 * flags u8 (bit0: times are wall-clock ms) | base ms u32 lo, u32 hi | count u8 |
 * count × (age ms before base u32, airtime µs u32). Version 1 (the first 12 bytes) is still read.
 * At most AIRTIME_ENTRIES transmissions are kept: beyond, the oldest two merge into one at the later
 * start with both airtimes (it then leaves the window later than they would: conservative).
 */
import { readU32LE, writeU32LE } from '../core/bytes.js';
import { MeterError } from '../core/errors.js';
import type { AuthCounterStore } from '../service/auth.js';
import type { CounterState, CounterStore } from '../wmbus-tx/counters.js';
import type { FlashRecord } from './flash-record.js';

/** Size of the version-1 record (counters only): its slots are still read after an upgrade. */
export const COUNTER_RECORD_V1_SIZE = 12;
export const AIRTIME_ENTRIES = 12;
export const COUNTER_RECORD_SIZE = COUNTER_RECORD_V1_SIZE + 10 + AIRTIME_ENTRIES * 8;

/** The airtime of recent transmissions, as it survives a restart. */
export interface AirtimeHistory {
  /** Whether `baseMs` and the ages are wall-clock time (else the clock was not valid when saved). */
  wall: boolean;
  /** When saved (wall ms when `wall`). */
  baseMs: number;
  /** Oldest first: each transmission started `ageMs` before `baseMs` and lasted `airtimeMs`. */
  entries: { ageMs: number; airtimeMs: number }[];
}

const U32 = 0x1_0000_0000;

export class PersistentCounters implements CounterStore {
  private telegram: CounterState | undefined;
  private auth = 0;
  /** Record saves since start (flash wear accounting). */
  saves = 0;
  /** The airtime history found on flash at start (undefined: none stored). */
  readonly airtime: AirtimeHistory | undefined;
  /** Gives the airtime history to store with every save (the application's radio budget). */
  airtimeSource: (() => AirtimeHistory) | undefined;

  constructor(private readonly record: FlashRecord) {
    const b = record.load();
    if (b === undefined) return;
    const v1 = b.length === COUNTER_RECORD_V1_SIZE && b[2] === 1;
    const v2 = b.length >= COUNTER_RECORD_V1_SIZE + 10 && b[2] === 2 && b.length === COUNTER_RECORD_V1_SIZE + 10 + b[21] * 8 && b[21] <= AIRTIME_ENTRIES;
    if (b[0] !== 0x43 || b[1] !== 0x4e || !(v1 || v2)) {
      throw new MeterError('counter-store', 'the counter record on flash is not a version-1 or version-2 counter record', { length: b.length, version: b.length > 2 ? b[2] : -1 });
    }
    const mc = readU32LE(b, 3);
    if (mc > 0 || b[7] > 0) this.telegram = { messageCounter: mc, accessNumber: b[7] };
    this.auth = readU32LE(b, 8);
    if (v2) {
      const entries: { ageMs: number; airtimeMs: number }[] = [];
      for (let i = 0; i < b[21]; i++) entries.push({ ageMs: readU32LE(b, 22 + i * 8), airtimeMs: readU32LE(b, 26 + i * 8) / 1000 });
      this.airtime = { wall: (b[12] & 1) !== 0, baseMs: readU32LE(b, 13) + readU32LE(b, 17) * U32, entries };
    }
  }

  private persist(): void {
    const h = this.airtimeSource?.() ?? { wall: false, baseMs: 0, entries: [] };
    const e = h.entries.map((x) => ({ ageMs: Math.max(0, Math.floor(x.ageMs)), airtimeMs: x.airtimeMs }));
    while (e.length > AIRTIME_ENTRIES) e.splice(0, 2, { ageMs: e[1].ageMs, airtimeMs: e[0].airtimeMs + e[1].airtimeMs });
    const b = new Uint8Array(COUNTER_RECORD_V1_SIZE + 10 + e.length * 8);
    b[0] = 0x43;
    b[1] = 0x4e;
    b[2] = 2;
    writeU32LE(b, 3, this.telegram?.messageCounter ?? 0);
    b[7] = this.telegram?.accessNumber ?? 0;
    writeU32LE(b, 8, this.auth);
    b[12] = h.wall ? 1 : 0;
    const base = Math.max(0, Math.ceil(h.baseMs));
    writeU32LE(b, 13, base % U32);
    writeU32LE(b, 17, Math.floor(base / U32) >>> 0);
    b[21] = e.length;
    for (let i = 0; i < e.length; i++) {
      writeU32LE(b, 22 + i * 8, Math.min(U32 - 1, e[i].ageMs));
      writeU32LE(b, 26 + i * 8, Math.min(U32 - 1, Math.ceil(e[i].airtimeMs * 1000))); // rounded up
    }
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
