/**
 * Power-safe store of the energy registers on NOR flash: one record per save in a RecordRing
 * (modules/storage: newest committed record wins, a power cut leaves the newest record or the one
 * being written). Record payload (LE): format 1 | phases u8 | tariffs u8 | 0 | registers (whole µWh,
 * u32 low, u32 high each; registers = phases × tariffs × 2, A+ / A- pairs), 4 + 8 · registers bytes.
 *
 * Layout: every record carries its split, phases × tariffs (`phases` option, default 1). A journal
 * whose newest record is of another layout — another count (tariffs or phases changed), the same
 * count in another split (1 phase × 3 tariffs vs 3 × 1, whose per-phase and per-tariff registers
 * would be misread), or a format it does not know — refuses to start: `load()` and `save()` throw
 * EnergyConfigError 'layout-mismatch' naming the stored and configured count, split and record size
 * plus the stored import/export totals (0 for a format it cannot read), and it never erases or
 * writes. No migration: a re-layout is a service operation, not a side effect of boot.
 *
 * Wear (the Metering engine saves when the unsaved energy reaches one quantum q): records per hour =
 * P/q (P average power), erases per hour = P / (q · R) with R = ⌊(sectorSize − 12) / (payload + 11)⌋
 * records per sector, spread over the ring's S sectors. Sector lifetime at 100 000 erase cycles =
 * 100 000 · S · R · q / P hours. Example: single phase, 1 tariff (2 registers, 20-byte payload,
 * R = 131 in 4 KiB), q = 1 Wh, P = 1 kW average: 1000 writes/h, 7.6 erases/h; with S = 88 (the ESP32's
 * 96-sector energy partition) each sector is erased every 11.5 h: 132 years. Three phases × 4 tariffs
 * (24 registers, R = 19) at 3 kW average: 158 erases/h, each sector erased 1.8 times/h: 6.4 years at
 * S = 88 and q = 1 Wh, 64 at q = 10 Wh (S = 8, a 16-sector partition, would give 0.6 and 5.8). Choose q and S for the meter's
 * rated load.
 */
import { readU32LE, writeU32LE } from '../core/bytes.js';
import type { Flash } from '../ports/flash.js';
import { storeMagic } from '../storage/flash-map.js';
import type { FrameWriter } from '../storage/frame.js';
import { RecordRing, type SectorTables } from '../storage/record-ring.js';
import { EnergyConfigError } from './errors.js';

const FORMAT = 1;
const HEADER = 4;

export interface EnergyJournalOptions {
  /** The journal's own flash (≥ 2 sectors): the flash map's energy journal region. */
  flash: Flash;
  /** Sector header magic (default: the flash map's energy journal). */
  magic?: string;
  registerCount: number;
  /** Phase count of the register layout (registers = phases × tariffs × 2); default 1. */
  phases?: number;
  /** RecordRingOptions.writer. */
  writer?: FrameWriter;
  /** RecordRingOptions.tables. */
  tables?: SectorTables;
}

export interface JournalRecord {
  sequence: number;
  values: number[];
}

export class EnergyJournal {
  /** Payload bytes of one record. */
  readonly recordSize: number;
  /** The split this journal writes and accepts: phases × tariffs × 2 = count. */
  readonly phases: number;
  readonly tariffs: number;
  private readonly ring: RecordRing;
  private readonly count: number;
  /** The last saved (or loaded) values: the monotonic check. Made at its size, of doubles (an
   *  array grown by assignment holds room for 17). */
  private readonly last: number[];
  private hasLast = false;
  private scanned = false;
  private mismatch: EnergyConfigError | undefined;

  constructor(options: EnergyJournalOptions) {
    this.count = options.registerCount;
    this.phases = options.phases ?? 1;
    this.tariffs = this.count / (2 * this.phases);
    if (!Number.isInteger(this.count) || this.count < 1 || this.count > 48) {
      throw new EnergyConfigError('store-config', `register count ${this.count} outside 1…48`, { registerCount: this.count });
    }
    if (!Number.isInteger(this.phases) || this.phases < 1 || !Number.isInteger(this.tariffs) || this.tariffs < 1) {
      throw new EnergyConfigError('store-config', `${this.count} registers are not ${this.phases} phases × whole tariffs × 2`, { registerCount: this.count, phases: this.phases });
    }
    this.recordSize = recordSizeOf(this.count);
    this.last = new Array<number>(this.count).fill(NaN);
    this.ring = new RecordRing({ flash: options.flash, magic: options.magic ?? storeMagic('energyJournal'), maxPayload: this.recordSize, writer: options.writer, tables: options.tables });
  }

  /** Records written and sectors erased by this instance (wear accounting). */
  /** After load(): a record was found damaged in place (its energy lost; the newest intact one was
   *  loaded). A power cut never does this: the meter reports it. */
  get damaged(): boolean {
    return this.ring.damaged;
  }

  get writes(): number {
    return this.ring.writes;
  }
  get erases(): number {
    return this.ring.erases;
  }

  /**
   * The newest record, or undefined on an empty journal. Throws EnergyConfigError 'layout-mismatch'
   * when it is of another layout.
   */
  load(): JournalRecord | undefined {
    this.hasLast = false;
    this.mismatch = undefined;
    const r = this.ring.load();
    this.scanned = true;
    if (!r) return undefined;
    const b = r.payload;
    const phases = b.length >= HEADER ? b[1] : 0;
    const tariffs = b.length >= HEADER ? b[2] : 0;
    const count = 2 * phases * tariffs;
    const readable = b.length >= HEADER && b[0] === FORMAT && count >= 1 && b.length === recordSizeOf(count);
    if (!readable || phases !== this.phases || tariffs !== this.tariffs) {
      this.mismatch = this.mismatchError(readable ? count : 0, readable ? phases : 0, readable ? tariffs : 0, b.length, readable ? b : undefined, r.sequence);
      throw this.mismatch;
    }
    for (let i = 0; i < count; i++) this.last[i] = valueAt(b, i);
    this.hasLast = true;
    return { sequence: r.sequence, values: this.last.slice(0, count) };
  }

  private mismatchError(count: number, phases: number, tariffs: number, size: number, b: Uint8Array | undefined, sequence: number): EnergyConfigError {
    let imp = 0;
    let exp = 0;
    if (b) {
      for (let i = 0; i < count; i += 2) imp += valueAt(b, i);
      for (let i = 1; i < count; i += 2) exp += valueAt(b, i);
    }
    const stored = b ? `${count} registers (${splitOf(phases, tariffs)}, ${size} bytes)` : `a record of ${size} bytes in a format this firmware does not read`;
    return new EnergyConfigError(
      'layout-mismatch',
      `the energy journal holds ${stored}, configured for ${this.count} (${splitOf(this.phases, this.tariffs)}, ${this.recordSize} bytes): refused, nothing erased`,
      {
        storedRegisterCount: count,
        storedPhases: phases,
        storedTariffs: tariffs,
        storedRecordSize: size,
        configuredRegisterCount: this.count,
        configuredPhases: this.phases,
        configuredTariffs: this.tariffs,
        configuredRecordSize: this.recordSize,
        storedSequence: sequence,
        storedImportUwh: imp,
        storedExportUwh: exp,
      },
    );
  }

  /** Saves a record of `values` (whole µWh, each ≥ the last saved: totals are monotonic). */
  save(values: ArrayLike<number>): void {
    if (this.mismatch) throw this.mismatch; // never erase or write over another layout's records
    if (!this.scanned) this.load();
    if (values.length !== this.count) throw new EnergyConfigError('store-config', `record needs ${this.count} registers, got ${values.length}`, { got: values.length });
    // Checked and encoded in one pass: a value refused leaves only the garbage payload buffer changed.
    const rec = this.ring.payload(this.recordSize);
    const last = this.last;
    const hasLast = this.hasLast;
    for (let i = 0; i < this.count; i++) {
      const v = values[i];
      if (!Number.isInteger(v) || v < 0 || v >= 2 ** 53) throw new EnergyConfigError('store-value', `register ${i} value ${v} is not a whole µWh`, { register: i });
      if (hasLast && v < last[i]) throw new EnergyConfigError('store-monotonic', `register ${i} would go back from ${last[i]} to ${v} µWh`, { register: i });
      const hi = Math.floor(v / 2 ** 32);
      writeU32LE(rec, HEADER + 8 * i, v - hi * 2 ** 32);
      writeU32LE(rec, HEADER + 8 * i + 4, hi);
    }
    rec[0] = FORMAT;
    rec[1] = this.phases;
    rec[2] = this.tariffs;
    rec[3] = 0;
    this.ring.save(rec, this.recordSize);
    // Updated in place: no allocation per save.
    for (let i = 0; i < this.count; i++) this.last[i] = values[i];
    this.hasLast = true;
  }
}

function recordSizeOf(count: number): number {
  return HEADER + 8 * count;
}

function valueAt(b: Uint8Array, i: number): number {
  return readU32LE(b, HEADER + 8 * i) + readU32LE(b, HEADER + 8 * i + 4) * 2 ** 32;
}

function splitOf(phases: number, tariffs: number): string {
  return `${phases} phase${phases === 1 ? '' : 's'} × ${tariffs} tariff${tariffs === 1 ? '' : 's'}`;
}
