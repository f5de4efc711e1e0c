/**
 * The no-load (creep) and starting-current tests of IEC 62053-21/-22 (8.3.2, 8.3.3), run on the meter
 * through the rig:
 *
 * - No load: 115 % of the reference voltage on every element, no current, for
 *   Δt = noLoadFactor / (k · m · Un · Imax) minutes (accuracy-class.ts); the test output may give at
 *   most one pulse (one may be due to energy registered before the test).
 * - Starting current: the class's starting current (0.004 Ib for class 1, 0.001 In for 0.5S/0.2S) at
 *   PF 1 on every element; the meter must start and keep registering: at least two pulses within
 *   2.4 times the expected pulse period (two periods with a 20 % margin; a pulse period is
 *   1000 / (k · P) h at the power P the starting current makes).
 *
 * Portable: drives only the rig interfaces.
 */
import { NOMINAL_VOLTAGE, type AccuracyClass } from './accuracy-class.js';
import type { BenchRig, TestLoad } from './rig.js';

export interface NoLoadResult {
  /** Test voltage per element, V. */
  voltage: number;
  seconds: number;
  pulses: number;
  /** Most pulses allowed. */
  maxPulses: number;
  pass: boolean;
}

export interface StartingResult {
  /** Starting current per element, A. */
  current: number;
  /** The pulse period due at that current, s. */
  periodSeconds: number;
  seconds: number;
  pulses: number;
  /** Fewest pulses required within `seconds`. */
  minPulses: number;
  pass: boolean;
}

/** Settling time after the load changes, before counting starts, ms. */
const SETTLE_MS = 3000;
/** Bench time slice per wait, ms. */
const SLICE_MS = 60_000;

/** Δt of the no-load test in seconds, for meter constant `k` and `elements` measuring elements. */
export function noLoadSeconds(cls: AccuracyClass, k: number, elements: number): number {
  return (cls.noLoadFactor / (k * elements * NOMINAL_VOLTAGE * cls.maxCurrent)) * 60;
}

async function countPulses(rig: BenchRig, loads: TestLoad[], ms: number): Promise<number> {
  await rig.load.apply(loads);
  await rig.time.wait(SETTLE_MS);
  let pulses = 0;
  rig.pulses.start(() => pulses++);
  try {
    for (let left = Math.ceil(ms); left > 0; left -= SLICE_MS) await rig.time.wait(Math.min(SLICE_MS, left));
  } finally {
    rig.pulses.stop();
  }
  return pulses;
}

export async function noLoadTest(rig: BenchRig, cls: AccuracyClass, meterConstant: number): Promise<NoLoadResult> {
  const phases = rig.load.phases;
  const voltage = 1.15 * NOMINAL_VOLTAGE;
  const seconds = Math.ceil(noLoadSeconds(cls, meterConstant, phases));
  const pulses = await countPulses(rig, Array.from({ length: phases }, () => ({ voltage, current: 0, phaseDeg: 0 })), seconds * 1000);
  return { voltage, seconds, pulses, maxPulses: 1, pass: pulses <= 1 };
}

export async function startingTest(rig: BenchRig, cls: AccuracyClass, meterConstant: number): Promise<StartingResult> {
  const phases = rig.load.phases;
  const current = cls.startFraction * cls.baseCurrent;
  const periodSeconds = 3.6e6 / (meterConstant * phases * NOMINAL_VOLTAGE * current);
  const seconds = Math.ceil(2.4 * periodSeconds);
  const pulses = await countPulses(rig, Array.from({ length: phases }, () => ({ voltage: NOMINAL_VOLTAGE, current, phaseDeg: 0 })), seconds * 1000);
  return { current, periodSeconds, seconds, pulses, minPulses: 2, pass: pulses >= 2 };
}
