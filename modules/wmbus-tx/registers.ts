/**
 * The electricity meter's registers by OBIS code (IEC 62056-61, short form C.D.E with A-B = 1-0)
 * and how each becomes an EN 13757-3 data record, following the OMS Vol. 2 electricity conventions:
 *  - energy A+ (1.8.t) and A- (2.8.t): VIF 0x03 (Wh); A- adds the combinable VIFE 0x3C "backward
 *    flow" (EN 13757-3 Table 15; wmbusmeters VIFCombinable::BackwardFlow); tariff t in the DIFE,
 *    storage 0; a 32-bit integer while the value fits, else 64-bit;
 *  - 16.7.0 instantaneous active power, signed (import positive), VIF 0x2B (W), 32-bit;
 *    2.7.0 export power with VIFE 0x3C;
 *  - voltages 32/52/72.7.0: VIF FD 48 (0.1 V) and the combinable extension FC 01…03 "at phase
 *    L1…L3" (EN 13757-3:2018 Table 16; wmbusmeters AtPhase1 = 0x7c01), 16-bit;
 *    currents 31/51/71.7.0: VIF FD 59 (mA), same phase VIFEs, 32-bit;
 *  - 0-0:1.0.0 meter date and time: VIF 0x6D, type F, 32-bit;
 *  - 0-0:97.97.0 error register: VIF FD 17 "error flags" (type D), 8-bit (16-bit above 255).
 * Values are given in the register's unit (Wh, W, V, A); V and A are carried in 0.1 V and 1 mA
 * (`decimals`), rounded half away from zero on the value's decimal digits (scaleDecimal).
 */
import { encodeRecordHead, writeBytes, writeInt, writeTypeF, type DataField, type RecordHeader } from '../wmbus/records.js';
import { TelegramError } from '../wmbus/telegram-error.js';
import { VIFE_BACKWARD_FLOW, VIFE_FC, vibBytes, vifCode } from '../wmbus/vif-table.js';

export type RegisterValue = number | string;

export interface Register {
  /** OBIS code or alias, e.g. '1.8.0', '2.8.1', '32.7.0', '0-0:1.0.0' ('clock'), '0-0:97.97.0' ('status'). */
  obis: string;
  /** In the register's unit; date and time as 'YYYY-MM-DDTHH:MM' (meter local time). */
  value: RegisterValue;
}

export interface RegisterDef {
  obis: string;
  description: string;
  unit: string;
  /** Decimal places of `unit` the record carries (1: 0.1 V, 3: mA, 0: whole units); a value with more
   *  is rounded half away from zero. */
  decimals: number;
  /** The register's data record (DIB ‖ VIB ‖ data) for `value`; typed error if out of range. */
  encode(value: RegisterValue): Uint8Array;
  /** The same record written to out[offset…] (at most MAX_RECORD_LENGTH bytes); returns the offset after it. */
  write(value: RegisterValue, out: Uint8Array, offset: number): number;
}

/** Most bytes one register's record takes: DIF, up to 10 DIFEs (a tariff up to 2^20), 3 VIB bytes, 8 data. */
export const MAX_RECORD_LENGTH = 22;

// The VIF bytes, from the EN 13757-3 tables the receiver decodes with (modules/wmbus/vif-table.ts).
const ENERGY = vifCode('energy', 'Wh', 0); // 0x03
const POWER = vifCode('power', 'W', 0); // 0x2B
const VOLTAGE = vifCode('voltage', 'V', -1); // 0xFD48
const CURRENT = vifCode('current', 'A', -3); // 0xFD59
const CLOCK_VIF = vifCode('date and time', '', 0); // 0x6D
const FLAGS_VIF = vifCode('error flags', '', 0); // 0xFD17

export const CLOCK = '0-0:1.0.0';
export const ERROR_REGISTER = '0-0:97.97.0';
const ALIASES: Readonly<Record<string, string>> = Object.freeze({ clock: CLOCK, datetime: CLOCK, status: ERROR_REGISTER, 'F.F.0': ERROR_REGISTER });

const PHASE_OF: Readonly<Record<string, number>> = Object.freeze({ '32': 1, '52': 2, '72': 3, '31': 1, '51': 2, '71': 3 });

function numeric(obis: string, value: RegisterValue): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TelegramError('register-value', `register ${obis} needs a finite number, got ${String(value)}`, { register: obis });
  }
  return value;
}

function integer(obis: string, value: RegisterValue, min: number, max: number): number {
  const v = numeric(obis, value);
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw new TelegramError('register-value', `register ${obis} value ${v} is not an integer in [${min}, ${max}]`, { register: obis });
  }
  return v;
}

/** A decimal numeral: sign, digits with an optional point, an optional exponent ('4.0005', '-1e-3'). */
function decimalParts(text: string): RegExpExecArray | null {
  return /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d{1,9}))?$/.exec(text);
}

/**
 * `value` × 10^places as an integer, rounded half away from zero on its decimal digits, never through
 * a binary product: 4.0005 A is 4001 mA (4.0005 × 1000 is 4000.4999… in binary floating point, which
 * Math.round made 4000) and −4.0005 A is −4001 mA. A number is taken as the decimal it prints as
 * (ECMAScript's shortest round-trip digits, '4.0005'); a string must be a decimal numeral. NaN for
 * anything else, ±Infinity when the integer part would have more than 15 digits.
 */
export function scaleDecimal(value: RegisterValue, places: number): number {
  const text = typeof value === 'number' ? (Number.isFinite(value) ? String(value) : '') : value;
  const m = decimalParts(text);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return NaN;
  const digits = m[2] + (m[3] ?? '');
  // The point's position in `digits` after the shift by 10^places (and the exponent).
  let point = m[2].length + places + (m[4] === undefined ? 0 : Number(m[4]));
  let first = 0;
  while (first < digits.length && digits.charCodeAt(first) === 48) first++;
  point -= first;
  const significant = digits.slice(first);
  const negative = m[1] === '-';
  if (significant === '') return 0;
  if (point > 15) return negative ? -Infinity : Infinity;
  let n = point <= 0 ? 0 : Number(significant.slice(0, point).padEnd(point, '0'));
  // The first digit dropped decides: 5 or more rounds the magnitude up.
  if (point >= 0 && point < significant.length && significant.charCodeAt(point) >= 53) n++;
  return negative && n !== 0 ? -n : n;
}

/** How many decimal places a numeral's value has ('4.0005' 4, '4.000' 0, '1e-3' 3); 0 for a non-numeral. */
export function decimalPlaces(text: string): number {
  const m = decimalParts(text);
  if (!m) return 0;
  const frac = (m[3] ?? '').replace(/0+$/, '');
  return Math.max(0, frac.length - (m[4] === undefined ? 0 : Number(m[4])));
}

function scaled(obis: string, value: RegisterValue, places: number, bits: number): number {
  const v = scaleDecimal(value, places);
  if (Number.isNaN(v)) throw new TelegramError('register-value', `register ${obis} needs a finite number, got ${String(value)}`, { register: obis });
  const limit = 2 ** (bits - 1);
  if (v < -limit || v >= limit) throw new TelegramError('register-value', `register ${obis} value ${value} is out of range`, { register: obis });
  return v;
}

// Record heads and definitions are frozen: the prebuilt ones below are module-level tables. A head is
// the record's DIB ‖ VIB, encoded and checked once, so a telegram only copies it and writes the data.
const head = (field: DataField, vib: number[], tariff = 0): readonly number[] => {
  const h: RecordHeader = { field, function: 'instantaneous', storage: 0, tariff, subunit: 0, vib };
  return Object.freeze(encodeRecordHead(h));
};

type RecordWriter = (v: RegisterValue, out: Uint8Array, o: number) => number;

function def(obis: string, unit: string, description: string, write: RecordWriter, decimals = 0): RegisterDef {
  const encode = (v: RegisterValue): Uint8Array => {
    const out = new Uint8Array(MAX_RECORD_LENGTH);
    return out.slice(0, write(v, out, 0));
  };
  return Object.freeze({ obis, unit, description, decimals, encode, write });
}

/** Registers every meter sends or may (the totals, power, voltages, currents, clock, status),
 *  described when the module loads: on the device that is at link time, so their definitions lie in
 *  flash and a meter keeps none of them in RAM. Tariff registers are described when first used. */
const PREBUILT: Readonly<Record<string, RegisterDef>> = Object.freeze(prebuildRegisters());

function prebuildRegisters(): Record<string, RegisterDef> {
  const out: Record<string, RegisterDef> = Object.create(null) as Record<string, RegisterDef>;
  for (const obis of ['1.8.0', '2.8.0', '16.7.0', '2.7.0', '32.7.0', '52.7.0', '72.7.0', '31.7.0', '51.7.0', '71.7.0', CLOCK, ERROR_REGISTER]) out[obis] = buildRegister(obis, obis);
  return out;
}

/** The prebuilt definition of an OBIS code or alias, if it has one. */
function prebuiltRegister(name: string): RegisterDef | undefined {
  return PREBUILT[ALIASES[name] ?? name];
}

/**
 * Resolves an OBIS code or alias and says what the register is and how it is encoded; a typed error if
 * no record is defined for it. The name is parsed here, once: `RegisterEncoder` keeps the result.
 */
export function describeRegister(name: string): RegisterDef {
  return prebuiltRegister(name) ?? buildRegister(ALIASES[name] ?? name, name);
}

function buildRegister(code: string, name: string): RegisterDef {
  // A constant for the encoders to close over (a parameter is a binding the link would leave writable).
  const obis = code;
  let m: RegExpExecArray | null;
  if ((m = /^([12])\.8\.(\d{1,2})$/.exec(obis))) {
    const t = Number(m[2]);
    const vib = m[1] === '1' ? vibBytes(ENERGY) : vibBytes(ENERGY, [VIFE_BACKWARD_FLOW]);
    const narrow = head('int32', vib, t);
    const wide = head('int64', vib, t);
    return def(obis, 'Wh', `active energy ${m[1] === '1' ? 'A+ imported' : 'A- exported'}, ${t === 0 ? 'total' : `tariff ${t}`}`, (v, out, o) => {
      const wh = integer(obis, v, 0, Number.MAX_SAFE_INTEGER);
      // A 32-bit integer while the value fits, else 64-bit.
      return wh > 0x7fffffff ? writeInt(wh, 8, out, writeBytes(wide, out, o)) : writeInt(wh, 4, out, writeBytes(narrow, out, o));
    });
  }
  if (obis === '16.7.0') {
    const h = head('int32', vibBytes(POWER));
    return def(obis, 'W', 'instantaneous active power, import positive', (v, out, o) => {
      const w = integer(obis, v, -(2 ** 31), 2 ** 31 - 1);
      return writeInt(w, 4, out, writeBytes(h, out, o));
    });
  }
  if (obis === '2.7.0') {
    const h = head('int32', vibBytes(POWER, [VIFE_BACKWARD_FLOW]));
    return def(obis, 'W', 'instantaneous active power exported', (v, out, o) => {
      const w = integer(obis, v, 0, 2 ** 31 - 1);
      return writeInt(w, 4, out, writeBytes(h, out, o));
    });
  }
  if ((m = /^(32|52|72)\.7\.0$/.exec(obis))) {
    const h = head('int16', vibBytes(VOLTAGE, [VIFE_FC | PHASE_OF[m[1]]]));
    return def(obis, 'V', `voltage L${PHASE_OF[m[1]]}`, (v, out, o) => {
      const dv = scaled(obis, v, 1, 16);
      return writeInt(dv, 2, out, writeBytes(h, out, o));
    }, 1);
  }
  if ((m = /^(31|51|71)\.7\.0$/.exec(obis))) {
    const h = head('int32', vibBytes(CURRENT, [VIFE_FC | PHASE_OF[m[1]]]));
    return def(obis, 'A', `current L${PHASE_OF[m[1]]}`, (v, out, o) => {
      const ma = scaled(obis, v, 3, 32);
      return writeInt(ma, 4, out, writeBytes(h, out, o));
    }, 3);
  }
  if (obis === CLOCK) {
    const h = head('int32', vibBytes(CLOCK_VIF));
    return def(obis, '', 'meter date and time (type F)', (v, out, o) => {
      if (typeof v !== 'string') throw new TelegramError('register-value', `register ${obis} needs 'YYYY-MM-DDTHH:MM'`, { register: obis });
      // Checked before anything is written (writeTypeF throws on a bad time).
      const end = writeTypeF(v, out, o + h.length);
      writeBytes(h, out, o);
      return end;
    });
  }
  if (obis === ERROR_REGISTER) {
    // Error flags are a bit field (type D): unsigned, so 8 bits up to 255 and 16 bits above.
    const h8 = head('int8', vibBytes(FLAGS_VIF));
    const h16 = head('int16', vibBytes(FLAGS_VIF));
    return def(obis, '', 'error flags', (v, out, o) => {
      const flags = integer(obis, v, 0, 0xffff);
      if (flags <= 0xff) {
        out[writeBytes(h8, out, o)] = flags;
        return o + h8.length + 1;
      }
      const p = writeBytes(h16, out, o);
      out[p] = flags & 0xff;
      out[p + 1] = flags >> 8;
      return p + 2;
    });
  }
  throw new TelegramError('unknown-register', `no data record is defined for register "${name}"`, { register: name });
}

/** One register → one data record (DIB ‖ VIB ‖ data). */
export function encodeRegister(r: Register): Uint8Array {
  return describeRegister(r.obis).encode(r.value);
}

/**
 * Encodes register lists, keeping what each name resolved to: a meter sends the same registers in
 * every telegram, so the names are parsed once (created at run time, one per sender).
 */
export class RegisterEncoder {
  private readonly defs = new Map<string, RegisterDef>();
  /** What the registers of the list being encoded resolved to, in order (entries past the list
   *  are left from a longer one and never read): the duplicate check compares these instead of
   *  resolving every earlier name again. */
  private readonly resolved: RegisterDef[] = [];
  /** Entries [0, checked) are a prefix of the last list, resolved and free of duplicates: while a list
   *  repeats it by OBIS code (a meter sends the same registers every telegram; a code resolves to the
   *  one definition with that code) or by an alias of the same prebuilt one (clock, status), they are
   *  not checked for duplicates again. */
  private checked = 0;

  private resolve(name: string): RegisterDef {
    const prebuilt = prebuiltRegister(name);
    if (prebuilt) return prebuilt;
    let d = this.defs.get(name);
    if (!d) {
      const described = describeRegister(name);
      // An alias and its OBIS code are one register (so a duplicate is seen whichever name it uses).
      d = this.defs.get(described.obis) ?? described;
      this.defs.set(name, d);
      this.defs.set(d.obis, d);
    }
    return d;
  }

  /** The application data: every register's record, in the order given. Duplicates are an error. */
  encode(registers: readonly Register[]): Uint8Array {
    const out = new Uint8Array(registers.length * MAX_RECORD_LENGTH);
    return out.slice(0, this.encodeInto(registers, out, 0, out.length));
  }

  /**
   * The same records written to out[offset, limit) (a telegram builder writes them in place); returns
   * the offset after them, or -1 when they might not fit (nothing useful is then written).
   */
  encodeInto(registers: readonly Register[], out: Uint8Array, offset: number, limit: number): number {
    let o = offset;
    const resolved = this.resolved;
    let same = true;
    for (let i = 0; i < registers.length; i++) {
      const name = registers[i].obis;
      let d: RegisterDef;
      if (same && i < this.checked && (resolved[i].obis === name || prebuiltRegister(name) === resolved[i])) d = resolved[i];
      else {
        same = false;
        this.checked = i;
        d = this.resolve(name);
        for (let j = 0; j < i; j++) {
          if (resolved[j] === d) throw new TelegramError('duplicate-register', `register ${d.obis} listed twice`, { register: d.obis });
        }
        resolved[i] = d;
        this.checked = i + 1;
      }
      if (o + MAX_RECORD_LENGTH > limit) return -1;
      o = d.write(registers[i].value, out, o);
    }
    return o;
  }
}
/** The application data of a register list (one-off; a meter keeps a RegisterEncoder). */
export function encodeRegisters(registers: readonly Register[]): Uint8Array {
  return new RegisterEncoder().encode(registers);
}
