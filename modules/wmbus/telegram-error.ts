/**
 * The typed error of the telegram builder (EN 13757-3 records, TPL, counters): an unknown register,
 * a value out of range for its record, a counter that would repeat, a payload too long.
 */
import { MeterError } from '../core/errors.js';

export class TelegramError extends MeterError {}
