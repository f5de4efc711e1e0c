/**
 * Typed errors of the sealing module (calibration log, verifier, seal). Each carries a stable `code`
 * (see the classes' users) and `details` naming the record or parameter. A full log is the storage
 * module's LogFullError ('log-full'), re-exported here for the log's users.
 */
import { MeterError } from '../core/errors.js';

export { LogFullError } from '../storage/errors.js';

/** A calibration log or its export failed verification; `details.record` is the first bad record. */
export class LogVerifyError extends MeterError {}

/** The seal refused an operation (sealed, bad authentication, switch not set, bad parameter). */
export class SealError extends MeterError {}
