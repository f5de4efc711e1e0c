/**
 * AES-128 primitives the OMS security modes need, wrapped around @noble/ciphers:
 * AES-128-CBC without padding (EN 13757-7 / OMS Vol. 2 §9: the payload is padded with 0x2F by the
 * caller) and AES-CMAC (RFC 4493; OMS Vol. 2 uses it for the key derivation and the AFL MAC).
 * Lengths are checked here so a bad key or a ragged block is a typed error, not a library throw.
 */
import { cbc, cmac } from '@noble/ciphers/aes.js';
import { SecurityError } from './errors.js';

function checkKey(key: Uint8Array, what: string): void {
  if (!(key instanceof Uint8Array) || key.length !== 16) {
    throw new SecurityError('key-length', `${what} must be 16 bytes (AES-128), got ${key?.length ?? 'none'}`, {
      length: key?.length ?? -1,
    });
  }
}

function checkBlocks(data: Uint8Array, iv: Uint8Array): void {
  if (iv.length !== 16) throw new SecurityError('iv-length', `IV must be 16 bytes, got ${iv.length}`, { length: iv.length });
  if (data.length % 16 !== 0) {
    throw new SecurityError('block-length', `AES-CBC data must be a multiple of 16 bytes, got ${data.length}`, {
      length: data.length,
    });
  }
}

export function aesCbcEncrypt(key: Uint8Array, iv: Uint8Array, plain: Uint8Array): Uint8Array {
  checkKey(key, 'AES key');
  checkBlocks(plain, iv);
  return cbc(key, iv, { disablePadding: true }).encrypt(plain);
}

export function aesCbcDecrypt(key: Uint8Array, iv: Uint8Array, cipher: Uint8Array): Uint8Array {
  checkKey(key, 'AES key');
  checkBlocks(cipher, iv);
  return cbc(key, iv, { disablePadding: true }).decrypt(cipher);
}

/** AES-CMAC (RFC 4493): the full 16-byte tag. Note noble's argument order is (msg, key). */
export function aesCmac(key: Uint8Array, message: Uint8Array): Uint8Array {
  checkKey(key, 'CMAC key');
  return cmac(message, key);
}
