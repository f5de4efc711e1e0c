/**
 * A simulated NOR flash (sim-flash.ts) whose every completed write and erase is also written through
 * to a file at the same offset, so the file always holds what the flash holds. Killing the simulator
 * at any moment then leaves the image a power cut at that moment would leave (a call cut inside is
 * not mirrored: the file keeps the state before it), and `xsmeter sim --state DIR` continues from it.
 *
 * The file is also the flash's backing store: sectors are read from it when first used and dropped
 * from memory by `evictUntouched()` at no cost. Open files come from a bounded pool (a fleet of
 * 100 000 meters has 200 000 images), reopened when needed.
 */
import { closeSync, existsSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { FlashFault } from '../../modules/ports/flash.js';
import { SimFlash } from './sim-flash.js';

/** At most `max` open files; the least recently used is closed when another is needed. */
export class FilePool {
  private readonly open = new Map<string, number>();
  constructor(readonly max = 256) {}

  /** The descriptor of `path` (opened read-write). */
  fd(path: string): number {
    const fd = this.open.get(path);
    if (fd !== undefined) {
      this.open.delete(path); // most recently used last
      this.open.set(path, fd);
      return fd;
    }
    if (this.open.size >= this.max) {
      const [oldest, ofd] = this.open.entries().next().value as [string, number];
      this.open.delete(oldest);
      closeSync(ofd);
    }
    const nfd = openSync(path, 'r+');
    this.open.set(path, nfd);
    return nfd;
  }

  close(path: string): void {
    const fd = this.open.get(path);
    if (fd === undefined) return;
    this.open.delete(path);
    closeSync(fd);
  }
}

/** The pool file-backed flashes share unless given their own. */
export const defaultFilePool = new FilePool();

export interface FileFlashOptions {
  /** Called before each write-through (e.g. to persist the simulated time with the image). */
  beforeWrite?: () => void;
  pool?: FilePool;
  /** SimFlashOptions.tails. */
  tails?: boolean;
}

export class FileFlash extends SimFlash {
  private readonly pool: FilePool;
  private readonly beforeWrite: (() => void) | undefined;
  private closed = false;

  /** Opens `path` (created blank when missing) as a flash of the given geometry. */
  constructor(readonly path: string, geometry: { sectorSize: number; sectorCount: number }, options: FileFlashOptions = {}) {
    // Named, not spread: V8 builds a literal that spreads an object and adds properties on a slow path.
    super({ sectorSize: geometry.sectorSize, sectorCount: geometry.sectorCount, tails: options.tails });
    const size = geometry.sectorSize * geometry.sectorCount;
    this.pool = options.pool ?? defaultFilePool;
    this.beforeWrite = options.beforeWrite;
    if (existsSync(path)) {
      const have = statSync(path).size;
      if (have !== size) throw new FlashFault('image-size', `${path} is ${have} bytes, the flash ${size}`, { path });
      this.backAll(); // read on first use
    } else {
      const fd = openSync(path, 'w+');
      try {
        writeSync(fd, new Uint8Array(size).fill(0xff), 0, size, 0);
      } finally {
        closeSync(fd);
      }
    }
  }

  override write(offset: number, data: Uint8Array): void {
    super.write(offset, data);
    this.mirror(offset, data.length);
  }

  override erase(sector: number): void {
    super.erase(sector);
    this.mirror(sector * this.sectorSize, this.sectorSize);
  }

  /** The file already holds every written byte: dropping a sector costs nothing. */
  protected override spill(): boolean {
    return !this.closed;
  }

  protected override spillAt(): boolean {
    return !this.closed;
  }

  protected override unspill(sector: number, into: Uint8Array): void {
    readSync(this.pool.fd(this.path), into, 0, into.length, sector * this.sectorSize);
  }

  protected override discard(): void {}

  private mirror(offset: number, length: number): void {
    if (this.closed) return;
    this.beforeWrite?.();
    const b = this.read(offset, length);
    writeSync(this.pool.fd(this.path), b, 0, b.length, offset);
  }

  close(): void {
    // Later writes are no longer mirrored (and their sectors stay in memory); reads still work.
    this.closed = true;
    this.pool.close(this.path);
  }
}
