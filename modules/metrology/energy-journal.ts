/**
 * Power-safe store of the energy registers on NOR flash (the Flash port): fixed-size records
 * appended across a ring of ≥ 2 sectors, each "EJ" | version | register count | 48-bit sequence |
 * phases | tariffs | registers (whole µWh, 2 × u32 each) | CRC-32 (phases and tariffs are the two
 * top bytes of the 64-bit sequence field, 0 in records written before they existed). On start the
 * valid record with the highest sequence wins; a record torn by a power cut fails its CRC and is
 * skipped. A sector is erased only when the writer moves into it, and the newest valid record is
 * then always in the previous sector, so a cut during an erase or a write never destroys the newest
 * record.
 *
 * Layout: every record carries its register count (and so its size) and its split, phases × tariffs
 * (registers = phases × tariffs × 2, A+ / A- pairs; `phases` option, default 1). A journal that finds
 * a valid record of another layout anywhere in its sectors — another count (tariffs or phases
 * changed), or the same count in another split (1 phase × 3 tariffs vs 3 × 1, whose per-phase and
 * per-tariff registers would be misread) — refuses to start: `load()` and `save()` throw
 * EnergyConfigError 'layout-mismatch' naming the stored and configured count, split and record size
 * plus the stored import/export totals, and it never erases or writes (before, such records read as
 * an empty flash and the first save erased them: 1.8.0 went to 0). No migration: a re-layout is a
 * service operation, not a side effect of boot.
 * Records without the split (0 | 0: firmware before it was recorded) are read as the configured
 * split when their count matches — that firmware could not record it, and refusing them would stop
 * every meter of 4 or more registers at the upgrade — and the next save writes the split. Residual:
 * a split change made in the same restart as that upgrade is not detected. Their stored split
 * reads 0 in the error details when their count differs.
 *
 * Wear (the Metering engine saves when the unsaved energy reaches one quantum q): records per hour =
 * P/q (P average power), erases per hour = P / (q · R) with R = floor(sectorSize / recordSize) records
 * per sector, spread over S sectors. Sector lifetime at 100 000 erase cycles = 100 000 · S · R · q / P
 * hours. Example: single phase, 1 tariff (2 registers, 32-byte records, R = 128 in 4 KiB), q = 1 Wh,
 * S = 4, P = 1 kW average: 1000 writes/h, 7.8 erases/h, each sector erased ~2 times/h: 5.8 years;
 * S = 16 gives 23 years, and q = 10 Wh 10 × longer. Choose q and S for the meter's rated load.
 */
import { readU16LE, readU32LE, writeU16LE, writeU32LE } from '../core/bytes.js';
import type { Flash } from '../ports/flash.js';
import { crc32 } from '../core/crc32.js';
import { EnergyConfigError } from './errors.js';

const VERSION = 1;
const HEADER = 12;
/** Offset of the phases and tariffs bytes (the top of the sequence field, which holds 48 bits). */
const SPLIT = 10;

export interface EnergyJournalOptions {
  flash: Flash;
  registerCount: number;
  /** Phase count of the register layout (registers = phases × tariffs × 2); default 1. */
  phases?: number;
  firstSector?: number;
  sectorCount?: number;
}

export interface JournalRecord {
  sequence: number;
  values: number[];
}

export class EnergyJournal {
  readonly recordSize: number;
  readonly slotsPerSector: number;
  /** Flash writes and erases made by this instance (wear accounting). */
  writes = 0;
  erases = 0;
  private readonly flash: Flash;
  private readonly count: number;
  /** The split this journal writes and accepts: phases × tariffs × 2 = count. */
  readonly phases: number;
  readonly tariffs: number;
  private readonly first: number;
  private readonly sectors: number;
  private newest: { sector: number; slot: number; sequence: number; values: number[] } | undefined;
  private scanned = false;
  private mismatch: EnergyConfigError | undefined;
  /** The record being written, reused by every save (Flash.write does not keep the buffer). */
  private rec: Uint8Array | undefined;

  constructor(options: EnergyJournalOptions) {
    const f = options.flash;
    this.flash = f;
    this.count = options.registerCount;
    this.first = options.firstSector ?? 0;
    this.sectors = options.sectorCount ?? f.sectorCount - this.first;
    this.phases = options.phases ?? 1;
    this.tariffs = this.count / (2 * this.phases);
    this.recordSize = recordSizeOf(this.count);
    this.slotsPerSector = Math.floor(f.sectorSize / this.recordSize);
    if (!Number.isInteger(this.count) || this.count < 1 || this.count > 48) {
      throw new EnergyConfigError('store-config', `register count ${this.count} outside 1…48`, { registerCount: this.count });
    }
    if (!Number.isInteger(this.phases) || this.phases < 1 || !Number.isInteger(this.tariffs) || this.tariffs < 1) {
      throw new EnergyConfigError('store-config', `${this.count} registers are not ${this.phases} phases × whole tariffs × 2`, { registerCount: this.count, phases: this.phases });
    }
    if (this.sectors < 2 || this.first < 0 || this.first + this.sectors > f.sectorCount || this.slotsPerSector < 1) {
      throw new EnergyConfigError('store-config', 'the energy journal needs at least two sectors of the flash, each holding a record', {
        firstSector: this.first,
        sectorCount: this.sectors,
      });
    }
  }

  private offset(sector: number, slot: number): number {
    return (this.first + sector) * this.flash.sectorSize + slot * this.recordSize;
  }

  /** A valid record of this layout (or of this count without a split), with `tagged` telling which. */
  private decode(b: Uint8Array): (JournalRecord & { tagged: boolean }) | undefined {
    if (b[0] !== 0x45 || b[1] !== 0x4a || b[2] !== VERSION || b[3] !== this.count) return undefined;
    const tagged = b[SPLIT] !== 0 || b[SPLIT + 1] !== 0;
    if (tagged && (b[SPLIT] !== this.phases || b[SPLIT + 1] !== this.tariffs)) return undefined;
    const end = this.recordSize - 4;
    if (readU32LE(b, end) !== crc32(b, 0, end)) return undefined;
    const values: number[] = [];
    for (let i = 0; i < this.count; i++) values.push(readU32LE(b, HEADER + 8 * i) + readU32LE(b, HEADER + 8 * i + 4) * 2 ** 32);
    return { sequence: readU32LE(b, 4) + readU16LE(b, 8) * 2 ** 32, values, tagged };
  }

  /**
   * The newest valid record, or undefined on an empty (or wholly unreadable) journal. Throws
   * EnergyConfigError 'layout-mismatch' when the sectors hold a valid record of another register count.
   */
  load(): JournalRecord | undefined {
    this.newest = undefined;
    this.mismatch = undefined;
    let foreign: ForeignRecord | undefined;
    for (let s = 0; s < this.sectors; s++) {
      const sector = this.flash.read(this.offset(s, 0), this.flash.sectorSize);
      let own = false;
      for (let slot = 0; slot < this.slotsPerSector; slot++) {
        const r = this.decode(sector.subarray(slot * this.recordSize, (slot + 1) * this.recordSize));
        if (!r) continue;
        if (r.tagged) own = true;
        if (!this.newest || r.sequence > this.newest.sequence) this.newest = { sector: s, slot, sequence: r.sequence, values: r.values };
      }
      // A sector is erased before our first record goes in, so only a sector without one can hold another
      // layout's (records without a split do not count: the writer appends after them without an erase).
      if (!own) {
        const r = foreignRecord(sector, this.count, this.phases, this.tariffs);
        if (r && (!foreign || r.sequence > foreign.sequence)) foreign = r;
      }
    }
    this.scanned = true;
    if (foreign) {
      let imp = 0;
      let exp = 0;
      for (let i = 0; i < foreign.count; i += 2) imp += foreign.values[i];
      for (let i = 1; i < foreign.count; i += 2) exp += foreign.values[i];
      this.newest = undefined;
      this.mismatch = new EnergyConfigError(
        'layout-mismatch',
        `the energy journal holds records of ${foreign.count} registers (${splitOf(foreign.phases, foreign.tariffs)}, ${recordSizeOf(foreign.count)} bytes), configured for ${this.count} (${splitOf(this.phases, this.tariffs)}, ${this.recordSize} bytes): refused, nothing erased`,
        {
          storedRegisterCount: foreign.count,
          storedPhases: foreign.phases,
          storedTariffs: foreign.tariffs,
          storedRecordSize: recordSizeOf(foreign.count),
          configuredRegisterCount: this.count,
          configuredPhases: this.phases,
          configuredTariffs: this.tariffs,
          configuredRecordSize: this.recordSize,
          storedSequence: foreign.sequence,
          storedImportUwh: imp,
          storedExportUwh: exp,
        },
      );
      throw this.mismatch;
    }
    return this.newest && { sequence: this.newest.sequence, values: this.newest.values.slice() };
  }

  private blank(sector: number, slot: number, slots = 1): boolean {
    const b = this.flash.read(this.offset(sector, slot), slots * this.recordSize);
    for (let i = 0; i < b.length; i++) if (b[i] !== 0xff) return false;
    return true;
  }

  /** Appends a record of `values` (whole µWh, each ≥ the last saved: totals are monotonic). */
  save(values: ArrayLike<number>): void {
    if (this.mismatch) throw this.mismatch; // never erase or write over another layout's records
    if (!this.scanned) this.load();
    if (values.length !== this.count) throw new EnergyConfigError('store-config', `record needs ${this.count} registers, got ${values.length}`, { got: values.length });
    const last = this.newest;
    for (let i = 0; i < this.count; i++) {
      const v = values[i];
      if (!Number.isInteger(v) || v < 0 || v >= 2 ** 53) throw new EnergyConfigError('store-value', `register ${i} value ${v} is not a whole µWh`, { register: i });
      if (last && v < last.values[i]) throw new EnergyConfigError('store-monotonic', `register ${i} would go back from ${last.values[i]} to ${v} µWh`, { register: i });
    }
    const rec = (this.rec ??= new Uint8Array(this.recordSize));
    const seq = last ? last.sequence + 1 : 1;
    rec[0] = 0x45;
    rec[1] = 0x4a;
    rec[2] = VERSION;
    rec[3] = this.count;
    writeU32LE(rec, 4, seq % 2 ** 32);
    writeU16LE(rec, 8, Math.floor(seq / 2 ** 32));
    rec[SPLIT] = this.phases;
    rec[SPLIT + 1] = this.tariffs;
    for (let i = 0; i < this.count; i++) {
      writeU32LE(rec, HEADER + 8 * i, values[i] % 2 ** 32);
      writeU32LE(rec, HEADER + 8 * i + 4, Math.floor(values[i] / 2 ** 32));
    }
    writeU32LE(rec, this.recordSize - 4, crc32(rec, 0, this.recordSize - 4));

    // Next free slot after the newest record; a torn (non-blank, invalid) slot is skipped.
    let sector = last ? last.sector : 0;
    let slot = last ? last.slot + 1 : 0;
    if (!last && !this.blank(0, 0, this.slotsPerSector)) {
      this.flash.erase(this.first);
      this.erases++;
    }
    for (;;) {
      if (slot >= this.slotsPerSector) {
        sector = (sector + 1) % this.sectors;
        slot = 0;
        // The newest record is in the sector we leave: erasing this one cannot lose it.
        if (!this.blank(sector, 0, this.slotsPerSector)) {
          this.flash.erase(this.first + sector);
          this.erases++;
        }
      }
      if (this.blank(sector, slot)) break;
      slot++;
    }
    this.flash.write(this.offset(sector, slot), rec);
    this.writes++;
    if (last) {
      // Updated in place: no allocation per save.
      last.sector = sector;
      last.slot = slot;
      last.sequence = seq;
      for (let i = 0; i < this.count; i++) last.values[i] = values[i];
    } else this.newest = { sector, slot, sequence: seq, values: Array.from(values) };
  }
}

function recordSizeOf(count: number): number {
  return HEADER + 8 * count + 4;
}

function splitOf(phases: number, tariffs: number): string {
  return phases === 0 ? 'split not recorded' : `${phases} phase${phases === 1 ? '' : 's'} × ${tariffs} tariff${tariffs === 1 ? '' : 's'}`;
}

/** A valid record of another layout; phases and tariffs 0 when it predates the recorded split. */
type ForeignRecord = JournalRecord & { count: number; phases: number; tariffs: number };

/**
 * The newest valid record of any layout other than `count` registers as `phases` × `tariffs` (or
 * `count` without a split) in one sector: record starts are multiples of 8 bytes (sizes are
 * 16 + 8·count), so only those offsets are tried.
 */
function foreignRecord(sector: Uint8Array, own: number, phases: number, tariffs: number): ForeignRecord | undefined {
  let best: ForeignRecord | undefined;
  for (let at = 0; at + 24 <= sector.length; at += 8) {
    const count = sector[at + 3];
    const p = sector[at + SPLIT];
    const t = sector[at + SPLIT + 1];
    if (sector[at] !== 0x45 || sector[at + 1] !== 0x4a || sector[at + 2] !== VERSION || count < 1 || count > 48) continue;
    if (count === own && ((p === 0 && t === 0) || (p === phases && t === tariffs))) continue;
    const size = recordSizeOf(count);
    if (at % size !== 0 || at + size > sector.length || readU32LE(sector, at + size - 4) !== crc32(sector, at, at + size - 4)) continue;
    const sequence = readU32LE(sector, at + 4) + readU16LE(sector, at + 8) * 2 ** 32;
    if (best && sequence <= best.sequence) continue;
    const values: number[] = [];
    for (let i = 0; i < count; i++) values.push(readU32LE(sector, at + HEADER + 8 * i) + readU32LE(sector, at + HEADER + 8 * i + 4) * 2 ** 32);
    best = { sequence, values, count, phases: p, tariffs: t };
  }
  return best;
}
