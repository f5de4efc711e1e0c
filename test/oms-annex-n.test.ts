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
import type { DecodedValue } from '../modules/wmbus-rx/values.js';
import type { MeterError } from '../modules/core/errors.js';
import { readVectors } from './helpers/vectors.js';
import { nobleCrypto } from '../hosts/sim/noble-crypto.js';

interface OmsVector {
  name?: string;
  key: string;
  frameFormat: 'A';
  frameWithCrc: string;
  frameWithoutCrc: string;
  fields: Record<string, string | number>;
  decryptedApplicationData: string;
  records: { dif: string; vif: string; data: string }[] & Record<string, unknown>[];
}
const oms = readVectors<unknown>('oms.json') as { telegrams: OmsVector[] };
const n21 = oms.telegrams[0];
const byName = (name: string): OmsVector => oms.telegrams.find((t) => t.name === name) as OmsVector;
const records = (values: DecodedValue[]): Record<string, unknown>[] =>
  values.map((x) => ({ quantity: x.quantity, storage: x.storage, value: x.value, encrypted: x.encrypted }));

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
    // Mode 5 has no MAC: a receiver accepts it only when told to.
    const receiver = (): Receiver => new Receiver({ crypto: nobleCrypto, keys: keyTable({ '12345678': { key: fromHex(n21.key), allowUnauthenticated: true } }) });

    it('is refused unless unauthenticated encryption is allowed for the meter or the receiver', () => {
      const plainKey = new Receiver({ crypto: nobleCrypto, keys: keyTable({ '12345678': fromHex(n21.key) }) });
      assert.throws(() => plainKey.receiveFrame(fromHex(n21.frameWithCrc), 'A'), { name: 'SecurityError', code: 'unauthenticated', details: { meter: 'ELS.12345678', meterId: '12345678', manufacturer: 'ELS' } });
      const allowed = new Receiver({ crypto: nobleCrypto, keys: keyTable({ '12345678': fromHex(n21.key) }), allowUnauthenticated: true });
      assert.equal(allowed.receiveFrame(fromHex(n21.frameWithCrc), 'A').values[0].authenticated, false);
    });

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
      assert.ok(t.values.every((v) => v.encrypted && !v.authenticated), 'encrypted, but no MAC proves it');
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
      // The replay slot: the key's fingerprint (AES-CMAC of 'xsmeter replay', node:crypto here) and the
      // identification number that enters the KDF.
      const fingerprint = toHex(cmacNode(fromHex(N22.key), new TextEncoder().encode('xsmeter replay\0\0')).subarray(0, 8));
      assert.deepEqual(r.state, { [`${fingerprint}:78563412`]: { messageCounter: 0x0ab3, meter: 'ELS.12345678' } });
      assert.ok(t.values.every((v) => v.authenticated && v.encrypted));
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

  describe('N.5.3, partial encryption (mode 5, one encrypted block, a plain record after it)', () => {
    const v = byName('N.5.3');
    it('decodes the encrypted records and the plain one after them, each marked as such', () => {
      const t = new Receiver({ crypto: nobleCrypto, keys: () => ({ key: fromHex(v.key as string), allowUnauthenticated: true }) }).receiveFrame(fromHex(v.frameWithoutCrc), 'none');
      assert.deepEqual([t.meter.id, t.meter.manufacturer, t.meter.version, t.meter.deviceType], [v.fields.id, v.fields.manufacturer, v.fields.version, v.fields.deviceType]);
      assert.deepEqual([t.link.id, t.link.deviceType, t.ell?.accessNumber, t.accessNumber, t.status], [v.fields.linkId, v.fields.linkDeviceType, v.fields.ellAccessNumber, v.fields.accessNumber, v.fields.status]);
      assert.equal(t.statusDecoded?.powerLow, true);
      assert.equal(t.securityMode, 5);
      assert.deepEqual(records(t.values), v.records);
      assert.ok(t.values.every((x) => !x.authenticated));
    });
    it('strict mode refuses the plain data after the encrypted block', () => {
      const rx = new Receiver({ crypto: nobleCrypto, keys: () => fromHex(v.key as string), strict: true, allowUnauthenticated: true });
      // Strict reads only the short ELL: take it out (CI 0x8C, CC, ACC) and the frame is otherwise conformant.
      const f = fromHex(v.frameWithoutCrc);
      const noEll = new Uint8Array([f[0] - 3, ...f.subarray(1, 10), ...f.subarray(13)]);
      assert.throws(() => rx.receiveFrame(noEll, 'none'), (e: MeterError) => e.code === 'unencrypted-data' && e.details.meterId === '55667788');
    });
  });

  describe('N.5.2, ACC-NR: a TPL long header without application data (CI 0x8B)', () => {
    const v = byName('N.5.2');
    it('decodes the header and no records', () => {
      const t = new Receiver({ crypto: nobleCrypto, keys: () => undefined, allowPlain: true }).receiveFrame(fromHex(v.frameWithoutCrc), 'none');
      assert.deepEqual([t.meter.id, t.meter.manufacturer, t.link.control, t.accessNumber, t.status, t.securityMode, t.ci], [v.fields.id, v.fields.manufacturer, v.fields.control, v.fields.accessNumber, v.fields.status, v.fields.securityMode, 0x8b]);
      assert.deepEqual(t.values, []);
    });
  });

  describe('CEN/TR 17167:2018 F.3, mode 7 behind a radio module (ELL III, AFL, TPL long header)', () => {
    const v = byName('TR 17167 F.3');
    it('the MAC checks out under node:crypto with the KDF taking the TPL long header ID, not the radio module link layer', () => {
      const f = fromHex(v.frameWithoutCrc);
      const afl = 10 + 11;
      const mcr = readU32LE(f, afl + 5);
      const kmac = kdfNode(fromHex(v.key as string), 0x01, mcr, f.subarray(afl + 17 + 1, afl + 17 + 5));
      assert.equal(toHex(cmacNode(kmac, concat(f.subarray(afl + 4, afl + 9), f.subarray(afl + 17))).subarray(0, 8)), toHex(f.subarray(afl + 9, afl + 17)));
    });
    it('decodes: meter, radio module, receiver address, counter and the example values', () => {
      const t = new Receiver({ crypto: nobleCrypto, keys: (m) => (m.id === '12345678' ? fromHex(v.key as string) : undefined) }).receiveFrame(fromHex(v.frameWithoutCrc), 'none');
      assert.deepEqual([t.meter.id, t.meter.manufacturer, t.meter.version, t.meter.deviceType], [v.fields.id, v.fields.manufacturer, v.fields.version, v.fields.deviceType]);
      assert.deepEqual([t.link.id, t.link.manufacturer, t.ell?.partner?.id, t.ell?.partner?.manufacturer], [v.fields.linkId, v.fields.linkManufacturer, v.fields.partnerId, v.fields.partnerManufacturer]);
      assert.deepEqual([t.messageCounter, t.securityMode, t.mac], [v.fields.messageCounter, v.fields.securityMode, 'ok']);
      assert.deepEqual(
        t.values.map((x) => ({ quantity: x.quantity, storage: x.storage, value: x.value, ...(x.unit ? { unit: x.unit } : {}) })),
        v.records,
      );
      assert.ok(t.values.every((x) => x.authenticated));
    });
  });
});
