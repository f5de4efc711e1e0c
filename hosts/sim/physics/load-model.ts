/**
 * The physical truth the metering tests compare against: per phase a sinusoidal voltage and current
 * (rms values and the angle by which the current lags the voltage, in degrees; an angle beyond ±90°
 * is power flowing back to the grid), a line frequency, and the exact integral of the active power
 * split into import (p > 0) and export (p < 0). Loads are piecewise constant between `set` calls, so
 * the integral is exact. Advances on simulated time only.
 */

export interface PhaseLoad {
  voltage: number;
  current: number;
  /** Current lag in degrees: 0 resistive import, +60 PF 0.5 inductive, −36.87 PF 0.8 capacitive, 180 export. */
  phaseDeg: number;
}

const RAD = Math.PI / 180;

/** Numbers per phase in a LoadModel's `state`, and where each sits: the phase's voltage, current
 *  and angle (V, I, DEG); the voltage, current and angle `advance` last integrated (AT_V, AT_I,
 *  AT_DEG: NaN at first) and their active and reactive power (W, Q: a load holds for many steps, no
 *  cos and sin per step); the exact energy since creation (IMP, EXP Wh, VARH varh). */
const PS = 11;
const V = 0;
const I = 1;
const DEG = 2;
const AT_V = 3;
const AT_I = 4;
const AT_DEG = 5;
const W = 6;
const Q = 7;
const IMP = 8;
const EXP = 9;
const VARH = 10;

/** A phase of a LoadModel: a PhaseLoad whose every change counts on its model (`revision`). Its
 *  values live in the model's `state` (no heap number per value and phase). */
class ModelPhase implements PhaseLoad {
  private readonly s: number[];
  private readonly at: number;
  constructor(
    private readonly model: { revision: number },
    state: number[],
    at: number,
    initial: PhaseLoad,
  ) {
    this.s = state;
    this.at = at;
    state[at + V] = initial.voltage;
    state[at + I] = initial.current;
    state[at + DEG] = initial.phaseDeg;
  }
  get voltage(): number {
    return this.s[this.at + V];
  }
  set voltage(x: number) {
    this.s[this.at + V] = x;
    this.model.revision++;
  }
  get current(): number {
    return this.s[this.at + I];
  }
  set current(x: number) {
    this.s[this.at + I] = x;
    this.model.revision++;
  }
  get phaseDeg(): number {
    return this.s[this.at + DEG];
  }
  set phaseDeg(x: number) {
    this.s[this.at + DEG] = x;
    this.model.revision++;
  }
}

export class LoadModel {
  /** Counts changes of the load (any phase's voltage, current or angle, the frequency): a chip
   *  simulator's measurement made at a revision holds while it stays (no comparing of every value
   *  on every register read). */
  revision = 0;
  private hz = 50;
  timeMs = 0;
  readonly phases: readonly PhaseLoad[];
  /** PS numbers per phase (see PS): one exact-size array of doubles, not one per quantity. */
  private readonly state: number[];
  /** The revision the integrated powers (W, Q) were last found to hold at. */
  private powersAt = -1;

  constructor(phaseCount: number, initial: PhaseLoad = { voltage: 230, current: 0, phaseDeg: 0 }) {
    const s = (this.state = new Array<number>(PS * phaseCount).fill(NaN)); // doubles in place
    for (let p = 0; p < phaseCount; p++) s[PS * p + IMP] = s[PS * p + EXP] = s[PS * p + VARH] = 0;
    this.phases = Array.from({ length: phaseCount }, (_, p) => new ModelPhase(this, s, PS * p, initial));
  }

  /** Exact energy since creation, Wh per phase (a copy, as of now). */
  get importWh(): number[] {
    return this.column(IMP);
  }
  get exportWh(): number[] {
    return this.column(EXP);
  }
  get reactiveVarh(): number[] {
    return this.column(VARH);
  }

  private column(at: number): number[] {
    const out: number[] = [];
    for (let p = 0; p < this.phases.length; p++) out.push(this.state[PS * p + at]);
    return out;
  }

  get frequency(): number {
    return this.hz;
  }

  set frequency(hz: number) {
    this.hz = hz;
    this.revision++;
  }

  set(phase: number, load: Partial<PhaseLoad>): void {
    // What Object.assign did, through the phase's setters (a phase of another model given here
    // copies its values, not its fields).
    const l = this.phases[phase];
    if ('voltage' in load) l.voltage = load.voltage as number;
    if ('current' in load) l.current = load.current as number;
    if ('phaseDeg' in load) l.phaseDeg = load.phaseDeg as number;
  }

  setAll(load: Partial<PhaseLoad>): void {
    for (let p = 0; p < this.phases.length; p++) this.set(p, load);
  }

  activePower(phase: number): number {
    const l = this.phases[phase];
    return l.voltage * l.current * Math.cos(l.phaseDeg * RAD);
  }

  reactivePower(phase: number): number {
    const l = this.phases[phase];
    return l.voltage * l.current * Math.sin(l.phaseDeg * RAD);
  }

  advance(ms: number): void {
    const h = ms / 3_600_000;
    const c = this.state;
    const same = this.powersAt === this.revision; // no change since: the powers hold
    this.powersAt = this.revision;
    for (let p = 0; p < this.phases.length; p++) {
      const k = PS * p;
      if (!same && (c[k + AT_V] !== c[k + V] || c[k + AT_I] !== c[k + I] || c[k + AT_DEG] !== c[k + DEG])) {
        c[k + AT_V] = c[k + V];
        c[k + AT_I] = c[k + I];
        c[k + AT_DEG] = c[k + DEG];
        c[k + W] = this.activePower(p);
        c[k + Q] = this.reactivePower(p);
      }
      const w = c[k + W];
      if (w > 0) c[k + IMP] += w * h;
      else c[k + EXP] -= w * h;
      c[k + VARH] += c[k + Q] * h;
    }
    this.timeMs += ms;
  }

  totalImportWh(): number {
    return this.total(IMP);
  }

  totalExportWh(): number {
    return this.total(EXP);
  }

  /** The sum over phases, in phase order from 0 (what reduce did). */
  private total(at: number): number {
    let sum = 0;
    for (let p = 0; p < this.phases.length; p++) sum += this.state[PS * p + at];
    return sum;
  }
}
