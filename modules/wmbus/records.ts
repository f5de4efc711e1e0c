/**
 * EN 13757-3 data records (clause 6): the data information block (DIF, DIFEs: data field,
 * function, storage number, tariff, subunit), the value information block (VIF, VIFEs, passed as
 * the bytes that go on the wire) and the data in the codings of EN 13757-3 Annex A that this meter
 * uses: type B integers (signed, little endian, 8…64 bit), type A BCD, type F date and time.
 * The decoder in modules/wmbus-rx/records.ts reads the same model back.
 */
import { TelegramError } from './telegram-error.js';

/** DIF data field codes (EN 13757-3 Table 4), by name. */
export const DATA_FIELDS = Object.freeze({
  none: 0x0,
  int8: 0x1,
  int16: 0x2,
  int24: 0x3,
  int32: 0x4,
  real32: 0x5,
  int48: 0x6,
  int64: 0x7,
  readout: 0x8,
  bcd2: 0x9,
  bcd4: 0xa,
  bcd6: 0xb,
  bcd8: 0xc,
  variable: 0xd,
  bcd12: 0xe,
  special: 0xf,
} as const);
export type DataField = keyof typeof DATA_FIELDS;

/** Bytes of data for each fixed-length data field. */
export const DATA_FIELD_LENGTH: Readonly<Record<DataField, number>> = Object.freeze({
  none: 0, int8: 1, int16: 2, int24: 3, int32: 4, real32: 4, int48: 6, int64: 8,
  readout: 0, bcd2: 1, bcd4: 2, bcd6: 3, bcd8: 4, variable: -1, bcd12: 6, special: -1,
});

/** DIF function field (EN 13757-3 Table 5). */
export const FUNCTIONS = Object.freeze(['instantaneous', 'maximum', 'minimum', 'error'] as const);
export type RecordFunction = (typeof FUNCTIONS)[number];

export interface RecordHeader {
  field: DataField;
  function: RecordFunction;
  storage: number;
  tariff: number;
  subunit: number;
  /** VIF and VIFEs exactly as transmitted (extension bits set on all but the last). */
  vib: readonly number[];
}

function fail(message: string, details: Record<string, string | number> = {}): TelegramError {
  return new TelegramError('record', message, details);
}

/** DIF and DIFEs: storage number LSB in the DIF, then 4 storage, 2 tariff and 1 subunit bit per DIFE. */
export function encodeDib(h: RecordHeader): number[] {
  const fn = FUNCTIONS.indexOf(h.function);
  if (fn < 0) throw fail(`unknown record function ${String(h.function)}`);
  for (const [name, v, max] of [
    ['storage', h.storage, 2 ** 41 - 1],
    ['tariff', h.tariff, 2 ** 20 - 1],
    ['subunit', h.subunit, 2 ** 10 - 1],
  ] as const) {
    if (!Number.isInteger(v) || v < 0 || v > max) throw fail(`${name} number ${v} out of range`, { [name]: v });
  }
  const dib = [DATA_FIELDS[h.field] | (fn << 4) | ((h.storage & 1) << 6)];
  let storage = Math.floor(h.storage / 2);
  let tariff = h.tariff;
  let subunit = h.subunit;
  while (storage > 0 || tariff > 0 || subunit > 0) {
    if (dib.length > 10) throw fail('more than 10 DIFEs needed');
    dib[dib.length - 1] |= 0x80;
    dib.push((storage & 0x0f) | ((tariff & 0x03) << 4) | ((subunit & 1) << 6));
    storage = Math.floor(storage / 16);
    tariff >>>= 2;
    subunit >>>= 1;
  }
  return dib;
}

/** DIB ‖ VIB of a record: the bytes before its data, checked once (a register keeps them). */
export function encodeRecordHead(h: RecordHeader): number[] {
  if (h.vib.length === 0) throw fail('a record needs a VIF');
  for (let i = 0; i < h.vib.length; i++) {
    const last = i === h.vib.length - 1;
    if (!!(h.vib[i] & 0x80) === last) throw fail('VIF/VIFE extension bits must be set on all but the last byte');
  }
  return encodeDib(h).concat(h.vib);
}

export function encodeRecord(h: RecordHeader, data: Uint8Array): Uint8Array {
  const expected = DATA_FIELD_LENGTH[h.field];
  if (expected >= 0 && data.length !== expected) {
    throw fail(`data field ${h.field} takes ${expected} bytes, got ${data.length}`);
  }
  const head = encodeRecordHead(h);
  const out = new Uint8Array(head.length + data.length);
  out.set(head, 0);
  out.set(data, head.length);
  return out;
}

/** Copies a record head (encodeRecordHead) to out[o…]; returns the offset after it. */
export function writeBytes(bytes: readonly number[], out: Uint8Array, o: number): number {
  for (let i = 0; i < bytes.length; i++) out[o + i] = bytes[i];
  return o + bytes.length;
}

/** Type B: signed binary integer, two's complement, little endian (EN 13757-3 Annex A). Plain
 *  arithmetic on safe integers (|value| < 2^53), no BigInt: it runs on every telegram on the device. */
export function encodeInt(value: number, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  writeInt(value, bytes, out, 0);
  return out;
}

/** encodeInt into out[o…] (a telegram's records are written in place); returns the offset after it. */
export function writeInt(value: number, bytes: number, out: Uint8Array, o: number): number {
  const bits = bytes * 8;
  if (!Number.isSafeInteger(value)) throw fail(`value ${value} is not an integer`, { value: String(value) });
  if (bits < 53 && (value < -(2 ** (bits - 1)) || value >= 2 ** (bits - 1))) throw fail(`value ${value} does not fit a signed ${bits}-bit integer`, { value });
  // Low and high 32-bit words of the two's complement: floor division keeps the sign in the high word.
  const high = Math.floor(value / 0x1_0000_0000);
  let lo = value - high * 0x1_0000_0000;
  let hi = high;
  for (let i = 0; i < bytes; i++) {
    if (i < 4) {
      out[o + i] = lo & 0xff;
      lo = Math.floor(lo / 256);
    } else {
      out[o + i] = hi & 0xff;
      hi >>= 8; // arithmetic shift: a negative value fills with 0xFF
    }
  }
  return o + bytes;
}

/** Type A: BCD, least significant digit pair first. */
export function encodeBcd(value: number, bytes: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0 || value >= 10 ** (bytes * 2)) {
    throw fail(`value ${value} does not fit ${bytes * 2} BCD digits`, { value: String(value) });
  }
  const out = new Uint8Array(bytes);
  let v = value;
  for (let i = 0; i < bytes; i++) {
    const lo = v % 10;
    v = Math.floor(v / 10);
    const hi = v % 10;
    v = Math.floor(v / 10);
    out[i] = (hi << 4) | lo;
  }
  return out;
}

export interface DateTimeParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

/** text[at, at + n) as a decimal number, or -1 when one of them is not an ASCII digit. */
function digitsAt(text: string, at: number, n: number): number {
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(at + i) - 48;
    if (!(c >= 0 && c <= 9)) return -1;
    v = v * 10 + c;
  }
  return v;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Throws unless `text` is YYYY-MM-DDTHH:MM and a valid time between 1900 and 2299; returns its fields
 * packed in 32 bits (read with >>> and &), so each digit is read once. Read with charCodeAt, no RegExp or
 * match arrays: the meter writes its clock record in every telegram (and on the device a preloaded
 * RegExp lives in flash, where XS 8.2.3 crashes when a collection runs inside its exec();
 * hosts/esp32/prebuild.mjs refuses them).
 */
function checkDateTime(text: string): number {
  const ok = typeof text === 'string' && text.length === 16 && text.charCodeAt(4) === 45 && text.charCodeAt(7) === 45 && text.charCodeAt(10) === 84 && text.charCodeAt(13) === 58; // - - T :
  const year = ok ? digitsAt(text, 0, 4) : -1;
  const month = ok ? digitsAt(text, 5, 2) : -1;
  const day = ok ? digitsAt(text, 8, 2) : -1;
  const hour = ok ? digitsAt(text, 11, 2) : -1;
  const minute = ok ? digitsAt(text, 14, 2) : -1;
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0) throw fail(`date and time "${text}" is not YYYY-MM-DDTHH:MM`, { value: text });
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || year < 1900 || year > 2299) {
    throw fail(`date and time "${text}" is not a valid time between 1900 and 2299`, { value: text });
  }
  // Minute in bits 0-5, hour 6-10, day 11-15, month 16-19, the year from bit 20 (< 2^12).
  return minute | (hour << 6) | (day << 11) | (month << 16) | (year << 20);
}

export function parseDateTime(text: string): DateTimeParts {
  const t = checkDateTime(text);
  return { year: t >>> 20, month: (t >>> 16) & 0xf, day: (t >>> 11) & 0x1f, hour: (t >>> 6) & 0x1f, minute: t & 0x3f };
}

/**
 * Type F (EN 13757-3 Annex A, Table A.6): minute | hour, hundred-year | day, year bits 0-2 |
 * month, year bits 3-6. Year = 1900 + 100 × HY + year-in-century. IV and SU bits are 0.
 * 1900-1980 would go out as HY 0, which receivers read as 2000-2080 (the Annex's compatibility
 * note for meters without HY bits), so those years are refused.
 */
export function encodeTypeF(text: string): Uint8Array {
  const out = new Uint8Array(4);
  writeTypeF(text, out, 0);
  return out;
}

/** encodeTypeF into out[o…]; returns the offset after it. */
export function writeTypeF(text: string, out: Uint8Array, o: number): number {
  const t = checkDateTime(text);
  const year = t >>> 20;
  if (year <= 1980) throw fail(`date and time "${text}": type F cannot carry a year before 1981 unambiguously`, { value: text });
  const hy = Math.floor((year - 1900) / 100);
  const yy = (year - 1900) % 100;
  out[o] = t & 0x3f;
  out[o + 1] = ((t >>> 6) & 0x1f) | (hy << 5);
  out[o + 2] = ((t >>> 11) & 0x1f) | ((yy & 0x07) << 5);
  out[o + 3] = ((t >>> 16) & 0xf) | ((yy >> 3) << 4);
  return o + 4;
}
