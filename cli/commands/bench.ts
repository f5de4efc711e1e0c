/** `xsmeter bench`: the calibration bench — calibrate and seal a meter, or verify a sealed one (tools/calibration-bench). */
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromHex } from '../../modules/core/bytes.js';
import { MeterError } from '../../modules/core/errors.js';
import { isoTime } from '../../modules/core/iso-time.js';
import type { HardwareErrors } from '../../hosts/sim/chips/front-end.js';
import { lockDirectory, makeDirectory } from '../../hosts/sim/directory.js';
import { FileFlash } from '../../hosts/sim/file-flash.js';
import { writeJson } from '../../hosts/sim/json-file.js';
import { StateClocks } from '../../hosts/sim/state-clocks.js';
import { BAUD_RATES, DEFAULT_BAUD } from '../../hosts/sim/serial-device.js';
import { openTarget, parseTarget, type TargetSpec } from '../../hosts/sim/service-transport.js';
import type { SerialPort } from '../../modules/ports/bus.js';
import { ServiceClient, type ClientTiming } from '../../modules/service/client.js';
import type { ChipName, SimMeter } from '../../hosts/sim/sim-meter.js';
import { CLASS_NAMES, NOMINAL_VOLTAGE, accuracyClass, type AccuracyClass } from '../../tools/calibration-bench/accuracy-class.js';
import { benchWho, whoProblem, type BenchInfo, type ReferenceStandard } from '../../tools/calibration-bench/bench-info.js';
import { calibrate, verify, type BenchOptions, type BenchResult, type PointResult, type ProgressEvent } from '../../tools/calibration-bench/procedure.js';
import { reportHtml } from '../../tools/calibration-bench/report-html.js';
import type { BenchRig } from '../../tools/calibration-bench/rig.js';
import { SimBenchRig, benchSimMeter, hardwareErrors, type ErrorSpec } from '../../tools/calibration-bench/sim-rig.js';
import { TcpRig } from '../../tools/calibration-bench/tcp-rig.js';
import { CliError, checkWritableFile, decimalInteger, decimalNumber, isSystemError, parseOptions, readJsonFile, sameFile, stopSignal, systemReason, usageError, type CliIo, type Command } from '../command.js';
import { nobleCrypto } from '../../hosts/sim/noble-crypto.js';
import { pubkeyOption } from '../pubkey-option.js';

const help = `usage: xsmeter bench <calibrate|verify> --target sim|tcp://HOST:PORT|/dev/ttyX [--rig tcp://HOST:PORT] --class ${CLASS_NAMES.join('|')}
                     --bench-id ID --operator NAME [--bench-config FILE.json] [options]

  calibrate   measures the meter at every accuracy point of the class (IEC 62053-21/22: 5 % of Ib/In
              to Imax, PF 1, 0.5 inductive, 0.8 capacitive, import and export; single elements of a
              polyphase meter), unseals it, corrects rms gains, then gain/phase/offset from three
              energy points per element, writes the constants, re-measures every point, runs the
              no-load and starting-current tests and seals only when all pass; then exports and
              verifies the calibration log. A run that does not end sealed (failed, Ctrl-C, a lost rig
              link) puts the meter back as found: its constants written back and sealed again.
  verify      re-measures a sealed meter at every point and runs the no-load and starting-current
              tests, writing nothing.

Before it changes anything, the bench checks that the report and JSON paths can be written, that the
meter's calibration log binds the device key given (--pubkey, or the rig's factory record) and
verifies with it, that the bench key authenticates (an authenticated pulse-test off), and reads the
meter's clock. A meter an earlier run left unsealed (a lost link) is resumed: its constants sealed
before that run are restored unless this run seals.

who
  --bench-id ID          the bench (printable ASCII without "/"); the calibration log names
  --operator NAME        "ID/NAME" (at most 32 characters) as the cause of every change
bench and certificate (a --bench-config FILE.json holds these; options override it)
  --bench-config FILE    {"benchId", "operator"?, "laboratory"?, "reference": {"make", "model"?,
                         "serial", "class", "calibrationDue": "YYYY-MM-DD"}, "conditions":
                         {"temperatureC", "humidityPct"?, "frequencyHz"?}, "clockToleranceS"?}
                         (tools/calibration-bench/bench.example.json)
  --reference-make M  --reference-model M  --reference-serial S  --reference-class PCT
  --reference-due YYYY-MM-DD   the reference standard (required with --report; a standard past its
                         calibration due date is refused)
  --temperature C  --humidity PCT  --frequency HZ (default 50)   test conditions
  --report-number N      (default BENCH-YYYYMMDD-METER-COUNTER)
  --clock-tolerance S    meter clock against the bench clock before it is flagged (default 10)
output
  --report FILE.html     the certificate (or, when the run did not pass, a report saying why):
                         printable, one part per A4 page
  --json FILE            the full result as JSON
  --progress auto|live|lines|none   progress on stderr (default auto: live on a terminal)
measurement
  --meter-constant N     test output constant, imp/kWh, 1…100000 (default 1000)
  --min-seconds S        shortest pulse-gated run per point, at most 86400 (default 2000: resolution
                         ≤ 0.05 % with 1 s energy updates); calibration points run 3 × as long
  --min-pulses N         fewest pulses per gated run, at most 100000 (default 5)
  --pubkey HEX           trusted device public key (default: the rig's factory record / the simulated meter's)
simulated meter (--target sim)
  --chip ade7953|atm90e32   (default ade7953)
  --seed N                  meter id, keys and random board errors, 0…4294967295 (default 1)
  --errors random|default|perfect|out-of-range|JSON   board errors (default random, within the
                            adjustable range; out-of-range: a current sensor lagging 7°)
  --clock-offset S          the meter's clock this far off the bench's, at most ±100000000 (default 0)
  --state DIR               keep the simulated meter (flash, board, clock) in DIR: verify it later
                            (a saved meter keeps its chip, seed, board and clock: other values are refused;
                            one run at a time: DIR/lock holds its process id, a lock of a process gone is taken over)
meter on the service interface over TCP (--target tcp://HOST:PORT) or a serial line (--target /dev/ttyX:
a USB-serial adapter or a pty; set raw, 8N1, with stty)
  --baud N                  serial line speed (default ${DEFAULT_BAUD})
  --rig tcp://HOST:PORT     the bench hardware (load source, reference meter, pulse counter,
                            calibration switch, bench time) on a rig channel, e.g. the one of
                            \`xsmeter sim --listen P --rig P2\` (a simulated meter on virtual time)
  --bench-key HEX           the bench key (default: the one the rig hands out for a simulated meter)

Ctrl-C (SIGINT) or SIGTERM: the run stops at the next bench wait, or at the latest before the seal (verify:
before its verdict), and puts the meter back as found (stopped before the unseal: the meter was not
changed, and it says so); a signal once the seal was sent lets the run finish.
exit code 0: sealed (calibrate) / pass (verify); 1: failed, interrupted, or the meter refused (its
log does not verify, it does not answer); 2: bad usage, unusable files, a --pubkey that is no P-256
point or not the meter's, a bench key that does not authenticate, a reference standard past its due date.
`;

const OPTIONS = {
  target: { type: 'string' },
  class: { type: 'string' },
  report: { type: 'string' },
  json: { type: 'string' },
  'meter-constant': { type: 'string' },
  'min-seconds': { type: 'string' },
  'min-pulses': { type: 'string' },
  pubkey: { type: 'string' },
  progress: { type: 'string' },
  chip: { type: 'string' },
  seed: { type: 'string' },
  errors: { type: 'string' },
  state: { type: 'string' },
  'clock-offset': { type: 'string' },
  rig: { type: 'string' },
  'bench-key': { type: 'string' },
  baud: { type: 'string' },
  'bench-id': { type: 'string' },
  operator: { type: 'string' },
  'bench-config': { type: 'string' },
  'reference-make': { type: 'string' },
  'reference-model': { type: 'string' },
  'reference-serial': { type: 'string' },
  'reference-class': { type: 'string' },
  'reference-due': { type: 'string' },
  temperature: { type: 'string' },
  humidity: { type: 'string' },
  frequency: { type: 'string' },
  'report-number': { type: 'string' },
  'clock-tolerance': { type: 'string' },
} as const;

type Values = Record<string, string | undefined>;

function num(v: string | undefined, name: string, fallback: number, min: number, integer = true, max = Infinity): number {
  if (v === undefined) return fallback;
  // Counts and ids in decimal digits (as everywhere in the CLI): 0x10, 1e3, " 7" are not read as
  // numbers; other values in decimal (1e3 is, 0x10 is not).
  const n = integer ? decimalInteger(v) : decimalNumber(v);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw usageError(`--${name} must be ${integer ? 'an integer' : 'a number'} ${max === Infinity ? `≥ ${min}` : `from ${min} to ${max}`}`);
  }
  return n;
}

function errorSpec(v: string | undefined): ErrorSpec {
  if (v === undefined) return 'random';
  if (v === 'random' || v === 'default' || v === 'perfect' || v === 'out-of-range') return v;
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch {
    throw usageError('--errors must be random, default, perfect, out-of-range or a JSON object of board errors');
  }
  const keys = ['voltageGainError', 'currentGainError', 'phaseErrorDeg', 'powerOffsetW', 'reactiveOffsetVar', 'noiseW'];
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw usageError('--errors JSON must be an object');
  for (const [k, x] of Object.entries(parsed)) {
    const ok = keys.includes(k) && (typeof x === 'number' ? Number.isFinite(x) : Array.isArray(x) && x.length > 0 && x.every((y) => typeof y === 'number' && Number.isFinite(y)));
    if (!ok) throw usageError(`--errors: "${k}" is not one of ${keys.join(', ')} with a number (or array of numbers for the per-channel ones)`);
  }
  return parsed as Partial<HardwareErrors>;
}

// ---- the bench's description of itself -----------------------------------------------------------

interface BenchConfigFile {
  benchId?: string;
  operator?: string;
  laboratory?: string;
  reference?: { make?: string; model?: string; serial?: string; class?: number; calibrationDue?: string };
  conditions?: { temperatureC?: number; humidityPct?: number; frequencyHz?: number };
  clockToleranceS?: number;
}

/**
 * Reads --bench-config: only the fields above, of the right types, and values the bench can use: a
 * clock tolerance finite and ≥ 0 (JSON's 1e400 parses as Infinity), the reference standard's names
 * not blank, its class and due date well-formed. A usage error names the file and the field.
 */
function readBenchConfig(path: string): BenchConfigFile {
  const v = readJsonFile(path);
  const bad = (what: string): CliError => usageError(`${path}: ${what}`);
  const obj = (x: unknown, where: string, fields: Record<string, 'string' | 'number' | 'object'>): Record<string, unknown> => {
    if (typeof x !== 'object' || x === null || Array.isArray(x)) throw bad(`${where} must be a JSON object`);
    for (const [k, val] of Object.entries(x)) {
      const name = `"${where === 'the file' ? '' : `${where}.`}${k}"`;
      // Own fields only: "__proto__" or "constructor" are unknown, not Object.prototype's.
      if (!Object.hasOwn(fields, k)) throw bad(`unknown field ${name} (${Object.keys(fields).join(', ')})`);
      if (typeof val !== fields[k] || val === null) throw bad(`${name} must be a ${fields[k] === 'object' ? 'JSON object' : fields[k]}`);
      if (typeof val === 'number' && !Number.isFinite(val)) throw bad(`${name} must be a finite number, got ${val}`);
      if (typeof val === 'string' && val.trim() === '') throw bad(`${name} must not be empty`);
    }
    return x as Record<string, unknown>;
  };
  const top = obj(v, 'the file', { benchId: 'string', operator: 'string', laboratory: 'string', reference: 'object', conditions: 'object', clockToleranceS: 'number' });
  if (top.reference !== undefined) {
    const r = obj(top.reference, 'reference', { make: 'string', model: 'string', serial: 'string', class: 'number', calibrationDue: 'string' });
    if (r.class !== undefined && !((r.class as number) > 0 && (r.class as number) < 1)) throw bad(`"reference.class" must be a percentage between 0 and 1 (e.g. 0.05), got ${r.class}`);
    if (r.calibrationDue !== undefined && !isDate(r.calibrationDue as string)) throw bad(`"reference.calibrationDue" must be YYYY-MM-DD, got "${r.calibrationDue}"`);
  }
  if (top.conditions !== undefined) {
    const c = obj(top.conditions, 'conditions', { temperatureC: 'number', humidityPct: 'number', frequencyHz: 'number' });
    // The ranges of --temperature, --humidity and --frequency.
    for (const [name, lo, hi] of [['temperatureC', -40, 85], ['humidityPct', 0, 100], ['frequencyHz', 45, 65]] as const) {
      const value = c[name] as number | undefined;
      if (value !== undefined && !(value >= lo && value <= hi)) throw bad(`"conditions.${name}" must be from ${lo} to ${hi}, got ${value}`);
    }
  }
  if (top.clockToleranceS !== undefined && !((top.clockToleranceS as number) >= 0)) throw bad(`"clockToleranceS" must be ≥ 0 (seconds), got ${top.clockToleranceS}`);
  return top as BenchConfigFile;
}

function isDate(s: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(s) && new Date(`${s}T00:00:00Z`).toISOString().slice(0, 10) === s;
}

/** The bench info from --bench-config and the options (options win); usage errors for what is missing or bad. */
function benchInfo(v: Values, needReference: boolean): BenchInfo {
  const file = v['bench-config'] === undefined ? {} : readBenchConfig(v['bench-config']);
  const benchId = v['bench-id'] ?? file.benchId;
  const operator = v.operator ?? file.operator;
  if (benchId === undefined || operator === undefined) throw usageError('--bench-id and --operator are required (or benchId/operator in --bench-config): the calibration log names them');
  const problem = whoProblem(benchId, operator);
  if (problem) throw usageError(problem);
  const fr = file.reference ?? {};
  for (const k of ['reference-make', 'reference-model', 'reference-serial']) if (v[k] !== undefined && v[k].trim() === '') throw usageError(`--${k} must not be empty`);
  const make = v['reference-make'] ?? fr.make;
  const serial = v['reference-serial'] ?? fr.serial;
  const classPct = v['reference-class'] === undefined ? fr.class : num(v['reference-class'], 'reference-class', 0, 0, false);
  const due = v['reference-due'] ?? fr.calibrationDue;
  let reference: ReferenceStandard | undefined;
  const given = [make, serial, classPct, due].filter((x) => x !== undefined).length;
  if (given === 4) {
    if (!(Number(classPct) > 0 && Number(classPct) < 1)) throw usageError(`the reference standard's class must be a percentage between 0 and 1 (e.g. 0.05), got ${classPct}`);
    if (!isDate(due as string)) throw usageError(`the reference standard's calibration due date must be YYYY-MM-DD, got "${due}"`);
    reference = { make: make as string, model: v['reference-model'] ?? fr.model, serial: serial as string, classPct: Number(classPct), calibrationDue: due as string };
  } else if (given > 0 || needReference) {
    throw usageError(`${needReference && given === 0 ? 'the certificate (--report) needs the reference standard: ' : 'the reference standard is incomplete: '}give --reference-make, --reference-serial, --reference-class and --reference-due (or "reference" in --bench-config)`);
  }
  const fc = file.conditions ?? {};
  const temperatureC = v.temperature === undefined ? fc.temperatureC : num(v.temperature, 'temperature', 0, -40, false, 85);
  if (needReference && temperatureC === undefined) throw usageError('the certificate (--report) needs the temperature: --temperature C (or conditions.temperatureC in --bench-config)');
  return {
    benchId,
    operator,
    laboratory: file.laboratory,
    reportNumber: v['report-number'],
    reference,
    conditions: {
      voltageV: NOMINAL_VOLTAGE,
      frequencyHz: v.frequency === undefined ? (fc.frequencyHz ?? 50) : num(v.frequency, 'frequency', 50, 45, false, 65),
      temperatureC,
      humidityPct: v.humidity === undefined ? fc.humidityPct : num(v.humidity, 'humidity', 0, 0, false, 100),
    },
    clockToleranceS: v['clock-tolerance'] === undefined ? (file.clockToleranceS ?? 10) : num(v['clock-tolerance'], 'clock-tolerance', 10, 0, false),
    updateSeconds: 1,
  };
}

/** A reference standard past its calibration due date on the bench's date cannot certify anything. */
function checkReferenceDue(info: BenchInfo, benchMs: number): void {
  const due = info.reference?.calibrationDue;
  if (due && new Date(benchMs).toISOString().slice(0, 10) > due) {
    throw usageError(`the reference standard ${info.reference?.make} ${info.reference?.serial} was due for calibration on ${due} (bench date ${new Date(benchMs).toISOString().slice(0, 10)}): recalibrate it first`);
  }
}

// ---- the simulated meter (--target sim) --------------------------------------------------------

interface SimState {
  /** The flash images' format: 2, the storage module's (modules/storage); absent in earlier states. */
  flashFormat: number;
  chip: ChipName;
  seed: number;
  meterConstant: number;
  hardware: HardwareErrors;
  wallMs: number;
  clockErrorMs?: number;
}

const GEOMETRY = { sectorSize: 4096, sectorCount: 16 };
const FLASH_FORMAT = 2;
const MAX_SEED = 0xffff_ffff;
/** ±3 years: a clock further off is no bench test (and its times stay within what a date shows). */
const MAX_CLOCK_OFFSET_S = 100_000_000;
const IMAGES = ['energy.bin', 'calibration.bin'] as const;
/** The meter's time at its latest flash write (hosts/sim/state-clocks.ts, one slot). */
const CLOCK_FILE = 'clock.bin';
const MIN_WALL_MS = Date.UTC(2000, 0, 1);
const MAX_WALL_MS = Date.UTC(2300, 0, 1);

/**
 * What a hand or a disk may have changed in a saved bench meter: meter.json of the shape this command
 * writes (its board errors one number or one per channel each, finite); its flash images: checkImages.
 * Refused in one line naming the file, before the meter is made.
 */
function checkSavedMeter(dir: string, file: string, state: unknown): SimState {
  const bad = (what: string): CliError => usageError(`${file}: ${what}`);
  if (typeof state !== 'object' || state === null || Array.isArray(state)) throw bad('not a simulated bench meter (a JSON object)');
  const s = state as Record<string, unknown>;
  if (s.chip !== 'ade7953' && s.chip !== 'atm90e32') throw bad('not a simulated bench meter: "chip" must be ade7953 or atm90e32');
  if (s.flashFormat !== FLASH_FORMAT) throw usageError(`the meter in ${dir} was saved in an earlier flash format: start a new --state directory`);
  const int = (k: string, min: number, max: number, range = `an integer from ${min} to ${max}`): void => {
    const x = s[k];
    if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > max) throw bad(`"${k}" must be ${range}`);
  };
  int('seed', 0, MAX_SEED);
  int('meterConstant', 1, 100_000);
  int('wallMs', MIN_WALL_MS, MAX_WALL_MS, 'a time from 2000 to 2300 (ms since 1970)');
  if (s.clockErrorMs !== undefined) int('clockErrorMs', -MAX_CLOCK_OFFSET_S * 1000, MAX_CLOCK_OFFSET_S * 1000);
  const shape = hardwareErrors(s.chip, 'default', 0) as unknown as Record<string, unknown>;
  const hw = s.hardware;
  if (typeof hw !== 'object' || hw === null || Array.isArray(hw)) throw bad('"hardware" must be an object of board errors');
  const h = hw as Record<string, unknown>;
  for (const k of new Set([...Object.keys(shape), ...Object.keys(h)])) {
    const want = shape[k];
    const x = h[k];
    const finite = (y: unknown): boolean => typeof y === 'number' && Number.isFinite(y);
    const ok = Array.isArray(want) ? Array.isArray(x) && x.length === want.length && x.every(finite) : want !== undefined && finite(x);
    if (!ok) throw bad(`"hardware.${k}" must be ${want === undefined ? 'absent' : Array.isArray(want) ? `${want.length} finite numbers` : 'a finite number'}`);
  }
  return s as unknown as SimState;
}

/** The flash images in DIR, with or without a meter.json: whole files of the flash's size (exit 2 naming the file). */
function checkImages(dir: string): void {
  const size = GEOMETRY.sectorSize * GEOMETRY.sectorCount;
  for (const name of IMAGES) {
    const path = join(dir, name);
    if (!existsSync(path)) continue;
    const st = statSync(path);
    if (!st.isFile() || st.size !== size) throw usageError(`${path}: ${st.isFile() ? `${st.size} bytes` : 'not a file'}, a bench meter's flash image is ${size} bytes`);
  }
}

/** Builds the simulated meter, from --state DIR when it holds one; returns a saver for the end. */
function simMeter(values: Values, meterConstant: number): { meter: SimMeter; rig: SimBenchRig; save: () => void; close: () => void } {
  const dir = values.state;
  let state: SimState | undefined;
  // (the fleet's files have other names: a bench meter made here would be added beside its meters)
  if (dir && existsSync(join(dir, 'sim.json'))) throw usageError(`${dir} holds a simulated fleet (sim.json, xsmeter sim --state): a bench meter needs its own --state DIR`);
  if (dir) checkImages(dir);
  if (dir && existsSync(join(dir, 'meter.json'))) {
    const file = join(dir, 'meter.json');
    state = checkSavedMeter(dir, file, readJsonFile(file));
    // The saved meter is what it is: an option that says otherwise is refused, not ignored.
    const s = state;
    const differ: string[] = [];
    if (values.chip !== undefined && values.chip !== s.chip) differ.push(`--chip ${values.chip} (saved: ${s.chip})`);
    if (values.seed !== undefined && num(values.seed, 'seed', 1, 0, true, MAX_SEED) !== s.seed) differ.push(`--seed ${values.seed} (saved: ${s.seed})`);
    if (values.errors !== undefined && JSON.stringify(hardwareErrors(s.chip, errorSpec(values.errors), s.seed)) !== JSON.stringify(s.hardware)) differ.push(`--errors ${values.errors} (not the saved board)`);
    if (values['clock-offset'] !== undefined && Math.round(num(values['clock-offset'], 'clock-offset', 0, -MAX_CLOCK_OFFSET_S, false, MAX_CLOCK_OFFSET_S) * 1000) !== (s.clockErrorMs ?? 0)) differ.push(`--clock-offset ${values['clock-offset']} (saved: ${(s.clockErrorMs ?? 0) / 1000})`);
    if (s.meterConstant !== meterConstant) differ.push(`--meter-constant ${meterConstant} (saved: ${s.meterConstant})`);
    if (differ.length) throw usageError(`${dir} holds a meter made with other settings: ${differ.join(', ')}; continue it without these options, or use a new --state DIR`);
  } else {
    const chip = (values.chip ?? 'ade7953') as ChipName;
    if (chip !== 'ade7953' && chip !== 'atm90e32') throw usageError('--chip must be ade7953 or atm90e32');
    const seed = num(values.seed, 'seed', 1, 0, true, MAX_SEED);
    const clockErrorMs = Math.round(num(values['clock-offset'], 'clock-offset', 0, -MAX_CLOCK_OFFSET_S, false, MAX_CLOCK_OFFSET_S) * 1000);
    state = { flashFormat: FLASH_FORMAT, chip, seed, meterConstant, hardware: hardwareErrors(chip, errorSpec(values.errors), seed), wallMs: Date.UTC(2026, 0, 1) + clockErrorMs, clockErrorMs };
  }
  const s = state;
  let flashes = {};
  let wallStartMs = s.wallMs;
  let clocks: StateClocks | undefined;
  let meter: SimMeter | undefined;
  if (dir) {
    makeDirectory(dir);
    // meter.json's time is stamped at the end of a run; DIR/clock.bin gets the meter's time before
    // each flash write reaches the images, so after a kill -9 the clock continues from no earlier
    // than the newest record the images hold (a kill is a power cut: never a clock going back).
    const clockFile = join(dir, CLOCK_FILE);
    const c = (clocks = new StateClocks(clockFile, 1));
    const stamped = c.read(0);
    if (stamped && !(stamped >= MIN_WALL_MS && stamped <= MAX_WALL_MS)) throw usageError(`${clockFile}: the meter's time must be from 2000 to 2300, got ${stamped} ms since 1970`);
    wallStartMs = Math.max(wallStartMs, stamped);
    const beforeWrite = (): void => c.write(0, meter ? meter.wallMs : wallStartMs);
    flashes = { energyFlash: new FileFlash(join(dir, IMAGES[0]), GEOMETRY, { beforeWrite }), calibrationFlash: new FileFlash(join(dir, IMAGES[1]), GEOMETRY, { beforeWrite }) };
  }
  const m = (meter = benchSimMeter({ chip: s.chip, seed: s.seed, errors: s.hardware, meterConstant: s.meterConstant, wallStartMs, ...flashes }));
  const rig = new SimBenchRig(m, { clockErrorMs: s.clockErrorMs ?? 0 });
  // The simulated bench runs on virtual time without ever waiting for the event loop: let signals in.
  const wait = rig.time.wait;
  rig.time.wait = async (ms) => {
    await wait(ms);
    await new Promise((resolve) => setImmediate(resolve));
  };
  const save = (): void => {
    if (!dir) return;
    clocks?.write(0, m.wallMs);
    writeJson(join(dir, 'meter.json'), { ...s, wallMs: m.wallMs });
  };
  save();
  return { meter: m, rig, save, close: () => clocks?.close() };
}

// ---- output ------------------------------------------------------------------------------------

function progressPrinter(io: CliIo, mode: string): (e: ProgressEvent) => void {
  const live = mode === 'live' || (mode === 'auto' && process.stderr.isTTY === true);
  if (mode === 'none') return () => undefined;
  if (live) {
    let width = 0;
    return (e) => {
      const step = e.index !== undefined ? ` ${e.index}/${e.total}` : '';
      const line = `[${e.stage}${step}] ${e.text}`.slice(0, Math.max(20, (process.stderr.columns ?? 100) - 1));
      io.stderr(`\r${line}${' '.repeat(Math.max(0, width - line.length))}`);
      width = line.length;
      if (e.stage === 'done' || e.stage === 'restore' || (e.point && !e.point.pass && e.stage === 'after')) {
        io.stderr('\n');
        width = 0;
      }
    };
  }
  return (e) => {
    if (e.text.endsWith('…')) return;
    io.stderr(`[${e.stage}${e.index !== undefined ? ` ${e.index}/${e.total}` : ''}] ${e.text}\n`);
  };
}

/** The points measured: the worst and how many missed; a list cut short (of `total`) says so first. */
function worst(points: readonly PointResult[], total: number): string {
  if (!points.length) return 'not measured';
  const bad = points.filter((p) => !p.pass).length;
  const measured = points.filter((p) => p.errorPct !== undefined);
  const w = measured.reduce<PointResult | undefined>((a, p) => (!a || Math.abs(p.errorPct as number) / p.limitPct > Math.abs(a.errorPct as number) / a.limitPct ? p : a), undefined);
  const wt = w ? `worst ${(w.errorPct as number) >= 0 ? '+' : ''}${(w.errorPct as number).toFixed(3)} % at ${w.label} (limit ±${w.limitPct} %)` : 'no point measured';
  const incomplete = points.length < total ? `INCOMPLETE, ${points.length} of ${total} points measured: ` : '';
  return `${incomplete}${wt}; ${bad ? `${bad} of ${points.length} outside the limits` : `all ${points.length} within the limits`}`;
}

/** The last line on stdout and the one-line reason on stderr for a run that did not pass. */
function outcome(r: BenchResult): { last: string; failure?: string } {
  if (r.status === 'sealed') return { last: 'SEALED' };
  if (r.status === 'pass') return { last: 'PASS' };
  const after = r.restored ? `; ${r.restored.text}` : '';
  if (r.status === 'refused') return { last: `REFUSED: ${r.reason}`, failure: `refused: ${r.reason}` };
  if (r.status === 'interrupted') return { last: `INTERRUPTED${after}`, failure: `${r.reason}${after}` };
  return r.kind === 'calibrate' ? { last: `FAILED: ${r.reason}${after}`, failure: `failed: ${r.reason}${after}` } : { last: `FAIL: ${r.reason}`, failure: `fail: ${r.reason}` };
}

function summary(r: BenchResult, wallMs: number): string {
  const lines: string[] = [];
  const id = r.identity;
  lines.push(`meter ${id ? `${id.meterId} (${id.model}, firmware ${id.firmware})` : '(not identified)'}, class ${r.className} (${r.standard})${r.bench ? `, bench ${benchWho(r.bench)}` : ''}`);
  if (r.clock) lines.push(`clock: meter ${r.clock.notSet ? 'NOT SET' : `${r.clock.offsetS >= 0 ? '+' : ''}${r.clock.offsetS.toFixed(1)} s against the bench clock${r.clock.ok ? '' : ` — WRONG (tolerance ±${r.clock.toleranceS} s)`}`}`);
  if (r.unfinished) lines.push(`resumed: unsealed ${isoTime(r.unfinished.unsealedAt)} by ${r.unfinished.by}, not sealed since`);
  if (r.kind === 'calibrate' && r.status !== 'refused') lines.push(`before: ${worst(r.before, r.pointCount)}`);
  if (r.status !== 'refused') lines.push(`${r.kind === 'calibrate' ? 'after: ' : 'points:'} ${worst(r.after, r.pointCount)}`);
  if (r.noLoad || r.starting) {
    const n = r.noLoad;
    const s = r.starting;
    lines.push(`no load: ${n ? `${n.pulses} pulse(s) in ${n.seconds} s ${n.pass ? 'PASS' : 'FAIL'}` : 'not run'}; starting current: ${s ? `${s.pulses} pulse(s) in ${s.seconds} s at ${s.current} A ${s.pass ? 'PASS' : 'FAIL'}` : 'not run'}`);
  }
  if (r.log) lines.push(`log: ${r.log.ok ? 'verified' : `FAULT ${r.log.fault}`}, ${r.log.records} records, counter ${r.log.lastCounter}${r.log.originChecked ? '' : ' (integrity only)'}${r.log.sealMatchesWritten ? ', sealed digest matches the constants written' : ''}`);
  if (r.unchanged !== undefined) lines.push(`calibration and log ${r.unchanged ? 'unchanged' : 'CHANGED'}`);
  lines.push(`time: ${(r.benchSeconds / 3600).toFixed(2)} h on the bench clock, ${(wallMs / 1000).toFixed(1)} s wall`);
  lines.push(outcome(r).last);
  return lines.join('\n') + '\n';
}

// ---- the run -----------------------------------------------------------------------------------

interface Prepared {
  cls: AccuracyClass;
  info: BenchInfo;
  options: Omit<BenchOptions, 'bench'>;
  pubkey: Uint8Array | undefined;
}

/** Runs the procedure on a connected rig and client; writes the report and JSON; the exit code. */
async function runOn(kind: 'calibrate' | 'verify', client: ServiceClient, rig: BenchRig, p: Prepared, v: Values, target: string, io: CliIo): Promise<number> {
  const benchMs = rig.time.wallMs?.() ?? Date.now();
  checkReferenceDue(p.info, benchMs);
  const info = { ...p.info };
  const t0 = performance.now();
  const result = await (kind === 'calibrate' ? calibrate : verify)(client, rig, { ...p.options, bench: info });
  // The default report number, once the meter and its log are known.
  if (info.reportNumber === undefined && result.identity) {
    info.reportNumber = `${info.benchId}-${new Date(benchMs).toISOString().slice(0, 10).replace(/-/g, '')}-${result.identity.meterId}-${result.log?.lastCounter ?? result.identity.authCounter}`;
  }
  const wallMs = performance.now() - t0;
  // The summary first: what became of the meter is said even when a file then fails (checked
  // writable before the run, it can still meet a full disk).
  io.stdout(summary(result, wallMs));
  const o = outcome(result);
  const lost = [
    saveOutput('--report', v.report, () => reportHtml(result, { generatedAt: Date.now(), wallMs, target })),
    saveOutput('--json', v.json, () => JSON.stringify(result, null, 2) + '\n'),
  ].filter((x) => x !== undefined);
  if (lost.length > 0) throw new CliError(`${lost.join('; ')}; the run: ${o.failure ?? o.last}`, 1);
  if (!o.failure) return 0;
  throw new CliError(o.failure, result.status === 'refused' && (result.refusal === 'pubkey' || result.refusal === 'bench-key') ? 2 : 1);
}

/**
 * --report and --json apart from each other and from the files of the meter in --state DIR: written
 * at the end, one would replace the other's output, or the meter's flash image, clock or state.
 */
function checkOutputsApart(v: Values): void {
  if (v.report !== undefined && v.json !== undefined && sameFile(v.report, v.json)) throw usageError(`--report and --json name one file, ${v.json}: one would replace the other`);
  if (v.state === undefined) return;
  for (const [option, path] of [['--report', v.report], ['--json', v.json]] as const) {
    if (path === undefined) continue;
    for (const name of [...IMAGES, 'meter.json', CLOCK_FILE, 'lock']) {
      if (sameFile(path, join(v.state, name))) throw usageError(`${option} ${path} is the meter's ${name} in --state ${v.state}: the run would overwrite it`);
    }
  }
}

/** Writes an output file; what went wrong as a phrase naming it, or undefined when it was written. */
function saveOutput(option: string, path: string | undefined, text: () => string): string | undefined {
  if (path === undefined) return undefined;
  try {
    writeFileSync(path, text());
    return undefined;
  } catch (e) {
    if (!isSystemError(e)) throw e;
    return `${option} ${path}: cannot write: ${systemReason(e)}`;
  }
}

async function run(args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'calibrate' && sub !== 'verify') throw usageError('expected calibrate or verify (xsmeter bench --help)');
  const v = parseOptions(rest, OPTIONS).values as Values;
  if (!v.target) throw usageError('--target is required (sim, tcp://HOST:PORT or /dev/ttyX)');
  if (!v.class) throw usageError(`--class is required (${CLASS_NAMES.join(', ')})`);
  const cls = accuracyClass(v.class);
  if (!cls) throw usageError(`unknown class "${v.class}" (${CLASS_NAMES.join(', ')})`);
  const progress = v.progress ?? 'auto';
  if (!['auto', 'live', 'lines', 'none'].includes(progress)) throw usageError('--progress must be auto, live, lines or none');
  const meterConstant = num(v['meter-constant'], 'meter-constant', 1000, 1, true, 100_000);
  const minSeconds = num(v['min-seconds'], 'min-seconds', 2000, 1, false, 86_400);
  const minPulses = num(v['min-pulses'], 'min-pulses', 5, 1, true, 100_000);
  const pubkey = pubkeyOption(v.pubkey);
  let target: TargetSpec;
  try {
    target = parseTarget(v.target);
  } catch (e) {
    throw usageError((e as MeterError).message);
  }
  if (target.kind !== 'sim') {
    for (const k of ['chip', 'seed', 'errors', 'state', 'clock-offset']) if (v[k] !== undefined) throw usageError(`--${k} is only for --target sim`);
  }
  if (target.kind === 'sim') {
    for (const k of ['rig', 'bench-key']) if (v[k] !== undefined) throw usageError(`--${k} is only for --target tcp://HOST:PORT or /dev/ttyX`);
  }
  if (target.kind !== 'device' && v.baud !== undefined) throw usageError('--baud is only for --target /dev/ttyX');
  const baud = num(v.baud, 'baud', DEFAULT_BAUD, 1);
  if (!BAUD_RATES.includes(baud)) throw usageError(`--baud ${baud} is not a serial line speed (${BAUD_RATES.join(', ')})`);
  let benchKey: Uint8Array | undefined;
  if (v['bench-key'] !== undefined) {
    try {
      benchKey = fromHex(v['bench-key']);
    } catch {
      benchKey = undefined;
    }
    if (!benchKey || benchKey.length !== 16) throw usageError('--bench-key must be 16 bytes hex');
  }
  if (target.kind !== 'sim' && v.rig === undefined) {
    throw usageError(`${v.target}: --rig tcp://HOST:PORT is needed: the bench must set the load, read the reference and count pulses (xsmeter sim --listen P --rig P2 serves both for a simulated meter)`);
  }
  const info = benchInfo(v, v.report !== undefined);
  checkOutputsApart(v);
  // What would fail after the meter was changed is checked before it is touched.
  if (v.report) checkWritableFile(v.report, '--report');
  if (v.json) checkWritableFile(v.json, '--json');
  const p: Prepared = {
    cls,
    info,
    pubkey,
    options: { cls, meterConstant, minSeconds, minPulses, onProgress: progressPrinter(io, progress), stop: stopSignal(io), crypto: nobleCrypto },
  };
  if (target.kind === 'sim') {
    // One run at a time on a meter's state (two would interleave its flash writes).
    const lock = v.state === undefined ? undefined : lockDirectory(v.state);
    if (lock && 'heldBy' in lock) throw usageError(`${v.state} is in use by process ${lock.heldBy} (another xsmeter bench): wait for it, or stop it`);
    try {
      const { meter, rig, save, close } = simMeter(v, meterConstant);
      if (pubkey) rig.publicKey = pubkey;
      try {
        return await runOn(sub, rig.client(benchWho(info)), rig, p, v, `${v.target} (${meter.chipName}, seed ${meter.seed})`, io);
      } finally {
        try {
          save();
        } finally {
          close();
        }
      }
    } finally {
      lock?.release();
    }
  }
  return runRemote(sub, target, v, p, { baud, benchKey, meterConstant: v['meter-constant'] === undefined ? undefined : meterConstant }, io);
}

/**
 * The client's clock for a meter behind a rig: every wait advances the rig, so a simulated meter
 * runs its loop and answers; but a wait counts only as much time as also passed on the wall clock,
 * since bytes over a serial line or a bridge take real time (at rig speed, a 5 s time-out would
 * otherwise pass in a fraction of a second of wall time). Once the rig link is gone (closed, or
 * the rig stopped answering) the waits are the wall clock's alone: a meter that keeps its own time
 * still answers, and is put back as found.
 */
export function remoteTiming(rig: TcpRig): ClientTiming {
  const onRig = rig.timing();
  let elapsed = 0;
  const wallSleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  return {
    ticks: () => elapsed,
    sleep: async (ms) => {
      const t0 = performance.now();
      if (rig.failure) await wallSleep(ms);
      else {
        try {
          await Promise.all([onRig.sleep(ms), wallSleep(1)]);
        } catch (e) {
          if (!rig.failure) throw e;
        }
      }
      elapsed += Math.min(ms, performance.now() - t0);
    },
  };
}

/** A meter in another process or on a serial line, with the bench hardware on a rig channel. */
async function runRemote(
  sub: 'calibrate' | 'verify',
  target: TargetSpec,
  v: Values,
  p: Prepared,
  o: { baud: number; benchKey: Uint8Array | undefined; meterConstant: number | undefined },
  io: CliIo,
): Promise<number> {
  let rigSpec: TargetSpec;
  try {
    rigSpec = parseTarget(v.rig as string);
  } catch (e) {
    throw usageError(`--rig: ${(e as MeterError).message}`);
  }
  if (rigSpec.kind !== 'tcp') throw usageError('--rig must be tcp://HOST:PORT');
  let rig: TcpRig;
  try {
    rig = await TcpRig.connect(rigSpec.host, rigSpec.port);
  } catch (e) {
    throw new CliError(`--rig ${v.rig}: ${(e as MeterError).message}`);
  }
  let port: (SerialPort & { close(): Promise<void> }) | undefined;
  try {
    const meterConstant = o.meterConstant ?? rig.identity.meterConstant;
    if (meterConstant !== rig.identity.meterConstant) throw usageError(`the rig's meter has meter constant ${rig.identity.meterConstant}, not ${meterConstant}`);
    const benchKey = o.benchKey ?? rig.benchKey;
    if (!benchKey) throw usageError('--bench-key is needed: the rig does not hand out a bench key');
    if (p.pubkey) rig.publicKey = p.pubkey;
    // A real bench's rig keeps no clock: the bench computer's is the bench clock.
    rig.time.wallMs ??= () => Date.now();
    try {
      port = await openTarget(target, { baud: o.baud });
    } catch (e) {
      // A device's message already names its path; a device that is not there is unusable input (2),
      // a meter that does not answer on TCP is work that failed (1).
      throw target.kind === 'device' ? usageError((e as MeterError).message) : new CliError(`${v.target}: ${(e as MeterError).message}`);
    }
    const client = new ServiceClient({ port, timing: remoteTiming(rig), benchKey: nobleCrypto.aesKey(benchKey), crypto: nobleCrypto, timeoutMs: 5000, pollMs: 10, who: benchWho(p.info) });
    const options = { ...p, options: { ...p.options, meterConstant } };
    return await runOn(sub, client, rig, options, v, `${v.target}${target.kind === 'device' ? ` at ${o.baud} baud` : ''}, rig ${v.rig} (${rig.identity.chip})`, io);
  } finally {
    await port?.close();
    await rig.close();
  }
}

export const bench: Command = {
  name: 'bench',
  summary: 'calibration bench: calibrate and seal a meter, or verify a sealed one (prints a certificate)',
  help,
  run,
};
