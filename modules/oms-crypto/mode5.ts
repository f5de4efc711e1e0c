/**
 * TPL security mode 5 (OMS Vol. 2 §9.4.2, security profile A; EN 13757-7 §7.6): AES-128-CBC with
 * the persistent meter key and IV = M (2 bytes) ‖ A (6 bytes: ID, version, device type) ‖ the
 * access number repeated 8 times, M ‖ A being the security address (address.ts). Checked against
 * OMS Vol. 2 Annex N.2.1 (test/vectors/oms.json).
 */
import type { AesKey, Crypto } from '../ports/crypto.js';
import { SecurityError } from './errors.js';

/** The mode-5 IV from the security address (M ‖ A, 8 bytes) and the access number. */
export function mode5Iv(address: Uint8Array, accessNumber: number): Uint8Array {
  if (address.length !== 8) throw new SecurityError('iv-fields', `mode 5 IV needs M and A (8 bytes), got ${address.length}`);
  const iv = new Uint8Array(16).fill(accessNumber & 0xff);
  iv.set(address, 0);
  return iv;
}

export function encryptMode5(crypto: Crypto, key: AesKey, iv: Uint8Array, padded: Uint8Array): Uint8Array {
  const out = new Uint8Array(padded.length);
  crypto.aesCbcEncrypt(key, iv, padded, out);
  return out;
}

export function decryptMode5(crypto: Crypto, key: AesKey, iv: Uint8Array, cipher: Uint8Array): Uint8Array {
  const out = new Uint8Array(cipher.length);
  crypto.aesCbcDecrypt(key, iv, cipher, out);
  return out;
}
