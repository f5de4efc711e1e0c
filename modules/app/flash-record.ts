/**
 * One small record kept power-safe on NOR flash (the Flash port): every save appends a fixed-size
 * slot "FR" | version | 0 | sequence u32 | length u16 | payload (zero padded) | CRC-32 across a ring
 * of ≥ 2 sectors, and the valid slot with the highest sequence is the record. A slot torn by a power
 * cut fails its CRC and the previous one stays the record; a sector is erased only when the writer
 * moves into it, while the newest record lies in the sector before (the energy journal's scheme,
 * modules/metrology/energy-journal.ts). Used for the telegram and service counters and the active
 * calibration. A record whose payload grew (a new firmware) still reads the slots of its earlier size
 * (`legacyMaxPayload`); the first save then goes to the other sector, so the old newest slot stays
 * valid until the new one is written.
 */
import { readU16LE, readU32LE, writeU16LE, writeU32LE } from '../core/bytes.js';
import { crc32 } from '../core/crc32.js';
import { MeterError } from '../core/errors.js';
import type { Flash } from '../ports/flash.js';

const VERSION = 1;
const HEADER = 10;

export interface FlashRecordOptions {
  flash: Flash;
  firstSector: number;
  sectorCount: number;
  /** Largest payload, bytes (the slot size is this plus 14). */
  maxPayload: number;
  /** The largest payload of an earlier firmware's record in the same sectors (read only). */
  legacyMaxPayload?: number;
}

export class FlashRecord {
  readonly slotSize: number;
  readonly slotsPerSector: number;
  /** Flash writes and erases made by this instance (wear accounting). */
  writes = 0;
  erases = 0;
  private readonly o: FlashRecordOptions;
  private newest: { sector: number; slot: number; sequence: number; payload: Uint8Array } | undefined;
  private scanned = false;

  constructor(o: FlashRecordOptions) {
    this.o = o;
    this.slotSize = HEADER + o.maxPayload + 4;
    this.slotsPerSector = Math.floor(o.flash.sectorSize / this.slotSize);
    if (o.sectorCount < 2 || o.firstSector < 0 || o.firstSector + o.sectorCount > o.flash.sectorCount || this.slotsPerSector < 1 || !(o.maxPayload >= 1 && o.maxPayload <= 0xffff)) {
      throw new MeterError('store-config', 'a flash record needs at least two sectors inside the flash, each holding a slot', {
        firstSector: o.firstSector,
        sectorCount: o.sectorCount,
      });
    }
  }

  private offset(sector: number, slot: number): number {
    return (this.o.firstSector + sector) * this.o.flash.sectorSize + slot * this.slotSize;
  }

  private decode(b: Uint8Array, maxPayload = this.o.maxPayload): { sequence: number; payload: Uint8Array } | undefined {
    if (b[0] !== 0x46 || b[1] !== 0x52 || b[2] !== VERSION) return undefined;
    const len = readU16LE(b, 8);
    if (len > maxPayload) return undefined;
    const end = HEADER + maxPayload;
    if (readU32LE(b, end) !== crc32(b, 0, end)) return undefined;
    return { sequence: readU32LE(b, 4), payload: b.slice(HEADER, HEADER + len) };
  }

  /** The newest valid record, or undefined when none was ever saved (or none survives). */
  load(): Uint8Array | undefined {
    this.newest = undefined;
    const f = this.o.flash;
    for (let s = 0; s < this.o.sectorCount; s++) {
      const sector = f.read(this.offset(s, 0), f.sectorSize);
      for (let slot = 0; slot < this.slotsPerSector; slot++) {
        const r = this.decode(sector.subarray(slot * this.slotSize, (slot + 1) * this.slotSize));
        if (r && (!this.newest || r.sequence > this.newest.sequence)) this.newest = { sector: s, slot, ...r };
      }
      const legacy = this.o.legacyMaxPayload;
      if (legacy === undefined || legacy === this.o.maxPayload) continue;
      const size = HEADER + legacy + 4;
      for (let at = 0; at + size <= sector.length; at += size) {
        const r = this.decode(sector.subarray(at, at + size), legacy);
        // slot = slotsPerSector: the next save moves on to the other sector (erasing it), never into this one.
        if (r && (!this.newest || r.sequence > this.newest.sequence)) this.newest = { sector: s, slot: this.slotsPerSector, ...r };
      }
    }
    this.scanned = true;
    return this.newest?.payload.slice();
  }

  private blank(sector: number, slot: number, slots = 1): boolean {
    const b = this.o.flash.read(this.offset(sector, slot), slots * this.slotSize);
    for (let i = 0; i < b.length; i++) if (b[i] !== 0xff) return false;
    return true;
  }

  save(payload: Uint8Array): void {
    if (!this.scanned) this.load();
    if (payload.length > this.o.maxPayload) {
      throw new MeterError('store-config', `record of ${payload.length} bytes exceeds ${this.o.maxPayload}`, { length: payload.length });
    }
    const last = this.newest;
    const seq = last ? last.sequence + 1 : 1;
    const rec = new Uint8Array(this.slotSize);
    rec[0] = 0x46;
    rec[1] = 0x52;
    rec[2] = VERSION;
    writeU32LE(rec, 4, seq >>> 0);
    writeU16LE(rec, 8, payload.length);
    rec.set(payload, HEADER);
    writeU32LE(rec, this.slotSize - 4, crc32(rec, 0, this.slotSize - 4));
    let sector = last ? last.sector : 0;
    let slot = last ? last.slot + 1 : 0;
    if (!last && !this.blank(0, 0, this.slotsPerSector)) {
      this.o.flash.erase(this.o.firstSector);
      this.erases++;
    }
    for (;;) {
      if (slot >= this.slotsPerSector) {
        sector = (sector + 1) % this.o.sectorCount;
        slot = 0;
        if (!this.blank(sector, 0, this.slotsPerSector)) {
          this.o.flash.erase(this.o.firstSector + sector);
          this.erases++;
        }
      }
      if (this.blank(sector, slot)) break;
      slot++;
    }
    this.o.flash.write(this.offset(sector, slot), rec);
    this.writes++;
    this.newest = { sector, slot, sequence: seq, payload: payload.slice() };
  }
}
