/**
 * When the meter sends its periodic telegram. Many meters installed together must not transmit in
 * step (EN 13757-4 §12 and OMS Vol. 2 §4.3.3 ask for a randomised transmission interval so that
 * unsynchronised senders collide only by chance): the first telegram comes at a random point within
 * the first interval, and each later one at its nominal slot (first + k · interval, so the mean
 * interval is exact and never drifts) plus a random jitter of ± jitter · interval / 2.
 * Randomness comes from a `RandomSource` port (a seeded PRNG in the simulator, the chip's RNG on a
 * device). Times are Clock.ticks() milliseconds.
 */
import { MeterError } from '../core/errors.js';
import { xorshift32Step } from '../core/xorshift32.js';

/** Uniform numbers in [0, 1). */
export interface RandomSource {
  next(): number;
}

/** xorshift32: a small deterministic RandomSource for simulations and for hosts without an RNG. */
export class XorShift32 implements RandomSource {
  private s: number;
  constructor(seed: number) {
    // Scramble the seed (murmur3 finaliser): neighbouring seeds must not give neighbouring sequences.
    let h = (seed >>> 0) ^ 0x9e3779b9;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    h ^= h >>> 16;
    this.s = h >>> 0 || 0x9e3779b9;
  }
  next(): number {
    this.s = xorshift32Step(this.s);
    return this.s / 4294967296;
  }
}

export interface TelegramScheduleOptions {
  intervalMs: number;
  /** Jitter as a fraction of the interval (the spread of the send time around its slot), 0…1; default 0.2. */
  jitter?: number;
  random: RandomSource;
}

export class TelegramSchedule {
  readonly intervalMs: number;
  readonly jitter: number;
  private readonly random: RandomSource;
  private slot = 0;
  private due = 0;
  private started = false;

  constructor(o: TelegramScheduleOptions) {
    if (!(o.intervalMs >= 1000) || !Number.isFinite(o.intervalMs)) {
      throw new MeterError('telegram-interval', `telegram interval ${o.intervalMs} ms must be at least 1 s`, { intervalMs: o.intervalMs });
    }
    const j = o.jitter ?? 0.2;
    if (!(j >= 0 && j <= 1)) throw new MeterError('telegram-interval', `jitter ${j} must be 0…1 of the interval`, { jitter: j });
    this.intervalMs = o.intervalMs;
    this.jitter = j;
    this.random = o.random;
  }

  /** Starts the schedule at `nowMs`: the first slot falls at a random point in the first interval. */
  start(nowMs: number): void {
    this.slot = nowMs + this.random.next() * this.intervalMs;
    this.started = true;
    this.due = this.jittered(this.slot, nowMs);
  }

  private jittered(slot: number, notBefore: number): number {
    return Math.max(notBefore, Math.round(slot + (this.random.next() - 0.5) * this.jitter * this.intervalMs));
  }

  /** When the next telegram is due (ticks ms). */
  get nextDue(): number {
    if (!this.started) throw new MeterError('telegram-interval', 'schedule not started');
    return this.due;
  }

  /** Moves on to the next slot after the telegram due now was handled (sent or given up at `nowMs`). */
  advance(nowMs: number): void {
    this.slot += this.intervalMs;
    // A long stall (host paused, budget exhausted for hours): skip slots already in the past.
    if (this.slot < nowMs) this.slot += Math.ceil((nowMs - this.slot) / this.intervalMs) * this.intervalMs;
    this.due = this.jittered(this.slot, nowMs + 1);
  }
}
