/**
 * The receiver on telegrams of real meters, against what other decoders read from them
 * (test/vectors/wmbus-real.json: wmbusmeters' test telegrams with its expected JSON, exmbus' gateway
 * exports and ELL test frame). No expected value comes from this receiver: each is the other
 * decoder's figure, converted to this receiver's unit by the factor the vector names, or what
 * EN 13757-3 says where the entry notes that the standard disagrees with the other decoder.
 */
import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { fromHex, toHex } from '../modules/core/bytes.js';
import { MeterError } from '../modules/core/errors.js';
import { crc16En13757 } from '../modules/wmbus/crc16.js';
import { parseInputLine } from '../modules/wmbus-rx/input.js';
import { Receiver, type DecodedTelegram, type ReceiverOptions } from '../modules/wmbus-rx/receiver.js';
import { parseRecords } from '../modules/wmbus-rx/records.js';
import { decodeValue, type DecodedValue } from '../modules/wmbus-rx/values.js';
import { nobleCrypto } from '../hosts/sim/noble-crypto.js';
import { readVectors } from './helpers/vectors.js';

interface Expected {
  quantity: string;
  storage: number;
  tariff: number;
  subunit: number;
  function: string;
  value: number | string | null;
  from: string;
  factor?: number;
  tolerance?: number;
  prefix?: boolean;
  reason?: string;
  obis?: string | null;
}
interface RealTelegram {
  name: string;
  source: string;
  input?: string;
  frame?: string;
  key?: string;
  options: Partial<ReceiverOptions>;
  expect: {
    id: string;
    manufacturer?: string;
    ci?: number;
    encryption?: string;
    applicationData?: string;
    timestamp?: string;
    rssi?: number;
    values?: Expected[];
    error?: string;
    strictError?: string;
  };
}
interface RealApplicationData {
  name: string;
  source: string;
  applicationData: string;
  values: Expected[];
  manufacturerData?: string;
}
interface Vectors {
  telegrams: RealTelegram[];
  applicationData: RealApplicationData[];
  linkLayer: { source: string; frames: [string, string, string][] };
  ellKey: { name: string; source: string; frameWithoutL: string; key: string };
}
const v = readVectors<Vectors>('wmbus-real.json');

function receiver(key: string | undefined, options: Partial<ReceiverOptions> = {}): Receiver {
  return new Receiver({ crypto: nobleCrypto, keys: () => (key ? fromHex(key) : undefined), ...options });
}

/** The one decoded value an expectation describes (quantity, storage, tariff, subunit, function). */
function find(values: DecodedValue[], e: Expected): DecodedValue {
  const hits = values.filter(
    (x) => x.quantity === e.quantity && x.storage === e.storage && x.tariff === e.tariff && x.subunit === e.subunit && x.function === e.function,
  );
  assert.ok(hits.length >= 1, `no ${e.quantity} s${e.storage} t${e.tariff} u${e.subunit} ${e.function} (${e.from}); got ${values.map((x) => `${x.quantity}/s${x.storage}/t${x.tariff}/u${x.subunit}/${x.function}`).join(', ')}`);
  // Several records of one kind (an average and a plain value): the expectation names one of them.
  return hits.find((x) => matches(x, e)) ?? hits[0];
}

function matches(x: DecodedValue, e: Expected): boolean {
  try {
    check(x, e);
    return true;
  } catch {
    return false;
  }
}

function check(x: DecodedValue, e: Expected): void {
  if (e.value === null) {
    assert.equal(x.value, null, `${e.from}: not available`);
    if (e.reason) assert.ok(x.reason?.includes(e.reason), `${e.from}: reason "${x.reason}" mentions "${e.reason}"`);
  } else if (typeof e.value === 'number') {
    assert.equal(typeof x.value, 'number', `${e.from}: a number`);
    const want = e.value * (e.factor ?? 1);
    const tol = e.tolerance ?? Math.max(1e-9, Math.abs(want) * 1e-12);
    assert.ok(Math.abs((x.value as number) - want) <= tol, `${e.from}: ${x.value} ${x.unit} vs ${e.value} × ${e.factor ?? 1}`);
  } else {
    const want = /^\d{4}-\d\d-\d\d \d\d:\d\d/.test(e.value) ? e.value.replace(' ', 'T') : e.value;
    if (e.prefix) assert.ok(String(x.value).startsWith(want), `${e.from}: ${x.value} starts with ${want}`);
    else assert.equal(x.value, want, e.from);
    if (e.reason) assert.ok(x.reason?.includes(e.reason), `${e.from}: reason "${x.reason}"`);
  }
  if (e.obis !== undefined) assert.equal(x.obis, e.obis ?? undefined, `${e.from}: OBIS`);
}

function decodeVector(t: RealTelegram, options: Partial<ReceiverOptions> = {}): { telegram: DecodedTelegram; timestamp?: string; rssi?: number } {
  const rx = receiver(t.key, { ...t.options, ...options });
  if (t.input) {
    const input = parseInputLine(t.input);
    return { telegram: rx.receiveFrame(input.bytes, input.format), timestamp: input.timestamp, rssi: input.rssi };
  }
  return { telegram: rx.receiveFrame(fromHex(t.frame as string), 'none') };
}

describe('wmbus-rx: telegrams of real meters (wmbusmeters and exmbus test data)', () => {
  describe('whole telegrams decode to what wmbusmeters reads', () => {
    for (const t of v.telegrams) {
      it(t.name, () => {
        if (t.expect.error) {
          assert.throws(() => decodeVector(t), (e: MeterError) => {
            assert.equal(e.code, t.expect.error);
            assert.equal(e.details.meterId, t.expect.id, 'the error names the meter');
            if (t.expect.manufacturer) assert.equal(e.details.manufacturer, t.expect.manufacturer);
            return true;
          });
          if (t.expect.strictError) {
            assert.throws(() => decodeVector(t, { strict: true }), (e: MeterError) => e.code === t.expect.strictError && e.details.meterId === t.expect.id);
          }
          return;
        }
        const { telegram, timestamp, rssi } = decodeVector(t);
        assert.equal(telegram.meter.id, t.expect.id);
        if (t.expect.manufacturer) assert.equal(telegram.meter.manufacturer, t.expect.manufacturer);
        if (t.expect.ci !== undefined) assert.equal(telegram.ci, t.expect.ci);
        if (t.expect.encryption) assert.equal(telegram.encryption, t.expect.encryption);
        if (t.expect.applicationData) assert.equal(telegram.applicationData, t.expect.applicationData);
        if (t.expect.timestamp) assert.deepEqual([timestamp, rssi], [t.expect.timestamp, t.expect.rssi]);
        for (const e of t.expect.values ?? []) check(find(telegram.values, e), e);
        for (const x of telegram.values) {
          assert.equal(x.authenticated, false, 'no MAC in these telegrams');
          assert.ok(x.value !== null || x.reason, `${x.quantity}: null only with a reason`);
        }
      });
    }
  });

  describe('application data as wmbusmeters publishes it after decryption', () => {
    for (const t of v.applicationData) {
      it(t.name, () => {
        const app = parseRecords(fromHex(t.applicationData));
        assert.equal(app.unparsed, undefined, 'every record delimited');
        const values = app.records.map((r) => decodeValue(r));
        for (const e of t.values) check(find(values, e), e);
        if (t.manufacturerData) assert.equal(toHex(app.manufacturerData ?? new Uint8Array(0)), t.manufacturerData);
      });
    }
  });

  it('the link layer of every frame of exmbus gateway exports names the meter the gateway listed; plain frames decode, encrypted ones fail for want of a key naming it', () => {
    let plain = 0;
    for (const [manufacturer, serial, hex] of v.linkLayer.frames) {
      const body = fromHex(hex);
      const frame = new Uint8Array(body.length + 1);
      frame[0] = body.length;
      frame.set(body, 1);
      let id: string;
      let mft: string;
      try {
        const t = receiver(undefined, { allowPlain: true }).receiveFrame(frame, 'none');
        id = t.meter.id;
        mft = t.meter.manufacturer;
        plain++;
      } catch (e) {
        assert.ok(e instanceof MeterError);
        assert.equal(e.code, 'no-key', `${serial}: ${e.message}`);
        id = String(e.details.meterId);
        mft = String(e.details.manufacturer);
      }
      assert.equal(Number(id), Number(serial), `${manufacturer} ${serial}`);
      assert.equal(mft, manufacturer);
    }
    assert.ok(plain >= 5, 'the plain frames decode');
  });

  describe('ELL II with AES-128-CTR', () => {
    it(`${v.ellKey.name} (${v.ellKey.source})`, () => {
      const body = fromHex(v.ellKey.frameWithoutL);
      const frame = new Uint8Array([body.length, ...body]);
      const t = receiver(v.ellKey.key, { allowUnauthenticated: true }).receiveFrame(frame, 'none');
      assert.equal(t.encryption, 'ell-aes-ctr');
      assert.equal(t.meter.manufacturer, 'KAM');
      const wrong = fromHex(v.ellKey.key);
      wrong[15] ^= 1;
      assert.throws(() => receiver(toHex(wrong), { allowUnauthenticated: true }).receiveFrame(frame, 'none'), { code: 'wrong-key' });
    });

    it('the Kamstrup telegram decrypts, under node:crypto AES-128-CTR with the counter block of EN 13757-4, to the payload wmbusmeters publishes, whose CRC checks', () => {
      const t = v.telegrams[0];
      const f = parseInputLine(t.input as string).bytes;
      // Counter block: M ‖ A ‖ CC without H and R ‖ SN ‖ FN 0000 ‖ BC 00.
      const iv = new Uint8Array(16);
      iv.set(f.subarray(2, 10), 0);
      iv[8] = f[11] & ~0x12;
      iv.set(f.subarray(13, 17), 9);
      const c = createCipheriv('aes-128-ctr', fromHex(t.key as string), iv);
      const plain = new Uint8Array(Buffer.concat([c.update(f.subarray(17)), c.final()]));
      assert.equal(toHex(plain.subarray(3)), t.expect.applicationData);
      assert.equal(plain[2], 0x78);
      assert.equal(crc16En13757(plain, 2), plain[0] | (plain[1] << 8), 'payload CRC, low byte first');
      assert.equal(decodeVector(t).telegram.applicationData, toHex(plain.subarray(3)));
    });
  });
});
