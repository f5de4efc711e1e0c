/**
 * The typed error of the receiver (modules/wmbus-rx): input lines ('bad-input'), transport layers
 * ('unsupported-ci', 'truncated'), keys ('no-key'), replay ('counter-replay', details.meter and
 * details.slot), records in strict mode ('truncated-record', 'unsupported-record', 'bad-record',
 * 'unknown-vif', 'bad-bcd', 'bad-date', 'value-range'; in lenient mode most of these become raw
 * values with a reason). Link-layer errors (FrameError, DllError, PhyError) and security errors
 * (SecurityError: 'mac-mismatch', 'wrong-key', 'unauthenticated', 'insecure', 'afl' …) pass through
 * unchanged: every one is a MeterError with a stable code, and once the link layer was read it
 * carries details.meterId and details.manufacturer.
 */
import { MeterError } from '../core/errors.js';

export class ReceiveError extends MeterError {}
