/**
 * The meter's status as every telegram carries it, in two places:
 *
 * 1. The TPL status byte (EN 13757-7:2018 §7.5.5 Table 7, same layout as EN 13757-3 Table 6):
 *    bits 0–1 application status (00 no error, 01 busy, 10 any application error, 11 abnormal
 *    condition / alarm), bit 2 power low, bit 3 permanent error, bit 4 temporary error, bits 5–7
 *    manufacturer specific. Mapping:
 *      tamper          → bit 5 (manufacturer: tamper) and application status 11 (alarm)
 *      metrology fault → bit 4 (temporary error: a faulty chip answer, the next sample may be fine)
 *      log full        → bit 6 (manufacturer: calibration log full) and bit 3 (permanent error:
 *                        needs service)
 *      clock invalid   → bit 7 (manufacturer: clock not set)
 *      counter resync  → bit 3 (permanent error: a flash record was damaged, the meter needs service)
 *    Any flag also sets application status 10 unless tamper made it 11.
 * 2. The error-flags record 0-0:97.97.0 (VIF FD 17, type D, modules/wmbus-tx/registers.ts) with one
 *    bit per condition, including the ones the status byte has no room for:
 *      bit 0 tamper, bit 1 metrology fault, bit 2 log full, bit 3 clock invalid,
 *      bit 4 telegram deferred by the radio duty-cycle budget (since the last telegram sent),
 *      bit 5 message counter resynchronised (a counter record was damaged or lost and the counter
 *      jumped ahead: message-counter-source.ts; sticky).
 *
 * The receiver side (the simulated gateway, tests) decodes both with `decodeStatusByte` /
 * `decodeErrorFlags`.
 */

export interface MeterStatus {
  /** The seal's start-up check found active constants other than the sealed ones, or a bad log. */
  tamper: boolean;
  /** The metrology chip gave an answer that could not be trusted since the last telegram. */
  metrologyFault: boolean;
  /** The calibration log has no room for another change record. */
  logFull: boolean;
  /** The wall clock has not been set (before 2020) or is not a number. */
  clockInvalid: boolean;
  /** A telegram had to wait for the duty-cycle budget since the last one sent. */
  deferred: boolean;
  /** A counter record was damaged or lost and the counter jumped ahead (sticky). */
  counterResync: boolean;
}

export const STATUS_APP_ERROR = 0x02;
export const STATUS_APP_ALARM = 0x03;
export const STATUS_PERMANENT_ERROR = 0x08;
export const STATUS_TEMPORARY_ERROR = 0x10;
export const STATUS_TAMPER = 0x20;
export const STATUS_LOG_FULL = 0x40;
export const STATUS_CLOCK_INVALID = 0x80;

export const ERROR_FLAG_TAMPER = 0x01;
export const ERROR_FLAG_METROLOGY = 0x02;
export const ERROR_FLAG_LOG_FULL = 0x04;
export const ERROR_FLAG_CLOCK = 0x08;
export const ERROR_FLAG_DEFERRED = 0x10;
export const ERROR_FLAG_COUNTER_RESYNC = 0x20;

/** Wall-clock times before this (2020-01-01T00:00Z) mean the clock was never set. */
export const CLOCK_VALID_AFTER_MS = Date.UTC(2020, 0, 1);
/** set-time refuses this (2100-01-01T00:00Z) and later: a time no meter in service can have, which
 *  would go signed into its calibration log (whose readers then see a date of year 275 760 or none). */
export const CLOCK_SETTABLE_BEFORE_MS = Date.UTC(2100, 0, 1);

export function noStatus(): MeterStatus {
  return { tamper: false, metrologyFault: false, logFull: false, clockInvalid: false, deferred: false, counterResync: false };
}

export function encodeStatusByte(s: MeterStatus): number {
  let b = 0;
  if (s.tamper) b |= STATUS_TAMPER;
  if (s.metrologyFault) b |= STATUS_TEMPORARY_ERROR;
  if (s.logFull) b |= STATUS_LOG_FULL | STATUS_PERMANENT_ERROR;
  if (s.clockInvalid) b |= STATUS_CLOCK_INVALID;
  if (s.counterResync) b |= STATUS_PERMANENT_ERROR;
  if (s.tamper) b |= STATUS_APP_ALARM;
  else if (b !== 0) b |= STATUS_APP_ERROR;
  return b;
}

/** What a receiver reads from the TPL status byte (`deferred` has no bit there: always false; bit 3
 *  is shared by log full and counter resync: the error flags tell them apart). */
export function decodeStatusByte(b: number): MeterStatus {
  return {
    tamper: (b & STATUS_TAMPER) !== 0,
    metrologyFault: (b & STATUS_TEMPORARY_ERROR) !== 0,
    logFull: (b & STATUS_LOG_FULL) !== 0,
    clockInvalid: (b & STATUS_CLOCK_INVALID) !== 0,
    deferred: false,
    counterResync: (b & STATUS_PERMANENT_ERROR) !== 0 && (b & STATUS_LOG_FULL) === 0,
  };
}

export function encodeErrorFlags(s: MeterStatus): number {
  return (
    (s.tamper ? ERROR_FLAG_TAMPER : 0) |
    (s.metrologyFault ? ERROR_FLAG_METROLOGY : 0) |
    (s.logFull ? ERROR_FLAG_LOG_FULL : 0) |
    (s.clockInvalid ? ERROR_FLAG_CLOCK : 0) |
    (s.deferred ? ERROR_FLAG_DEFERRED : 0) |
    (s.counterResync ? ERROR_FLAG_COUNTER_RESYNC : 0)
  );
}

export function decodeErrorFlags(f: number): MeterStatus {
  return {
    tamper: (f & ERROR_FLAG_TAMPER) !== 0,
    metrologyFault: (f & ERROR_FLAG_METROLOGY) !== 0,
    logFull: (f & ERROR_FLAG_LOG_FULL) !== 0,
    clockInvalid: (f & ERROR_FLAG_CLOCK) !== 0,
    deferred: (f & ERROR_FLAG_DEFERRED) !== 0,
    counterResync: (f & ERROR_FLAG_COUNTER_RESYNC) !== 0,
  };
}

/** Short human form: 'ok' or the set flags joined by ',' (tamper,metrology,log-full,clock,deferred). */
export function statusText(s: MeterStatus): string {
  const parts: string[] = [];
  if (s.tamper) parts.push('tamper');
  if (s.metrologyFault) parts.push('metrology');
  if (s.logFull) parts.push('log-full');
  if (s.clockInvalid) parts.push('clock');
  if (s.deferred) parts.push('deferred');
  if (s.counterResync) parts.push('counter-resync');
  return parts.length ? parts.join(',') : 'ok';
}

/** What the status is read from: the parts of the meter, through narrow views. */
export interface StatusSources {
  calibration: { readonly tamper: boolean; readonly logFull: boolean };
  energy: { readonly faults: number; readonly unconfigured: boolean; readonly measuring: boolean; readonly damaged: boolean };
  clock: { readonly valid: boolean };
  /** Whether a counter record was found damaged or lost (sticky). */
  counters: { readonly resynced: boolean };
}

/**
 * The meter's status for the next telegram. Tamper, log full, clock and a refused or unconfigured
 * chip are states; metrology faults and deferred telegrams are events, shown in the first telegram
 * sent after them (`sent()` marks what that telegram carried).
 */
export class StatusBoard {
  private faultsAtLastTelegram = 0;
  private deferredSinceSent = false;
  // The sources as own fields, not an object of them kept for good.
  private readonly calibration: StatusSources['calibration'];
  private readonly energy: StatusSources['energy'];
  private readonly clock: StatusSources['clock'];
  private readonly counters: StatusSources['counters'];

  constructor(sources: StatusSources) {
    this.calibration = sources.calibration;
    this.energy = sources.energy;
    this.clock = sources.clock;
    this.counters = sources.counters;
  }

  /** The status now; `into` is filled in place and returned (a caller asking every second allocates nothing). */
  current(into: MeterStatus = noStatus()): MeterStatus {
    const { calibration, energy, clock, counters } = this;
    into.tamper = calibration.tamper;
    into.metrologyFault = energy.faults !== this.faultsAtLastTelegram || energy.unconfigured || !energy.measuring || energy.damaged;
    into.logFull = calibration.logFull;
    into.clockInvalid = !clock.valid;
    into.deferred = this.deferredSinceSent;
    into.counterResync = counters.resynced;
    return into;
  }

  /** A telegram had to wait for the duty-cycle budget. */
  deferred(): void {
    this.deferredSinceSent = true;
  }

  /** A telegram went out carrying the status of `current()`. */
  sent(): void {
    this.faultsAtLastTelegram = this.energy.faults;
    this.deferredSinceSent = false;
  }
}
