/**
 * The published OMS Vol. 2 Annex N example telegrams: N.2.1 (security mode 5, from
 * test/vectors/oms.json) and N.2.2 (security profile B, mode 7 with AFL; the telegram and key as
 * published in Annex N and reproduced in the test suites of several open-source decoders; its MAC
 * and decryption were re-checked in this file with node:crypto, see helpers/node-oms.ts).
 * Both must decode to the published data and re-encode byte for byte from their records.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { concat, fromHex, readU32LE, toHex } from '../modules/core/bytes.js';
import { decodeManufacturer } from '../modules/wmbus/dll.js';
import { encodeBcd, encodeInt, encodeRecord, encodeTypeF } from '../modules/wmbus/records.js';
import { buildTelegram, buildTelegramBody } from '../modules/wmbus-tx/telegram.js';
import { parseFrameWithoutCrc } from '../modules/wmbus/frame-parse.js';
import { Receiver, keyTable } from '../modules/wmbus-rx/receiver.js';
import { cbcEncrypt, cmacNode, kdfNode } from './helpers/node-oms.js';
import { readVectors } from './helpers/vectors.js';
import { nobleCrypto } from '../hosts/sim/noble-crypto.js';

interface OmsVector {
  key: string;
  frameFormat: 'A';
  frameWithCrc: string;
  frameWithoutCrc: string;
  fields: Record<string, string | number>;
  decryptedApplicationData: string;
  records: { dif: string; vif: string; data: string }[];
}
const n21 = (readVectors<unknown>('oms.json') as { telegrams: OmsVector[] }).telegrams[0];

const N22 = {
  key: '000102030405060708090a0b0c0d0e0f',
  frameWithoutCrc:
    '434493157856341233038c2075900f002c25b30a000021924d4f2fb66e017a75002007109058475f4bc91df878b80a1b0f98b629024aac727942bfc549233c0140829b93',
};

// The Annex N application data (both examples carry the same three records).
const annexRecords = concat(
  encodeRecord({ field: 'bcd8', function: 'instantaneous', storage: 0, tariff: 0, subunit: 0, vib: [0x14] }, encodeBcd(2850427, 4)),
  encodeRecord({ field: 'int32', function: 'instantaneous', storage: 0, tariff: 0, subunit: 0, vib: [0x6d] }, encodeTypeF('2008-05-31T23:50')),
  encodeRecord({ field: 'int16', function: 'instantaneous', storage: 0, tariff: 0, subunit: 0, vib: [0xfd, 0x17] }, encodeInt(0, 2)),
);

const header = { control: 0x44, manufacturer: decodeManufacturer(0x1593), id: '12345678', version: 0x33, deviceType: 0x03 };

describe('OMS Vol. 2 Annex N example telegrams', () => {
  describe('N.2.1, security mode 5', () => {
    const receiver = (): Receiver => new Receiver({ crypto: nobleCrypto, keys: keyTable({ '12345678': fromHex(n21.key) }) });

    it('decodes the frame with CRCs to the published decrypted data and records', () => {
      const t = receiver().receiveFrame(fromHex(n21.frameWithCrc), 'A');
      assert.equal(t.applicationData, n21.decryptedApplicationData);
      assert.equal(t.meter.id, n21.fields.id);
      assert.equal(t.accessNumber, 0x2a);
      assert.equal(t.securityMode, 5);
      assert.equal(t.mac, 'none');
      assert.deepEqual(
        t.values.map((v) => v.record),
        n21.records.map((r) => r.dif + r.vif + r.data),
      );
      assert.equal(t.values[0].value, 28504.27);
      assert.equal(t.values[0].unit, 'm3');
    });

    it('decodes the frame without CRCs the same way', () => {
      const t = receiver().receiveFrame(fromHex(n21.frameWithoutCrc), 'none');
      assert.equal(t.applicationData, n21.decryptedApplicationData);
    });

    it('re-encodes byte for byte (with and without CRCs)', () => {
      const o = {
        header,
        records: annexRecords,
        security: { mode: 5 as const, key: nobleCrypto.aesKey(fromHex(n21.key)), crypto: nobleCrypto },
        counters: { accessNumber: 0x2a },
        flags: { synchronous: true },
      };
      assert.equal(toHex(buildTelegram(o)), n21.frameWithCrc);
      const body = buildTelegramBody(o);
      assert.equal(toHex(body), n21.frameWithoutCrc.slice(20));
    });
  });

  describe('N.2.2, security profile B (mode 7, AFL, KDF-A)', () => {
    it('the published MAC and ciphertext check out under an independent node:crypto implementation', () => {
      const f = fromHex(N22.frameWithoutCrc);
      const id = f.subarray(4, 8);
      const mcr = readU32LE(f, 18);
      const key = fromHex(N22.key);
      const kmac = kdfNode(key, 0x01, mcr, id);
      const kenc = kdfNode(key, 0x00, mcr, id);
      const tpl = f.subarray(30);
      assert.equal(toHex(cmacNode(kmac, concat(f.subarray(17, 22), tpl)).subarray(0, 8)), toHex(f.subarray(22, 30)));
      const plain = fromHex('2f2f' + toHex(annexRecords)).slice();
      const padded = new Uint8Array(32).fill(0x2f);
      padded.set(plain);
      assert.equal(toHex(cbcEncrypt(kenc, new Uint8Array(16), padded)), toHex(tpl.subarray(6)));
    });

    it('decodes: MAC ok, counter 0xAB3, published records', () => {
      const r = new Receiver({ crypto: nobleCrypto, keys: keyTable({ '12345678': fromHex(N22.key) }) });
      const t = r.receiveFrame(fromHex(N22.frameWithoutCrc), 'none');
      assert.equal(t.securityMode, 7);
      assert.equal(t.mac, 'ok');
      assert.equal(t.messageCounter, 0x0ab3);
      assert.deepEqual(
        t.values.map((v) => v.record),
        n21.records.map((x) => x.dif + x.vif + x.data),
      );
      assert.deepEqual(r.state, { 'ELS.12345678': { messageCounter: 0x0ab3 } });
    });

    it('re-encodes byte for byte, ELL included', () => {
      const body = buildTelegramBody({
        header,
        records: annexRecords,
        security: { mode: 7, key: nobleCrypto.aesKey(fromHex(N22.key)), crypto: nobleCrypto },
        counters: { accessNumber: 0x75, messageCounter: 0x0ab3 },
        ellCommunicationControl: 0x20,
      });
      assert.equal(toHex(body), N22.frameWithoutCrc.slice(20));
      assert.equal(toHex(parseFrameWithoutCrc(fromHex(N22.frameWithoutCrc)).body), toHex(body));
    });

    it('a wrong key is a MAC mismatch (the MAC is checked before anything is decrypted)', () => {
      const r = new Receiver({ crypto: nobleCrypto, keys: () => new Uint8Array(16) });
      assert.throws(() => r.receiveFrame(fromHex(N22.frameWithoutCrc), 'none'), { name: 'SecurityError', code: 'mac-mismatch' });
    });
  });
});
