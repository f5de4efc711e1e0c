/**
 * "Newest record wins": a small current value (energy registers, a counter, the active calibration)
 * kept power-safe on NOR flash, in the frames and sector headers of frame.ts and by its torn-write
 * rules, over a ring of ≥ 2 sectors (the whole Flash it is given: a FlashRegion of the flash map).
 *
 * Newest. Sectors are opened in ring order with a rising sector sequence, and each save appends, so
 * the newest record is the last committed frame of the sector with the highest sector sequence among
 * those holding a committed frame. Positions decide, not the record seq (which only counts saves).
 *
 * Save. Into the sector holding the newest record if it is open (no torn region) and has room; else
 * the NEXT sector in ring order is erased (unless it is blank) and opened with the next sector
 * sequence, and the record goes there. The sector holding the newest committed record is never
 * erased, whatever was torn where: a cut during the frame or commit write in a freshly opened sector
 * leaves that sector without a committed frame, so after the restart the newest is still in the
 * sector before it, the next save erases the torn sector again, and a second cut there (in the erase,
 * the header or the frame) again touches only that sector. A cut leaves the newest record or the one
 * being written, never an older one.
 *
 * Cost. One save is two flash writes (frame, commit byte), plus an erase and a header write each time
 * a sector fills: with R = ⌊(sectorSize − 12) / (payload + 11)⌋ records per sector, 1/R erases per save
 * spread over the ring's S sectors, so each sector sees one erase per S · R saves. Nothing is allocated
 * per save: the frame is built in a buffer sized at construction (for `maxPayload`, or
 * `typicalPayload` when records are mostly shorter: a longer one grows it once).
 */
import type { Flash } from '../ports/flash.js';
import { StorageError } from './errors.js';
import { FRAME_OVERHEAD, FrameWriter, SECTOR_HEADER_SIZE, frameFits, magicOf, maxPayloadOf, scanSector } from './frame.js';

/** Per sector, two words of one 32-bit typed array (not an array per field): the header's sector
 *  sequence (a u32, valid with OWNED), then where the next frame goes (the end of its frames) times
 *  8 plus the flags below (STATE: `end << FLAG_BITS | flags`). */
const SEQ = 0;
const STATE = 1;
const PER_SECTOR = 2; // TABLE_WORDS_PER_SECTOR
export const TABLE_FLAG_BITS = 3;
const FLAG_BITS = TABLE_FLAG_BITS;
/** No more appends here (a torn region, or bytes after the last frame not erased). */
const CLOSED = 1;
/** Every byte erased: usable without an erase. */
const BLANK = 2;
/** The sector has this store's header: SEQ holds its sequence (else: not opened). */
export const TABLE_OWNED = 4;
const OWNED = TABLE_OWNED;
/** The largest sector a table's STATE word holds an end offset of: 2^29 − 1 bytes (a 512 MiB sector). */
export const TABLE_MAX_SECTOR_SIZE = 2 ** (32 - TABLE_FLAG_BITS) - 1;
/** RecordRing.newest before the first load(). */
const NOT_LOADED = -2;

/**
 * The per-sector tables of several rings in one typed array (each typed array costs an allocation
 * beyond its data, and a meter has six rings and a log): the composition root makes one per meter and
 * hands it to them. Each reserves its part when made; the array grows then (not afterwards), and they
 * index it through this object, so growing moves nothing they hold. 32-bit words, two a sector: a
 * sector sequence is the header's u32, and an end offset (within a sector of at most
 * TABLE_MAX_SECTOR_SIZE bytes) shares a word with the flags, "not opened" among them (TABLE_OWNED
 * clear, not a -1): a third of the bytes of three 64-bit numbers.
 */
export class SectorTables {
  /** What was reserved: a view of the first words of its buffer (the rest: room to reserve). */
  words: Uint32Array;

  /** `capacity`: words to make room for at once, e.g. a meter's whole flash (TABLE_WORDS_PER_SECTOR
   *  per sector; its stores cover every sector), so reserving copies nothing (default: grown each time). */
  constructor(capacity = 0) {
    this.words = new Uint32Array(new ArrayBuffer(capacity * 4), 0, 0);
  }

  /** Reserves `n` words (0); returns where they start. */
  reserve(n: number): number {
    const at = this.words.length;
    const buffer = this.words.buffer;
    if ((at + n) * 4 <= buffer.byteLength) {
      this.words = new Uint32Array(buffer, 0, at + n);
      return at;
    }
    const w = new Uint32Array(at + n);
    w.set(this.words);
    this.words = w;
    return at;
  }
}

/** A store's sector size, checked against what its table holds (StorageError 'geometry'). */
export function checkTableSectorSize(sectorSize: number): void {
  if (sectorSize > TABLE_MAX_SECTOR_SIZE) {
    throw new StorageError('geometry', `sectors of ${sectorSize} bytes: a store's sector table holds at most ${TABLE_MAX_SECTOR_SIZE}`, { sectorSize });
  }
}

/** Words per sector in the tables of the record rings and the append log. */
export const TABLE_WORDS_PER_SECTOR = 2;

export interface RecordRingOptions {
  /** The ring's own flash (all of it, at least 2 sectors): a FlashRegion of the flash map. */
  flash: Flash;
  /** 4 ASCII characters naming the record in its sector headers (the flash map's). */
  magic: string;
  /** The largest payload a record carries, bytes (the frame buffer is sized for it). */
  maxPayload: number;
  /** For records mostly much shorter than `maxPayload`: the payload the frame buffer is sized for
   *  instead (a longer record, up to `maxPayload`, grows it once). */
  typicalPayload?: number;
  /** The frame writer to use, e.g. one shared by a meter's stores (default: its own, sized as above). */
  writer?: FrameWriter;
  /** Where to keep the per-sector table, e.g. one shared by a meter's rings (default: its own). */
  tables?: SectorTables;
}

/** The newest committed record. */
export interface RingRecord {
  /** Counts saves (1 for the first record ever, wrapping at 2^32); not used for ordering. */
  sequence: number;
  payload: Uint8Array;
}

export class RecordRing {
  readonly flash: Flash;
  readonly maxPayload: number;
  /** Records written and sectors erased by this instance (wear accounting). */
  writes = 0;
  erases = 0;
  private readonly magic: number;
  private readonly writer: FrameWriter;
  /** This ring's per-sector table: `tables.words` from `base` on. */
  private readonly tables: SectorTables;
  private readonly base: number;
  /** The sector holding the newest committed record (-1: none; NOT_LOADED before load()) and that
   *  record's sequence. (What can be derived is not kept: a meter has six rings.) */
  private newest = NOT_LOADED;
  private lastSequence = 0;
  private nextSectorSeq = 0;
  /** The sector sequence went past 2^32 − 1 and started again at 0 (see open()). */
  private restarted = false;
  /** After load(): a sector of the ring holds a committed record whose bytes changed in place since
   *  (frame.ts: `corrupt`): damaged flash, not a power cut. The newest intact record is still what
   *  load() returns; what the damaged one held is lost. */
  damaged = false;

  constructor(o: RecordRingOptions) {
    this.flash = o.flash;
    this.magic = magicOf(o.magic);
    const count = o.flash.sectorCount;
    this.maxPayload = o.maxPayload;
    if (!Number.isInteger(o.maxPayload) || o.maxPayload < 1 || o.maxPayload > maxPayloadOf(o.flash.sectorSize) || count < 2) {
      throw new StorageError('geometry', `a record ring needs at least 2 sectors, each holding a record of ${o.maxPayload} bytes (has ${count} of ${o.flash.sectorSize} bytes)`, {
        magic: o.magic,
        sectorCount: count,
        sectorSize: o.flash.sectorSize,
        maxPayload: o.maxPayload,
      });
    }
    checkTableSectorSize(o.flash.sectorSize);
    this.writer = o.writer ?? new FrameWriter(Math.min(o.maxPayload, o.typicalPayload ?? o.maxPayload));
    this.tables = o.tables ?? new SectorTables();
    this.base = this.tables.reserve(count * PER_SECTOR);
  }

  /** Records of `maxPayload` bytes one sector holds. */
  get recordsPerSector(): number {
    return Math.floor((this.flash.sectorSize - SECTOR_HEADER_SIZE) / (this.maxPayload + FRAME_OVERHEAD));
  }

  /** The sequence of the newest record (0: none), after load() or save(). */
  get sequence(): number {
    return this.lastSequence;
  }

  /** After load() and before any save(): whether any byte of the ring's flash is programmed (a
   *  header, or a sector not all erased; what load() found, without reading again). */
  get used(): boolean {
    const t = this.tables.words;
    const count = this.flash.sectorCount;
    for (let i = 0; i < count; i++) if (!(t[this.base + i * PER_SECTOR + STATE] & BLANK)) return true;
    return false;
  }

  /** A buffer of at least `n` bytes to build the next record's payload in (its writer's, shared with
   *  the other stores using it: fill it and save() before anything else writes). */
  payload(n: number): Uint8Array {
    return this.writer.payload(n);
  }

  /** Reads the ring from flash; the newest committed record (a copy), or undefined when there is none. */
  load(): RingRecord | undefined {
    const size = this.flash.sectorSize;
    let best = -1;
    let bestOffset = 0;
    let bestLength = 0;
    if (this.newest !== NOT_LOADED) this.newest = -1; // (loaded only once the scan completes)
    this.lastSequence = 0;
    this.nextSectorSeq = 0;
    this.restarted = false;
    this.damaged = false;
    let image: Uint8Array | undefined;
    const t = this.tables.words;
    const b = this.base;
    const count = this.flash.sectorCount;
    for (let i = 0; i < count; i++) {
      const body = this.flash.read(i * size, size);
      const s = scanSector(body, this.magic);
      if (s.corrupt.length > 0) this.damaged = true;
      t[b + i * PER_SECTOR + SEQ] = s.seq < 0 ? 0 : s.seq;
      t[b + i * PER_SECTOR + STATE] = (s.end << FLAG_BITS) | (s.closed ? CLOSED : 0) | (s.blank ? BLANK : 0) | (s.seq < 0 ? 0 : OWNED);
      if (s.seq < 0) continue;
      if (s.seq + 1 > this.nextSectorSeq) this.nextSectorSeq = s.seq + 1;
      const last = s.frames.length > 0 ? s.frames[s.frames.length - 1] : undefined;
      if (last && (best < 0 || s.seq > t[b + best * PER_SECTOR + SEQ])) {
        best = i;
        bestOffset = last.offset;
        bestLength = last.length;
        this.lastSequence = last.seq;
        image = body;
      }
    }
    this.newest = best;
    if (!image) return undefined;
    return { sequence: this.lastSequence, payload: image.slice(bestOffset + 6, bestOffset + 6 + bestLength) };
  }

  /**
   * Saves `payload[0, length)` as the newest record (committed when this returns); returns its
   * sequence. Loads first if load() was not called.
   */
  save(payload: Uint8Array, length = payload.length): number {
    if (this.newest === NOT_LOADED) this.load();
    if (!Number.isInteger(length) || length < 1 || length > this.maxPayload || length > payload.length) {
      throw new StorageError('record-size', `record of ${length} bytes: allowed 1..${this.maxPayload}`, { length, max: this.maxPayload });
    }
    const size = this.flash.sectorSize;
    const t = this.tables.words;
    const b = this.base;
    let s = this.newest;
    if (s < 0 || t[b + s * PER_SECTOR + STATE] & CLOSED || !frameFits(size, t[b + s * PER_SECTOR + STATE] >>> FLAG_BITS, length)) {
      // Never the newest record's sector: the one after it in ring order (any, when there is none).
      s = s >= 0 ? (s + 1) % this.flash.sectorCount : this.firstTarget();
      this.open(s);
    }
    const seq = (this.lastSequence + 1) >>> 0 || 1;
    const o = s * PER_SECTOR;
    // Past this point the sector's tail is no longer known erased: if the write fails, it stays closed.
    const end = t[b + o + STATE] >>> FLAG_BITS;
    t[b + o + STATE] = (end << FLAG_BITS) | OWNED | CLOSED;
    const n = this.writer.writeFrame(this.flash, s * size + end, seq, payload, length);
    t[b + o + STATE] = ((end + n) << FLAG_BITS) | OWNED;
    this.newest = s;
    this.lastSequence = seq;
    this.writes++;
    if (this.restarted) this.eraseAllBut(s);
    return seq;
  }

  /** After the first record under sector sequence 0 again: the other sectors' sequences would
   *  outrank it at the next load, so they go (a cut before leaves the record before, as a cut does). */
  private eraseAllBut(s: number): void {
    const t = this.tables.words;
    const b = this.base;
    for (let i = 0; i < this.flash.sectorCount; i++) {
      if (i === s || t[b + i * PER_SECTOR + STATE] & BLANK) continue;
      this.flash.erase(i);
      this.erases++;
      t[b + i * PER_SECTOR + SEQ] = 0;
      t[b + i * PER_SECTOR + STATE] = BLANK;
    }
    this.restarted = false;
  }

  /** With no record at all: the sector after the last one opened (wear spreads), else sector 0. */
  private firstTarget(): number {
    const t = this.tables.words;
    const b = this.base;
    const count = this.flash.sectorCount;
    let last = -1;
    for (let i = 0; i < count; i++) if (t[b + i * PER_SECTOR + STATE] & OWNED && (last < 0 || t[b + i * PER_SECTOR + SEQ] > t[b + last * PER_SECTOR + SEQ])) last = i;
    return last < 0 ? 0 : (last + 1) % count;
  }

  private open(s: number): void {
    const t = this.tables.words;
    const b = this.base;
    const o = s * PER_SECTOR;
    const blank = (t[b + o + STATE] & BLANK) !== 0;
    t[b + o + STATE] = CLOSED; // (not OWNED: no header until it is written)
    if (!blank) {
      this.flash.erase(s);
      this.erases++;
    }
    let seq = this.nextSectorSeq;
    if (seq > 0xffffffff) {
      // Only after a forged header (no flash lives 2^32 erases): start again at 0 rather than write
      // a sequence that wraps to 0 unnoticed and ranks below the forged one at the next load.
      seq = 0;
      this.restarted = true;
    }
    this.writer.writeHeader(this.flash, s, this.magic, seq);
    this.nextSectorSeq = seq + 1;
    t[b + o + SEQ] = seq;
    t[b + o + STATE] = (SECTOR_HEADER_SIZE << FLAG_BITS) | OWNED;
  }
}
