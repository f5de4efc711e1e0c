/**
 * The crypto port (modules/ports/crypto.ts) on the Moddable SDK's own native crypto, which is what
 * fits the board: AES-128 is the SDK's `crypt` BlockCipher("AES") (kcl fips197, C), SHA-256 its
 * Digest("SHA256") (kcl fips180, C), P-256 point arithmetic its `ec` (Jacobian mul and mul2 in C over
 * XS BigInts) and `modular` (inverse and exponent in C), random bytes the chip's hardware RNG
 * (entropy.ts). Built here on those: CBC and AES-CMAC (RFC 4493) on the native block function, and
 * ECDSA with RFC 6979 deterministic nonces (HMAC-SHA-256 on the native digest) and s normalised to
 * the low half, so a signature made on the board verifies with `xsmeter log verify` and equals the
 * desktop's (@noble, also RFC 6979 and low-S) for the same key and digest.
 *
 * No allocation per AES block: each key handle owns a 16-byte scratch block on its own ArrayBuffer
 * (the SDK's cipher takes whole ArrayBuffers, the port's callers views). wipe() zeroes the handle's
 * copy of the key, its CMAC subkeys and scratch, and drops the native cipher; the SDK gives no call
 * to zero the expanded key inside that cipher's XS chunk, which the next garbage collection frees.
 *
 * XS 8.2.3 compares a run-time BigInt with a preloaded one (the curve constants below live in flash)
 * wrongly in ==, ===, != and !== (test/moddable-crypto.test.ts shows it on the SDK), so BigInts are
 * compared here only with < and >, which are right.
 */
import { BlockCipher, Digest } from 'crypt';
import EC from 'ec';
import ECPoint from 'ecp';
import Modular from 'modular';
import { CryptoError, type AesKey, type Crypto, type P256PrivateKey } from '../../../modules/ports/crypto.js';
import { fillRandom } from './entropy.js';

// P-256 (FIPS 186-4 D.1.2.3, SEC 2 secp256r1).
const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;
const GX = 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n;
const GY = 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const HALF_N = N >> 1n;
/** (P + 1) / 4: P ≡ 3 (mod 4), so a square root of v is v^((P+1)/4). */
const SQRT_EXPONENT = (P + 1n) >> 2n;
// Frozen into flash with the module (the SDK's methods only read `this`).
const CURVE = Object.freeze(new EC(P - 3n, B, P));
const G = Object.freeze(new ECPoint(GX, GY));
const FIELD = Object.freeze(new Modular(P));
const ORDER = Object.freeze(new Modular(N));

/** a = b for BigInts, right whether either is preloaded (see the file comment). */
function same(a: bigint, b: bigint): boolean {
  return !(a < b) && !(b < a);
}

// CryptoError codes as the desktop implementation gives them (hosts/sim/noble-crypto.ts): 'length',
// 'block-length', 'bad-key', 'wiped-key'.
function need(what: string, bytes: Uint8Array, length: number): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new CryptoError('length', `${what} must be ${length} bytes, got ${bytes instanceof Uint8Array ? bytes.length : typeof bytes}`, { what, expected: length });
  }
}

function toBig(bytes: Uint8Array, offset = 0, length = bytes.length - offset): bigint {
  const copy = new Uint8Array(length);
  for (let i = 0; i < length; i++) copy[i] = bytes[offset + i];
  return BigInt.fromArrayBuffer(copy.buffer);
}

function writeBig(value: bigint, out: Uint8Array, offset: number): void {
  out.set(new Uint8Array(ArrayBuffer.fromBigInt(value, 32)), offset);
}

class DeviceAesKey implements AesKey {
  raw: Uint8Array;
  /** One block of scratch on its own ArrayBuffer: the native cipher's input and output. */
  readonly io = new Uint8Array(16);
  /** CBC decryption: the previous and the current ciphertext block. */
  readonly prev = new Uint8Array(16);
  readonly next = new Uint8Array(16);
  /** RFC 4493 subkeys K1 ‖ K2, computed on the first CMAC. */
  subkeys: Uint8Array | undefined;
  cipher: BlockCipher | undefined;

  constructor(raw: Uint8Array) {
    this.raw = raw.slice();
    this.cipher = new BlockCipher('AES', this.raw.buffer as ArrayBuffer);
  }

  wipe(): void {
    this.raw.fill(0);
    this.io.fill(0);
    this.prev.fill(0);
    this.next.fill(0);
    this.subkeys?.fill(0);
    this.subkeys = undefined;
    this.cipher = undefined;
  }

  /** io := E(io) or D(io), in place. */
  run(decrypt: boolean): void {
    const c = this.cipher;
    if (c === undefined) throw new CryptoError('wiped-key', 'AES key handle is wiped', {});
    const b = this.io.buffer as ArrayBuffer;
    if (decrypt) c.decrypt(b, b);
    else c.encrypt(b, b);
  }
}

class DeviceP256Key implements P256PrivateKey {
  scalar: Uint8Array | undefined;
  constructor(scalar: Uint8Array) {
    this.scalar = scalar.slice();
  }
  wipe(): void {
    this.scalar?.fill(0);
    this.scalar = undefined;
  }
}

/** One doubling in GF(2^128) for the CMAC subkeys (RFC 4493 §2.3). */
function dbl(from: Uint8Array, fromOffset: number, to: Uint8Array, toOffset: number): void {
  const carry = from[fromOffset] & 0x80;
  for (let i = 0; i < 15; i++) to[toOffset + i] = ((from[fromOffset + i] << 1) | (from[fromOffset + i + 1] >> 7)) & 0xff;
  to[toOffset + 15] = (from[fromOffset + 15] << 1) & 0xff;
  if (carry) to[toOffset + 15] ^= 0x87;
}

export class ModdableCrypto implements Crypto {
  /** The native SHA-256, reset for each use. */
  private readonly digest = new Digest('SHA256');

  aesKey(raw: Uint8Array): AesKey {
    need('AES-128 key', raw, 16);
    return new DeviceAesKey(raw);
  }

  aesEncryptBlock(key: AesKey, input: Uint8Array, output: Uint8Array): void {
    this.block(key, input, output, false);
  }

  aesDecryptBlock(key: AesKey, input: Uint8Array, output: Uint8Array): void {
    this.block(key, input, output, true);
  }

  aesCbcEncrypt(key: AesKey, iv: Uint8Array, input: Uint8Array, output: Uint8Array): void {
    const k = this.cbcCheck(key, iv, input, output);
    const io = k.io;
    io.set(iv);
    for (let at = 0; at < input.length; at += 16) {
      for (let i = 0; i < 16; i++) io[i] ^= input[at + i];
      k.run(false);
      output.set(io, at);
    }
  }

  aesCbcDecrypt(key: AesKey, iv: Uint8Array, input: Uint8Array, output: Uint8Array): void {
    const k = this.cbcCheck(key, iv, input, output);
    const { io, prev, next } = k;
    prev.set(iv);
    for (let at = 0; at < input.length; at += 16) {
      for (let i = 0; i < 16; i++) next[i] = input[at + i];
      io.set(next);
      k.run(true);
      for (let i = 0; i < 16; i++) output[at + i] = io[i] ^ prev[i];
      prev.set(next);
    }
  }

  aesCmac(key: AesKey, message: Uint8Array, tag: Uint8Array): void {
    const k = this.handle(key);
    if (!(message instanceof Uint8Array)) throw new CryptoError('length', 'CMAC message must be bytes', {});
    need('CMAC tag', tag, 16);
    const io = k.io;
    if (k.subkeys === undefined) {
      io.fill(0);
      k.run(false); // L = E(K, 0^128)
      const s = new Uint8Array(32);
      dbl(io, 0, s, 0);
      dbl(s, 0, s, 16);
      k.subkeys = s;
    }
    const subkeys = k.subkeys;
    const length = message.length;
    const blocks = length === 0 ? 1 : Math.ceil(length / 16);
    const complete = length > 0 && length % 16 === 0;
    const sub = complete ? 0 : 16;
    io.fill(0);
    for (let b = 0; b < blocks - 1; b++) {
      for (let i = 0; i < 16; i++) io[i] ^= message[b * 16 + i];
      k.run(false);
    }
    const last = (blocks - 1) * 16;
    for (let i = 0; i < 16; i++) {
      const at = last + i;
      io[i] ^= (at < length ? message[at] : at === length ? 0x80 : 0) ^ subkeys[sub + i];
    }
    k.run(false);
    tag.set(io);
  }

  sha256(message: Uint8Array, digest: Uint8Array): void {
    if (!(message instanceof Uint8Array)) throw new CryptoError('length', 'SHA-256 message must be bytes', {});
    need('SHA-256 digest', digest, 32);
    const d = this.digest;
    d.reset();
    if (message.length > 0) d.write(message);
    digest.set(new Uint8Array(d.close()));
  }

  p256PrivateKey(scalar: Uint8Array): P256PrivateKey {
    need('P-256 private key', scalar, 32);
    const d = toBig(scalar);
    if (d < 1n || !(d < N)) throw new CryptoError('bad-key', 'not a P-256 private key (0 < d < n)', {});
    return new DeviceP256Key(scalar);
  }

  p256PublicKey(key: P256PrivateKey): Uint8Array {
    const q = CURVE.mul(G, toBig(this.scalar(key)));
    const out = new Uint8Array(33);
    out[0] = (q.Y & 1n) > 0n ? 3 : 2;
    writeBig(q.X, out, 1);
    return out;
  }

  p256Sign(key: P256PrivateKey, digest: Uint8Array, signature: Uint8Array): void {
    const scalar = this.scalar(key);
    need('ECDSA digest', digest, 32);
    need('ECDSA signature', signature, 64);
    const x = toBig(scalar);
    const z = toBig(digest); // bits2int: a 256-bit hash for a 256-bit order is taken whole
    // RFC 6979 §3.2, HMAC-SHA-256: h1 is reduced mod n (bits2octets), x and h1 as 32 bytes.
    const h = new Uint8Array(32);
    writeBig(z < N ? z : z - N, h, 0);
    const v = new Uint8Array(32).fill(1);
    let k: Uint8Array = new Uint8Array(32);
    /** K := HMAC_K(V ‖ tag [‖ x ‖ h]); V := HMAC_K(V). The old K is wiped. */
    const step = (tag: number, withKey: boolean): void => {
      const next = withKey ? this.hmac(k, v, tag, scalar, h) : this.hmac(k, v, tag);
      k.fill(0);
      k = next;
      this.hmacInto(k, v);
    };
    step(0x00, true);
    step(0x01, true);
    try {
      for (;;) {
        this.hmacInto(k, v);
        const nonce = toBig(v);
        if (nonce > 0n && nonce < N) {
          const r = CURVE.mul(G, nonce).X % N;
          const s = (ORDER.mulinv(nonce) * ((z + r * x) % N)) % N;
          if (r > 0n && s > 0n) {
            writeBig(r, signature, 0);
            writeBig(s > HALF_N ? N - s : s, signature, 32);
            return;
          }
        }
        step(0x00, false);
      }
    } finally {
      k.fill(0);
      v.fill(0);
      h.fill(0);
    }
  }

  p256Verify(publicKey: Uint8Array, digest: Uint8Array, signature: Uint8Array): boolean {
    if (!(digest instanceof Uint8Array) || digest.length !== 32) return false;
    if (!(signature instanceof Uint8Array) || signature.length !== 64 || !(publicKey instanceof Uint8Array)) return false;
    const q = decodePoint(publicKey);
    if (q === undefined) return false;
    const r = toBig(signature, 0, 32);
    const s = toBig(signature, 32, 32);
    if (r < 1n || !(r < N) || s < 1n || s > HALF_N) return false;
    const w = ORDER.mulinv(s);
    const z = toBig(digest);
    const p = CURVE.mul2(G, (z * w) % N, q, (r * w) % N);
    return p.z > 0n && same(p.X % N, r);
  }

  randomBytes(output: Uint8Array): void {
    if (!(output instanceof Uint8Array)) throw new CryptoError('length', 'random output must be bytes', {});
    if (output.length > 0) fillRandom(output);
  }

  private handle(key: AesKey): DeviceAesKey {
    if (!(key instanceof DeviceAesKey) || key.cipher === undefined) throw new CryptoError('wiped-key', 'AES key handle is wiped or not of this provider', {});
    return key;
  }

  private scalar(key: P256PrivateKey): Uint8Array {
    if (!(key instanceof DeviceP256Key) || key.scalar === undefined) throw new CryptoError('wiped-key', 'P-256 key handle is wiped or not of this provider', {});
    return key.scalar;
  }

  private block(key: AesKey, input: Uint8Array, output: Uint8Array, decrypt: boolean): void {
    const k = this.handle(key);
    need('AES block', input, 16);
    need('AES block output', output, 16);
    k.io.set(input);
    k.run(decrypt);
    output.set(k.io);
  }

  private cbcCheck(key: AesKey, iv: Uint8Array, input: Uint8Array, output: Uint8Array): DeviceAesKey {
    const k = this.handle(key);
    need('CBC IV', iv, 16);
    if (!(input instanceof Uint8Array) || input.length % 16 !== 0) {
      throw new CryptoError('block-length', `CBC input must be a multiple of 16 bytes, got ${input instanceof Uint8Array ? input.length : typeof input}`, { what: 'CBC input' });
    }
    if (!(output instanceof Uint8Array) || output.length !== input.length) throw new CryptoError('length', `CBC input: output must be ${input.length} bytes`, { what: 'CBC input' });
    return k;
  }

  /** v := HMAC_key(v). */
  private hmacInto(key: Uint8Array, v: Uint8Array): void {
    const t = this.hmac(key, v);
    v.set(t);
    t.fill(0);
  }

  /** HMAC-SHA-256 (RFC 2104) of V [‖ tag ‖ x ‖ h] under `key`: RFC 6979's K and V updates. */
  private hmac(key: Uint8Array, v: Uint8Array, tag?: number, x?: Uint8Array, h?: Uint8Array): Uint8Array {
    const d = this.digest;
    const pad = new Uint8Array(64);
    for (let i = 0; i < 64; i++) pad[i] = (i < key.length ? key[i] : 0) ^ 0x36;
    d.reset();
    d.write(pad);
    d.write(v);
    if (tag !== undefined) d.write(Uint8Array.of(tag));
    if (x !== undefined) d.write(x);
    if (h !== undefined) d.write(h);
    const inner = new Uint8Array(d.close());
    for (let i = 0; i < 64; i++) pad[i] ^= 0x36 ^ 0x5c;
    d.reset();
    d.write(pad);
    d.write(inner);
    pad.fill(0);
    inner.fill(0);
    return new Uint8Array(d.close());
  }
}

/** A SEC1 public key (33 bytes compressed, 65 uncompressed) as a point on P-256, or undefined. */
function decodePoint(bytes: Uint8Array): ECPoint | undefined {
  const prefix = bytes[0];
  if (!((bytes.length === 33 && (prefix === 2 || prefix === 3)) || (bytes.length === 65 && prefix === 4))) return undefined;
  const x = toBig(bytes, 1, 32);
  if (!(x < P)) return undefined;
  const y2 = (((x * x) % P) * x + (P - 3n) * x + B) % P;
  let y: bigint;
  if (prefix === 4) {
    y = toBig(bytes, 33, 32);
    if (!(y < P) || !same((y * y) % P, y2)) return undefined;
  } else {
    y = FIELD.exp(y2, SQRT_EXPONENT);
    if (!same((y * y) % P, y2)) return undefined;
    if (((y & 1n) > 0n ? 3 : 2) !== prefix) {
      if (y < 1n) return undefined;
      y = P - y;
    }
  }
  return new ECPoint(x, y);
}
