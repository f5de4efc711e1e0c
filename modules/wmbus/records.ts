/**
 * EN 13757-3 data records (clause 6): the data information block (DIF, DIFEs: data field,
 * function, storage number, tariff, subunit), the value information block (VIF, VIFEs, passed as
 * the bytes that go on the wire) and the data in the codings of EN 13757-3 Annex A that this meter
 * uses: type B integers (signed, little endian, 8…64 bit), type A BCD, type F date and time.
 * The decoder in modules/wmbus-rx/records.ts reads the same model back.
 */
import { TelegramError } from './telegram-error.js';

/** DIF data field codes (EN 13757-3 Table 4), by name. */
export const DATA_FIELDS = {
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
} as const;
export type DataField = keyof typeof DATA_FIELDS;

/** Bytes of data for each fixed-length data field. */
export const DATA_FIELD_LENGTH: Record<DataField, number> = {
  none: 0, int8: 1, int16: 2, int24: 3, int32: 4, real32: 4, int48: 6, int64: 8,
  readout: 0, bcd2: 1, bcd4: 2, bcd6: 3, bcd8: 4, variable: -1, bcd12: 6, special: -1,
};

/** DIF function field (EN 13757-3 Table 5). */
export const FUNCTIONS = ['instantaneous', 'maximum', 'minimum', 'error'] as const;
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

export function encodeRecord(h: RecordHeader, data: Uint8Array): Uint8Array {
  const expected = DATA_FIELD_LENGTH[h.field];
  if (expected >= 0 && data.length !== expected) {
    throw fail(`data field ${h.field} takes ${expected} bytes, got ${data.length}`);
  }
  if (h.vib.length === 0) throw fail('a record needs a VIF');
  for (let i = 0; i < h.vib.length; i++) {
    const last = i === h.vib.length - 1;
    if (!!(h.vib[i] & 0x80) === last) throw fail('VIF/VIFE extension bits must be set on all but the last byte');
  }
  const dib = encodeDib(h);
  const out = new Uint8Array(dib.length + h.vib.length + data.length);
  out.set(dib, 0);
  out.set(h.vib, dib.length);
  out.set(data, dib.length + h.vib.length);
  return out;
}

/** Type B: signed binary integer, two's complement, little endian (EN 13757-3 Annex A). Plain
 *  arithmetic on safe integers (|value| < 2^53), no BigInt: it runs on every telegram on the device. */
export function encodeInt(value: number, bytes: number): Uint8Array {
  const bits = bytes * 8;
  if (!Number.isSafeInteger(value)) throw fail(`value ${value} is not an integer`, { value: String(value) });
  if (bits < 53 && (value < -(2 ** (bits - 1)) || value >= 2 ** (bits - 1))) throw fail(`value ${value} does not fit a signed ${bits}-bit integer`, { value });
  const out = new Uint8Array(bytes);
  // Low and high 32-bit words of the two's complement: floor division keeps the sign in the high word.
  const high = Math.floor(value / 0x1_0000_0000);
  let lo = value - high * 0x1_0000_0000;
  let hi = high;
  for (let i = 0; i < bytes; i++) {
    if (i < 4) {
      out[i] = lo & 0xff;
      lo = Math.floor(lo / 256);
    } else {
      out[i] = hi & 0xff;
      hi >>= 8; // arithmetic shift: a negative value fills with 0xFF
    }
  }
  return out;
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

export function parseDateTime(text: string): DateTimeParts {
  // A literal here, not a module-level RegExp: on the device a preloaded RegExp lives in flash, and
  // XS 8.2.3 crashes when a collection runs inside its exec() (hosts/esp32/prebuild.mjs refuses them).
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(text);
  if (!m) throw fail(`date and time "${text}" is not YYYY-MM-DDTHH:MM`, { value: text });
  const [year, month, day, hour, minute] = m.slice(1).map(Number);
  const dim = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > dim || hour > 23 || minute > 59 || year < 1900 || year > 2299) {
    throw fail(`date and time "${text}" is not a valid time between 1900 and 2299`, { value: text });
  }
  return { year, month, day, hour, minute };
}

/**
 * Type F (EN 13757-3 Annex A, Table A.6): minute | hour, hundred-year | day, year bits 0-2 |
 * month, year bits 3-6. Year = 1900 + 100 × HY + year-in-century. IV and SU bits are 0.
 * 1900-1980 would go out as HY 0, which receivers read as 2000-2080 (the Annex's compatibility
 * note for meters without HY bits), so those years are refused.
 */
export function encodeTypeF(text: string): Uint8Array {
  const t = parseDateTime(text);
  if (t.year <= 1980) throw fail(`date and time "${text}": type F cannot carry a year before 1981 unambiguously`, { value: text });
  const hy = Math.floor((t.year - 1900) / 100);
  const yy = (t.year - 1900) % 100;
  return new Uint8Array([t.minute, t.hour | (hy << 5), t.day | ((yy & 0x07) << 5), t.month | ((yy >> 3) << 4)]);
}
