/**
 * Tariff schedule: which tariff register (1.8.1, 1.8.2, …) energy goes to at a given wall-clock time,
 * as daily switching times in local time (fixed UTC offset). Without switches everything is tariff 1.
 */
import { EnergyConfigError } from './errors.js';

export interface TariffSwitch {
  /** "HH:MM" local time. */
  at: string;
  /** 1-based tariff number. */
  tariff: number;
}

export class TariffSchedule {
  readonly tariffs: number;
  private readonly minutes: number[];
  private readonly numbers: number[];
  private readonly offsetMs: number;

  constructor(options: { tariffs?: number; switches?: TariffSwitch[]; utcOffsetMinutes?: number } = {}) {
    this.tariffs = options.tariffs ?? 1;
    this.offsetMs = (options.utcOffsetMinutes ?? 0) * 60000;
    const sw = (options.switches ?? []).map((s) => {
      const m = /^(\d\d):(\d\d)$/.exec(s.at);
      const minute = m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
      if (!m || !(minute < 1440) || Number(m[2]) > 59) throw new EnergyConfigError('tariff', `tariff switch time "${s.at}" is not HH:MM`, { at: s.at });
      if (!Number.isInteger(s.tariff) || s.tariff < 1 || s.tariff > this.tariffs) {
        throw new EnergyConfigError('tariff', `tariff ${s.tariff} outside 1…${this.tariffs}`, { tariff: s.tariff });
      }
      return { minute, tariff: s.tariff };
    });
    sw.sort((a, b) => a.minute - b.minute);
    this.minutes = sw.map((s) => s.minute);
    this.numbers = sw.map((s) => s.tariff);
  }

  /** Tariff in force at `nowMs` (ms since 1970 UTC). */
  tariffAt(nowMs: number): number {
    if (this.minutes.length === 0) return 1;
    const day = 86_400_000;
    const minute = Math.floor(((((nowMs + this.offsetMs) % day) + day) % day) / 60000);
    let t = this.numbers[this.numbers.length - 1]; // before the first switch: the last one of the day before
    for (let i = 0; i < this.minutes.length; i++) if (minute >= this.minutes[i]) t = this.numbers[i];
    return t;
  }
}
