/**
 * EN 13757-3 data record parser (clause 6): DIF/DIFE (data field, function, storage number,
 * tariff, subunit), VIF/VIFE (primary table, the FD and FB extension tables, combinable VIFEs
 * including the 0xFC extension) and the data bytes. Strict: a record that runs past the end, a
 * plain-text VIF, more than 10 DIFEs/VIFEs or an unsupported LVAR is a typed error naming where.
 * The meaning of each VIF (unit, scale, OBIS name) is in values.ts.
 */
import { DATA_FIELD_LENGTH, FUNCTIONS, type DataField, type RecordFunction } from '../wmbus/records.js';
import { ReceiveError } from './receive-error.js';

const FIELD_BY_CODE: DataField[] = [
  'none', 'int8', 'int16', 'int24', 'int32', 'real32', 'int48', 'int64',
  'readout', 'bcd2', 'bcd4', 'bcd6', 'bcd8', 'variable', 'bcd12', 'special',
];

export interface ParsedRecord {
  /** Offset of the DIF in the application data. */
  offset: number;
  field: DataField;
  function: RecordFunction;
  storage: number;
  tariff: number;
  subunit: number;
  /** The value information: 0x00-0x7F primary VIF (without extension bit), 0xFDxx / 0xFBxx for the
   *  extension tables, 0x7F manufacturer specific. */
  vif: number;
  /** Combinable VIFEs without extension bits; 0x7Cxx for the 0xFC extension (e.g. 0x7C01 phase L1). */
  vifes: number[];
  /** The record's bytes, DIF to the end of the data. */
  bytes: Uint8Array;
  data: Uint8Array;
}

/** What is left after the records when a DIF 0x0F / 0x1F says manufacturer data follows. */
export interface ParsedApplicationData {
  records: ParsedRecord[];
  manufacturerData?: Uint8Array;
}

function truncated(what: string, offset: number): ReceiveError {
  return new ReceiveError('truncated-record', `record at offset ${offset} is truncated (${what})`, { offset, what });
}

export function parseRecords(data: Uint8Array): ParsedApplicationData {
  const records: ParsedRecord[] = [];
  let p = 0;
  while (p < data.length) {
    const start = p;
    const dif = data[p++];
    if (dif === 0x2f) continue; // idle filler
    if (dif === 0x0f || dif === 0x1f) {
      return { records, manufacturerData: data.slice(p) };
    }
    if ((dif & 0x0f) === 0x0f) {
      throw new ReceiveError('unsupported-record', `special DIF 0x${dif.toString(16)} at offset ${start}`, { offset: start, dif });
    }
    const field = FIELD_BY_CODE[dif & 0x0f];
    const fn = FUNCTIONS[(dif >> 4) & 0x03];
    let storage = (dif >> 6) & 0x01;
    let tariff = 0;
    let subunit = 0;
    let ext = dif & 0x80;
    let n = 0;
    while (ext) {
      if (p >= data.length) throw truncated('DIFE', start);
      if (n === 10) throw new ReceiveError('bad-record', `more than 10 DIFEs at offset ${start}`, { offset: start });
      const dife = data[p++];
      storage += (dife & 0x0f) * 2 ** (1 + 4 * n);
      tariff += ((dife >> 4) & 0x03) * 2 ** (2 * n);
      subunit += ((dife >> 6) & 0x01) * 2 ** n;
      ext = dife & 0x80;
      n++;
    }
    if (field === 'readout') throw new ReceiveError('unsupported-record', `selection-for-readout DIF at offset ${start}`, { offset: start });
    if (p >= data.length) throw truncated('VIF', start);
    const vifByte = data[p++];
    let vif = vifByte & 0x7f;
    ext = vifByte & 0x80;
    if (vif === 0x7c) {
      throw new ReceiveError('unsupported-record', `plain-text VIF at offset ${start}`, { offset: start });
    }
    if (vif === 0x7d || vif === 0x7b) {
      if (!ext) throw new ReceiveError('bad-record', `VIF 0x${vifByte.toString(16)} without its extension byte at offset ${start}`, { offset: start });
      if (p >= data.length) throw truncated('VIF extension', start);
      const e = data[p++];
      vif = ((vifByte | 0x80) << 8) | (e & 0x7f);
      ext = e & 0x80;
    }
    const vifes: number[] = [];
    while (ext) {
      if (p >= data.length) throw truncated('VIFE', start);
      if (vifes.length === 10) throw new ReceiveError('bad-record', `more than 10 VIFEs at offset ${start}`, { offset: start });
      const v = data[p++];
      ext = v & 0x80;
      if ((v & 0x7f) === 0x7c) {
        // Combinable VIFE extension table (EN 13757-3:2018 Table 16): the next byte is the code.
        if (!ext) throw new ReceiveError('bad-record', `VIFE 0xFC without a following code at offset ${start}`, { offset: start });
        if (p >= data.length) throw truncated('VIFE extension', start);
        const e = data[p++];
        vifes.push(0x7c00 | (e & 0x7f));
        ext = e & 0x80;
      } else {
        vifes.push(v & 0x7f);
      }
    }
    let len = DATA_FIELD_LENGTH[field];
    if (field === 'variable') {
      if (p >= data.length) throw truncated('LVAR', start);
      const lvar = data[p];
      if (lvar >= 0xc0) {
        throw new ReceiveError('unsupported-record', `LVAR 0x${lvar.toString(16)} at offset ${start}`, { offset: start, lvar });
      }
      p++;
      len = lvar;
    }
    if (p + len > data.length) throw truncated(`${len} data bytes`, start);
    const d = data.slice(p, p + len);
    p += len;
    records.push({
      offset: start,
      field,
      function: fn,
      storage,
      tariff,
      subunit,
      vif,
      vifes,
      bytes: data.slice(start, p),
      data: d,
    });
  }
  return { records };
}
