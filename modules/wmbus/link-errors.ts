/**
 * Typed errors of the EN 13757-4 link layer and PHY: DllError (C, M, A fields), FrameError (frame
 * formats A/B, CRC blocks, L field) and PhyError (preamble/sync search, 3-of-6 symbols, truncation).
 * Both the transmit side (modules/wmbus-tx) and the receiver (modules/wmbus-rx re-exports them) raise
 * these, so a caller catches one class whichever direction it works in.
 */
import { MeterError } from '../core/errors.js';

/** Codes: 'manufacturer', 'id', 'range', 'length'. */
export class DllError extends MeterError {}

/** Codes: 'crc' (details.block, 1-based), 'truncated', 'length', 'too-long', 'empty-body'. */
export class FrameError extends MeterError {}

/** Codes: 'sync', 'symbol' (details.symbolIndex / bitOffset), 'truncated', 'format', 'mode'. */
export class PhyError extends MeterError {}
