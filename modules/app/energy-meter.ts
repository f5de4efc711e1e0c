/**
 * The meter's measuring part: the metering engine (modules/metrology Metering: sample, accumulate,
 * pulses, persist) with the application's fault policy around it.
 *  - A bus fault or a chip that lost its configuration (reset) is counted and the chip is configured
 *    again before the next sample; the registers are never touched by a faulty answer.
 *  - An energy journal holding records of another register layout (tariff or phase count changed) is
 *    refused, never written: no sampling, no saving, and the telegrams carry 1.8.0 / 2.8.0 frozen at
 *    the stored totals with a metrology fault (see `refused`).
 * The calibration the chip runs on comes in through `reconfigure` (the calibration controller calls
 * it after a new calibration became active) and is kept for the retries.
 *
 * Lost or damaged energy on a meter in service is never a silent zero: at start the journal is held
 * against a floor (the meter witness's snapshot in the other partition, meter-witness.ts). A journal
 * below it, or empty where it holds energy, is damage, and so is a journal record damaged in place
 * (its commit byte written, its CRC wrong: no power cut leaves that): the registers continue from
 * the higher of the two, and `damaged` makes every telegram carry a metrology fault from then on.
 */
import { MeterError } from '../core/errors.js';
import type { Calibration } from '../metrology/calibration.js';
import { EnergyConfigError } from '../metrology/errors.js';
import type { Metering } from '../metrology/metering.js';
import type { InstantReadings, MetrologyDriver, Sample } from '../metrology/readings.js';

export class EnergyMeter {
  /** Samples taken and faults seen (bus faults, failed configurations) since start. */
  samples = 0;
  faults = 0;
  /** Set when the journal refused its records' layout: no metering, no saving, a metrology fault. */
  refused: EnergyConfigError | undefined;
  /** The journal was found lost or below the floor (sticky: the host keeps it in the meter witness). */
  damaged = false;
  private needsConfigure = false;
  private calibration: Calibration;

  constructor(
    readonly metering: Metering,
    /** The chip driver (read-only access for hosts that account for its work). */
    readonly driver: MetrologyDriver,
    calibration: Calibration,
  ) {
    this.calibration = calibration;
  }

  /**
   * Restores the registers and configures the chip; a fault here is remembered, not thrown.
   * `floor`: whole µWh per register the registers must not be below (undefined: none known); a
   * register under it, or an empty journal where the floor has energy, is damage.
   */
  start(floor?: readonly number[]): void {
    try {
      const raised = this.metering.start(floor);
      // Registers raised to the floor, none restored where the floor has energy, or a journal record
      // damaged in place: energy was lost, never silently.
      if (raised || this.metering.journalDamaged || (!this.metering.restored && floor !== undefined && floor.some((x) => x > 0))) {
        this.damaged = true;
        this.faults++;
      }
    } catch (e) {
      if (!(e instanceof MeterError)) throw e;
      // Journal of another layout: not restored, never saved over (no sampling either).
      if (e instanceof EnergyConfigError && e.code === 'layout-mismatch') this.refused = e;
      // Else the registers are restored; the chip did not configure (bus fault): retried every sample.
      else this.needsConfigure = true;
      this.faults++;
    }
  }

  /** The registers in the journal's order (whole µWh). */
  get registerValues(): ArrayLike<number> {
    return this.metering.registers.values;
  }

  /** Whether the meter is measuring (its journal was not refused). */
  get measuring(): boolean {
    return this.refused === undefined;
  }

  /** Whether the chip still has to be configured (a fault the status shows until it is). */
  get unconfigured(): boolean {
    return this.needsConfigure;
  }

  get lastSample(): Sample | undefined {
    return this.metering.lastSample;
  }

  /** The chip's instantaneous readings, read now (MetrologyDriver.instantaneous: the driver's own
   *  object; a MetrologyFault when its answers cannot be trusted). */
  instantaneous(): InstantReadings {
    return this.driver.instantaneous();
  }

  /** One metrology cycle: configure if needed, sample, accumulate, pulses, persist. */
  sample(): void {
    if (this.refused) return;
    try {
      if (this.needsConfigure) {
        this.driver.configure({ calibration: this.calibration });
        this.needsConfigure = false;
      }
      const before = this.metering.faults;
      this.metering.cycle();
      this.samples++;
      if (this.metering.faults !== before) this.faults++;
    } catch (e) {
      if (!(e instanceof MeterError)) throw e;
      this.faults++;
      if (e.code === 'configure-verify' || e.code === 'chip-reset') this.needsConfigure = true;
    }
  }

  /** Saves what is unsaved (before a telegram, at shutdown, on a power-fail warning). */
  persist(): void {
    if (!this.refused) this.metering.persist();
  }

  /** A new calibration is active: configure the chip from it (now, or at the next sample). */
  reconfigure(calibration: Calibration): void {
    this.calibration = calibration;
    try {
      this.driver.configure({ calibration });
      this.needsConfigure = false;
    } catch (e) {
      if (!(e instanceof MeterError)) throw e;
      this.needsConfigure = true;
      this.faults++;
    }
  }
}
