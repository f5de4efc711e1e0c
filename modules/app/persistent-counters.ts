/**
 * The meter's counters that must never go back across restarts, each in its own power-safe record
 * (modules/storage RecordRing, regions of the flash map):
 * - telegram counters: the message counter and access number (modules/wmbus-tx/counters.ts,
 *   reserve-then-send: the record is written before a value is used) and, in the same write, the
 *   radio airtime of the last hour (radio-budget.ts), so the duty-cycle budget holds across a
 *   restart without a flash write of its own. Payload (LE): format 1 | message counter u32 | access
 *   number u8 | flags u8 (bit0: times are wall-clock ms) | base ms u32 lo, u32 hi | count u8 |
 *   count × (age ms before base u32, airtime µs u32);
 * - the service auth counter: the last accepted service command counter (modules/service/auth.ts,
 *   persisted before the command runs). Payload: format 1 | counter u32.
 * At most AIRTIME_ENTRIES transmissions are kept: beyond, the oldest two merge into one at the later
 * start with both airtimes (it then leaves the window later than they would: conservative).
 */
import { readU32LE, writeU32LE } from '../core/bytes.js';
import { MeterError } from '../core/errors.js';
import type { AuthCounterStore } from '../service/auth.js';
import type { RecordRing } from '../storage/record-ring.js';
import type { CounterState, CounterStore } from '../wmbus-tx/counters.js';

const FORMAT = 1;
export const AIRTIME_ENTRIES = 12;
const TELEGRAM_HEAD = 16;
/** Largest payload of the telegram counter record. */
export const TELEGRAM_RECORD_SIZE = TELEGRAM_HEAD + AIRTIME_ENTRIES * 8;
/** Payload of the service auth counter record. */
export const AUTH_RECORD_SIZE = 5;

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
  /** Record saves since start, both records (flash wear accounting). */
  saves = 0;
  /** The airtime history found on flash at start (undefined: none stored). */
  readonly airtime: AirtimeHistory | undefined;
  /** Gives the airtime history to store with every telegram counter save (the application's radio budget). */
  airtimeSource: (() => AirtimeHistory) | undefined;

  constructor(
    private readonly telegramRecord: RecordRing,
    private readonly authRecord: RecordRing,
  ) {
    const t = telegramRecord.load()?.payload;
    if (t !== undefined) {
      const n = t.length >= TELEGRAM_HEAD ? t[15] : -1;
      if (t[0] !== FORMAT || n < 0 || n > AIRTIME_ENTRIES || t.length !== TELEGRAM_HEAD + n * 8) {
        throw new MeterError('counter-store', 'the telegram counter record on flash is not a format-1 record', { length: t.length, format: t[0] });
      }
      const mc = readU32LE(t, 1);
      if (mc > 0 || t[5] > 0) this.telegram = { messageCounter: mc, accessNumber: t[5] };
      const entries: { ageMs: number; airtimeMs: number }[] = [];
      for (let i = 0; i < n; i++) entries.push({ ageMs: readU32LE(t, 16 + i * 8), airtimeMs: readU32LE(t, 20 + i * 8) / 1000 });
      this.airtime = { wall: (t[6] & 1) !== 0, baseMs: readU32LE(t, 7) + readU32LE(t, 11) * U32, entries };
    }
    const a = authRecord.load()?.payload;
    if (a !== undefined) {
      if (a[0] !== FORMAT || a.length !== AUTH_RECORD_SIZE) {
        throw new MeterError('counter-store', 'the service auth counter record on flash is not a format-1 record', { length: a.length, format: a[0] });
      }
      this.auth = readU32LE(a, 1);
    }
  }

  private persistTelegram(state: CounterState): void {
    const h = this.airtimeSource?.() ?? { wall: false, baseMs: 0, entries: [] };
    const e = h.entries.map((x) => ({ ageMs: Math.max(0, Math.floor(x.ageMs)), airtimeMs: x.airtimeMs }));
    while (e.length > AIRTIME_ENTRIES) e.splice(0, 2, { ageMs: e[1].ageMs, airtimeMs: e[0].airtimeMs + e[1].airtimeMs });
    const b = new Uint8Array(TELEGRAM_HEAD + e.length * 8);
    b[0] = FORMAT;
    writeU32LE(b, 1, state.messageCounter);
    b[5] = state.accessNumber;
    b[6] = h.wall ? 1 : 0;
    const base = Math.max(0, Math.ceil(h.baseMs));
    writeU32LE(b, 7, base % U32);
    writeU32LE(b, 11, Math.floor(base / U32) >>> 0);
    b[15] = e.length;
    for (let i = 0; i < e.length; i++) {
      writeU32LE(b, 16 + i * 8, Math.min(U32 - 1, e[i].ageMs));
      writeU32LE(b, 20 + i * 8, Math.min(U32 - 1, Math.ceil(e[i].airtimeMs * 1000))); // rounded up
    }
    this.telegramRecord.save(b);
    this.saves++;
  }

  // CounterStore (telegrams)
  load(): CounterState | undefined {
    return this.telegram && { ...this.telegram };
  }
  save(state: CounterState): void {
    this.persistTelegram(state);
    this.telegram = { ...state };
  }

  /** The service's last accepted command counter. */
  readonly service: AuthCounterStore = {
    load: () => this.auth,
    save: (counter: number) => {
      const b = new Uint8Array(AUTH_RECORD_SIZE);
      b[0] = FORMAT;
      writeU32LE(b, 1, counter);
      this.authRecord.save(b);
      this.saves++;
      this.auth = counter;
    },
  };
}
