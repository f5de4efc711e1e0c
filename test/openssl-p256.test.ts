/**
 * The fleet's P-256 (hosts/sim/openssl-p256.ts: OpenSSL's scalar multiplication, RFC 6979 and s in
 * BigInt) against the published RFC 6979 A.2.5 vectors (the whole crypto-port suite on the provider
 * that uses it), against @noble/curves (an independent implementation: the same public keys and
 * signatures byte for byte, which is what keeps a fleet's flash images unchanged) on random keys
 * and digests, digests at and above the group order included, and node:crypto's verification.
 */
import assert from 'node:assert/strict';
import { createHash, createPublicKey, randomBytes, verify as nodeVerify } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { toHex } from '../modules/core/bytes.js';
import { createNobleCrypto } from '../hosts/sim/noble-crypto.js';
import { opensslP256 } from '../hosts/sim/openssl-p256.js';
import { cryptoPortSuite } from './crypto-port-suite.js';

const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const hex32 = (n: bigint): string => n.toString(16).padStart(64, '0');

describe('P-256 on OpenSSL (a fleet\'s crypto port)', () => {
  it('passes the crypto-port suite (RFC 6979 A.2.5 keys and signatures, low-S, verification)', () => {
    const lines: string[] = [];
    const r = cryptoPortSuite(createNobleCrypto({ p256: opensslP256 }), (l) => lines.push(l));
    assert.deepEqual(lines.filter((l) => l.startsWith('FAIL')), []);
    assert.ok(r.passed > 20 && r.failed === 0);
  });

  it('makes the public keys and signatures @noble/curves makes, and node:crypto verifies them', () => {
    const digests = [new Uint8Array(32), new Uint8Array(32).fill(0xff), Uint8Array.from(Buffer.from(hex32(N), 'hex')), Uint8Array.from(Buffer.from(hex32(N + 1n), 'hex'))];
    for (let i = 0; i < 40; i++) digests.push(new Uint8Array(randomBytes(32)));
    for (const [i, digest] of digests.entries()) {
      const d = i === 1 ? Uint8Array.from(Buffer.from(hex32(N - 1n), 'hex')) : p256.utils.randomSecretKey();
      const pub = opensslP256.publicKey(d);
      assert.equal(toHex(pub), toHex(p256.getPublicKey(d, true)), `public key ${i}`);
      const sig = opensslP256.sign(d, digest);
      assert.equal(toHex(sig), toHex(p256.sign(digest, d, { prehash: false, lowS: true })), `signature ${i}`);
      assert.ok(BigInt(`0x${toHex(sig.subarray(32))}`) <= N / 2n, 'low-S');
      const point = p256.Point.fromBytes(pub).toBytes(false);
      const key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: Buffer.from(point.subarray(1, 33)).toString('base64url'), y: Buffer.from(point.subarray(33)).toString('base64url') }, format: 'jwk' });
      // node:crypto hashes what it verifies: check a signature over a message whose SHA-256 it computes.
      if (i >= 4) continue;
      const msg = Buffer.from(`record ${i}`);
      const h = new Uint8Array(createHash('sha256').update(msg).digest());
      assert.equal(nodeVerify('sha256', msg, { key, dsaEncoding: 'ieee-p1363' }, opensslP256.sign(d, h)), true, `node:crypto verifies ${i}`);
    }
  });
});
