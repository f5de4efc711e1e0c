import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { fromHex, toHex } from '../modules/core/bytes.js';
import { securityAddress } from '../modules/oms-crypto/address.js';
import { computeAflMac, encodeAfl, parseAfl, verifyAflMac } from '../modules/oms-crypto/afl.js';
import { deriveMeterKeys } from '../modules/oms-crypto/kdf.js';
import { mode5Iv } from '../modules/oms-crypto/mode5.js';
import { checkDecrypted, padForEncryption } from '../modules/oms-crypto/payload.js';
import { nobleCrypto } from '../hosts/sim/noble-crypto.js';
import type { AesKey } from '../modules/ports/crypto.js';
import { cmacNode, ecb, kdfNode } from './helpers/node-oms.js';
import { readVectors } from './helpers/vectors.js';

interface CryptoVectors {
  aes128cbc: { source: string; key: string; iv: string; plaintext: string; ciphertext: string }[];
  aes128cmac: { source: string; key: string; message: string; mac: string }[];
}
const vectors = readVectors<unknown>('crypto.json') as CryptoVectors;
const oms = readVectors<unknown>('oms.json') as {
  telegrams: { key: string; iv: string; frameWithoutCrc: string }[];
};

const bytes16 = fc.uint8Array({ minLength: 16, maxLength: 16 });

function encryptZero(key: AesKey): Uint8Array {
  const out = new Uint8Array(16);
  nobleCrypto.aesEncryptBlock(key, new Uint8Array(16), out);
  return out;
}

describe('oms-crypto', () => {
  describe('published vectors', () => {
    it('mode 5 IV of OMS Vol. 2 Annex N.2.1', () => {
      const t = oms.telegrams[0];
      const f = fromHex(t.frameWithoutCrc);
      assert.equal(toHex(mode5Iv(securityAddress(f.subarray(2, 10)), f[11])), t.iv);
    });
  });

  describe('the OMS address rule', () => {
    it('takes M ‖ A of a TPL long header (ID, M, version, type on the wire) over the link layer\'s', () => {
      const link = fromHex('93157856341233030000'.slice(0, 16));
      assert.equal(toHex(securityAddress(link)), '9315785634123303');
      // Long header address on the wire: ID 44332211, M 2d2c, version 1b, device type 16.
      assert.equal(toHex(securityAddress(link, fromHex('443322112d2c1b16'))), '2d2c443322111b16');
      assert.throws(() => securityAddress(link.subarray(0, 7)), { code: 'address' });
    });
  });

  describe('typed errors', () => {
    it('2F2F check and payload limits', () => {
      assert.throws(() => checkDecrypted(new Uint8Array(16), 5), { code: 'wrong-key', name: 'SecurityError' });
      assert.throws(() => padForEncryption(new Uint8Array(239)), { code: 'payload-too-long' });
      assert.equal(padForEncryption(new Uint8Array(238)).length, 240);
      assert.equal(toHex(padForEncryption(new Uint8Array([1, 2]))), '2f2f0102' + '2f'.repeat(12));
    });
  });

  describe('independent cross-check against node:crypto', () => {
    it('KDF (Kenc DC 0x00, Kmac DC 0x01) agrees with the layout written from OMS Vol. 2 §9.5', () => {
      fc.assert(
        fc.property(bytes16, fc.integer({ min: 0, max: 0xffffffff }), fc.uint8Array({ minLength: 4, maxLength: 4 }), (key, ctr, id) => {
          const { kenc, kmac } = deriveMeterKeys(nobleCrypto, nobleCrypto.aesKey(key), ctr, id);
          // A derived key is a handle: it must encrypt as the independently derived raw key does.
          assert.equal(toHex(encryptZero(kenc)), toHex(ecb(kdfNode(key, 0x00, ctr, id), new Uint8Array(16))));
          assert.equal(toHex(encryptZero(kmac)), toHex(ecb(kdfNode(key, 0x01, ctr, id), new Uint8Array(16))));
          kenc.wipe();
          assert.throws(() => encryptZero(kenc), { code: 'wiped-key' });
        }),
        { numRuns: 50 },
      );
    });
    it('AFL: 90 0F 00 2C 25 MCR MAC, MAC = CMAC(Kmac, MCL ‖ MCR ‖ TPL…)[0..8]', () => {
      fc.assert(
        fc.property(bytes16, fc.integer({ min: 0, max: 0xffffffff }), fc.uint8Array({ minLength: 1, maxLength: 100 }), (kmacRaw, ctr, msg) => {
          const kmac = nobleCrypto.aesKey(kmacRaw);
          const afl = encodeAfl(nobleCrypto, kmac, ctr, msg);
          const mcr = Buffer.alloc(4);
          mcr.writeUInt32LE(ctr);
          const mac = cmacNode(kmacRaw, Buffer.concat([Buffer.from([0x25]), mcr, msg])).subarray(0, 8);
          assert.equal(toHex(afl), '900f002c25' + toHex(mcr) + toHex(mac));
          const parsed = parseAfl(afl, 0);
          assert.equal(parsed.next, 17);
          assert.equal(parsed.afl.messageCounter, ctr);
          verifyAflMac(nobleCrypto, kmac, parsed.afl, msg);
          assert.equal(toHex(computeAflMac(nobleCrypto, kmac, 0x25, ctr, undefined, msg)), toHex(mac));
        }),
        { numRuns: 50 },
      );
    });
  });

  describe('AFL parsing is strict', () => {
    const kmacRaw = new Uint8Array(16).fill(7);
    const kmac = nobleCrypto.aesKey(kmacRaw);
    const msg = fromHex('7a01000007100102');
    const afl = encodeAfl(nobleCrypto, kmac, 9, msg);
    it('rejects a wrong MAC, a fragmented AFL, other authentication types and a bad AFL.L', () => {
      const bad = afl.slice();
      bad[16] ^= 1;
      assert.throws(() => verifyAflMac(nobleCrypto, kmac, parseAfl(bad, 0).afl, msg), { code: 'mac-mismatch' });
      const frag = afl.slice();
      frag[3] |= 0x40;
      assert.throws(() => parseAfl(frag, 0), { code: 'unsupported-afl' });
      const at = afl.slice();
      at[4] = 0x24;
      assert.throws(() => parseAfl(at, 0), { code: 'unsupported-afl' });
      const len = afl.slice();
      len[1] = 0x10;
      assert.throws(() => parseAfl(len, 0), { code: 'truncated' });
      assert.throws(() => parseAfl(afl.subarray(0, 10), 0), { code: 'truncated' });
    });
    it('reads the optional KI and ML where EN 13757-7:2018 Table 3 puts them, and the MAC covers both', () => {
      // Layout written out from EN 13757-7:2018 §6.3 (Table 3): CI 90, AFL.L, FCL(2), MCL, KI(2),
      // MCR(4), MAC(8), ML(2): ML comes after the MAC. MAC = CMAC(Kmac, MCL ‖ KI ‖ MCR ‖ ML ‖ TPDU).
      const mcl = 0x10 | 0x20 | 0x40 | 0x05; // KIMP, MCMP, MLMP, AT = 5
      const fcl = 0x2000 | 0x1000 | 0x0800 | 0x0400 | 0x0200; // MCLP, MLP, MCRP, MACP, KIP
      const ki = [0x34, 0x12];
      const mcr = [0x09, 0x00, 0x00, 0x00];
      const ml = [msg.length, 0x00];
      const mac = cmacNode(kmacRaw, new Uint8Array([mcl, ...ki, ...mcr, ...ml, ...msg])).subarray(0, 8);
      const fields = [fcl & 0xff, fcl >> 8, mcl, ...ki, ...mcr, ...mac, ...ml];
      const wire = new Uint8Array([0x90, fields.length, ...fields, ...msg]);
      const parsed = parseAfl(wire, 0);
      assert.equal(parsed.next, 2 + fields.length);
      assert.equal(parsed.afl.keyInformation, 0x1234);
      assert.equal(parsed.afl.messageCounter, 9);
      assert.equal(parsed.afl.messageLength, msg.length);
      assert.equal(toHex(parsed.afl.mac), toHex(mac));
      verifyAflMac(nobleCrypto, kmac, parsed.afl, msg);
      const other = { ...parsed.afl, keyInformation: 0x1235 };
      assert.throws(() => verifyAflMac(nobleCrypto, kmac, other, msg), { code: 'mac-mismatch' });
    });
  });
});
