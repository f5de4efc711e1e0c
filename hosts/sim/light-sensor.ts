/**
 * The optical interface's light sensor in the simulator: an EdgeCounter (modules/ports/bus.ts) that
 * counts the flashes of a simulated customer's torch as the host's edge interrupt would. The customer
 * enters a PIN as German meters take it: each digit a burst of flashes (d flashes for d, ten for 0),
 * `flashEveryMs` apart, and a pause of `digitGapMs` between digits (modules/sml/pin-entry.ts ends a
 * digit after 3 s without a flash). Flashes are scheduled on the meter's wall clock, which survives
 * a restart; `take()` hands the application those whose time has come, `nextFlash()` tells the
 * simulation when to wake the meter so each flash is seen when it happens.
 */
import type { EdgeCounter } from '../../modules/ports/bus.js';

export interface PinFlashTiming {
  /** Between the flashes of one digit (default 500 ms). */
  flashEveryMs?: number;
  /** From the last flash of a digit to the first of the next (default 4000 ms). */
  digitGapMs?: number;
}

/** From the first flash of a PIN entry to its last, as flashPin schedules it. */
export function pinEntrySpanMs(digits: string, timing: PinFlashTiming = {}): number {
  let span = 0;
  for (const c of digits) span += ((c === '0' ? 10 : c.charCodeAt(0) - 48) - 1) * (timing.flashEveryMs ?? 500);
  return span + Math.max(0, digits.length - 1) * (timing.digitGapMs ?? 4000);
}

export class SimLightSensor implements EdgeCounter {
  /** Flash times (wall-clock ms), ascending; those before `next` were taken. */
  private times: number[] = [];
  private next = 0;

  constructor(private readonly wallMs: () => number) {}

  /** Schedules a PIN entry starting at `atWallMs`; returns the wall time of its last flash. */
  flashPin(digits: string, atWallMs: number, timing: PinFlashTiming = {}): number {
    if (!/^\d+$/.test(digits)) throw new RangeError(`PIN "${digits}" is not decimal digits`);
    const every = timing.flashEveryMs ?? 500;
    const gap = timing.digitGapMs ?? 4000;
    let t = atWallMs;
    let last = t;
    for (const c of digits) {
      const n = c === '0' ? 10 : c.charCodeAt(0) - 48;
      for (let k = 0; k < n; k++) {
        this.flashAt((last = t));
        t += every;
      }
      t = last + gap;
    }
    return last;
  }

  /** One flash at `wallMs`. */
  flashAt(wallMs: number): void {
    const pending = this.times.slice(this.next);
    pending.push(wallMs);
    pending.sort((a, b) => a - b);
    this.times = pending;
    this.next = 0;
  }

  take(): number {
    const now = this.wallMs();
    const from = this.next;
    while (this.next < this.times.length && this.times[this.next] <= now) this.next++;
    return this.next - from;
  }

  /** Wall-clock time of the next flash not yet taken (Infinity: none). */
  nextFlash(): number {
    return this.next < this.times.length ? this.times[this.next] : Infinity;
  }
}
