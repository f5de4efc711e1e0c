import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import fc from 'fast-check';
import { aeskw, cmac as nobleCmac } from '@noble/ciphers/aes.js';
import { fromHex, toHex } from '../modules/core/bytes.js';
import { Aes128, AesError, cbcDecrypt, cbcEncrypt, cmac, keyUnwrap, keyWrap } from '../modules/core/aes128.js';
import { runInBoth } from './helpers/xs.js';
import { bytes } from './xs/aes128.xs.js';

const isAes = (code: string) => (e: unknown) => e instanceof AesError && e.code === code;

describe('AES-128 (modules/core/aes128.ts)', () => {
  it('FIPS 197 appendix C.1: encrypts and decrypts the example block', () => {
    const aes = new Aes128(fromHex('000102030405060708090a0b0c0d0e0f'));
    const block = fromHex('00112233445566778899aabbccddeeff');
    aes.encryptBlock(block, 0, block, 0); // in place
    assert.equal(toHex(block), '69c4e0d86a7b0430d8cdb78070b4c55a');
    aes.decryptBlock(block, 0, block, 0);
    assert.equal(toHex(block), '00112233445566778899aabbccddeeff');
  });

  it('SP 800-38A F.2.1/F.2.2: CBC-AES128 encrypt and decrypt', () => {
    const key = fromHex('2b7e151628aed2a6abf7158809cf4f3c');
    const iv = fromHex('000102030405060708090a0b0c0d0e0f');
    const plain = fromHex('6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710');
    const cipher = '7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b273bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7';
    assert.equal(toHex(cbcEncrypt(key, iv, plain)), cipher);
    assert.equal(toHex(cbcDecrypt(key, iv, fromHex(cipher))), toHex(plain));
  });

  it('RFC 4493 §4: AES-CMAC examples 1–4', () => {
    const key = fromHex('2b7e151628aed2a6abf7158809cf4f3c');
    const m = fromHex('6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710');
    assert.equal(toHex(cmac(key, m.subarray(0, 0))), 'bb1d6929e95937287fa37d129b756746');
    assert.equal(toHex(cmac(key, m.subarray(0, 16))), '070a16b46b4d4144f79bdd9dd04a287c');
    assert.equal(toHex(cmac(key, m.subarray(0, 40))), 'dfa66747de9ae63030ca32611497c827');
    assert.equal(toHex(cmac(new Aes128(key), m)), '51f0bebf7e3b9d92fc49741779363cfe');
  });

  it('RFC 3394 §4.1: wraps 128 bits of key data with a 128-bit KEK, unwraps, and refuses an altered wrap', () => {
    const kek = fromHex('000102030405060708090a0b0c0d0e0f');
    const wrapped = keyWrap(kek, fromHex('00112233445566778899aabbccddeeff'));
    assert.equal(toHex(wrapped), '1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5');
    assert.equal(toHex(keyUnwrap(kek, wrapped)), '00112233445566778899aabbccddeeff');
    wrapped[20] ^= 1;
    assert.throws(() => keyUnwrap(kek, wrapped), isAes('integrity'));
  });

  it('agrees with node:crypto (CBC) and @noble/ciphers (CMAC, key wrap) on random input (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ maxLength: 80 }), (key, iv, msg) => {
        const blocks = msg.subarray(0, msg.length - (msg.length % 16));
        const ref = createCipheriv('aes-128-cbc', key, iv).setAutoPadding(false).update(blocks);
        assert.equal(toHex(cbcEncrypt(key, iv, blocks)), toHex(ref));
        assert.equal(toHex(cbcDecrypt(key, iv, ref)), toHex(blocks));
        assert.equal(toHex(cmac(key, msg)), toHex(nobleCmac(msg, key)));
        const kd = msg.subarray(0, msg.length - (msg.length % 8));
        if (kd.length >= 16) {
          assert.equal(toHex(keyWrap(key, kd)), toHex(aeskw(key).encrypt(kd)));
          assert.equal(toHex(keyUnwrap(key, keyWrap(key, kd))), toHex(kd));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('bad lengths are typed errors', () => {
    assert.throws(() => new Aes128(new Uint8Array(15)), isAes('key-length'));
    assert.throws(() => cmac(new Uint8Array(32), new Uint8Array(1)), isAes('key-length'));
    assert.throws(() => cbcEncrypt(new Uint8Array(16), new Uint8Array(12), new Uint8Array(16)), isAes('iv-length'));
    assert.throws(() => cbcDecrypt(new Uint8Array(16), new Uint8Array(16), new Uint8Array(17)), isAes('block-length'));
    assert.throws(() => keyWrap(new Uint8Array(16), new Uint8Array(12)), isAes('block-length'));
    assert.throws(() => keyUnwrap(new Uint8Array(16), new Uint8Array(16)), isAes('block-length'));
  });

  it('under XS: the same output as Node, which matches node:crypto', async function () {
    this.timeout(60_000);
    const { xs, node } = await runInBoth('test/xs/aes128.xs.ts');
    assert.deepEqual(xs.lines, node.lines);
    assert.ok(node.lines.filter((l) => l.includes(' back ')).every((l) => l.endsWith('true true')));
    // Every printed block and CBC ciphertext is node:crypto's.
    for (const line of node.lines.filter((l) => l.includes(' ecb '))) {
      const [t, , ecb, , cbc] = line.split(' ');
      const n = Number(t);
      const key = bytes(n, 16);
      const data = bytes(n + 2000, 16 * (1 + (n % 4)));
      assert.equal(ecb, createCipheriv('aes-128-ecb', key, null).setAutoPadding(false).update(data.subarray(0, 16)).toString('hex'));
      assert.equal(cbc, createCipheriv('aes-128-cbc', key, bytes(n + 1000, 16)).setAutoPadding(false).update(data).toString('hex'));
    }
  });
});
