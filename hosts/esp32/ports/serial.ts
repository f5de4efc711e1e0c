/**
 * SerialPort (modules/ports/bus.ts) over an ECMA-419 Serial instance in `buffer` format (Moddable
 * `embedded:io/serial`): read() returns what arrived (empty when nothing did), write() queues bytes.
 */
import type { SerialPort } from '../../../modules/ports/bus.js';
import { wholeBuffer } from './buffers.js';

/** What the adapter uses of `embedded:io/serial` (format 'buffer'). */
export interface Ecma419Serial {
  read(): ArrayBuffer | undefined;
  write(data: ArrayBuffer): void;
}

/** What read() returns when nothing arrived: polled every tick, so shared rather than allocated. */
const NOTHING = new Uint8Array(0);

export class Ecma419SerialPort implements SerialPort {
  constructor(private readonly serial: Ecma419Serial) {}

  read(): Uint8Array {
    const b = this.serial.read();
    return b ? new Uint8Array(b) : NOTHING;
  }

  write(bytes: Uint8Array): void {
    if (bytes.length > 0) this.serial.write(wholeBuffer(bytes));
  }
}
