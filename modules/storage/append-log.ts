/**
 * A power-loss-safe, append-only record store on NOR flash, in the frames and sector headers of
 * frame.ts (and by its torn-write rules): the storage under the calibration log (WELMEC 7.2 / MID
 * event log: "recorded for the life of the meter"). It owns the whole Flash it is given (a
 * FlashRegion of the flash map).
 *
 * Order. Records are ordered by their seq, not by where they lie, so compaction may copy records into
 * any sector. The next seq is the highest committed seq + 1: it never goes back, since no sector is
 * erased while it holds a record that has no committed copy elsewhere. Duplicates (a copy and its
 * original after an interrupted compaction) are identical and read once.
 *
 * Capacity. One sector is kept free as the compaction reserve, so the store holds at most
 * (sectors − 1) × ⌊(sectorSize − 12) / (payload + 11)⌋ records of a fixed payload size. When no open
 * sector has room and only the reserve is free, `compact()` packs the sectors with the fewest live bytes
 * (reclaiming space left by torn records and closed sectors); if that frees nothing the append fails
 * with LogFullError ("log-full"). The store never drops or overwrites a record to make room. At open,
 * an interrupted compaction (records found twice) is rolled back by erasing the redundant sectors.
 */
import type { Flash } from '../ports/flash.js';
import { LogFullError, StorageError } from './errors.js';
import { FRAME_OVERHEAD, FrameWriter, SECTOR_HEADER_SIZE, frameFits, magicOf, maxPayloadOf, scanSector } from './frame.js';
import { SectorTables, TABLE_FLAG_BITS, TABLE_OWNED, checkTableSectorSize } from './record-ring.js';

export interface AppendLogOptions {
  /** The log's own flash (all of it): a FlashRegion of at least 2 sectors, one of them the reserve. */
  flash: Flash;
  /** 4 ASCII characters naming the store in its sector headers (the flash map's). */
  magic: string;
  /** The frame writer to use, e.g. one shared by a meter's stores (default: its own). */
  writer?: FrameWriter;
  /** Where to keep the per-sector table, e.g. a meter's rings' (default: its own). */
  tables?: SectorTables;
  /** Set by open(): `used`, whether any byte of the flash was programmed (what a boot asks before
   *  deciding a blank store is a new one: the scan reads every sector anyway). */
  seen?: { used: boolean };
}

/** Per sector, two words of one 32-bit typed array (not an object per sector): the header's sector
 *  sequence (a u32; the sector is free unless OWNED), then where the next frame goes times 8 plus
 *  flags (STATE: `end << FLAG_BITS | flags`): OWNED, and CLOSED for appends (a torn region or
 *  non-erased bytes after its last record). record-ring.ts's layout. */
const SEQ = 0;
const STATE = 1;
const PER_SECTOR = 2; // record-ring.ts TABLE_WORDS_PER_SECTOR (a meter's SectorTables is sized by it)
const FLAG_BITS = TABLE_FLAG_BITS;
const CLOSED = 1;
const OWNED = TABLE_OWNED;

/** What start-up recovery found, for diagnostics and tests (sectors of the log's own flash). */
export interface RecoveryReport {
  /** Sectors closed because a torn (uncommitted) frame or stray bytes follow their last record. */
  tornSectors: number[];
  /** Records found twice (an interrupted compaction); each is read once. */
  duplicates: number;
  /** Seqs missing between the lowest and the highest: a record lost (never expected). */
  gaps: number[];
  /** Bad frames with committed frames after them: flash altered in place, not a power cut. */
  corrupt: { sector: number; offset: number }[];
}

export interface AppendLogStats {
  records: number;
  sectors: number;
  freeSectors: number;
  /** Bytes of payload that still fit, counting open sectors' tails and free sectors except the reserve. */
  payloadBytesFree: number;
  maxPayload: number;
  /** Records copied by compaction since this store was opened. */
  recordsCopied: number;
}

/** What a start-up that found nothing to recover reports (most: shared, not one per log). */
const CLEAN: RecoveryReport = Object.freeze({
  tornSectors: Object.freeze([]) as readonly number[] as number[],
  duplicates: 0,
  gaps: Object.freeze([]) as readonly number[] as number[],
  corrupt: Object.freeze([]) as readonly { sector: number; offset: number }[] as { sector: number; offset: number }[],
});

/** A record location's words in `rec`: seq, byte address, payload length. */
const REC = 3;
/** Locations there is room for at first, in the sector tables' array after the log's own table: a
 *  meter's log holds a few records (log-init, its seals), and a typed array of their own would cost
 *  ~180 bytes beyond the data. More, and the log gets an array of its own, grown by doubling. */
const REC_FIRST = 4;
/** Words an append log reserves in the sector tables beyond its sectors' (its first locations). */
export const LOG_TABLE_EXTRA_WORDS = REC_FIRST * REC;
const R_SEQ = 0;
const R_AT = 1;
const R_LENGTH = 2;

export class AppendLog {
  readonly flash: Flash;
  /** What start-up recovery found (a shared empty report when nothing). */
  readonly recovery: RecoveryReport = CLEAN;
  private readonly magic: number;
  private readonly writer: FrameWriter;
  /** The per-sector table: `tables.words` from `base` on. */
  private readonly tables: SectorTables;
  private readonly base: number;
  /** Every committed record's location, sorted by seq (a record found twice, after an interrupted
   *  compaction, has two entries, the first one found first): seq, byte address in the flash,
   *  payload length (all three u32: the frame's seq is), REC words a location in one typed array
   *  (not one per field: each costs an allocation beyond its data), 12 bytes a record: at first in
   *  `tables.words` from `recAt` on (room for REC_FIRST), then in `own` from 0 (see locs()). */
  private own: Uint32Array | undefined;
  private recAt: number;
  /** Locations the current array has room for. */
  private room = REC_FIRST;
  private locations = 0;
  /** Distinct seqs among the locations. */
  private records = 0;
  private nextRecordSeq = 0;
  private nextSectorSeq = 0;
  private copied = 0;

  private constructor(o: AppendLogOptions) {
    this.flash = o.flash;
    this.magic = magicOf(o.magic);
    this.writer = o.writer ?? new FrameWriter(0);
    if (this.sectorCount < 2) {
      throw new StorageError('geometry', `an append log needs at least 2 sectors (one is the reserve), has ${this.sectorCount}`, { sectorCount: this.sectorCount });
    }
    if (this.maxPayload < 1) throw new StorageError('geometry', `sector size ${o.flash.sectorSize} is too small for a record`, { sectorSize: o.flash.sectorSize });
    checkTableSectorSize(o.flash.sectorSize);
    this.tables = o.tables ?? new SectorTables();
    this.base = this.tables.reserve(this.sectorCount * PER_SECTOR + REC_FIRST * REC);
    this.recAt = this.base + this.sectorCount * PER_SECTOR;
  }

  /** The array holding the locations, from `recAt` on (read again after anything that may grow it:
   *  the tables' array is replaced when a store reserves beyond its capacity). */
  private locs(): Uint32Array {
    return this.own ?? this.tables.words;
  }

  get sectorCount(): number {
    return this.flash.sectorCount;
  }

  /** The largest payload one record can carry. */
  get maxPayload(): number {
    return maxPayloadOf(this.flash.sectorSize);
  }

  /** Opens the log on its flash, recovering its state from what is there (start-up recovery). */
  static open(options: AppendLogOptions): AppendLog {
    const log = new AppendLog(options);
    const used = log.scan();
    if (options.seen) options.seen.used = used;
    // An interrupted compaction left copies: drop the redundant sectors now, so that appends do not
    // land in a half-filled copy and the next compaction starts from a clean layout.
    if (log.recovery.duplicates > 0) log.eraseRedundant();
    return log;
  }

  /** Records held. */
  get count(): number {
    return this.records;
  }

  /** The seq the next append will get; it never goes back. */
  get nextSeq(): number {
    return this.nextRecordSeq;
  }

  /** Seqs held, ascending. */
  seqs(): number[] {
    const out: number[] = [];
    const r = this.locs();
    const a = this.recAt;
    for (let k = 0; k < this.locations; k++) if (k === 0 || r[a + k * REC + R_SEQ] !== r[a + (k - 1) * REC + R_SEQ]) out.push(r[a + k * REC + R_SEQ]);
    return out;
  }

  /** The payload of record `seq` (read from flash). */
  read(seq: number): Uint8Array {
    const k = this.first(seq);
    if (k < 0) throw new StorageError('no-record', `no record with seq ${seq}`, { seq });
    const r = this.locs();
    const o = this.recAt + k * REC;
    return this.flash.read(r[o + R_AT] + 6, r[o + R_LENGTH]);
  }

  /** Every record's payload, in seq order. */
  readAll(): Uint8Array[] {
    return this.seqs().map((s) => this.read(s));
  }

  stats(): AppendLogStats {
    // (No helper closure: the meter asks for these once a telegram, and XS and V8 would make one each time.)
    // (The table read here, not through seqOf()/closed(): a telegram's status asks for these.)
    const size = this.flash.sectorSize;
    const count = this.flash.sectorCount;
    const maxPayload = maxPayloadOf(size);
    const t = this.tables.words;
    let free = 0;
    let bytes = 0;
    for (let i = 0, o = this.base; i < count; i++, o += PER_SECTOR) {
      const state = t[o + STATE];
      if (!(state & OWNED)) free++;
      else if (!(state & CLOSED)) bytes += Math.max(0, size - (state >>> FLAG_BITS) - FRAME_OVERHEAD);
    }
    bytes += Math.max(0, free - 1) * maxPayload;
    return { records: this.records, sectors: count, freeSectors: free, payloadBytesFree: bytes, maxPayload, recordsCopied: this.copied };
  }

  /**
   * Appends one record and returns its seq once it is committed. Throws LogFullError when neither an
   * open sector, a free sector beyond the reserve, nor compaction gives room.
   */
  append(payload: Uint8Array): number {
    if (payload.length < 1 || payload.length > this.maxPayload) {
      throw new StorageError('record-size', `record of ${payload.length} bytes: allowed 1..${this.maxPayload}`, { length: payload.length, max: this.maxPayload });
    }
    let sector = this.sectorWithRoom(payload.length);
    if (sector < 0 && this.freeSectors().length > 1) sector = this.openSector(this.freeSectors()[0]);
    if (sector < 0) {
      this.compact();
      sector = this.sectorWithRoom(payload.length);
      if (sector < 0 && this.freeSectors().length > 1) sector = this.openSector(this.freeSectors()[0]);
    }
    if (sector < 0) {
      throw new LogFullError('log-full', `log full: ${this.count} records, no room for ${payload.length} more bytes`, { records: this.count, length: payload.length });
    }
    const seq = this.nextRecordSeq;
    this.writeFrame(sector, seq, payload);
    this.nextRecordSeq = seq + 1;
    return seq;
  }

  /**
   * Packs the sectors with the fewest live bytes into fewer sectors, then erases them; returns whether
   * a sector was gained. A source is erased only after each of its records has a committed copy.
   */
  compact(): boolean {
    const gained = this.eraseRedundant();
    const capacity = this.flash.sectorSize - SECTOR_HEADER_SIZE;
    const candidates = this.usedSectors()
      .map((i) => ({ i, records: this.recordsIn(i), bytes: 0 }))
      .map((c) => ({ ...c, bytes: c.records.reduce((n, s) => n + this.frameSize(s), 0) }))
      .sort((a, b) => a.bytes - b.bytes || this.seqOf(a.i) - this.seqOf(b.i));
    // The shortest prefix of sources whose records pack into fewer sectors than they occupy. A record
    // needs a copy only once, and only if no sector outside the sources holds it.
    let chosen = -1;
    for (let k = 1; k <= candidates.length && chosen < 0; k++) {
      const set = new Set(candidates.slice(0, k).map((c) => c.i));
      const counted = new Set<number>();
      let dests = 1;
      let used = 0;
      for (const c of candidates.slice(0, k)) {
        for (const s of c.records) {
          if (counted.has(s) || this.heldOutside(s, (sector) => !set.has(sector))) continue;
          counted.add(s);
          const f = this.frameSize(s);
          if (used + f > capacity) {
            dests++;
            used = 0;
          }
          used += f;
        }
      }
      if (dests < k) chosen = k;
    }
    if (chosen < 0) return gained;
    const free = this.freeSectors();
    if (free.length === 0) return gained;
    const sources = candidates.slice(0, chosen).map((c) => c.i);
    let dest = this.openSector(free[0]);
    for (const src of sources) {
      for (const seq of this.recordsIn(src)) {
        if (this.heldOutside(seq, (sector) => sector !== src)) continue; // a copy exists elsewhere
        const payload = this.read(seq);
        if (!frameFits(this.flash.sectorSize, this.endOf(dest), payload.length)) {
          const next = this.freeSectors();
          if (next.length === 0) throw new StorageError('compaction', 'compaction ran out of sectors (invariant broken)');
          dest = this.openSector(next[0]);
        }
        this.writeFrame(dest, seq, payload);
        this.copied++;
      }
      this.eraseSector(src);
    }
    return true;
  }

  // ---- recovery ----

  /** Returns whether any sector holds a programmed byte (a header, or not all erased). */
  private scan(): boolean {
    const size = this.flash.sectorSize;
    const recovery: RecoveryReport = { tornSectors: [], duplicates: 0, gaps: [], corrupt: [] };
    let used = false;
    for (let i = 0; i < this.sectorCount; i++) {
      const found = scanSector(this.flash.read(i * size, size), this.magic);
      this.setSector(i, found.seq, found.end, found.closed);
      if (!found.blank) used = true;
      if (found.seq < 0) continue;
      this.nextSectorSeq = Math.max(this.nextSectorSeq, found.seq + 1);
      for (const f of found.frames) this.addLocation(f.seq, i * size + f.offset, f.length);
      for (const offset of found.corrupt) recovery.corrupt.push({ sector: i, offset });
      if (found.closed) recovery.tornSectors.push(i);
    }
    const seqs = this.seqs();
    if (seqs.length > 0) {
      this.nextRecordSeq = seqs[seqs.length - 1] + 1;
      for (let s = seqs[0], k = 0; s < this.nextRecordSeq; s++) {
        if (seqs[k] === s) k++;
        else recovery.gaps.push(s);
      }
    }
    recovery.duplicates = this.locations - this.records;
    if (recovery.duplicates > 0 || recovery.tornSectors.length > 0 || recovery.gaps.length > 0 || recovery.corrupt.length > 0) {
      (this as { recovery: RecoveryReport }).recovery = recovery;
    }
    return used;
  }

  // ---- helpers ----

  /** The sector's sequence, -1 when it is free. */
  private seqOf(sector: number): number {
    const o = this.base + sector * PER_SECTOR;
    return this.tables.words[o + STATE] & OWNED ? this.tables.words[o + SEQ] : -1;
  }

  private closed(sector: number): boolean {
    return (this.tables.words[this.base + sector * PER_SECTOR + STATE] & CLOSED) !== 0;
  }

  /** Where the sector's next frame goes. */
  private endOf(sector: number): number {
    return this.tables.words[this.base + sector * PER_SECTOR + STATE] >>> FLAG_BITS;
  }

  /** `seq` -1: the sector is free. */
  private setSector(sector: number, seq: number, end: number, closed: boolean): void {
    const o = this.base + sector * PER_SECTOR;
    this.tables.words[o + SEQ] = seq < 0 ? 0 : seq;
    this.tables.words[o + STATE] = (end << FLAG_BITS) | (closed ? CLOSED : 0) | (seq < 0 ? 0 : OWNED);
  }

  /** The index of the first location of `seq`, or -1. */
  private first(seq: number): number {
    const r = this.locs();
    const a = this.recAt;
    let lo = 0;
    let hi = this.locations;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (r[a + mid * REC + R_SEQ] < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.locations && r[a + lo * REC + R_SEQ] === seq ? lo : -1;
  }

  /** Whether a location of `seq` lies in a sector `outside` accepts. */
  private heldOutside(seq: number, outside: (sector: number) => boolean): boolean {
    const size = this.flash.sectorSize;
    const r = this.locs();
    const a = this.recAt;
    for (let k = this.first(seq); k >= 0 && k < this.locations && r[a + k * REC + R_SEQ] === seq; k++) {
      if (outside(Math.floor(r[a + k * REC + R_AT] / size))) return true;
    }
    return false;
  }

  /** The seqs of the records in `sector`, in the order they lie. */
  private recordsIn(sector: number): number[] {
    const size = this.flash.sectorSize;
    const base = sector * size;
    const found: number[] = [];
    const r = this.locs();
    const at = this.recAt;
    for (let k = 0; k < this.locations; k++) if (r[at + k * REC + R_AT] >= base && r[at + k * REC + R_AT] < base + size) found.push(k);
    return found.sort((a, b) => r[at + a * REC + R_AT] - r[at + b * REC + R_AT]).map((k) => r[at + k * REC + R_SEQ]);
  }

  private frameSize(seq: number): number {
    const k = this.first(seq);
    return this.locs()[this.recAt + k * REC + R_LENGTH] + FRAME_OVERHEAD;
  }

  /** Adds a committed location of `seq`, after those it already has. */
  private addLocation(seq: number, at: number, length: number): void {
    let k = this.locations;
    if (k === this.room) this.grow();
    const known = this.first(seq) >= 0;
    const r = this.locs();
    const a = this.recAt;
    while (k > 0 && r[a + (k - 1) * REC + R_SEQ] > seq) k--;
    r.copyWithin(a + (k + 1) * REC, a + k * REC, a + this.locations * REC);
    r[a + k * REC + R_SEQ] = seq;
    r[a + k * REC + R_AT] = at;
    r[a + k * REC + R_LENGTH] = length;
    this.locations++;
    if (!known) this.records++;
  }

  private removeLocation(k: number): void {
    const a = this.recAt;
    this.locs().copyWithin(a + k * REC, a + (k + 1) * REC, a + this.locations * REC);
    this.locations--;
  }

  private grow(): void {
    const r = this.locs();
    const a = this.recAt;
    const own = new Uint32Array(this.room * 2 * REC);
    for (let i = 0; i < this.locations * REC; i++) own[i] = r[a + i];
    this.own = own;
    this.recAt = 0;
    this.room *= 2;
  }

  private freeSectors(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.sectorCount; i++) if (this.seqOf(i) < 0) out.push(i);
    return out;
  }

  private usedSectors(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.sectorCount; i++) if (this.seqOf(i) >= 0) out.push(i);
    return out;
  }

  /** The open sector with room for a payload, preferring the newest; -1 if none. */
  private sectorWithRoom(length: number): number {
    let best = -1;
    for (let i = 0; i < this.sectorCount; i++) {
      if (this.seqOf(i) < 0 || this.closed(i) || !frameFits(this.flash.sectorSize, this.endOf(i), length)) continue;
      if (best < 0 || this.seqOf(i) > this.seqOf(best)) best = i;
    }
    return best;
  }

  /** Erases a free sector and writes its header; returns it. */
  private openSector(i: number): number {
    this.flash.erase(i);
    this.writer.writeHeader(this.flash, i, this.magic, this.nextSectorSeq);
    this.setSector(i, this.nextSectorSeq++, SECTOR_HEADER_SIZE, false);
    return i;
  }

  private eraseSector(i: number): void {
    this.flash.erase(i);
    const size = this.flash.sectorSize;
    for (const seq of this.recordsIn(i)) {
      if (!this.heldOutside(seq, (sector) => sector !== i)) throw new StorageError('compaction', `erased the only copy of record ${seq} (invariant broken)`, { seq });
      for (let k = this.first(seq); k >= 0 && k < this.locations && this.locs()[this.recAt + k * REC + R_SEQ] === seq; ) {
        if (Math.floor(this.locs()[this.recAt + k * REC + R_AT] / size) === i) this.removeLocation(k);
        else k++;
      }
    }
    this.setSector(i, -1, SECTOR_HEADER_SIZE, false);
  }

  /** Erases used sectors none of whose records is needed (all copied elsewhere, or none at all). */
  private eraseRedundant(): boolean {
    let erased = false;
    for (const i of this.usedSectors()) {
      const records = this.recordsIn(i);
      const redundant = records.every((seq) => this.heldOutside(seq, (sector) => sector !== i));
      // An open, empty sector is a valid append target; only garbage is erased.
      if (redundant && (records.length > 0 || this.closed(i))) {
        this.eraseSector(i);
        erased = true;
      }
    }
    return erased;
  }

  private writeFrame(sector: number, seq: number, payload: Uint8Array): void {
    const o = sector * PER_SECTOR;
    const end = this.tables.words[this.base + o + STATE] >>> FLAG_BITS;
    // Past this point the sector's tail is no longer known erased: if the write fails, it stays closed.
    this.tables.words[this.base + o + STATE] = (end << FLAG_BITS) | OWNED | CLOSED; // (only an opened sector is written to)
    const n = this.writer.writeFrame(this.flash, sector * this.flash.sectorSize + end, seq, payload, payload.length);
    this.tables.words[this.base + o + STATE] = (end << FLAG_BITS) | OWNED;
    this.addLocation(seq, sector * this.flash.sectorSize + end, payload.length);
    this.tables.words[this.base + o + STATE] = ((end + n) << FLAG_BITS) | OWNED;
  }
}
