/**
 * A flash partition of Moddable's desktop simulator kept in a file of the host (Moddable's `file`
 * module): the same API as the board's `flash` module (ports/flash.ts uses either), NOR semantics
 * (a write can only clear bits: the bytes written are ANDed into the stored ones; erase sets a
 * sector to 0xFF), and, as on the board, outside the XS heap and kept across restarts. A missing or
 * short file is extended with erased sectors.
 */
import { File } from 'file';
import type { ModdableFlashPartition } from './ports/flash.js';

/** Erase granularity of the pieces written (a sector is erased in these, not in one 4 KB buffer). */
const ERASE_PIECE = 256;

export class FileFlashPartition implements ModdableFlashPartition {
  private readonly file: File;
  private readonly erased = new Uint8Array(ERASE_PIECE).fill(0xff);

  constructor(
    path: string,
    readonly byteLength: number,
    readonly blockSize = 4096,
  ) {
    this.file = new File(path, true);
    for (let at = this.file.length - (this.file.length % ERASE_PIECE); at < byteLength; at += ERASE_PIECE) {
      this.file.position = at;
      this.file.write(this.erased.buffer as ArrayBuffer);
    }
  }

  read(offset: number, byteLength: number): ArrayBuffer {
    if (byteLength === 0) return new ArrayBuffer(0);
    this.file.position = offset;
    return this.file.read(ArrayBuffer, byteLength);
  }

  write(offset: number, byteLength: number, buffer: ArrayBuffer): void {
    if (byteLength === 0) return;
    const stored = new Uint8Array(this.read(offset, byteLength));
    const data = new Uint8Array(buffer, 0, byteLength);
    for (let i = 0; i < byteLength; i++) stored[i] &= data[i];
    this.file.position = offset;
    this.file.write(stored.buffer as ArrayBuffer);
  }

  erase(sector: number): void {
    for (let at = 0; at < this.blockSize; at += ERASE_PIECE) {
      this.file.position = sector * this.blockSize + at;
      this.file.write(this.erased.buffer as ArrayBuffer);
    }
  }
}
