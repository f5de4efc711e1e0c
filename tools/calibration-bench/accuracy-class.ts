/**
 * Accuracy classes and their test points for the calibration bench: IEC 62053-21 (class 1, direct
 * connected, Ib 10 A, Imax 60 A) and IEC 62053-22 (classes 0.5S and 0.2S, transformer operated,
 * In 5 A, Imax 10 A). Percentage error limits by current and power factor (balanced load, tables
 * 6/4), plus the single-element limits for polyphase meters (load on one phase only, voltage on all).
 * The no-load and starting-current tests (8.3.2, 8.3.3 of both: starting current 0.004 Ib for class
 * 1, 0.001 In for 0.5S and 0.2S; no-load time Δt ≥ 600·10⁶ / (k·m·Un·Imax) min, 900·10⁶ for 0.2S).
 *
 * Portable: plain data and arithmetic, no host API — a bench controller can run it as is.
 */

/** The power factors of the accuracy test: 1, 0.5 inductive (current lags 60°), 0.8 capacitive (leads 36.87°). */
export type PowerFactor = '1' | '0.5L' | '0.8C';
export type Direction = 'import' | 'export';

/** The angle by which current lags voltage for each power factor, degrees. */
export const PF_ANGLE: Readonly<Record<PowerFactor, number>> = Object.freeze({ '1': 0, '0.5L': 60, '0.8C': -36.87 });

export const NOMINAL_VOLTAGE = 230;

export interface AccuracyClass {
  readonly name: string;
  readonly standard: string;
  /** Basic (Ib) or nominal (In) current and the maximum current, A. */
  readonly baseCurrent: number;
  readonly maxCurrent: number;
  /** Starting current as a fraction of the base current (the no-load threshold is set below it). */
  readonly startFraction: number;
  /** No-load test time Δt = noLoadFactor / (k · m · Un · Imax) minutes (k imp/kWh, m elements). */
  readonly noLoadFactor: number;
  /** Test currents as fractions of the base current. */
  readonly fractions: readonly number[];
  /** Balanced-load error limit, %, at `fraction` of the base current and `pf`; undefined: not a test point. */
  limit(fraction: number, pf: PowerFactor): number | undefined;
  /** Limit with the load on one element of a polyphase meter (at the base current only). */
  singleElementLimit(pf: PowerFactor): number | undefined;
}

const CLASSES: Readonly<Record<string, AccuracyClass>> = Object.freeze({
  '1': {
    name: '1',
    standard: 'IEC 62053-21',
    baseCurrent: 10,
    maxCurrent: 60,
    startFraction: 0.004,
    noLoadFactor: 600e6,
    fractions: [0.05, 0.1, 0.2, 0.5, 1, 6],
    limit: (f: number, pf: PowerFactor) => (pf === '1' ? (f < 0.1 ? 1.5 : 1.0) : f < 0.1 ? undefined : f < 0.2 ? 1.5 : 1.0),
    singleElementLimit: (pf: PowerFactor) => (pf === '0.8C' ? undefined : 2.0),
  },
  '0.5S': {
    name: '0.5S',
    standard: 'IEC 62053-22',
    baseCurrent: 5,
    maxCurrent: 10,
    startFraction: 0.001,
    noLoadFactor: 600e6,
    fractions: [0.05, 0.1, 0.2, 0.5, 1, 2],
    limit: (f: number, pf: PowerFactor) => (pf === '1' ? (f < 0.05 ? 1.0 : 0.5) : f < 0.1 ? 1.0 : 0.6),
    singleElementLimit: (pf: PowerFactor) => (pf === '1' ? 0.6 : pf === '0.5L' ? 1.0 : undefined),
  },
  '0.2S': {
    name: '0.2S',
    standard: 'IEC 62053-22',
    baseCurrent: 5,
    maxCurrent: 10,
    startFraction: 0.001,
    noLoadFactor: 900e6,
    fractions: [0.05, 0.1, 0.2, 0.5, 1, 2],
    limit: (f: number, pf: PowerFactor) => (pf === '1' ? (f < 0.05 ? 0.4 : 0.2) : f < 0.1 ? 0.5 : 0.3),
    singleElementLimit: (pf: PowerFactor) => (pf === '1' ? 0.3 : pf === '0.5L' ? 0.4 : undefined),
  },
});

export const CLASS_NAMES: readonly string[] = Object.keys(CLASSES);

export function accuracyClass(name: string): AccuracyClass | undefined {
  return Object.prototype.hasOwnProperty.call(CLASSES, name) ? CLASSES[name] : undefined;
}

/** One accuracy test point: a load on every phase of the source, and the limit it must meet. */
export interface TestPoint {
  /** Stable id, e.g. 'I0.05-PF0.5L-import' or 'L2-I1-PF1-import'. */
  id: string;
  label: string;
  fraction: number;
  current: number;
  pf: PowerFactor;
  direction: Direction;
  /** Current lag, degrees (export adds 180°). */
  phaseDeg: number;
  /** Loaded phase for a single-element point (0-based); undefined: all phases (balanced). */
  element?: number;
  limitPct: number;
}

function angle(pf: PowerFactor, direction: Direction): number {
  return PF_ANGLE[pf] + (direction === 'export' ? 180 : 0);
}

/** The points of a class: every test current × PF × direction (balanced), then single-element points for polyphase meters. */
export function testPoints(cls: AccuracyClass, phases: number): TestPoint[] {
  const out: TestPoint[] = [];
  for (const fraction of cls.fractions) {
    for (const pf of Object.keys(PF_ANGLE) as PowerFactor[]) {
      const limitPct = cls.limit(fraction, pf);
      if (limitPct === undefined) continue;
      for (const direction of ['import', 'export'] as const) {
        const current = fraction * cls.baseCurrent;
        out.push({ id: `I${fraction}-PF${pf}-${direction}`, label: `${fraction} × I${cls.name === '1' ? 'b' : 'n'} (${current} A) PF ${pf} ${direction}`, fraction, current, pf, direction, phaseDeg: angle(pf, direction), limitPct });
      }
    }
  }
  if (phases > 1) {
    for (let element = 0; element < phases; element++) {
      for (const pf of Object.keys(PF_ANGLE) as PowerFactor[]) {
        const limitPct = cls.singleElementLimit(pf);
        if (limitPct === undefined) continue;
        const current = cls.baseCurrent;
        out.push({ id: `L${element + 1}-I1-PF${pf}-import`, label: `L${element + 1} only, ${current} A PF ${pf} import`, fraction: 1, current, pf, direction: 'import', phaseDeg: angle(pf, 'import'), element, limitPct });
      }
    }
  }
  return out;
}

/** Percentage error of a meter against the reference, (meter − reference) / reference × 100, for
 *  signed energies of the same direction: positive when the meter registers more than the reference. */
export function errorPercent(meterWh: number, referenceWh: number): number {
  return ((meterWh - referenceWh) / referenceWh) * 100;
}
