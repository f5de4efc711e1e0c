/**
 * The crypto port (modules/ports/crypto.ts) on the desktop: @noble/ciphers (AES block, CBC, CMAC),
 * @noble/hashes (SHA-256) and @noble/curves (P-256). Used by the simulator, the CLI, the calibration
 * bench and the tests; the device has its own on the Moddable SDK's native crypto (hosts/esp32).
 *
 * An AES handle keeps its expanded key schedules (encryption and decryption, each expanded on first
 * use, into arrays of its own with noble's S-box: see SBOX), so a key used many times (a receiver's
 * master keys) is expanded once and a key used once (a derived Kenc / Kmac) only in the direction it
 * is used; `wipe()` zeroes the key and the schedules, and the zeroed arrays serve the provider's next
 * handle (no per-key allocation beyond the handle). CBC and CMAC run block by block on the schedules
 * (noble's one-block round functions), with no per-call key expansion or allocation; CMAC's subkeys
 * are kept too, in fields of its state (a meter MACs with its key every telegram). The handle's
 * state lives in a private field of the handle (no caller can reach it), not in a WeakMap: every
 * telegram derives two keys, and a WeakMap entry per key cost more than their expansion.
 *
 * ECDSA: noble's P-256 and ECDSA built anew over a field with cheaper additions (fastP256: the same
 * keys and signatures). A key's public key is kept once computed, and the provider remembers the
 * last few signatures it made with a key whose public key it knows (recent-signatures.ts): a
 * simulated meter's check at boot of the record it signed a moment before is not paid twice.
 * (A fleet's meters sign on OpenSSL instead: openssl-p256.ts.)
 */
import { unsafe } from '@noble/ciphers/aes.js';
import { Field, invert } from '@noble/curves/abstract/modular.js';
import { ecdsa, weierstrass } from '@noble/curves/abstract/weierstrass.js';
import { p256 as nobleP256 } from '@noble/curves/nist.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { CryptoError, type AesKey, type Crypto, type P256PrivateKey } from '../../modules/ports/crypto.js';
import { RecentSignatures } from './recent-signatures.js';

/** A key's words: its encryption schedule (noble's round functions take the whole array, and count
 *  its rounds by its length), whose first four words are the raw key itself, so the key is kept
 *  there until it is expanded in place (one typed array: each costs V8 ~180 bytes beyond its data,
 *  and a fleet keeps a handle per meter). */
const RAW = 0;
const WORDS = 44;
/** The decryption schedule: an array of its own, made on the key's first decryption. */
const DEC_WORDS = 44;

/** What of a handle's key is there: the key itself (clear once wiped), and what is computed from it. */
const LIVE = 1;
const ENC_READY = 2;
const DEC_READY = 4;
const SUBKEYS_READY = 8;

interface AesState {
  /** The encryption schedule (valid while ENC_READY), its first 4 words the raw key (while LIVE). */
  words: Uint32Array;
  /** Made on first use and kept with the state (valid while DEC_READY). */
  dec: Uint32Array | undefined;
  /** LIVE | ENC_READY | DEC_READY | SUBKEYS_READY bits. */
  ready: number;
  /** CMAC's subkeys K1 ‖ K2 (RFC 4493 §2.3) as eight little-endian words (int32), valid while
   *  SUBKEYS_READY: fields, not an array of their own (~180 bytes beyond the data in V8). */
  k0: number;
  k1: number;
  k2: number;
  k3: number;
  k4: number;
  k5: number;
  k6: number;
  k7: number;
}

/**
 * noble's S-box, read out of its own round function: with a schedule of two round keys (all zero)
 * noble's encrypt() runs no full round, only the last (SubBytes, ShiftRows, AddRoundKey), so four
 * equal byte lanes in give S(b) in each lane out. The key schedules below are expanded with it into
 * each handle's own words (FIPS 197 §5.2 and the equivalent inverse cipher's §5.3.5, in noble's
 * little-endian word layout, checked against noble's expandKeyLE / expandKeyDecLE in
 * test/crypto-port.test.ts): noble's expansion allocates a new schedule per key (two for
 * decryption), and every telegram expands four keys on each side.
 */
const SBOX: Uint8Array = (() => {
  const box = new Uint8Array(256);
  const zero = new Uint32Array(8);
  for (let b = 0; b < 256; b++) {
    const lanes = (b * 0x01010101) >>> 0;
    box[b] = unsafe.encrypt(zero, lanes, lanes, lanes, lanes).s0 & 0xff;
  }
  // FIPS 197 Figure 7: S(00) = 63, S(53) = ed.
  if (box[0] !== 0x63 || box[0x53] !== 0xed) throw new Error('noble AES: unexpected S-box');
  return box;
})();
/** FIPS 197 §5.2 Rcon: x^(i-1) in GF(2^8), the low byte of a little-endian word. */
const RCON = Uint8Array.of(0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x1b, 0x36);

/** SubWord of a little-endian word. */
function subWord(t: number): number {
  return (SBOX[t & 0xff] | (SBOX[(t >>> 8) & 0xff] << 8) | (SBOX[(t >>> 16) & 0xff] << 16) | (SBOX[t >>> 24] << 24)) >>> 0;
}

/** The AES-128 encryption schedule (44 words) of the raw key in w[RAW…RAW+4) into xk[0…44). */
function expandKey(w: Uint32Array, xk: Uint32Array): void {
  let k0 = w[RAW];
  let k1 = w[RAW + 1];
  let k2 = w[RAW + 2];
  let k3 = w[RAW + 3];
  xk[0] = k0;
  xk[1] = k1;
  xk[2] = k2;
  xk[3] = k3;
  for (let r = 0, o = 4; r < 10; r++, o += 4) {
    // RotWord is a right rotation by 8 of a little-endian word.
    k0 ^= subWord((k3 >>> 8) | (k3 << 24)) ^ RCON[r];
    k1 ^= k0;
    k2 ^= k1;
    k3 ^= k2;
    xk[o] = k0;
    xk[o + 1] = k1;
    xk[o + 2] = k2;
    xk[o + 3] = k3;
  }
}

/** Each byte of a little-endian word times x in GF(2^8). */
function xtime(w: number): number {
  return (((w & 0x7f7f7f7f) << 1) ^ (((w >>> 7) & 0x01010101) * 0x1b)) >>> 0;
}

/** InvMixColumns of one column (a little-endian word): byte i = 14·a(i) ⊕ 11·a(i+1) ⊕ 13·a(i+2) ⊕ 9·a(i+3). */
function invMixColumn(w: number): number {
  const w2 = xtime(w);
  const w4 = xtime(w2);
  const w8 = xtime(w4);
  const w9 = w8 ^ w;
  const w11 = w9 ^ w2;
  const w13 = w9 ^ w4;
  const w14 = w8 ^ w4 ^ w2;
  return (w14 ^ ((w11 >>> 8) | (w11 << 24)) ^ ((w13 >>> 16) | (w13 << 16)) ^ ((w9 >>> 24) | (w9 << 8))) >>> 0;
}

/** The decryption schedule noble's decrypt() takes (its expandKeyDecLE): the encryption round keys in
 *  reverse order, InvMixColumns applied to all but the first and the last. */
function expandDecKey(enc: Uint32Array, dec: Uint32Array): void {
  for (let i = 0; i < 44; i += 4) {
    const from = 40 - i;
    for (let j = 0; j < 4; j++) dec[i + j] = i === 0 || i === 40 ? enc[from + j] : invMixColumn(enc[from + j]);
  }
}

/** The 32-bit little-endian word at b[o] (any alignment): noble's round functions take these. */
function word(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

/** The word at b[o] of a CMAC's last block, the message ending at `end`: its bytes, then the 10…0
 *  padding of RFC 4493 §2.4 from `end` on (a complete block is all message). */
function lastWord(b: Uint8Array, o: number, end: number): number {
  if (o + 4 <= end) return word(b, o);
  let w = 0;
  for (let i = 0; i < 4; i++) {
    const at = o + i;
    w |= (at < end ? b[at] : at === end ? 0x80 : 0) << (8 * i);
  }
  return w >>> 0;
}

function putWord(b: Uint8Array, o: number, w: number): void {
  b[o] = w & 0xff;
  b[o + 1] = (w >>> 8) & 0xff;
  b[o + 2] = (w >>> 16) & 0xff;
  b[o + 3] = w >>> 24;
}

/** The byte-reversed word. */
function bswap(w: number): number {
  return ((w >>> 24) | ((w >>> 8) & 0xff00) | ((w << 8) & 0xff0000) | (w << 24)) >>> 0;
}

/** RFC 4493 doubling in GF(2^128) of a block held as four LE words (bytes in order b0 … b15), from
 *  w[from…] into w[to…]: the 128-bit big-endian string shifted left by one, 0x87 folded in when the
 *  top bit falls out (without a branch: the subkeys are secret). */
function double(w: Uint32Array, from: number, to: number): void {
  const b0 = bswap(w[from]);
  const b1 = bswap(w[from + 1]);
  const b2 = bswap(w[from + 2]);
  const b3 = bswap(w[from + 3]);
  w[to] = bswap((b0 << 1) | (b1 >>> 31));
  w[to + 1] = bswap((b1 << 1) | (b2 >>> 31));
  w[to + 2] = bswap((b2 << 1) | (b3 >>> 31));
  w[to + 3] = bswap((b3 << 1) ^ (0x87 & -(b0 >>> 31)));
}

/** Throws CryptoError 'length' unless `b` is a Uint8Array of `n` bytes (also openssl-p256.ts). */
export function checkLength(what: string, b: Uint8Array, n: number): void {
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

/** Leading-digit size of invertMod's cosequence steps: digits, cofactors and their sums stay below
 *  2^51, so every Number in them is an exact integer and Math.floor of a quotient is exact. */
const LEHMER_BITS = 48;
/** Below 2^52 the remainders are Numbers (exact) and the rest of the Euclidean steps run on them. */
const LEHMER_TAIL = 1n << 52n;

/**
 * a⁻¹ mod m (m > 1), the same number as noble's `invert` (the inverse is unique; anything else,
 * such as a non-invertible or out-of-range input, is noble's `invert` itself, with its errors), by
 * Lehmer's extended Euclidean algorithm (Knuth, TAOCP vol. 2, 4.5.2, Algorithm L): the quotients are
 * found from the remainders' leading 48 bits with Numbers and applied to the BigInts ~24 bits at a
 * time, instead of a BigInt division, product and difference per quotient (~150 quotients for a
 * 256-bit input). ~3.5x faster than `invert` (6.5 vs 23 µs); every signature makes two inversions
 * and every public key one. Variable-time like noble's `invert` (the Euclidean loop count depends
 * on the input in both), used where noble uses it: the scalar inversion sees the blinded b·k.
 * The result is checked (a·r ≡ 1) and falls back to `invert` if it were not: exact by construction.
 * Exported for its tests.
 */
export function invertMod(a: bigint, m: bigint): bigint {
  if (a <= 0n || a >= m) return invert(a, m);
  let u = m;
  let v = a;
  // u ≡ xu·a, v ≡ xv·a (mod m).
  let xu = 0n;
  let xv = 1n;
  // Until u fits a Number; a step whose quotient the leading digits do not settle (B = 0, e.g. v
  // far below u) is made in full precision.
  while (u >= LEHMER_TAIL) {
    const k = BigInt(Math.max(0, Math.floor(Math.log2(Number(u))) + 1 - LEHMER_BITS));
    let uh = Number(u >> k);
    let vh = Number(v >> k);
    let A = 1;
    let B = 0;
    let C = 0;
    let D = 1;
    while (vh + C !== 0 && vh + D !== 0) {
      const q = Math.floor((uh + A) / (vh + C));
      if (q !== Math.floor((uh + B) / (vh + D))) break;
      let t = A - q * C;
      A = C;
      C = t;
      t = B - q * D;
      B = D;
      D = t;
      t = uh - q * vh;
      uh = vh;
      vh = t;
    }
    if (B === 0) {
      // No quotient agreed on: one step in full precision.
      const q = u / v;
      const r = u - q * v;
      u = v;
      v = r;
      const t = xu - q * xv;
      xu = xv;
      xv = t;
    } else {
      const a1 = BigInt(A);
      const b1 = BigInt(B);
      const c1 = BigInt(C);
      const d1 = BigInt(D);
      const nu = a1 * u + b1 * v;
      v = c1 * u + d1 * v;
      u = nu;
      const nx = a1 * xu + b1 * xv;
      xv = c1 * xu + d1 * xv;
      xu = nx;
    }
  }
  // The last steps on Numbers (u, v < 2^52; the cofactors stay below u).
  let uh = Number(u);
  let vh = Number(v);
  let A = 1;
  let B = 0;
  let C = 0;
  let D = 1;
  while (vh !== 0) {
    const q = Math.floor(uh / vh);
    let t = uh - q * vh;
    uh = vh;
    vh = t;
    t = A - q * C;
    A = C;
    C = t;
    t = B - q * D;
    B = D;
    D = t;
  }
  let r = (BigInt(A) * xu + BigInt(B) * xv) % m;
  if (r < 0n) r += m;
  return uh === 1 && (a * r) % m === 1n ? r : invert(a, m);
}

/**
 * P-256 as noble's own (same curve, same ECDSA with RFC 6979 and low-S: the same keys and
 * signatures), built with noble's curve constructors on a field whose addition, subtraction,
 * negation and multiplication by a = −3 take a comparison and a subtraction instead of a BigInt
 * division (noble's field reduces every result with `%`; its multiplications stay as they are). Its
 * operands are always field elements (0 ≤ x < p: noble's results, and inputs it checks), for which
 * these are exact. Noble's `mod` branches on the sign of its remainder; these branch on a comparison
 * of the same kind, so the secret-scalar path is as constant-time as noble's (BigInt arithmetic is
 * not, in either). ~13 % less per multiplication (a meter restored from a state directory verifies
 * its newest log records at boot).
 * Inversions in both fields (a point's Z when it is made affine, the signature's blinded nonce) by
 * invertMod: the same numbers, ~8 % less per signature.
 */
function fastP256() {
  const c = nobleP256.Point.CURVE();
  const p = c.p;
  const a = c.a;
  const fp = Object.create(Field(p), {
    add: {
      value: (x: bigint, y: bigint): bigint => {
        const s = x + y;
        return s >= p ? s - p : s;
      },
    },
    sub: {
      value: (x: bigint, y: bigint): bigint => {
        const d = x - y;
        return d < 0n ? d + p : d;
      },
    },
    neg: { value: (x: bigint): bigint => (x === 0n ? 0n : p - x) },
    mul: {
      value: (x: bigint, y: bigint): bigint => {
        if (x !== a) return (x * y) % p;
        // (p − 3)·y ≡ −3y: 3y < 3p, reduced by at most two subtractions.
        let t = 3n * y;
        if (t >= p) t -= p;
        if (t >= p) t -= p;
        return t === 0n ? 0n : p - t;
      },
    },
    sqr: { value: (x: bigint): bigint => (x * x) % p },
    inv: { value: (x: bigint): bigint => invertMod(x, p) },
  }) as ReturnType<typeof Field>;
  const n = c.n;
  const fn = Object.create(Field(n), { inv: { value: (x: bigint): bigint => invertMod(x, n) } }) as ReturnType<typeof Field>;
  const random = pooledRandomBytes();
  return ecdsa(weierstrass({ p, n, h: c.h, a, b: c.b, Gx: c.Gx, Gy: c.Gy }, { Fp: fp, Fn: fn, randomBytes: random }), sha256, { randomBytes: random });
}
/** The random bytes of the curve's blinding (a scalar's 16-byte blind in every multiplication, a
 *  signature's 48-byte nonce blind): the system CSPRNG's (crypto.getRandomValues, noble's own
 *  source), drawn 4 KB at a time instead of one call per use (~3.5 µs each in Node, five in a
 *  meter's set-up). Each byte is handed out once and zeroed in the pool as it is. */
function pooledRandomBytes(): (length?: number) => Uint8Array<ArrayBuffer> {
  const pool = new Uint8Array(new ArrayBuffer(4096));
  let at = pool.length;
  return (length = 32) => {
    if (length > pool.length) return randomBytes(length);
    if (at + length > pool.length) {
      crypto.getRandomValues(pool);
      at = 0;
    }
    const out = pool.slice(at, at + length);
    pool.fill(0, at, at + length);
    at += length;
    return out;
  };
}
let p256Curve: ReturnType<typeof fastP256> | undefined;
/** The window of the base point's table (noble's default 6 until a provider widens it; the table is
 *  the curve's, shared by the providers of a thread). */
let baseWindow = 6;
/** The window of the base point's table now (for tests). */
export function baseTableWindow(): number {
  return baseWindow;
}
/** Made on first use (a CLI run that signs nothing does not build it). */
function p256(): ReturnType<typeof fastP256> {
  return (p256Curve ??= fastP256());
}

/** Creates a desktop crypto provider. Each provider keeps its own handle table. */
export function createNobleCrypto(): Crypto {
  /** The states of wiped handles, zeroed, for the next handles: a derived key lives for one
   *  telegram, and a new state's typed array (too large for V8's heap, so allocated outside it)
   *  costs more than the key's expansion. Decryption arrays apart: a handle that never decrypts (a
   *  meter's) holds none. */
  const spare: AesState[] = [];
  const spareDec: Uint32Array[] = [];
  const SPARE_KEPT = 16;
  /** An AES key handle of this provider (a class per provider: another's handles are refused). Its
   *  state in one private field (XS allocates per instance for each private field). */
  class AesHandle implements AesKey {
    #state: AesState | undefined;
    /** `raw`: 16 bytes, checked; the schedules and subkeys follow on first use. */
    constructor(raw: Uint8Array) {
      const s = spare.pop() ?? { words: new Uint32Array(WORDS), dec: undefined, ready: 0, k0: 0, k1: 0, k2: 0, k3: 0, k4: 0, k5: 0, k6: 0, k7: 0 };
      const w = s.words;
      for (let i = 0; i < 4; i++) w[RAW + i] = word(raw, 4 * i);
      s.ready = LIVE;
      this.#state = s;
    }
    static state(key: AesKey): AesState | undefined {
      return #state in key ? (key as AesHandle).#state : undefined;
    }
    wipe(): void {
      const s = this.#state;
      if (!s) return;
      s.words.fill(0);
      const dec = s.dec;
      if (dec) {
        dec.fill(0);
        if (spareDec.length < SPARE_KEPT) spareDec.push(dec);
        s.dec = undefined;
      }
      s.k0 = s.k1 = s.k2 = s.k3 = s.k4 = s.k5 = s.k6 = s.k7 = 0;
      s.ready = 0;
      this.#state = undefined;
      if (spare.length < SPARE_KEPT) spare.push(s);
    }
  }
  function aesState(key: AesKey): AesState {
    const s = typeof key === 'object' && key !== null ? AesHandle.state(key) : undefined;
    if (!s) throw new CryptoError('wiped-key', 'AES key handle is wiped or not of this provider');
    return s;
  }
  /** The state's encryption schedule: its words, the raw key expanded in place on first use. */
  function encSchedule(s: AesState): Uint32Array {
    const w = s.words;
    if (!(s.ready & ENC_READY)) {
      expandKey(w, w); // (reads the raw key before it writes the first round keys over it)
      s.ready |= ENC_READY;
    }
    return w;
  }
  function decSchedule(s: AesState): Uint32Array {
    const dec = (s.dec ??= spareDec.pop() ?? new Uint32Array(DEC_WORDS));
    if (!(s.ready & DEC_READY)) {
      expandDecKey(encSchedule(s), dec);
      s.ready |= DEC_READY;
    }
    return dec;
  }
  /** Copies the state's CMAC subkeys into k[0…8) (derived on first use). */
  function cmacSubkeys(s: AesState, k: Uint32Array): void {
    if (!(s.ready & SUBKEYS_READY)) {
      const l = unsafe.encrypt(encSchedule(s), 0, 0, 0, 0);
      k[0] = l.s0;
      k[1] = l.s1;
      k[2] = l.s2;
      k[3] = l.s3;
      double(k, 0, 0);
      double(k, 0, 4);
      s.k0 = k[0] | 0;
      s.k1 = k[1] | 0;
      s.k2 = k[2] | 0;
      s.k3 = k[3] | 0;
      s.k4 = k[4] | 0;
      s.k5 = k[5] | 0;
      s.k6 = k[6] | 0;
      s.k7 = k[7] | 0;
      s.ready |= SUBKEYS_READY;
      return;
    }
    k[0] = s.k0;
    k[1] = s.k1;
    k[2] = s.k2;
    k[3] = s.k3;
    k[4] = s.k4;
    k[5] = s.k5;
    k[6] = s.k6;
    k[7] = s.k7;
  }
  const ecdsa = new WeakMap<P256PrivateKey, { d: Uint8Array; pub?: Uint8Array }>();
  const signed = new RecentSignatures();
  // noble's block functions work on 32-bit words in place: an aligned block of our own.
  const block = new Uint8Array(16);
  /** Multiplications of the base point so far (public keys, signatures): after WIDE_AFTER of them
   *  noble's table of the base point is widened from its default 6-bit windows to 8 (~25 % less per
   *  multiplication, ~1 MB: the same points, so the same keys and signatures); a one-off key or
   *  signature keeps noble's table. */
  let baseMultiplications = 0;
  const WIDE_AFTER = 256;
  const WIDE_WINDOW = 8;
  function countBaseMultiplication(): void {
    if (++baseMultiplications < WIDE_AFTER || baseWindow >= WIDE_WINDOW) return;
    baseWindow = WIDE_WINDOW;
    p256().Point.BASE.precompute(WIDE_WINDOW);
  }

  /** The CMAC subkeys of the key being used, copied out of its handle for one call and zeroed after it. */
  const subkeys = new Uint32Array(8);
  function scalarEntry(key: P256PrivateKey): { d: Uint8Array; pub?: Uint8Array } {
    const k = ecdsa.get(key);
    if (!k) throw new CryptoError('wiped-key', 'P-256 key handle is wiped or not of this provider');
    return k;
  }

  return {
    aesKey(raw) {
      checkLength('AES-128 key', raw, 16);
      return new AesHandle(raw);
    },
    aesEncryptBlock(key, input, output) {
      const xk = encSchedule(aesState(key));
      checkLength('AES block', input, 16);
      checkLength('AES block output', output, 16);
      block.set(input);
      unsafe.encryptBlock(xk, block);
      output.set(block);
      block.fill(0);
    },
    aesDecryptBlock(key, input, output) {
      const xk = decSchedule(aesState(key));
      checkLength('AES block', input, 16);
      checkLength('AES block output', output, 16);
      block.set(input);
      unsafe.decryptBlock(xk, block);
      output.set(block);
      block.fill(0);
    },
    aesCbcEncrypt(key, iv, input, output) {
      const xk = encSchedule(aesState(key));
      checkLength('CBC IV', iv, 16);
      blocks('CBC input', input, output);
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
      const xk = decSchedule(aesState(key));
      checkLength('CBC IV', iv, 16);
      blocks('CBC input', input, output);
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
      const xk = encSchedule(s);
      checkLength('CMAC tag', tag, 16);
      if (!(message instanceof Uint8Array)) throw new CryptoError('length', 'CMAC message must be bytes');
      // RFC 4493 §2.4: CBC-MAC over the blocks, the last one XORed with K1 (complete) or padded
      // with 10…0 and XORed with K2.
      const k = subkeys;
      cmacSubkeys(s, k);
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
      // The last block's words read straight out of the message, the partial one's padding made as
      // it is read: no copy into a scratch block (and no scratch to wipe).
      const from = 16 * (n - 1);
      const end = message.length;
      const sk = complete ? 0 : 4;
      const r = unsafe.encrypt(
        xk,
        x0 ^ lastWord(message, from, end) ^ k[sk],
        x1 ^ lastWord(message, from + 4, end) ^ k[sk + 1],
        x2 ^ lastWord(message, from + 8, end) ^ k[sk + 2],
        x3 ^ lastWord(message, from + 12, end) ^ k[sk + 3],
      );
      putWord(tag, 0, r.s0);
      putWord(tag, 4, r.s1);
      putWord(tag, 8, r.s2);
      putWord(tag, 12, r.s3);
      k.fill(0);
    },
    sha256(message, digest) {
      checkLength('SHA-256 digest', digest, 32);
      if (!(message instanceof Uint8Array)) throw new CryptoError('length', 'SHA-256 message must be bytes');
      digest.set(sha256(message));
    },
    p256PrivateKey(scalar) {
      checkLength('P-256 private key', scalar, 32);
      if (!p256().utils.isValidSecretKey(scalar)) throw new CryptoError('bad-key', 'not a P-256 private key (0 < d < n)');
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
      return (k.pub ??= p256().getPublicKey(k.d, true)).slice();
    },
    p256Sign(key, digest, signature) {
      const k = scalarEntry(key);
      checkLength('ECDSA digest', digest, 32);
      checkLength('ECDSA signature', signature, 64);
      countBaseMultiplication();
      signature.set(p256().sign(digest, k.d, { prehash: false, lowS: true }));
      if (k.pub) signed.remember(k.pub, digest, signature);
    },
    p256Verify(publicKey, digest, signature) {
      if (!(digest instanceof Uint8Array) || digest.length !== 32 || !(signature instanceof Uint8Array) || signature.length !== 64) return false;
      if (publicKey instanceof Uint8Array && signed.has(publicKey, digest, signature)) return true;
      try {
        return p256().verify(signature, digest, publicKey, { prehash: false, lowS: true });
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
