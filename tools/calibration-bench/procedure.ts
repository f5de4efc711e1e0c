/**
 * The calibration bench procedure (IEC 62053-21/22 accuracy test points, WELMEC 7.2 sealed
 * parameters): `calibrate` measures the meter as found at every point of its class, unseals it
 * (calibration switch + bench key), corrects the rms gains, measures three energy points per
 * element (base current at PF 1 and 0.5 inductive, lowest test current at PF 1), derives the gain,
 * phase and offset residual with modules/metrology/calibrate.ts, writes the constants through the
 * service interface, re-measures every point and seals only when all are within the class limits.
 * Then it exports the calibration log and verifies it (signatures, chain, and that the seal records
 * the digest of the constants written). `verify` re-measures a sealed meter without writing anything.
 * Both run the no-load and starting-current tests (no-load.ts) after the accuracy points.
 *
 * Before anything is changed, preflight.ts checks the meter, its log against the trusted device key,
 * the bench key and the clock; a refusal leaves the meter untouched. A calibration that does not end
 * sealed — failed, interrupted (`stop`, e.g. Ctrl-C; it takes effect at the next bench wait, never
 * inside a service exchange) or after a lost rig link — puts the meter back as found: the as-found
 * constants written again and, if it was sealed, sealed again; then it reads the meter back to say
 * so. When the meter cannot be reached for that (a lost service link), it stays unsealed, and the
 * next calibrate recognises the unfinished session in the log and restores or finishes it.
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
import { isoTime } from '../../modules/core/iso-time.js';
import { CALIBRATION_CONSTANT_ID } from '../../modules/app/calibration-constants.js';
import { applyResidual, correctRms, estimateResidual, type EnergyPoint, type Residual } from '../../modules/metrology/calibrate.js';
import { makeCalibration, serializeCalibration, type Calibration } from '../../modules/metrology/calibration.js';
import { readExport, verifyExport } from '../../modules/sealing/log-export.js';
import { constantsDigest, LOG_RECREATED_BY } from '../../modules/sealing/seal.js';
import type { LogEntry } from '../../modules/sealing/log-record.js';
import type { ServiceClient } from '../../modules/service/client.js';
import type { Identity } from '../../modules/service/messages.js';
import { NOMINAL_VOLTAGE, errorPercent, testPoints, type AccuracyClass, type TestPoint } from './accuracy-class.js';
import { expandedUncertaintyPct, type BenchInfo } from './bench-info.js';
import { BenchError, gatedRun, type RunOptions } from './measure.js';
import { noLoadTest, startingTest, type NoLoadResult, type StartingResult } from './no-load.js';
import { Refusal, preflight, type ClockCheck, type Preflight, type RefusalCause, type UnfinishedSession } from './preflight.js';
import type { BenchRig, TestLoad } from './rig.js';
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
  /** The bench, its operator, reference standard and conditions (recorded in the result). */
  bench?: BenchInfo;
  /** Run the no-load and starting-current tests (default true). */
  noLoadTests?: boolean;
  /** Set when the run must end (an AbortSignal fits): the meter is then put back as found. */
  stop?: { readonly aborted: boolean; readonly reason?: unknown };
}

export type Stage = 'connect' | 'as-found' | 'unseal' | 'rms' | 'energy' | 'write' | 'after' | 'measure' | 'no-load' | 'starting' | 'seal' | 'restore' | 'log' | 'done';

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
  /** Expanded uncertainty of the error (k = 2), % (bench-info.ts); with a reference standard's class. */
  uncertaintyPct?: number;
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
  /** Why the log does not vouch for the meter's seal (absent: it does); see sealBroken. */
  sealBroken?: string;
}

/**
 * Why a verified log does not vouch for the meter's seal, or undefined: the log was lost and made
 * again (its log-init by LOG_RECREATED_BY, no seal since: the meter keeps itself sealed, fail-safe,
 * but its history is gone), or a tamper record follows the newest seal (the meter found damage, e.g.
 * at start-up). The meter then still says "sealed": only its log tells.
 */
export function sealBroken(entries: readonly LogEntry[]): string | undefined {
  let last = entries.length - 1;
  while (last >= 0 && entries[last].type !== 'seal') last--;
  if (last < 0 && entries[0]?.who === LOG_RECREATED_BY) return `the calibration log was lost and made again at ${isoTime(entries[0].time)}: no seal since`;
  const tamper = entries.slice(last + 1).find((e) => e.type === 'tamper');
  return tamper ? `tamper record #${tamper.counter} since the last seal (${printable(tamper.newValue)})` : undefined;
}

/** A record's text value on one line: printable ASCII, at most 100 characters. */
function printable(b: Uint8Array): string {
  const s = String.fromCharCode(...b.subarray(0, 100)).replace(/[^\x20-\x7e]/g, '?');
  return b.length > 100 ? `${s}…` : s;
}

export interface BenchResult {
  kind: 'calibrate' | 'verify';
  className: string;
  standard: string;
  identity?: Identity;
  publicKeyHex?: string;
  meterConstant: number;
  minSeconds: number;
  /** calibrate: 'sealed' or 'failed'; verify: 'pass' or 'fail'; either: 'refused' (nothing touched,
   *  see `refusal`) or 'interrupted' (`stop`). */
  status: 'sealed' | 'failed' | 'pass' | 'fail' | 'refused' | 'interrupted';
  /** The meter is sealed at the end (as read back from it). */
  sealed: boolean;
  reason?: string;
  refusal?: RefusalCause;
  bench?: BenchInfo;
  /** The meter clock against the bench clock, at the start. */
  clock?: ClockCheck;
  /** A session an earlier run left unfinished (this run resumed it). */
  unfinished?: UnfinishedSession;
  noLoad?: NoLoadResult;
  starting?: StartingResult;
  /** calibrate that did not end sealed: whether the meter was put back as found (read back), or
   *  that nothing was sent that changes it (left as found). */
  restored?: { ok: boolean; sealed: boolean; text: string };
  asFoundCalibration?: Calibration;
  asFoundBytesHex?: string;
  /** The accuracy points of the class on this meter: a `before` or `after` holding fewer was cut
   *  short (a stop, a rig that failed) and holds the points measured until then. */
  pointCount: number;
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

/** The run was told to stop. Not a MeterError, so no measurement mistakes it for a point's failure. */
class Interrupted extends Error {}

/** The rig with a bench time whose waits end the run once `stop` is set (before and after waiting). */
function interruptible(rig: BenchRig, stop: BenchOptions['stop']): BenchRig {
  if (!stop) return rig;
  const check = (): void => {
    if (stop.aborted) throw new Interrupted(`interrupted${typeof stop.reason === 'string' ? ` (${stop.reason})` : ''}`);
  };
  const time = rig.time;
  return {
    load: rig.load,
    reference: rig.reference,
    pulses: rig.pulses,
    calibrationSwitch: rig.calibrationSwitch,
    publicKey: rig.publicKey,
    time: {
      now: () => time.now(),
      wait: async (ms: number) => {
        check();
        await time.wait(ms);
        check();
      },
      wallMs: time.wallMs ? () => (time.wallMs as () => number)() : undefined,
    },
  };
}

function describe(e: unknown): string {
  if (e instanceof MeterError) return `${e.code}: ${e.message}`;
  throw e;
}

function isRange(e: unknown): boolean {
  return e instanceof MeterError && e.code === 'calibration-range';
}

function loadsFor(phases: number, current: number, phaseDeg: number, element?: number): TestLoad[] {
  return Array.from({ length: phases }, (_, p) => ({ voltage: NOMINAL_VOLTAGE, current: element === undefined || element === p ? current : 0, phaseDeg }));
}

function withNoLoad(cal: Calibration, noLoadW: number): Calibration {
  return makeCalibration({ chip: cal.chip, noLoadW, channels: cal.channels });
}

class Run {
  readonly result: BenchResult;
  private readonly run: RunOptions;
  private readonly points: TestPoint[];
  /** The rig whose waits end the run on `stop`; `rigAsGiven` for putting the meter back. */
  readonly rig: BenchRig;

  constructor(
    readonly kind: 'calibrate' | 'verify',
    private readonly client: ServiceClient,
    private readonly rigAsGiven: BenchRig,
    private readonly o: BenchOptions,
  ) {
    this.rig = interruptible(rigAsGiven, o.stop);
    const rig = this.rig;
    const minSeconds = o.minSeconds ?? 2000;
    this.run = { meterConstant: o.meterConstant, minSeconds, minPulses: o.minPulses ?? 5 };
    this.points = testPoints(o.cls, rig.load.phases);
    this.result = {
      kind,
      className: o.cls.name,
      standard: o.cls.standard,
      publicKeyHex: rig.publicKey ? toHex(rig.publicKey) : undefined,
      bench: o.bench,
      meterConstant: o.meterConstant,
      minSeconds,
      status: kind === 'calibrate' ? 'failed' : 'fail',
      sealed: false,
      pointCount: this.points.length,
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

  /** Measures every point into `out` as it goes: a run that stops midway keeps what it measured. */
  async measureAll(stage: 'as-found' | 'after' | 'measure', out: PointResult[]): Promise<void> {
    for (let i = 0; i < this.points.length; i++) {
      const tp = this.points[i];
      this.progress({ stage, text: `${tp.label} …`, index: i + 1, total: this.points.length });
      let pr: PointResult;
      try {
        const g = await gatedRun(this.rig, loadsFor(this.rig.load.phases, tp.current, tp.phaseDeg, tp.element), this.run);
        const referenceWh = g.referenceWh.reduce((a, b) => a + b, 0);
        const errorPct = errorPercent(g.meterWh, referenceWh);
        const ref = this.o.bench?.reference;
        const uncertaintyPct = ref ? expandedUncertaintyPct(g.seconds, ref.classPct, this.o.bench?.updateSeconds ?? 1) : undefined;
        pr = { ...tp, pulses: g.pulses, seconds: g.seconds, referenceWh, meterWh: g.meterWh, errorPct, uncertaintyPct, pass: Math.abs(errorPct) <= tp.limitPct };
      } catch (e) {
        // A point the meter did not measure is a result; anything else is the rig failing (a rig
        // that stopped answering, a lost link), and the points after it would only fail the same way.
        if (!(e instanceof BenchError)) throw e;
        pr = { ...tp, pulses: 0, seconds: 0, referenceWh: 0, meterWh: 0, pass: false, failure: describe(e) };
      }
      out.push(pr);
      const verdict = pr.errorPct === undefined ? `FAIL (${pr.failure})` : `${pr.errorPct >= 0 ? '+' : ''}${pr.errorPct.toFixed(3)} % (limit ±${tp.limitPct} %) ${pr.pass ? 'ok' : 'FAIL'}`;
      this.progress({ stage, text: `${tp.label}: ${verdict}`, index: i + 1, total: this.points.length, point: pr });
    }
    await this.rig.load.apply(loadsFor(this.rig.load.phases, 0, 0));
  }

  /**
   * A stop point outside the bench's waits, before a step that decides the run (the unseal, the
   * seal, verify's verdict): a stop that came after the last wait ends the run here, not after it.
   * A wait of 0 ms: on a simulated bench it also lets a signal in.
   */
  async stopPoint(): Promise<void> {
    await this.rig.time.wait(0);
  }

  /** The checks before anything is changed (preflight.ts); a Refusal ends the run untouched. */
  async identify(): Promise<Preflight & { cal: Calibration }> {
    const pre = await preflight(this.client, this.rig, {
      crypto: this.o.crypto,
      privileged: this.kind === 'calibrate',
      clockToleranceS: this.o.bench?.clockToleranceS ?? 10,
      progress: (text) => this.progress({ stage: 'connect', text }),
    });
    const ident = pre.identity;
    const cal = pre.calibration;
    this.result.identity = ident;
    this.result.sealed = ident.sealed;
    this.result.asFoundBytesHex = toHex(pre.bytes);
    this.result.asFoundCalibration = cal;
    this.result.clock = pre.clock;
    this.result.unfinished = pre.unfinished;
    if (cal.channels.length !== this.rig.load.phases) {
      throw new Refusal('meter', `the meter has ${cal.channels.length} measuring elements, the load source ${this.rig.load.phases} phases`);
    }
    this.progress({ stage: 'connect', text: `${ident.meterId} ${ident.model} firmware ${ident.firmware}, ${ident.sealed ? 'sealed' : 'not sealed'}, ${cal.chip} ${cal.channels.length} element(s)` });
    if (pre.clock && !pre.clock.ok) {
      this.progress({ stage: 'connect', text: pre.clock.notSet ? 'meter clock NOT SET' : `meter clock WRONG: ${pre.clock.offsetS.toFixed(1)} s off the bench clock (tolerance ±${pre.clock.toleranceS} s)` });
    }
    if (pre.unfinished) {
      const u = pre.unfinished;
      this.progress({ stage: 'connect', text: `resuming: unsealed at ${isoTime(u.unsealedAt)} by ${u.by} and not sealed since (${u.writes} constant write(s)); the constants sealed before are restored unless this run seals` });
    }
    return { ...pre, cal };
  }

  /** The no-load and starting-current tests; a Failure names the first that fails. */
  async noLoadTests(): Promise<void> {
    if (this.o.noLoadTests === false) return;
    const cls = this.o.cls;
    this.progress({ stage: 'no-load', text: `no load at 115 % Un …` });
    const n = await noLoadTest(this.rig, cls, this.o.meterConstant);
    this.result.noLoad = n;
    this.progress({ stage: 'no-load', text: `no load at ${n.voltage.toFixed(1)} V for ${n.seconds} s: ${n.pulses} pulse(s), at most ${n.maxPulses}: ${n.pass ? 'PASS' : 'FAIL'}` });
    this.progress({ stage: 'starting', text: `starting current …` });
    const st = await startingTest(this.rig, cls, this.o.meterConstant);
    this.result.starting = st;
    this.progress({ stage: 'starting', text: `starting current ${st.current} A for ${st.seconds} s: ${st.pulses} pulse(s), at least ${st.minPulses}: ${st.pass ? 'PASS' : 'FAIL'}` });
    await this.rig.load.apply(loadsFor(this.rig.load.phases, 0, 0));
    if (!n.pass) throw new Failure(`no-load test: ${n.pulses} pulses in ${n.seconds} s at 115 % Un without current (at most ${n.maxPulses})`);
    if (!st.pass) throw new Failure(`starting-current test: ${st.pulses} pulse(s) in ${st.seconds} s at ${st.current} A (at least ${st.minPulses})`);
  }

  /**
   * Puts the meter back as found after a calibration that did not end sealed: the as-found constants
   * written again (if this run or an unfinished one changed them), sealed again if it was sealed, then
   * read back. Uses the rig as given: a stop does not stop this.
   */
  async restore(asFound: { bytes: Uint8Array; sealed: boolean }, changed: boolean): Promise<void> {
    const r = this.result;
    this.progress({ stage: 'restore', text: `putting the meter back as found (${asFound.sealed ? 'sealed, ' : ''}the constants it had)` });
    try {
      await this.rigAsGiven.load.apply(loadsFor(this.rigAsGiven.load.phases, 0, 0)).catch(() => undefined);
      const ident = await this.client.identify();
      if (changed || toHex(await this.client.readCalibration()) !== toHex(asFound.bytes)) {
        if (ident.sealed) throw new Failure('the meter is sealed with constants other than those found');
        await this.client.writeCalibration(asFound.bytes);
      }
      if (asFound.sealed && !ident.sealed) await this.client.seal();
      const after = await this.client.identify();
      const bytes = await this.client.readCalibration();
      const same = toHex(bytes) === toHex(asFound.bytes) && after.sealed === asFound.sealed;
      r.sealed = after.sealed;
      r.restored = same
        ? { ok: true, sealed: after.sealed, text: `the meter is back as found: ${after.sealed ? 'sealed, ' : 'not sealed, '}the constants it had (read back)` }
        : { ok: false, sealed: after.sealed, text: `the meter could not be put back as found (${after.sealed ? 'sealed' : 'NOT sealed'}, constants ${toHex(bytes) === toHex(asFound.bytes) ? 'as found' : 'changed'})` };
    } catch (e) {
      const why = e instanceof Failure ? e.reason : e instanceof MeterError ? `${e.code}: ${e.message}` : String(e);
      r.restored = { ok: false, sealed: false, text: `the meter could not be put back as found (${why}): it may be left UNSEALED; the next bench calibrate resumes it` };
    }
    this.progress({ stage: 'restore', text: r.restored.text });
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
    const broken = sealBroken(r.entries);
    if (broken) check.sealBroken = broken;
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

/** How a run that did not complete ended: its status and reason. */
function ended(res: BenchResult, e: unknown, failed: 'failed' | 'fail'): void {
  if (e instanceof Refusal) {
    res.status = 'refused';
    res.refusal = e.kind;
    res.reason = `${e.reason} (the meter was not changed)`;
  } else if (e instanceof Interrupted) {
    res.status = 'interrupted';
    res.reason = e.message;
  } else {
    res.status = failed;
    res.reason = e instanceof Failure ? e.reason : describe(e);
  }
}

/** Calibrates the meter on `client` with `rig`; seals it only when every point is within the class limits. */
export async function calibrate(client: ServiceClient, rigAsGiven: BenchRig, options: BenchOptions): Promise<BenchResult> {
  const run = new Run('calibrate', client, rigAsGiven, options);
  const rig = run.rig;
  const res = run.result;
  const start = rig.time.now();
  let finalBytes: Uint8Array | undefined;
  let connected = false;
  let pre: Preflight | undefined;
  /** Something was sent that changes the meter (an unseal or a write), answered or not. */
  let touched = false;
  let changed = false;
  try {
    pre = await run.identify();
    const asFound = pre.calibration;
    connected = true;
    await run.measureAll('as-found', res.before);
    await run.stopPoint();
    if (res.identity?.sealed) {
      run.progress({ stage: 'unseal', text: 'unsealing (calibration switch + bench key)' });
      await rig.calibrationSwitch.set(true);
      touched = true;
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
    touched = changed = true;
    await run.write('rms', cal);
    cal = await run.energyStep(cal);
    cal = withNoLoad(cal, 0.5 * options.cls.startFraction * options.cls.baseCurrent * NOMINAL_VOLTAGE);
    const bytes = await run.write('final', cal);
    await run.measureAll('after', res.after);
    const bad = res.after.filter((p) => !p.pass);
    if (bad.length) throw new Failure(`${bad.length} of ${res.after.length} points outside the class ${options.cls.name} limits after calibration (first: ${bad[0].label})`);
    await run.noLoadTests();
    // The last stop point: once the seal is sent, the run finishes (what follows only reads).
    await run.stopPoint();
    run.progress({ stage: 'seal', text: 'all points and tests within the limits: sealing' });
    try {
      await client.seal();
    } catch (e) {
      throw new Failure(`seal refused: ${describe(e)}`);
    }
    finalBytes = bytes;
    res.sealed = true;
    res.status = 'sealed';
  } catch (e) {
    ended(res, e, 'failed');
  } finally {
    await rigAsGiven.calibrationSwitch.set(false).catch(() => undefined);
  }
  // Not sealed by this run: back as found, whatever stopped it (a meter an earlier run left unsealed
  // goes back to the constants sealed before that run).
  if (pre && res.status !== 'sealed' && (touched || pre.unfinished)) await run.restore(pre.asFound, changed || pre.unfinished !== undefined);
  else if (pre && res.status !== 'sealed') {
    // Stopped before the unseal: nothing that changes the meter was sent.
    res.restored = { ok: true, sealed: pre.asFound.sealed, text: `the meter was not changed: left as found (${pre.asFound.sealed ? 'sealed' : 'not sealed'}, the constants it had)` };
    run.progress({ stage: 'restore', text: res.restored.text });
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

/** Re-measures a sealed meter at every point of its class and runs the no-load and starting tests; writes nothing. */
export async function verify(client: ServiceClient, rigAsGiven: BenchRig, options: BenchOptions): Promise<BenchResult> {
  const run = new Run('verify', client, rigAsGiven, options);
  const rig = run.rig;
  const res = run.result;
  const start = rig.time.now();
  try {
    const { bytes } = await run.identify();
    const counter0 = (await client.readUnsealChallenge()).counter;
    await run.measureAll('measure', res.after);
    let tests: string | undefined;
    try {
      await run.noLoadTests();
    } catch (e) {
      if (!(e instanceof Failure)) throw e;
      tests = e.reason;
    }
    await run.stopPoint();
    const bytes1 = await client.readCalibration();
    const counter1 = (await client.readUnsealChallenge()).counter;
    res.unchanged = toHex(bytes) === toHex(bytes1) && counter0 === counter1;
    await run.checkLog();
    const bad = res.after.filter((p) => !p.pass);
    const u = res.unfinished;
    if (!res.identity?.sealed) res.reason = u ? `the meter is not sealed: a calibration unsealed it at ${isoTime(u.unsealedAt)} (${u.by}) and did not finish; bench calibrate resumes it` : 'the meter is not sealed';
    else if (res.log?.sealBroken) res.reason = `the seal does not stand: ${res.log.sealBroken}; bench calibrate seals it again`;
    else if (bad.length) res.reason = `${bad.length} of ${res.after.length} points outside the class ${options.cls.name} limits (first: ${bad[0].label})`;
    else if (tests) res.reason = tests;
    else if (!res.unchanged) res.reason = 'the calibration or the log changed during the run';
    else if (!res.log?.ok) res.reason = `the calibration log does not verify: ${res.log?.fault}`;
    await run.stopPoint();
    res.status = res.reason ? 'fail' : 'pass';
  } catch (e) {
    ended(res, e, 'fail');
  }
  await rigAsGiven.load.apply(loadsFor(rigAsGiven.load.phases, 0, 0)).catch(() => undefined);
  return finish(run, start, rig);
}

export { BenchError };
