/**
 * The crypto port (modules/ports/crypto.ts) on the desktop: @noble/ciphers (AES block, CBC, CMAC),
 * @noble/hashes (SHA-256) and @noble/curves (P-256). Used by the simulator, the CLI, the calibration
 * bench and the tests; the device has its own on the Moddable SDK's native crypto (hosts/esp32).
 *
 * An AES handle keeps its expanded key schedules (encryption and decryption, each expanded on first
 * use) and its CMAC subkeys, so a key used many times (a receiver's master keys) is expanded once
 * and a key used once (a derived Kenc / Kmac) only in the direction it is used; `wipe()` zeroes the
 * raw key, the schedules and the subkeys. CBC and CMAC run block by block on the schedules (noble's
 * one-block round functions), with no per-call key expansion or allocation. The handle's state
 * lives in a private field of the handle (no caller can reach it), not in a WeakMap: every
 * telegram derives two keys, and a WeakMap entry per key cost more than their expansion.
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

/** A key's words in one typed array (each small typed array costs V8 ~180 bytes beyond its data, and
 *  a gateway keeps a handle per meter): the raw key, the CMAC subkeys K1 ‖ K2 (RFC 4493 §2.3, eight
 *  little-endian words) and the encryption schedule (noble's round functions take a view of it). */
const RAW = 0;
const SUBKEYS = 4;
const ENC = 12;
const WORDS = ENC + 44;

interface AesState {
  words: Uint32Array;
  /** `words`' schedule part once expanded. */
  enc: Uint32Array | undefined;
  dec: Uint32Array | undefined;
  subkeys: boolean;
}

/** The 32-bit little-endian word at b[o] (any alignment): noble's round functions take these. */
function word(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

function putWord(b: Uint8Array, o: number, w: number): void {
  b[o] = w & 0xff;
  b[o + 1] = (w >>> 8) & 0xff;
  b[o + 2] = (w >>> 16) & 0xff;
  b[o + 3] = w >>> 24;
}

/** RFC 4493 doubling in GF(2^128) of a block held as four LE words (bytes in order b0 … b15);
 *  `bytes` is 16 bytes of scratch (zeroed after). */
function double(w: Uint32Array, from: number, to: number, bytes: Uint8Array): void {
  // Byte i of the block is (w[i >> 2] >>> (8 * (i & 3))) & 0xff; shift the 128-bit big-endian string left by one.
  for (let i = 0; i < 16; i++) bytes[i] = (w[from + (i >> 2)] >>> (8 * (i & 3))) & 0xff;
  const carry = bytes[0] & 0x80;
  for (let i = 0; i < 15; i++) bytes[i] = ((bytes[i] << 1) | (bytes[i + 1] >>> 7)) & 0xff;
  bytes[15] = ((bytes[15] << 1) & 0xff) ^ (carry ? 0x87 : 0);
  for (let i = 0; i < 4; i++) w[to + i] = word(bytes, 4 * i);
  bytes.fill(0);
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
  /** An AES key handle of this provider (a class per provider: another's handles are refused). */
  class AesHandle implements AesKey {
    #state: AesState | undefined;
    constructor(raw: Uint8Array) {
      const words = new Uint32Array(WORDS);
      new Uint8Array(words.buffer, RAW * 4, 16).set(raw);
      this.#state = { words, enc: undefined, dec: undefined, subkeys: false };
    }
    static state(key: AesKey): AesState | undefined {
      return #state in key ? (key as AesHandle).#state : undefined;
    }
    wipe(): void {
      const s = this.#state;
      if (!s) return;
      s.words.fill(0);
      s.dec?.fill(0);
      this.#state = undefined;
    }
  }
  const ecdsa = new WeakMap<P256PrivateKey, { d: Uint8Array; pub?: Uint8Array }>();
  /** public key ‖ digest ‖ signature of the last signatures made (hex), newest last. */
  const signed: string[] = [];
  const SIGNED_KEPT = 16;
  // noble's block functions work on 32-bit words in place: an aligned block of our own.
  const block = new Uint8Array(16);
  /** Multiplications of the base point so far (public keys, signatures): a fleet's set-up makes
   *  three per meter, and after WIDE_AFTER of them noble's table of the base point is widened from
   *  its default 6-bit windows to 8 (~25 ms and ~1.5 MB once per thread, ~25 % less per
   *  multiplication: the same points, so the same keys and signatures). */
  let baseMultiplications = 0;
  const WIDE_AFTER = 256;
  const WIDE_WINDOW = 8;
  function countBaseMultiplication(): void {
    if (++baseMultiplications === WIDE_AFTER) p256.Point.BASE.precompute(WIDE_WINDOW);
  }

  function aesState(key: AesKey): AesState {
    const s = typeof key === 'object' && key !== null ? AesHandle.state(key) : undefined;
    if (!s) throw new CryptoError('wiped-key', 'AES key handle is wiped or not of this provider');
    return s;
  }
  /** The raw key as bytes (a view of the state's words). */
  function rawKey(s: AesState): Uint8Array {
    return new Uint8Array(s.words.buffer, s.words.byteOffset + RAW * 4, 16);
  }
  function encSchedule(s: AesState): Uint32Array {
    if (!s.enc) {
      const xk = unsafe.expandKeyLE(rawKey(s));
      s.words.set(xk, ENC);
      xk.fill(0);
      s.enc = s.words.subarray(ENC, WORDS);
    }
    return s.enc;
  }
  function decSchedule(s: AesState): Uint32Array {
    if (!s.dec) s.dec = unsafe.expandKeyDecLE(rawKey(s));
    return s.dec;
  }
  /** The state's words, K1 at SUBKEYS and K2 after it. */
  function cmacSubkeys(s: AesState): Uint32Array {
    const k = s.words;
    if (!s.subkeys) {
      const l = unsafe.encrypt(encSchedule(s), 0, 0, 0, 0);
      k[SUBKEYS] = l.s0;
      k[SUBKEYS + 1] = l.s1;
      k[SUBKEYS + 2] = l.s2;
      k[SUBKEYS + 3] = l.s3;
      double(k, SUBKEYS, SUBKEYS, block);
      double(k, SUBKEYS, SUBKEYS + 4, block);
      s.subkeys = true;
    }
    return k;
  }
  function scalarEntry(key: P256PrivateKey): { d: Uint8Array; pub?: Uint8Array } {
    const k = ecdsa.get(key);
    if (!k) throw new CryptoError('wiped-key', 'P-256 key handle is wiped or not of this provider');
    return k;
  }

  return {
    aesKey(raw) {
      length('AES-128 key', raw, 16);
      return new AesHandle(raw);
    },
    aesEncryptBlock(key, input, output) {
      const s = aesState(key);
      length('AES block', input, 16);
      length('AES block output', output, 16);
      block.set(input);
      unsafe.encryptBlock(encSchedule(s), block);
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
      const xk = encSchedule(s);
      let c0 = word(iv, 0);
      let c1 = word(iv, 4);
      let c2 = word(iv, 8);
      let c3 = word(iv, 12);
      for (let o = 0; o < input.length; o += 16) {
        const r = unsafe.encrypt(xk, word(input, o) ^ c0, word(input, o + 4) ^ c1, word(input, o + 8) ^ c2, word(input, o + 12) ^ c3);
        c0 = r.s0;
        c1 = r.s1;
        c2 = r.s2;
        c3 = r.s3;
        putWord(output, o, c0);
        putWord(output, o + 4, c1);
        putWord(output, o + 8, c2);
        putWord(output, o + 12, c3);
      }
    },
    aesCbcDecrypt(key, iv, input, output) {
      const s = aesState(key);
      length('CBC IV', iv, 16);
      blocks('CBC input', input, output);
      const xk = decSchedule(s);
      let p0 = word(iv, 0);
      let p1 = word(iv, 4);
      let p2 = word(iv, 8);
      let p3 = word(iv, 12);
      for (let o = 0; o < input.length; o += 16) {
        // Read the ciphertext block before writing: input and output may be the same buffer.
        const x0 = word(input, o);
        const x1 = word(input, o + 4);
        const x2 = word(input, o + 8);
        const x3 = word(input, o + 12);
        const r = unsafe.decrypt(xk, x0, x1, x2, x3);
        putWord(output, o, r.s0 ^ p0);
        putWord(output, o + 4, r.s1 ^ p1);
        putWord(output, o + 8, r.s2 ^ p2);
        putWord(output, o + 12, r.s3 ^ p3);
        p0 = x0;
        p1 = x1;
        p2 = x2;
        p3 = x3;
      }
    },
    aesCmac(key, message, tag) {
      const s = aesState(key);
      length('CMAC tag', tag, 16);
      if (!(message instanceof Uint8Array)) throw new CryptoError('length', 'CMAC message must be bytes');
      // RFC 4493 §2.4: CBC-MAC over the blocks, the last one XORed with K1 (complete) or padded
      // with 10…0 and XORed with K2.
      const xk = encSchedule(s);
      const k = cmacSubkeys(s);
      const n = Math.max(1, Math.ceil(message.length / 16));
      const complete = message.length > 0 && message.length % 16 === 0;
      let x0 = 0;
      let x1 = 0;
      let x2 = 0;
      let x3 = 0;
      for (let b = 0; b < n - 1; b++) {
        const o = 16 * b;
        const r = unsafe.encrypt(xk, x0 ^ word(message, o), x1 ^ word(message, o + 4), x2 ^ word(message, o + 8), x3 ^ word(message, o + 12));
        x0 = r.s0;
        x1 = r.s1;
        x2 = r.s2;
        x3 = r.s3;
      }
      block.fill(0);
      // The last (possibly partial) block, copied without a subarray per call.
      const from = 16 * (n - 1);
      const tail = message.length - from;
      for (let i = 0; i < tail; i++) block[i] = message[from + i];
      if (!complete) block[tail] = 0x80;
      const sk = complete ? SUBKEYS : SUBKEYS + 4;
      const r = unsafe.encrypt(xk, x0 ^ word(block, 0) ^ k[sk], x1 ^ word(block, 4) ^ k[sk + 1], x2 ^ word(block, 8) ^ k[sk + 2], x3 ^ word(block, 12) ^ k[sk + 3]);
      block.fill(0);
      putWord(tag, 0, r.s0);
      putWord(tag, 4, r.s1);
      putWord(tag, 8, r.s2);
      putWord(tag, 12, r.s3);
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
      if (!k.pub) countBaseMultiplication();
      return (k.pub ??= p256.getPublicKey(k.d, true)).slice();
    },
    p256Sign(key, digest, signature) {
      const k = scalarEntry(key);
      length('ECDSA digest', digest, 32);
      length('ECDSA signature', signature, 64);
      countBaseMultiplication();
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
