/**
 * The meter's wall clock: the host's clock (Clock.now()) corrected by the last set-time over the
 * service interface. Tariffs, telegram time stamps and the calibration log all read this one clock,
 * so they agree with what the bench set. The correction is kept in RAM: after a restart the host's
 * clock is what counts again (no RTC port yet), and a time before 2020 means "not set".
 */
import type { Clock } from '../ports/clock.js';
import { CLOCK_VALID_AFTER_MS } from './meter-status.js';

export class WallClock implements Clock {
  private offsetMs = 0;

  constructor(private readonly host: Clock) {}

  ticks(): number {
    return this.host.ticks();
  }

  /** Corrected wall time, ms since 1970 UTC. */
  now(): number {
    return this.host.now() + this.offsetMs;
  }

  /** Sets the wall time to `ms` from now on. */
  set(ms: number): void {
    this.offsetMs = ms - this.host.now();
  }

  /** Whether the time was set (see isSetTime). */
  get valid(): boolean {
    return isSetTime(this.now());
  }
}

/** Whether a wall time is one that was set: a finite time after 2020-01-01. */
export function isSetTime(ms: number): boolean {
  return Number.isFinite(ms) && ms >= CLOCK_VALID_AFTER_MS;
}
