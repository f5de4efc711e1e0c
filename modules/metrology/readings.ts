/**
 * What a metrology driver hands the meter: each cycle (`sample()`), the energy measured since the
 * previous sample, split into import (A+, energy delivered to the customer, positive active power)
 * and export (A-, negative active power) — IEC 62053-21 sign convention as used by OBIS 1.8.x /
 * 2.8.x — and the total active power; when asked (`instantaneous()`: a service request), the chip's
 * instantaneous readings per phase (channel) and the line frequency. Those are read then, not every
 * cycle: nothing in a cycle uses them, and they were 8 of a two-channel ADE7953 sample's 21
 * register reads (7 of a three-phase ATM90E32's 59).
 */
import type { Calibration } from './calibration.js';
import type { MetrologyFault } from './errors.js';

export interface PhaseReading {
  /** V rms */
  voltage: number;
  /** A rms */
  current: number;
  /** W, positive when importing */
  activePower: number;
  /** var, positive when inductive (current lags) */
  reactivePower: number;
  /** signed like activePower: negative when exporting */
  powerFactor: number;
}

export interface Sample {
  /** ms (Clock.ticks) at which the sample was taken */
  ticks: number;
  /** W, the phases' active power summed (negative when exporting): the powers read to resolve
   *  wraps, which telegrams and SML show. */
  totalActivePower: number;
  /** Energy since the previous sample, Wh per phase, never negative. */
  importWh: number[];
  exportWh: number[];
  /** The chip had reset since the last sample (told apart from a counter wrap); it was reconfigured. */
  chipReset: boolean;
  /** Counter wraps resolved in this sample (free-running or read-clear register overflows). */
  wraps: number;
  /** Set when the chip's answers could not be trusted; the energy of the unreadable registers is 0
   *  here and, where the chip keeps it, carried into the next good sample. */
  fault: MetrologyFault | undefined;
}

/** The chip's readings at one moment, read when asked. */
export interface InstantReadings {
  /** ms (Clock.ticks) at which they were read */
  ticks: number;
  phases: PhaseReading[];
  frequency: number;
  totalActivePower: number;
  totalReactivePower: number;
}

/**
 * The sample a driver fills in, made once per driver: `begin` clears it for the next sample, so
 * sampling allocates nothing (a Moddable driver's rule). What a driver's sample() returned is
 * overwritten by its next sample(): copy what must be kept.
 */
/** A fractional number: see SampleBuffer's constructor. */
const HALF = 0.5;

export class SampleBuffer {
  private readonly out: Sample;

  constructor(phaseCount: number) {
    // The numbers a sample holds are made fractional first, then 0: V8 then stores them as
    // doubles from the start, next to their objects, instead of changing each object's layout and
    // allocating its doubles (and the arrays' double storage) at the first sample, apart from the
    // rest of the driver's memory (a fleet's samples run with cold caches). Same values.
    const zeros = new Array<number>(phaseCount).fill(HALF).fill(0);
    const out: Sample = { ticks: 0, totalActivePower: HALF, importWh: zeros, exportWh: zeros.slice(), chipReset: false, wraps: 0, fault: undefined };
    out.totalActivePower = 0;
    this.out = out;
  }

  /** The sample with nothing measured yet at `ticks`: the driver fills it in. */
  begin(ticks: number): Sample {
    const s = this.out;
    s.ticks = ticks;
    s.totalActivePower = 0;
    for (let p = 0; p < s.importWh.length; p++) {
      s.importWh[p] = 0;
      s.exportWh[p] = 0;
    }
    s.chipReset = false;
    s.wraps = 0;
    s.fault = undefined;
    return s;
  }
}

/**
 * The instantaneous readings a driver fills in, made at its first instantaneous() (a meter that is
 * never asked never holds them): `begin` clears them and `reading(p)` hands out phase p's reading;
 * overwritten by the next instantaneous().
 */
export class InstantBuffer {
  private readonly out: InstantReadings;
  private readonly readings: PhaseReading[];

  constructor(phaseCount: number) {
    const readings = new Array<PhaseReading>(phaseCount);
    for (let p = 0; p < phaseCount; p++) readings[p] = emptyReading();
    this.readings = readings;
    this.out = { ticks: 0, phases: [], frequency: 0, totalActivePower: 0, totalReactivePower: 0 };
  }

  /** The readings with nothing read yet at `ticks`: the driver fills them in. */
  begin(ticks: number): InstantReadings {
    const s = this.out;
    s.ticks = ticks;
    while (s.phases.length > 0) s.phases.pop();
    s.frequency = 0;
    s.totalActivePower = 0;
    s.totalReactivePower = 0;
    return s;
  }

  /** Phase `p`'s reading, cleared (the driver pushes it onto the readings' phases once complete). */
  reading(p: number): PhaseReading {
    const r = this.readings[p];
    r.voltage = 0;
    r.current = 0;
    r.activePower = 0;
    r.reactivePower = 0;
    r.powerFactor = 0;
    return r;
  }
}

/** One metrology IC, in the Moddable sensor style. */
export interface MetrologyDriver {
  readonly phaseCount: number;
  /** Writes the start-up configuration and the calibration; verifies them by reading back. */
  configure(options?: { calibration?: Calibration }): void;
  /** The energy since the last sample and the total active power: the driver's own Sample,
   *  overwritten by its next sample() (no allocation per sample). */
  sample(): Sample;
  /** The chip's instantaneous readings, read now: the driver's own InstantReadings, overwritten by
   *  its next call. Throws a MetrologyFault when the chip's answers cannot be trusted (not
   *  configured as written, not answering); the chip is left as it is, for the next sample(). */
  instantaneous(): InstantReadings;
  close(): void;
}

export function emptyReading(): PhaseReading {
  return { voltage: 0, current: 0, activePower: 0, reactivePower: 0, powerFactor: 0 };
}

/**
 * Number of whole `period`s (counter wraps) to add to a counter difference `raw` (counts).
 * When even the highest plausible power (`maxCounts` over the interval) cannot reach half a period,
 * no wrap can have gone unseen and the answer is 0 whatever the power reading says (a garbled power
 * reading cannot invent a wrap). Otherwise — samples were missed — the wraps are those that bring
 * `raw` nearest to `expected`, the power read at the end of the gap × its length: exact for a load
 * that did not change by half a wrap's worth of energy during the gap.
 */
export function wrapsToAdd(raw: number, expected: number, maxCounts: number, period: number): number {
  if (maxCounts < period / 2) return 0;
  return Math.round((expected - raw) / period);
}

/** The highest plausible power per phase (channel) when a driver is given none, W. */
export const DEFAULT_MAX_POWER_W = 30000;

/**
 * The longest time between two samples, whole ms, in which a counter that wraps every `period`
 * counts of `whPerCount` Wh cannot take in half a period at `maxPowerW`: sampled at least this
 * often, no wrap can go unseen (wrapsToAdd adds none, whatever the power reads). Past it the wraps
 * are found from the power read at the sample, which is exact only for a load that did not change
 * by half a wrap's energy since the last one: a step between none and the highest power just before
 * a sample loses a wrap or invents one. A meter's sample period stays within it (modules/app MeterApp
 * refuses a longer one); the recovery is for samples a busy or stalled host missed.
 */
export function noWrapPeriodMs(period: number, whPerCount: number, maxPowerW: number): number {
  return Math.ceil(((period / 2) * whPerCount * 3_600_000) / maxPowerW) - 1;
}

/** The power that resolves wraps after a gap: the median of three reads, so one garbled reply
 *  cannot decide. The drivers make the third read only when the first two differ: the median of
 *  a, a and anything is a. */
export function median3(a: number, b: number, c: number): number {
  return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
}
