/**
 * AES-128 (FIPS 197) sized for a microcontroller, and the modes the firmware uses: CBC without
 * padding (NIST SP 800-38A §6.2), CMAC (RFC 4493 / SP 800-38B) and key wrap (RFC 3394 §2.2).
 *
 * Why not @noble/ciphers' AES: its module builds 16-bit-indexed round tables at load, about 1.3 MB
 * of typed arrays — more than an ESP32's whole RAM. Here one 1 KiB round table per direction (the
 * other three are byte rotations of it) and the two S-boxes, about 2.5 KiB, are built at load (in
 * flash once the module is preloaded).
 * A key schedule (Aes128) is built once per key and reused; blocks are processed in place in the
 * caller's buffers, so encrypting a telegram allocates only its output.
 */
import { MeterError } from './errors.js';

/** Bad key, IV or data length, or a key-unwrap integrity failure. */
export class AesError extends MeterError {}

interface Tables {
  sbox: Uint8Array;
  inv: Uint8Array;
  /** Te0[x] = (2·S[x], S[x], S[x], 3·S[x]) big-endian. */
  te: Uint32Array;
  /** Td0[x] = (14·Si[x], 9·Si[x], 13·Si[x], 11·Si[x]) big-endian. */
  td: Uint32Array;
}


const xtime = (b: number): number => ((b << 1) ^ (b & 0x80 ? 0x11b : 0)) & 0xff;

function mul(a: number, b: number): number {
  let r = 0;
  for (; b; b >>= 1, a = xtime(a)) if (b & 1) r ^= a;
  return r;
}

function buildTables(): Tables {
  const sbox = new Uint8Array(256);
  const inv = new Uint8Array(256);
  // Walk the multiplicative group with generator 3: p = 3^k, q = 3^-k = p^-1 (FIPS 197 §5.1.1).
  let p = 1;
  let q = 1;
  do {
    p = p ^ xtime(p);
    q ^= q << 1;
    q ^= q << 2;
    q ^= q << 4;
    q &= 0xff;
    if (q & 0x80) q ^= 0x09;
    const rot = (x: number, n: number): number => ((x << n) | (x >> (8 - n))) & 0xff;
    sbox[p] = q ^ rot(q, 1) ^ rot(q, 2) ^ rot(q, 3) ^ rot(q, 4) ^ 0x63;
  } while (p !== 1);
  sbox[0] = 0x63;
  for (let i = 0; i < 256; i++) inv[sbox[i]] = i;
  const te = new Uint32Array(256);
  const td = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    const s = sbox[i];
    te[i] = ((xtime(s) << 24) | (s << 16) | (s << 8) | (xtime(s) ^ s)) >>> 0;
    const v = inv[i];
    td[i] = ((mul(v, 14) << 24) | (mul(v, 9) << 16) | (mul(v, 13) << 8) | mul(v, 11)) >>> 0;
  }
  return { sbox, inv, te, td };
}

/** Built when the module loads: with the module preloaded (manifest.json) they sit in flash. */
const TABLES = buildTables();

const ror8 = (x: number): number => (x >>> 8) | (x << 24);
const ror16 = (x: number): number => (x >>> 16) | (x << 16);
const ror24 = (x: number): number => (x >>> 24) | (x << 8);

function checkKey(key: Uint8Array, what: string): void {
  if (!(key instanceof Uint8Array) || key.length !== 16) {
    throw new AesError('key-length', `${what} must be 16 bytes (AES-128), got ${key instanceof Uint8Array ? key.length : 'none'}`, {
      length: key instanceof Uint8Array ? key.length : -1,
    });
  }
}

/** An expanded AES-128 key: encrypts and decrypts 16-byte blocks in place or between buffers. */
export class Aes128 {
  private readonly t: Tables;
  /** Encryption round keys, 44 words; decryption round keys (equivalent inverse cipher), 44 words,
   *  derived on the first decryption (CMAC, CBC encryption and key wrap never need them). */
  private readonly ek = new Uint32Array(44);
  private dk: Uint32Array | undefined;

  constructor(key: Uint8Array) {
    checkKey(key, 'AES key');
    const t = (this.t = TABLES);
    const ek = this.ek;
    const s = t.sbox;
    for (let i = 0; i < 4; i++) ek[i] = ((key[4 * i] << 24) | (key[4 * i + 1] << 16) | (key[4 * i + 2] << 8) | key[4 * i + 3]) >>> 0;
    let rcon = 1;
    for (let i = 4; i < 44; i++) {
      let w = ek[i - 1];
      if (i % 4 === 0) {
        w = ((s[(w >>> 16) & 0xff] << 24) | (s[(w >>> 8) & 0xff] << 16) | (s[w & 0xff] << 8) | s[w >>> 24]) ^ (rcon << 24);
        rcon = xtime(rcon);
      }
      ek[i] = (ek[i - 4] ^ w) >>> 0;
    }
  }

  private decryptionKeys(): Uint32Array {
    // The rounds in reverse order, InvMixColumns applied to the middle ones.
    const dk = new Uint32Array(44);
    const ek = this.ek;
    const { td, sbox: s } = this.t;
    for (let r = 0; r <= 10; r++) {
      for (let c = 0; c < 4; c++) {
        const w = ek[(10 - r) * 4 + c];
        dk[r * 4 + c] =
          r === 0 || r === 10
            ? w
            : (td[s[w >>> 24]] ^ ror8(td[s[(w >>> 16) & 0xff]]) ^ ror16(td[s[(w >>> 8) & 0xff]]) ^ ror24(td[s[w & 0xff]])) >>> 0;
      }
    }
    return dk;
  }

  /** Encrypts the block at src[so, so+16) into dst[do, do+16) (src and dst may be the same). */
  encryptBlock(src: Uint8Array, so: number, dst: Uint8Array, dOff: number): void {
    const { te, sbox } = this.t;
    const k = this.ek;
    let s0 = ((src[so] << 24) | (src[so + 1] << 16) | (src[so + 2] << 8) | src[so + 3]) ^ k[0];
    let s1 = ((src[so + 4] << 24) | (src[so + 5] << 16) | (src[so + 6] << 8) | src[so + 7]) ^ k[1];
    let s2 = ((src[so + 8] << 24) | (src[so + 9] << 16) | (src[so + 10] << 8) | src[so + 11]) ^ k[2];
    let s3 = ((src[so + 12] << 24) | (src[so + 13] << 16) | (src[so + 14] << 8) | src[so + 15]) ^ k[3];
    for (let r = 1; r < 10; r++) {
      const o = r * 4;
      const t0 = te[s0 >>> 24] ^ ror8(te[(s1 >>> 16) & 0xff]) ^ ror16(te[(s2 >>> 8) & 0xff]) ^ ror24(te[s3 & 0xff]) ^ k[o];
      const t1 = te[s1 >>> 24] ^ ror8(te[(s2 >>> 16) & 0xff]) ^ ror16(te[(s3 >>> 8) & 0xff]) ^ ror24(te[s0 & 0xff]) ^ k[o + 1];
      const t2 = te[s2 >>> 24] ^ ror8(te[(s3 >>> 16) & 0xff]) ^ ror16(te[(s0 >>> 8) & 0xff]) ^ ror24(te[s1 & 0xff]) ^ k[o + 2];
      const t3 = te[s3 >>> 24] ^ ror8(te[(s0 >>> 16) & 0xff]) ^ ror16(te[(s1 >>> 8) & 0xff]) ^ ror24(te[s2 & 0xff]) ^ k[o + 3];
      s0 = t0;
      s1 = t1;
      s2 = t2;
      s3 = t3;
    }
    const f = (a: number, b: number, c: number, d: number, key: number, at: number): void => {
      dst[at] = sbox[a >>> 24] ^ (key >>> 24);
      dst[at + 1] = sbox[(b >>> 16) & 0xff] ^ ((key >>> 16) & 0xff);
      dst[at + 2] = sbox[(c >>> 8) & 0xff] ^ ((key >>> 8) & 0xff);
      dst[at + 3] = sbox[d & 0xff] ^ (key & 0xff);
    };
    f(s0, s1, s2, s3, k[40], dOff);
    f(s1, s2, s3, s0, k[41], dOff + 4);
    f(s2, s3, s0, s1, k[42], dOff + 8);
    f(s3, s0, s1, s2, k[43], dOff + 12);
  }

  /** Decrypts the block at src[so, so+16) into dst[do, do+16) (src and dst may be the same). */
  decryptBlock(src: Uint8Array, so: number, dst: Uint8Array, dOff: number): void {
    const { td, inv } = this.t;
    const k = (this.dk ??= this.decryptionKeys());
    let s0 = ((src[so] << 24) | (src[so + 1] << 16) | (src[so + 2] << 8) | src[so + 3]) ^ k[0];
    let s1 = ((src[so + 4] << 24) | (src[so + 5] << 16) | (src[so + 6] << 8) | src[so + 7]) ^ k[1];
    let s2 = ((src[so + 8] << 24) | (src[so + 9] << 16) | (src[so + 10] << 8) | src[so + 11]) ^ k[2];
    let s3 = ((src[so + 12] << 24) | (src[so + 13] << 16) | (src[so + 14] << 8) | src[so + 15]) ^ k[3];
    for (let r = 1; r < 10; r++) {
      const o = r * 4;
      const t0 = td[s0 >>> 24] ^ ror8(td[(s3 >>> 16) & 0xff]) ^ ror16(td[(s2 >>> 8) & 0xff]) ^ ror24(td[s1 & 0xff]) ^ k[o];
      const t1 = td[s1 >>> 24] ^ ror8(td[(s0 >>> 16) & 0xff]) ^ ror16(td[(s3 >>> 8) & 0xff]) ^ ror24(td[s2 & 0xff]) ^ k[o + 1];
      const t2 = td[s2 >>> 24] ^ ror8(td[(s1 >>> 16) & 0xff]) ^ ror16(td[(s0 >>> 8) & 0xff]) ^ ror24(td[s3 & 0xff]) ^ k[o + 2];
      const t3 = td[s3 >>> 24] ^ ror8(td[(s2 >>> 16) & 0xff]) ^ ror16(td[(s1 >>> 8) & 0xff]) ^ ror24(td[s0 & 0xff]) ^ k[o + 3];
      s0 = t0;
      s1 = t1;
      s2 = t2;
      s3 = t3;
    }
    const f = (a: number, b: number, c: number, d: number, key: number, at: number): void => {
      dst[at] = inv[a >>> 24] ^ (key >>> 24);
      dst[at + 1] = inv[(b >>> 16) & 0xff] ^ ((key >>> 16) & 0xff);
      dst[at + 2] = inv[(c >>> 8) & 0xff] ^ ((key >>> 8) & 0xff);
      dst[at + 3] = inv[d & 0xff] ^ (key & 0xff);
    };
    f(s0, s3, s2, s1, k[40], dOff);
    f(s1, s0, s3, s2, k[41], dOff + 4);
    f(s2, s1, s0, s3, k[42], dOff + 8);
    f(s3, s2, s1, s0, k[43], dOff + 12);
  }
}

function checkCbc(iv: Uint8Array, data: Uint8Array): void {
  if (!(iv instanceof Uint8Array) || iv.length !== 16) {
    throw new AesError('iv-length', `IV must be 16 bytes, got ${iv instanceof Uint8Array ? iv.length : 'none'}`, { length: iv instanceof Uint8Array ? iv.length : -1 });
  }
  if (!(data instanceof Uint8Array) || data.length % 16 !== 0) {
    throw new AesError('block-length', `AES-CBC data must be a multiple of 16 bytes, got ${data instanceof Uint8Array ? data.length : 'none'}`, {
      length: data instanceof Uint8Array ? data.length : -1,
    });
  }
}

/** AES-128-CBC encryption without padding (SP 800-38A §6.2). */
export function cbcEncrypt(key: Uint8Array | Aes128, iv: Uint8Array, plain: Uint8Array): Uint8Array {
  checkCbc(iv, plain);
  const aes = key instanceof Aes128 ? key : new Aes128(key);
  const out = new Uint8Array(plain.length);
  for (let b = 0; b < plain.length; b += 16) {
    for (let i = 0; i < 16; i++) out[b + i] = plain[b + i] ^ (b === 0 ? iv[i] : out[b - 16 + i]);
    aes.encryptBlock(out, b, out, b);
  }
  return out;
}

/** AES-128-CBC decryption without padding. */
export function cbcDecrypt(key: Uint8Array | Aes128, iv: Uint8Array, cipher: Uint8Array): Uint8Array {
  checkCbc(iv, cipher);
  const aes = key instanceof Aes128 ? key : new Aes128(key);
  const out = new Uint8Array(cipher.length);
  for (let b = 0; b < cipher.length; b += 16) {
    aes.decryptBlock(cipher, b, out, b);
    for (let i = 0; i < 16; i++) out[b + i] ^= b === 0 ? iv[i] : cipher[b - 16 + i];
  }
  return out;
}

/** Doubling in GF(2^128) with R = 0x87 (RFC 4493 §2.3), in place. */
function dbl(b: Uint8Array): void {
  const carry = b[0] & 0x80;
  for (let i = 0; i < 15; i++) b[i] = ((b[i] << 1) | (b[i + 1] >> 7)) & 0xff;
  b[15] = ((b[15] << 1) & 0xff) ^ (carry ? 0x87 : 0);
}

/** AES-CMAC (RFC 4493): the full 16-byte tag of `message` under `key`. */
export function cmac(key: Uint8Array | Aes128, message: Uint8Array): Uint8Array {
  const aes = key instanceof Aes128 ? key : new Aes128(key);
  const k = new Uint8Array(16);
  aes.encryptBlock(k, 0, k, 0); // L = AES(K, 0^128)
  dbl(k); // K1
  const n = message.length;
  const complete = n > 0 && n % 16 === 0;
  if (!complete) dbl(k); // K2
  const x = new Uint8Array(16);
  const lastStart = n === 0 ? 0 : complete ? n - 16 : n - (n % 16);
  for (let b = 0; b < lastStart; b += 16) {
    for (let i = 0; i < 16; i++) x[i] ^= message[b + i];
    aes.encryptBlock(x, 0, x, 0);
  }
  for (let i = 0; i < 16; i++) {
    const j = lastStart + i;
    const m = j < n ? message[j] : j === n ? 0x80 : 0;
    x[i] ^= m ^ k[i];
  }
  aes.encryptBlock(x, 0, x, 0);
  return x;
}

const KW_IV = 0xa6;

/** RFC 3394 key wrap of `keyData` (a multiple of 8 bytes, at least 16) under `kek`. */
export function keyWrap(kek: Uint8Array | Aes128, keyData: Uint8Array): Uint8Array {
  if (!(keyData instanceof Uint8Array) || keyData.length < 16 || keyData.length % 8 !== 0) {
    throw new AesError('block-length', `key data to wrap must be 16 or more bytes in 8-byte blocks, got ${keyData instanceof Uint8Array ? keyData.length : 'none'}`, {
      length: keyData instanceof Uint8Array ? keyData.length : -1,
    });
  }
  const aes = kek instanceof Aes128 ? kek : new Aes128(kek);
  const n = keyData.length / 8;
  const out = new Uint8Array(8 + keyData.length);
  out.fill(KW_IV, 0, 8);
  out.set(keyData, 8);
  const b = new Uint8Array(16);
  for (let j = 0; j <= 5; j++) {
    for (let i = 1; i <= n; i++) {
      b.set(out.subarray(0, 8), 0);
      b.set(out.subarray(8 * i, 8 * i + 8), 8);
      aes.encryptBlock(b, 0, b, 0);
      const t = n * j + i;
      for (let q = 0; q < 4; q++) b[7 - q] ^= (t >>> (8 * q)) & 0xff;
      out.set(b.subarray(0, 8), 0);
      out.set(b.subarray(8, 16), 8 * i);
    }
  }
  return out;
}

/** RFC 3394 key unwrap; AesError('integrity') when the integrity check value does not come out. */
export function keyUnwrap(kek: Uint8Array | Aes128, wrapped: Uint8Array): Uint8Array {
  if (!(wrapped instanceof Uint8Array) || wrapped.length < 24 || wrapped.length % 8 !== 0) {
    throw new AesError('block-length', `wrapped key must be 24 or more bytes in 8-byte blocks, got ${wrapped instanceof Uint8Array ? wrapped.length : 'none'}`, {
      length: wrapped instanceof Uint8Array ? wrapped.length : -1,
    });
  }
  const aes = kek instanceof Aes128 ? kek : new Aes128(kek);
  const n = wrapped.length / 8 - 1;
  const r = wrapped.slice();
  const b = new Uint8Array(16);
  for (let j = 5; j >= 0; j--) {
    for (let i = n; i >= 1; i--) {
      b.set(r.subarray(0, 8), 0);
      const t = n * j + i;
      for (let q = 0; q < 4; q++) b[7 - q] ^= (t >>> (8 * q)) & 0xff;
      b.set(r.subarray(8 * i, 8 * i + 8), 8);
      aes.decryptBlock(b, 0, b, 0);
      r.set(b.subarray(0, 8), 0);
      r.set(b.subarray(8, 16), 8 * i);
    }
  }
  let bad = 0;
  for (let i = 0; i < 8; i++) bad |= r[i] ^ KW_IV;
  if (bad !== 0) throw new AesError('integrity', 'key unwrap: integrity check value mismatch (wrong key or altered data)', { length: wrapped.length });
  return r.slice(8);
}
