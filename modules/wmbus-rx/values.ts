/**
 * The meaning of a parsed record (EN 13757-3 Tables 10-16, OMS Vol. 2 Annex for electricity):
 * quantity, unit and decimal scale of the VIF, the combinable VIFEs this receiver knows (0x3C
 * backward flow, 0x3B forward flow, 0x7C01-03 at phase L1-L3), the data decoded by its type
 * (B signed integer, A BCD, H real, F/G date, D bit field) and, for the electricity registers the
 * meter sends (modules/wmbus-tx/registers.ts), the OBIS code. Unknown VIFs and VIFEs are errors.
 */
import { toHex } from '../core/bytes.js';
import { CLOCK, ERROR_REGISTER } from '../wmbus-tx/registers.js';
import type { ParsedRecord } from './records.js';
import { ReceiveError } from './receive-error.js';

export interface DecodedValue {
  /** OBIS code for the meter's own registers (instantaneous, storage 0, subunit 0), else absent. */
  obis?: string;
  quantity: string;
  unit: string;
  /** Scaled to `unit`; date and time as 'YYYY-MM-DDTHH:MM'; error flags as an integer. */
  value: number | string;
  function: ParsedRecord['function'];
  storage: number;
  tariff: number;
  subunit: number;
  direction?: 'forward' | 'backward';
  phase?: number;
  /** Type F: the IV (invalid) bit was set. */
  invalid?: boolean;
  /** The record as transmitted. */
  record: string;
}

interface VifMeaning {
  quantity: string;
  unit: string;
  exponent: number;
  kind: 'number' | 'datetime' | 'date' | 'flags';
}

function meaningOf(vif: number): VifMeaning | undefined {
  if (vif <= 0x07) return { quantity: 'energy', unit: 'Wh', exponent: vif - 3, kind: 'number' };
  if (vif <= 0x0f) return { quantity: 'energy', unit: 'J', exponent: vif - 0x08, kind: 'number' };
  if (vif <= 0x17) return { quantity: 'volume', unit: 'm3', exponent: vif - 0x10 - 6, kind: 'number' };
  if (vif <= 0x1f) return { quantity: 'mass', unit: 'kg', exponent: vif - 0x18 - 3, kind: 'number' };
  if (vif >= 0x28 && vif <= 0x2f) return { quantity: 'power', unit: 'W', exponent: vif - 0x28 - 3, kind: 'number' };
  if (vif >= 0x30 && vif <= 0x37) return { quantity: 'power', unit: 'J/h', exponent: vif - 0x30, kind: 'number' };
  if (vif >= 0x38 && vif <= 0x3f) return { quantity: 'volume flow', unit: 'm3/h', exponent: vif - 0x38 - 6, kind: 'number' };
  if (vif >= 0x58 && vif <= 0x5b) return { quantity: 'flow temperature', unit: '°C', exponent: vif - 0x58 - 3, kind: 'number' };
  if (vif >= 0x5c && vif <= 0x5f) return { quantity: 'return temperature', unit: '°C', exponent: vif - 0x5c - 3, kind: 'number' };
  if (vif >= 0x64 && vif <= 0x67) return { quantity: 'external temperature', unit: '°C', exponent: vif - 0x64 - 3, kind: 'number' };
  if (vif === 0x6c) return { quantity: 'date', unit: '', exponent: 0, kind: 'date' };
  if (vif === 0x6d) return { quantity: 'date and time', unit: '', exponent: 0, kind: 'datetime' };
  if (vif === 0xfd17) return { quantity: 'error flags', unit: '', exponent: 0, kind: 'flags' };
  if (vif >= 0xfd40 && vif <= 0xfd4f) return { quantity: 'voltage', unit: 'V', exponent: (vif & 0x0f) - 9, kind: 'number' };
  if (vif >= 0xfd50 && vif <= 0xfd5f) return { quantity: 'current', unit: 'A', exponent: (vif & 0x0f) - 12, kind: 'number' };
  return undefined;
}

function hex(v: number): string {
  return '0x' + v.toString(16).toUpperCase();
}

function readSigned(d: Uint8Array, offset: number): number {
  let u = BigInt(0);
  for (let i = d.length - 1; i >= 0; i--) u = (u << BigInt(8)) | BigInt(d[i]);
  const v = BigInt.asIntN(d.length * 8, u);
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(-Number.MAX_SAFE_INTEGER)) {
    throw new ReceiveError('value-range', `integer at offset ${offset} exceeds 2^53`, { offset });
  }
  return Number(v);
}

function readUnsigned(d: Uint8Array): number {
  let v = 0;
  for (let i = d.length - 1; i >= 0; i--) v = v * 256 + d[i];
  return v;
}

function readBcd(d: Uint8Array, offset: number): number {
  let v = 0;
  for (let i = d.length - 1; i >= 0; i--) {
    const hi = d[i] >> 4;
    const lo = d[i] & 0x0f;
    if (hi > 9 || lo > 9) throw new ReceiveError('bad-bcd', `BCD data at offset ${offset} has a non-decimal digit`, { offset });
    v = v * 100 + hi * 10 + lo;
  }
  return v;
}

function scale(raw: number, exponent: number): number {
  // Divide for negative exponents so that e.g. 2850427 × 10^-2 is the double nearest 28504.27.
  return exponent < 0 ? raw / 10 ** -exponent : raw * 10 ** exponent;
}

const pad2 = (n: number): string => (n < 10 ? '0' : '') + n;

function typeF(d: Uint8Array, offset: number): { text: string; invalid: boolean } {
  const minute = d[0] & 0x3f;
  const hour = d[1] & 0x1f;
  const hy = (d[1] >> 5) & 0x03;
  const day = d[2] & 0x1f;
  const month = d[3] & 0x0f;
  const yy = ((d[2] >> 5) & 0x07) | ((d[3] >> 4) << 3);
  const invalid = !!(d[0] & 0x80);
  // HY 0 is also what meters built before the hundred-year bits existed send for 20yy: EN 13757-3
  // Annex A recommends reading 00-80 as 2000-2080 (wmbusmeters and libmbus read every yy as 20yy).
  const year = hy === 0 && yy <= 80 ? 2000 + yy : 1900 + 100 * hy + yy;
  if (!invalid && (minute > 59 || hour > 23 || day < 1 || month < 1 || month > 12 || yy > 99)) {
    throw new ReceiveError('bad-date', `type F date and time at offset ${offset} is not a valid time`, { offset });
  }
  return { text: `${year}-${pad2(month)}-${pad2(day)}T${pad2(hour)}:${pad2(minute)}`, invalid };
}

function typeG(d: Uint8Array, offset: number): { text: string; invalid: boolean } {
  const day = d[0] & 0x1f;
  const month = d[1] & 0x0f;
  const yy = ((d[0] >> 5) & 0x07) | ((d[1] >> 4) << 3);
  const invalid = day === 0 && month === 0;
  if (!invalid && (day < 1 || month < 1 || month > 12 || yy > 99)) {
    throw new ReceiveError('bad-date', `type G date at offset ${offset} is not a valid date`, { offset });
  }
  return { text: `${2000 + yy}-${pad2(month)}-${pad2(day)}`, invalid };
}

function obisFor(r: ParsedRecord, m: VifMeaning, direction: string | undefined, phase: number | undefined): string | undefined {
  if (r.function !== 'instantaneous' || r.storage !== 0 || r.subunit !== 0) return undefined;
  if (m.quantity === 'energy' && m.unit === 'Wh' && phase === undefined) return `${direction === 'backward' ? 2 : 1}.8.${r.tariff}`;
  if (r.tariff !== 0) return undefined;
  if (m.quantity === 'power' && m.unit === 'W' && phase === undefined) return direction === 'backward' ? '2.7.0' : direction ? undefined : '16.7.0';
  if (m.quantity === 'voltage' && phase !== undefined && !direction) return `${[32, 52, 72][phase - 1]}.7.0`;
  if (m.quantity === 'current' && phase !== undefined && !direction) return `${[31, 51, 71][phase - 1]}.7.0`;
  if (m.kind === 'datetime' && !direction && phase === undefined) return CLOCK;
  if (m.kind === 'flags' && !direction && phase === undefined) return ERROR_REGISTER;
  return undefined;
}

export function decodeValue(r: ParsedRecord): DecodedValue {
  const m = meaningOf(r.vif);
  if (!m) {
    throw new ReceiveError('unknown-vif', `unknown VIF ${hex(r.vif)} in the record at offset ${r.offset}`, {
      offset: r.offset,
      vif: hex(r.vif),
    });
  }
  let direction: 'forward' | 'backward' | undefined;
  let phase: number | undefined;
  for (const e of r.vifes) {
    if (e === 0x3c && !direction) direction = 'backward';
    else if (e === 0x3b && !direction) direction = 'forward';
    else if (e >= 0x7c01 && e <= 0x7c03 && phase === undefined) phase = e & 0x03;
    else {
      throw new ReceiveError('unknown-vif', `unknown or repeated VIFE ${hex(e)} in the record at offset ${r.offset}`, {
        offset: r.offset,
        vife: hex(e),
      });
    }
  }
  const wrongField = (): ReceiveError =>
    new ReceiveError('bad-record', `data field ${r.field} does not fit ${m.quantity} (record at offset ${r.offset})`, {
      offset: r.offset,
      field: r.field,
    });
  let value: number | string;
  let invalid = false;
  if (m.kind === 'datetime') {
    if (r.field !== 'int32') throw wrongField(); // type F; type I (int48) is not used by OMS electricity
    const t = typeF(r.data, r.offset);
    value = t.text;
    invalid = t.invalid;
  } else if (m.kind === 'date') {
    if (r.field !== 'int16') throw wrongField();
    const t = typeG(r.data, r.offset);
    value = t.text;
    invalid = t.invalid;
  } else if (m.kind === 'flags') {
    if (!r.field.startsWith('int') || r.field === 'int48' || r.field === 'int64') throw wrongField();
    value = readUnsigned(r.data); // type D: a bit field
  } else if (r.field.startsWith('int')) {
    value = scale(readSigned(r.data, r.offset), m.exponent);
  } else if (r.field.startsWith('bcd')) {
    value = scale(readBcd(r.data, r.offset), m.exponent);
  } else if (r.field === 'real32') {
    value = scale(new DataView(r.data.buffer, r.data.byteOffset, 4).getFloat32(0, true), m.exponent);
  } else {
    throw wrongField();
  }
  const out: DecodedValue = {
    quantity: m.quantity,
    unit: m.unit,
    value,
    function: r.function,
    storage: r.storage,
    tariff: r.tariff,
    subunit: r.subunit,
    record: toHex(r.bytes),
  };
  const obis = obisFor(r, m, direction, phase);
  if (obis) out.obis = obis;
  if (direction) out.direction = direction;
  if (phase !== undefined) out.phase = phase;
  if (invalid) out.invalid = true;
  return out;
}
