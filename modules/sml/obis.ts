/**
 * OBIS codes (IEC 62056-61) as SML's objName: six bytes A B C D E F. Written short ('1.8.0', which
 * means 1-0:1.8.0*255), with the medium and channel ('1-0:1.8.0'), or in full ('1-0:1.8.0*255').
 */
import { SmlError } from './errors.js';

/** The six objName bytes of an OBIS code; a typed error ('obis') for anything else. */
export function obisBytes(code: string): Uint8Array {
  // A literal here, not a module constant: a RegExp carries state, and preloaded module state is frozen.
  const m = /^(?:(\d{1,3})-(\d{1,3}):)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\*(\d{1,3}))?$/.exec(code);
  const out = new Uint8Array(6);
  if (m) {
    out[0] = m[1] === undefined ? 1 : Number(m[1]);
    out[1] = m[2] === undefined ? 0 : Number(m[2]);
    out[2] = Number(m[3]);
    out[3] = Number(m[4]);
    out[4] = Number(m[5]);
    out[5] = m[6] === undefined ? 255 : Number(m[6]);
  }
  if (!m || [m[1], m[2], m[3], m[4], m[5], m[6]].some((g) => g !== undefined && Number(g) > 255)) {
    throw new SmlError('obis', `"${code}" is not an OBIS code (C.D.E, A-B:C.D.E or A-B:C.D.E*F, each 0–255)`, { obis: code });
  }
  return out;
}

/** 'A-B:C.D.E*F' for a six-byte objName; other lengths as hex in brackets (some meters send them). */
export function obisText(name: Uint8Array): string {
  if (name.length === 6) return `${name[0]}-${name[1]}:${name[2]}.${name[3]}.${name[4]}*${name[5]}`;
  let hex = '';
  for (let i = 0; i < name.length; i++) hex += (name[i] < 16 ? '0' : '') + name[i].toString(16);
  return `[${hex}]`;
}
