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
 * Values are given in the register's unit (Wh, W, V, A); V and A are rounded to 0.1 V and 1 mA.
 */
import { concat } from '../core/bytes.js';
import { encodeInt, encodeRecord, encodeTypeF, type DataField, type RecordHeader } from '../wmbus/records.js';
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
}

// The VIF bytes, from the EN 13757-3 tables the receiver decodes with (modules/wmbus/vif-table.ts).
const ENERGY = vifCode('energy', 'Wh', 0); // 0x03
const POWER = vifCode('power', 'W', 0); // 0x2B
const VOLTAGE = vifCode('voltage', 'V', -1); // 0xFD48
const CURRENT = vifCode('current', 'A', -3); // 0xFD59
const VIB_CLOCK = Object.freeze(vibBytes(vifCode('date and time', '', 0))); // 0x6D
const VIB_FLAGS = Object.freeze(vibBytes(vifCode('error flags', '', 0))); // FD 17

export const CLOCK = '0-0:1.0.0';
export const ERROR_REGISTER = '0-0:97.97.0';
const ALIASES: Record<string, string> = { clock: CLOCK, datetime: CLOCK, status: ERROR_REGISTER, 'F.F.0': ERROR_REGISTER };

const PHASE_OF: Record<string, number> = { '32': 1, '52': 2, '72': 3, '31': 1, '51': 2, '71': 3 };

/** Resolves an alias to its OBIS code and says what the register is; typed error if unknown. */
export function describeRegister(name: string): RegisterDef {
  const obis = ALIASES[name] ?? name;
  let m: RegExpExecArray | null;
  if ((m = /^([12])\.8\.(\d{1,2})$/.exec(obis))) {
    const t = Number(m[2]);
    const dir = m[1] === '1' ? 'A+ imported' : 'A- exported';
    return { obis, unit: 'Wh', description: `active energy ${dir}, ${t === 0 ? 'total' : `tariff ${t}`}` };
  }
  if (obis === '16.7.0') return { obis, unit: 'W', description: 'instantaneous active power, import positive' };
  if (obis === '2.7.0') return { obis, unit: 'W', description: 'instantaneous active power exported' };
  if ((m = /^(32|52|72)\.7\.0$/.exec(obis))) return { obis, unit: 'V', description: `voltage L${PHASE_OF[m[1]]}` };
  if ((m = /^(31|51|71)\.7\.0$/.exec(obis))) return { obis, unit: 'A', description: `current L${PHASE_OF[m[1]]}` };
  if (obis === CLOCK) return { obis, unit: '', description: 'meter date and time (type F)' };
  if (obis === ERROR_REGISTER) return { obis, unit: '', description: 'error flags' };
  throw new TelegramError('unknown-register', `no data record is defined for register "${name}"`, { register: name });
}

function numeric(r: Register): number {
  if (typeof r.value !== 'number' || !Number.isFinite(r.value)) {
    throw new TelegramError('register-value', `register ${r.obis} needs a finite number, got ${String(r.value)}`, {
      register: r.obis,
    });
  }
  return r.value;
}

function integer(r: Register, min: number, max: number): number {
  const v = numeric(r);
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw new TelegramError('register-value', `register ${r.obis} value ${v} is not an integer in [${min}, ${max}]`, {
      register: r.obis,
    });
  }
  return v;
}

function scaled(r: Register, factor: number, bits: number): number {
  const v = Math.round(numeric(r) * factor);
  const limit = 2 ** (bits - 1);
  if (v < -limit || v >= limit) {
    throw new TelegramError('register-value', `register ${r.obis} value ${r.value} is out of range`, { register: r.obis });
  }
  return v;
}

const header = (field: DataField, vib: readonly number[], tariff = 0): RecordHeader => ({
  field,
  function: 'instantaneous',
  storage: 0,
  tariff,
  subunit: 0,
  vib,
});

/** One register → one data record (DIB ‖ VIB ‖ data). */
export function encodeRegister(r: Register): Uint8Array {
  const def = describeRegister(r.obis);
  const obis = def.obis;
  let m: RegExpExecArray | null;
  if ((m = /^([12])\.8\.(\d{1,2})$/.exec(obis))) {
    const wh = integer(r, 0, Number.MAX_SAFE_INTEGER);
    const vib = m[1] === '1' ? vibBytes(ENERGY) : vibBytes(ENERGY, [VIFE_BACKWARD_FLOW]);
    const wide = wh > 0x7fffffff;
    return encodeRecord(header(wide ? 'int64' : 'int32', vib, Number(m[2])), encodeInt(wh, wide ? 8 : 4));
  }
  if (obis === '16.7.0') return encodeRecord(header('int32', vibBytes(POWER)), encodeInt(integer(r, -(2 ** 31), 2 ** 31 - 1), 4));
  if (obis === '2.7.0') return encodeRecord(header('int32', vibBytes(POWER, [VIFE_BACKWARD_FLOW])), encodeInt(integer(r, 0, 2 ** 31 - 1), 4));
  if ((m = /^(32|52|72)\.7\.0$/.exec(obis))) {
    return encodeRecord(header('int16', vibBytes(VOLTAGE, [VIFE_FC | PHASE_OF[m[1]]])), encodeInt(scaled(r, 10, 16), 2));
  }
  if ((m = /^(31|51|71)\.7\.0$/.exec(obis))) {
    return encodeRecord(header('int32', vibBytes(CURRENT, [VIFE_FC | PHASE_OF[m[1]]])), encodeInt(scaled(r, 1000, 32), 4));
  }
  if (obis === CLOCK) {
    if (typeof r.value !== 'string') {
      throw new TelegramError('register-value', `register ${obis} needs 'YYYY-MM-DDTHH:MM'`, { register: obis });
    }
    return encodeRecord(header('int32', VIB_CLOCK), encodeTypeF(r.value));
  }
  // Error flags are a bit field (type D): unsigned, so 8 bits up to 255 and 16 bits above.
  const flags = integer(r, 0, 0xffff);
  return flags > 0xff
    ? encodeRecord(header('int16', VIB_FLAGS), new Uint8Array([flags & 0xff, flags >> 8]))
    : encodeRecord(header('int8', VIB_FLAGS), new Uint8Array([flags]));
}

/** The application data: every register's record, in the order given. Duplicates are an error. */
export function encodeRegisters(registers: readonly Register[]): Uint8Array {
  const seen = new Set<string>();
  const parts: Uint8Array[] = [];
  for (const r of registers) {
    const obis = describeRegister(r.obis).obis;
    if (seen.has(obis)) throw new TelegramError('duplicate-register', `register ${obis} listed twice`, { register: obis });
    seen.add(obis);
    parts.push(encodeRegister(r));
  }
  return concat(...parts);
}
