/**
 * A simulated NOR flash (sim-flash.ts) whose every completed write and erase is also written through
 * to a file at the same offset, so the file always holds what the flash holds. Killing the simulator
 * at any moment then leaves the image a power cut at that moment would leave (a call cut inside is
 * not mirrored: the file keeps the state before it), and `xsmeter sim --state DIR` continues from it.
 */
import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import { SimFlash } from './sim-flash.js';

export class FileFlash extends SimFlash {
  private fd: number | undefined;

  /** Opens `path` (created blank when missing) as a flash of the given geometry. */
  constructor(readonly path: string, geometry: { sectorSize: number; sectorCount: number }) {
    const size = geometry.sectorSize * geometry.sectorCount;
    const image = existsSync(path) ? new Uint8Array(readFileSync(path)) : undefined;
    super({ ...geometry, image });
    this.fd = openSync(path, image ? 'r+' : 'w+');
    if (!image) writeSync(this.fd, new Uint8Array(size).fill(0xff), 0, size, 0);
  }

  override write(offset: number, data: Uint8Array): void {
    super.write(offset, data);
    this.mirror(offset, data.length);
  }

  override erase(sector: number): void {
    super.erase(sector);
    this.mirror(sector * this.sectorSize, this.sectorSize);
  }

  private mirror(offset: number, length: number): void {
    if (this.fd === undefined) return;
    const b = this.read(offset, length);
    writeSync(this.fd, b, 0, b.length, offset);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
