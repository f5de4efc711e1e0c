/**
 * The meter's counter records, each a power-safe RecordRing of the flash map (modules/storage):
 * - TelegramCounterRecord: the message counter and access number last reserved (message-counter-source.ts
 *   writes it before each telegram) and, in the same write, the radio airtime of the last hour
 *   (radio-budget.ts), so the duty-cycle budget holds across a restart without a flash write of its
 *   own. Payload (LE): format 1 | message counter u32 | access number u8 | flags u8 (bit0: times are
 *   wall-clock ms) | base ms u32 lo, u32 hi | count u8 | count × (age ms before base u32, airtime µs u32).
 *   At most AIRTIME_ENTRIES transmissions are kept: beyond, the oldest two merge into one at the later
 *   start with both airtimes (it then leaves the window later than they would: conservative).
 * - ServiceCounterRecord: the last accepted service command counter (modules/service/auth.ts,
 *   persisted before the command runs; 0, written at a new meter's first start). Payload: format 1 | counter u32.
 * A record in a format this firmware does not know reads as missing (`damaged` says so): the caller
 * decides what a missing counter means (message-counter-source.ts, and the service jump below).
 */
import { readU32LE, writeU32LE } from '../core/bytes.js';
import type { ServiceCounterStore } from '../service/auth.js';
import type { RecordRing } from '../storage/record-ring.js';
import type { TelegramCounterState } from '../wmbus-tx/counters.js';

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

export class TelegramCounterRecord {
  /** The counters and airtime found at start (undefined: none readable). */
  readonly counters: TelegramCounterState | undefined;
  readonly airtime: AirtimeHistory | undefined;
  /** A record was there but in an unknown format. */
  readonly damaged: boolean = false;
  /** Saves since start (flash wear accounting). */
  saves = 0;

  constructor(private readonly ring: RecordRing) {
    const t = ring.load()?.payload;
    if (t === undefined) return;
    const n = t.length >= TELEGRAM_HEAD ? t[15] : -1;
    if (t[0] !== FORMAT || n < 0 || n > AIRTIME_ENTRIES || t.length !== TELEGRAM_HEAD + n * 8) {
      this.damaged = true;
      return;
    }
    this.counters = { messageCounter: readU32LE(t, 1), accessNumber: t[5] };
    const entries: { ageMs: number; airtimeMs: number }[] = [];
    for (let i = 0; i < n; i++) entries.push({ ageMs: readU32LE(t, 16 + i * 8), airtimeMs: readU32LE(t, 20 + i * 8) / 1000 });
    this.airtime = { wall: (t[6] & 1) !== 0, baseMs: readU32LE(t, 7) + readU32LE(t, 11) * U32, entries };
  }

  /** Writes the counters with the airtime history (committed on return). */
  save(state: TelegramCounterState, h: AirtimeHistory): void {
    let e = h.entries;
    if (e.length > AIRTIME_ENTRIES) {
      // Rare (more than AIRTIME_ENTRIES transmissions in the hour): merged in a copy. The ages are
      // floored below as well (again: the same value), so the common case needs no copy.
      e = e.map((x) => ({ ageMs: Math.max(0, Math.floor(x.ageMs)), airtimeMs: x.airtimeMs }));
      while (e.length > AIRTIME_ENTRIES) e.splice(0, 2, { ageMs: e[1].ageMs, airtimeMs: e[0].airtimeMs + e[1].airtimeMs });
    }
    const b = this.ring.payload(TELEGRAM_RECORD_SIZE);
    b[0] = FORMAT;
    writeU32LE(b, 1, state.messageCounter);
    b[5] = state.accessNumber;
    b[6] = h.wall ? 1 : 0;
    const base = Math.max(0, Math.ceil(h.baseMs));
    writeU32LE(b, 7, base % U32);
    writeU32LE(b, 11, Math.floor(base / U32) >>> 0);
    b[15] = e.length;
    for (let i = 0; i < e.length; i++) {
      writeU32LE(b, 16 + i * 8, Math.min(U32 - 1, Math.max(0, Math.floor(e[i].ageMs))));
      writeU32LE(b, 20 + i * 8, Math.min(U32 - 1, Math.ceil(e[i].airtimeMs * 1000))); // rounded up
    }
    this.ring.save(b, TELEGRAM_HEAD + e.length * 8);
    this.saves++;
  }
}

/** Where the service's counter continues when its record is lost on a meter in service: above any
 *  counter a bench could have used (benches count from 1; identify tells them where to go on). */
export const SERVICE_COUNTER_RESYNC = 0x8000_0000;

export class ServiceCounterRecord implements ServiceCounterStore {
  private last = 0;
  /** The record was missing or unreadable on a meter in service, and the counter jumped. */
  readonly resynced: boolean = false;

  /** `inService`: the meter has been used (a missing record then means damage, not a new meter). */
  constructor(
    private readonly ring: RecordRing,
    inService: boolean,
  ) {
    const a = ring.load()?.payload;
    if (a !== undefined && a[0] === FORMAT && a.length === AUTH_RECORD_SIZE) this.last = readU32LE(a, 1);
    else if (a !== undefined || inService) {
      // Old signed commands could be replayed against a counter that went back to 0: go above them all.
      this.resynced = true;
      this.save(SERVICE_COUNTER_RESYNC);
    } else {
      // A new meter writes its record at once: a meter that never had a service command then still
      // has one at its next start, so that only damage finds it missing (else every restart of such
      // a meter jumped the counter and raised the counter-resync flag for good).
      this.save(0);
    }
  }

  load(): number {
    return this.last;
  }

  save(counter: number): void {
    const b = this.ring.payload(AUTH_RECORD_SIZE);
    b[0] = FORMAT;
    writeU32LE(b, 1, counter);
    this.ring.save(b, AUTH_RECORD_SIZE);
    this.last = counter;
  }
}
