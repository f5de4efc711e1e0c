/**
 * EN 13757-4 data link layer header: C field, M field (manufacturer, FLAG three-letter code packed
 * in 15 bits per EN 13757-3 / EN 62056-21: ((c1-64)<<10)|((c2-64)<<5)|(c3-64), sent little-endian)
 * and A field (identification number 8 BCD digits LE, version, device type). The L field is not
 * part of the header: it depends on the frame format (frame.ts).
 */
import { writeU16LE } from '../core/bytes.js';
import { DllError } from './link-errors.js';

export interface DllHeader {
  /** C field, e.g. 0x44 SND_NR. */
  control: number;
  /** 3 upper-case letters, e.g. 'XSM'. */
  manufacturer: string;
  /** 8 decimal digits as printed, e.g. '12345678' (stored BCD, LE: 78 56 34 12). */
  id: string;
  /** 0..255 */
  version: number;
  /** 0x02 electricity. */
  deviceType: number;
}

/** Bytes of an encoded header: C, M(2), A(6). */
export const DLL_HEADER_LENGTH = 9;

export function encodeManufacturer(code: string): number {
  if (typeof code !== 'string' || !/^[A-Z]{3}$/.test(code)) {
    throw new DllError('manufacturer', `manufacturer code must be three letters A-Z, got ${JSON.stringify(code)}`, {
      field: 'manufacturer',
      value: String(code),
    });
  }
  return ((code.charCodeAt(0) - 64) << 10) | ((code.charCodeAt(1) - 64) << 5) | (code.charCodeAt(2) - 64);
}

/** Bit 15 of the M field: the address is a soft address (assigned locally, unique only in its
 *  installation), not one of the FLAG letters (EN 13757-7:2018, manufacturer ID). */
export const SOFT_ADDRESS = 0x8000;

/**
 * The three letters of an M field; bit 15 (SOFT_ADDRESS) is not part of them and is ignored.
 * Strict (default): each 5-bit letter must be 1..26 ('A'..'Z'). Lenient: any value maps to the
 * character 64 + n ('@', '[' … '_' for the codes FLAG never assigns), as other receivers print them.
 */
export function decodeManufacturer(m: number, lenient = false): string {
  const a = (m >>> 10) & 31;
  const b = (m >>> 5) & 31;
  const c = m & 31;
  if (!Number.isInteger(m) || m < 0 || m > 0xffff || (!lenient && (a < 1 || a > 26 || b < 1 || b > 26 || c < 1 || c > 26))) {
    throw new DllError('manufacturer', `M field 0x${Number(m).toString(16)} is not a FLAG manufacturer code`, {
      field: 'manufacturer',
      value: Number(m),
    });
  }
  return String.fromCharCode(a + 64, b + 64, c + 64);
}

function checkByte(field: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 255) {
    throw new DllError('range', `${field} must be an integer 0..255, got ${String(v)}`, { field, value: String(v) });
  }
}

export function encodeDllHeader(h: DllHeader): Uint8Array {
  checkByte('control', h.control);
  checkByte('version', h.version);
  checkByte('deviceType', h.deviceType);
  const m = encodeManufacturer(h.manufacturer);
  if (typeof h.id !== 'string' || !/^[0-9]{8}$/.test(h.id)) {
    throw new DllError('id', `identification number must be 8 decimal digits, got ${JSON.stringify(h.id)}`, {
      field: 'id',
      value: String(h.id),
    });
  }
  const out = new Uint8Array(DLL_HEADER_LENGTH);
  out[0] = h.control;
  writeU16LE(out, 1, m);
  // BCD, least significant digit pair first: '12345678' -> 78 56 34 12.
  for (let i = 0; i < 4; i++) {
    const hi = h.id.charCodeAt(6 - 2 * i) - 48;
    const lo = h.id.charCodeAt(7 - 2 * i) - 48;
    out[3 + i] = (hi << 4) | lo;
  }
  out[7] = h.version;
  out[8] = h.deviceType;
  return out;
}

export interface DllDecodeOptions {
  /** Accept what real meters send that EN 13757 does not allow: an identification number that is not
   *  BCD (given as its 8 hex digits, lower case, as other receivers print it) and M-field letters
   *  outside A-Z. */
  lenient?: boolean;
}

export function decodeDllHeader(b: Uint8Array, options: DllDecodeOptions = {}): DllHeader {
  if (!(b instanceof Uint8Array) || b.length !== DLL_HEADER_LENGTH) {
    throw new DllError('length', `DLL header is ${DLL_HEADER_LENGTH} bytes (C, M, A), got ${b?.length}`, {
      field: 'header',
      length: b?.length ?? -1,
    });
  }
  return decodeDllHeaderAt(b, 0, !!options.lenient);
}

/** decodeDllHeader of the 9 header bytes at b[o…] (which the caller knows are there). */
export function decodeDllHeaderAt(b: Uint8Array, o: number, lenient: boolean): DllHeader {
  const manufacturer = decodeManufacturer(b[o + 1] | (b[o + 2] << 8), lenient);
  if (!lenient) {
    for (let i = 3; i >= 0; i--) {
      const v = b[o + 3 + i];
      if (v >> 4 > 9 || (v & 15) > 9) {
        throw new DllError('id', `identification number byte ${i} (0x${v.toString(16)}) is not BCD`, { field: 'id', byte: i });
      }
    }
  }
  // One flat string (not a chain of two-character concatenations): most significant byte first.
  const a = b[o + 6];
  const c = b[o + 5];
  const d = b[o + 4];
  const e = b[o + 3];
  const id = String.fromCharCode(hexCode(a >> 4), hexCode(a & 15), hexCode(c >> 4), hexCode(c & 15), hexCode(d >> 4), hexCode(d & 15), hexCode(e >> 4), hexCode(e & 15));
  return { control: b[o], manufacturer, id, version: b[o + 7], deviceType: b[o + 8] };
}

/** The character code of a hex digit (lower case). */
function hexCode(n: number): number {
  return n < 10 ? 48 + n : 87 + n;
}

/** Whether the 9 header bytes at b[o…] pass decodeDllHeader's strict checks (FLAG letters A-Z, a
 *  BCD identification number), without building the header. */
export function dllHeaderStrictOk(b: Uint8Array, o: number): boolean {
  const m = b[o + 1] | (b[o + 2] << 8);
  const x = (m >>> 10) & 31;
  const y = (m >>> 5) & 31;
  const z = m & 31;
  if (x < 1 || x > 26 || y < 1 || y > 26 || z < 1 || z > 26) return false;
  for (let i = 3; i <= 6; i++) if (b[o + i] >> 4 > 9 || (b[o + i] & 15) > 9) return false;
  return true;
}
