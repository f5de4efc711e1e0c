/**
 * Typed errors of the metering core. `code` is stable: bus-garbage, bus-stuck, checksum, chip-reset,
 * not-configured (instantaneous readings asked of a chip not configured yet),
 * implausible-energy, configure-verify, calibration-range, calibration-format, calibration-crc,
 * calibration-version, calibration-data, pulse-config, store-config, store-monotonic, store-value,
 * layout-mismatch (stored energy records of another register layout: refused, never erased), tariff.
 */
import { MeterError } from '../core/errors.js';

/** A chip answered something a working chip cannot answer, or its configuration is not what we wrote. */
export class MetrologyFault extends MeterError {}

/** A calibration object (or its bytes) that is out of range, malformed, or fails its CRC. */
export class CalibrationError extends MeterError {}

/** A configuration of the energy registers, pulse output, tariff schedule or store that cannot work. */
export class EnergyConfigError extends MeterError {}
