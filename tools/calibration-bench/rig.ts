/**
 * What a calibration bench is made of, as interfaces: the load source (test voltage and current per
 * phase), the reference meter (the standard the meter is compared with), the pulse counter (a photo
 * head on the meter's test output) and the bench's sense of time. `tools/calibration-bench/sim-rig.ts`
 * implements them on a simulated meter; a real bench plugs in drivers for its source, reference
 * standard and scanning head with the same shapes.
 *
 * Portable: types only.
 */

/** One phase of the test load the source applies: rms voltage, rms current and the angle by which current lags voltage. */
export interface TestLoad {
  voltage: number;
  current: number;
  phaseDeg: number;
}

/** Sets the test load. `apply` returns once the source has reached it (a real source ramps). */
export interface LoadSource {
  readonly phases: number;
  apply(loads: readonly TestLoad[]): Promise<void>;
}

/** The reference standard's energy registers at one instant. */
export interface ReferenceLatch {
  /** Bench time of the latch, ms. */
  atMs: number;
  /** Signed active energy per phase since the standard started, Wh (import positive). */
  activeWh: number[];
}

export interface ReferenceMeter {
  /**
   * Latches the energy registers now. Synchronous, because the pulse counter calls it from the
   * meter's pulse edge: the software form of a standard's pulse-gated input.
   */
  latch(): ReferenceLatch;
  /** Reference rms voltage and current per phase (for the rms gains). */
  rms(): Promise<{ voltage: number[]; current: number[] }>;
}

/** Counts the meter's test-output pulses: calls `onEdge` at every rising edge (bench time, ms). */
export interface PulseCounter {
  start(onEdge: (atMs: number) => void): void;
  stop(): void;
}

/** Bench time: `wait` lets the run go on (a simulator advances, a real bench sleeps). */
export interface BenchTime {
  now(): number;
  wait(ms: number): Promise<void>;
  /** The bench's clock (ms since 1970 UTC) the meter's clock is checked against: a real bench's own
   *  synchronised clock, a simulator's true time. Absent: the clock is not checked. */
  wallMs?(): number;
}

/** The meter's calibration switch: pressed by the bench (sim) or by the operator on request. */
export interface CalibrationSwitch {
  set(pressed: boolean): Promise<void>;
}

export interface BenchRig {
  load: LoadSource;
  reference: ReferenceMeter;
  pulses: PulseCounter;
  time: BenchTime;
  calibrationSwitch: CalibrationSwitch;
  /** The meter's device public key from a trusted source (the factory record); without it the
   *  log is checked against the key written in the log (integrity, not origin). */
  publicKey?: Uint8Array;
}
