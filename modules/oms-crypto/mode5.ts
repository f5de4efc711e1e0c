/**
 * TPL security mode 5 (OMS Vol. 2 §9.4.2, security profile A; EN 13757-7 §7.6): AES-128-CBC with
 * the persistent meter key and IV = M (2 bytes) ‖ A (6 bytes: ID, version, device type) ‖ the
 * access number repeated 8 times. M and A come from the TPL long header when there is one, else
 * from the link layer. Checked against OMS Vol. 2 Annex N.2.1 (test/vectors/oms.json).
 */
import { aesCbcDecrypt, aesCbcEncrypt } from './aes.js';
import { SecurityError } from './errors.js';

export function mode5Iv(manufacturer: Uint8Array, address: Uint8Array, accessNumber: number): Uint8Array {
  if (manufacturer.length !== 2 || address.length !== 6) {
    throw new SecurityError('iv-fields', `mode 5 IV needs M (2 bytes) and A (6 bytes), got ${manufacturer.length} and ${address.length}`);
  }
  const iv = new Uint8Array(16).fill(accessNumber & 0xff);
  iv.set(manufacturer, 0);
  iv.set(address, 2);
  return iv;
}

export function encryptMode5(key: Uint8Array, iv: Uint8Array, padded: Uint8Array): Uint8Array {
  return aesCbcEncrypt(key, iv, padded);
}

export function decryptMode5(key: Uint8Array, iv: Uint8Array, cipher: Uint8Array): Uint8Array {
  return aesCbcDecrypt(key, iv, cipher);
}
