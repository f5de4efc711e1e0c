/**
 * OMS key derivation function KDF-A (OMS Specification Vol. 2, §9.5 "Key derivation", security
 * profile B / TPL security mode 7): an ephemeral key is AES-CMAC(master key, DC ‖ C ‖ ID ‖ 07×7),
 * where DC is the derivation constant, C the AFL message counter (4 bytes, little endian as in the
 * AFL) and ID the meter identification number (4 bytes, as in the A field or the TPL long header:
 * address.ts). The 16-byte input has no CMAC padding because it is exactly one block.
 * Cross-checked against wmbusmeters (src/wmbus.cc, parseTPLConfig: "DC C ID 0x07 × 7") and the
 * OMS Vol. 2 Annex N.2.2 example telegram (see test/oms-annex-n.test.ts).
 * The derived keys are handles of the crypto port; the caller wipes them after their one use.
 */
import type { AesKey, Crypto } from '../ports/crypto.js';
import { SecurityError } from './errors.js';

/** Derivation constants (OMS Vol. 2 Table "Derivation constants"). */
export const DC_ENC_METER = 0x00; // Kenc, meter → communication partner
export const DC_MAC_METER = 0x01; // Kmac, meter → communication partner
export const DC_ENC_PARTNER = 0x10; // Lenc, partner → meter
export const DC_MAC_PARTNER = 0x11; // Lmac, partner → meter

export function kdfInput(dc: number, messageCounter: number, meterId: Uint8Array): Uint8Array {
  if (meterId.length !== 4) throw new SecurityError('id-length', `meter id must be 4 bytes, got ${meterId.length}`);
  const input = new Uint8Array(16);
  writeKdfInput(dc, messageCounter, meterId, 0, input);
  return input;
}

/** kdfInput into `out` (16 bytes; a builder's scratch), the meter id read at meterId[idOffset…+4). */
export function writeKdfInput(dc: number, messageCounter: number, meterId: Uint8Array, idOffset: number, out: Uint8Array): void {
  if (!Number.isInteger(messageCounter) || messageCounter < 0 || messageCounter > 0xffffffff) {
    throw new SecurityError('counter-range', `message counter ${messageCounter} is not a 32-bit unsigned integer`);
  }
  if (meterId.length - idOffset < 4) throw new SecurityError('id-length', `meter id must be 4 bytes, got ${meterId.length - idOffset}`);
  out.fill(0x07);
  out[0] = dc & 0xff;
  out[1] = messageCounter & 0xff;
  out[2] = (messageCounter >>> 8) & 0xff;
  out[3] = (messageCounter >>> 16) & 0xff;
  out[4] = (messageCounter >>> 24) & 0xff;
  for (let i = 0; i < 4; i++) out[5 + i] = meterId[idOffset + i];
}

/**
 * deriveKey with the caller's scratch (`input` and `raw`, 16 bytes each; no allocation but the
 * port's key handle): `raw` is wiped before this returns.
 */
export function deriveKeyWith(crypto: Crypto, masterKey: AesKey, dc: number, messageCounter: number, meterId: Uint8Array, idOffset: number, input: Uint8Array, raw: Uint8Array): AesKey {
  writeKdfInput(dc, messageCounter, meterId, idOffset, input);
  try {
    crypto.aesCmac(masterKey, input, raw);
    return crypto.aesKey(raw);
  } finally {
    raw.fill(0);
  }
}

/** One derived key as a handle; its raw bytes exist only inside this call and are wiped. */
export function deriveKey(crypto: Crypto, masterKey: AesKey, dc: number, messageCounter: number, meterId: Uint8Array): AesKey {
  const raw = new Uint8Array(16);
  crypto.aesCmac(masterKey, kdfInput(dc, messageCounter, meterId), raw);
  try {
    return crypto.aesKey(raw);
  } finally {
    raw.fill(0);
  }
}

/** The two meter-to-gateway session keys for one message counter value (wipe both after use). */
export function deriveMeterKeys(crypto: Crypto, masterKey: AesKey, messageCounter: number, meterId: Uint8Array): { kenc: AesKey; kmac: AesKey } {
  const kenc = deriveKey(crypto, masterKey, DC_ENC_METER, messageCounter, meterId);
  try {
    return { kenc, kmac: deriveKey(crypto, masterKey, DC_MAC_METER, messageCounter, meterId) };
  } catch (e) {
    kenc.wipe();
    throw e;
  }
}
