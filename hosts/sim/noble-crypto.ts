/**
 * The crypto port (modules/ports/crypto.ts) on the desktop: @noble/ciphers (AES block, CBC, CMAC),
 * @noble/hashes (SHA-256) and @noble/curves (P-256). Used by the simulator, the CLI, the calibration
 * bench and the tests; the device has its own on the Moddable SDK's native crypto (hosts/esp32).
 *
 * An AES handle keeps its expanded key schedules (encryption, and decryption on first use), so a key
 * used many times (a receiver's master keys) is expanded once; `wipe()` zeroes the raw key and the
 * schedules. The handle's state lives in a WeakMap keyed by the handle, never on the handle object.
 */
import { cbc, cmac, unsafe } from '@noble/ciphers/aes.js';
import { p256 } from '@noble/curves/nist.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { CryptoError, type AesKey, type Crypto, type P256PrivateKey } from '../../modules/ports/crypto.js';

interface AesState {
  raw: Uint8Array;
  enc: Uint32Array;
  dec: Uint32Array | undefined;
}

function length(what: string, b: Uint8Array, n: number): void {
  if (!(b instanceof Uint8Array) || b.length !== n) {
    throw new CryptoError('length', `${what} must be ${n} bytes, got ${b instanceof Uint8Array ? b.length : typeof b}`, { what, expected: n });
  }
}

function blocks(what: string, input: Uint8Array, output: Uint8Array): void {
  if (!(input instanceof Uint8Array) || input.length % 16 !== 0) {
    throw new CryptoError('block-length', `${what} must be a multiple of 16 bytes, got ${input instanceof Uint8Array ? input.length : typeof input}`, { what });
  }
  if (!(output instanceof Uint8Array) || output.length !== input.length) {
    throw new CryptoError('length', `${what}: output must be ${input.length} bytes`, { what });
  }
}

/** Creates a desktop crypto provider. Each provider keeps its own handle table. */
export function createNobleCrypto(): Crypto {
  const aes = new WeakMap<AesKey, AesState>();
  const ecdsa = new WeakMap<P256PrivateKey, Uint8Array>();
  // noble's block functions work on 32-bit words in place: an aligned block of our own.
  const block = new Uint8Array(16);

  function aesState(key: AesKey): AesState {
    const s = aes.get(key);
    if (!s) throw new CryptoError('wiped-key', 'AES key handle is wiped or not of this provider');
    return s;
  }
  function decSchedule(s: AesState): Uint32Array {
    if (!s.dec) s.dec = unsafe.expandKeyDecLE(s.raw);
    return s.dec;
  }
  function scalarOf(key: P256PrivateKey): Uint8Array {
    const d = ecdsa.get(key);
    if (!d) throw new CryptoError('wiped-key', 'P-256 key handle is wiped or not of this provider');
    return d;
  }

  return {
    aesKey(raw) {
      length('AES-128 key', raw, 16);
      const copy = raw.slice();
      const handle: AesKey = {
        wipe() {
          const s = aes.get(handle);
          if (!s) return;
          s.raw.fill(0);
          s.enc.fill(0);
          s.dec?.fill(0);
          aes.delete(handle);
        },
      };
      aes.set(handle, { raw: copy, enc: unsafe.expandKeyLE(copy), dec: undefined });
      return handle;
    },
    aesEncryptBlock(key, input, output) {
      const s = aesState(key);
      length('AES block', input, 16);
      length('AES block output', output, 16);
      block.set(input);
      unsafe.encryptBlock(s.enc, block);
      output.set(block);
      block.fill(0);
    },
    aesDecryptBlock(key, input, output) {
      const s = aesState(key);
      length('AES block', input, 16);
      length('AES block output', output, 16);
      block.set(input);
      unsafe.decryptBlock(decSchedule(s), block);
      output.set(block);
      block.fill(0);
    },
    aesCbcEncrypt(key, iv, input, output) {
      const s = aesState(key);
      length('CBC IV', iv, 16);
      blocks('CBC input', input, output);
      output.set(cbc(s.raw, iv, { disablePadding: true }).encrypt(input));
    },
    aesCbcDecrypt(key, iv, input, output) {
      const s = aesState(key);
      length('CBC IV', iv, 16);
      blocks('CBC input', input, output);
      output.set(cbc(s.raw, iv, { disablePadding: true }).decrypt(input));
    },
    aesCmac(key, message, tag) {
      const s = aesState(key);
      length('CMAC tag', tag, 16);
      if (!(message instanceof Uint8Array)) throw new CryptoError('length', 'CMAC message must be bytes');
      tag.set(cmac(message, s.raw));
    },
    sha256(message, digest) {
      length('SHA-256 digest', digest, 32);
      if (!(message instanceof Uint8Array)) throw new CryptoError('length', 'SHA-256 message must be bytes');
      digest.set(sha256(message));
    },
    p256PrivateKey(scalar) {
      length('P-256 private key', scalar, 32);
      if (!p256.utils.isValidSecretKey(scalar)) throw new CryptoError('bad-key', 'not a P-256 private key (0 < d < n)');
      const handle: P256PrivateKey = {
        wipe() {
          ecdsa.get(handle)?.fill(0);
          ecdsa.delete(handle);
        },
      };
      ecdsa.set(handle, scalar.slice());
      return handle;
    },
    p256PublicKey(key) {
      return p256.getPublicKey(scalarOf(key), true);
    },
    p256Sign(key, digest, signature) {
      const d = scalarOf(key);
      length('ECDSA digest', digest, 32);
      length('ECDSA signature', signature, 64);
      signature.set(p256.sign(digest, d, { prehash: false, lowS: true }));
    },
    p256Verify(publicKey, digest, signature) {
      if (!(digest instanceof Uint8Array) || digest.length !== 32 || !(signature instanceof Uint8Array) || signature.length !== 64) return false;
      try {
        return p256.verify(signature, digest, publicKey, { prehash: false, lowS: true });
      } catch {
        return false;
      }
    },
    randomBytes(output) {
      if (!(output instanceof Uint8Array)) throw new CryptoError('length', 'random output must be bytes');
      output.set(randomBytes(output.length));
    },
  };
}

/** One provider for a whole process (handles are plain objects; nothing in it is shared state
 *  that a caller could observe). */
export const nobleCrypto: Crypto = createNobleCrypto();
