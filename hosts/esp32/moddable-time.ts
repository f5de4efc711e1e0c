/**
 * HostIo's time sources on Moddable (board and desktop simulator): `Time.ticks`, `Date.now()`, `Timer.delay` and a
 * `Timer.repeat` that `Timer.schedule` moves (one timer for the application, no allocation per tick).
 */
import Time from 'time';
import Timer from 'timer';
import type { HostIo } from './host.js';

export const moddableTime: Pick<HostIo, 'ticks' | 'now' | 'delay' | 'repeat'> = Object.freeze({
  ticks: () => Time.ticks,
  now: () => Date.now(),
  delay: (ms) => Timer.delay(ms),
  repeat(callback, ms) {
    const id = Timer.repeat(() => callback(), ms);
    return {
      schedule: (delay) => Timer.schedule(id, delay, ms),
      clear: () => Timer.clear(id),
    };
  },
});
