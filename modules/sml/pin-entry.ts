/**
 * The customer PIN of the optical info interface (the German privacy rule for modern meters, FNN
 * "Lastenheft Basiszähler"): without the PIN the interface shows the billing registers only; after
 * the PIN it shows the detail (current power above all) for `visibleMs`, then hides it again.
 *
 * On the meter the PIN arrives as light: the customer flashes a torch at the optical sensor. Each
 * digit is a burst of flashes — d flashes for digit d, ten for 0 — and a pause of `digitGapMs` ends
 * the digit. Four digits make an attempt. The host counts the flashes as edges of the sensor's input
 * (an `EdgeCounter`: an interrupt or a pulse counter, so short flashes between ticks are not lost);
 * `poll()` turns the counts into digits on the clock's ticks. A burst of more than ten flashes spoils
 * the attempt; digits left unfinished for `abandonMs` are dropped; `maxAttempts` wrong PINs in a row
 * lock entry for `lockoutMs`. Flashes while the detail is visible are ignored (on the meter they page
 * the display).
 */
import { equalConstantTime } from '../core/bytes.js';
import type { EdgeCounter } from '../ports/bus.js';
import type { Clock } from '../ports/clock.js';
import { SmlError } from './errors.js';

export interface PinEntryOptions {
  /** Light pulses seen by the optical port's sensor. */
  pulses: EdgeCounter;
  clock: Pick<Clock, 'ticks'>;
  /** The meter's customer PIN: four decimal digits. */
  pin: string;
  /** A pause this long ends a digit (default 3000 ms). */
  digitGapMs?: number;
  /** How long the detail stays visible after the right PIN (default 120 000 ms). */
  visibleMs?: number;
  /** Unfinished digits are dropped after this long without a flash (default 20 000 ms). */
  abandonMs?: number;
  /** Wrong PINs in a row before entry locks (default 3). */
  maxAttempts?: number;
  /** How long entry stays locked (default 300 000 ms). */
  lockoutMs?: number;
}

export interface PinEntryStats {
  unlocks: number;
  wrong: number;
  lockouts: number;
}

const DIGITS = 4;
const NOT_A_DIGIT = 0xff;

export class PinEntry {
  readonly stats: PinEntryStats = { unlocks: 0, wrong: 0, lockouts: 0 };
  private readonly pulses: EdgeCounter;
  private readonly clock: Pick<Clock, 'ticks'>;
  private readonly pin = new Uint8Array(DIGITS);
  private readonly entered = new Uint8Array(DIGITS);
  private readonly digitGapMs: number;
  private readonly visibleMs: number;
  private readonly abandonMs: number;
  private readonly maxAttempts: number;
  private readonly lockoutMs: number;
  private digits = 0;
  private flashes = 0;
  private lastFlash = 0;
  private wrongInRow = 0;
  private visibleUntil = -Infinity;
  private lockedUntil = -Infinity;

  constructor(options: PinEntryOptions) {
    if (!/^\d{4}$/.test(options.pin)) throw new SmlError('range', 'the customer PIN must be four decimal digits');
    for (let i = 0; i < DIGITS; i++) this.pin[i] = options.pin.charCodeAt(i) - 48;
    this.pulses = options.pulses;
    this.clock = options.clock;
    this.digitGapMs = options.digitGapMs ?? 3000;
    this.visibleMs = options.visibleMs ?? 120_000;
    this.abandonMs = options.abandonMs ?? 20_000;
    this.maxAttempts = options.maxAttempts ?? 3;
    this.lockoutMs = options.lockoutMs ?? 300_000;
  }

  /** True while the detail may be shown (the right PIN less than `visibleMs` ago). */
  visible(): boolean {
    return this.clock.ticks() < this.visibleUntil;
  }

  /** Takes the flashes since the last call; call it every tick (and at `nextWake()`). */
  poll(): void {
    const now = this.clock.ticks();
    const n = this.pulses.take();
    if (now < this.lockedUntil || now < this.visibleUntil) {
      this.digits = 0;
      this.flashes = 0;
      return;
    }
    if (this.flashes > 0 && now - this.lastFlash >= this.digitGapMs) this.closeDigit(now);
    if (this.digits > 0 && this.flashes === 0 && now - this.lastFlash >= this.abandonMs) this.digits = 0;
    if (n > 0) {
      this.flashes += n;
      this.lastFlash = now;
    }
  }

  /** Ticks at which `poll` next has something to decide without new flashes (Infinity: nothing). */
  nextWake(): number {
    let t = Infinity;
    if (this.flashes > 0) t = this.lastFlash + this.digitGapMs;
    else if (this.digits > 0) t = this.lastFlash + this.abandonMs;
    if (this.visibleUntil > this.clock.ticks()) t = Math.min(t, this.visibleUntil);
    return t;
  }

  private closeDigit(now: number): void {
    this.entered[this.digits++] = this.flashes > 10 ? NOT_A_DIGIT : this.flashes % 10;
    this.flashes = 0;
    if (this.digits < DIGITS) return;
    this.digits = 0;
    if (equalConstantTime(this.entered, this.pin)) {
      this.wrongInRow = 0;
      this.visibleUntil = now + this.visibleMs;
      this.stats.unlocks++;
      return;
    }
    this.stats.wrong++;
    if (++this.wrongInRow >= this.maxAttempts) {
      this.wrongInRow = 0;
      this.lockedUntil = now + this.lockoutMs;
      this.stats.lockouts++;
    }
  }
}
