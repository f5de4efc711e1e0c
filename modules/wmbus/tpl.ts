/**
 * Transport layer header (EN 13757-7 §7.4 / OMS Vol. 2 §7.2.x): CI 0x7A (short: access number,
 * status, configuration field) or CI 0x72 (long: ID, M, version, device type before those), and
 * the configuration field: B (bit 15), A (14), S (13), security mode M (12-8), number of
 * encrypted blocks N (7-4), bits 3-0 (content / hop bits, carried as they are). Mode 7 adds the
 * configuration field extension: KDF selection (bits 5-4; 1 = KDF-A of OMS Vol. 2 §9.5) and the
 * key id (bits 3-0) — as parsed by wmbusmeters (src/wmbus.cc parseTPLConfig).
 */
import { decodeDllHeader, encodeDllHeader, type DllDecodeOptions, type DllHeader } from './dll.js';
import { TelegramError } from './telegram-error.js';

export const CI_TPL_SHORT = 0x7a;
export const CI_TPL_LONG = 0x72;
/** EN 13757-7:2018 Table 2: a TPL header with no application data after it (e.g. an ACC-NR). */
export const CI_TPL_SHORT_NO_DATA = 0x8a;
export const CI_TPL_LONG_NO_DATA = 0x8b;

export type SecurityMode = 0 | 5 | 7;

export interface TplConfig {
  mode: SecurityMode;
  /** N: AES blocks that are encrypted (0 in mode 0). */
  encryptedBlocks: number;
  bidirectional: boolean;
  accessibility: boolean;
  synchronous: boolean;
  /** Bits 3-0 of the configuration field, as transmitted (0 for this meter). */
  lowBits: number;
  /** Mode 7 only: KDF selection (1 = KDF-A) and key id from the configuration field extension. */
  kdfSelection?: number;
  keyId?: number;
}

/** The meter address a long TPL header carries (the A-field parts and M of EN 13757-4). */
export type TplAddress = Omit<DllHeader, 'control'>;

export interface TplHeader {
  /** Present for a long header (CI 0x72). */
  address?: TplAddress;
  accessNumber: number;
  status: number;
  config: TplConfig;
}

/** `v` if it is a byte, else a typed error naming the TPL field. */
export function tplByte(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 255) throw new TelegramError('tpl', `${name} ${v} is not a byte`, { [name]: v });
  return v;
}

export function encodeConfigField(c: TplConfig): Uint8Array {
  const cf = configFieldBits(c.mode, c.encryptedBlocks, c.bidirectional, c.accessibility, c.synchronous, c.lowBits);
  if (c.mode !== 7) return new Uint8Array([cf & 0xff, cf >> 8]);
  const kdf = c.kdfSelection ?? KDF_A;
  const keyId = c.keyId ?? 0;
  if (kdf < 0 || kdf > 3 || keyId < 0 || keyId > 15) throw new TelegramError('tpl', 'configuration field extension out of range');
  return new Uint8Array([cf & 0xff, cf >> 8, (kdf << 4) | keyId]);
}

/** KDF selection 1 of the configuration field extension: KDF-A (OMS Vol. 2 §9.5). */
export const KDF_A = 1;

/** The 16-bit configuration field, checked (a builder writes it without a TplConfig object). */
export function configFieldBits(mode: SecurityMode, encryptedBlocks: number, bidirectional: boolean, accessibility: boolean, synchronous: boolean, lowBits: number): number {
  if (mode !== 0 && mode !== 5 && mode !== 7) {
    throw new TelegramError('unsupported-security-mode', `security mode ${String(mode)} is not supported`, { mode: String(mode) });
  }
  if (!Number.isInteger(encryptedBlocks) || encryptedBlocks < 0 || encryptedBlocks > 15) {
    throw new TelegramError('tpl', `N = ${encryptedBlocks} encrypted blocks does not fit 4 bits`);
  }
  if (mode === 0 && encryptedBlocks !== 0) throw new TelegramError('tpl', 'mode 0 has no encrypted blocks');
  if (!Number.isInteger(lowBits) || lowBits < 0 || lowBits > 15) throw new TelegramError('tpl', 'config bits 3-0 out of range');
  return (bidirectional ? 0x8000 : 0) | (accessibility ? 0x4000 : 0) | (synchronous ? 0x2000 : 0) | (mode << 8) | (encryptedBlocks << 4) | lowBits;
}

/** The 8 address bytes of a long header: ID (4, BCD LE) ‖ M (2) ‖ version ‖ device type. */
export function encodeTplAddress(a: TplAddress): Uint8Array {
  const dll = encodeDllHeader({ control: 0, ...a }); // C, M(2), ID(4), version, type
  const out = new Uint8Array(8);
  out.set(dll.subarray(3, 7), 0);
  out.set(dll.subarray(1, 3), 4);
  out.set(dll.subarray(7, 9), 6);
  return out;
}

export function decodeTplAddress(b: Uint8Array, options: DllDecodeOptions = {}): TplAddress {
  const dll = new Uint8Array(9);
  dll.set(b.subarray(4, 6), 1);
  dll.set(b.subarray(0, 4), 3);
  dll.set(b.subarray(6, 8), 7);
  const h = decodeDllHeader(dll, options);
  return { manufacturer: h.manufacturer, id: h.id, version: h.version, deviceType: h.deviceType };
}

export function encodeTplHeader(h: TplHeader): Uint8Array {
  const cf = encodeConfigField(h.config);
  const addr = h.address ? encodeTplAddress(h.address) : new Uint8Array(0);
  const out = new Uint8Array(1 + addr.length + 2 + cf.length);
  out[0] = h.address ? CI_TPL_LONG : CI_TPL_SHORT;
  out.set(addr, 1);
  out[1 + addr.length] = tplByte('accessNumber', h.accessNumber);
  out[2 + addr.length] = tplByte('status', h.status);
  out.set(cf, 3 + addr.length);
  return out;
}

function tplTruncated(p: number): TelegramError {
  return new TelegramError('truncated', `TPL header truncated at offset ${p}`, { offset: p });
}

/**
 * Parses a TPL header at `offset` (CI 0x7A or 0x72; lenient also 0x8A / 0x8B, the same headers with
 * no application data after them); returns it and the offset of the payload.
 */
export function decodeTplHeader(body: Uint8Array, offset: number, options: DllDecodeOptions = {}): { header: TplHeader; next: number } {
  const ci = body[offset];
  const noData = !!options.lenient && (ci === CI_TPL_SHORT_NO_DATA || ci === CI_TPL_LONG_NO_DATA);
  if (ci !== CI_TPL_SHORT && ci !== CI_TPL_LONG && !noData) {
    throw new TelegramError('unsupported-ci', `CI 0x${(ci ?? 0).toString(16)} is not a TPL header this receiver reads (0x7A, 0x72)`, {
      ci: ci ?? -1,
      offset,
    });
  }
  let p = offset + 1;
  let address: TplAddress | undefined;
  if (ci === CI_TPL_LONG || ci === CI_TPL_LONG_NO_DATA) {
    if (p + 8 > body.length) throw tplTruncated(p);
    address = decodeTplAddress(body.subarray(p, p + 8), options);
    p += 8;
  }
  if (p + 4 > body.length) throw tplTruncated(p);
  const accessNumber = body[p];
  const status = body[p + 1];
  const cf = body[p + 2] | (body[p + 3] << 8);
  p += 4;
  const mode = (cf >> 8) & 0x1f;
  if (mode !== 0 && mode !== 5 && mode !== 7) {
    throw new TelegramError('unsupported-security-mode', `TPL security mode ${mode} is not supported (0, 5, 7)`, { mode });
  }
  let config: TplConfig;
  if (mode === 7) {
    if (p + 1 > body.length) throw tplTruncated(p);
    const ext = body[p++];
    // One literal with the mode-7 fields (in the order they were added before): properties added
    // to a V8 literal get a backing store of their own, an allocation per telegram.
    config = {
      mode,
      encryptedBlocks: (cf >> 4) & 0x0f,
      bidirectional: !!(cf & 0x8000),
      accessibility: !!(cf & 0x4000),
      synchronous: !!(cf & 0x2000),
      lowBits: cf & 0x0f,
      kdfSelection: (ext >> 4) & 0x03,
      keyId: ext & 0x0f,
    };
  } else {
    config = {
      mode,
      encryptedBlocks: (cf >> 4) & 0x0f,
      bidirectional: !!(cf & 0x8000),
      accessibility: !!(cf & 0x4000),
      synchronous: !!(cf & 0x2000),
      lowBits: cf & 0x0f,
    };
  }
  const header: TplHeader = { accessNumber, status, config };
  if (address) header.address = address;
  return { header, next: p };
}
