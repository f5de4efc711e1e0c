/**
 * The periodic telegram: when it is due (telegram-schedule.ts, with jitter), whether the radio's
 * duty-cycle budget allows it now (radio-budget.ts; else it waits and is counted as deferred), the
 * message counter reserved on flash before use (modules/wmbus-tx TelegramCounters: never reused), in
 * the same write as the last hour's airtime including this telegram's, so a restart keeps the budget
 * (times as wall clock when valid; else the stored airtime counts as sent at boot, a full hour from
 * then), the register snapshot turned into a frame (modules/wmbus-tx) and handed to the radio.
 * Before each telegram the energy is persisted, so no restart shows less than was sent.
 */
import { MeterError } from '../core/errors.js';
import type { AesKey, Crypto } from '../ports/crypto.js';
import type { KeyStore } from '../ports/key-store.js';
import type { Radio, WmbusMode } from '../ports/radio.js';
import type { DllHeader } from '../wmbus/dll.js';
import type { FrameFormat } from '../wmbus/frame.js';
import { airtimeMs } from '../wmbus/phy.js';
import { TelegramCounters } from '../wmbus-tx/counters.js';
import type { Register, RegisterValue } from '../wmbus-tx/registers.js';
import { TelegramBuilder, type TelegramSecurity } from '../wmbus-tx/telegram.js';
import { decodeErrorFlags, encodeErrorFlags, encodeStatusByte, type MeterStatus, type StatusBoard } from './meter-status.js';
import type { AirtimeHistory, TelegramCounterRecord } from './counter-records.js';
import { MessageCounterSource } from './message-counter-source.js';
import type { MeterWitness } from './meter-witness.js';
import type { RadioBudget } from './radio-budget.js';
import type { TelegramSchedule } from './telegram-schedule.js';
import type { WallClock } from './wall-clock.js';

/** The crypto calls a telegram's build makes (modes 5 and 7), computing nothing: for a frame whose
 *  length is all that is wanted (its bytes are never used). */
const NO_KEY: AesKey = Object.freeze({ wipe(): void {} });
const LENGTH_ONLY: Pick<Crypto, 'aesKey' | 'aesCbcEncrypt' | 'aesCmac'> = Object.freeze({
  aesKey: (): AesKey => NO_KEY,
  aesCbcEncrypt(): void {},
  aesCmac(): void {},
});

export interface SentTelegram {
  /** The link-layer frame with CRCs, as given to the radio. */
  frame: Uint8Array;
  mode: WmbusMode;
  format: FrameFormat;
  messageCounter: number;
  accessNumber: number;
  /** Clock.ticks() when sent. */
  ticks: number;
  airtimeMs: number;
  /** What it carries. */
  registers: Register[];
  status: MeterStatus;
}

export interface TelegramStats {
  telegrams: number;
  /** Telegram slots that had to wait for the duty-cycle budget. */
  deferred: number;
  radioErrors: number;
  airtimeMs: number;
  lastMessageCounter: number;
}

export interface TelegramSenderOptions {
  radio: Radio;
  mode: WmbusMode;
  format: FrameFormat;
  /** The link-layer C, M, A of every telegram. */
  header: DllHeader;
  /** Mode 0, or 5/7 with the meter key's handle (read from `keys` per telegram: install-meter-key
   *  replaces it). */
  security: { mode: 0 | 5 | 7; keys: KeyStore; crypto: Crypto };
  schedule: TelegramSchedule;
  budget: RadioBudget;
  /** The flash record of the message counter, access number and airtime, and the meter witness with
   *  the counter reservation (message-counter-source.ts). */
  counterRecord: TelegramCounterRecord;
  witness: MeterWitness;
  /** The meter was in service before this start (a missing counter record is then damage). */
  inService: boolean;
  clock: WallClock;
  status: StatusBoard;
  /** The registers of a telegram sent with `status`; and the same list again from their values
   *  (what the sender keeps of the last telegram). */
  content: { telegramRegisters(status: MeterStatus): Register[]; registersOf(values: readonly RegisterValue[], status: MeterStatus): Register[] };
  /** Persisted before each telegram; its registers go into the witness with each reservation. */
  energy: { persist(): void; readonly registerValues: ArrayLike<number> };
  onTelegram?: (t: SentTelegram) => void;
  /** Default: one of its own. A host running many meters one at a time may give them one. */
  builder?: TelegramBuilder;
}

export class TelegramSender {
  readonly stats: TelegramStats = { telegrams: 0, deferred: 0, radioErrors: 0, airtimeMs: 0, lastMessageCounter: 0 };
  /** Set once, the first time a telegram's airtime exceeds the whole hour's allowance (a duty cycle
   *  configured or computed too small): such telegrams are given up slot by slot, metering goes on. */
  private fault: MeterError | undefined;
  private readonly counters: TelegramCounters;
  /** Where the message counter continues from, and whether it had to jump (status flag). */
  readonly messageCounterSource: MessageCounterSource;
  /** Its buffers are made once; each frame is copied out of them (the sender, the radio's caller and
   *  onTelegram keep it). */
  private readonly builder: TelegramBuilder;
  private due = 0;
  private airtimeEstimate = 0;
  /** When the telegram being reserved goes on the air (undefined: none; ticks have any origin):
   *  counted in the stored airtime, with the airtime estimate, before it is sent. Not -Infinity: a
   *  field that ever holds a non-integer keeps every value boxed (V8: 16 bytes more a meter). */
  private pendingAt: number | undefined;
  // What the sender uses of its options, as its own fields: not the whole bag (counter record,
  // witness, in-service flag serve the constructor only), nor the security object around three values.
  private readonly radio: Radio;
  private readonly mode: WmbusMode;
  private readonly format: FrameFormat;
  private readonly header: DllHeader;
  private readonly securityMode: 0 | 5 | 7;
  private readonly keys: KeyStore;
  private readonly crypto: Crypto;
  private readonly schedule: TelegramSchedule;
  private readonly budget: RadioBudget;
  private readonly clock: WallClock;
  private readonly status: StatusBoard;
  private readonly content: TelegramSenderOptions['content'];
  private readonly energy: TelegramSenderOptions['energy'];
  private readonly onTelegram: ((t: SentTelegram) => void) | undefined;
  // The last telegram sent, kept compactly until `last` is asked for (hosts and tests, rarely): its
  // frame, when, its access number, its status as error flags (all six of them) and its register
  // values in one array of exactly their number. Its airtime follows from the frame's length. The
  // frame and the values are copied into the arrays kept from the telegram before when they fit
  // (a meter's telegrams keep their length): new arrays each telegram would outlive a fleet's
  // young generation between a meter's turns and be promoted (with the radio budget's window array,
  // half of what a large fleet promoted).
  private lastFrame: Uint8Array | undefined;
  private lastCounter = 0;
  private lastTicks = 0;
  private lastAccess = 0;
  private lastFlags = 0;
  private lastValues: RegisterValue[] | undefined;

  constructor(o: TelegramSenderOptions) {
    this.radio = o.radio;
    this.mode = o.mode;
    this.format = o.format;
    this.header = o.header;
    this.securityMode = o.security.mode;
    this.keys = o.security.keys;
    this.crypto = o.security.crypto;
    this.schedule = o.schedule;
    this.budget = o.budget;
    this.clock = o.clock;
    this.status = o.status;
    this.content = o.content;
    this.energy = o.energy;
    this.onTelegram = o.onTelegram;
    this.builder = o.builder ?? new TelegramBuilder();
    this.restoreAirtime(o.counterRecord.airtime, o.clock.ticks());
    this.messageCounterSource = new MessageCounterSource({
      record: o.counterRecord,
      witness: o.witness,
      inService: o.inService,
      energy: o.energy,
      airtime: this,
    });
    this.counters = new TelegramCounters(this.messageCounterSource);
    this.stats.lastMessageCounter = o.counterRecord.counters?.messageCounter ?? 0;
  }

  /** The last telegram handed to the radio (made from what is kept of it: a new object each time). */
  get last(): SentTelegram | undefined {
    const kept = this.lastFrame;
    if (kept === undefined || !this.lastValues) return undefined;
    const frame = kept.slice(); // the caller's own copy, as each call makes a new object
    const status = decodeErrorFlags(this.lastFlags);
    return {
      frame,
      mode: this.mode,
      format: this.format,
      messageCounter: this.lastCounter,
      accessNumber: this.lastAccess,
      ticks: this.lastTicks,
      airtimeMs: airtimeMs(frame.length, this.mode, this.format),
      registers: this.content.registersOf(this.lastValues, status),
      status,
    };
  }

  /** Starts the schedule at `now` (ticks). */
  start(now: number): void {
    this.schedule.start(now);
    this.due = this.schedule.nextDue;
    // A frame built only for its length, which neither the keys nor the counters change: not
    // encrypted (the key is still asked for: a meter without one fails here, as on its first telegram).
    const security: TelegramSecurity = this.securityMode === 0 ? { mode: 0 } : { mode: this.securityMode, key: this.keys.meterKey(), crypto: LENGTH_ONLY as unknown as Crypto };
    this.airtimeEstimate = airtimeMs(this.build({ messageCounter: 1, accessNumber: 0 }, security).frame.length, this.mode, this.format);
  }

  /** Why telegrams are given up (see `fault`), once seen. */
  get budgetFault(): MeterError | undefined {
    return this.fault;
  }

  /** Ticks time at which the next telegram is due. */
  get nextDue(): number {
    return this.due;
  }

  /** Sends the telegram if it is due at `now`. */
  tick(now: number): void {
    if (now >= this.due) this.send(now);
  }

  /** The last hour's transmissions (and the one being reserved) as they are stored across a restart. */
  airtimeHistory(): AirtimeHistory {
    const now = this.clock.ticks();
    const budget = this.budget;
    // Read out of the budget straight into the entries (no intermediate list per telegram).
    const entries: { ageMs: number; airtimeMs: number }[] = [];
    for (let i = 0, n = budget.count(now); i < n; i++) entries.push({ ageMs: now - budget.startAt(i), airtimeMs: budget.airtimeAt(i) });
    if (this.pendingAt !== undefined) entries.push({ ageMs: now - this.pendingAt, airtimeMs: this.airtimeEstimate });
    const wall = this.clock.valid;
    return { wall, baseMs: wall ? this.clock.now() : 0, entries };
  }

  /** Puts the stored airtime back into the budget: by wall-clock age when both clocks are valid, else
   *  (ticks restart at boot, no valid time) as sent at boot, so it counts for a full hour from now. */
  private restoreAirtime(h: AirtimeHistory | undefined, now: number): void {
    if (!h) return;
    const byWall = h.wall && this.clock.valid;
    const elapsed = byWall ? Math.max(0, this.clock.now() - h.baseMs) : 0;
    for (const e of h.entries) this.budget.restore(byWall ? now - elapsed - e.ageMs : now, e.airtimeMs, now);
  }

  private securityNow(): TelegramSecurity {
    return this.securityMode === 0 ? { mode: 0 } : { mode: this.securityMode, key: this.keys.meterKey(), crypto: this.crypto };
  }

  private build(counters: { messageCounter: number; accessNumber: number }, security: TelegramSecurity): { frame: Uint8Array; registers: Register[]; status: MeterStatus } {
    const status = this.status.current();
    const registers = this.content.telegramRegisters(status);
    const frame = this.builder.buildCopy({
      header: this.header,
      registers,
      security,
      status: encodeStatusByte(status),
      counters,
      format: this.format,
    });
    return { frame, registers, status };
  }

  /** What `last` is made from again (the sent telegram itself goes to onTelegram and is let go). */
  private keepLast(t: SentTelegram): void {
    const r = t.registers;
    let values = this.lastValues;
    if (values === undefined || values.length !== r.length) values = this.lastValues = new Array<RegisterValue>(r.length);
    for (let i = 0; i < r.length; i++) values[i] = r[i].value;
    const f = t.frame;
    const kept = this.lastFrame;
    // A copy, not t.frame itself: onTelegram's receiver may keep that one.
    if (kept !== undefined && kept.length === f.length) kept.set(f);
    else this.lastFrame = f.slice();
    this.lastCounter = t.messageCounter;
    this.lastTicks = t.ticks;
    this.lastAccess = t.accessNumber;
    this.lastFlags = encodeErrorFlags(t.status);
  }

  private defer(now: number, airtime: number): void {
    this.stats.deferred++;
    this.status.deferred();
    if (airtime > this.budget.limitMs) {
      // No hour ever holds this frame (nextFit has no answer): waiting would never end, and an
      // exception here would leave the tick loop and stop metering. Give up this slot, try the next.
      if (!this.fault) {
        this.fault = new MeterError('radio-budget', `a ${airtime} ms telegram exceeds the whole duty-cycle budget of ${this.budget.limitMs} ms an hour: none is sent`, { airtimeMs: airtime, limitMs: this.budget.limitMs });
      }
      this.schedule.advance(now);
      this.due = this.schedule.nextDue;
      return;
    }
    this.due = Math.max(now + 1, this.budget.nextFit(now, airtime));
  }

  /** Sends the telegram due now, or defers it when the hour's airtime budget has no room. */
  private send(now: number, retried = false): void {
    if (!this.budget.fits(now, this.airtimeEstimate)) {
      this.defer(now, this.airtimeEstimate);
      return;
    }
    // What is sent must never exceed what a restart restores: persist first.
    this.energy.persist();
    // Reserved on flash before use, in one write with the airtime including this telegram's (the
    // last frame's: the counters' values do not change the length).
    const reserved = this.airtimeEstimate;
    this.pendingAt = now;
    let counters: { messageCounter: number; accessNumber: number };
    try {
      counters = this.counters.next();
    } finally {
      this.pendingAt = undefined;
    }
    const built = this.build(counters, this.securityNow());
    const air = airtimeMs(built.frame.length, this.mode, this.format);
    this.airtimeEstimate = air;
    if (air > reserved) {
      // The frame grew (another register set): not covered by what was stored. The reserved counter
      // is skipped, never reused; reserve again with this length (one more write, rare).
      if (retried || !this.budget.fits(now, air)) this.defer(now, air);
      else this.send(now, true);
      return;
    }
    this.budget.record(now, air);
    this.stats.lastMessageCounter = counters.messageCounter;
    try {
      this.radio.transmit(built.frame, this.mode);
    } catch (e) {
      if (!(e instanceof MeterError)) throw e;
      this.stats.radioErrors++;
    }
    this.stats.telegrams++;
    this.stats.airtimeMs += air;
    // The counters' two fields written out, not spread (V8's spread into a literal is a slow copy).
    const sent: SentTelegram = { frame: built.frame, mode: this.mode, format: this.format, messageCounter: counters.messageCounter, accessNumber: counters.accessNumber, ticks: now, airtimeMs: air, registers: built.registers, status: built.status };
    this.keepLast(sent);
    this.status.sent();
    const before = this.schedule.nextDue;
    this.schedule.advance(now);
    // Slots passed over while this telegram waited count as deferred too.
    this.stats.deferred += Math.max(0, Math.round((this.schedule.nextDue - before) / this.schedule.intervalMs) - 1);
    this.due = this.schedule.nextDue;
    this.onTelegram?.(sent);
  }
}
