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

/** A phase of a LoadModel: a PhaseLoad whose every change counts on its model (`revision`). */
class ModelPhase implements PhaseLoad {
  private v: number;
  private i: number;
  private deg: number;
  constructor(
    private readonly model: { revision: number },
    initial: PhaseLoad,
  ) {
    this.v = initial.voltage;
    this.i = initial.current;
    this.deg = initial.phaseDeg;
  }
  get voltage(): number {
    return this.v;
  }
  set voltage(x: number) {
    this.v = x;
    this.model.revision++;
  }
  get current(): number {
    return this.i;
  }
  set current(x: number) {
    this.i = x;
    this.model.revision++;
  }
  get phaseDeg(): number {
    return this.deg;
  }
  set phaseDeg(x: number) {
    this.deg = x;
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
  /** Exact energy since creation, Wh. */
  readonly importWh: number[];
  readonly exportWh: number[];
  readonly reactiveVarh: number[];
  /** Per phase (5 values): the voltage, current and angle `advance` last integrated, and their
   *  active and reactive power (a load holds for many steps: no cos and sin per step). */
  private readonly powers: number[];
  /** The revision `powers` were last found to hold at. */
  private powersAt = -1;

  constructor(phaseCount: number, initial: PhaseLoad = { voltage: 230, current: 0, phaseDeg: 0 }) {
    this.phases = Array.from({ length: phaseCount }, () => new ModelPhase(this, initial));
    this.importWh = new Array<number>(phaseCount).fill(0);
    this.exportWh = new Array<number>(phaseCount).fill(0);
    this.reactiveVarh = new Array<number>(phaseCount).fill(0);
    this.powers = new Array<number>(5 * phaseCount).fill(NaN); // doubles in place: less memory than a typed array
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
    const c = this.powers;
    const same = this.powersAt === this.revision; // no change since: the powers hold
    this.powersAt = this.revision;
    for (let p = 0; p < this.phases.length; p++) {
      const k = 5 * p;
      if (!same) {
        const l = this.phases[p];
        if (c[k] !== l.voltage || c[k + 1] !== l.current || c[k + 2] !== l.phaseDeg) {
          c[k] = l.voltage;
          c[k + 1] = l.current;
          c[k + 2] = l.phaseDeg;
          c[k + 3] = this.activePower(p);
          c[k + 4] = this.reactivePower(p);
        }
      }
      const w = c[k + 3];
      if (w > 0) this.importWh[p] += w * h;
      else this.exportWh[p] -= w * h;
      this.reactiveVarh[p] += c[k + 4] * h;
    }
    this.timeMs += ms;
  }

  totalImportWh(): number {
    return this.importWh.reduce((a, b) => a + b, 0);
  }

  totalExportWh(): number {
    return this.exportWh.reduce((a, b) => a + b, 0);
  }
}
