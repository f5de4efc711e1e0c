/**
 * TPL security mode 7 (OMS Vol. 2 §9.4.4, security profile B; EN 13757-7 §7.6.6): AES-128-CBC with
 * the ephemeral key Kenc (see kdf.ts) and an all-zero IV; freshness comes from the message counter
 * that enters the key derivation, integrity from the AFL MAC (afl.ts).
 */
import type { AesKey, Crypto } from '../ports/crypto.js';

export function encryptMode7(crypto: Crypto, kenc: AesKey, padded: Uint8Array): Uint8Array {
  const out = new Uint8Array(padded.length);
  crypto.aesCbcEncrypt(kenc, new Uint8Array(16), padded, out);
  return out;
}

export function decryptMode7(crypto: Crypto, kenc: AesKey, cipher: Uint8Array): Uint8Array {
  const out = new Uint8Array(cipher.length);
  crypto.aesCbcDecrypt(kenc, new Uint8Array(16), cipher, out);
  return out;
}
