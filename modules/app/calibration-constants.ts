/**
 * The metrology calibration as the seal sees it (modules/sealing `CalibrationConstants`): one
 * constant, id 1 (CALIBRATION_CONSTANT_ID), whose value is the whole calibration in metrology's own
 * deterministic serialisation (modules/metrology/calibration.ts, CRC-checked, ≤ 86 bytes for three
 * channels). One id keeps the gains, phase and offsets of a channel from being changed apart from
 * each other, and the sealed digest covers exactly the bytes the driver is configured from.
 * `apply` persists the bytes (a RecordRing of the flash map, modules/storage); the calibration
 * controller then reconfigures the chip from them. At boot the application reads them back,
 * configures the chip from them, and the seal's start-up check compares their digest with the
 * sealed one.
 */
import { MeterError } from '../core/errors.js';
import { CalibrationError } from '../metrology/errors.js';
import { defaultCalibration, parseCalibration, serializeCalibration, type Calibration, type ChipKind } from '../metrology/calibration.js';
import type { CalibrationConstant, CalibrationConstants } from '../sealing/seal.js';
import type { RecordRing } from '../storage/record-ring.js';

export const CALIBRATION_CONSTANT_ID = 1;

export class MetrologyConstants implements CalibrationConstants {
  private bytes: Uint8Array;
  private cal: Calibration;
  /** Set when the stored calibration could not be read (the default is used; the seal check then fails). */
  readonly loadError: string | undefined;

  constructor(
    private readonly record: RecordRing,
    readonly chip: ChipKind,
    readonly channels: number,
  ) {
    const stored = record.load()?.payload;
    let cal = defaultCalibration(chip, channels);
    let err: string | undefined;
    if (stored) {
      try {
        const c = parseCalibration(stored);
        this.checkShape(c);
        cal = c;
      } catch (e) {
        if (!(e instanceof MeterError)) throw e;
        err = `${e.code}: ${e.message}`;
      }
    }
    this.loadError = err;
    this.cal = cal;
    // An unreadable record keeps its bytes as the active value: the seal's digest check sees the damage.
    this.bytes = stored && err ? stored : serializeCalibration(cal);
  }

  private checkShape(c: Calibration): void {
    if (c.chip !== this.chip || c.channels.length !== this.channels) {
      throw new CalibrationError('calibration-range', `calibration for ${c.chip} with ${c.channels.length} channels does not fit this ${this.chip} with ${this.channels}`, {
        field: 'chip',
      });
    }
  }

  get calibration(): Calibration {
    return this.cal;
  }

  get serialized(): Uint8Array {
    return this.bytes.slice();
  }

  list(): readonly CalibrationConstant[] {
    return [{ id: CALIBRATION_CONSTANT_ID, value: this.bytes.slice() }];
  }

  check(id: number, value: Uint8Array): void {
    if (id !== CALIBRATION_CONSTANT_ID) throw new CalibrationError('calibration-range', `unknown calibration constant ${id} (only ${CALIBRATION_CONSTANT_ID})`, { field: 'id' });
    this.checkShape(parseCalibration(value));
  }

  apply(id: number, value: Uint8Array): void {
    this.check(id, value);
    const cal = parseCalibration(value);
    this.record.save(value);
    this.bytes = value.slice();
    this.cal = cal;
  }
}
