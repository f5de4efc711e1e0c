/**
 * Typed errors of the sealing module (log store, calibration log, verifier, seal). Each carries a
 * stable `code` (see the classes' users) and `details` naming the sector, record or parameter.
 */
import { MeterError } from '../core/errors.js';

/** The log store cannot do what was asked: record too large, store not opened, bad geometry. */
export class LogStoreError extends MeterError {}

/** The log is full: nothing more can be recorded, so a change that must be logged is refused. */
export class LogFullError extends MeterError {}

/** A calibration log or its export failed verification; `details.record` is the first bad record. */
export class LogVerifyError extends MeterError {}

/** The seal refused an operation (sealed, bad authentication, switch not set, bad parameter). */
export class SealError extends MeterError {}
