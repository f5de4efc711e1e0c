/**
 * The desktop crypto port (hosts/sim/noble-crypto.ts) against published vectors (test/vectors:
 * SP 800-38A, RFC 4493, FIPS 180-2, RFC 3394 through the key wrap, RFC 6979) and against node:crypto
 * on random inputs; handles, wiping, typed length errors, unaligned and in-place buffers. The
 * fleet's variant (OpenSSL P-256 signing) against @noble's signatures and node:crypto's verify.
 */
import assert from 'node:assert/strict';
import { createCipheriv, createHash, createPublicKey, generateKeyPairSync, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import fc from 'fast-check';
import { fromHex, toHex } from '../modules/core/bytes.js';
import { cmacOf, sha256Of } from '../modules/ports/crypto.js';
import { unwrapKey128, wrapKey128 } from '../modules/service/key-wrap.js';
import { p256 as nobleP256 } from '@noble/curves/nist.js';
import { invert } from '@noble/curves/abstract/modular.js';
import { baseTableWindow, createNobleCrypto, invertMod, nobleCrypto as c } from '../hosts/sim/noble-crypto.js';
import { withOpenSslSigning } from '../hosts/sim/openssl-p256.js';
import { cbcEncrypt, cmacNode, ecb } from './helpers/node-oms.js';
import { readVectors } from './helpers/vectors.js';

interface Vectors {
  aes128cbc: { source: string; key: string; iv: string; plaintext: string; ciphertext: string }[];
  aes128cmac: { source: string; key: string; message: string; mac: string }[];
  sha256: { source: string; message: string; digest: string }[];
  aes128kw: { source: string; kek: string; key: string; wrapped: string }[];
  p256ecdsa: { source: string; privateKey: string; publicKey: string; message: string; r: string; s: string }[];
}
const v = readVectors<Vectors>('crypto.json');
const N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');

const bytes16 = fc.uint8Array({ minLength: 16, maxLength: 16 });
const hex32 = (n: bigint): string => n.toString(16).padStart(64, '0');

function jwk(publicKey: Uint8Array) {
  return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: Buffer.from(publicKey.subarray(1, 33)).toString('base64url'), y: Buffer.from(publicKey.subarray(33, 65)).toString('base64url') }, format: 'jwk' });
}

describe('crypto port: the desktop implementation (@noble)', () => {
  describe('published vectors', () => {
    for (const t of v.aes128cbc) {
      it(`AES-128-CBC: ${t.source}`, () => {
        const key = c.aesKey(fromHex(t.key));
        const out = new Uint8Array(t.plaintext.length / 2);
        c.aesCbcEncrypt(key, fromHex(t.iv), fromHex(t.plaintext), out);
        assert.equal(toHex(out), t.ciphertext);
        c.aesCbcDecrypt(key, fromHex(t.iv), out, out); // in place
        assert.equal(toHex(out), t.plaintext);
      });
    }
    for (const t of v.aes128cmac) {
      it(`AES-CMAC: ${t.source}`, () => assert.equal(toHex(cmacOf(c, c.aesKey(fromHex(t.key)), fromHex(t.message))), t.mac));
    }
    for (const t of v.sha256) it(`SHA-256: ${t.source}`, () => assert.equal(toHex(sha256Of(c, fromHex(t.message))), t.digest));
    for (const t of v.aes128kw) {
      it(`AES key wrap on the block functions: ${t.source}`, () => {
        const kek = c.aesKey(fromHex(t.kek));
        assert.equal(toHex(wrapKey128(c, kek, fromHex(t.key))), t.wrapped);
        assert.equal(toHex(unwrapKey128(c, kek, fromHex(t.wrapped))!), t.key);
        const bad = fromHex(t.wrapped);
        bad[3] ^= 0x10;
        assert.equal(unwrapKey128(c, kek, bad), undefined);
      });
    }
    for (const t of v.p256ecdsa) {
      it(`ECDSA P-256: ${t.source}, deterministic and normalised to low-S; the published signature verifies once normalised`, () => {
        const key = c.p256PrivateKey(fromHex(t.privateKey));
        const pub = fromHex(t.publicKey);
        assert.equal(toHex(c.p256PublicKey(key)), (pub[64] & 1 ? '03' : '02') + t.publicKey.slice(2, 66));
        const digest = createHash('sha256').update(fromHex(t.message)).digest();
        const sig = new Uint8Array(64);
        c.p256Sign(key, digest, sig);
        const s = BigInt('0x' + t.s);
        const low = s > N / 2n ? N - s : s;
        assert.equal(toHex(sig), t.r + hex32(low));
        assert.equal(c.p256Verify(pub, digest, sig), true);
        assert.equal(c.p256Verify(c.p256PublicKey(key), digest, sig), true, 'compressed key');
        if (low !== s) assert.equal(c.p256Verify(pub, digest, fromHex(t.r + t.s)), false, 'a high-S signature is refused');
      });
    }
  });

  describe('against node:crypto on random inputs', () => {
    it('AES block, CBC and CMAC', () => {
      fc.assert(
        fc.property(bytes16, bytes16, fc.integer({ min: 1, max: 6 }), fc.uint8Array({ maxLength: 80 }), (raw, iv, blocks, msg) => {
          const key = c.aesKey(raw);
          const data = new Uint8Array(blocks * 16).map((_, i) => (i * 31 + raw[0]) & 0xff);
          const out = new Uint8Array(data.length);
          c.aesCbcEncrypt(key, iv, data, out);
          assert.equal(toHex(out), toHex(cbcEncrypt(raw, iv, data)));
          const back = new Uint8Array(out.length);
          c.aesCbcDecrypt(key, iv, out, back);
          assert.equal(toHex(back), toHex(data));
          const block = new Uint8Array(16);
          c.aesEncryptBlock(key, iv, block);
          assert.equal(toHex(block), toHex(ecb(raw, iv)));
          c.aesDecryptBlock(key, block, block);
          assert.equal(toHex(block), toHex(iv));
          assert.equal(toHex(cmacOf(c, key, msg)), toHex(cmacNode(raw, msg)));
          assert.equal(toHex(cmacOf(c, key, data)), toHex(cmacNode(raw, data)), 'again with the same key (cached subkeys)');
        }),
        { numRuns: 60 },
      );
    });
    it('SHA-256', () => {
      fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (m) => assert.equal(toHex(sha256Of(c, m)), createHash('sha256').update(m).digest('hex'))), { numRuns: 60 });
    });
    it('ECDSA: node:crypto verifies ours; ours verifies node\'s once normalised to low-S', () => {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const d = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
      const pubJwk = publicKey.export({ format: 'jwk' });
      const pub = new Uint8Array([4, ...Buffer.from(pubJwk.x!, 'base64url'), ...Buffer.from(pubJwk.y!, 'base64url')]);
      const key = c.p256PrivateKey(d);
      for (let i = 0; i < 8; i++) {
        const msg = Buffer.from(`message ${i}`);
        const digest = createHash('sha256').update(msg).digest();
        const ours = new Uint8Array(64);
        c.p256Sign(key, digest, ours);
        assert.equal(nodeVerify('sha256', msg, { key: jwk(pub), dsaEncoding: 'ieee-p1363' }, ours), true);
        const theirs = nodeSign('sha256', msg, { key: privateKey, dsaEncoding: 'ieee-p1363' });
        const s = BigInt('0x' + theirs.subarray(32).toString('hex'));
        const normal = fromHex(theirs.subarray(0, 32).toString('hex') + hex32(s > N / 2n ? N - s : s));
        assert.equal(c.p256Verify(pub, digest, normal), true);
        normal[5] ^= 1;
        assert.equal(c.p256Verify(pub, digest, normal), false);
      }
    });
    it('P-256 (the provider\'s curve on its own field): public keys and signatures are noble\'s stock p256\'s, before and after the base point\'s table is widened; verification agrees', () => {
      const fresh = createNobleCrypto();
      const sign = (d: Uint8Array, digest: Uint8Array): Uint8Array => {
        const k = fresh.p256PrivateKey(d);
        const sig = new Uint8Array(64);
        fresh.p256Sign(k, digest, sig);
        k.wipe();
        return sig;
      };
      // Secret keys near 0, near n and random; 300 multiplications pass the widening at 256.
      const scalars = [1n, 2n, 3n, N - 1n, N - 2n, N / 2n, (1n << 255n) + 1n].map((x) => fromHex(hex32(x)));
      const random = fc.sample(fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((d) => nobleP256.utils.isValidSecretKey(d)), 140);
      for (const [i, d] of [...scalars, ...random].entries()) {
        const digest = createHash('sha256').update(`digest ${i}`).digest();
        const k = fresh.p256PrivateKey(d);
        const pub = fresh.p256PublicKey(k);
        k.wipe();
        assert.equal(toHex(pub), toHex(nobleP256.getPublicKey(d, true)), `public key ${i}`);
        const sig = sign(d, digest);
        assert.equal(toHex(sig), toHex(nobleP256.sign(digest, d, { prehash: false, lowS: true })), `signature ${i}`);
        assert.equal(fresh.p256Verify(nobleP256.getPublicKey(d, false), digest, sig), true);
        const bad = sig.slice();
        bad[i % 64] ^= 1;
        assert.equal(fresh.p256Verify(pub, digest, bad), nobleP256.verify(bad, digest, pub, { prehash: false, lowS: true }));
      }
      assert.equal(baseTableWindow(), 8, 'widened after 256 multiplications');
    });
    it('P-256 inversion (Lehmer) mod p and mod n: a·r ≡ 1 and the same number as noble\'s invert; non-invertible input throws as noble\'s', () => {
      const P = nobleP256.Point.CURVE().p;
      const big = fc.bigInt({ min: 1n, max: (1n << 256n) - 1n });
      const shifted = fc.tuple(big, fc.integer({ min: 0, max: 255 })).map(([x, k]) => x >> BigInt(k));
      for (const m of [P, N]) {
        const edge = [1n, 2n, 3n, m - 1n, m - 2n, m / 2n, (1n << 52n) - 1n, 1n << 52n, (1n << 53n) + 1n, 1n << 255n, m - (1n << 52n)];
        const random = fc.sample(fc.oneof(big, shifted).map((x) => x % m).filter((x) => x !== 0n), 4000);
        for (const a of [...edge, ...random]) {
          const r = invertMod(a, m);
          assert.equal((a * r) % m, 1n, `${a} mod ${m}`);
          assert.equal(r, invert(a, m));
        }
        assert.throws(() => invertMod(0n, m), /invert/);
      }
      assert.throws(() => invertMod(6n, 9n), /invert/);
    });
    it('ECDSA: a signature the provider just made verifies as node:crypto says, and nothing near it does', () => {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const key = c.p256PrivateKey(Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url'));
      const pub = c.p256PublicKey(key); // known: its signatures are remembered
      const other = c.p256PublicKey(c.p256PrivateKey(createHash('sha256').update('other').digest()));
      for (let i = 0; i < 20; i++) {
        const msg = Buffer.from(`record ${i}`);
        const digest = new Uint8Array(createHash('sha256').update(msg).digest());
        const sig = new Uint8Array(64);
        c.p256Sign(key, digest, sig);
        assert.equal(nodeVerify('sha256', msg, { key: publicKey, dsaEncoding: 'ieee-p1363' }, sig), true);
        assert.equal(c.p256Verify(pub, digest, sig), true);
        const bad = sig.slice();
        bad[i % 64] ^= 1 << i % 8;
        assert.equal(c.p256Verify(pub, digest, bad), false, `signature bit ${i} flipped`);
        const d2 = digest.slice();
        d2[31 - (i % 32)] ^= 1;
        assert.equal(c.p256Verify(pub, d2, sig), false, 'another digest');
        assert.equal(c.p256Verify(other, digest, sig), false, 'another key');
      }
    });
  });

  describe('handles, buffers and typed errors', () => {
    it('works on unaligned subarrays and in place', () => {
      const raw = fromHex(v.aes128cbc[0].key);
      const key = c.aesKey(raw);
      const buf = new Uint8Array(33);
      buf.set(fromHex(v.aes128cbc[0].iv), 1);
      const block = buf.subarray(1, 17);
      c.aesEncryptBlock(key, block, block);
      assert.equal(toHex(block), toHex(ecb(raw, fromHex(v.aes128cbc[0].iv))));
    });
    it('copies the raw key; a wiped handle refuses every use', () => {
      const raw = new Uint8Array(16).fill(5);
      const key = c.aesKey(raw);
      raw.fill(0);
      const out = new Uint8Array(16);
      c.aesEncryptBlock(key, new Uint8Array(16), out);
      assert.equal(toHex(out), toHex(ecb(new Uint8Array(16).fill(5), new Uint8Array(16))));
      key.wipe();
      key.wipe();
      assert.throws(() => c.aesEncryptBlock(key, new Uint8Array(16), out), { name: 'CryptoError', code: 'wiped-key' });
      assert.throws(() => c.aesCmac(key, new Uint8Array(3), out), { code: 'wiped-key' });
      const sk = c.p256PrivateKey(fromHex(v.p256ecdsa[0].privateKey));
      sk.wipe();
      assert.throws(() => c.p256Sign(sk, new Uint8Array(32), new Uint8Array(64)), { code: 'wiped-key' });
    });
    it('a wiped handle\'s zeroed arrays serve the next key: nothing of the old key (schedules, subkeys) carries over, and the wiped handle stays refused', () => {
      fc.assert(
        fc.property(fc.array(bytes16, { minLength: 2, maxLength: 6 }), bytes16, (raws, iv) => {
          const data = new Uint8Array(32).map((_, i) => i * 7);
          const wiped: ReturnType<typeof c.aesKey>[] = [];
          for (const raw of raws) {
            const key = c.aesKey(raw);
            const out = new Uint8Array(32);
            // Each direction and the subkeys in turn, so a stale one from the previous key would show.
            c.aesCbcDecrypt(key, iv, data, out);
            assert.equal(toHex(cbcEncrypt(raw, iv, out)), toHex(data));
            c.aesCbcEncrypt(key, iv, data, out);
            assert.equal(toHex(out), toHex(cbcEncrypt(raw, iv, data)));
            assert.equal(toHex(cmacOf(c, key, data.subarray(0, 20))), toHex(cmacNode(raw, data.subarray(0, 20))));
            key.wipe();
            wiped.push(key);
          }
          for (const key of wiped) assert.throws(() => c.aesEncryptBlock(key, iv, new Uint8Array(16)), { code: 'wiped-key' });
        }),
        { numRuns: 40 },
      );
    });
    it('wrong lengths are CryptoErrors; malformed verification input is false', () => {
      const key = c.aesKey(new Uint8Array(16));
      assert.throws(() => c.aesKey(new Uint8Array(15)), { name: 'CryptoError', code: 'length' });
      assert.throws(() => c.aesCbcEncrypt(key, new Uint8Array(8), new Uint8Array(16), new Uint8Array(16)), { code: 'length' });
      assert.throws(() => c.aesCbcDecrypt(key, new Uint8Array(16), new Uint8Array(17), new Uint8Array(17)), { code: 'block-length' });
      assert.throws(() => c.aesCbcEncrypt(key, new Uint8Array(16), new Uint8Array(32), new Uint8Array(16)), { code: 'length' });
      assert.throws(() => c.aesCmac(key, new Uint8Array(1), new Uint8Array(8)), { code: 'length' });
      assert.throws(() => c.sha256(new Uint8Array(1), new Uint8Array(31)), { code: 'length' });
      assert.throws(() => c.p256PrivateKey(new Uint8Array(32)), { code: 'bad-key' });
      assert.throws(() => c.p256PrivateKey(fromHex(hex32(N))), { code: 'bad-key' });
      assert.equal(c.p256Verify(new Uint8Array(33), new Uint8Array(32), new Uint8Array(64)), false);
      assert.equal(c.p256Verify(fromHex(v.p256ecdsa[0].publicKey), new Uint8Array(31), new Uint8Array(64)), false);
    });
    it('random bytes fill the buffer', () => {
      const a = new Uint8Array(32);
      const b = new Uint8Array(32);
      c.randomBytes(a);
      c.randomBytes(b);
      assert.notEqual(toHex(a), toHex(b));
    });
  });
});

describe('crypto port: a fleet\'s meters sign on OpenSSL (hosts/sim/openssl-p256.ts)', () => {
  const o = withOpenSslSigning(c);
  const scalars = [1n, 2n, 3n, N - 1n, N - 2n, N / 2n, N / 2n + 1n, (1n << 255n) + 1n].map((x) => fromHex(hex32(x)));
  const random = fc.sample(fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((d) => nobleP256.utils.isValidSecretKey(d)), 150);
  // Digests at and above n (h mod n in RFC 6979's seed), at 0 and random.
  const digests = [new Uint8Array(32), new Uint8Array(32).fill(0xff), fromHex(hex32(N)), fromHex(hex32(N - 1n))];

  it('public keys and signatures are @noble\'s stock p256\'s (RFC 6979, low-S), byte for byte', () => {
    for (const [i, d] of [...scalars, ...random].entries()) {
      const digest = i < digests.length ? digests[i] : new Uint8Array(createHash('sha256').update(`openssl ${i}`).digest());
      const k = o.p256PrivateKey(d);
      assert.equal(toHex(o.p256PublicKey(k)), toHex(nobleP256.getPublicKey(d, true)), `public key ${i}`);
      const sig = new Uint8Array(64);
      o.p256Sign(k, digest, sig);
      assert.equal(toHex(sig), toHex(nobleP256.sign(digest, d, { prehash: false, lowS: true })), `signature ${i}`);
      // A signature before the public key was asked for is the same too.
      const fresh = o.p256PrivateKey(d);
      const again = new Uint8Array(64);
      o.p256Sign(fresh, digest, again);
      assert.equal(toHex(again), toHex(sig));
    }
  });

  it('node:crypto verifies its signatures over the message; its verify agrees with @noble\'s on altered ones', () => {
    for (const [i, d] of random.slice(0, 40).entries()) {
      const msg = Buffer.from(`log record ${i}`);
      const digest = new Uint8Array(createHash('sha256').update(msg).digest());
      const k = o.p256PrivateKey(d);
      const pub = o.p256PublicKey(k);
      const sig = new Uint8Array(64);
      o.p256Sign(k, digest, sig);
      assert.equal(nodeVerify('sha256', msg, { key: jwk(nobleP256.getPublicKey(d, false)), dsaEncoding: 'ieee-p1363' }, sig), true);
      assert.equal(o.p256Verify(pub, digest, sig), true);
      assert.equal(o.p256Verify(nobleP256.getPublicKey(d, false), digest, sig), true, 'uncompressed key: verified in full');
      const bad = sig.slice();
      bad[i % 64] ^= 1;
      assert.equal(o.p256Verify(pub, digest, bad), false);
      const otherDigest = digest.slice();
      otherDigest[31] ^= 1;
      assert.equal(o.p256Verify(pub, otherDigest, sig), false);
    }
  });

  it('typed errors: lengths, scalars outside 1 … n − 1, wiped handles and another provider\'s handles', () => {
    for (const bad of [new Uint8Array(31), new Uint8Array(33)]) assert.throws(() => o.p256PrivateKey(bad), { name: 'CryptoError', code: 'length' });
    for (const bad of [new Uint8Array(32), fromHex(hex32(N)), new Uint8Array(32).fill(0xff)]) assert.throws(() => o.p256PrivateKey(bad), { name: 'CryptoError', code: 'bad-key' });
    const k = o.p256PrivateKey(scalars[2]);
    assert.throws(() => o.p256Sign(k, new Uint8Array(31), new Uint8Array(64)), { name: 'CryptoError', code: 'length' });
    assert.throws(() => o.p256Sign(k, new Uint8Array(32), new Uint8Array(63)), { name: 'CryptoError', code: 'length' });
    k.wipe();
    k.wipe();
    assert.throws(() => o.p256PublicKey(k), { name: 'CryptoError', code: 'wiped-key' });
    assert.throws(() => o.p256Sign(k, new Uint8Array(32), new Uint8Array(64)), { name: 'CryptoError', code: 'wiped-key' });
    const nobles = c.p256PrivateKey(scalars[2]);
    assert.throws(() => o.p256Sign(nobles, new Uint8Array(32), new Uint8Array(64)), { name: 'CryptoError', code: 'wiped-key' });
    assert.throws(() => c.p256Sign(o.p256PrivateKey(scalars[2]), new Uint8Array(32), new Uint8Array(64)), { name: 'CryptoError', code: 'wiped-key' });
  });

  it('everything but the private-key operations is the base port\'s: AES and SHA-256 as node:crypto', () => {
    const key = fromHex('2b7e151628aed2a6abf7158809cf4f3c');
    const block = fromHex('6bc1bee22e409f96e93d7e117393172a');
    const out = new Uint8Array(16);
    o.aesEncryptBlock(o.aesKey(key), block, out);
    assert.equal(toHex(out), toHex(ecb(key, block)));
    assert.equal(toHex(sha256Of(o, block)), createHash('sha256').update(block).digest('hex'));
  });
});
