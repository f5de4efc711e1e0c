/**
 * Cryptography as a host provides it: the algorithms of the meter's security functions (BSI
 * TR-03116-3: AES-128, AES-CMAC, SHA-256, ECDSA on P-256) on caller buffers, and random bytes.
 * Shaped after Tock's HIL traits: portable code hands in its own buffers and never learns how the
 * work is done. hosts/sim provides it with @noble (ciphers, hashes, curves); hosts/esp32 with the
 * Moddable SDK's native crypto (modules/crypt), which is the only thing that fits the device.
 *
 * Keys are held by handle. A raw key goes in once (`aesKey`, `p256PrivateKey`), is copied, and the
 * caller wipes its own copy; derived keys (OMS Kenc/Kmac, the service wrapping key) are wiped with
 * `wipe()` as soon as their one use is over. A wiped handle refuses every further use.
 *
 * Every method checks its lengths and throws `CryptoError` (a MeterError) on a wrong one: a bad key or
 * a ragged block is a typed error, never a library exception. Input and output buffers may be the same
 * buffer (in-place) but must not otherwise overlap.
 */
import { MeterError } from '../core/errors.js';

/** An AES-128 key inside the crypto provider; opaque to portable code. */
export interface AesKey {
  /** Overwrites the key material; the handle is unusable afterwards. Calling it again does nothing. */
  wipe(): void;
}

/** A P-256 private key inside the crypto provider; opaque to portable code. */
export interface P256PrivateKey {
  wipe(): void;
}

export interface Crypto {
  /** A handle on a copy of 16 raw AES-128 key bytes. */
  aesKey(raw: Uint8Array): AesKey;
  /** AES-128 of one 16-byte block (FIPS 197): `output` = E(key, `input`). */
  aesEncryptBlock(key: AesKey, input: Uint8Array, output: Uint8Array): void;
  /** The inverse: `output` = D(key, `input`). */
  aesDecryptBlock(key: AesKey, input: Uint8Array, output: Uint8Array): void;
  /** AES-128-CBC without padding (NIST SP 800-38A): `input` a multiple of 16 bytes, `output` as long. */
  aesCbcEncrypt(key: AesKey, iv: Uint8Array, input: Uint8Array, output: Uint8Array): void;
  aesCbcDecrypt(key: AesKey, iv: Uint8Array, input: Uint8Array, output: Uint8Array): void;
  /** AES-CMAC (RFC 4493) of `message`: the full 16-byte tag into `tag`. */
  aesCmac(key: AesKey, message: Uint8Array, tag: Uint8Array): void;
  /** SHA-256 (FIPS 180-4) of `message`: 32 bytes into `digest`. */
  sha256(message: Uint8Array, digest: Uint8Array): void;
  /** A handle on a copy of a 32-byte P-256 private scalar (1 ≤ d < n). */
  p256PrivateKey(scalar: Uint8Array): P256PrivateKey;
  /** The key's public point, SEC1 compressed (33 bytes). */
  p256PublicKey(key: P256PrivateKey): Uint8Array;
  /** ECDSA P-256 over a 32-byte digest: 64 bytes r ‖ s (big endian) into `signature`, s normalised to
   *  the low half (s ≤ n/2), so every signature verifies under `p256Verify`. */
  p256Sign(key: P256PrivateKey, digest: Uint8Array, signature: Uint8Array): void;
  /** Whether `signature` (64 bytes r ‖ s, low-S) is a valid ECDSA P-256 signature of the 32-byte
   *  `digest` by `publicKey` (SEC1, 33 or 65 bytes). A malformed key or signature is false, not a throw. */
  p256Verify(publicKey: Uint8Array, digest: Uint8Array, signature: Uint8Array): boolean;
  /** Fills `output` with bytes from a cryptographically strong source. */
  randomBytes(output: Uint8Array): void;
}

/** A crypto call with a wrong length (key, IV, block, digest, signature buffer) or a wiped handle. */
export class CryptoError extends MeterError {}

/** SHA-256 of `message` into a new 32-byte array. */
export function sha256Of(crypto: Crypto, message: Uint8Array): Uint8Array {
  const digest = new Uint8Array(32);
  crypto.sha256(message, digest);
  return digest;
}

/** AES-CMAC of `message` into a new 16-byte array. */
export function cmacOf(crypto: Crypto, key: AesKey, message: Uint8Array): Uint8Array {
  const tag = new Uint8Array(16);
  crypto.aesCmac(key, message, tag);
  return tag;
}
