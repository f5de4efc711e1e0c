/**
 * Clock (modules/ports/clock.ts) for Moddable hosts. `Time.ticks` on ESP32 is a 32-bit millisecond
 * counter that wraps after 2^32 ms (about 49.7 days, or goes negative after 24.8 days as a signed
 * integer), shorter than a meter's life: ticks() unwraps it into a monotonic count, provided it is
 * read at least once per wrap period (the host's periodic tick does). Wall time is Date.now(), valid
 * once set (SNTP or the service interface). delay() is the host's blocking wait (Moddable `Timer.delay`).
 */
import type { Clock } from '../../../modules/ports/clock.js';

const WRAP = 2 ** 32;

export class HostClock implements Clock {
  private last: number | undefined;
  private base = 0;

  constructor(
    private readonly rawTicks: () => number,
    private readonly wallTime: () => number,
    private readonly wait: (ms: number) => void,
  ) {}

  delay(ms: number): void {
    this.wait(ms);
  }

  ticks(): number {
    const u = this.rawTicks() >>> 0; // a signed int32 reading and its unsigned twin are the same instant
    if (this.last !== undefined && u < this.last) this.base += WRAP;
    this.last = u;
    return this.base + u;
  }

  now(): number {
    return this.wallTime();
  }
}
