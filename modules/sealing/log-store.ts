/**
 * A power-loss-safe, append-only record store on NOR flash (the `Flash` port): the storage under the
 * calibration log (WELMEC 7.2 / MID event log: "recorded for the life of the meter").
 *
 * Layout. Each sector in the store's range starts with a 12-byte header written right after its erase:
 * magic "XSLG", u32 sector sequence, CRC-32 of those 8 bytes. A sector whose header does not check is
 * free (and is erased again before use). After the header come record frames, back to back, never
 * spanning sectors:
 *
 *   u16 length | u32 record seq | payload (length bytes) | u32 CRC-32(length‖seq‖payload) | u8 commit
 *
 * Atomic commit. A frame is written in one call and its commit byte (0xFF → 0x00) in a second call,
 * last. A record exists only if its CRC checks and its commit byte is 0x00; anything else (a torn
 * frame, a half-programmed commit byte) is ignored, and its sector is closed for appends: nothing is
 * ever written after a torn region, so a torn write can never be mistaken for a later record. A sector
 * is also closed when the bytes after its last record are not all 0xFF.
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
import { readU16LE, readU32LE, writeU16LE, writeU32LE } from '../core/bytes.js';
import type { Flash } from '../ports/flash.js';
import { crc32 } from '../core/crc32.js';
import { LogFullError, LogStoreError } from './errors.js';

const MAGIC = 0x474c5358; // "XSLG" read as u32 LE
export const SECTOR_HEADER_SIZE = 12;
/** u16 length + u32 seq before the payload; u32 CRC + u8 commit after it. */
export const FRAME_OVERHEAD = 11;
const COMMITTED = 0x00;

export interface LogStoreOptions {
  /** First sector of the store's partition (default 0). */
  firstSector?: number;
  /** Sectors in the partition (default: the rest of the flash). At least 2: one is the reserve. */
  sectorCount?: number;
}

interface RecordLocation {
  sector: number;
  offset: number;
  length: number;
}

interface SectorState {
  /** Sector sequence from its header; -1 when the sector is free. */
  seq: number;
  /** Where the next frame would go. */
  end: number;
  /** No more appends here: torn region or non-erased bytes after the last record. */
  closed: boolean;
  /** Seqs of the committed records it holds, in the order they lie. */
  records: number[];
}

/** What start-up recovery found, for diagnostics and tests. */
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

export interface LogStoreStats {
  records: number;
  sectors: number;
  freeSectors: number;
  /** Bytes of payload that still fit, counting open sectors' tails and free sectors except the reserve. */
  payloadBytesFree: number;
  maxPayload: number;
  /** Records copied by compaction since this store was opened. */
  recordsCopied: number;
}

export class LogStore {
  readonly flash: Flash;
  readonly firstSector: number;
  readonly sectorCount: number;
  /** The largest payload one record can carry. */
  readonly maxPayload: number;
  readonly recovery: RecoveryReport;
  private readonly sectors: SectorState[] = [];
  /** seq → every committed location (normally one). */
  private readonly where = new Map<number, RecordLocation[]>();
  private nextRecordSeq = 0;
  private nextSectorSeq = 0;
  private lowestSeq = 0;
  private copied = 0;

  private constructor(flash: Flash, options: LogStoreOptions) {
    this.flash = flash;
    this.firstSector = options.firstSector ?? 0;
    this.sectorCount = options.sectorCount ?? flash.sectorCount - this.firstSector;
    if (
      !Number.isInteger(this.firstSector) ||
      !Number.isInteger(this.sectorCount) ||
      this.firstSector < 0 ||
      this.sectorCount < 2 ||
      this.firstSector + this.sectorCount > flash.sectorCount
    ) {
      throw new LogStoreError('geometry', `log store needs at least 2 sectors inside the flash (asked sectors ${this.firstSector}+${this.sectorCount} of ${flash.sectorCount})`, {
        firstSector: this.firstSector,
        sectorCount: this.sectorCount,
      });
    }
    this.maxPayload = Math.min(0xfffe, flash.sectorSize - SECTOR_HEADER_SIZE - FRAME_OVERHEAD);
    if (this.maxPayload < 1) throw new LogStoreError('geometry', `sector size ${flash.sectorSize} is too small for a record`, { sectorSize: flash.sectorSize });
    this.recovery = { tornSectors: [], duplicates: 0, gaps: [], corrupt: [] };
  }

  /** Opens the store on `flash`, recovering its state from what is there (start-up recovery). */
  static open(flash: Flash, options: LogStoreOptions = {}): LogStore {
    const store = new LogStore(flash, options);
    store.scan();
    // An interrupted compaction left copies: drop the redundant sectors now, so that appends do not
    // land in a half-filled copy and the next compaction starts from a clean layout.
    if (store.recovery.duplicates > 0) store.eraseRedundant();
    return store;
  }

  /** Records held. */
  get count(): number {
    return this.where.size;
  }

  /** The seq the next append will get; it never goes back. */
  get nextSeq(): number {
    return this.nextRecordSeq;
  }

  /** Seqs held, ascending. */
  seqs(): number[] {
    return [...this.where.keys()].sort((a, b) => a - b);
  }

  /** The payload of record `seq` (read from flash). */
  read(seq: number): Uint8Array {
    const loc = this.where.get(seq)?.[0];
    if (!loc) throw new LogStoreError('no-record', `no record with seq ${seq}`, { seq });
    return this.flash.read(this.sectorBase(loc.sector) + loc.offset + 6, loc.length);
  }

  /** Every record's payload, in seq order. */
  readAll(): Uint8Array[] {
    return this.seqs().map((s) => this.read(s));
  }

  stats(): LogStoreStats {
    const room = (used: number) => Math.max(0, this.flash.sectorSize - used - FRAME_OVERHEAD);
    let free = 0;
    let bytes = 0;
    for (const s of this.sectors) {
      if (s.seq < 0) free++;
      else if (!s.closed) bytes += room(s.end);
    }
    bytes += Math.max(0, free - 1) * this.maxPayload;
    return { records: this.count, sectors: this.sectorCount, freeSectors: free, payloadBytesFree: bytes, maxPayload: this.maxPayload, recordsCopied: this.copied };
  }

  /**
   * Appends one record and returns its seq once it is committed. Throws LogFullError when neither an
   * open sector, a free sector beyond the reserve, nor compaction gives room.
   */
  append(payload: Uint8Array): number {
    if (payload.length < 1 || payload.length > this.maxPayload) {
      throw new LogStoreError('record-size', `record of ${payload.length} bytes: allowed 1..${this.maxPayload}`, { length: payload.length, max: this.maxPayload });
    }
    let sector = this.sectorWithRoom(payload.length);
    if (sector < 0 && this.freeSectors().length > 1) sector = this.openSector(this.freeSectors()[0]);
    if (sector < 0) {
      this.compact();
      sector = this.sectorWithRoom(payload.length);
      if (sector < 0 && this.freeSectors().length > 1) sector = this.openSector(this.freeSectors()[0]);
    }
    if (sector < 0) {
      throw new LogFullError('log-full', `log store full: ${this.count} records, no room for ${payload.length} more bytes`, { records: this.count, length: payload.length });
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
    let gained = this.eraseRedundant();
    const capacity = this.flash.sectorSize - SECTOR_HEADER_SIZE;
    const candidates = this.usedSectors()
      .map((i) => ({ i, bytes: this.sectors[i].records.reduce((n, s) => n + this.frameSize(s), 0) }))
      .sort((a, b) => a.bytes - b.bytes || this.sectors[a.i].seq - this.sectors[b.i].seq);
    // The shortest prefix of sources whose records pack into fewer sectors than they occupy. A record
    // needs a copy only once, and only if no sector outside the sources holds it.
    let chosen = -1;
    for (let k = 1; k <= candidates.length && chosen < 0; k++) {
      const set = new Set(candidates.slice(0, k).map((c) => c.i));
      const counted = new Set<number>();
      let dests = 1;
      let used = 0;
      for (const c of candidates.slice(0, k)) {
        for (const s of this.sectors[c.i].records) {
          if (counted.has(s) || this.where.get(s)!.some((l) => !set.has(l.sector))) continue;
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
      for (const seq of [...this.sectors[src].records]) {
        if (this.where.get(seq)!.some((l) => l.sector !== src)) continue; // a copy exists elsewhere
        const payload = this.read(seq);
        if (this.sectors[dest].end + FRAME_OVERHEAD + payload.length > this.flash.sectorSize) {
          const next = this.freeSectors();
          if (next.length === 0) throw new LogStoreError('compaction', 'compaction ran out of sectors (invariant broken)');
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

  private scan(): void {
    const size = this.flash.sectorSize;
    for (let i = 0; i < this.sectorCount; i++) {
      const state: SectorState = { seq: -1, end: SECTOR_HEADER_SIZE, closed: false, records: [] };
      this.sectors.push(state);
      const base = this.sectorBase(i);
      const header = this.flash.read(base, SECTOR_HEADER_SIZE);
      if (readU32LE(header, 0) !== MAGIC || readU32LE(header, 8) !== crc32(header.subarray(0, 8))) continue;
      state.seq = readU32LE(header, 4);
      this.nextSectorSeq = Math.max(this.nextSectorSeq, state.seq + 1);
      const body = this.flash.read(base, size);
      let p = SECTOR_HEADER_SIZE;
      while (p + FRAME_OVERHEAD < size) {
        if (readU16LE(body, p) === 0xffff) break;
        const length = this.frameAt(body, p);
        if (length < 0) {
          // Not a committed frame. After a torn write nothing valid follows; if a committed frame does,
          // the bytes were altered in place: keep reading, and report it (the seq gap shows the loss).
          state.closed = true;
          let q = p + 1;
          while (q + FRAME_OVERHEAD < size && this.frameAt(body, q) < 0) q++;
          if (q + FRAME_OVERHEAD >= size) break;
          this.recovery.corrupt.push({ sector: this.firstSector + i, offset: p });
          p = q;
          continue;
        }
        const seq = readU32LE(body, p + 2);
        this.addLocation(seq, { sector: i, offset: p, length });
        state.records.push(seq);
        p += length + FRAME_OVERHEAD;
      }
      state.end = p;
      if (!state.closed) {
        for (let k = p; k < size; k++) {
          if (body[k] !== 0xff) {
            state.closed = true;
            break;
          }
        }
      }
      if (state.closed) this.recovery.tornSectors.push(this.firstSector + i);
    }
    const seqs = this.seqs();
    if (seqs.length > 0) {
      this.lowestSeq = seqs[0];
      this.nextRecordSeq = seqs[seqs.length - 1] + 1;
      for (let s = this.lowestSeq, k = 0; s < this.nextRecordSeq; s++) {
        if (seqs[k] === s) k++;
        else this.recovery.gaps.push(s);
      }
    }
    for (const locs of this.where.values()) this.recovery.duplicates += locs.length - 1;
  }

  // ---- helpers ----

  /** Payload length of a committed frame at `p` of a sector image, or -1. */
  private frameAt(body: Uint8Array, p: number): number {
    const length = readU16LE(body, p);
    const end = p + length + FRAME_OVERHEAD;
    if (length === 0 || length === 0xffff || end > body.length || body[end - 1] !== COMMITTED) return -1;
    return readU32LE(body, p + 6 + length) === crc32(body.subarray(p, p + 6 + length)) ? length : -1;
  }

  private sectorBase(i: number): number {
    return (this.firstSector + i) * this.flash.sectorSize;
  }

  private frameSize(seq: number): number {
    return this.where.get(seq)![0].length + FRAME_OVERHEAD;
  }

  private addLocation(seq: number, loc: RecordLocation): void {
    const list = this.where.get(seq);
    if (list) list.push(loc);
    else this.where.set(seq, [loc]);
  }

  private freeSectors(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.sectorCount; i++) if (this.sectors[i].seq < 0) out.push(i);
    return out;
  }

  private usedSectors(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.sectorCount; i++) if (this.sectors[i].seq >= 0) out.push(i);
    return out;
  }

  /** The open sector with room for a payload, preferring the newest; -1 if none. */
  private sectorWithRoom(length: number): number {
    let best = -1;
    for (let i = 0; i < this.sectorCount; i++) {
      const s = this.sectors[i];
      if (s.seq < 0 || s.closed || s.end + FRAME_OVERHEAD + length > this.flash.sectorSize) continue;
      if (best < 0 || s.seq > this.sectors[best].seq) best = i;
    }
    return best;
  }

  /** Erases a free sector and writes its header; returns it. */
  private openSector(i: number): number {
    this.flash.erase(this.firstSector + i);
    const header = new Uint8Array(SECTOR_HEADER_SIZE);
    writeU32LE(header, 0, MAGIC);
    writeU32LE(header, 4, this.nextSectorSeq);
    writeU32LE(header, 8, crc32(header.subarray(0, 8)));
    this.flash.write(this.sectorBase(i), header);
    this.sectors[i] = { seq: this.nextSectorSeq++, end: SECTOR_HEADER_SIZE, closed: false, records: [] };
    return i;
  }

  private eraseSector(i: number): void {
    this.flash.erase(this.firstSector + i);
    for (const seq of this.sectors[i].records) {
      const rest = this.where.get(seq)!.filter((l) => l.sector !== i);
      if (rest.length === 0) throw new LogStoreError('compaction', `erased the only copy of record ${seq} (invariant broken)`, { seq });
      this.where.set(seq, rest);
    }
    this.sectors[i] = { seq: -1, end: SECTOR_HEADER_SIZE, closed: false, records: [] };
  }

  /** Erases used sectors none of whose records is needed (all copied elsewhere, or none at all). */
  private eraseRedundant(): boolean {
    let erased = false;
    for (const i of this.usedSectors()) {
      const s = this.sectors[i];
      const redundant = s.records.every((seq) => this.where.get(seq)!.some((l) => l.sector !== i));
      // An open, empty sector is a valid append target; only garbage is erased.
      if (redundant && (s.records.length > 0 || s.closed)) {
        this.eraseSector(i);
        erased = true;
      }
    }
    return erased;
  }

  private writeFrame(sector: number, seq: number, payload: Uint8Array): void {
    const s = this.sectors[sector];
    const frame = new Uint8Array(payload.length + FRAME_OVERHEAD);
    writeU16LE(frame, 0, payload.length);
    writeU32LE(frame, 2, seq);
    frame.set(payload, 6);
    writeU32LE(frame, 6 + payload.length, crc32(frame.subarray(0, 6 + payload.length)));
    frame[frame.length - 1] = 0xff; // the commit byte stays erased until the frame is complete
    const at = this.sectorBase(sector) + s.end;
    // Past this point the sector's tail is no longer known erased: if the write is cut, recovery closes it.
    s.closed = true;
    this.flash.write(at, frame);
    this.flash.write(at + frame.length - 1, new Uint8Array([COMMITTED]));
    s.closed = false;
    this.addLocation(seq, { sector, offset: s.end, length: payload.length });
    s.records.push(seq);
    s.end += frame.length;
  }
}
