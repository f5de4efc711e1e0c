/**
 * A `Flash` over a range of whole sectors of another Flash: each store is given one and sees a
 * whole flash of its own (sector 0 is the region's first), so no store does sector arithmetic and
 * none can reach outside its range (a call outside is a FlashFault 'range', as on the device port).
 */
import { FlashFault, type Flash } from '../ports/flash.js';
import { StorageError } from './errors.js';

export class FlashRegion implements Flash {
  readonly sectorCount: number;
  /** The region's first sector in `parent`. */
  readonly firstSector: number;
  private readonly parent: Flash;
  // (Its sector size, byte offset and size are computed where used, not kept: a meter has seven regions.)

  constructor(parent: Flash, firstSector: number, sectorCount: number) {
    if (!Number.isInteger(firstSector) || !Number.isInteger(sectorCount) || firstSector < 0 || sectorCount < 1 || firstSector + sectorCount > parent.sectorCount) {
      throw new StorageError('geometry', `region of sectors ${firstSector}+${sectorCount} is outside the flash's ${parent.sectorCount} sectors`, { firstSector, sectorCount, flashSectors: parent.sectorCount });
    }
    this.parent = parent;
    this.sectorCount = sectorCount;
    this.firstSector = firstSector;
  }

  get sectorSize(): number {
    return this.parent.sectorSize;
  }

  read(offset: number, length: number): Uint8Array {
    this.check(offset, length);
    return this.parent.read(this.firstSector * this.parent.sectorSize + offset, length);
  }

  write(offset: number, data: Uint8Array): void {
    this.check(offset, data.length);
    this.parent.write(this.firstSector * this.parent.sectorSize + offset, data);
  }

  erase(sector: number): void {
    if (!Number.isInteger(sector) || sector < 0 || sector >= this.sectorCount) {
      throw new FlashFault('range', `sector ${sector} outside the region's 0..${this.sectorCount - 1}`, { sector });
    }
    this.parent.erase(this.firstSector + sector);
  }

  private check(offset: number, length: number): void {
    const size = this.sectorCount * this.parent.sectorSize;
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > size) {
      throw new FlashFault('range', `range ${offset}+${length} outside the region's ${size} bytes`, { offset, length });
    }
  }
}
