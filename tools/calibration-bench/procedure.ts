/**
 * The calibration bench procedure (IEC 62053-21/22 accuracy test points, WELMEC 7.2 sealed
 * parameters): `calibrate` measures the meter as found at every point of its class, unseals it
 * (calibration switch + bench key), corrects the rms gains, measures three energy points per
 * element (base current at PF 1 and 0.5 inductive, lowest test current at PF 1), derives the gain,
 * phase and offset residual with modules/metrology/calibrate.ts, writes the constants through the
 * service interface, re-measures every point and seals only when all are within the class limits.
 * Then it exports the calibration log and verifies it (signatures, chain, and that the seal records
 * the digest of the constants written). `verify` re-measures a sealed meter without writing anything.
 *
 * The corrections go where the chip applies them (modules/metrology/calibrate.ts): the rms step sets
 * voltageGain and currentGain, which both chips apply to the samples, so power and energy move with
 * them; the energy step's residual gain then goes to the ADE7953's power gain (AWGAIN), but on the
 * ATM90E32 — no confirmed power-only gain, PQGain left 0 — into currentGain (Igain) once more, so
 * there the current reading carries the energy correction too. The phase residual is PHCAL on the
 * ADE7953 and the driver's rotation of active and reactive energy on the ATM90E32 (no Phi).
 *
 * Corrections are relative to the calibration the meter holds, so a recalibration works the same.
 * While the energy points run, the no-load threshold is raised (elements without current must not
 * creep into the pulses of the loaded one); the constants written at the end set it to half the
 * class's starting power per element.
 *
 * Portable: the service client, metrology and sealing modules and the rig interfaces only.
 */
import { toHex } from '../../modules/core/bytes.js';
import { MeterError } from '../../modules/core/errors.js';
import { CALIBRATION_CONSTANT_ID } from '../../modules/app/calibration-constants.js';
import { applyResidual, correctRms, estimateResidual, type EnergyPoint, type Residual } from '../../modules/metrology/calibrate.js';
import { makeCalibration, parseCalibration, serializeCalibration, type Calibration } from '../../modules/metrology/calibration.js';
import { readExport, verifyExport } from '../../modules/sealing/log-export.js';
import { constantsDigest } from '../../modules/sealing/seal.js';
import type { ServiceClient } from '../../modules/service/client.js';
import type { Identity } from '../../modules/service/messages.js';
import { NOMINAL_VOLTAGE, errorPercent, testPoints, type AccuracyClass, type TestPoint } from './accuracy-class.js';
import { BenchError, gatedRun, type RunOptions } from './measure.js';
import type { BenchRig, PhaseLoad } from './rig.js';
import type { Crypto } from '../../modules/ports/crypto.js';

export interface BenchOptions {
  cls: AccuracyClass;
  /** Meter constant of the test output, imp/kWh (the nameplate value). */
  meterConstant: number;
  /** Shortest gate per accuracy point, s (default 2000, see measure.ts). */
  minSeconds?: number;
  /** Fewest pulses per gate (default 5). */
  minPulses?: number;
  /** Gate of the calibration energy points, s (default 3 × minSeconds). */
  calibrationSeconds?: number;
  onProgress?: (e: ProgressEvent) => void;
  /** Verifies the log export and digests the constants (the desktop's noble port, or any other). */
  crypto: Crypto;
}

export type Stage = 'connect' | 'as-found' | 'unseal' | 'rms' | 'energy' | 'write' | 'after' | 'measure' | 'seal' | 'log' | 'done';

export interface ProgressEvent {
  stage: Stage;
  text: string;
  /** 1-based step within the stage and the stage's step count. */
  index?: number;
  total?: number;
  point?: PointResult;
}

export interface PointResult extends TestPoint {
  pulses: number;
  seconds: number;
  referenceWh: number;
  meterWh: number;
  /** Undefined when the point could not be measured (see `failure`). */
  errorPct?: number;
  pass: boolean;
  failure?: string;
}

export interface RmsStep {
  channel: number;
  referenceVolts: number;
  measuredVolts: number;
  referenceAmps: number;
  measuredAmps: number;
}

export interface WrittenConstants {
  step: 'rms' | 'final';
  calibration: Calibration;
  bytesHex: string;
}

export interface LogCheck {
  ok: boolean;
  /** True when checked against a trusted public key; false: against the key in the log itself. */
  originChecked: boolean;
  records: number;
  deviceId: string;
  lastCounter: number;
  fault?: string;
  events: { counter: number; type: string; time: number; who: string }[];
  /** The last record is a seal carrying the digest of the constants this run wrote. */
  sealMatchesWritten?: boolean;
}

export interface BenchResult {
  kind: 'calibrate' | 'verify';
  className: string;
  standard: string;
  identity?: Identity;
  publicKeyHex?: string;
  meterConstant: number;
  minSeconds: number;
  /** calibrate: 'sealed' or 'failed'; verify: 'pass' or 'fail'. */
  status: 'sealed' | 'failed' | 'pass' | 'fail';
  sealed: boolean;
  reason?: string;
  asFoundCalibration?: Calibration;
  asFoundBytesHex?: string;
  before: PointResult[];
  after: PointResult[];
  rms: RmsStep[];
  energyPoints: EnergyPoint[][];
  residuals: Residual[];
  written: WrittenConstants[];
  /** digest of the sealed constants (the value a seal record carries), hex. */
  sealedDigestHex?: string;
  log?: LogCheck;
  /** verify: calibration bytes and log counter unchanged by the run. */
  unchanged?: boolean;
  /** Bench time the run took, s (simulated seconds on the simulator). */
  benchSeconds: number;
}

const RMS_READINGS = 5;

class Failure extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

function describe(e: unknown): string {
  if (e instanceof MeterError) return `${e.code}: ${e.message}`;
  throw e;
}

function isRange(e: unknown): boolean {
  return e instanceof MeterError && e.code === 'calibration-range';
}

function loadsFor(phases: number, current: number, phaseDeg: number, element?: number): PhaseLoad[] {
  return Array.from({ length: phases }, (_, p) => ({ voltage: NOMINAL_VOLTAGE, current: element === undefined || element === p ? current : 0, phaseDeg }));
}

function withNoLoad(cal: Calibration, noLoadW: number): Calibration {
  return makeCalibration({ chip: cal.chip, noLoadW, channels: cal.channels });
}

class Run {
  readonly result: BenchResult;
  private readonly run: RunOptions;
  private readonly points: TestPoint[];

  constructor(
    readonly kind: 'calibrate' | 'verify',
    private readonly client: ServiceClient,
    private readonly rig: BenchRig,
    private readonly o: BenchOptions,
  ) {
    const minSeconds = o.minSeconds ?? 2000;
    this.run = { meterConstant: o.meterConstant, minSeconds, minPulses: o.minPulses ?? 5 };
    this.points = testPoints(o.cls, rig.load.phases);
    this.result = {
      kind,
      className: o.cls.name,
      standard: o.cls.standard,
      publicKeyHex: rig.publicKey ? toHex(rig.publicKey) : undefined,
      meterConstant: o.meterConstant,
      minSeconds,
      status: kind === 'calibrate' ? 'failed' : 'fail',
      sealed: false,
      before: [],
      after: [],
      rms: [],
      energyPoints: [],
      residuals: [],
      written: [],
      benchSeconds: 0,
    };
  }

  progress(e: ProgressEvent): void {
    this.o.onProgress?.(e);
  }

  async measureAll(stage: 'as-found' | 'after' | 'measure'): Promise<PointResult[]> {
    const out: PointResult[] = [];
    for (let i = 0; i < this.points.length; i++) {
      const tp = this.points[i];
      this.progress({ stage, text: `${tp.label} …`, index: i + 1, total: this.points.length });
      let pr: PointResult;
      try {
        const g = await gatedRun(this.rig, loadsFor(this.rig.load.phases, tp.current, tp.phaseDeg, tp.element), this.run);
        const referenceWh = g.referenceWh.reduce((a, b) => a + b, 0);
        const errorPct = errorPercent(g.meterWh, referenceWh);
        pr = { ...tp, pulses: g.pulses, seconds: g.seconds, referenceWh, meterWh: g.meterWh, errorPct, pass: Math.abs(errorPct) <= tp.limitPct };
      } catch (e) {
        pr = { ...tp, pulses: 0, seconds: 0, referenceWh: 0, meterWh: 0, pass: false, failure: describe(e) };
      }
      out.push(pr);
      const verdict = pr.errorPct === undefined ? `FAIL (${pr.failure})` : `${pr.errorPct >= 0 ? '+' : ''}${pr.errorPct.toFixed(3)} % (limit ±${tp.limitPct} %) ${pr.pass ? 'ok' : 'FAIL'}`;
      this.progress({ stage, text: `${tp.label}: ${verdict}`, index: i + 1, total: this.points.length, point: pr });
    }
    await this.rig.load.apply(loadsFor(this.rig.load.phases, 0, 0));
    return out;
  }

  async identify(): Promise<{ cal: Calibration; bytes: Uint8Array }> {
    this.progress({ stage: 'connect', text: 'identifying the meter' });
    let ident: Identity;
    try {
      ident = await this.client.connect();
    } catch (e) {
      throw new Failure(`no meter: ${describe(e)}`);
    }
    this.result.identity = ident;
    this.result.sealed = ident.sealed;
    const bytes = await this.client.readCalibration();
    this.result.asFoundBytesHex = toHex(bytes);
    let cal: Calibration;
    try {
      cal = parseCalibration(bytes);
    } catch (e) {
      throw new Failure(`the meter's calibration cannot be read: ${describe(e)}`);
    }
    this.result.asFoundCalibration = cal;
    if (cal.channels.length !== this.rig.load.phases) {
      throw new Failure(`the meter has ${cal.channels.length} measuring elements, the load source ${this.rig.load.phases} phases`);
    }
    this.progress({ stage: 'connect', text: `${ident.meterId} ${ident.model} firmware ${ident.firmware}, ${ident.sealed ? 'sealed' : 'not sealed'}, ${cal.chip} ${cal.channels.length} element(s)` });
    return { cal, bytes };
  }

  async write(step: 'rms' | 'final', cal: Calibration): Promise<Uint8Array> {
    const bytes = serializeCalibration(cal);
    this.progress({ stage: 'write', text: `writing ${step === 'rms' ? 'the rms gains' : 'the final constants'} (${bytes.length} bytes)` });
    try {
      await this.client.writeCalibration(bytes);
    } catch (e) {
      throw new Failure(`the meter refused the constants: ${describe(e)}`);
    }
    this.result.written.push({ step, calibration: cal, bytesHex: toHex(bytes) });
    return bytes;
  }

  async rmsStep(cal: Calibration): Promise<Calibration> {
    const phases = this.rig.load.phases;
    const base = this.o.cls.baseCurrent;
    this.progress({ stage: 'rms', text: `rms gains at ${NOMINAL_VOLTAGE} V, ${base} A, PF 1` });
    await this.rig.load.apply(loadsFor(phases, base, 0));
    await this.rig.time.wait(3000);
    const v = new Array<number>(phases).fill(0);
    const a = new Array<number>(phases).fill(0);
    for (let k = 0; k < RMS_READINGS; k++) {
      await this.rig.time.wait(1000);
      const inst = await this.client.readInstantaneous();
      if (inst.phases.length < phases) throw new Failure(`the meter reports ${inst.phases.length} phases, the bench drives ${phases}`);
      for (let p = 0; p < phases; p++) {
        v[p] += inst.phases[p].voltageMv / 1000 / RMS_READINGS;
        a[p] += inst.phases[p].currentMa / 1000 / RMS_READINGS;
      }
    }
    const ref = await this.rig.reference.rms();
    let out = cal;
    for (let ch = 0; ch < phases; ch++) {
      const step: RmsStep = { channel: ch, referenceVolts: ref.voltage[ch], measuredVolts: v[ch], referenceAmps: ref.current[ch], measuredAmps: a[ch] };
      this.result.rms.push(step);
      try {
        out = correctRms(out, ch, { referenceVolts: step.referenceVolts, measuredVolts: step.measuredVolts, referenceAmps: step.referenceAmps, measuredAmps: step.measuredAmps });
      } catch (e) {
        throw new Failure(`rms correction of element ${ch + 1}${isRange(e) ? ' is outside the adjustable range' : ''}: ${describe(e)}`);
      }
    }
    return out;
  }

  async energyStep(cal: Calibration): Promise<Calibration> {
    const phases = this.rig.load.phases;
    const cls = this.o.cls;
    const plan: [number, number][] = [
      [cls.baseCurrent, 0],
      [cls.fractions[0] * cls.baseCurrent, 0],
      [cls.baseCurrent, 60],
    ];
    const seconds = this.o.calibrationSeconds ?? 3 * this.run.minSeconds;
    const total = plan.length * phases;
    const points: EnergyPoint[][] = Array.from({ length: phases }, () => []);
    this.result.energyPoints = points;
    let i = 0;
    for (let ch = 0; ch < phases; ch++) {
      for (const [current, phaseDeg] of plan) {
        i++;
        const what = `${phases > 1 ? `L${ch + 1} only, ` : ''}${current} A at ${phaseDeg}°`;
        this.progress({ stage: 'energy', text: `${what} …`, index: i, total });
        let g;
        try {
          g = await gatedRun(this.rig, loadsFor(phases, current, phaseDeg, phases > 1 ? ch : undefined), { ...this.run, minSeconds: seconds });
        } catch (e) {
          throw new Failure(`calibration point ${what}: ${describe(e)}`);
        }
        const referenceWh = g.referenceWh.reduce((a, b) => a + b, 0);
        points[ch].push({ voltage: NOMINAL_VOLTAGE, current, phaseDeg, seconds: g.seconds, referenceWh, measuredWh: g.meterWh });
        this.progress({ stage: 'energy', text: `${what}: ${errorPercent(g.meterWh, referenceWh).toFixed(3)} % over ${Math.round(g.seconds)} s`, index: i, total });
      }
    }
    await this.rig.load.apply(loadsFor(phases, 0, 0));
    let out = cal;
    for (let ch = 0; ch < phases; ch++) {
      let r: Residual;
      try {
        r = estimateResidual(points[ch]);
      } catch (e) {
        throw new Failure(`element ${ch + 1}: ${describe(e)}`);
      }
      this.result.residuals.push(r);
      try {
        out = applyResidual(out, ch, r);
      } catch (e) {
        throw new Failure(`element ${ch + 1}: the correction${isRange(e) ? ' is outside the adjustable range' : ' failed'} (residual gain ${r.gain.toFixed(4)}, phase ${r.phaseDeg.toFixed(3)}°, offset ${r.offsetW.toFixed(3)} W): ${describe(e)}`);
      }
    }
    return out;
  }

  async checkLog(writtenFinal?: Uint8Array): Promise<void> {
    this.progress({ stage: 'log', text: 'exporting and verifying the calibration log' });
    const exp = readExport(await this.client.exportLog());
    const key = this.rig.publicKey ?? exp.publicKey;
    const r = verifyExport(this.o.crypto, exp, key);
    const last = r.entries[r.entries.length - 1];
    const check: LogCheck = {
      ok: r.ok,
      originChecked: this.rig.publicKey !== undefined,
      records: exp.records.length,
      deviceId: r.deviceId,
      lastCounter: last ? last.counter : 0,
      events: r.entries.map((e) => ({ counter: e.counter, type: e.type, time: e.time, who: e.who })),
    };
    if (r.fault) check.fault = `record ${r.fault.record}: ${r.fault.code}: ${r.fault.reason}`;
    if (writtenFinal) {
      const digest = constantsDigest(this.o.crypto, [{ id: CALIBRATION_CONSTANT_ID, value: writtenFinal }]);
      this.result.sealedDigestHex = toHex(digest);
      check.sealMatchesWritten = last !== undefined && last.type === 'seal' && toHex(last.newValue) === toHex(digest);
    }
    this.result.log = check;
    this.progress({ stage: 'log', text: r.ok ? `log ok: ${check.records} records, counter ${check.lastCounter}${check.originChecked ? '' : ' (integrity only: no trusted key)'}` : `log FAULT: ${check.fault}` });
  }
}

function finish(run: Run, start: number, rig: BenchRig): BenchResult {
  run.result.benchSeconds = (rig.time.now() - start) / 1000;
  run.progress({ stage: 'done', text: `${run.result.status}${run.result.reason ? `: ${run.result.reason}` : ''}` });
  return run.result;
}

/** Calibrates the meter on `client` with `rig`; seals it only when every point is within the class limits. */
export async function calibrate(client: ServiceClient, rig: BenchRig, options: BenchOptions): Promise<BenchResult> {
  const run = new Run('calibrate', client, rig, options);
  const res = run.result;
  const start = rig.time.now();
  let finalBytes: Uint8Array | undefined;
  let connected = false;
  try {
    const { cal: asFound } = await run.identify();
    connected = true;
    res.before = await run.measureAll('as-found');
    if (res.identity?.sealed) {
      run.progress({ stage: 'unseal', text: 'unsealing (calibration switch + bench key)' });
      await rig.calibrationSwitch.set(true);
      try {
        await client.unseal();
      } catch (e) {
        throw new Failure(`unseal refused: ${describe(e)}`);
      }
      res.sealed = false;
    }
    // Raised threshold while single elements are loaded: no creep from the idle ones.
    const lowest = options.cls.fractions[0] * options.cls.baseCurrent * NOMINAL_VOLTAGE;
    let cal = withNoLoad(await run.rmsStep(asFound), Math.min(10, 0.2 * lowest));
    await run.write('rms', cal);
    cal = await run.energyStep(cal);
    cal = withNoLoad(cal, 0.5 * options.cls.startFraction * options.cls.baseCurrent * NOMINAL_VOLTAGE);
    const bytes = await run.write('final', cal);
    res.after = await run.measureAll('after');
    const bad = res.after.filter((p) => !p.pass);
    if (bad.length) throw new Failure(`${bad.length} of ${res.after.length} points outside the class ${options.cls.name} limits after calibration (first: ${bad[0].label})`);
    run.progress({ stage: 'seal', text: 'all points within the limits: sealing' });
    try {
      await client.seal();
    } catch (e) {
      throw new Failure(`seal refused: ${describe(e)}`);
    }
    finalBytes = bytes;
    res.sealed = true;
    res.status = 'sealed';
  } catch (e) {
    if (e instanceof Failure) res.reason = e.reason;
    else res.reason = describe(e);
    res.status = 'failed';
  } finally {
    await rig.calibrationSwitch.set(false);
  }
  if (connected) {
    try {
      await run.checkLog(finalBytes);
      if (res.status === 'sealed' && (!res.log?.ok || !res.log.sealMatchesWritten)) {
        res.status = 'failed';
        res.reason = res.log?.ok ? 'the log does not end with a seal of the constants written' : `the calibration log does not verify: ${res.log?.fault}`;
      }
    } catch (e) {
      res.status = 'failed';
      res.reason = `${res.reason ? res.reason + '; ' : ''}log export failed: ${describe(e)}`;
    }
  }
  return finish(run, start, rig);
}

/** Re-measures a sealed meter at every point of its class; writes nothing. */
export async function verify(client: ServiceClient, rig: BenchRig, options: BenchOptions): Promise<BenchResult> {
  const run = new Run('verify', client, rig, options);
  const res = run.result;
  const start = rig.time.now();
  try {
    const { bytes } = await run.identify();
    const counter0 = (await client.readUnsealChallenge()).counter;
    res.after = await run.measureAll('measure');
    const bytes1 = await client.readCalibration();
    const counter1 = (await client.readUnsealChallenge()).counter;
    res.unchanged = toHex(bytes) === toHex(bytes1) && counter0 === counter1;
    await run.checkLog();
    const bad = res.after.filter((p) => !p.pass);
    if (!res.identity?.sealed) res.reason = 'the meter is not sealed';
    else if (bad.length) res.reason = `${bad.length} of ${res.after.length} points outside the class ${options.cls.name} limits (first: ${bad[0].label})`;
    else if (!res.unchanged) res.reason = 'the calibration or the log changed during the run';
    else if (!res.log?.ok) res.reason = `the calibration log does not verify: ${res.log?.fault}`;
    res.status = res.reason ? 'fail' : 'pass';
  } catch (e) {
    res.reason = e instanceof Failure ? e.reason : describe(e);
    res.status = 'fail';
  }
  return finish(run, start, rig);
}

export { BenchError };
