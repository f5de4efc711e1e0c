/**
 * The calibration constants of one meter: one typed, versioned object, serialised deterministically
 * with a CRC-32 (the sealing module stores a digest of these bytes: WELMEC 7.2 legally relevant
 * parameters). Values are fixed point so the bytes round-trip exactly: gains in ppm, phase in µ°,
 * offsets and the no-load threshold in mW. Out-of-range values are refused with a CalibrationError.
 *
 * Meaning, identical for every chip (the driver converts to the chip's register codes):
 * - voltageGain, currentGain multiply the voltage and current samples: the rms readings and the power
 *   and energy computed from them (both chips apply them before the power calculation);
 * - powerGain multiplies active and reactive power (hence energy) on top: the ADE7953's AWGAIN and
 *   AVARGAIN; the ATM90E32 has no confirmed power-only gain, so it must be 1 there (calibrate.ts);
 * - phaseDeg is subtracted from the measured angle by which current lags voltage (it compensates a
 *   sensor that adds a lag of phaseDeg);
 * - powerOffsetW / reactiveOffsetVar are added to active / reactive power;
 * - noLoadW: below this |active power| per element the chip accumulates no energy (anti-creep); the
 *   driver converts it into the chip's own units (ADE7953: a fraction of full scale; ATM90E32: 0.00032 W).
 *
 * Byte layout (version 1, little endian): "CAL" | version u8 | chip u8 (1 ADE7953, 2 ATM90E32) |
 * channels u8 | noLoad mW u32 | per channel 6 × i32 (voltageGain ppm, currentGain ppm, powerGain ppm,
 * phase µ°, powerOffset mW, reactiveOffset mvar) | CRC-32 of everything before.
 */
import { readU32LE, writeU32LE } from '../core/bytes.js';
import { crc32 } from '../core/crc32.js';
import { CalibrationError } from './errors.js';

export const CALIBRATION_VERSION = 1;
export type ChipKind = 'ade7953' | 'atm90e32';

export interface ChannelCalibration {
  voltageGain: number;
  currentGain: number;
  powerGain: number;
  phaseDeg: number;
  powerOffsetW: number;
  reactiveOffsetVar: number;
}

export interface Calibration {
  readonly version: typeof CALIBRATION_VERSION;
  readonly chip: ChipKind;
  readonly noLoadW: number;
  readonly channels: readonly Readonly<ChannelCalibration>[];
}

/** Accepted ranges (inclusive). Gains beyond ±50 % or phase beyond ±5° mean a wrong board, not a calibration. */
export const CALIBRATION_LIMITS = {
  gain: [0.5, 1.5],
  phaseDeg: [-5, 5],
  offsetW: [-100, 100],
  noLoadW: [0, 100],
  channels: [1, 3],
} as const;

const CHIP_ID: Record<ChipKind, number> = { ade7953: 1, atm90e32: 2 };
const MAGIC = [0x43, 0x41, 0x4c];
const HEADER = 10;
const PER_CHANNEL = 24;

export const UNITY_CHANNEL: Readonly<ChannelCalibration> = Object.freeze({
  voltageGain: 1,
  currentGain: 1,
  powerGain: 1,
  phaseDeg: 0,
  powerOffsetW: 0,
  reactiveOffsetVar: 0,
});

function check(name: string, v: number, [lo, hi]: readonly [number, number], channel: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) {
    throw new CalibrationError('calibration-range', `calibration ${name}${channel >= 0 ? ` of channel ${channel}` : ''} is ${v}, allowed ${lo}…${hi}`, {
      field: name,
      channel,
      value: String(v),
    });
  }
}

const q = (v: number, scale: number): number => Math.round(v * scale) / scale;

/** Validates and quantises (gains to 1 ppm, phase to 1 µ°, offsets to 1 mW) into a frozen Calibration. */
export function makeCalibration(input: { chip: ChipKind; noLoadW: number; channels: readonly ChannelCalibration[] }): Calibration {
  if (input.chip !== 'ade7953' && input.chip !== 'atm90e32') {
    throw new CalibrationError('calibration-range', `unknown chip "${String(input.chip)}"`, { field: 'chip' });
  }
  const n = input.channels?.length ?? 0;
  check('channel count', n, CALIBRATION_LIMITS.channels, -1);
  if (input.chip === 'ade7953') check('channel count (ADE7953)', n, [1, 2], -1);
  check('noLoadW', input.noLoadW, CALIBRATION_LIMITS.noLoadW, -1);
  const channels = input.channels.map((c, i) => {
    check('voltageGain', c.voltageGain, CALIBRATION_LIMITS.gain, i);
    check('currentGain', c.currentGain, CALIBRATION_LIMITS.gain, i);
    check('powerGain', c.powerGain, CALIBRATION_LIMITS.gain, i);
    check('phaseDeg', c.phaseDeg, CALIBRATION_LIMITS.phaseDeg, i);
    check('powerOffsetW', c.powerOffsetW, CALIBRATION_LIMITS.offsetW, i);
    check('reactiveOffsetVar', c.reactiveOffsetVar, CALIBRATION_LIMITS.offsetW, i);
    return Object.freeze({
      voltageGain: q(c.voltageGain, 1e6),
      currentGain: q(c.currentGain, 1e6),
      powerGain: q(c.powerGain, 1e6),
      phaseDeg: q(c.phaseDeg, 1e6),
      powerOffsetW: q(c.powerOffsetW, 1e3),
      reactiveOffsetVar: q(c.reactiveOffsetVar, 1e3),
    });
  });
  return Object.freeze({ version: CALIBRATION_VERSION, chip: input.chip, noLoadW: q(input.noLoadW, 1e3), channels: Object.freeze(channels) });
}

/** The factory state: unity gains, no phase or offset correction. */
export function defaultCalibration(chip: ChipKind, channels: number, noLoadW = 2): Calibration {
  return makeCalibration({ chip, noLoadW, channels: Array.from({ length: channels }, () => UNITY_CHANNEL) });
}

/** Deterministic bytes: equal calibrations give equal bytes. */
export function serializeCalibration(c: Calibration): Uint8Array {
  const v = makeCalibration(c); // refuses out-of-range objects built by hand
  const out = new Uint8Array(HEADER + PER_CHANNEL * v.channels.length + 4);
  out.set(MAGIC, 0);
  out[3] = CALIBRATION_VERSION;
  out[4] = CHIP_ID[v.chip];
  out[5] = v.channels.length;
  writeU32LE(out, 6, Math.round(v.noLoadW * 1e3));
  let o = HEADER;
  for (const ch of v.channels) {
    for (const x of [ch.voltageGain * 1e6, ch.currentGain * 1e6, ch.powerGain * 1e6, ch.phaseDeg * 1e6, ch.powerOffsetW * 1e3, ch.reactiveOffsetVar * 1e3]) {
      writeU32LE(out, o, Math.round(x) >>> 0);
      o += 4;
    }
  }
  writeU32LE(out, o, crc32(out, 0, o));
  return out;
}

export function parseCalibration(bytes: Uint8Array): Calibration {
  if (!(bytes instanceof Uint8Array) || bytes.length < HEADER + 4 || MAGIC.some((m, i) => bytes[i] !== m)) {
    throw new CalibrationError('calibration-format', 'not a calibration record (magic "CAL" missing or too short)', { length: bytes?.length ?? 0 });
  }
  if (bytes[3] !== CALIBRATION_VERSION) {
    throw new CalibrationError('calibration-version', `calibration version ${bytes[3]} is not supported (expected ${CALIBRATION_VERSION})`, { version: bytes[3] });
  }
  const n = bytes[5];
  const expected = HEADER + PER_CHANNEL * n + 4;
  if (bytes.length !== expected) {
    throw new CalibrationError('calibration-format', `calibration record is ${bytes.length} bytes, ${n} channels need ${expected}`, { length: bytes.length, channels: n });
  }
  const crc = readU32LE(bytes, expected - 4);
  if (crc !== crc32(bytes, 0, expected - 4)) {
    throw new CalibrationError('calibration-crc', 'calibration record CRC mismatch', { stored: crc });
  }
  const chip: ChipKind | undefined = bytes[4] === 1 ? 'ade7953' : bytes[4] === 2 ? 'atm90e32' : undefined;
  if (!chip) throw new CalibrationError('calibration-format', `unknown chip id ${bytes[4]}`, { chip: bytes[4] });
  const i32 = (o: number): number => readU32LE(bytes, o) | 0;
  const channels: ChannelCalibration[] = [];
  for (let c = 0, o = HEADER; c < n; c++, o += PER_CHANNEL) {
    channels.push({
      voltageGain: i32(o) / 1e6,
      currentGain: i32(o + 4) / 1e6,
      powerGain: i32(o + 8) / 1e6,
      phaseDeg: i32(o + 12) / 1e6,
      powerOffsetW: i32(o + 16) / 1e3,
      reactiveOffsetVar: i32(o + 20) / 1e3,
    });
  }
  return makeCalibration({ chip, noLoadW: readU32LE(bytes, 6) / 1e3, channels });
}
