/**
 * The calibration bench on a simulated meter (hosts/sim/sim-meter.ts): the load source is the
 * meter's load model (`setLoad`), the reference meter its exact energy integral, the pulse counter
 * watches the pulse LED pin's rising edges, bench time is the simulation's (waiting advances it),
 * and the calibration switch is the meter's switch pin. Also makes the simulated meter a bench test
 * needs: a manual load, a chosen board error set ('random' within the adjustable range, 'default',
 * 'out-of-range' or explicit), and an in-process service client.
 */
import { fromHex } from '../../modules/core/bytes.js';
import { ServiceClient } from '../../modules/service/client.js';
import { Prng, defaultHardwareErrors, perfectHardware, type HardwareErrors } from '../../hosts/sim/chips/front-end.js';
import { VirtualTiming } from '../../hosts/sim/service-pipe.js';
import { SimMeter, type ChipName, type SimMeterOptions } from '../../hosts/sim/sim-meter.js';
import { NOMINAL_VOLTAGE } from './accuracy-class.js';
import type { BenchRig, BenchTime, CalibrationSwitch, LoadSource, TestLoad, PulseCounter, ReferenceLatch, ReferenceMeter } from './rig.js';
import { nobleCrypto } from '../../hosts/sim/noble-crypto.js';

export type ErrorSpec = 'random' | 'default' | 'perfect' | 'out-of-range' | Partial<HardwareErrors>;

/** Current channels of the chip simulator (the ADE7953 has two; the meter uses A). */
export function simChannels(chip: ChipName): number {
  return chip === 'ade7953' ? 2 : 3;
}

/**
 * Board errors a calibration can remove (well inside metrology's CALIBRATION_LIMITS: gains 0.5…1.5,
 * phase ±5°, offsets ±100 W): voltage ±5 %, current ±10 %, phase ±2°, offsets ±1.5 W / ±1 var.
 */
export function randomHardwareErrors(chip: ChipName, seed: number): HardwareErrors {
  const rng = new Prng(seed * 7919 + 17);
  const u = (lo: number, hi: number): number => lo + (hi - lo) * rng.next();
  const n = simChannels(chip);
  const per = (lo: number, hi: number): number[] => Array.from({ length: n }, () => u(lo, hi));
  return {
    voltageGainError: u(-0.05, 0.05),
    currentGainError: per(-0.1, 0.1),
    phaseErrorDeg: per(-2, 2),
    powerOffsetW: per(-1.5, 1.5),
    reactiveOffsetVar: per(-1, 1),
    noiseW: 0.05,
  };
}

/** The default board with a current sensor lagging 7°: the phase correction needed is beyond ±5°. */
export function outOfRangeHardwareErrors(chip: ChipName): HardwareErrors {
  const e = defaultHardwareErrors(simChannels(chip));
  return { ...e, phaseErrorDeg: e.phaseErrorDeg.map(() => 7) };
}

export function hardwareErrors(chip: ChipName, spec: ErrorSpec, seed: number): HardwareErrors {
  const n = simChannels(chip);
  if (spec === 'random') return randomHardwareErrors(chip, seed);
  if (spec === 'default') return defaultHardwareErrors(n);
  if (spec === 'perfect') return perfectHardware(n);
  if (spec === 'out-of-range') return outOfRangeHardwareErrors(chip);
  const base = perfectHardware(n);
  const fit = (xs: number[] | undefined, d: number[]): number[] => (xs ? Array.from({ length: n }, (_, i) => xs[i % xs.length]) : d);
  return {
    voltageGainError: spec.voltageGainError ?? base.voltageGainError,
    currentGainError: fit(spec.currentGainError, base.currentGainError),
    phaseErrorDeg: fit(spec.phaseErrorDeg, base.phaseErrorDeg),
    powerOffsetW: fit(spec.powerOffsetW, base.powerOffsetW),
    reactiveOffsetVar: fit(spec.reactiveOffsetVar, base.reactiveOffsetVar),
    noiseW: spec.noiseW ?? base.noiseW,
  };
}

/** A simulated meter as it arrives at the bench: factory-sealed, no load, the given board errors. */
export function benchSimMeter(options: { chip?: ChipName; seed?: number; errors?: ErrorSpec; meterConstant?: number } & Partial<SimMeterOptions> = {}): SimMeter {
  const { chip = 'ade7953', seed = 1, errors = 'random', ...rest } = options;
  return new SimMeter({
    load: 'manual',
    initialLoad: { voltage: NOMINAL_VOLTAGE, current: 0, phaseDeg: 0 },
    ...rest,
    chip,
    seed,
    hardware: hardwareErrors(chip, errors, seed),
  });
}

/** The rig interfaces on one simulated meter. */
export class SimBenchRig implements BenchRig {
  readonly load: LoadSource;
  readonly reference: ReferenceMeter;
  readonly pulses: PulseCounter;
  readonly time: BenchTime;
  readonly calibrationSwitch: CalibrationSwitch;
  publicKey: Uint8Array | undefined;
  private onEdge: ((atMs: number) => void) | undefined;

  /** `clockErrorMs`: how far the meter's clock was set off the bench's true time (a wrong meter clock). */
  constructor(
    readonly meter: SimMeter,
    options: { clockErrorMs?: number } = {},
  ) {
    const m = meter;
    this.load = {
      phases: m.load.phases.length,
      apply: async (loads: readonly TestLoad[]) => {
        loads.forEach((l, p) => m.setLoad(l, p));
      },
    };
    this.reference = {
      latch: (): ReferenceLatch => ({ atMs: m.clock.ticks(), activeWh: m.load.importWh.map((x, p) => x - m.load.exportWh[p]) }),
      rms: async () => ({ voltage: m.load.phases.map((l) => l.voltage), current: m.load.phases.map((l) => l.current) }),
    };
    // The photo head: a rising edge on the pulse LED pin, seen as it happens (the load model has
    // already been advanced to this instant when the application drives the pin).
    const pin = m.pulseLed;
    const write = pin.write.bind(pin);
    pin.write = (value) => {
      const before = pin.rising;
      write(value);
      if (pin.rising !== before) this.onEdge?.(m.clock.ticks());
    };
    this.pulses = {
      start: (onEdge) => {
        this.onEdge = onEdge;
      },
      stop: () => {
        this.onEdge = undefined;
      },
    };
    const clockErrorMs = options.clockErrorMs ?? 0;
    this.time = {
      now: () => m.clock.ticks(),
      wait: async (ms: number) => m.advance(ms),
      wallMs: () => m.wallMs - clockErrorMs,
    };
    this.calibrationSwitch = {
      set: async (pressed: boolean) => {
        m.calibrationSwitch.level = pressed ? 1 : 0;
      },
    };
    this.publicKey = m.keys.devicePublicKey();
  }

  /** A service client on the meter's in-memory line; each client wait moves the meter 10 ms.
   *  `who`: the name the calibration log records for its changes (e.g. "bench-07/j.weber"). */
  client(who?: string): ServiceClient {
    const timing = new VirtualTiming(() => this.meter.advance(10));
    return new ServiceClient({ port: this.meter.bench, timing, benchKey: this.meter.keys.benchKey(), crypto: nobleCrypto, who });
  }
}
