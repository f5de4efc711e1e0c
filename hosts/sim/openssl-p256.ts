/**
 * P-256 public keys and ECDSA signatures on OpenSSL's scalar multiplication (node:crypto ECDH), for
 * the fleet's crypto port (meter-slice.ts): the same bytes @noble/curves makes — SEC1 compressed
 * public keys; RFC 6979 deterministic signatures (HMAC-SHA-256 DRBG, no extra entropy) normalised to
 * low-S, r ‖ s — in about a tenth of the time. A fleet's factory set-up signs two log records and
 * derives a public key per meter: with noble that was two thirds of setting a meter up.
 *
 * k·G is OpenSSL's (an ECDH key pair whose private key is k); the rest is RFC 6979 §3.2 and
 * s = k⁻¹(e + r·d) mod n in BigInt. Node only (noble-crypto.ts stays portable for XS).
 */
import { createECDH, createHmac } from 'node:crypto';
import type { P256Backend } from './noble-crypto.js';

const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const HALF_N = N >> 1n;

function toBig(b: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex')}`);
}

function put32(out: Uint8Array, at: number, v: bigint): void {
  const hex = v.toString(16).padStart(64, '0');
  out.set(Buffer.from(hex, 'hex'), at);
}

/** k⁻¹ mod N (extended Euclid; 0 < k < N, N prime). */
function invert(k: bigint): bigint {
  let a = k;
  let b = N;
  let x = 1n;
  let u = 0n;
  while (a !== 0n) {
    const q = b / a;
    [a, b] = [b - q * a, a];
    [x, u] = [u - q * x, x];
  }
  return ((u % N) + N) % N;
}

/** The uncompressed point k·G (65 bytes), or undefined when k is not in 1…N−1. */
function multiplyBase(k: Uint8Array): Buffer | undefined {
  const ecdh = createECDH('prime256v1');
  try {
    ecdh.setPrivateKey(k);
  } catch {
    return undefined; // 0 or ≥ N: OpenSSL refuses it
  }
  return ecdh.getPublicKey();
}

const hmac = (key: Uint8Array, ...parts: Uint8Array[]): Buffer => {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return h.digest();
};

export const opensslP256: P256Backend = {
  publicKey(d) {
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(d);
    return new Uint8Array(ecdh.getPublicKey(null, 'compressed'));
  },
  sign(d, digest) {
    const dn = toBig(d);
    const e = toBig(digest) % N; // bits2int_modN: a 256-bit digest needs no truncation
    const h1 = new Uint8Array(32);
    put32(h1, 0, e);
    // RFC 6979 §3.2 b–g: V = 0x01…, K = 0x00…, seeded with int2octets(d) ‖ bits2octets(h1).
    let v: Uint8Array = new Uint8Array(32).fill(1);
    let k: Uint8Array = new Uint8Array(32);
    k = hmac(k, v, Uint8Array.of(0), d, h1);
    v = hmac(k, v);
    k = hmac(k, v, Uint8Array.of(1), d, h1);
    v = hmac(k, v);
    for (;;) {
      v = hmac(k, v); // §3.2 h: T = V (32 bytes, the length of N)
      const q = multiplyBase(v);
      if (q) {
        const kn = toBig(v);
        const r = toBig(q.subarray(1, 33)) % N;
        if (r !== 0n) {
          let s = (invert(kn) * ((e + r * dn) % N)) % N;
          if (s !== 0n) {
            if (s > HALF_N) s = N - s;
            const out = new Uint8Array(64);
            put32(out, 0, r);
            put32(out, 32, s);
            return out;
          }
        }
      }
      k = hmac(k, v, Uint8Array.of(0));
      v = hmac(k, v);
    }
  },
};
