/**
 * The radio duty-cycle budget. Wireless M-Bus T1 and C1 (meter → other) transmit at 868.95 MHz,
 * inside the 868.7–869.2 MHz sub-band of ERC Recommendation 70-03 Annex 1 (band h1.5, "non-specific
 * short range devices") and ETSI EN 300 220-2 (Table B.1, band N), where a device may transmit at
 * most 0.1 % of the time; EN 300 220-1 §4.2.7 / ERC 70-03 define the duty cycle over one hour.
 * So: at most 3.6 s of airtime in any one hour.
 *
 * The budget keeps the airtime of every transmission of the last hour (a sliding window, not fixed
 * clock hours) and says whether one more transmission of a given airtime fits now, and when it will.
 * Times are Clock.ticks() milliseconds. The window survives a restart through `window()` and
 * `restore()`: the application keeps it in its counter record (persistent-counters.ts).
 */
import { MeterError } from '../core/errors.js';

/** 0.1 % of an hour: 3600 ms of airtime per 3 600 000 ms. */
export const DUTY_CYCLE_868_7_869_2 = 0.001;
export const DUTY_CYCLE_WINDOW_MS = 3_600_000;

export class RadioBudget {
  readonly windowMs: number;
  /** Airtime allowed per window, ms. */
  readonly limitMs: number;
  /** Airtime of the transmissions in the window, ms: [start, airtime] pairs, oldest first. */
  private readonly starts: number[] = [];
  private readonly airtimes: number[] = [];
  private used = 0;

  constructor(options: { dutyCycle?: number; windowMs?: number } = {}) {
    const d = options.dutyCycle ?? DUTY_CYCLE_868_7_869_2;
    this.windowMs = options.windowMs ?? DUTY_CYCLE_WINDOW_MS;
    if (!(d > 0 && d <= 1) || !(this.windowMs > 0)) {
      throw new MeterError('radio-budget', `duty cycle ${d} over ${this.windowMs} ms is not a budget`, { dutyCycle: d });
    }
    this.limitMs = d * this.windowMs;
  }

  private expire(nowMs: number): void {
    while (this.starts.length > 0 && this.starts[0] <= nowMs - this.windowMs) {
      this.used -= this.airtimes[0];
      this.starts.shift();
      this.airtimes.shift();
    }
    if (this.starts.length === 0) this.used = 0; // no drift from float sums
  }

  /** Airtime used in the hour ending at `nowMs`. */
  usedMs(nowMs: number): number {
    this.expire(nowMs);
    return this.used;
  }

  fits(nowMs: number, airtimeMs: number): boolean {
    return this.usedMs(nowMs) + airtimeMs <= this.limitMs + 1e-9;
  }

  /** The earliest time ≥ nowMs at which `airtimeMs` fits (old transmissions leave the window). */
  nextFit(nowMs: number, airtimeMs: number): number {
    if (airtimeMs > this.limitMs) throw new MeterError('radio-budget', `a ${airtimeMs} ms transmission exceeds the whole budget of ${this.limitMs} ms`, { airtimeMs });
    this.expire(nowMs);
    let used = this.used;
    for (let i = 0; i < this.starts.length; i++) {
      if (used + airtimeMs <= this.limitMs + 1e-9) return i === 0 ? nowMs : this.starts[i - 1] + this.windowMs;
      used -= this.airtimes[i];
    }
    return this.starts.length ? this.starts[this.starts.length - 1] + this.windowMs : nowMs;
  }

  /** The transmissions in the hour ending at `nowMs`, oldest first. */
  window(nowMs: number): { startMs: number; airtimeMs: number }[] {
    this.expire(nowMs);
    return this.starts.map((startMs, i) => ({ startMs, airtimeMs: this.airtimes[i] }));
  }

  /** How many transmissions are in the hour ending at `nowMs`; `startAt(i)` and `airtimeAt(i)`
   *  read them, oldest first (window() without an object per transmission). */
  count(nowMs: number): number {
    this.expire(nowMs);
    return this.starts.length;
  }

  startAt(i: number): number {
    return this.starts[i];
  }

  airtimeAt(i: number): number {
    return this.airtimes[i];
  }

  /** Puts back a transmission of an earlier run (a restart), in start order; gone ones are dropped. */
  restore(startMs: number, airtimeMs: number, nowMs: number): void {
    this.expire(nowMs);
    if (!(startMs > nowMs - this.windowMs && airtimeMs > 0)) return;
    let i = this.starts.length;
    while (i > 0 && this.starts[i - 1] > startMs) i--;
    this.starts.splice(i, 0, startMs);
    this.airtimes.splice(i, 0, airtimeMs);
    this.used += airtimeMs;
  }

  record(nowMs: number, airtimeMs: number): void {
    this.expire(nowMs);
    this.starts.push(nowMs);
    this.airtimes.push(airtimeMs);
    this.used += airtimeMs;
  }
}
