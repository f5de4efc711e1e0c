/**
 * The meaning of a parsed record (EN 13757-3:2018 clause 6.4 and Annex A): the quantity, unit and
 * decimal scale of its VIF (tables in modules/wmbus/vif-table.ts), what its combinable VIFEs do
 * (direction, phase, per-unit, correction factors, "date of" / "duration of" / "number of", record
 * errors), the data decoded by type (A BCD, B signed integer, C unsigned, D bit field, F / G / I /
 * J date and time, H real, LVAR text / BCD / binary) and, for electricity registers and the clock
 * and error register, the OBIS code.
 *
 * A value the meter marks as not available (all-F BCD or dates, the IV bit, periodic "every year"
 * dates, record error codes, NaN) is `null` with a `reason`. Lenient mode keeps records it cannot
 * interpret (reserved or manufacturer-specific VIF / VIFE, data types K, L, M, containers) as hex
 * with a `reason` and goes on; strict mode (the conformance checker) refuses reserved codes,
 * manufacturer-specific records, plain-text VIFs, bad BCD, impossible dates and data fields that do
 * not fit the VIF with a typed error.
 */
import { toHex } from '../core/bytes.js';
import { CLOCK, ERROR_REGISTER } from '../wmbus-tx/registers.js';
import { vifeMeaning, vifMeaning, type VifKind } from '../wmbus/vif-table.js';
import type { ParsedRecord } from './records.js';
import { VIF_ANY, VIF_MANUFACTURER, VIF_PLAIN_TEXT } from './records.js';
import { hexOf } from './hex.js';
import { ReceiveError } from './receive-error.js';

export interface DecodedValue {
  /** OBIS code where one exists (electricity registers, clock, error register; instantaneous,
   *  storage 0, subunit 0). */
  obis?: string;
  /** EN 13757-3 name of the VIF's quantity ('energy', 'volume', 'date and time', …). */
  quantity: string;
  /** What the combinable VIFEs add, in words ('backward flow', 'at phase L1', 'per hour'). */
  description?: string;
  unit: string;
  /** Scaled to `unit`; dates 'YYYY-MM-DD', date and time 'YYYY-MM-DDTHH:MM[:SS]', time of day
   *  'HH:MM:SS'; identifiers as their digits or text; bit fields as an unsigned integer; records kept
   *  raw as hex; null when the meter says the value is not available (see `reason`). */
  value: number | string | null;
  /** Why `value` is null or kept raw. */
  reason?: string;
  function: ParsedRecord['function'];
  storage: number;
  tariff: number;
  subunit: number;
  direction?: 'forward' | 'backward';
  phase?: number;
  /** A record error code (EN 13757-3 Table 18) other than 'no error'. */
  error?: string;
  /** Covered by a verified MAC (OMS mode 7 AFL); set by the receiver. */
  authenticated: boolean;
  /** Sent encrypted; false for plain records after the encrypted blocks or in plain telegrams. */
  encrypted: boolean;
  /** The record as transmitted, hex. */
  record: string;
}

export interface ValueOptions {
  strict?: boolean;
  /** The meter's device type (EN 13757-7 Table 12): the electricity OBIS codes (1.8.0, 16.7.0 …)
   *  are given only for electricity meters (0x02) or when the device type is not known. */
  deviceType?: number;
}

const hex = (v: number): string => '0x' + v.toString(16).toUpperCase();

function refuse(code: string, message: string, r: ParsedRecord, extra: Record<string, string | number> = {}): ReceiveError {
  return new ReceiveError(code, `${message} (record at offset ${r.offset})`, { offset: r.offset, ...extra });
}

// ---- data types (EN 13757-3 Annex A) -----------------------------------------------------------

// The data types read the `n` bytes of `s` from offset `o` (a record's data where it lies).

/** Type B: two's complement little endian. Beyond 2^53 as an exact decimal string. */
function typeB(s: Uint8Array, o: number, n: number): number | string {
  if (n <= 6) {
    let v = 0;
    for (let i = o + n - 1; i >= o; i--) v = v * 256 + s[i];
    const bits = n * 8;
    return n > 0 && s[o + n - 1] & 0x80 ? v - 2 ** bits : v;
  }
  let u = BigInt(0);
  for (let i = o + n - 1; i >= o; i--) u = (u << BigInt(8)) | BigInt(s[i]);
  const v = BigInt.asIntN(n * 8, u);
  return v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(-Number.MAX_SAFE_INTEGER) ? v.toString() : Number(v);
}

/** Type C: unsigned little endian. Beyond 2^53 as an exact decimal string. */
function typeC(s: Uint8Array, o: number, n: number): number | string {
  if (n <= 6) {
    let v = 0;
    for (let i = o + n - 1; i >= o; i--) v = v * 256 + s[i];
    return v;
  }
  let u = BigInt(0);
  for (let i = o + n - 1; i >= o; i--) u = (u << BigInt(8)) | BigInt(s[i]);
  return u > BigInt(Number.MAX_SAFE_INTEGER) ? u.toString() : Number(u);
}

type Bcd = { digits: string } | { na: string };

/** Type A: BCD, least significant pair first; a top digit F makes it negative; all F is "not available". */
function typeA(s: Uint8Array, o: number, n: number): Bcd {
  let digits = '';
  let allF = n > 0;
  for (let i = o + n - 1; i >= o; i--) {
    const b = s[i];
    if (b !== 0xff) allF = false;
    digits += NIBBLE[b >> 4] + NIBBLE[b & 15];
  }
  if (allF) return { na: 'not available (BCD all F)' };
  const negative = digits[0] === 'f';
  if (negative) digits = '-' + digits.slice(1);
  if (!/^-?[0-9]*$/.test(digits)) return { na: `not a BCD number (${digits.toUpperCase()})` };
  return { digits };
}
const NIBBLE = '0123456789abcdef';

const pad2 = (n: number): string => (n < 10 ? '0' : '') + n;

type TimeValue = { text: string } | { na: string };

function yearOf(yy: number, hundredYears: number | undefined): number {
  // HY 0 is also what meters built before the hundred-year bits send for 20yy: EN 13757-3 Annex A
  // recommends reading 00-80 as 2000-2080 (wmbusmeters and libmbus read every yy as 20yy).
  if (hundredYears === undefined || hundredYears === 0) return yy <= 80 ? 2000 + yy : 1900 + yy;
  return 1900 + 100 * hundredYears + yy;
}

function dateText(year: number, month: number, day: number): string {
  return `${year}-${pad2(month)}-${pad2(day)}`;
}

/** `${dateText(year, month, day)}T${pad2(hour)}:${pad2(minute)}` as one flat string (a meter's
 *  clock record is in every telegram, and a gateway keeps the text): made of character codes when
 *  every field has its fixed number of digits, which type F's always have. */
function dateTimeText(year: number, month: number, day: number, hour: number, minute: number): string {
  if (year < 1000 || year > 9999 || month > 99 || day > 99 || hour > 99 || minute > 99) return `${dateText(year, month, day)}T${pad2(hour)}:${pad2(minute)}`;
  const y2 = (year / 100) | 0;
  const y1 = year % 100;
  return String.fromCharCode(
    48 + ((y2 / 10) | 0), 48 + (y2 % 10), 48 + ((y1 / 10) | 0), 48 + (y1 % 10), 45,
    48 + ((month / 10) | 0), 48 + (month % 10), 45,
    48 + ((day / 10) | 0), 48 + (day % 10), 84,
    48 + ((hour / 10) | 0), 48 + (hour % 10), 58,
    48 + ((minute / 10) | 0), 48 + (minute % 10),
  );
}

/** Days of the months of a common year. */
const MONTH_DAYS: readonly number[] = Object.freeze([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]);

/** A date of the (proleptic) Gregorian calendar, as Date counts it; no Date object per record. */
function validDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return day <= (month === 2 && leap ? 29 : MONTH_DAYS[month - 1]);
}

/**
 * The "every …" markers of the periodic date types (EN 13757-3 Annex A): year 127, month 15, day 0
 * (hour 31, minute 63 in type F). Returns the reason with the ISO 8601 truncated form: the
 * repeating part left out (--07-01: the first of July every year; ---31: the 31st of every month).
 */
function periodic(year: number, yy: number, month: number, day: number, hour?: number, minute?: number): string | undefined {
  const every: string[] = [];
  if (yy === 127) every.push('year');
  if (month === 15) every.push('month');
  if (day === 0) every.push('day');
  if (hour === 31) every.push('hour');
  if (minute === 63) every.push('minute');
  if (every.length === 0) return undefined;
  const date = `${yy === 127 ? '-' : year}-${month === 15 ? '' : pad2(month)}${day === 0 ? '' : '-' + pad2(day)}`;
  const time = hour === undefined ? '' : `T${hour === 31 ? '--' : pad2(hour)}:${minute === 63 ? '--' : pad2(minute ?? 0)}`;
  return `periodic, every ${every.join(' and ')}: ${date}${time}`;
}

/** Type G (CP16): day | year bits 0-2; month | year bits 3-6. FFFF is "not available". */
function typeG(s: Uint8Array, o: number): TimeValue {
  const d0 = s[o];
  const d1 = s[o + 1];
  if (d0 === 0xff && d1 === 0xff) return { na: 'not available (date FFFF)' };
  const day = d0 & 0x1f;
  const month = d1 & 0x0f;
  const yy = ((d0 >> 5) & 0x07) | ((d1 >> 4) << 3);
  const year = yearOf(yy, undefined);
  const p = periodic(year, yy, month, day);
  if (p) return { na: p };
  if (yy > 99 || !validDate(year, month, day)) return { na: `not a valid date (day ${day}, month ${month}, year ${yy})` };
  return { text: dateText(year, month, day) };
}

/** Type F (CP32): minute, IV | hour, HY, SU | day, year 0-2 | month, year 3-6. */
function typeF(s: Uint8Array, o: number): TimeValue {
  const d0 = s[o];
  const d1 = s[o + 1];
  const d2 = s[o + 2];
  const d3 = s[o + 3];
  if (d0 === 0xff && d1 === 0xff && d2 === 0xff && d3 === 0xff) return { na: 'not available (date and time FFFFFFFF)' };
  const minute = d0 & 0x3f;
  const hour = d1 & 0x1f;
  const hy = (d1 >> 5) & 0x03;
  const day = d2 & 0x1f;
  const month = d3 & 0x0f;
  const yy = ((d2 >> 5) & 0x07) | ((d3 >> 4) << 3);
  const year = yearOf(yy, hy);
  const p = periodic(year, yy, month, day, hour, minute);
  const text = dateTimeText(year, month, day, hour, minute);
  if (d0 & 0x80) return { na: `time invalid (IV bit set; ${p ?? text})` };
  if (p) return { na: p };
  if (yy > 99 || minute > 59 || hour > 23 || !validDate(year, month, day)) return { na: `not a valid date and time (${text})` };
  return { text };
}

/** Type I (CP48): second | minute, IV | hour, day of week | day, year 0-2 | month, year 3-6 | week. */
function typeI(s: Uint8Array, o: number): TimeValue {
  const second = s[o] & 0x3f;
  const minute = s[o + 1] & 0x3f;
  const hour = s[o + 2] & 0x1f;
  const day = s[o + 3] & 0x1f;
  const month = s[o + 4] & 0x0f;
  const yy = ((s[o + 3] >> 5) & 0x07) | ((s[o + 4] >> 4) << 3);
  const year = yearOf(yy, undefined);
  const text = `${dateText(year, month, day)}T${pad2(hour)}:${pad2(minute)}:${pad2(second)}`;
  if (s[o + 1] & 0x80) return { na: `time invalid (IV bit set; ${text})` };
  if (yy === 127 || month === 0 || day === 0) return { na: `not specified (${text})` };
  if (second === 63 || minute === 63 || hour === 31) return { na: `periodic (${text})` };
  if (yy > 99 || second > 59 || minute > 59 || hour > 23 || !validDate(year, month, day)) return { na: `not a valid date and time (${text})` };
  return { text };
}

/** Type J (CP24): time of day, second | minute | hour. */
function typeJ(s: Uint8Array, o: number): TimeValue {
  const second = s[o] & 0x3f;
  const minute = s[o + 1] & 0x3f;
  const hour = s[o + 2] & 0x1f;
  const text = `${pad2(hour)}:${pad2(minute)}:${pad2(second)}`;
  if (second === 63 || minute === 63 || hour === 31) return { na: `periodic (${text})` };
  if (second > 59 || minute > 59 || hour > 23) return { na: `not a valid time of day (${text})` };
  return { text };
}

/** A date or date and time by the size of the data field. */
function timePoint(r: ParsedRecord): TimeValue | undefined {
  switch (r.field) {
    case 'int16':
      return typeG(r.source, r.dataOffset);
    case 'int32':
      return typeF(r.source, r.dataOffset);
    case 'int48':
      return typeI(r.source, r.dataOffset);
    default:
      return undefined;
  }
}

function latin1Reversed(s: Uint8Array, o: number, n: number): string {
  let t = '';
  for (let i = o + n - 1; i >= o; i--) t += String.fromCharCode(s[i]);
  return t;
}

// ---- records -----------------------------------------------------------------------------------

interface Interpretation {
  quantity: string;
  unit: string;
  exponent: number;
  kind: VifKind | 'unknown' | 'manufacturer' | 'count';
}

function scale(raw: number, exponent: number): number {
  // Divide for negative exponents so that e.g. 2850427 × 10^-2 is the double nearest 28504.27.
  return exponent < 0 ? raw / 10 ** -exponent : exponent > 0 ? raw * 10 ** exponent : raw;
}

/** A number in any numeric data field (types A, B, H, LVAR BCD and binary). */
function numeric(r: ParsedRecord, exponent: number, strict: boolean): { value: number | string | null; reason?: string } {
  const f = r.field;
  const s = r.source;
  const o = r.dataOffset;
  const n = r.end - o;
  if (f === 'int8' || f === 'int16' || f === 'int24' || f === 'int32' || f === 'int48' || f === 'int64') {
    const v = typeB(s, o, n);
    if (typeof v === 'string') {
      if (strict) throw refuse('value-range', `integer exceeds 2^53`, r);
      return { value: v, reason: 'integer beyond 2^53, exact decimal, not scaled' };
    }
    return { value: scale(v, exponent) };
  }
  if (f === 'bcd2' || f === 'bcd4' || f === 'bcd6' || f === 'bcd8' || f === 'bcd12' || (f === 'variable' && r.lvar !== undefined && r.lvar >= 0xc0 && r.lvar <= 0xd9)) {
    const b = typeA(s, o, n);
    if ('na' in b) {
      if (strict && b.na.startsWith('not a BCD')) throw refuse('bad-bcd', 'BCD data has a non-decimal digit', r);
      return { value: null, reason: b.na };
    }
    let v = Number(b.digits || '0');
    if (f === 'variable' && r.lvar !== undefined && r.lvar >= 0xd0) v = -v;
    return { value: scale(v, exponent) };
  }
  if (f === 'real32') {
    const v = new DataView(s.buffer, s.byteOffset + o, 4).getFloat32(0, true);
    if (!Number.isFinite(v)) return { value: null, reason: `not a number (type H ${Number.isNaN(v) ? 'NaN' : 'infinity'})` };
    return { value: scale(v, exponent) };
  }
  if (f === 'variable' && r.lvar !== undefined) {
    if (r.lvar <= 0xbf) return { value: latin1Reversed(s, o, n), reason: 'text' };
    const v = typeB(s, o, n);
    return typeof v === 'string' ? { value: v, reason: 'integer beyond 2^53, exact decimal, not scaled' } : { value: scale(v, exponent) };
  }
  if (strict) throw refuse('bad-record', `data field ${f} carries no number`, r, { field: f });
  return { value: null, reason: `no data (data field ${f})` };
}

/** Whether every VIFE is a direction (0x3B, 0x3C) or a phase (FC 0x01-0x04). */
function onlyDirectionAndPhase(vifes: readonly number[]): boolean {
  for (const e of vifes) if (!(e === 0x3c || e === 0x3b || (e >= 0x7c01 && e <= 0x7c04))) return false;
  return true;
}

function obisFor(
  r: ParsedRecord,
  quantity: string,
  unit: string,
  kind: string,
  direction: string | undefined,
  phase: number | undefined,
  electricity: boolean,
): string | undefined {
  if (r.function !== 'instantaneous' || r.storage !== 0 || r.subunit !== 0) return undefined;
  const backward = direction === 'backward';
  if (kind === 'number' && onlyDirectionAndPhase(r.vifes)) {
    if (!electricity) return undefined;
    if (quantity === 'energy' && unit === 'Wh') {
      // A+ and A- of the total, what every meter sends: the code as one string, not built.
      if (phase === undefined && r.tariff === 0) return backward ? '2.8.0' : '1.8.0';
      const c = phase === undefined ? 1 : [21, 41, 61][phase - 1];
      return phase === 4 ? undefined : `${c + (backward ? 1 : 0)}.8.${r.tariff}`;
    }
    if (quantity === 'reactive energy' && unit === 'varh' && phase === undefined) return `${backward ? 4 : 3}.8.${r.tariff}`;
    if (quantity === 'apparent energy' && unit === 'VAh' && phase === undefined) return `${backward ? 10 : 9}.8.${r.tariff}`;
    if (r.tariff !== 0) return undefined;
    if (quantity === 'power' && unit === 'W') {
      if (phase === 4) return undefined;
      if (phase !== undefined) return `${[21, 41, 61][phase - 1] + (backward ? 1 : 0)}.7.0`;
      return direction === 'forward' ? '1.7.0' : backward ? '2.7.0' : '16.7.0';
    }
    if (direction) return undefined;
    if (quantity === 'voltage' && phase !== undefined) return phase === 4 ? undefined : `${[32, 52, 72][phase - 1]}.7.0`;
    if (quantity === 'current' && phase !== undefined) return `${[31, 51, 71, 91][phase - 1]}.7.0`;
    if (quantity === 'frequency' && phase === undefined) return '14.7.0';
    return undefined;
  }
  if (r.tariff !== 0 || direction || phase !== undefined || r.vifes.length > 0) return undefined;
  if (kind === 'date-time') return CLOCK;
  if (kind === 'flags' && quantity === 'error flags') return ERROR_REGISTER;
  return undefined;
}

interface Decoded {
  value: number | string | null;
  reason?: string;
}

function wrongField(r: ParsedRecord, quantity: string, type: string, strict: boolean): Decoded {
  if (strict) throw refuse('bad-record', `data field ${r.field} does not fit ${quantity}`, r, { field: r.field });
  return { value: toHex(r.data), reason: `data field ${r.field} does not fit ${type}; kept raw` };
}

function timeValue(r: ParsedRecord, quantity: string, t: TimeValue | undefined, type: string, strict: boolean): Decoded {
  if (!t) return wrongField(r, quantity, type, strict);
  if ('na' in t) {
    if (strict && t.na.startsWith('not a valid')) throw refuse('bad-date', `${type} is not a valid date or time: ${t.na}`, r);
    return { value: null, reason: t.na };
  }
  return { value: t.text };
}

/** The data of a record as its (VIF and VIFE) interpretation says (its kind, quantity and exponent:
 *  decodeValue's locals, not an object per record; a type J time's quantity is 'time' already). */
function interpret(r: ParsedRecord, kind: Interpretation['kind'], quantity: string, exponent: number, rawReason: string | undefined, strict: boolean): Decoded {
  const f = r.field;
  const s = r.source;
  const o = r.dataOffset;
  if (kind === 'manufacturer' || kind === 'unknown' || rawReason !== undefined) {
    return { value: toHex(r.data), reason: rawReason ?? (kind === 'manufacturer' ? 'manufacturer specific' : 'reserved code, kept raw') };
  }
  if (kind === 'date') return timeValue(r, quantity, f === 'int16' ? typeG(s, o) : undefined, 'type G date', strict);
  if (kind === 'date-time') {
    if (f === 'int32') return timeValue(r, quantity, typeF(s, o), 'type F date and time', strict);
    if (strict) return wrongField(r, quantity, 'type F date and time', strict);
    if (f === 'int48') return timeValue(r, quantity, typeI(s, o), 'type I date and time', strict);
    if (f === 'int24') return timeValue(r, quantity, typeJ(s, o), 'type J time', strict);
    if (f === 'variable') return { value: toHex(r.data), reason: 'type M date and time, kept raw' };
    return wrongField(r, quantity, 'date and time (types F, I, J, M)', strict);
  }
  if (kind === 'time-point') return timeValue(r, quantity, timePoint(r), 'date (type G, F or I)', strict);
  if (kind === 'flags') {
    if (!f.startsWith('int') || (strict && (f === 'int48' || f === 'int64'))) return wrongField(r, quantity, 'type D bit field', strict);
    return { value: typeC(s, o, r.end - o) };
  }
  if (kind === 'identifier') {
    if (f.startsWith('bcd') || (f === 'variable' && r.lvar !== undefined && r.lvar >= 0xc0 && r.lvar <= 0xc9)) {
      const b = typeA(s, o, r.end - o);
      if (!('na' in b)) return { value: b.digits };
      if (strict && b.na.startsWith('not a BCD')) throw refuse('bad-bcd', 'BCD data has a non-decimal digit', r);
      return { value: null, reason: b.na };
    }
    if (f === 'variable' && r.lvar !== undefined && r.lvar <= 0xbf) return { value: latin1Reversed(s, o, r.end - o) };
    if (f.startsWith('int') || f === 'variable') return { value: typeC(s, o, r.end - o) };
    return numeric(r, 0, strict);
  }
  if (kind === 'container' || kind === 'raw') {
    if (strict) throw refuse('unknown-vif', `${quantity} is not decoded`, r, { vif: hex(r.vif) });
    return { value: toHex(r.data), reason: kind === 'container' ? 'data container' : `data type ${r.vif === 0xfd72 ? 'K' : 'L'}, kept raw` };
  }
  return numeric(r, kind === 'number' ? exponent : 0, strict);
}

export function decodeValue(r: ParsedRecord, options: ValueOptions = {}): DecodedValue {
  const strict = !!options.strict;
  // The interpretation (quantity, unit, exponent, kind) in locals: an object per record was garbage.
  let quantity: string;
  let unit: string;
  let exponent = 0;
  let kind: Interpretation['kind'];
  if (r.vif === VIF_MANUFACTURER) {
    if (strict) throw refuse('unknown-vif', `manufacturer-specific VIF ${hex(r.vif)}`, r, { vif: hex(r.vif) });
    quantity = 'manufacturer specific';
    unit = '';
    kind = 'manufacturer';
  } else if (r.vif === VIF_PLAIN_TEXT) {
    quantity = r.plainTextUnit ?? '';
    unit = r.plainTextUnit ?? '';
    kind = 'number';
  } else {
    const t = r.vif === VIF_ANY ? undefined : vifMeaning(r.vif);
    if (!t) {
      if (strict) throw refuse('unknown-vif', `unknown VIF ${hex(r.vif)}`, r, { vif: hex(r.vif) });
      quantity = `reserved VIF ${hex(r.vif)}`;
      unit = '';
      kind = 'unknown';
    } else {
      quantity = t.quantity;
      unit = t.unit;
      exponent = t.exponent;
      kind = t.kind;
    }
  }

  let direction: 'forward' | 'backward' | undefined;
  let phase: number | undefined;
  let error: string | undefined;
  let rawReason: string | undefined;
  // The VIFEs' words: the first as a string (most records have at most one), an array from the second.
  let text: string | undefined;
  let texts: string[] | undefined;
  for (const e of r.vifes) {
    const v = vifeMeaning(e);
    const dup = (e === 0x3b || e === 0x3c) && direction !== undefined;
    const dupPhase = e >= 0x7c01 && e <= 0x7c04 && phase !== undefined;
    if (!v || dup || dupPhase) {
      if (strict) {
        throw refuse('unknown-vif', `unknown or repeated VIFE ${hex(e)}`, r, { vife: hex(e) });
      }
      rawReason ??= `reserved VIFE ${hex(e)}`;
      const t = `VIFE ${hex(e)}`;
      if (text === undefined) text = t;
      else (texts ??= [text]).push(t);
      continue;
    }
    if (text === undefined) text = v.text;
    else (texts ??= [text]).push(v.text);
    switch (v.effect) {
      case 'qualifier':
        if (e === 0x3c) direction = 'backward';
        else if (e === 0x3b) direction = 'forward';
        else if (e >= 0x7c01 && e <= 0x7c04) phase = e & 0x07;
        break;
      case 'per':
        unit = unit ? `${unit}/${v.unit}` : `1/${v.unit}`;
        break;
      case 'times':
        unit = unit ? `${unit}·${v.unit}` : v.unit;
        break;
      case 'scale':
        exponent += v.exponent;
        break;
      case 'offset':
        exponent = v.exponent;
        break;
      case 'time-point':
        kind = 'time-point';
        unit = '';
        break;
      case 'duration':
        kind = 'duration';
        unit = v.unit;
        exponent = 0;
        break;
      case 'count':
        kind = 'count';
        unit = '';
        exponent = 0;
        break;
      case 'error':
        if (e !== 0) error = v.text;
        break;
      case 'manufacturer':
        if (strict) throw refuse('unknown-vif', 'manufacturer-specific VIFE 0x7F', r, { vife: hex(e) });
        rawReason ??= 'manufacturer-specific VIFE';
        break;
      case 'profile':
        if (strict) throw refuse('unknown-vif', `${v.text} is not decoded`, r, { vife: hex(e) });
        rawReason ??= `${v.text} (EN 13757-3 Annex F), kept raw`;
        break;
    }
  }

  // A type J time (a date-and-time VIF on 24 bits, lenient) is a time of day.
  if (kind === 'date-time' && rawReason === undefined && !strict && r.field === 'int24') quantity = 'time';
  const d = interpret(r, kind, quantity, exponent, rawReason, strict);
  let value = d.value;
  let reason = d.reason;
  if (error !== undefined) {
    reason = `record error: ${error} (data ${toHex(r.data) || 'none'})`;
    value = null;
  }

  const record = hexOf(r.source, r.offset, r.end);
  const description = texts ? texts.join(', ') : text;
  const electricity = options.deviceType === undefined || options.deviceType === 0x02;
  const obis = value === null ? undefined : obisFor(r, quantity, unit, kind, direction, phase, electricity);
  // What an electricity meter sends in every telegram (a register with its OBIS code, or one
  // backward) as whole literals, with the keys in the order of the general case below: a property
  // added to a literal goes to a backing store of its own (V8), an allocation per value.
  if (obis && reason === undefined && phase === undefined && error === undefined) {
    if (description === undefined && direction === undefined) {
      return { quantity: quantity, unit: unit, value, function: r.function, storage: r.storage, tariff: r.tariff, subunit: r.subunit, authenticated: false, encrypted: false, record, obis };
    }
    if (description !== undefined && direction !== undefined) {
      return { quantity: quantity, unit: unit, value, function: r.function, storage: r.storage, tariff: r.tariff, subunit: r.subunit, authenticated: false, encrypted: false, record, description, obis, direction };
    }
  }
  const out: DecodedValue = {
    quantity: quantity,
    unit: unit,
    value,
    function: r.function,
    storage: r.storage,
    tariff: r.tariff,
    subunit: r.subunit,
    authenticated: false,
    encrypted: false,
    record,
  };
  if (description !== undefined) out.description = description;
  if (reason !== undefined) out.reason = reason;
  if (obis) out.obis = obis;
  if (direction) out.direction = direction;
  if (phase !== undefined) out.phase = phase;
  if (error !== undefined) out.error = error;
  return out;
}
