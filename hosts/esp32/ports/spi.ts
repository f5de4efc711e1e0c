/**
 * SpiPort (modules/ports/bus.ts) over an ECMA-419 SPI instance (Moddable `embedded:io/spi`, one
 * instance per chip select): transfer/write/read clock whole ArrayBuffers, flush ends the transaction.
 */
import type { SpiPort } from '../../../modules/ports/bus.js';
import { copyBack, wholeBuffer } from './buffers.js';

/** What the adapter uses of `embedded:io/spi` (structural, so tests can hand in a fake). */
export interface Ecma419Spi {
  transfer(buffer: ArrayBuffer): void;
  write(buffer: ArrayBuffer): void;
  read(buffer: ArrayBuffer): void;
  flush(deselect?: boolean): void;
}

export class Ecma419SpiPort implements SpiPort {
  constructor(private readonly spi: Ecma419Spi) {}

  transfer(buffer: Uint8Array): void {
    const b = wholeBuffer(buffer);
    this.spi.transfer(b);
    copyBack(buffer, b);
  }

  write(buffer: Uint8Array): void {
    this.spi.write(wholeBuffer(buffer));
  }

  read(buffer: Uint8Array): void {
    const b = wholeBuffer(buffer);
    this.spi.read(b);
    copyBack(buffer, b);
  }

  flush(deselect = true): void {
    this.spi.flush(deselect);
  }
}
