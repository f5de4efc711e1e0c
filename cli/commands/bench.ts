/** `xsmeter bench`: the calibration bench — calibrate and seal a meter, or verify a sealed one (tools/calibration-bench). */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromHex } from '../../modules/core/bytes.js';
import { MeterError } from '../../modules/core/errors.js';
import { isValidPublicKey } from '../../modules/sealing/log-verify.js';
import type { HardwareErrors } from '../../hosts/sim/chips/front-end.js';
import { FileFlash } from '../../hosts/sim/file-flash.js';
import { BAUD_RATES, DEFAULT_BAUD } from '../../hosts/sim/serial-device.js';
import { openTarget, parseTarget, type TargetSpec } from '../../hosts/sim/service-transport.js';
import type { SerialPort } from '../../modules/ports/bus.js';
import { ServiceClient, type ClientTiming } from '../../modules/service/client.js';
import type { ChipName, SimMeter } from '../../hosts/sim/sim-meter.js';
import { CLASS_NAMES, accuracyClass } from '../../tools/calibration-bench/accuracy-class.js';
import { calibrate, verify, type BenchResult, type PointResult, type ProgressEvent } from '../../tools/calibration-bench/procedure.js';
import { reportHtml } from '../../tools/calibration-bench/report-html.js';
import { SimBenchRig, benchSimMeter, hardwareErrors, type ErrorSpec } from '../../tools/calibration-bench/sim-rig.js';
import { TcpRig } from '../../tools/calibration-bench/tcp-rig.js';
import { CliError, parseOptions, type CliIo, type Command } from '../command.js';
import { nobleCrypto } from '../../hosts/sim/noble-crypto.js';

const help = `usage: xsmeter bench <calibrate|verify> --target sim|tcp://HOST:PORT|/dev/ttyX [--rig tcp://HOST:PORT] --class ${CLASS_NAMES.join('|')} [options]

  calibrate   measures the meter at every accuracy point of the class (IEC 62053-21/22: 5 % of Ib/In
              to Imax, PF 1, 0.5 inductive, 0.8 capacitive, import and export; single elements of a
              polyphase meter), unseals it, corrects rms gains, then gain/phase/offset from three
              energy points per element, writes the constants, re-measures every point and seals
              only when all are within the class limits; then exports and verifies the calibration log.
  verify      re-measures a sealed meter at every point without writing anything.

options
  --report FILE.html     self-contained report: identity, points before/after, error plot, constants, log
  --json FILE            the full result as JSON
  --meter-constant N     test output constant, imp/kWh (default 1000)
  --min-seconds S        shortest pulse-gated run per point (default 2000: resolution ≤ 0.05 % with 1 s
                         energy updates); calibration points run 3 × as long
  --min-pulses N         fewest pulses per gated run (default 5)
  --pubkey HEX           trusted device public key for the log check (sim: the simulated meter's)
  --progress auto|live|lines|none   progress display on stderr (default auto: live on a terminal)
simulated meter (--target sim)
  --chip ade7953|atm90e32   (default ade7953)
  --seed N                  meter id, keys and random board errors (default 1)
  --errors random|default|perfect|out-of-range|JSON   board errors (default random, within the
                            adjustable range; out-of-range: a current sensor lagging 7°)
  --state DIR               keep the simulated meter (flash, board, clock) in DIR: verify it later
meter on the service interface over TCP (--target tcp://HOST:PORT) or a serial line (--target /dev/ttyX:
a USB-serial adapter or a pty; set raw, 8N1, with stty)
  --baud N                  serial line speed (default ${DEFAULT_BAUD})
  --rig tcp://HOST:PORT     the bench hardware (load source, reference meter, pulse counter,
                            calibration switch, bench time) on a rig channel, e.g. the one of
                            \`xsmeter sim --listen P --rig P2\` (a simulated meter on virtual time)
  --bench-key HEX           the bench key (default: the one the rig hands out for a simulated meter)

exit code 0: sealed (calibrate) / pass (verify); otherwise non-zero with a one-line reason.
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
  rig: { type: 'string' },
  'bench-key': { type: 'string' },
  baud: { type: 'string' },
} as const;

function num(v: string | undefined, name: string, fallback: number, min: number, integer = true): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) throw new CliError(`--${name} must be ${integer ? 'an integer' : 'a number'} ≥ ${min}`, 2);
  return n;
}

function errorSpec(v: string | undefined): ErrorSpec {
  if (v === undefined) return 'random';
  if (v === 'random' || v === 'default' || v === 'perfect' || v === 'out-of-range') return v;
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch {
    throw new CliError('--errors must be random, default, perfect, out-of-range or a JSON object of board errors', 2);
  }
  const keys = ['voltageGainError', 'currentGainError', 'phaseErrorDeg', 'powerOffsetW', 'reactiveOffsetVar', 'noiseW'];
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new CliError('--errors JSON must be an object', 2);
  for (const [k, x] of Object.entries(parsed)) {
    const ok = keys.includes(k) && (typeof x === 'number' ? Number.isFinite(x) : Array.isArray(x) && x.length > 0 && x.every((y) => typeof y === 'number' && Number.isFinite(y)));
    if (!ok) throw new CliError(`--errors: "${k}" is not one of ${keys.join(', ')} with a number (or array of numbers for the per-channel ones)`, 2);
  }
  return parsed as Partial<HardwareErrors>;
}

interface SimState {
  /** The flash images' format: 2, the storage module's (modules/storage); absent in earlier states. */
  flashFormat: number;
  chip: ChipName;
  seed: number;
  meterConstant: number;
  hardware: HardwareErrors;
  wallMs: number;
}

const GEOMETRY = { sectorSize: 4096, sectorCount: 16 };
const FLASH_FORMAT = 2;

/** Builds the simulated meter, from --state DIR when it holds one; returns a saver for the end. */
function simMeter(values: Record<string, string | undefined>, meterConstant: number, io: CliIo): { meter: SimMeter; save: () => void } {
  const dir = values.state;
  let state: SimState | undefined;
  if (dir && existsSync(join(dir, 'meter.json'))) {
    try {
      state = JSON.parse(readFileSync(join(dir, 'meter.json'), 'utf8')) as SimState;
    } catch (e) {
      throw new CliError(`cannot read ${join(dir, 'meter.json')}: ${(e as Error).message}`);
    }
    if (state.flashFormat !== FLASH_FORMAT) throw new CliError(`the meter in ${dir} was saved in an earlier flash format: start a new --state directory`);
    if (values.chip || values.seed || values.errors) io.stderr(`xsmeter bench: continuing the meter saved in ${dir} (--chip, --seed, --errors ignored)\n`);
    if (state.meterConstant !== meterConstant) throw new CliError(`the meter in ${dir} has meter constant ${state.meterConstant}, not ${meterConstant}`, 2);
  } else {
    const chip = (values.chip ?? 'ade7953') as ChipName;
    if (chip !== 'ade7953' && chip !== 'atm90e32') throw new CliError('--chip must be ade7953 or atm90e32', 2);
    const seed = num(values.seed, 'seed', 1, 0);
    state = { flashFormat: FLASH_FORMAT, chip, seed, meterConstant, hardware: hardwareErrors(chip, errorSpec(values.errors), seed), wallMs: Date.UTC(2026, 0, 1) };
  }
  const s = state;
  let flashes = {};
  if (dir) {
    mkdirSync(dir, { recursive: true });
    flashes = { energyFlash: new FileFlash(join(dir, 'energy.bin'), GEOMETRY), calibrationFlash: new FileFlash(join(dir, 'calibration.bin'), GEOMETRY) };
  }
  const meter = benchSimMeter({ chip: s.chip, seed: s.seed, errors: s.hardware, meterConstant: s.meterConstant, wallStartMs: s.wallMs, ...flashes });
  const save = (): void => {
    if (dir) writeFileSync(join(dir, 'meter.json'), JSON.stringify({ ...s, wallMs: meter.wallMs }, null, 2) + '\n');
  };
  save();
  return { meter, save };
}

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
      if (e.stage === 'done' || (e.point && !e.point.pass && e.stage === 'after')) {
        io.stderr('\n');
        width = 0;
      }
    };
  }
  return (e) => {
    if ((e.stage === 'as-found' || e.stage === 'after' || e.stage === 'measure' || e.stage === 'energy') && e.text.endsWith('…')) return;
    io.stderr(`[${e.stage}${e.index !== undefined ? ` ${e.index}/${e.total}` : ''}] ${e.text}\n`);
  };
}

function worst(points: readonly PointResult[]): string {
  if (!points.length) return 'not measured';
  const bad = points.filter((p) => !p.pass).length;
  const measured = points.filter((p) => p.errorPct !== undefined);
  const w = measured.reduce<PointResult | undefined>((a, p) => (!a || Math.abs(p.errorPct as number) / p.limitPct > Math.abs(a.errorPct as number) / a.limitPct ? p : a), undefined);
  const wt = w ? `worst ${(w.errorPct as number) >= 0 ? '+' : ''}${(w.errorPct as number).toFixed(3)} % at ${w.label} (limit ±${w.limitPct} %)` : 'no point measured';
  return `${wt}; ${bad ? `${bad} of ${points.length} outside the limits` : `all ${points.length} within the limits`}`;
}

function summary(r: BenchResult, wallMs: number): string {
  const lines: string[] = [];
  const id = r.identity;
  lines.push(`meter ${id ? `${id.meterId} (${id.model}, firmware ${id.firmware})` : '(not identified)'}, class ${r.className} (${r.standard})`);
  if (r.kind === 'calibrate') lines.push(`before: ${worst(r.before)}`);
  lines.push(`${r.kind === 'calibrate' ? 'after: ' : 'points:'} ${worst(r.after)}`);
  if (r.log) lines.push(`log: ${r.log.ok ? 'verified' : `FAULT ${r.log.fault}`}, ${r.log.records} records, counter ${r.log.lastCounter}${r.log.originChecked ? '' : ' (integrity only)'}${r.log.sealMatchesWritten ? ', sealed digest matches the constants written' : ''}`);
  if (r.unchanged !== undefined) lines.push(`calibration and log ${r.unchanged ? 'unchanged' : 'CHANGED'}`);
  lines.push(`time: ${(r.benchSeconds / 3600).toFixed(2)} h on the bench clock, ${(wallMs / 1000).toFixed(1)} s wall`);
  lines.push(r.status === 'sealed' ? 'SEALED' : r.status === 'pass' ? 'PASS' : r.kind === 'calibrate' ? `FAILED, not sealed: ${r.reason}` : `FAIL: ${r.reason}`);
  return lines.join('\n') + '\n';
}

async function run(args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'calibrate' && sub !== 'verify') throw new CliError('expected calibrate or verify (xsmeter bench --help)', 2);
  const parsed = parseOptions(rest, OPTIONS, 2);
  const v = parsed.values as Record<string, string | undefined>;
  if (!v.target) throw new CliError('--target is required (sim, tcp://HOST:PORT or /dev/ttyX)', 2);
  if (!v.class) throw new CliError(`--class is required (${CLASS_NAMES.join(', ')})`, 2);
  const cls = accuracyClass(v.class);
  if (!cls) throw new CliError(`unknown class "${v.class}" (${CLASS_NAMES.join(', ')})`, 2);
  const progress = v.progress ?? 'auto';
  if (!['auto', 'live', 'lines', 'none'].includes(progress)) throw new CliError('--progress must be auto, live, lines or none', 2);
  const meterConstant = num(v['meter-constant'], 'meter-constant', 1000, 1);
  const minSeconds = num(v['min-seconds'], 'min-seconds', 2000, 1, false);
  const minPulses = num(v['min-pulses'], 'min-pulses', 5, 1);
  let pubkey: Uint8Array | undefined;
  if (v.pubkey !== undefined) {
    try {
      pubkey = fromHex(v.pubkey);
    } catch {
      pubkey = undefined;
    }
    if (!pubkey || !isValidPublicKey(pubkey)) throw new CliError('--pubkey is not a compressed P-256 public key (33 bytes hex)', 2);
  }
  let target: TargetSpec;
  try {
    target = parseTarget(v.target);
  } catch (e) {
    throw new CliError((e as MeterError).message, 2);
  }
  if (target.kind !== 'sim') {
    for (const k of ['chip', 'seed', 'errors', 'state']) if (v[k] !== undefined) throw new CliError(`--${k} is only for --target sim`, 2);
  }
  if (target.kind === 'sim') {
    for (const k of ['rig', 'bench-key']) if (v[k] !== undefined) throw new CliError(`--${k} is only for --target tcp://HOST:PORT or /dev/ttyX`, 2);
  }
  if (target.kind !== 'device' && v.baud !== undefined) throw new CliError('--baud is only for --target /dev/ttyX', 2);
  const baud = num(v.baud, 'baud', DEFAULT_BAUD, 1);
  if (!BAUD_RATES.includes(baud)) throw new CliError(`--baud ${baud} is not a serial line speed (${BAUD_RATES.join(', ')})`, 2);
  if (target.kind !== 'sim') {
    if (v.rig === undefined) {
      throw new CliError(`${v.target}: --rig tcp://HOST:PORT is needed: the bench must set the load, read the reference and count pulses (xsmeter sim --listen P --rig P2 serves both for a simulated meter)`, 2);
    }
    return runRemote(sub, target, v, { cls, minSeconds, minPulses, meterConstant: v['meter-constant'] === undefined ? undefined : meterConstant, pubkey, progress, baud }, io);
  }
  const { meter, save } = simMeter(v, meterConstant, io);
  const rig = new SimBenchRig(meter);
  if (pubkey) rig.publicKey = pubkey;
  const options = { cls, meterConstant, minSeconds, minPulses, onProgress: progressPrinter(io, progress), crypto: nobleCrypto };
  const t0 = performance.now();
  let result: BenchResult;
  try {
    result = sub === 'calibrate' ? await calibrate(rig.client(), rig, options) : await verify(rig.client(), rig, options);
  } finally {
    save();
  }
  const wallMs = performance.now() - t0;
  if (v.report) writeFileSync(v.report, reportHtml(result, { generatedAt: Date.now(), wallMs, target: `${v.target} (${meter.chipName}, seed ${meter.seed})` }));
  if (v.json) writeFileSync(v.json, JSON.stringify(result, null, 2) + '\n');
  io.stdout(summary(result, wallMs));
  if (result.status === 'sealed' || result.status === 'pass') return 0;
  throw new CliError(result.kind === 'calibrate' ? `failed, not sealed: ${result.reason}` : `fail: ${result.reason}`);
}

/**
 * The client's clock for a meter behind a rig: every wait advances the rig, so a simulated meter
 * runs its loop and answers; but a wait counts only as much time as also passed on the wall clock,
 * since bytes over a serial line or a bridge take real time (at rig speed, a 5 s time-out would
 * otherwise pass in a fraction of a second of wall time).
 */
export function remoteTiming(rig: TcpRig): ClientTiming {
  const onRig = rig.timing();
  let elapsed = 0;
  return {
    ticks: () => elapsed,
    sleep: async (ms) => {
      const t0 = performance.now();
      await Promise.all([onRig.sleep(ms), new Promise((resolve) => setTimeout(resolve, 1))]);
      elapsed += Math.min(ms, performance.now() - t0);
    },
  };
}

/** A meter in another process or on a serial line, with the bench hardware on a rig channel. */
async function runRemote(
  sub: 'calibrate' | 'verify',
  target: TargetSpec,
  v: Record<string, string | undefined>,
  o: { cls: NonNullable<ReturnType<typeof accuracyClass>>; minSeconds: number; minPulses: number; meterConstant: number | undefined; pubkey: Uint8Array | undefined; progress: string; baud: number },
  io: CliIo,
): Promise<number> {
  let rigSpec: TargetSpec;
  try {
    rigSpec = parseTarget(v.rig as string);
  } catch (e) {
    throw new CliError(`--rig: ${(e as MeterError).message}`, 2);
  }
  if (rigSpec.kind !== 'tcp') throw new CliError('--rig must be tcp://HOST:PORT', 2);
  let benchKey: Uint8Array | undefined;
  if (v['bench-key'] !== undefined) {
    try {
      benchKey = fromHex(v['bench-key']);
    } catch {
      benchKey = undefined;
    }
    if (!benchKey || benchKey.length !== 16) throw new CliError('--bench-key must be 16 bytes hex', 2);
  }
  let rig: TcpRig;
  try {
    rig = await TcpRig.connect(rigSpec.host, rigSpec.port);
  } catch (e) {
    throw new CliError(`--rig ${v.rig}: ${(e as MeterError).message}`);
  }
  let port: (SerialPort & { close(): Promise<void> }) | undefined;
  try {
    const meterConstant = o.meterConstant ?? rig.identity.meterConstant;
    if (meterConstant !== rig.identity.meterConstant) throw new CliError(`the rig's meter has meter constant ${rig.identity.meterConstant}, not ${meterConstant}`, 2);
    benchKey ??= rig.benchKey;
    if (!benchKey) throw new CliError('--bench-key is needed: the rig does not hand out a bench key', 2);
    if (o.pubkey) rig.publicKey = o.pubkey;
    try {
      port = await openTarget(target, { baud: o.baud });
    } catch (e) {
      // A device's message already names its path.
      throw new CliError(target.kind === 'device' ? (e as MeterError).message : `${v.target}: ${(e as MeterError).message}`);
    }
    const client = new ServiceClient({ port, timing: remoteTiming(rig), benchKey: nobleCrypto.aesKey(benchKey), crypto: nobleCrypto, timeoutMs: 5000, pollMs: 10 });
    const options = { cls: o.cls, meterConstant, minSeconds: o.minSeconds, minPulses: o.minPulses, onProgress: progressPrinter(io, o.progress), crypto: nobleCrypto };
    const t0 = performance.now();
    const result = sub === 'calibrate' ? await calibrate(client, rig, options) : await verify(client, rig, options);
    const wallMs = performance.now() - t0;
    if (v.report) writeFileSync(v.report, reportHtml(result, { generatedAt: Date.now(), wallMs, target: `${v.target}${target.kind === 'device' ? ` at ${o.baud} baud` : ''}, rig ${v.rig} (${rig.identity.chip})` }));
    if (v.json) writeFileSync(v.json, JSON.stringify(result, null, 2) + '\n');
    io.stdout(summary(result, wallMs));
    if (result.status === 'sealed' || result.status === 'pass') return 0;
    throw new CliError(result.kind === 'calibrate' ? `failed, not sealed: ${result.reason}` : `fail: ${result.reason}`);
  } finally {
    await port?.close();
    await rig.close();
  }
}

export const bench: Command = {
  name: 'bench',
  summary: 'calibration bench: calibrate and seal a meter, or verify a sealed one',
  help,
  run,
};
