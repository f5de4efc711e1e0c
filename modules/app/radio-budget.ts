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

/** No transmission in the window (shared: never written; each change makes a new array). */
const NONE: readonly number[] = Object.freeze([]);

export class RadioBudget {
  readonly windowMs: number;
  /** Airtime allowed per window, ms. */
  readonly limitMs: number;
  /** The transmissions, oldest first: start, airtime (ms), start, airtime, … from index `o` on (the
   *  pairs before it have left the window) in one array of exactly their size: an array grown by
   *  push keeps room for 17 numbers, and two of them cost a meter 370 bytes for its four telegrams.
   *  A transmission recorded when one has left moves the others down in place: a new array each
   *  telegram would outlive a fleet's young generation between a meter's turns and be promoted. */
  private w: number[] = NONE as number[];
  private o = 0;
  private used = 0;

  constructor(options: { dutyCycle?: number; windowMs?: number } = {}) {
    const d = options.dutyCycle ?? DUTY_CYCLE_868_7_869_2;
    this.windowMs = options.windowMs ?? DUTY_CYCLE_WINDOW_MS;
    if (!(d > 0 && d <= 1) || !(this.windowMs > 0)) {
      throw new MeterError('radio-budget', `duty cycle ${d} over ${this.windowMs} ms is not a budget`, { dutyCycle: d });
    }
    const limit = d * this.windowMs;
    // A whole limit (3600 ms by default) as a small integer: a product is a double, which V8 keeps
    // boxed in a field of its own (16 bytes a meter). The same value.
    this.limitMs = limit === (limit | 0) ? limit | 0 : limit;
  }

  private expire(nowMs: number): void {
    const w = this.w;
    let k = this.o;
    while (k < w.length && w[k] <= nowMs - this.windowMs) {
      this.used -= w[k + 1];
      k += 2;
    }
    if (k === w.length) {
      this.w = NONE as number[];
      this.o = 0;
      this.used = 0; // no drift from float sums
    } else this.o = k;
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
    const w = this.w;
    const o = this.o;
    let used = this.used;
    for (let i = o; i < w.length; i += 2) {
      if (used + airtimeMs <= this.limitMs + 1e-9) return i === o ? nowMs : w[i - 2] + this.windowMs;
      used -= w[i + 1];
    }
    return w.length > o ? w[w.length - 2] + this.windowMs : nowMs;
  }

  /** The transmissions in the hour ending at `nowMs`, oldest first. */
  window(nowMs: number): { startMs: number; airtimeMs: number }[] {
    this.expire(nowMs);
    const out: { startMs: number; airtimeMs: number }[] = [];
    for (let i = this.o; i < this.w.length; i += 2) out.push({ startMs: this.w[i], airtimeMs: this.w[i + 1] });
    return out;
  }

  /** How many transmissions are in the hour ending at `nowMs`; `startAt(i)` and `airtimeAt(i)`
   *  read them, oldest first (window() without an object per transmission). */
  count(nowMs: number): number {
    this.expire(nowMs);
    return (this.w.length - this.o) / 2;
  }

  startAt(i: number): number {
    return this.w[this.o + 2 * i];
  }

  airtimeAt(i: number): number {
    return this.w[this.o + 2 * i + 1];
  }

  /** Puts back a transmission of an earlier run (a restart), in start order; gone ones are dropped. */
  restore(startMs: number, airtimeMs: number, nowMs: number): void {
    this.expire(nowMs);
    if (!(startMs > nowMs - this.windowMs && airtimeMs > 0)) return;
    let i = this.w.length;
    while (i > this.o && this.w[i - 2] > startMs) i -= 2;
    this.insert(i, startMs, airtimeMs);
  }

  record(nowMs: number, airtimeMs: number): void {
    this.expire(nowMs);
    const w = this.w;
    const n = w.length;
    if (this.o === 2) {
      // One transmission left the window: the others move down one pair, the new one goes last.
      for (let j = 2; j < n; j++) w[j - 2] = w[j];
      w[n - 2] = nowMs;
      w[n - 1] = airtimeMs;
      this.o = 0;
      this.used += airtimeMs;
    } else this.insert(n, nowMs, airtimeMs);
  }

  /** A new array of the window (from `o`) with the pair at `i` (an even index ≥ `o`). */
  private insert(i: number, startMs: number, airtimeMs: number): void {
    const w = this.w;
    const o = this.o;
    const n = w.length;
    const a: number[] = new Array(n - o + 2);
    for (let j = o; j < i; j++) a[j - o] = w[j];
    a[i - o] = startMs;
    a[i - o + 1] = airtimeMs;
    for (let j = i; j < n; j++) a[j - o + 2] = w[j];
    this.w = a;
    this.o = 0;
    this.used += airtimeMs;
  }
}
