/**
 * The meter application behind the service interface (modules/service `ServiceTarget`), over the
 * parts it needs (ServiceParts): reads come from the energy meter and its readout, the calibration
 * constants and the calibration log (exported in the
 * binary format of modules/sealing/log-export.ts, signed head included, which `xsmeter log verify`
 * reads); writes go through the seal (`SealGuard.writeConstant`, refused and logged while sealed).
 * Refusals map typed errors to reasons: sealed → 'sealed', calibration out of range or malformed →
 * 'out-of-range' / 'malformed', log full → 'failed' (and the log-full status), unseal without the
 * switch → 'switch-off', bad or stale unseal MAC → 'unauthorised' / 'replayed'.
 */
import { MeterError } from '../core/errors.js';
import type { PulseOutput } from '../metrology/pulse-output.js';
import { CalibrationError, MetrologyFault } from '../metrology/errors.js';
import type { InstantReadings } from '../metrology/readings.js';
import { LogFullError, SealError } from '../sealing/errors.js';
import { exportToBinary } from '../sealing/log-export.js';
import { LOG_RECREATED_BY } from '../sealing/seal.js';
import type { EnergyRegister, Instantaneous, LogPage, UnsealChallenge, UnsealCommand } from '../service/messages.js';
import { done, ok, refuse, type ServiceTarget, type TargetIdentity, type TargetResult } from '../service/server.js';
import type { CalibrationController } from './calibration-controller.js';
import type { EnergyMeter } from './energy-meter.js';
import type { MeterReadout } from './meter-readout.js';
import { CLOCK_SETTABLE_BEFORE_MS, CLOCK_VALID_AFTER_MS } from './meter-status.js';
import type { WallClock } from './wall-clock.js';

/** Who the calibration log names for changes made over the service interface by a request that
 *  does not name its sender (a bench names itself and its operator, e.g. "bench-07/j.weber"). */
export const SERVICE_WHO = 'service';
/** Names the meter writes for itself; a request may not claim them. */
const OWN_WHO: readonly string[] = Object.freeze(['factory', 'startup', LOG_RECREATED_BY]);

/** The parts of the meter the service interface reaches. */
export interface ServiceParts {
  identity: { meterId: string; manufacturer: string; model: string; firmware: string };
  energy: EnergyMeter;
  readout: MeterReadout;
  calibration: CalibrationController;
  clock: WallClock;
  pulse: PulseOutput;
  /** Stores a new meter key where the key store returns it; absent: install-meter-key is refused. */
  installMeterKey?: (key: Uint8Array) => void;
}

export class MeterServiceTarget implements ServiceTarget {
  private exportCache: { counter: number; bytes: Uint8Array } | undefined;
  // The parts and the identity's four strings as own fields, not the objects they came in.
  private readonly meterId: string;
  private readonly manufacturer: string;
  private readonly model: string;
  private readonly firmware: string;
  private readonly energy: EnergyMeter;
  private readonly readout: MeterReadout;
  private readonly calibration: CalibrationController;
  private readonly clock: WallClock;
  private readonly pulse: PulseOutput;
  private readonly installKey: ((key: Uint8Array) => void) | undefined;

  constructor(parts: ServiceParts) {
    this.meterId = parts.identity.meterId;
    this.manufacturer = parts.identity.manufacturer;
    this.model = parts.identity.model;
    this.firmware = parts.identity.firmware;
    this.energy = parts.energy;
    this.readout = parts.readout;
    this.calibration = parts.calibration;
    this.clock = parts.clock;
    this.pulse = parts.pulse;
    this.installKey = parts.installMeterKey;
  }

  identify(): TargetIdentity {
    return { meterId: this.meterId, manufacturer: this.manufacturer, model: this.model, firmware: this.firmware, sealed: this.calibration.sealed, timeMs: Math.max(0, Math.floor(this.clock.now())) };
  }

  readRegisters(): TargetResult<EnergyRegister[]> {
    const list = this.readout.serviceRegisters();
    const refused = this.energy.refused;
    if (!list || refused) return refuse('failed', `layout-mismatch: ${refused?.message ?? 'journal refused'}`);
    return ok(list);
  }

  readInstantaneous(): TargetResult<Instantaneous> {
    if (!this.energy.lastSample) return refuse('busy', 'no sample taken yet');
    let s: InstantReadings;
    try {
      s = this.energy.instantaneous();
    } catch (e) {
      if (e instanceof MetrologyFault) return refuse('failed', `${e.code}: ${e.message}`);
      throw e;
    }
    return ok({
      timeMs: Math.max(0, Math.floor(this.clock.now())),
      frequencyMilliHz: Math.round(s.frequency * 1000),
      phases: s.phases.map((p) => ({
        voltageMv: Math.round(p.voltage * 1000),
        currentMa: Math.round(p.current * 1000),
        activePowerMw: Math.round(p.activePower * 1000),
        reactivePowerMvar: Math.round(p.reactivePower * 1000),
      })),
    });
  }

  /** The binary export, re-signed only when the log changed. */
  private exported(): Uint8Array {
    const log = this.calibration.log;
    const counter = log.counter;
    if (!this.exportCache || this.exportCache.counter !== counter) this.exportCache = { counter, bytes: exportToBinary(log.export()) };
    return this.exportCache.bytes;
  }

  readLogPage(offset: number, length: number): TargetResult<LogPage> {
    const all = this.exported();
    if (offset > all.length) return refuse('out-of-range', `offset ${offset} past the end of the ${all.length}-byte export`);
    return ok({ total: all.length, offset, bytes: all.slice(offset, offset + length) });
  }

  readCalibration(): TargetResult<Uint8Array> {
    return ok(this.calibration.serialized);
  }

  /** Runs a seal operation for `who` (the request's sender), mapping its typed errors to refusals. */
  private guarded(who: string | undefined, f: (who: string) => void): TargetResult {
    if (who !== undefined && OWN_WHO.includes(who)) return refuse('out-of-range', `"${who}" names the meter's own records; a request cannot claim it`);
    try {
      f(who ?? SERVICE_WHO);
      return done();
    } catch (e) {
      if (e instanceof LogFullError) return refuse('failed', `log-full: ${e.message}`);
      if (e instanceof SealError) {
        if (e.code === 'sealed') return refuse('sealed', e.message);
        if (e.code === 'unseal-refused') {
          if (e.details.switchNotSet) return refuse('switch-off', e.message);
          if (e.details.stale) return refuse('replayed', e.message);
          return refuse('unauthorised', e.message);
        }
        return refuse('out-of-range', `${e.code}: ${e.message}`);
      }
      if (e instanceof CalibrationError) {
        return refuse(e.code === 'calibration-range' ? 'out-of-range' : 'malformed', `${e.code}: ${e.message}`);
      }
      if (e instanceof MeterError) return refuse('failed', `${e.code}: ${e.message}`);
      throw e;
    }
  }

  writeCalibration(bytes: Uint8Array, who?: string): TargetResult {
    return this.guarded(who, (w) => this.calibration.writeCalibration(bytes, w));
  }

  seal(who?: string): TargetResult {
    return this.guarded(who, (w) => this.calibration.sealNow(w));
  }

  readUnsealChallenge(): TargetResult<UnsealChallenge> {
    return ok(this.calibration.unsealChallenge());
  }

  unseal(command: UnsealCommand, who?: string): TargetResult {
    return this.guarded(who, (w) => this.calibration.unseal(command, w));
  }

  setTime(ms: number): TargetResult {
    if (!(ms >= CLOCK_VALID_AFTER_MS && ms < CLOCK_SETTABLE_BEFORE_MS)) return refuse('out-of-range', `time ${ms} ms is not in 2020…2099`);
    this.clock.set(ms);
    return done();
  }

  installMeterKey(key: Uint8Array, who?: string): TargetResult {
    const install = this.installKey;
    if (!install) return refuse('failed', 'this host cannot store a meter key');
    // Logged before it takes effect (the key itself is never logged).
    return this.guarded(who, (w) => {
      this.calibration.logKeyChange(w);
      install(key.slice());
    });
  }

  pulseTest(on: boolean, count: number): TargetResult {
    this.pulse.startTest(on, count);
    return done();
  }
}
