/**
 * The typed error of the desktop transports (TCP bridge, serial devices): a missing device, a
 * permission problem, a path that is not a terminal, a bad baud rate, a refused connection.
 */
import { MeterError } from '../../modules/core/errors.js';

export class TransportError extends MeterError {}
