/**
 * Where a fleet's simulated flashes put the sectors they no longer use (`SimFlash.evictUntouched`)
 * when no --state file backs them: one temporary file of sector-sized slots, unlinked as soon as it
 * is open, so it disappears with the process however that ends. A meter's energy journal rings
 * through its sectors, so after a simulated day some 40 KB of its written flash is cold; here it
 * costs disk, not memory. If the file cannot be made, flashes simply keep their sectors in memory.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SectorBacking } from './sim-flash.js';

export class SpillFile {
  private fd: number | undefined;
  private slots = 0;
  private readonly free: number[] = [];

  private constructor(
    fd: number,
    readonly slotSize: number,
  ) {
    this.fd = fd;
  }

  /** A spill file in the system's temporary directory (TMPDIR), or undefined if none can be made. */
  static open(slotSize: number): SpillFile | undefined {
    try {
      const dir = mkdtempSync(join(tmpdir(), 'xsmeter-spill-'));
      try {
        return new SpillFile(openSync(join(dir, 'sectors'), 'w+'), slotSize);
      } finally {
        rmSync(dir, { recursive: true, force: true }); // the open file lives on until closed
      }
    } catch {
      return undefined;
    }
  }

  /** Bytes the file holds for live sectors. */
  get usedBytes(): number {
    return (this.slots - this.free.length) * this.slotSize;
  }

  /** A backing store for one flash (its sectors map to slots of this file). */
  backing(): SectorBacking {
    return new SpillBacking(this);
  }

  /** A free slot. */
  take(): number {
    return this.free.pop() ?? this.slots++;
  }

  release(slot: number): void {
    this.free.push(slot);
  }

  write(slot: number, bytes: Uint8Array): void {
    writeSync(this.need(), bytes, 0, this.slotSize, slot * this.slotSize);
  }

  /** Writes `bytes` at byte `offset` of a slot. */
  writeAt(slot: number, offset: number, bytes: Uint8Array): void {
    writeSync(this.need(), bytes, 0, bytes.length, slot * this.slotSize + offset);
  }

  read(slot: number, into: Uint8Array): void {
    readSync(this.need(), into, 0, this.slotSize, slot * this.slotSize);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private need(): number {
    if (this.fd === undefined) throw new Error('spill file is closed');
    return this.fd;
  }
}

/** One flash's sectors in a spill file (the slot map is made on the first spill). */
class SpillBacking implements SectorBacking {
  private slotOf: (number | undefined)[] | undefined;
  constructor(private readonly file: SpillFile) {}

  store(sector: number, bytes: Uint8Array): void {
    const map = (this.slotOf ??= []);
    let slot = map[sector];
    if (slot === undefined) map[sector] = slot = this.file.take();
    this.file.write(slot, bytes);
  }

  storeAt(sector: number, offset: number, bytes: Uint8Array): void {
    const slot = this.slotOf?.[sector];
    if (slot === undefined) {
      // Nothing kept for it yet: the sector is erased but for these bytes.
      const whole = new Uint8Array(this.file.slotSize).fill(0xff);
      whole.set(bytes, offset);
      this.store(sector, whole);
    } else this.file.writeAt(slot, offset, bytes);
  }

  load(sector: number, into: Uint8Array): void {
    const slot = this.slotOf?.[sector];
    if (slot === undefined) into.fill(0xff);
    else this.file.read(slot, into);
  }

  discard(sector: number): void {
    const slot = this.slotOf?.[sector];
    if (slot === undefined) return;
    this.file.release(slot);
    (this.slotOf as (number | undefined)[])[sector] = undefined;
  }
}
