/**
 * OMS key derivation function KDF-A (OMS Specification Vol. 2, §9.5 "Key derivation", security
 * profile B / TPL security mode 7): an ephemeral key is AES-CMAC(master key, DC ‖ C ‖ ID ‖ 07×7),
 * where DC is the derivation constant, C the AFL message counter (4 bytes, little endian as in the
 * AFL) and ID the meter identification number (4 bytes, as in the A field or the TPL long header).
 * The 16-byte input has no CMAC padding because it is exactly one block.
 * Cross-checked against wmbusmeters (src/wmbus.cc, parseTPLConfig: "DC C ID 0x07 × 7") and the
 * OMS Vol. 2 Annex N.2.2 example telegram (see test/oms-mode7.test.ts).
 */
import { aesCmac } from './aes.js';
import { SecurityError } from './errors.js';

/** Derivation constants (OMS Vol. 2 Table "Derivation constants"). */
export const DC_ENC_METER = 0x00; // Kenc, meter → communication partner
export const DC_MAC_METER = 0x01; // Kmac, meter → communication partner
export const DC_ENC_PARTNER = 0x10; // Lenc, partner → meter
export const DC_MAC_PARTNER = 0x11; // Lmac, partner → meter

export function kdfInput(dc: number, messageCounter: number, meterId: Uint8Array): Uint8Array {
  if (!Number.isInteger(messageCounter) || messageCounter < 0 || messageCounter > 0xffffffff) {
    throw new SecurityError('counter-range', `message counter ${messageCounter} is not a 32-bit unsigned integer`);
  }
  if (meterId.length !== 4) throw new SecurityError('id-length', `meter id must be 4 bytes, got ${meterId.length}`);
  const input = new Uint8Array(16).fill(0x07);
  input[0] = dc & 0xff;
  input[1] = messageCounter & 0xff;
  input[2] = (messageCounter >>> 8) & 0xff;
  input[3] = (messageCounter >>> 16) & 0xff;
  input[4] = (messageCounter >>> 24) & 0xff;
  input.set(meterId, 5);
  return input;
}

export function deriveKey(masterKey: Uint8Array, dc: number, messageCounter: number, meterId: Uint8Array): Uint8Array {
  return aesCmac(masterKey, kdfInput(dc, messageCounter, meterId));
}

/** The two meter-to-gateway session keys for one message counter value. */
export function deriveMeterKeys(
  masterKey: Uint8Array,
  messageCounter: number,
  meterId: Uint8Array,
): { kenc: Uint8Array; kmac: Uint8Array } {
  return {
    kenc: deriveKey(masterKey, DC_ENC_METER, messageCounter, meterId),
    kmac: deriveKey(masterKey, DC_MAC_METER, messageCounter, meterId),
  };
}
