/**
 * Flash (modules/ports/flash.ts) over one ESP-IDF data partition opened with Moddable's `flash` module
 * (`new Flash("xsenergy")`): sectorSize is the partition's blockSize (SPI_FLASH_SEC_SIZE, 4096),
 * sectorCount its byteLength / blockSize. Ranges are checked here so a bad offset is a typed
 * FlashFault 'range' (as the simulated flash reports it), and a failure the SDK raises ("write
 * failed", "erase failed") becomes FlashFault 'io' naming the operation.
 */
import { FlashFault, type Flash } from '../../../modules/ports/flash.js';
import { wholeBuffer } from './buffers.js';

/** What the adapter uses of a Moddable `flash` instance. */
export interface ModdableFlashPartition {
  read(offset: number, byteLength: number): ArrayBuffer;
  write(offset: number, byteLength: number, buffer: ArrayBuffer): void;
  erase(sector: number): void;
  readonly byteLength: number;
  readonly blockSize: number;
}

export class PartitionFlash implements Flash {
  readonly sectorSize: number;
  readonly sectorCount: number;
  private readonly size: number;

  constructor(
    private readonly partition: ModdableFlashPartition,
    private readonly name = 'partition',
  ) {
    this.sectorSize = partition.blockSize;
    this.sectorCount = Math.floor(partition.byteLength / partition.blockSize);
    this.size = this.sectorSize * this.sectorCount;
    if (!(this.sectorSize > 0) || this.sectorCount < 1) {
      throw new FlashFault('geometry', `${name}: ${partition.byteLength} bytes in blocks of ${partition.blockSize}`, {
        partition: name,
        byteLength: partition.byteLength,
        blockSize: partition.blockSize,
      });
    }
  }

  read(offset: number, length: number): Uint8Array {
    this.checkRange(offset, length);
    return this.call('read', offset, () => new Uint8Array(this.partition.read(offset, length)));
  }

  write(offset: number, data: Uint8Array): void {
    this.checkRange(offset, data.length);
    if (data.length === 0) return;
    this.call('write', offset, () => this.partition.write(offset, data.length, wholeBuffer(data)));
  }

  erase(sector: number): void {
    if (!Number.isInteger(sector) || sector < 0 || sector >= this.sectorCount) {
      throw new FlashFault('range', `${this.name}: sector ${sector} outside 0..${this.sectorCount - 1}`, { sector });
    }
    this.call('erase', sector * this.sectorSize, () => this.partition.erase(sector));
  }

  private checkRange(offset: number, length: number): void {
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new FlashFault('range', `${this.name}: range ${offset}+${length} outside 0..${this.size}`, { offset, length });
    }
  }

  private call<T>(op: string, offset: number, f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof FlashFault) throw e;
      throw new FlashFault('io', `${this.name}: ${op} at 0x${offset.toString(16)} failed: ${String(e)}`, {
        partition: this.name,
        op,
        offset,
      });
    }
  }
}
