/**
 * The crypto port (modules/ports/crypto.ts) on the desktop: @noble/ciphers (AES block, CBC, CMAC),
 * @noble/hashes (SHA-256) and @noble/curves (P-256). Used by the simulator, the CLI, the calibration
 * bench and the tests; the device has its own on the Moddable SDK's native crypto (hosts/esp32).
 *
 * An AES handle keeps its expanded key schedules (encryption, and decryption on first use) and its
 * CMAC subkeys, so a key used many times (a meter's or a receiver's master key) is expanded once: CBC
 * and CMAC run here on noble's AES round function (`unsafe.encrypt`/`decrypt`, `unsafe.dbl` for the
 * RFC 4493 subkeys) over those schedules, where noble's `cbc()`/`cmac()` would expand the key on
 * every call (the simulator's profile: a fifth of a telegram's cost). `wipe()` zeroes the raw key,
 * the schedules and the subkeys. The handle's state lives in a WeakMap keyed by the handle, never on
 * the handle object. Checked against the RFC 4493 / SP 800-38A vectors and node:crypto
 * (test/crypto-port.test.ts).
 *
 * ECDSA: a key's public key is kept once computed, and the provider remembers the last few
 * signatures it made with a key whose public key it knows. Verifying one of those exact (public key,
 * digest, signature) triples returns true without the two scalar multiplications — what the curve
 * arithmetic would return (ECDSA is correct) — so a simulated meter that checks at boot the
 * record it signed a moment before (every factory set-up) does not pay for it twice. Anything else
 * is verified in full.
 */
import { unsafe } from '@noble/ciphers/aes.js';
import { p256 } from '@noble/curves/nist.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { toHex } from '../../modules/core/bytes.js';
import { CryptoError, type AesKey, type Crypto, type P256PrivateKey } from '../../modules/ports/crypto.js';

interface AesState {
  raw: Uint8Array;
  enc: Uint32Array | undefined;
  dec: Uint32Array | undefined;
  /** CMAC subkeys K1 ‖ K2 (RFC 4493 §2.3), made on first use. */
  subkeys: Uint8Array | undefined;
}

/** noble's round function works on little-endian 32-bit words (it swaps on big-endian hosts). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

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
  const ecdsa = new WeakMap<P256PrivateKey, { d: Uint8Array; pub?: Uint8Array }>();
  /** public key ‖ digest ‖ signature of the last signatures made (hex), newest last. */
  const signed: string[] = [];
  const SIGNED_KEPT = 16;
  // noble's block functions work on 32-bit words in place: an aligned block of our own.
  const block = new Uint8Array(16);
  const block32 = new Uint32Array(block.buffer);
  const last = new Uint8Array(16);
  if (!LITTLE_ENDIAN) throw new CryptoError('host', 'the desktop crypto provider needs a little-endian host');

  /** block := AES(key, block). */
  function encryptInPlace(xk: Uint32Array): void {
    const r = unsafe.encrypt(xk, block32[0], block32[1], block32[2], block32[3]);
    block32[0] = r.s0;
    block32[1] = r.s1;
    block32[2] = r.s2;
    block32[3] = r.s3;
  }
  function decryptInPlace(xk: Uint32Array): void {
    const r = unsafe.decrypt(xk, block32[0], block32[1], block32[2], block32[3]);
    block32[0] = r.s0;
    block32[1] = r.s1;
    block32[2] = r.s2;
    block32[3] = r.s3;
  }

  function aesState(key: AesKey): AesState {
    const s = aes.get(key);
    if (!s) throw new CryptoError('wiped-key', 'AES key handle is wiped or not of this provider');
    return s;
  }
  function encSchedule(s: AesState): Uint32Array {
    return (s.enc ??= unsafe.expandKeyLE(s.raw));
  }
  function decSchedule(s: AesState): Uint32Array {
    return (s.dec ??= unsafe.expandKeyDecLE(s.raw));
  }
  function subkeys(s: AesState): Uint8Array {
    if (!s.subkeys) {
      block.fill(0);
      encryptInPlace(encSchedule(s)); // L = AES(K, 0)
      const k = new Uint8Array(32);
      k.set(unsafe.dbl(block), 0); // K1 = dbl(L)
      k.set(unsafe.dbl(block), 16); // K2 = dbl(K1)
      block.fill(0);
      s.subkeys = k;
    }
    return s.subkeys;
  }
  function scalarEntry(key: P256PrivateKey): { d: Uint8Array; pub?: Uint8Array } {
    const k = ecdsa.get(key);
    if (!k) throw new CryptoError('wiped-key', 'P-256 key handle is wiped or not of this provider');
    return k;
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
          s.enc?.fill(0);
          s.dec?.fill(0);
          s.subkeys?.fill(0);
          aes.delete(handle);
        },
      };
      aes.set(handle, { raw: copy, enc: undefined, dec: undefined, subkeys: undefined });
      return handle;
    },
    aesEncryptBlock(key, input, output) {
      const s = aesState(key);
      length('AES block', input, 16);
      length('AES block output', output, 16);
      block.set(input);
      encryptInPlace(encSchedule(s));
      output.set(block);
      block.fill(0);
    },
    aesDecryptBlock(key, input, output) {
      const s = aesState(key);
      length('AES block', input, 16);
      length('AES block output', output, 16);
      block.set(input);
      decryptInPlace(decSchedule(s));
      output.set(block);
      block.fill(0);
    },
    aesCbcEncrypt(key, iv, input, output) {
      const s = aesState(key);
      length('CBC IV', iv, 16);
      blocks('CBC input', input, output);
      const xk = encSchedule(s);
      block.set(iv);
      for (let o = 0; o < input.length; o += 16) {
        for (let i = 0; i < 16; i++) block[i] ^= input[o + i];
        encryptInPlace(xk);
        output.set(block, o);
      }
      block.fill(0);
    },
    aesCbcDecrypt(key, iv, input, output) {
      const s = aesState(key);
      length('CBC IV', iv, 16);
      blocks('CBC input', input, output);
      const xk = decSchedule(s);
      last.set(iv); // the previous ciphertext block
      for (let o = 0; o < input.length; o += 16) {
        block.set(input.subarray(o, o + 16));
        decryptInPlace(xk);
        for (let i = 0; i < 16; i++) {
          const c = input[o + i]; // read before writing: input and output may be one buffer
          output[o + i] = block[i] ^ last[i];
          last[i] = c;
        }
      }
      block.fill(0);
      last.fill(0);
    },
    aesCmac(key, message, tag) {
      const s = aesState(key);
      length('CMAC tag', tag, 16);
      if (!(message instanceof Uint8Array)) throw new CryptoError('length', 'CMAC message must be bytes');
      // RFC 4493 §2.4: CBC-MAC over all blocks but the last; the last XOR K1 when complete,
      // padded (10*) and XOR K2 otherwise (also for the empty message).
      const xk = encSchedule(s);
      const k = subkeys(s);
      const n = message.length;
      const full = n > 0 && n % 16 === 0;
      const lastStart = n === 0 ? 0 : full ? n - 16 : n - (n % 16);
      block.fill(0);
      for (let o = 0; o < lastStart; o += 16) {
        for (let i = 0; i < 16; i++) block[i] ^= message[o + i];
        encryptInPlace(xk);
      }
      const tail = n - lastStart;
      for (let i = 0; i < 16; i++) {
        const m = i < tail ? message[lastStart + i] : i === tail ? 0x80 : 0;
        block[i] ^= m ^ k[full ? i : 16 + i];
      }
      encryptInPlace(xk);
      tag.set(block);
      block.fill(0);
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
          ecdsa.get(handle)?.d.fill(0);
          ecdsa.delete(handle);
        },
      };
      ecdsa.set(handle, { d: scalar.slice() });
      return handle;
    },
    p256PublicKey(key) {
      const k = scalarEntry(key);
      return (k.pub ??= p256.getPublicKey(k.d, true)).slice();
    },
    p256Sign(key, digest, signature) {
      const k = scalarEntry(key);
      length('ECDSA digest', digest, 32);
      length('ECDSA signature', signature, 64);
      signature.set(p256.sign(digest, k.d, { prehash: false, lowS: true }));
      if (k.pub) {
        signed.push(toHex(k.pub) + toHex(digest) + toHex(signature));
        if (signed.length > SIGNED_KEPT) signed.shift();
      }
    },
    p256Verify(publicKey, digest, signature) {
      if (!(digest instanceof Uint8Array) || digest.length !== 32 || !(signature instanceof Uint8Array) || signature.length !== 64) return false;
      if (publicKey instanceof Uint8Array && signed.includes(toHex(publicKey) + toHex(digest) + toHex(signature))) return true;
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
