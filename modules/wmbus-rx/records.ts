/**
 * EN 13757-3:2018 data record parser (clause 6): DIF and DIFEs (data field, function, storage
 * number, tariff, subunit), the special functions (DIF 0x0F / 0x1F manufacturer data to the end,
 * 0x1F also "more records follow", 0x2F idle filler), VIF (primary table, FD and FB extensions,
 * plain-text VIF 0x7C, any-VIF 0x7E, manufacturer-specific VIF 0x7F), combinable VIFEs (the FC
 * extension, VIFE 0x7F "manufacturer specific follows") and the data, including LVAR (Table 5:
 * text / container, BCD, binary).
 *
 * Two modes:
 *  - lenient (default): every well-formed record is returned, whatever its VIF; a reserved
 *    special-function DIF (0x3F-0x7F, or 0xxF with the extension bit) is skipped as one byte and
 *    listed in `skipped` (meters send stray 0xFF bytes between records); what cannot be delimited
 *    (a reserved LVAR, a record running past the end) stops the parse and is returned in
 *    `unparsed` with the reason, after the records before it; so do more than 10 DIFEs (the
 *    standard's limit: beyond 12 the storage number would no longer be an exact number);
 *  - strict: today's conformance checker: a plain-text VIF, a readout DIF, a reserved special DIF,
 *    more than 10 DIFEs or VIFEs, an LVAR above 0xBF or a truncated record is a typed error
 *    (ReceiveError) naming the offset.
 * The meaning of each record (unit, scale, OBIS) is in values.ts.
 */
import { DATA_FIELD_LENGTH, FUNCTIONS, type DataField, type RecordFunction } from '../wmbus/records.js';
import { VIF_FB, VIF_FD, VIFE_FC } from '../wmbus/vif-table.js';
import { ReceiveError } from './receive-error.js';

const FIELD_BY_CODE: readonly DataField[] = Object.freeze([
  'none', 'int8', 'int16', 'int24', 'int32', 'real32', 'int48', 'int64',
  'readout', 'bcd2', 'bcd4', 'bcd6', 'bcd8', 'variable', 'bcd12', 'special',
]);
/** DATA_FIELD_LENGTH by the DIF's data field code (an element read, not a property by name). */
const FIELD_LENGTH_BY_CODE: readonly number[] = Object.freeze(FIELD_BY_CODE.map((f) => DATA_FIELD_LENGTH[f]));

/** VIF codes the parser sets for the VIFs that are not table entries. */
export const VIF_PLAIN_TEXT = 0x7c;
export const VIF_ANY = 0x7e;
export const VIF_MANUFACTURER = 0x7f;

export interface ParsedRecord {
  /** Offset of the DIF in the application data. */
  offset: number;
  field: DataField;
  function: RecordFunction;
  storage: number;
  tariff: number;
  subunit: number;
  /** 0x00-0x7F primary VIF without the E bit (0x7C plain text, 0x7E any, 0x7F manufacturer
   *  specific), VIF_FD | code and VIF_FB | code for the extension tables. */
  vif: number;
  /** Combinable VIFEs without E bits; VIFE_FC | code for the FC extension (0x7C01 at phase L1). */
  vifes: number[];
  /** VIFEs after a manufacturer-specific VIF or VIFE 0x7F, as transmitted (E bits removed). */
  manufacturerVifes?: number[];
  /** Plain-text VIF: the unit as text (transmitted right-most character first). */
  plainTextUnit?: string;
  /** Variable-length data: the LVAR byte (EN 13757-3 Table 5). */
  lvar?: number;
  /** The application data the record was read from: the record is source[offset, end), its data
   *  source[dataOffset, end). Decoding reads them there (values.ts), without a view per record. */
  source: Uint8Array;
  dataOffset: number;
  end: number;
  /** The record as transmitted, DIF to the end of the data (a view made when asked for). */
  readonly bytes: Uint8Array;
  /** The data bytes (after the LVAR byte for variable-length data; a view made when asked for). */
  readonly data: Uint8Array;
}

/** A ParsedRecord whose views are made on demand: a typed-array view costs V8 an allocation
 *  outside its fast path (~0.1 µs), and the receiver reads every record through offsets. */
class RecordView implements ParsedRecord {
  // Set by reuse(), which the constructor calls (the same assignments, in the same order).
  offset!: number;
  field!: DataField;
  function!: RecordFunction;
  storage!: number;
  tariff!: number;
  subunit!: number;
  vif!: number;
  vifes!: number[];
  declare manufacturerVifes?: number[];
  declare plainTextUnit?: string;
  declare lvar?: number;
  source!: Uint8Array;
  dataOffset!: number;
  end!: number;
  constructor(source: Uint8Array, offset: number, dataOffset: number, end: number, field: DataField, fn: RecordFunction, storage: number, tariff: number, subunit: number, vif: number, vifes: number[]) {
    this.reuse(source, offset, dataOffset, end, field, fn, storage, tariff, subunit, vif, vifes);
  }
  /** Makes this record another (a pooled one: see RecordPool); the optional fields go too. */
  reuse(source: Uint8Array, offset: number, dataOffset: number, end: number, field: DataField, fn: RecordFunction, storage: number, tariff: number, subunit: number, vif: number, vifes: number[]): void {
    this.offset = offset;
    this.field = field;
    this.function = fn;
    this.storage = storage;
    this.tariff = tariff;
    this.subunit = subunit;
    this.vif = vif;
    this.vifes = vifes;
    this.source = source;
    this.dataOffset = dataOffset;
    this.end = end;
    if (this.manufacturerVifes !== undefined) this.manufacturerVifes = undefined;
    if (this.plainTextUnit !== undefined) this.plainTextUnit = undefined;
    if (this.lvar !== undefined) this.lvar = undefined;
  }
  get bytes(): Uint8Array {
    return this.source.subarray(this.offset, this.end);
  }
  get data(): Uint8Array {
    return this.source.subarray(this.dataOffset, this.end);
  }
}

/**
 * Record objects for a caller that parses one application data after another and is done with each
 * one's records before it parses the next (the receiver: it decodes them into values at once): its
 * records are these objects again, not new ones per record. Records parsed into a pool must not be
 * kept: the next parse with the pool changes them.
 */
export class RecordPool {
  private readonly views: RecordView[] = [];
  /** The records array of every parse with this pool. */
  readonly list: ParsedRecord[] = [];
  /** The VIFE array for the pool's k-th record: the one it has (overwritten), or a new one. */
  vifes(k: number): number[] {
    return k < this.views.length ? this.views[k].vifes : [];
  }
  /** The pool's k-th record made `source[offset, end)` etc. (a new one the first time). */
  record(k: number, source: Uint8Array, offset: number, dataOffset: number, end: number, field: DataField, fn: RecordFunction, storage: number, tariff: number, subunit: number, vif: number, vifes: number[]): RecordView {
    if (k < this.views.length) {
      const r = this.views[k];
      r.reuse(source, offset, dataOffset, end, field, fn, storage, tariff, subunit, vif, vifes);
      return r;
    }
    const r = new RecordView(source, offset, dataOffset, end, field, fn, storage, tariff, subunit, vif, vifes);
    this.views.push(r);
    return r;
  }
}

export interface UnparsedData {
  offset: number;
  bytes: Uint8Array;
  reason: string;
}

export interface ParsedApplicationData {
  records: ParsedRecord[];
  /** After DIF 0x0F / 0x1F: manufacturer-specific data to the end. */
  manufacturerData?: Uint8Array;
  /** DIF 0x1F: more records follow in the next telegram. */
  moreRecordsFollow?: boolean;
  /** Lenient mode: where parsing had to stop, and why. */
  unparsed?: UnparsedData;
  /** Lenient mode: offsets of reserved special-function DIFs skipped as single bytes. */
  skipped?: number[];
}

export interface ParseOptions {
  strict?: boolean;
}

/** Thrown inside the parser; lenient mode turns it into `unparsed`. */
function stop(code: string, message: string, offset: number, extra: Record<string, string | number> = {}): ReceiveError {
  return new ReceiveError(code, message, { offset, ...extra });
}

function truncated(what: string, offset: number): ReceiveError {
  return stop('truncated-record', `record at offset ${offset} is truncated (${what})`, offset, { what });
}

/** Data bytes an LVAR announces (EN 13757-3 Table 5), or -1 for the reserved values. */
export function lvarLength(lvar: number): number {
  if (lvar <= 0xbf) return lvar; // text or container bytes
  if (lvar <= 0xc9) return lvar - 0xc0; // positive BCD, 2 digits per byte
  if (lvar >= 0xd0 && lvar <= 0xd9) return lvar - 0xd0; // negative BCD
  if (lvar >= 0xe0 && lvar <= 0xef) return lvar - 0xe0; // binary number
  if (lvar >= 0xf0 && lvar <= 0xf4) return 4 * (lvar - 0xec); // binary, 16…32 bytes
  if (lvar === 0xf5) return 48;
  if (lvar === 0xf6) return 64;
  return -1;
}

/** The records of `data`; with `pool`, as the pool's objects (see RecordPool). */
export function parseRecords(data: Uint8Array, options: ParseOptions = {}, pool?: RecordPool): ParsedApplicationData {
  const strict = !!options.strict;
  // Records and VIFEs are written by index and the arrays cut to length at the end, so a pool's
  // arrays are overwritten in place (setting a V8 array's length to 0 drops its backing store).
  const records: ParsedRecord[] = pool ? pool.list : [];
  let count = 0;
  let skipped: number[] | undefined;
  let p = 0;
  while (p < data.length) {
    const start = p;
    try {
      const dif = data[p++];
      if (dif === 0x2f) continue; // idle filler
      if (dif === 0x0f || dif === 0x1f) {
        cut(records, count);
        const out: ParsedApplicationData = { records, manufacturerData: data.subarray(p) };
        if (dif === 0x1f) out.moreRecordsFollow = true;
        if (skipped) out.skipped = skipped;
        return out;
      }
      if ((dif & 0x0f) === 0x0f) {
        if (strict) throw stop('unsupported-record', `special DIF 0x${dif.toString(16)} at offset ${start}`, start, { dif });
        (skipped ??= []).push(start);
        continue;
      }
      const field = FIELD_BY_CODE[dif & 0x0f];
      let storage = (dif >> 6) & 0x01;
      let tariff = 0;
      let subunit = 0;
      let ext = dif & 0x80;
      let n = 0;
      while (ext) {
        if (p >= data.length) throw truncated('DIFE', start);
        if (n === 10) throw stop('bad-record', `more than 10 DIFEs at offset ${start}`, start);
        const dife = data[p++];
        storage += (dife & 0x0f) * 2 ** (1 + 4 * n);
        tariff += ((dife >> 4) & 0x03) * 2 ** (2 * n);
        subunit += ((dife >> 6) & 0x01) * 2 ** n;
        ext = dife & 0x80;
        n++;
      }
      if (strict && field === 'readout') throw stop('unsupported-record', `selection-for-readout DIF at offset ${start}`, start);
      if (p >= data.length) throw truncated('VIF', start);
      const vifByte = data[p++];
      let vif = vifByte & 0x7f;
      ext = vifByte & 0x80;
      let plainTextUnit: string | undefined;
      let manufacturerVifes: number[] | undefined;
      if (vif === VIF_PLAIN_TEXT) {
        if (strict) throw stop('unsupported-record', `plain-text VIF at offset ${start}`, start);
        if (p >= data.length) throw truncated('plain-text VIF length', start);
        const len = data[p++];
        if (p + len > data.length) throw truncated('plain-text VIF', start);
        plainTextUnit = '';
        for (let i = p + len - 1; i >= p; i--) plainTextUnit += String.fromCharCode(data[i]);
        p += len;
      } else if (vif === 0x7d || vif === 0x7b) {
        if (!ext) throw stop('bad-record', `VIF 0x${vifByte.toString(16)} without its extension byte at offset ${start}`, start);
        if (p >= data.length) throw truncated('VIF extension', start);
        const e = data[p++];
        vif = (vif === 0x7d ? VIF_FD : VIF_FB) | (e & 0x7f);
        ext = e & 0x80;
      } else if (vif === VIF_MANUFACTURER) {
        manufacturerVifes = [];
      }
      const vifes: number[] = pool ? pool.vifes(count) : [];
      let nv = 0;
      while (ext) {
        if (p >= data.length) throw truncated('VIFE', start);
        if (strict && nv === 10) throw stop('bad-record', `more than 10 VIFEs at offset ${start}`, start);
        const v = data[p++];
        ext = v & 0x80;
        if (manufacturerVifes) {
          manufacturerVifes.push(v & 0x7f);
        } else if ((v & 0x7f) === 0x7c) {
          // Combinable VIFE extension table (EN 13757-3:2018 Table 16): the next byte is the code.
          if (!ext) throw stop('bad-record', `VIFE 0xFC without a following code at offset ${start}`, start);
          if (p >= data.length) throw truncated('VIFE extension', start);
          const e = data[p++];
          vifes[nv++] = VIFE_FC | (e & 0x7f);
          ext = e & 0x80;
        } else {
          vifes[nv++] = v & 0x7f;
          if ((v & 0x7f) === 0x7f) manufacturerVifes = []; // the rest of the VIB is the manufacturer's
        }
      }
      cut(vifes, nv);
      let len = FIELD_LENGTH_BY_CODE[dif & 0x0f];
      let lvar: number | undefined;
      if (field === 'variable') {
        if (p >= data.length) throw truncated('LVAR', start);
        lvar = data[p];
        len = strict ? (lvar >= 0xc0 ? -1 : lvar) : lvarLength(lvar);
        if (len < 0) throw stop('unsupported-record', `LVAR 0x${lvar.toString(16)} at offset ${start}`, start, { lvar });
        p++;
      }
      if (p + len > data.length) throw truncated(`${len} data bytes`, start);
      const fn = FUNCTIONS[(dif >> 4) & 0x03];
      const record = pool ? pool.record(count, data, start, p, p + len, field, fn, storage, tariff, subunit, vif, vifes) : new RecordView(data, start, p, p + len, field, fn, storage, tariff, subunit, vif, vifes);
      if (manufacturerVifes) record.manufacturerVifes = manufacturerVifes;
      if (plainTextUnit !== undefined) record.plainTextUnit = plainTextUnit;
      if (lvar !== undefined) record.lvar = lvar;
      records[count++] = record;
      p += len;
    } catch (e) {
      if (strict || !(e instanceof ReceiveError)) throw e;
      cut(records, count);
      const out: ParsedApplicationData = { records, unparsed: { offset: start, bytes: data.subarray(start), reason: e.message } };
      if (skipped) out.skipped = skipped;
      return out;
    }
  }
  cut(records, count);
  return skipped ? { records, skipped } : { records };
}

/** `a` cut to `n` elements (written up to n by index). */
function cut(a: unknown[], n: number): void {
  if (a.length !== n) a.length = n;
}
