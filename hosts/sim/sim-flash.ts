/**
 * Simulated NOR flash for the desktop host and the tests. It enforces NOR rules (erase sets a sector to
 * 0xFF; a write may only clear bits — setting a 0 bit back to 1 is a FlashFault, where real silicon would
 * silently AND), counts erases per sector (wear), and injects power cuts before, inside or after any
 * write/erase call: inside a write, a prefix of the bytes lands and the next byte is half-programmed;
 * inside an erase, a prefix of the sector is erased and the rest keeps its old bytes. After a cut every
 * call throws PowerCut until `powerOn()`, as a dead device would do nothing at all.
 *
 * Sparse: an erased sector holds no memory, and a written one only the prefix up to its last written
 * byte (in steps of 64 bytes; the stores on it append from the sector's start), so a
 * fleet of 100 000 meters holds the few hundred bytes each has written, not 128 KiB.
 * `evictUntouched()` hands sectors not used since its last call to a backing store (a file-backed
 * flash's own file, or a spill file: hosts/sim/spill-file.ts) and drops them from memory; the next
 * access reads them back. With `tails`, the sectors in use go too, all but their tail — the bytes
 * after the last programmed one, where the stores append — so a written sector in use holds only
 * what was appended since (a fleet meter's hot journal sectors would otherwise hold kilobytes each);
 * a write or read before the tail brings the sector back whole. What a caller reads is the same
 * either way.
 */
import { FlashFault, type Flash } from '../../modules/ports/flash.js';

/** The simulated supply failed. Deliberately not a MeterError: firmware must not catch and carry on. */
export class PowerCut extends Error {
  constructor(readonly opIndex: number, readonly phase: CutPhase) {
    super(`simulated power cut ${phase} flash operation #${opIndex}`);
    Object.defineProperty(this, 'name', { value: 'PowerCut', writable: true, configurable: true }); // frozen Error.prototype on Moddable
  }
}

export type CutPhase = 'before' | 'during' | 'after';

export interface CutPlan {
  /** Index of the write/erase call (0-based, counted over the flash's life) at which power fails. */
  opIndex: number;
  phase: CutPhase;
  /** For 'during': how far the operation got, 0..1 of its bytes (default 0.5). */
  progress?: number;
}

/** Where `evictUntouched()` puts sectors it drops from memory. */
export interface SectorBacking {
  /** Keeps `bytes`, the first bytes of a sector that leaves memory (copy them: the array is reused
   *  or dropped). The flash knows the bytes after them: it never reads back what lies beyond the
   *  end of the last store or storeAt of a sector, so the backing may hold anything there. */
  store(sector: number, bytes: Uint8Array): void;
  /** Writes `bytes` over what `store` kept, at byte `offset` of the sector (without it: a load,
   *  then a store up to the end of `bytes`). */
  storeAt?(sector: number, offset: number, bytes: Uint8Array): void;
  /** Reads back what `store` kept into `into` (a whole sector; its bytes past what was kept are
   *  overwritten by the flash). */
  load(sector: number, into: Uint8Array): void;
  /** The sector was erased: what was stored for it is no longer needed. */
  discard(sector: number): void;
}

/**
 * Sector prefixes the flashes of a fleet dropped (grown, erased, evicted), by length, for their
 * growth to reuse: a fleet's journals fill their sectors in the same steps, and a new ArrayBuffer
 * per step (memory outside the JS heap, which also drives the GC) cost more than the writes
 * themselves. Only arrays no caller holds come here (reads return copies).
 *
 * Arrays of up to CHUNK_MAX bytes (what a large fleet's meters keep between their runs: the tails
 * of their journals) are parts of shared 64 KB buffers, in sizes of CHUNK_STEP bytes, and those
 * given back are all kept for the next take of their size: a standalone ArrayBuffer of 256 bytes
 * costs ~800 bytes of memory (its object, V8's backing store record and glibc's chunk around it,
 * and the holes a heap of such short-lived chunks leaves), a part ~380. Larger ones (a running
 * meter's sector filling up) are standalone, a few per length kept.
 */
export class SectorPool {
  private readonly free = new Map<number, Uint8Array[]>();
  /** Parts given back, by size class (length rounded up to CHUNK_STEP, / CHUNK_STEP). */
  private readonly parts: Uint8Array[][] = [];
  private slab = new ArrayBuffer(0);
  private slabAt = 0;
  constructor(private readonly perLength = 4) {
    for (let k = 0; k <= CHUNK_MAX / CHUNK_STEP; k++) this.parts.push([]);
  }

  /** An array of `length` bytes, of any content (the caller writes every byte). */
  take(length: number): Uint8Array {
    if (length > CHUNK_MAX) return this.free.get(length)?.pop() ?? new Uint8Array(length);
    const k = (length + CHUNK_STEP - 1) >> CHUNK_SHIFT;
    const p = this.parts[k].pop();
    if (p) return p.length === length ? p : new Uint8Array(p.buffer, p.byteOffset, length);
    const size = k << CHUNK_SHIFT;
    if (this.slabAt + size > this.slab.byteLength) {
      this.slab = new ArrayBuffer(SLAB_BYTES);
      this.slabAt = 0;
    }
    const out = new Uint8Array(this.slab, this.slabAt, length);
    this.slabAt += size;
    return out;
  }

  /** `length` bytes of 0xFF that no one else was given: a view of a blank buffer many such reads
   *  share (each part handed out once, so a caller may write its copy as with any read), rather
   *  than a new ArrayBuffer each (off-heap, GC-tracked; a new meter's boot reads ~45 sectors). */
  blank(length: number): Uint8Array {
    if (length > BLANK_ARENA) return new Uint8Array(length).fill(0xff);
    if (this.arenaAt + length > this.arena.byteLength) {
      this.arena = new ArrayBuffer(BLANK_ARENA);
      new Uint8Array(this.arena).fill(0xff);
      this.arenaAt = 0;
    }
    const out = new Uint8Array(this.arena, this.arenaAt, length);
    this.arenaAt += (length + 7) & ~7; // the next one word-aligned (allErased reads four bytes a step)
    return out;
  }
  private arena = new ArrayBuffer(0);
  private arenaAt = 0;

  /** Takes back an array no one else holds. */
  give(b: Uint8Array): void {
    const length = b.length;
    if (length <= CHUNK_MAX) {
      const k = (length + CHUNK_STEP - 1) >> CHUNK_SHIFT;
      // A part, or a standalone array of a whole size class (room for any length of its class).
      if (length === k << CHUNK_SHIFT || b.buffer.byteLength - b.byteOffset >= k << CHUNK_SHIFT) this.parts[k].push(b);
      return;
    }
    let list = this.free.get(length);
    if (!list) this.free.set(length, (list = []));
    if (list.length < this.perLength) list.push(b);
  }
}

/** SectorPool: arrays of up to CHUNK_MAX bytes are parts of SLAB_BYTES buffers, CHUNK_STEP apart. */
const CHUNK_SHIFT = 6;
const CHUNK_STEP = 1 << CHUNK_SHIFT;
const CHUNK_MAX = 1024;
const SLAB_BYTES = 64 * 1024;

export interface SimFlashOptions {
  sectorSize?: number;
  sectorCount?: number;
  /** Start from this image (e.g. one saved from an earlier run); a copy is taken. */
  image?: Uint8Array;
  /** Where evicted sectors go (default: none, every written sector stays in memory). */
  backing?: SectorBacking;
  /** Arrays to grow sectors with, shared by a fleet's flashes (default: each growth allocates). */
  pool?: SectorPool;
  /** `evictUntouched()` also hands the sectors in use to the backing, keeping only their tails in
   *  memory (default false: they stay whole). */
  tails?: boolean;
  /** Where to keep the per-sector flags and erase counts: 2 · sectorCount words of this array from
   *  `at` on, e.g. one array for a fleet meter's two flashes (default: an array of its own). */
  flags?: { words: Uint32Array; at: number };
}

/** Per-sector flags. */
const BACKED = 1; // not in memory: the backing holds the sector's bytes
const TOUCHED = 2; // read or written since the last evictUntouched()
/** With BACKED: only the tail from byte `base` (bits 3…15) is in memory (`sectors[s]` from there
 *  on, beyond it 0xFF; undefined: all 0xFF); the backing holds the bytes before it. */
const TAIL = 4;
const BASE_SHIFT = 3;
/** Bits 16…31: 1 + the byte from which the sector is known erased to its end (0: not known), so an
 *  append there needs no NOR check (each sector's stores append: nearly every write). Kept for
 *  sectors of at most MAX_CLEAR_SECTOR bytes, where `base` fits its 13 bits (larger ones: `base`
 *  takes bits 3…31, nothing is known erased). */
const CLEAR_SHIFT = 16;
const MAX_CLEAR_SECTOR = 4096;

export class SimFlash implements Flash {
  readonly sectorSize: number;
  readonly sectorCount: number;
  /** Write and erase calls made so far (the index a CutPlan refers to). */
  opCount = 0;
  writeCount = 0;
  /** Sectors in memory, each the prefix that holds its written bytes (beyond: 0xFF); undefined:
   *  erased, or in the backing when its BACKED flag is set. */
  private readonly sectors: (Uint8Array | undefined)[];
  /** Per sector its flags, then per sector its erase count, from `fb` on: one typed array (each
   *  costs V8 ~180 bytes beyond its data), possibly shared with another flash. */
  private readonly flags: Uint32Array;
  private readonly fb: number;
  private plan: CutPlan | undefined;
  private powered = true;
  private readonly backing: SectorBacking | undefined;
  private readonly tails: boolean;
  private readonly sectorPool: SectorPool | undefined;
  /** The flag bits of `base` (after BASE_SHIFT) and of where the sector is known erased (CLEAR_SHIFT;
   *  0: not kept). */
  private readonly baseMask: number;
  private readonly clearMask: number;

  constructor(options: SimFlashOptions = {}) {
    this.sectorSize = options.sectorSize ?? 4096;
    this.sectorCount = options.sectorCount ?? 16;
    this.backing = options.backing;
    this.tails = options.tails ?? false;
    this.sectorPool = options.pool;
    this.sectors = new Array<Uint8Array | undefined>(this.sectorCount);
    this.flags = options.flags?.words ?? new Uint32Array(2 * this.sectorCount);
    this.fb = options.flags?.at ?? 0;
    if (this.fb + 2 * this.sectorCount > this.flags.length) throw new FlashFault('flags-size', `flags array too short for ${this.sectorCount} sectors from ${this.fb}`);
    const track = this.sectorSize <= MAX_CLEAR_SECTOR;
    this.baseMask = track ? 0x1fff : 0x1fffffff;
    this.clearMask = track ? -0x10000 : 0; // bits 16…31 as an int32: a small integer field, not a boxed number
    const size = this.sectorSize * this.sectorCount;
    if (options.image && options.image.length !== size) throw new FlashFault('image-size', `image is ${options.image.length} bytes, flash is ${size}`);
    for (let s = 0; s < this.sectorCount; s++) {
      const b = options.image?.subarray(s * this.sectorSize, (s + 1) * this.sectorSize);
      const end = b ? programmedEnd(b) : 0;
      if (b && end > 0) this.sectors[s] = b.slice(0, Math.min(prefixSize(end), b.length));
      this.flags[this.fb + s] = this.clearBits(end);
    }
  }

  /** Erases per sector since creation. */
  get eraseCounts(): Uint32Array {
    return this.flags.subarray(this.fb + this.sectorCount, this.fb + 2 * this.sectorCount);
  }

  get size(): number {
    return this.sectorSize * this.sectorCount;
  }

  /** Bytes of sector contents held in memory. */
  get residentBytes(): number {
    let n = 0;
    for (let s = 0; s < this.sectorCount; s++) n += this.sectors[s]?.length ?? 0;
    return n;
  }

  /** Schedules a power cut (replacing any earlier plan). */
  cutPower(plan: CutPlan): void {
    this.plan = plan;
  }

  /** Restores power after a cut; the contents are whatever the cut left. */
  powerOn(): void {
    this.powered = true;
    this.plan = undefined;
  }

  get isPowered(): boolean {
    return this.powered;
  }

  /** A copy of the whole array, e.g. to save it to a file or start another SimFlash from it. */
  image(): Uint8Array {
    const out = new Uint8Array(this.size).fill(0xff);
    for (let s = 0; s < this.sectorCount; s++) {
      const b = this.peekSector(s);
      if (b) out.set(b, s * this.sectorSize);
    }
    return out;
  }

  read(offset: number, length: number): Uint8Array {
    this.checkPowered();
    this.checkRange(offset, length);
    const size = this.sectorSize;
    const first = (offset / size) | 0;
    if (offset + length <= (first + 1) * size) {
      // Within one sector (nearly every call).
      let from = offset - first * size;
      const f = this.flags[this.fb + first];
      let b: Uint8Array | undefined;
      if (f & TAIL && from >= ((f >>> BASE_SHIFT) & this.baseMask)) {
        // Within the tail in memory (a file-backed flash reads back what it just wrote).
        this.flags[this.fb + first] = f | TOUCHED;
        b = this.sectors[first];
        from -= (f >>> BASE_SHIFT) & this.baseMask;
      } else b = this.sector(first);
      if (length < BLANK_READ_MIN) {
        if (b && from + length <= b.length) return b.slice(from, from + length);
        const out = new Uint8Array(length).fill(0xff);
        if (b && from < b.length) out.set(b.subarray(from, from + length), 0);
        return out;
      }
      // A sector-sized read (the stores' scans at boot, most of them of blank sectors): a view of
      // blank bytes no read had before, rather than a new ArrayBuffer each (off-heap, GC-tracked).
      const out = this.sectorPool ? this.sectorPool.blank(length) : new Uint8Array(length).fill(0xff);
      if (b && from < b.length) out.set(from === 0 && length >= b.length ? b : b.subarray(from, from + length), 0);
      return out;
    }
    const out = new Uint8Array(length);
    this.eachSector(offset, length, (s, from, n, o) => {
      const b = this.sector(s);
      out.fill(0xff, o, o + n);
      if (b && from < b.length) out.set(b.subarray(from, Math.min(b.length, from + n)), o);
    });
    return out;
  }

  write(offset: number, data: Uint8Array): void {
    this.checkPowered();
    this.checkRange(offset, data.length);
    const size = this.sectorSize;
    const first = (offset / size) | 0;
    const from = offset - first * size;
    const n = data.length;
    if (this.plan === undefined && n > 0 && from + n <= size) {
      // Within one sector and no power cut planned (nearly every call): the steps below, in order.
      const f = this.flags[this.fb + first];
      let b: Uint8Array | undefined;
      let at0 = from; // the first byte's index in b
      let tail = -1; // the base of the tail written into, if any
      if (f & TAIL && from >= ((f >>> BASE_SHIFT) & this.baseMask)) {
        // An append to a sector whose tail only is in memory stays in the tail.
        tail = (f >>> BASE_SHIFT) & this.baseMask;
        this.flags[this.fb + first] = f | TOUCHED;
        b = this.sectors[first];
        at0 = from - tail;
      } else b = this.sector(first); // (before a tail: the sector comes back whole)
      // Where the sector is known erased (from `clear` on) no byte can break the NOR rule.
      const clear = ((this.flags[this.fb + first] & this.clearMask) >>> CLEAR_SHIFT) - 1;
      const have = b && (clear < 0 || from < clear) ? Math.min(n, b.length - at0) : 0;
      for (let j = 0; j < have; j++) {
        const old = (b as Uint8Array)[at0 + j];
        const d = data[j];
        if ((old & d) !== d) {
          const at = offset + j;
          throw new FlashFault('nor-violation', `write at 0x${at.toString(16)} would set bits 0→1 (0x${old.toString(16)} → 0x${d.toString(16)}) without erase`, { offset: at });
        }
      }
      this.opCount++;
      const g = tail >= 0 ? this.growTail(first, at0 + n, tail) : this.grow(first, from + n);
      // Each byte passed the check above (old & d === d) or was 0xFF (beyond the prefix, or from
      // `clear` on): the AND of old and new is the new byte, so a copy does it (a short one, such
      // as a commit byte, by hand: cheaper than the call into TypedArray.prototype.set).
      if (n <= 16) for (let j = 0; j < n; j++) g[at0 + j] = data[j];
      else g.set(data, at0);
      if (clear >= 0 && from + n > clear) this.flags[this.fb + first] = (this.flags[this.fb + first] & ~this.clearMask) | this.clearBits(from + n);
      this.writeCount++;
      return;
    }
    this.writeAcross(offset, data);
  }

  /** A write across sectors or with a power cut planned. Its own method: the closures below would
   *  otherwise make V8 allocate a context for `write`'s variables on every call, fast path included. */
  private writeAcross(offset: number, data: Uint8Array): void {
    const size = this.sectorSize;
    this.eachSector(offset, data.length, (s, from, k, i) => {
      const b = this.sector(s);
      const have = b ? Math.min(k, b.length - from) : 0; // beyond the prefix every byte is 0xFF
      for (let j = 0; j < have; j++) {
        const old = (b as Uint8Array)[from + j];
        const d = data[i + j];
        if ((old & d) !== d) {
          const at = offset + i + j;
          throw new FlashFault('nor-violation', `write at 0x${at.toString(16)} would set bits 0→1 (0x${old.toString(16)} → 0x${d.toString(16)}) without erase`, { offset: at });
        }
      }
    });
    // Whatever lands, the sectors are known erased only after the range (if they were before it).
    this.eachSector(offset, data.length, (s, from, k) => {
      const clear = ((this.flags[this.fb + s] & this.clearMask) >>> CLEAR_SHIFT) - 1;
      if (clear >= 0 && from + k > clear) this.flags[this.fb + s] = (this.flags[this.fb + s] & ~this.clearMask) | this.clearBits(from + k);
    });
    const op = this.beginOp();
    if (op === 'during') {
      const n = Math.floor(data.length * (this.plan?.progress ?? 0.5));
      this.program(offset, data, n);
      // The byte being programmed when the supply failed: only its high bits made it.
      if (n < data.length) {
        const at = offset + n;
        const sector = (at / size) | 0;
        this.grow(sector, at - sector * size + 1)[at - sector * size] &= data[n] | 0x0f;
      }
      this.die('during');
    }
    this.program(offset, data, data.length);
    this.writeCount++;
    this.endOp();
  }

  erase(sector: number): void {
    this.checkPowered();
    if (!Number.isInteger(sector) || sector < 0 || sector >= this.sectorCount) {
      throw new FlashFault('range', `sector ${sector} outside 0..${this.sectorCount - 1}`, { sector });
    }
    const op = this.beginOp();
    this.flags[this.fb + this.sectorCount + sector]++;
    if (op === 'during') {
      const n = Math.floor(this.sectorSize * (this.plan?.progress ?? 0.5));
      const b = this.sector(sector);
      if (b) b.fill(0xff, 0, Math.min(n, b.length));
      this.die('during');
    }
    const dropped = this.sectors[sector];
    this.sectors[sector] = undefined;
    if (dropped) this.sectorPool?.give(dropped);
    this.discard(sector);
    this.flags[this.fb + sector] = TOUCHED | this.clearBits(0);
    this.endOp();
  }

  /**
   * Drops from memory every sector neither read nor written since the last call, after handing it
   * to the backing store (no backing: nothing is dropped). Returns the bytes released.
   */
  evictUntouched(): number {
    let released = 0;
    for (let s = 0; s < this.sectorCount; s++) {
      const f = this.flags[this.fb + s];
      if (f & TAIL) {
        released += this.evictTail(s, f);
        continue;
      }
      this.flags[this.fb + s] = f & ~TOUCHED;
      if (this.sectors[s] && !(f & TOUCHED && !this.tails)) released += this.evictWhole(s, f);
    }
    return released;
  }

  /**
   * Hands to the backing store every sector, or tail, that holds at least `bytes` bytes in memory,
   * as `evictUntouched()` does with `tails` (a busy meter's journal tail between two of those calls);
   * the others stay as they are. Returns the bytes released.
   */
  evictLarger(bytes: number): number {
    let released = 0;
    for (let s = 0; s < this.sectorCount; s++) {
      const b = this.sectors[s];
      if (b === undefined || b.length < bytes) continue;
      const f = this.flags[this.fb + s];
      released += f & TAIL ? this.evictTail(s, f) : this.evictWhole(s, f);
    }
    return released;
  }

  /** What was appended to the tail of sector `s` goes after what the backing holds; a tail in use
   *  starts again after it, an unused one leaves the whole sector to the backing and 0xFF after it.
   *  Returns the bytes released. */
  private evictTail(s: number, f: number): number {
    const b = this.sectors[s];
    const base = (f >>> BASE_SHIFT) & this.baseMask;
    const end = b ? programmedEnd(b) : 0;
    if (end > 0 && !this.spillAt(s, base, (b as Uint8Array).subarray(0, end))) return 0;
    this.sectors[s] = undefined;
    if (b) this.sectorPool?.give(b);
    this.flags[this.fb + s] = BACKED | TAIL | ((base + end) << BASE_SHIFT) | (f & this.clearMask); // (what the flash holds does not change)
    return b ? b.length : 0;
  }

  /** Only the programmed bytes of sector `s` (whole in memory) go; the sector is then a tail from
   *  their end on (0xFF until the next write there), so the backing never needs the erased rest of
   *  the sector. Returns the bytes released. */
  private evictWhole(s: number, f: number): number {
    const b = this.sectors[s] as Uint8Array;
    const end = programmedEnd(b);
    if (end > 0 && !this.spill(s, b.subarray(0, end))) return 0;
    this.sectors[s] = undefined;
    this.sectorPool?.give(b);
    const clear = f & this.clearMask;
    this.flags[this.fb + s] = end > 0 ? BACKED | TAIL | (end << BASE_SHIFT) | clear : clear;
    return b.length;
  }

  /** Gives the first bytes of a sector (those up to its last programmed byte) to the backing
   *  store; false keeps it in memory. */
  protected spill(sector: number, bytes: Uint8Array): boolean {
    if (!this.backing) return false;
    this.backing.store(sector, bytes);
    return true;
  }

  /** Writes a tail's programmed bytes at byte `offset` of a sector the backing holds; false keeps
   *  the tail in memory. */
  protected spillAt(sector: number, offset: number, bytes: Uint8Array): boolean {
    const backing = this.backing;
    if (!backing) return false;
    if (backing.storeAt) backing.storeAt(sector, offset, bytes);
    else {
      const whole = new Uint8Array(this.sectorSize);
      backing.load(sector, whole);
      whole.set(bytes, offset);
      backing.store(sector, whole.subarray(0, offset + bytes.length));
    }
    return true;
  }

  /** A sector's prefix as the whole sector (0xFF beyond it). */
  private whole(prefix: Uint8Array): Uint8Array {
    if (prefix.length === this.sectorSize) return prefix;
    const b = new Uint8Array(this.sectorSize).fill(0xff);
    b.set(prefix);
    return b;
  }

  /** Reads a sector back from the backing store. */
  protected unspill(sector: number, into: Uint8Array): void {
    this.backing?.load(sector, into);
  }

  /** Tells the backing store an erased sector's bytes are no longer needed. */
  protected discard(sector: number): void {
    this.backing?.discard(sector);
  }

  /** The flag bits saying a sector is erased from byte `at` to its end (none for large sectors). */
  private clearBits(at: number): number {
    return this.clearMask ? ((at + 1) << CLEAR_SHIFT) >>> 0 : 0;
  }

  /** Marks every sector as held by the backing store (a file-backed flash opening its file). */
  protected backAll(): void {
    for (let s = 0; s < this.sectorCount; s++) this.flags[this.fb + s] = BACKED;
  }

  /** The whole bytes of a sector (undefined: erased), without marking it used. */
  protected peekSector(s: number): Uint8Array | undefined {
    const held = this.sectors[s];
    const f = this.flags[this.fb + s];
    if (!(f & BACKED)) return held && this.whole(held);
    const b = new Uint8Array(this.sectorSize);
    this.unspill(s, b);
    if (f & TAIL) this.overlayTail(b, (f >>> BASE_SHIFT) & this.baseMask, held);
    return b;
  }

  /** The sector's bytes from `base` on are its tail's (0xFF beyond it), whatever the backing had. */
  private overlayTail(whole: Uint8Array, base: number, tail: Uint8Array | undefined): void {
    whole.fill(0xff, base);
    if (tail) whole.set(tail, base);
  }

  /** The in-memory prefix of sector `s` (read back from the backing if needed; undefined: erased). */
  private sector(s: number): Uint8Array | undefined {
    const b = this.sectors[s];
    const f = this.flags[this.fb + s];
    if (!(f & TOUCHED)) this.flags[this.fb + s] = f | TOUCHED;
    if (!(f & BACKED)) return b;
    const whole = new Uint8Array(this.sectorSize);
    this.unspill(s, whole);
    if (f & TAIL) this.overlayTail(whole, (f >>> BASE_SHIFT) & this.baseMask, b);
    const end = programmedEnd(whole);
    this.flags[this.fb + s] = TOUCHED | this.clearBits(end);
    const kept = end > 0 ? whole.slice(0, Math.min(prefixSize(end), whole.length)) : undefined;
    if (!kept) this.discard(s);
    this.sectors[s] = kept;
    return kept;
  }

  /** Sector `s` in memory with at least its first `bytes` bytes (at least doubled, in steps of 64
   *  bytes; new bytes 0xFF). Doubling, not a quarter more: a journal filling a sector 60 bytes a save
   *  grew it nine times (~15 KB copied and filled per sector, ~50 ns a save), now six from 64 bytes (~4 KB). */
  private grow(s: number, bytes: number): Uint8Array {
    const b = this.sector(s);
    if (b && b.length >= bytes) return b;
    const n = Math.min(prefixSize(Math.max(bytes, (b?.length ?? 0) * 2)), this.sectorSize);
    const g = this.regrow(b, n);
    this.sectors[s] = g;
    return g;
  }

  /** The tail (from byte `base`) of sector `s` with at least its first `bytes` bytes (grown as
   *  `grow` grows a prefix). */
  private growTail(s: number, bytes: number, base: number): Uint8Array {
    const b = this.sectors[s];
    if (b && b.length >= bytes) return b;
    const n = Math.min(prefixSize(Math.max(bytes, (b?.length ?? 0) * 2)), this.sectorSize - base);
    const g = this.regrow(b, n);
    this.sectors[s] = g;
    return g;
  }

  /** An array of `n` bytes holding `old` (if any) and 0xFF beyond it; `old` goes back to the pool. */
  private regrow(old: Uint8Array | undefined, n: number): Uint8Array {
    const g = this.sectorPool ? this.sectorPool.take(n) : new Uint8Array(n);
    // Only the new bytes are filled: a pooled array's content is arbitrary.
    if (old) {
      g.set(old);
      this.sectorPool?.give(old);
    }
    g.fill(0xff, old ? old.length : 0);
    return g;
  }

  /** ANDs the first `n` bytes of `data` into the flash at `offset` (range and NOR rules checked). */
  private program(offset: number, data: Uint8Array, n: number): void {
    this.eachSector(offset, n, (s, from, k, i) => {
      const b = this.grow(s, from + k);
      for (let j = 0; j < k; j++) b[from + j] &= data[i + j];
    });
  }

  /** Calls `visit(sector, from, count, done)` for each sector part of [offset, offset + length):
   *  `count` bytes from byte `from` of `sector`, after `done` bytes of the range. */
  private eachSector(offset: number, length: number, visit: (sector: number, from: number, count: number, done: number) => void): void {
    const size = this.sectorSize;
    for (let done = 0; done < length; ) {
      const at = offset + done;
      const s = (at / size) | 0;
      const from = at - s * size;
      const count = Math.min(length - done, size - from);
      visit(s, from, count, done);
      done += count;
    }
  }

  private beginOp(): CutPhase | undefined {
    const index = this.opCount++;
    const plan = this.plan;
    if (!plan || plan.opIndex !== index) return undefined;
    if (plan.phase === 'before') this.die('before');
    return plan.phase;
  }

  private endOp(): void {
    if (this.plan && this.plan.opIndex === this.opCount - 1 && this.plan.phase === 'after') this.die('after');
  }

  private die(phase: CutPhase): never {
    this.powered = false;
    throw new PowerCut(this.opCount - 1, phase);
  }

  private checkPowered(): void {
    if (!this.powered) throw new PowerCut(this.opCount, 'after');
  }

  private checkRange(offset: number, length: number): void {
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new FlashFault('range', `range ${offset}+${length} outside 0..${this.size}`, { offset, length });
    }
  }
}

/** Reads of at least this many bytes (a sector's: the stores read whole sectors only when they
 *  scan) are cut from the pool's blank buffers (`SectorPool.blank`). */
const BLANK_READ_MIN = 1024;
const BLANK_ARENA = 32 * 1024; // (a malloc, not an mmap: no fresh pages to fault in)

/** The step of a written sector's prefix in memory (and of a tail's): a large fleet's meters keep
 *  their tails between runs, most of them a few records. */
const PREFIX_STEP = 64;

function prefixSize(bytes: number): number {
  return Math.ceil(bytes / PREFIX_STEP) * PREFIX_STEP;
}

/** The length of the prefix of `b` that holds its programmed bytes (0: all 0xFF). */
function programmedEnd(b: Uint8Array): number {
  let last = b.length - 1;
  while (last >= 0 && b[last] === 0xff) last--;
  return last + 1;
}
