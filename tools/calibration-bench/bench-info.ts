/**
 * What the bench states about itself on a certificate, and what its measurement is worth: the bench
 * and its operator (who the calibration log names), the reference standard (make, serial, class,
 * calibration due date), the test conditions, and the expanded uncertainty of a pulse-gated error
 * measurement.
 *
 * Uncertainty of one accuracy point (GUM, both contributions rectangular):
 * - the reference standard, within ±its class (% of reading): u = class / √3;
 * - the gate, whose edges lag the meter's register crossings by up to one energy update each, which
 *   partly cancel: within ±update / T of the gate length T: u = (100 · update / T) / √3 %.
 * U = 2 · √(u_ref² + u_gate²) (coverage factor 2, about 95 %). The pulse count itself is exact.
 *
 * Portable: plain data and arithmetic.
 */
import { MAX_WHO_LENGTH } from '../../modules/service/messages.js';

export interface ReferenceStandard {
  make: string;
  model?: string;
  serial: string;
  /** Accuracy class of the standard, % of reading (e.g. 0.05). */
  classPct: number;
  /** Next calibration of the standard due, YYYY-MM-DD. */
  calibrationDue: string;
}

export interface TestConditions {
  /** Test voltage Un, V. */
  voltageV: number;
  frequencyHz: number;
  temperatureC?: number;
  humidityPct?: number;
}

export interface BenchInfo {
  benchId: string;
  operator: string;
  /** The laboratory or workshop printed at the head of the certificate. */
  laboratory?: string;
  reportNumber?: string;
  reference?: ReferenceStandard;
  conditions: TestConditions;
  /** The meter clock may differ from the bench clock by this much before it is flagged, s. */
  clockToleranceS: number;
  /** The meter's energy update period (the gate edges' lag), s. */
  updateSeconds: number;
}

/** What the calibration log names as the cause of the bench's changes: "BENCH/OPERATOR". */
export function benchWho(b: Pick<BenchInfo, 'benchId' | 'operator'>): string {
  return `${b.benchId}/${b.operator}`;
}

/** Why a bench id and operator cannot be logged, or undefined when they can. */
export function whoProblem(benchId: string, operator: string): string | undefined {
  const printable = (s: string): boolean => /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/.test(s);
  if (!printable(benchId) || benchId.includes('/')) return `bench id "${benchId}" must be printable ASCII without "/" or surrounding spaces`;
  if (!printable(operator)) return `operator "${operator}" must be printable ASCII (the calibration log's character set), without surrounding spaces`;
  const who = benchWho({ benchId, operator });
  if (who.length > MAX_WHO_LENGTH) return `"${who}" (bench id/operator) is ${who.length} characters; the calibration log takes ${MAX_WHO_LENGTH}`;
  return undefined;
}

/** Expanded uncertainty (k = 2) of a pulse-gated error over `seconds`, in % (see above). */
export function expandedUncertaintyPct(seconds: number, referenceClassPct: number, updateSeconds: number): number {
  const uRef = referenceClassPct / Math.sqrt(3);
  const uGate = (100 * updateSeconds) / seconds / Math.sqrt(3);
  return 2 * Math.sqrt(uRef * uRef + uGate * uGate);
}
