/** I2cPort (modules/ports/bus.ts) over an ECMA-419 I2C instance (Moddable `embedded:io/i2c`). */
import type { I2cPort } from '../../../modules/ports/bus.js';
import { copyBack, wholeBuffer } from './buffers.js';

/** What the adapter uses of `embedded:io/i2c`. */
export interface Ecma419I2c {
  write(buffer: ArrayBuffer, stop?: boolean): void;
  read(byteLength: number, stop?: boolean): ArrayBuffer;
}

export class Ecma419I2cPort implements I2cPort {
  constructor(private readonly i2c: Ecma419I2c) {}

  write(buffer: Uint8Array, stop = true): void {
    this.i2c.write(wholeBuffer(buffer), stop);
  }

  read(buffer: Uint8Array, stop = true): void {
    copyBack(buffer, this.i2c.read(buffer.length, stop));
  }
}
