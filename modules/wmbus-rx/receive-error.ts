/**
 * The typed error of the receiver (modules/wmbus-rx): record parsing (unknown VIF, truncated
 * record, bad BCD), replay (counter-replay), missing key, unsupported CI or layout. Link-layer
 * errors (FrameError, PhyError) and security errors (SecurityError: mac-mismatch, wrong-key…) pass
 * through unchanged: every one is a MeterError with a stable code.
 */
import { MeterError } from '../core/errors.js';

export class ReceiveError extends MeterError {}
