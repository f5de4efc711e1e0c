/**
 * Meter calibration from a reference standard (the bench): compares what the meter measured with
 * what the reference measured and derives the corrections, as IEC 62053-21/22 accuracy testing does.
 *
 * 1. `correctRms`: at nominal V and I, reference vs measured rms → voltage and current gains.
 * 2. `estimateResidual`: energy at PF 1 at two currents (e.g. Ib and 5 % Ib) and at PF 0.5 inductive
 *    (angle ≠ 0) → the meter's remaining gain G, phase error δ and offset O, from the model
 *    measured power = G · V · I · cos(φ + δ) + O (least squares on the PF 1 points, Newton on δ).
 * 3. `applyResidual`: folds G, δ and O into a new Calibration (phaseDeg + δ, powerOffsetW − O, and G
 *    into the gain the chip applies to energy); configure the driver with it and verify.
 *
 * Which gain carries G follows the chip: the ADE7953 has an active-power gain of its own (AWGAIN:
 * powerGain / G); the ATM90E32 computes P, Q and energy from the samples its Ugain/Igain scale, and
 * the PQGain register the open drivers leave at 0 is not used (atm90e32-registers.ts), so G goes
 * into currentGain (currentGain / G) and powerGain stays 1. There the energy calibration moves the
 * current reading by the same (small, after the rms step) factor: the chip has no separate path.
 */
import { makeCalibration, type Calibration, type ChannelCalibration } from './calibration.js';
import { CalibrationError } from './errors.js';

export interface RmsPoint {
  referenceVolts: number;
  measuredVolts: number;
  referenceAmps: number;
  measuredAmps: number;
}

export interface EnergyPoint {
  /** Reference rms voltage and current and the angle by which current lags voltage, degrees. */
  voltage: number;
  current: number;
  phaseDeg: number;
  seconds: number;
  /** Signed active energy: positive import, negative export. */
  referenceWh: number;
  measuredWh: number;
}

export interface Residual {
  gain: number;
  phaseDeg: number;
  offsetW: number;
}

const RAD = Math.PI / 180;

function withChannel(cal: Calibration, channel: number, change: (c: ChannelCalibration) => ChannelCalibration): Calibration {
  if (!Number.isInteger(channel) || channel < 0 || channel >= cal.channels.length) {
    throw new CalibrationError('calibration-data', `no channel ${channel}`, { channel });
  }
  return makeCalibration({ chip: cal.chip, noLoadW: cal.noLoadW, channels: cal.channels.map((c, i) => (i === channel ? change({ ...c }) : c)) });
}

export function correctRms(cal: Calibration, channel: number, p: RmsPoint): Calibration {
  for (const [k, v] of Object.entries(p)) {
    if (!(v > 0) || !Number.isFinite(v)) throw new CalibrationError('calibration-data', `rms point ${k} = ${v}`, { field: k });
  }
  return withChannel(cal, channel, (c) => ({
    ...c,
    voltageGain: (c.voltageGain * p.referenceVolts) / p.measuredVolts,
    currentGain: (c.currentGain * p.referenceAmps) / p.measuredAmps,
  }));
}

export function estimateResidual(points: readonly EnergyPoint[]): Residual {
  for (const p of points) {
    if (!(p.seconds > 0) || !(p.voltage > 0) || !(p.current > 0) || !Number.isFinite(p.measuredWh) || !Number.isFinite(p.referenceWh) || !Number.isFinite(p.phaseDeg)) {
      throw new CalibrationError('calibration-data', 'energy point with non-positive V, I or duration, or a non-finite value', {});
    }
  }
  const unity = points.filter((p) => Math.abs(Math.sin(p.phaseDeg * RAD)) < 1e-6);
  const angled = points.filter((p) => Math.abs(Math.sin(p.phaseDeg * RAD)) > 0.3);
  const currents = new Set(unity.map((p) => p.current));
  if (currents.size < 2 || angled.length < 1) {
    throw new CalibrationError('calibration-data', 'need PF 1 points at two currents and at least one point at PF ≤ 0.95 (e.g. 0.5 inductive)', {
      unityCurrents: currents.size,
      angled: angled.length,
    });
  }
  // PF 1: measured W = G' · reference W + O  (G' = G · cos δ), least squares.
  const xs = unity.map((p) => (p.referenceWh * 3600) / p.seconds);
  const ys = unity.map((p) => (p.measuredWh * 3600) / p.seconds);
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  const g1 = sxy / sxx;
  const offset = my - g1 * mx;
  // Angled points: cos(φ + δ) = (measured W − O) / (G · V · I); Newton on δ, then G = G' / cos δ.
  let delta = 0;
  let gain = g1;
  for (let iter = 0; iter < 4; iter++) {
    let sum = 0;
    for (const p of angled) {
      const target = ((p.measuredWh * 3600) / p.seconds - offset) / (gain * p.voltage * p.current);
      let d = delta;
      for (let k = 0; k < 8; k++) {
        const f = Math.cos(p.phaseDeg * RAD + d) - target;
        const df = -Math.sin(p.phaseDeg * RAD + d);
        if (Math.abs(df) < 1e-9) break;
        d -= f / df;
      }
      sum += d;
    }
    delta = sum / angled.length;
    gain = g1 / Math.cos(delta);
  }
  const r = { gain, phaseDeg: delta / RAD, offsetW: offset };
  if (!(gain > 0) || !Number.isFinite(r.phaseDeg) || !Number.isFinite(offset)) {
    throw new CalibrationError('calibration-data', 'the energy points do not fit a meter (no positive gain)', {});
  }
  return r;
}

export function applyResidual(cal: Calibration, channel: number, r: Residual): Calibration {
  return withChannel(cal, channel, (c) => ({
    ...c,
    ...(cal.chip === 'atm90e32' ? { currentGain: c.currentGain / r.gain } : { powerGain: c.powerGain / r.gain }),
    phaseDeg: c.phaseDeg + r.phaseDeg,
    powerOffsetW: c.powerOffsetW - r.offsetW,
  }));
}
