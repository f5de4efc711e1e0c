/**
 * TPL security mode 7 (OMS Vol. 2 §9.4.4, security profile B; EN 13757-7 §7.6.6): AES-128-CBC with
 * the ephemeral key Kenc (see kdf.ts) and an all-zero IV; freshness comes from the message counter
 * that enters the key derivation, integrity from the AFL MAC (afl.ts).
 */
import { aesCbcDecrypt, aesCbcEncrypt } from './aes.js';

const ZERO_IV = new Uint8Array(16);

export function encryptMode7(kenc: Uint8Array, padded: Uint8Array): Uint8Array {
  return aesCbcEncrypt(kenc, ZERO_IV, padded);
}

export function decryptMode7(kenc: Uint8Array, cipher: Uint8Array): Uint8Array {
  return aesCbcDecrypt(kenc, ZERO_IV, cipher);
}
