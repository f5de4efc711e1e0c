/**
 * AES key wrap (RFC 3394, NIST SP 800-38F "KW") of one 128-bit key under a 128-bit key-encryption
 * key, on the crypto port's AES block functions: 24 bytes out, the first 8 the integrity value
 * A6A6A6A6A6A6A6A6 after unwrapping. n = 2 semiblocks, 6 rounds (RFC 3394 §2.2.1 / §2.2.2, index
 * based). Checked against RFC 3394 §4.1 and node:crypto's id-aes128-wrap (test/service.test.ts).
 */
import type { AesKey, Crypto } from '../ports/crypto.js';

const IV = 0xa6;

/** Wraps a 16-byte key: C0 ‖ C1 ‖ C2 (24 bytes). */
export function wrapKey128(crypto: Crypto, kek: AesKey, key: Uint8Array): Uint8Array {
  const out = new Uint8Array(24);
  out.fill(IV, 0, 8);
  out.set(key, 8);
  const b = new Uint8Array(16);
  for (let j = 0; j < 6; j++) {
    for (let i = 1; i <= 2; i++) {
      b.set(out.subarray(0, 8), 0); // A
      b.set(out.subarray(8 * i, 8 * i + 8), 8); // R[i]
      crypto.aesEncryptBlock(kek, b, b);
      out.set(b.subarray(0, 8), 0);
      out[7] ^= 2 * j + i; // t = n·j + i, < 256
      out.set(b.subarray(8, 16), 8 * i);
    }
  }
  b.fill(0);
  return out;
}

/** Unwraps 24 bytes; undefined when the integrity value does not come out (wrong KEK or altered). */
export function unwrapKey128(crypto: Crypto, kek: AesKey, wrapped: Uint8Array): Uint8Array | undefined {
  if (wrapped.length !== 24) return undefined;
  const r = wrapped.slice();
  const b = new Uint8Array(16);
  for (let j = 5; j >= 0; j--) {
    for (let i = 2; i >= 1; i--) {
      b.set(r.subarray(0, 8), 0);
      b[7] ^= 2 * j + i;
      b.set(r.subarray(8 * i, 8 * i + 8), 8);
      crypto.aesDecryptBlock(kek, b, b);
      r.set(b.subarray(0, 8), 0);
      r.set(b.subarray(8, 16), 8 * i);
    }
  }
  b.fill(0);
  let bad = 0;
  for (let i = 0; i < 8; i++) bad |= r[i] ^ IV;
  const key = r.slice(8);
  r.fill(0);
  if (bad !== 0) {
    key.fill(0);
    return undefined;
  }
  return key;
}
