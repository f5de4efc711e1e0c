/**
 * The crypto port of a simulated fleet's meters: the desktop's (noble-crypto.ts) with its P-256
 * private-key operations — a key's public key and ECDSA signatures — on Node's OpenSSL.
 * A fleet's set-up makes three multiplications of the base point per meter (its public key, the
 * calibration log's log-init record, the factory seal), and @noble's blinded constant-time one
 * takes ~330 µs where OpenSSL's takes ~20 (node:crypto's ECDH computes d·G as a "public key"):
 * they were three quarters of a meter's set-up. Node only (the XS entries keep the port).
 *
 * The signatures are RFC 6979's, as @noble makes them: k from HMAC-DRBG over HMAC-SHA-256 (@noble's
 * createHmacDrbg) seeded with int2octets(d) ‖ int2octets(h mod n), r = x(k·G) mod n,
 * s = k⁻¹(h + r·d) mod n, low-S — the same bytes (test/crypto-port.test.ts compares them with
 * @noble's and verifies them with node:crypto's ECDSA). Neither blinded nor constant-time (k⁻¹ by a
 * variable-time Euclid): for simulated meters only, whose keys are derived from public seeds
 * (sim-meter.ts keyBytesForSeed), so there is no secret a timing channel could give away. OpenSSL's
 * context keeps the last scalar it was given, as @noble keeps its scalars in BigInts: neither can
 * be wiped; the handle's own copy is.
 */
import { createECDH, createHmac } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { createHmacDrbg } from '@noble/curves/utils.js';
import { CryptoError, type Crypto, type P256PrivateKey } from '../../modules/ports/crypto.js';
import { checkLength, invertMod } from './noble-crypto.js';
import { RecentSignatures } from './recent-signatures.js';

/** The group order n and n/2 (the low-S bound). */
const N = p256.Point.Fn.ORDER;
const HALF_N = N >> 1n;

/** One OpenSSL context for the thread: a scalar in, its point out (d·G or k·G). */
const ecdh = createECDH('prime256v1');

/** d·G, SEC1 compressed (33 bytes: parity, then x). `scalar`: 32 bytes, 1 ≤ d < n. */
function baseMultiply(scalar: Uint8Array): Uint8Array {
  ecdh.setPrivateKey(scalar);
  return new Uint8Array(ecdh.getPublicKey(null, 'compressed'));
}

/** The big-endian number of bytes[from…to) (by way of hex: a BigInt operation a byte costs more). */
function numberOf(bytes: Uint8Array, from = 0, to = bytes.length): bigint {
  return BigInt('0x' + Buffer.from(bytes.buffer, bytes.byteOffset + from, to - from).toString('hex'));
}

/** x (< 2^256) as 32 big-endian bytes into out[at…at + 32). */
function put32(x: bigint, out: Uint8Array, at: number): void {
  out.set(Buffer.from(x.toString(16).padStart(64, '0'), 'hex'), at);
}

/** HMAC-SHA-256 for the DRBG, on OpenSSL too (a third of @noble's time; seven a signature). */
const hmacSha256 = (key: Uint8Array, message: Uint8Array): Uint8Array => createHmac('sha256', key).update(message).digest();

/** `base` with p256PrivateKey, p256PublicKey and p256Sign on OpenSSL (their handles are this
 *  provider's); verification is `base`'s but for the signatures this provider just made
 *  (recent-signatures.ts: the seal guard checks at boot the log-init record signed a moment
 *  before), and everything else is `base`'s. */
export function withOpenSslSigning(base: Crypto): Crypto {
  /** A private key of this provider: its scalar (wiped by wipe()) and, once computed, its public key. */
  class OpenSslKey implements P256PrivateKey {
    #d: Uint8Array | undefined;
    #pub: Uint8Array | undefined;
    constructor(d: Uint8Array) {
      this.#d = d;
    }
    static scalar(key: P256PrivateKey): Uint8Array {
      const d = typeof key === 'object' && key !== null && #d in key ? (key as OpenSslKey).#d : undefined;
      if (!d) throw new CryptoError('wiped-key', 'P-256 key handle is wiped or not of this provider');
      return d;
    }
    static publicKey(key: P256PrivateKey): Uint8Array {
      const d = OpenSslKey.scalar(key);
      const k = key as OpenSslKey;
      return (k.#pub ??= baseMultiply(d));
    }
    wipe(): void {
      this.#d?.fill(0);
      this.#d = undefined;
      this.#pub = undefined;
    }
  }
  const signed = new RecentSignatures();
  const drbg = createHmacDrbg<{ r: bigint; s: bigint }>(32, 32, hmacSha256);

  return {
    ...base,
    p256PrivateKey(scalar) {
      checkLength('P-256 private key', scalar, 32);
      if (!p256.utils.isValidSecretKey(scalar)) throw new CryptoError('bad-key', 'not a P-256 private key (0 < d < n)');
      return new OpenSslKey(scalar.slice());
    },
    p256PublicKey(key) {
      return OpenSslKey.publicKey(key).slice();
    },
    p256Sign(key, digest, signature) {
      const dBytes = OpenSslKey.scalar(key);
      checkLength('ECDSA digest', digest, 32);
      checkLength('ECDSA signature', signature, 64);
      const d = numberOf(dBytes);
      // RFC 6979 §3.2 with h1 the digest: bits2octets(h1) is h mod n (n has 256 bits, as h).
      let h = numberOf(digest);
      if (h >= N) h -= N;
      const seed = new Uint8Array(64);
      seed.set(dBytes, 0);
      put32(h, seed, 32);
      const rs = drbg(seed, (kBytes: Uint8Array): { r: bigint; s: bigint } | undefined => {
        // Step H.3: k = bits2int(T), taken only in 1 … n − 1; r and s must not be 0 (else the
        // DRBG goes on, as RFC 6979 and @noble do).
        const k = numberOf(kBytes);
        if (k === 0n || k >= N) return undefined;
        let r = numberOf(baseMultiply(kBytes), 1);
        if (r >= N) r -= N;
        if (r === 0n) return undefined;
        const s = (invertMod(k, N) * ((h + r * d) % N)) % N;
        if (s === 0n) return undefined;
        return { r, s: s > HALF_N ? N - s : s };
      });
      seed.fill(0);
      put32(rs.r, signature, 0);
      put32(rs.s, signature, 32);
      signed.remember(OpenSslKey.publicKey(key), digest, signature);
    },
    p256Verify(publicKey, digest, signature) {
      if (publicKey instanceof Uint8Array && digest instanceof Uint8Array && signature instanceof Uint8Array && signed.has(publicKey, digest, signature)) return true;
      return base.p256Verify(publicKey, digest, signature);
    },
  };
}
