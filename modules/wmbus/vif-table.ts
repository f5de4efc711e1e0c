/**
 * The value information tables of EN 13757-3:2018 (clause 6.4), as data both sides read: the primary
 * VIF table (Table 10), the linear extension tables FD (Table 12) and FB (Table 14), the combinable
 * (orthogonal) VIFE table (Table 15) with its extension FC (Table 16) and the record error codes
 * (Table 18). The telegram builder takes its VIF bytes from here (`vifCode`) and the receiver its
 * meaning (`vifMeaning`, `vifeMeaning`), so the two cannot disagree.
 *
 * Units are normalised to base units where the table's unit is a power of ten of one (0.1 MWh is
 * 10^5 Wh, kVAR is 10^3 var, t is 10^3 kg): a value's exponent is relative to `unit`. Codes the
 * standard reserves have no entry (`undefined`): the receiver keeps such records raw.
 *
 * The tables are built once when the module loads and frozen (preloaded firmware may not write
 * module state at run time).
 */

/** What the data of a record with this VIF is. */
export type VifKind =
  /** A quantity: integer or BCD or real scaled by 10^exponent, in `unit`. */
  | 'number'
  /** A time span in `unit` (s, min, h, d, month, year); not scaled. */
  | 'duration'
  /** VIF 0x6C: a date, type G. */
  | 'date'
  /** VIF 0x6D: type F (32 bit), I (48 bit), J (24 bit, time of day) or M (LVAR) by the data field. */
  | 'date-time'
  /** A point in time whose type follows the data field: G (16 bit) or F (32 bit). */
  | 'time-point'
  /** Type D: a bit field, given as an unsigned integer. */
  | 'flags'
  /** An identifier or version: BCD as its digits, binary as an unsigned integer, LVAR as text. */
  | 'identifier'
  /** A data container (bytes for another protocol): kept as hex. */
  | 'container'
  /** Defined by the standard in a data type this decoder keeps raw (types K and L). */
  | 'raw';

export interface VifMeaning {
  /** EN 13757-3 name of the quantity, e.g. 'energy', 'volume flow', 'error flags'. */
  readonly quantity: string;
  /** Base unit after normalisation ('' for dimensionless numbers and non-numbers). */
  readonly unit: string;
  /** Decimal exponent of the value relative to `unit` (number kinds only; 0 otherwise). */
  readonly exponent: number;
  readonly kind: VifKind;
}

/** What a combinable VIFE does to the record it belongs to. */
export type VifeEffect =
  /** Only adds to the description (direction, phase, tariff-like qualifiers). */
  | 'qualifier'
  /** Divides the unit: `unit/suffix` (per second, per litre …). */
  | 'per'
  /** Multiplies the unit: `unit·suffix`. */
  | 'times'
  /** Scales the value by 10^exponent (multiplicative correction factor). */
  | 'scale'
  /** The value is an offset in the VIF's unit scaled by 10^exponent (replaces the VIF's exponent). */
  | 'offset'
  /** The value is a date or date and time (types G / F by data field). */
  | 'time-point'
  /** The value is a duration in `unit`. */
  | 'duration'
  /** The value is a count (number of limit exceeds). */
  | 'count'
  /** A record error code (EN 13757-3 Table 18); 'no error' leaves the value as it is. */
  | 'error'
  /** The data is a compact profile (EN 13757-3:2018 Annex F), kept raw by the receiver. */
  | 'profile'
  /** The following VIFEs and the data are manufacturer specific. */
  | 'manufacturer';

export interface VifeMeaning {
  readonly text: string;
  readonly effect: VifeEffect;
  /** 'per' / 'times': the unit suffix; 'duration': the unit. */
  readonly unit: string;
  /** 'scale' / 'offset': the exponent. */
  readonly exponent: number;
}

// ---- table building (runs once at load) --------------------------------------------------------

type Row = readonly [first: number, last: number, quantity: string, unit: string | readonly string[], exponent: number, kind: VifKind];

const TIME_UNITS = ['s', 'min', 'h', 'd'] as const;
const LONG_TIME_UNITS = ['h', 'd', 'month', 'year'] as const;

function build(rows: readonly Row[]): readonly (VifMeaning | undefined)[] {
  const table: (VifMeaning | undefined)[] = new Array<VifMeaning | undefined>(128).fill(undefined);
  for (const [first, last, quantity, unit, exponent, kind] of rows) {
    for (let code = first; code <= last; code++) {
      const i = code - first;
      table[code] = Object.freeze({
        quantity,
        unit: typeof unit === 'string' ? unit : unit[i],
        exponent: kind === 'number' ? exponent + i : 0,
        kind,
      });
    }
  }
  return Object.freeze(table);
}

/** EN 13757-3:2018 Table 10, primary VIFs (E bit removed). 0x7B-0x7F are not here: FB and FD
 *  extensions, plain-text, any and manufacturer-specific VIF, which the record parser handles. */
export const PRIMARY_VIFS = build([
  [0x00, 0x07, 'energy', 'Wh', -3, 'number'],
  [0x08, 0x0f, 'energy', 'J', 0, 'number'],
  [0x10, 0x17, 'volume', 'm3', -6, 'number'],
  [0x18, 0x1f, 'mass', 'kg', -3, 'number'],
  [0x20, 0x23, 'on time', TIME_UNITS, 0, 'duration'],
  [0x24, 0x27, 'operating time', TIME_UNITS, 0, 'duration'],
  [0x28, 0x2f, 'power', 'W', -3, 'number'],
  [0x30, 0x37, 'power', 'J/h', 0, 'number'],
  [0x38, 0x3f, 'volume flow', 'm3/h', -6, 'number'],
  [0x40, 0x47, 'volume flow', 'm3/min', -7, 'number'],
  [0x48, 0x4f, 'volume flow', 'm3/s', -9, 'number'],
  [0x50, 0x57, 'mass flow', 'kg/h', -3, 'number'],
  [0x58, 0x5b, 'flow temperature', '°C', -3, 'number'],
  [0x5c, 0x5f, 'return temperature', '°C', -3, 'number'],
  [0x60, 0x63, 'temperature difference', 'K', -3, 'number'],
  [0x64, 0x67, 'external temperature', '°C', -3, 'number'],
  [0x68, 0x6b, 'pressure', 'bar', -3, 'number'],
  [0x6c, 0x6c, 'date', '', 0, 'date'],
  [0x6d, 0x6d, 'date and time', '', 0, 'date-time'],
  [0x6e, 0x6e, 'units for H.C.A.', '', 0, 'number'],
  // 0x6F reserved (third extension table)
  [0x70, 0x73, 'averaging duration', TIME_UNITS, 0, 'duration'],
  [0x74, 0x77, 'actuality duration', TIME_UNITS, 0, 'duration'],
  [0x78, 0x78, 'fabrication number', '', 0, 'identifier'],
  [0x79, 0x79, 'enhanced identification', '', 0, 'identifier'],
  [0x7a, 0x7a, 'bus address', '', 0, 'identifier'],
]);

/** EN 13757-3:2018 Table 12, the main VIFE code extension table (after VIF 0xFD). */
export const FD_VIFS = build([
  [0x00, 0x03, 'credit', 'currency units', -3, 'number'],
  [0x04, 0x07, 'debit', 'currency units', -3, 'number'],
  [0x08, 0x08, 'unique message identification', '', 0, 'identifier'],
  [0x09, 0x09, 'device type', '', 0, 'identifier'],
  [0x0a, 0x0a, 'manufacturer', '', 0, 'identifier'],
  [0x0b, 0x0b, 'parameter set identification', '', 0, 'identifier'],
  [0x0c, 0x0c, 'model / version', '', 0, 'identifier'],
  [0x0d, 0x0d, 'hardware version', '', 0, 'identifier'],
  [0x0e, 0x0e, 'metrology (firmware) version', '', 0, 'identifier'],
  [0x0f, 0x0f, 'other software version', '', 0, 'identifier'],
  [0x10, 0x10, 'customer location', '', 0, 'identifier'],
  [0x11, 0x11, 'customer', '', 0, 'identifier'],
  [0x12, 0x12, 'access code user', '', 0, 'identifier'],
  [0x13, 0x13, 'access code operator', '', 0, 'identifier'],
  [0x14, 0x14, 'access code system operator', '', 0, 'identifier'],
  [0x15, 0x15, 'access code developer', '', 0, 'identifier'],
  [0x16, 0x16, 'password', '', 0, 'identifier'],
  [0x17, 0x17, 'error flags', '', 0, 'flags'],
  [0x18, 0x18, 'error mask', '', 0, 'flags'],
  [0x19, 0x19, 'security key', '', 0, 'identifier'],
  [0x1a, 0x1a, 'digital output', '', 0, 'flags'],
  [0x1b, 0x1b, 'digital input', '', 0, 'flags'],
  [0x1c, 0x1c, 'baud rate', 'Bd', 0, 'number'],
  [0x1d, 0x1d, 'response delay time', 'bit times', 0, 'number'],
  [0x1e, 0x1e, 'retry', '', 0, 'number'],
  [0x1f, 0x1f, 'remote control', '', 0, 'flags'],
  [0x20, 0x20, 'first storage number for cyclic storage', '', 0, 'number'],
  [0x21, 0x21, 'last storage number for cyclic storage', '', 0, 'number'],
  [0x22, 0x22, 'size of storage block', '', 0, 'number'],
  [0x23, 0x23, 'descriptor for tariff and subunit', '', 0, 'identifier'],
  [0x24, 0x27, 'storage interval', TIME_UNITS, 0, 'duration'],
  [0x28, 0x28, 'storage interval', 'month', 0, 'duration'],
  [0x29, 0x29, 'storage interval', 'year', 0, 'duration'],
  [0x2a, 0x2a, 'operator specific data', '', 0, 'container'],
  [0x2b, 0x2b, 'time point second', 's', 0, 'number'],
  [0x2c, 0x2f, 'duration since last readout', TIME_UNITS, 0, 'duration'],
  [0x30, 0x30, 'start of tariff', '', 0, 'time-point'],
  [0x31, 0x33, 'duration of tariff', ['min', 'h', 'd'], 0, 'duration'],
  [0x34, 0x37, 'period of tariff', TIME_UNITS, 0, 'duration'],
  [0x38, 0x38, 'period of tariff', 'month', 0, 'duration'],
  [0x39, 0x39, 'period of tariff', 'year', 0, 'duration'],
  [0x3a, 0x3a, 'dimensionless', '', 0, 'number'],
  [0x3b, 0x3b, 'data container for wireless M-Bus protocol', '', 0, 'container'],
  [0x3c, 0x3f, 'period of nominal data transmissions', TIME_UNITS, 0, 'duration'],
  [0x40, 0x4f, 'voltage', 'V', -9, 'number'],
  [0x50, 0x5f, 'current', 'A', -12, 'number'],
  [0x60, 0x60, 'reset counter', '', 0, 'number'],
  [0x61, 0x61, 'cumulation counter', '', 0, 'number'],
  [0x62, 0x62, 'control signal', '', 0, 'flags'],
  [0x63, 0x63, 'day of week', '', 0, 'number'],
  [0x64, 0x64, 'week number', '', 0, 'number'],
  [0x65, 0x65, 'time point of day change', '', 0, 'identifier'],
  [0x66, 0x66, 'state of parameter activation', '', 0, 'flags'],
  [0x67, 0x67, 'special supplier information', '', 0, 'identifier'],
  [0x68, 0x6b, 'duration since last cumulation', LONG_TIME_UNITS, 0, 'duration'],
  [0x6c, 0x6f, 'operating time battery', LONG_TIME_UNITS, 0, 'duration'],
  [0x70, 0x70, 'date and time of battery change', '', 0, 'time-point'],
  [0x71, 0x71, 'RF level', 'dBm', 0, 'number'],
  [0x72, 0x72, 'daylight saving (beginning, ending, deviation)', '', 0, 'raw'],
  [0x73, 0x73, 'listening window management', '', 0, 'raw'],
  [0x74, 0x74, 'remaining battery life time', 'd', 0, 'duration'],
  [0x75, 0x75, 'number of times the meter was stopped', '', 0, 'number'],
  [0x76, 0x76, 'data container for manufacturer specific protocol', '', 0, 'container'],
  // 0x77-0x7F reserved
]);

/** EN 13757-3:2018 Table 14, the alternate extended VIF code table (after VIF 0xFB). */
export const FB_VIFS = build([
  [0x00, 0x01, 'energy', 'Wh', 5, 'number'], // 0.1 MWh, 1 MWh
  [0x02, 0x03, 'reactive energy', 'varh', 3, 'number'], // 1 kvarh, 10 kvarh
  [0x04, 0x05, 'apparent energy', 'VAh', 3, 'number'],
  [0x08, 0x09, 'energy', 'J', 8, 'number'], // 0.1 GJ, 1 GJ
  [0x0c, 0x0f, 'energy', 'cal', 5, 'number'], // 0.1 Mcal … 100 Mcal
  [0x10, 0x11, 'volume', 'm3', 2, 'number'],
  [0x14, 0x17, 'reactive power', 'var', 0, 'number'], // 0.001 kvar …
  [0x18, 0x19, 'mass', 'kg', 5, 'number'], // 100 t, 1000 t
  [0x1a, 0x1b, 'relative humidity', '%', -1, 'number'],
  [0x20, 0x20, 'volume', 'ft3', 0, 'number'],
  [0x21, 0x21, 'volume', 'ft3', -1, 'number'],
  [0x28, 0x29, 'power', 'W', 5, 'number'], // 0.1 MW, 1 MW
  [0x2a, 0x2a, 'phase U-U (voltage to voltage)', '°', -1, 'number'],
  [0x2b, 0x2b, 'phase U-I (voltage to current)', '°', -1, 'number'],
  [0x2c, 0x2f, 'frequency', 'Hz', -3, 'number'],
  [0x30, 0x31, 'power', 'J/h', 8, 'number'], // 0.1 GJ/h, 1 GJ/h
  [0x34, 0x37, 'apparent power', 'VA', 0, 'number'],
  [0x58, 0x5b, 'flow temperature', '°F', -3, 'number'],
  [0x5c, 0x5f, 'return temperature', '°F', -3, 'number'],
  [0x60, 0x63, 'temperature difference', '°F', -3, 'number'],
  [0x64, 0x67, 'external temperature', '°F', -3, 'number'],
  [0x70, 0x73, 'cold / warm temperature limit', '°F', -3, 'number'],
  [0x74, 0x77, 'cold / warm temperature limit', '°C', -3, 'number'],
  [0x78, 0x7f, 'cumulative count max power', 'W', -3, 'number'],
]);

// ---- combinable VIFEs --------------------------------------------------------------------------

type VifeRow = readonly [first: number, last: number, text: string | ((code: number) => string), effect: VifeEffect, unit: string | readonly string[], exponent: number];

function buildVifes(rows: readonly VifeRow[]): readonly (VifeMeaning | undefined)[] {
  const table: (VifeMeaning | undefined)[] = new Array<VifeMeaning | undefined>(128).fill(undefined);
  for (const [first, last, text, effect, unit, exponent] of rows) {
    for (let code = first; code <= last; code++) {
      const i = code - first;
      table[code] = Object.freeze({
        text: typeof text === 'string' ? text : text(code),
        effect,
        unit: typeof unit === 'string' ? unit : unit[i],
        exponent: effect === 'scale' || effect === 'offset' ? exponent + i : 0,
      });
    }
  }
  return Object.freeze(table);
}

/** EN 13757-3:2018 Table 18: record error codes a meter sends as VIFE 0x00-0x1F. */
export const RECORD_ERRORS: readonly (string | undefined)[] = Object.freeze([
  'no error', 'too many DIFEs', 'storage number not implemented', 'unit number not implemented',
  'tariff number not implemented', 'function not implemented', 'data class not implemented',
  'data size not implemented', undefined, undefined, undefined, 'too many VIFEs', 'illegal VIF group',
  'illegal VIF exponent', 'VIF/DIF mismatch', 'unimplemented action', undefined, undefined,
  undefined, undefined, undefined, 'no data available (undefined value)', 'data overflow',
  'data underflow', 'data error', undefined, undefined, undefined, 'premature end of record',
]);

const limit = (c: number): string => ((c & 0x08) ? 'upper' : 'lower');
const firstLast = (c: number): string => ((c & 0x04) ? 'last' : 'first');
const beginEnd = (c: number): string => ((c & 0x01) ? 'end' : 'begin');

/** EN 13757-3:2018 Table 15, combinable (orthogonal) VIFEs (E bit removed). 0x7C (extension, see
 *  FC_VIFES) is resolved by the record parser; record error codes are in RECORD_ERRORS. */
export const COMBINABLE_VIFES = buildVifes([
  ...RECORD_ERRORS.flatMap((text, code): VifeRow[] => (text ? [[code, code, text, 'error', '', 0]] : [])),
  [0x12, 0x12, 'average value', 'qualifier', '', 0],
  [0x13, 0x13, 'inverse compact profile', 'profile', '', 0],
  [0x14, 0x14, 'relative deviation', 'qualifier', '', 0],
  [0x1d, 0x1d, 'standard conform data content', 'qualifier', '', 0],
  [0x1e, 0x1e, 'compact profile with register numbers', 'profile', '', 0],
  [0x1f, 0x1f, 'compact profile', 'profile', '', 0],
  [0x20, 0x20, 'per second', 'per', 's', 0],
  [0x21, 0x21, 'per minute', 'per', 'min', 0],
  [0x22, 0x22, 'per hour', 'per', 'h', 0],
  [0x23, 0x23, 'per day', 'per', 'd', 0],
  [0x24, 0x24, 'per week', 'per', 'week', 0],
  [0x25, 0x25, 'per month', 'per', 'month', 0],
  [0x26, 0x26, 'per year', 'per', 'year', 0],
  [0x27, 0x27, 'per revolution / measurement', 'per', 'revolution', 0],
  [0x28, 0x29, (c) => `increment per input pulse on input channel ${c & 1}`, 'per', 'pulse', 0],
  [0x2a, 0x2b, (c) => `increment per output pulse on output channel ${c & 1}`, 'per', 'pulse', 0],
  [0x2c, 0x2c, 'per litre', 'per', 'l', 0],
  [0x2d, 0x2d, 'per m3', 'per', 'm3', 0],
  [0x2e, 0x2e, 'per kg', 'per', 'kg', 0],
  [0x2f, 0x2f, 'per K', 'per', 'K', 0],
  [0x30, 0x30, 'per kWh', 'per', 'kWh', 0],
  [0x31, 0x31, 'per GJ', 'per', 'GJ', 0],
  [0x32, 0x32, 'per kW', 'per', 'kW', 0],
  [0x33, 0x33, 'per (K·l)', 'per', '(K·l)', 0],
  [0x34, 0x34, 'per V', 'per', 'V', 0],
  [0x35, 0x35, 'per A', 'per', 'A', 0],
  [0x36, 0x36, 'multiplied by s', 'times', 's', 0],
  [0x37, 0x37, 'multiplied by s/V', 'times', '(s/V)', 0],
  [0x38, 0x38, 'multiplied by s/A', 'times', '(s/A)', 0],
  [0x39, 0x39, 'start date (time) of', 'time-point', '', 0],
  [0x3a, 0x3a, 'uncorrected unit or value at metering conditions', 'qualifier', '', 0],
  [0x3b, 0x3b, 'forward flow', 'qualifier', '', 0],
  [0x3c, 0x3c, 'backward flow', 'qualifier', '', 0],
  [0x3d, 0x3d, 'alternate non-metric unit system', 'qualifier', '', 0],
  [0x3e, 0x3e, 'value at base conditions', 'qualifier', '', 0],
  [0x3f, 0x3f, 'OBIS declaration', 'qualifier', '', 0],
  [0x40, 0x40, 'lower limit value', 'qualifier', '', 0],
  [0x48, 0x48, 'upper limit value', 'qualifier', '', 0],
  [0x41, 0x41, 'number of exceeds of lower limit value', 'count', '', 0],
  [0x49, 0x49, 'number of exceeds of upper limit value', 'count', '', 0],
  ...[0x42, 0x43, 0x46, 0x47, 0x4a, 0x4b, 0x4e, 0x4f].map(
    (c): VifeRow => [c, c, `date (time) of ${beginEnd(c)} of ${firstLast(c)} ${limit(c)} limit exceed`, 'time-point', '', 0],
  ),
  ...[0x50, 0x54, 0x58, 0x5c].map(
    (c): VifeRow => [c, c + 3, `duration of ${firstLast(c)} ${limit(c)} limit exceed`, 'duration', TIME_UNITS, 0],
  ),
  [0x60, 0x63, 'duration of first', 'duration', TIME_UNITS, 0],
  [0x64, 0x67, 'duration of last', 'duration', TIME_UNITS, 0],
  [0x68, 0x68, 'value during lower limit exceed', 'qualifier', '', 0],
  [0x6c, 0x6c, 'value during upper limit exceed', 'qualifier', '', 0],
  [0x69, 0x69, 'leakage values', 'qualifier', '', 0],
  [0x6d, 0x6d, 'overflow values', 'qualifier', '', 0],
  ...[0x6a, 0x6b, 0x6e, 0x6f].map((c): VifeRow => [c, c, `date (time) of ${beginEnd(c)} of ${firstLast(c)}`, 'time-point', '', 0]),
  [0x70, 0x77, 'multiplicative correction factor', 'scale', '', -6],
  [0x78, 0x7b, 'additive correction constant', 'offset', '', -3],
  [0x7d, 0x7d, 'multiplicative correction factor 1000', 'scale', '', 3],
  [0x7e, 0x7e, 'future value', 'qualifier', '', 0],
  [0x7f, 0x7f, 'manufacturer specific', 'manufacturer', '', 0],
]);

/** EN 13757-3:2018 Table 16, the combinable VIFE extension table (after VIFE 0xFC). */
export const FC_VIFES = buildVifes([
  [0x01, 0x03, (c) => `at phase L${c}`, 'qualifier', '', 0],
  [0x04, 0x04, 'at neutral (N)', 'qualifier', '', 0],
  [0x05, 0x05, 'between phase L1 and L2', 'qualifier', '', 0],
  [0x06, 0x06, 'between phase L2 and L3', 'qualifier', '', 0],
  [0x07, 0x07, 'between phase L3 and L1', 'qualifier', '', 0],
  [0x08, 0x0b, (c) => `at quadrant Q${c - 7}`, 'qualifier', '', 0],
  [0x0c, 0x0c, 'delta between import and export', 'qualifier', '', 0],
  [0x10, 0x10, 'accumulation of absolute value for both positive and negative contribution', 'qualifier', '', 0],
  [0x11, 0x11, 'data direction: from communication partner to meter', 'qualifier', '', 0],
  [0x12, 0x12, 'data direction: from meter to communication partner', 'qualifier', '', 0],
]);

// ---- lookups -----------------------------------------------------------------------------------

/** Marks a VIF of the FD / FB extension tables in the receiver's 16-bit VIF code: 0xFD17, 0xFB1A. */
export const VIF_FD = 0xfd00;
export const VIF_FB = 0xfb00;
/** A VIFE of the FC extension table in the receiver's VIFE code: 0x7C01 (at phase L1). */
export const VIFE_FC = 0x7c00;
/** Combinable VIFEs (Table 15): accumulation of positive / of negative contributions only. */
export const VIFE_FORWARD_FLOW = 0x3b;
export const VIFE_BACKWARD_FLOW = 0x3c;

/** Meaning of a VIF code as the receiver writes it: 0x00-0x7A primary, 0xFDxx, 0xFBxx. */
export function vifMeaning(vif: number): VifMeaning | undefined {
  if (vif < 0x80) return PRIMARY_VIFS[vif];
  if (vif >> 8 === 0xfd) return FD_VIFS[vif & 0x7f];
  if (vif >> 8 === 0xfb) return FB_VIFS[vif & 0x7f];
  return undefined;
}

/** Meaning of a combinable VIFE (0x00-0x7F) or of an FC extension VIFE (0x7Cxx). */
export function vifeMeaning(vife: number): VifeMeaning | undefined {
  if (vife < 0x80) return COMBINABLE_VIFES[vife];
  if (vife >> 8 === 0x7c) return FC_VIFES[vife & 0x7f];
  return undefined;
}

/**
 * The VIF code (as `vifMeaning` takes it) of a quantity in a unit at a decimal exponent, from the
 * same tables: vifCode('energy', 'Wh', 0) = 0x03, vifCode('voltage', 'V', -1) = 0xFD48. Throws if
 * the tables have no such code (a programming error in the caller).
 */
export function vifCode(quantity: string, unit: string, exponent: number): number {
  for (const [base, table] of [[0, PRIMARY_VIFS], [VIF_FD, FD_VIFS], [VIF_FB, FB_VIFS]] as const) {
    for (let c = 0; c < 128; c++) {
      const m = table[c];
      if (m && m.quantity === quantity && m.unit === unit && m.exponent === exponent) return base | c;
    }
  }
  throw new RangeError(`no VIF for ${quantity} in 10^${exponent} ${unit}`);
}

/** The VIF bytes (extension bits set on all but the last) of a VIF code and its VIFE codes. */
export function vibBytes(vif: number, vifes: readonly number[] = []): number[] {
  const out: number[] = vif > 0xff ? [vif >> 8, vif & 0x7f] : [vif];
  for (const e of vifes) {
    if (e > 0xff) out.push(e >> 8, e & 0x7f);
    else out.push(e);
  }
  for (let i = 0; i < out.length - 1; i++) out[i] |= 0x80;
  return out;
}
