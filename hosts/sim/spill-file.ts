/**
 * Where a fleet's simulated flashes put the sectors they no longer use (`SimFlash.evictUntouched`)
 * when no --state file backs them: one temporary file of sector-sized slots, unlinked as soon as it
 * is open, so it disappears with the process however that ends. A meter's energy journal rings
 * through its sectors, so after a simulated day some 40 KB of its written flash is cold; here it
 * costs disk, not memory. If the file cannot be made, flashes simply keep their sectors in memory.
 *
 * A sector gets its slot when it first leaves memory: the next free one, so the file has no holes.
 * Blocks of a flash's sector count taken at its first spill left most of each unwritten in a large
 * fleet (a calibration log uses two or three sectors of sixteen; an hour's journal as few): a file
 * of nearly as many disk extents as slots written, which the file system frees one by one at the
 * close, after the summary (100 000 meters × 1 h: 33 s on this machine's disk, mounted with
 * discard; 100 000 scattered 4 KB writes alone: 7 s, against 0.16 s for as many in a row).
 *
 * Writes are combined: one that starts where the last one ended, or at the start of the slot after
 * the one it ended in, joins it in a buffer (a flash never reads back a slot's bytes after what it
 * last stored there, so the gap may hold anything), and the run goes to the file in one call when
 * the next write does not join, before a read, or on close.
 */
import { closeSync, ftruncateSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SectorBacking } from './sim-flash.js';

/** How far ahead of the slots taken the file's length is set (16 384 slots). */
const EXTEND_BYTES = 64 * 1024 * 1024;

export class SpillFile {
  private fd: number | undefined;
  private slots = 0;
  /** Each flash sector's slot (-1: none yet), the flashes' sectors one after another (`backing`). */
  private slotOf = new Int32Array(0);
  private sectors = 0;
  /** The write run not yet in the file: `runLength` bytes of `run`, for file position `runAt`. */
  private readonly run: Uint8Array;
  private runAt = 0;
  private runLength = 0;
  /** The file's length as set by `extend`. */
  private extent = 0;

  private constructor(
    fd: number,
    readonly slotSize: number,
  ) {
    this.fd = fd;
    this.run = new Uint8Array(4 * slotSize);
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

  /** A backing store for one flash of `sectorCount` sectors (each gets a slot of this file when it
   *  first leaves memory). */
  backing(sectorCount: number): SectorBacking {
    const first = this.sectors;
    this.sectors += sectorCount;
    if (this.sectors > this.slotOf.length) {
      const map = new Int32Array(Math.max(2 * this.slotOf.length, this.sectors, 1024)).fill(-1);
      map.set(this.slotOf);
      this.slotOf = map;
    }
    return new SpillBacking(this, first);
  }

  /** Slots taken: the file's length in use is this many slots. */
  get slotsTaken(): number {
    return this.slots;
  }

  /** The slot of sector `index` of the map (`backing`), the next free one the first time. */
  slot(index: number): number {
    let s = this.slotOf[index];
    if (s < 0) {
      s = this.slotOf[index] = this.slots++;
      if (this.slots * this.slotSize > this.extent) this.extend(this.slots * this.slotSize);
    }
    return s;
  }

  /** The file's length is set ahead of the slots taken, EXTEND_BYTES at a time (sparse: no disk
   *  taken), so the writes that fill them do not each extend the file: a write past the end of a
   *  file updates its size (ext4: a journalled inode change), ~6.5 → ~4.5 µs of CPU for a write to
   *  a new page, and a fleet's set-up spills three new slots a meter. Best effort: without it, writes
   *  extend the file as before. */
  private extend(bytes: number): void {
    const to = Math.max(bytes, this.extent + EXTEND_BYTES);
    try {
      ftruncateSync(this.need(), to);
      this.extent = to;
    } catch {
      this.extent = Infinity; // not supported: never asked again
    }
  }

  /** Writes `bytes` (at most a slot) at the start of a slot. */
  write(slot: number, bytes: Uint8Array): void {
    this.put(slot * this.slotSize, bytes);
  }

  /** Writes `bytes` at byte `offset` of a slot. */
  writeAt(slot: number, offset: number, bytes: Uint8Array): void {
    this.put(slot * this.slotSize + offset, bytes);
  }

  /** Reads a whole slot (what was never written there reads as anything). */
  read(slot: number, into: Uint8Array): void {
    this.flush();
    readSync(this.need(), into, 0, this.slotSize, slot * this.slotSize);
  }

  close(): void {
    if (this.fd !== undefined) {
      this.flush();
      closeSync(this.fd);
    }
    this.fd = undefined;
  }

  /** Writes `bytes` at file position `at`: into the run when it joins it, else the run goes first. */
  private put(at: number, bytes: Uint8Array): void {
    const size = this.slotSize;
    const n = this.runLength;
    if (n > 0) {
      const end = this.runAt + n;
      // Joins: right at the run's end, or at the start of the slot after the one the run ends in.
      const gap = at === end ? 0 : at % size === 0 && at > end && at - end < size && (((end - 1) / size) | 0) === at / size - 1 ? at - end : -1;
      if (gap >= 0 && n + gap + bytes.length <= this.run.length) {
        this.run.fill(0xff, n, n + gap);
        this.run.set(bytes, n + gap);
        this.runLength = n + gap + bytes.length;
        return;
      }
      this.flush();
    }
    if (bytes.length > this.run.length) {
      writeSync(this.need(), bytes, 0, bytes.length, at);
      return;
    }
    this.run.set(bytes, 0);
    this.runAt = at;
    this.runLength = bytes.length;
  }

  /** Writes the run to the file. */
  private flush(): void {
    if (this.runLength === 0) return;
    const n = this.runLength;
    this.runLength = 0;
    writeSync(this.need(), this.run, 0, n, this.runAt);
  }

  private need(): number {
    if (this.fd === undefined) throw new Error('spill file is closed');
    return this.fd;
  }
}

/**
 * One flash's sectors in a spill file: their slots are in the file's map from `first` on (one
 * map for the file's flashes, not an array each: a fleet has 200 000 flashes). An erased sector's
 * slot simply waits for its next spill.
 */
class SpillBacking implements SectorBacking {
  constructor(
    private readonly file: SpillFile,
    private readonly first: number,
  ) {}

  private slot(sector: number): number {
    return this.file.slot(this.first + sector);
  }

  store(sector: number, bytes: Uint8Array): void {
    this.file.write(this.slot(sector), bytes);
  }

  storeAt(sector: number, offset: number, bytes: Uint8Array): void {
    this.file.writeAt(this.slot(sector), offset, bytes);
  }

  load(sector: number, into: Uint8Array): void {
    // SimFlash reads back only sectors it stored.
    this.file.read(this.slot(sector), into);
  }

  discard(): void {}
}
