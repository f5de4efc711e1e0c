import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fromHex, toHex } from '../modules/core/bytes.js';
import { MemoryTelegramCounterStore, TelegramCounters, type TelegramCounterState, type TelegramCounterStore } from '../modules/wmbus-tx/counters.js';
import { buildTelegramBody, buildTelegram } from '../modules/wmbus-tx/telegram.js';
import { decodeTplHeader, encodeTplHeader } from '../modules/wmbus/tpl.js';
import { nobleCrypto } from '../hosts/sim/noble-crypto.js';

const header = { control: 0x44, manufacturer: 'XSM', id: '12345678', version: 1, deviceType: 0x02 };
const key = fromHex('000102030405060708090a0b0c0d0e0f');

describe('oms-telegram: builder, TPL, counters', () => {
  describe('TPL header', () => {
    it('short and long headers, configuration field bits (EN 13757-7)', () => {
      const cfg = { mode: 5 as const, encryptedBlocks: 2, bidirectional: false, accessibility: false, synchronous: true, lowBits: 0 };
      // CI 7A, ACC, STS, CF LE: 0x2000 S | mode 5 << 8 | N 2 << 4 = 0x2520 → 20 25
      assert.equal(toHex(encodeTplHeader({ accessNumber: 0x2a, status: 0, config: cfg })), '7a2a002025');
      const long = encodeTplHeader({ address: { manufacturer: 'XSM', id: '12345678', version: 1, deviceType: 2 }, accessNumber: 1, status: 4, config: { ...cfg, mode: 7, synchronous: false } });
      // CI 72, ID 78 56 34 12, M 'XSM' = (24<<10 | 19<<5 | 13) = 0x626D → 6D 62, ver 01, type 02, ACC, STS, CF 0x0720, ext 0x10 (KDF-A)
      assert.equal(toHex(long), '72' + '78563412' + '6d62' + '01' + '02' + '01' + '04' + '2007' + '10');
      const d = decodeTplHeader(long, 0);
      assert.equal(d.next, long.length);
      assert.deepEqual(d.header.address, { manufacturer: 'XSM', id: '12345678', version: 1, deviceType: 2 });
      assert.equal(d.header.config.kdfSelection, 1);
    });
    it('rejects unsupported modes and CIs with typed errors', () => {
      assert.throws(() => decodeTplHeader(fromHex('7a0100000a'), 0), { code: 'unsupported-security-mode' });
      assert.throws(() => decodeTplHeader(fromHex('780100'), 0), { code: 'unsupported-ci' });
      assert.throws(() => decodeTplHeader(fromHex('7a0100'), 0), { code: 'truncated' });
    });
  });

  describe('builder', () => {
    it('mode 7 needs a counter; registers xor records; payload size limits', () => {
      assert.throws(
        () => buildTelegram({ header, registers: [], security: { mode: 7, key: nobleCrypto.aesKey(key), crypto: nobleCrypto }, counters: { accessNumber: 1 } }),
        { code: 'counter' },
      );
      assert.throws(() => buildTelegram({ header, security: { mode: 0 }, counters: { accessNumber: 1 } }), { code: 'telegram' });
      // 40 energy records of 6-7 bytes: more than the 15 AES blocks N can announce.
      const many = Array.from({ length: 40 }, (_, t) => ({ obis: `${t < 20 ? 1 : 2}.8.${t % 20}`, value: t }));
      assert.throws(() => buildTelegram({ header, registers: many, security: { mode: 5, key: nobleCrypto.aesKey(key), crypto: nobleCrypto }, counters: { accessNumber: 1 } }), {
        code: 'payload-too-long',
      });
      assert.throws(() => nobleCrypto.aesKey(new Uint8Array(8)), { name: 'CryptoError', code: 'length' });
    });
    it('mode 7 layout: AFL 90 0F 00 2C 25 MCR MAC, then TPL 7A ACC STS CF EXT, then whole AES blocks', () => {
      const body = buildTelegramBody({ header, registers: [{ obis: '1.8.0', value: 1 }], security: { mode: 7, key: nobleCrypto.aesKey(key), crypto: nobleCrypto }, counters: { accessNumber: 9, messageCounter: 0x01020304 } });
      assert.equal(toHex(body.subarray(0, 9)), '900f002c25' + '04030201');
      assert.equal(toHex(body.subarray(17, 23)), '7a0900' + '1007' + '10');
      assert.equal(body.length, 17 + 6 + 16);
    });
  });

  describe('counters survive restarts and never repeat', () => {
    it('persists before handing out; continues after a restart', () => {
      const store = new MemoryTelegramCounterStore();
      const c = new TelegramCounters(store);
      assert.deepEqual(c.next(), { messageCounter: 1, accessNumber: 1 });
      assert.deepEqual(store.load(), { messageCounter: 1, accessNumber: 1 });
      assert.deepEqual(new TelegramCounters(store).next(), { messageCounter: 2, accessNumber: 2 });
    });
    it('a failing store hands out nothing', () => {
      const failing: TelegramCounterStore = {
        load: () => undefined,
        save: () => {
          throw new Error('flash write failed');
        },
      };
      const c = new TelegramCounters(failing);
      assert.throws(() => c.next(), /flash write failed/);
      assert.throws(() => c.next(), /flash write failed/);
    });
    it('the 32-bit counter does not wrap', () => {
      const c = new TelegramCounters(new MemoryTelegramCounterStore({ messageCounter: 0xfffffffe, accessNumber: 255 }));
      assert.deepEqual(c.next(), { messageCounter: 0xffffffff, accessNumber: 0 });
      assert.throws(() => c.next(), { code: 'counter-exhausted' });
    });
    it('rejects a corrupt stored state', () => {
      assert.throws(() => new TelegramCounters(new MemoryTelegramCounterStore({ messageCounter: -1, accessNumber: 0 })), { code: 'counter-store' });
    });
    it('property: any interleaving of telegrams, restarts and block reservations never repeats a message counter', () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 8 }), fc.array(fc.oneof(fc.constant('send'), fc.constant('restart')), { maxLength: 60 }), (reserve, ops) => {
          const store = new MemoryTelegramCounterStore();
          let c = new TelegramCounters(store, { reserve });
          const used: number[] = [];
          for (const op of ops) {
            if (op === 'restart') c = new TelegramCounters(store, { reserve });
            else {
              const v = c.next();
              // The handed-out value is already covered by the store (persist before transmit).
              assert.ok((store.load() as TelegramCounterState).messageCounter >= v.messageCounter);
              used.push(v.messageCounter);
            }
          }
          for (let i = 1; i < used.length; i++) assert.ok(used[i] > used[i - 1]);
        }),
        { numRuns: 200 },
      );
    });
  });
});
