/**
 * The calibration part of the meter: the seal (modules/sealing SealGuard) over the active
 * calibration (calibration-constants.ts) and the calibration log, and the one way a new calibration
 * reaches the chip: the seal applies it, the constants persist it, then `metrology.reconfigure`
 * configures the chip from it. Tamper and log-full status come from here; a full log refuses the
 * change that needed logging (LogFullError), which this part remembers for the status.
 */
import type { Calibration } from '../metrology/calibration.js';
import type { CalibrationLog, LogExport } from '../sealing/calibration-log.js';
import { LogFullError } from '../sealing/errors.js';
import type { CalibrationConstant, CalibrationConstants, SealGuard, SealStatus } from '../sealing/seal.js';
import type { UnsealChallenge, UnsealCommand } from '../sealing/unseal-command.js';
import { CALIBRATION_CONSTANT_ID, type MetrologyConstants } from './calibration-constants.js';

/** Where a new calibration goes once it is active (the energy meter). */
export interface MetrologyTarget {
  reconfigure(calibration: Calibration): void;
}

/** Bytes of log room below which the log counts as full (a change record with two 128-byte values). */
export const LOG_FULL_MARGIN = 480;

/** What the seal guards: the metrology constants, applied to the chip when they change. */
export class ChipConstants implements CalibrationConstants {
  constructor(
    private readonly constants: MetrologyConstants,
    private readonly metrology: MetrologyTarget,
  ) {}
  list(): readonly CalibrationConstant[] {
    return this.constants.list();
  }
  check(id: number, value: Uint8Array): void {
    this.constants.check(id, value);
  }
  apply(id: number, value: Uint8Array): void {
    this.constants.apply(id, value);
    this.metrology.reconfigure(this.constants.calibration);
  }
}

export class CalibrationController {
  private logFullSeen = false;

  constructor(
    readonly log: CalibrationLog,
    private readonly seal: SealGuard,
    private readonly constants: MetrologyConstants,
  ) {}

  /** The seal's start-up check (tamper, a change logged but not applied); a full log is remembered. */
  startupCheck(): void {
    // What it found stays in the seal (as values, not the status object: startupStatus makes it).
    this.guard(() => this.seal.startupCheck());
  }

  get sealed(): boolean {
    return this.seal.isSealed;
  }

  get tamper(): boolean {
    return this.seal.tampered;
  }

  /** What the start-up check found (tamper reason, re-applied changes). */
  get startupStatus(): SealStatus {
    return this.seal.startupStatus() ?? this.seal.status();
  }

  get logFull(): boolean {
    if (this.logFullSeen) return true;
    // Room for one more calibration change (two 128-byte values, texts, hashes, signature).
    return this.log.stats().payloadBytesFree < LOG_FULL_MARGIN;
  }

  /** The active calibration in metrology's serialisation (what the sealed digest covers). */
  get serialized(): Uint8Array {
    return this.constants.serialized;
  }

  writeCalibration(bytes: Uint8Array, who: string): void {
    this.guard(() => this.seal.writeConstant(CALIBRATION_CONSTANT_ID, bytes, who), true);
  }

  sealNow(who: string): void {
    this.guard(() => this.seal.seal(who), true);
  }

  unsealChallenge(): UnsealChallenge {
    return this.seal.unsealChallenge();
  }

  unseal(command: UnsealCommand, who: string): void {
    this.guard(() => this.seal.unseal(command, who), true);
  }

  /** Logs a meter-key change (before it takes effect; the key itself is never logged). */
  logKeyChange(who: string): void {
    this.guard(() => this.log.append({ type: 'key-change', who }), true);
  }

  exportLog(): LogExport {
    return this.log.export();
  }

  /** Runs `f`; a LogFullError marks the log full and is rethrown when `rethrow`, else gives undefined. */
  private guard<T>(f: () => T, rethrow = false): T | undefined {
    try {
      return f();
    } catch (e) {
      if (!(e instanceof LogFullError)) throw e;
      this.logFullSeen = true;
      if (rethrow) throw e;
      return undefined;
    }
  }
}
