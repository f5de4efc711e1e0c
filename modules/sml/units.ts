/**
 * DLMS unit codes (IEC 62056-62, the DLMS "Blue Book" unit enumeration) as SML carries them in a
 * valList entry's `unit` (Unsigned8), and the unit of each register this meter sends.
 */

export const UNIT_W = 27;
export const UNIT_VA = 28;
export const UNIT_VAR = 29;
export const UNIT_WH = 30;
export const UNIT_VARH = 32;
export const UNIT_A = 33;
export const UNIT_V = 35;
export const UNIT_HZ = 44;
export const UNIT_COUNT = 255;

const SYMBOLS: Readonly<Record<number, string>> = Object.freeze({
  1: 'a', 2: 'mo', 3: 'wk', 4: 'd', 5: 'h', 6: 'min', 7: 's', 8: '°', 9: '°C', 10: 'currency',
  11: 'm', 12: 'm/s', 13: 'm³', 14: 'm³', 15: 'm³/h', 16: 'm³/h', 17: 'm³/d', 18: 'm³/d', 19: 'l',
  20: 'kg', 21: 'N', 22: 'Nm', 23: 'Pa', 24: 'bar', 25: 'J', 26: 'J/h', 27: 'W', 28: 'VA',
  29: 'var', 30: 'Wh', 31: 'VAh', 32: 'varh', 33: 'A', 34: 'C', 35: 'V', 36: 'V/m', 37: 'F',
  38: 'Ω', 39: 'Ωm²/m', 40: 'Wb', 41: 'T', 42: 'A/m', 43: 'H', 44: 'Hz', 45: '1/(Wh)',
  46: '1/(varh)', 47: '1/(VAh)', 48: 'V²h', 49: 'A²h', 50: 'kg/s', 51: 'S', 52: 'K',
  53: '1/(V²h)', 54: '1/(A²h)', 55: '1/m³', 56: '%', 57: 'Ah', 60: 'Wh/m³', 61: 'J/m³',
  62: 'Mol %', 63: 'g/m³', 64: 'Pa s', 255: '',
});

/** The unit's symbol ('Wh', 'W', …; '' for 255 "count"), or undefined for a code not in the table. */
export function unitSymbol(code: number): string | undefined {
  return SYMBOLS[code];
}

/**
 * The unit of an electricity register by its OBIS C and D (IEC 62056-61, A = 1):
 * D 8 (time integral: energy) → Wh for active (C 1, 2, 15, 16, 21/22, 41/42, 61/62) and varh for
 * reactive (C 3, 4, 23/24, …); D 7 (instantaneous) → W, var, VA, A (C 11, 31, 51, 71, 91), V (C 12,
 * 32, 52, 72), Hz (C 14). Anything else: undefined (the entry carries no unit).
 */
export function unitOfRegister(c: number, d: number): number | undefined {
  if (d !== 7 && d !== 8) return undefined;
  // C within a phase group: 0–20 totals, 21–40 L1, 41–60 L2, 61–80 L3 (same quantity offsets).
  const q = c > 20 && c <= 80 ? ((c - 1) % 20) + 1 : c;
  if (d === 8) {
    if (q === 1 || q === 2 || q === 15 || q === 16) return UNIT_WH;
    if (q === 3 || q === 4) return UNIT_VARH;
    return undefined;
  }
  if (q === 1 || q === 2 || q === 15 || q === 16) return UNIT_W;
  if (q === 3 || q === 4) return UNIT_VAR;
  if (q === 9 || q === 10) return UNIT_VA;
  if (q === 11) return UNIT_A;
  if (q === 12) return UNIT_V;
  if (q === 14) return UNIT_HZ;
  return undefined;
}
