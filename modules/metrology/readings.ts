/**
 * What a metrology driver hands the meter each cycle: instantaneous readings per phase (channel) and
 * the energy measured since the previous sample, split into import (A+, energy delivered to the
 * customer, positive active power) and export (A-, negative active power) — IEC 62053-21 sign
 * convention as used by OBIS 1.8.x / 2.8.x.
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
  phases: PhaseReading[];
  frequency: number;
  totalActivePower: number;
  totalReactivePower: number;
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

/** A sample with nothing measured yet: the drivers fill it in. */
export function emptySample(ticks: number, phaseCount: number): Sample {
  return {
    ticks,
    phases: [],
    frequency: 0,
    totalActivePower: 0,
    totalReactivePower: 0,
    importWh: zeros(phaseCount),
    exportWh: zeros(phaseCount),
    chipReset: false,
    wraps: 0,
    fault: undefined,
  };
}

function zeros(n: number): number[] {
  const a: number[] = [];
  for (let i = 0; i < n; i++) a.push(0);
  return a;
}

/** One metrology IC, in the Moddable sensor style. */
export interface MetrologyDriver {
  readonly phaseCount: number;
  /** Writes the start-up configuration and the calibration; verifies them by reading back. */
  configure(options?: { calibration?: Calibration }): void;
  sample(): Sample;
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

/** The power that resolves wraps after a gap: the median of three reads, so one garbled reply cannot decide. */
export function median3(a: number, b: number, c: number): number {
  return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
}
