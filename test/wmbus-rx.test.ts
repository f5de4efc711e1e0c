import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MeterError } from '../modules/core/errors.js';
import { fromHex } from '../modules/core/bytes.js';
import type { Register } from '../modules/wmbus-tx/registers.js';
import { buildTelegram, type TelegramOptions } from '../modules/wmbus-tx/telegram.js';
import { phyEncode } from '../modules/wmbus/phy.js';
import { parseFrame } from '../modules/wmbus/frame-parse.js';
import { encodeDllHeader } from '../modules/wmbus/dll.js';
import { crc16En13757 } from '../modules/wmbus/crc16.js';
import { cbcEncrypt, cmacNode, kdfNode } from './helpers/node-oms.js';
import { Receiver, keyTable, type DecodedTelegram } from '../modules/wmbus-rx/receiver.js';
import { parseInputLine } from '../modules/wmbus-rx/input.js';
import { nobleCrypto } from '../hosts/sim/noble-crypto.js';

const key = fromHex('0f0e0d0c0b0a09080706050403020100');
const header = { control: 0x44, manufacturer: 'XSM', id: '12345678', version: 1, deviceType: 0x02 };
const registers: Register[] = [
  { obis: '1.8.0', value: 123456789 },
  { obis: '1.8.1', value: 100000000 },
  { obis: '1.8.2', value: 23456789 },
  { obis: '2.8.0', value: 5000 },
  { obis: '16.7.0', value: -1234 },
  { obis: '32.7.0', value: 230.1 },
  { obis: 'clock', value: '2026-11-24T22:56' },
  { obis: 'status', value: 0 },
];

function frame(o: Partial<TelegramOptions> & { counter?: number; access?: number } = {}): Uint8Array {
  return buildTelegram({
    header,
    registers,
    security: { mode: 7, key: nobleCrypto.aesKey(key), crypto: nobleCrypto },
    counters: { accessNumber: o.access ?? 1, messageCounter: o.counter ?? 1 },
    ...o,
  });
}

const values = (t: DecodedTelegram): [string | undefined, number | string | null][] => t.values.map((v) => [v.obis, v.value]);
const numbers = (t: DecodedTelegram): unknown[][] => t.values.map((v) => [v.quantity, v.description, v.unit, v.value, v.storage, v.tariff, v.subunit, v.function, v.authenticated]);
const expected = (regs: Register[]): [string | undefined, number | string | null][] =>
  regs.map((r) => [r.obis === 'clock' ? '0-0:1.0.0' : r.obis === 'status' ? '0-0:97.97.0' : r.obis, r.value]);

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof MeterError, `untyped error: ${String(e)}`);
    return e.code;
  }
  return 'accepted';
}

describe('wmbus-rx: receiver', () => {
  it('round trip through PHY: random registers, keys, ids, counters; modes 5 and 7; T1/A, C1/A, C1/B; short and long TPL', () => {
    const hex16 = fc.uint8Array({ minLength: 16, maxLength: 16 });
    fc.assert(
      fc.property(
        hex16,
        fc.integer({ min: 0, max: 99999999 }),
        fc.integer({ min: 1, max: 0xffffffff }),
        fc.integer({ min: 0, max: 255 }),
        fc.constantFrom<5 | 7>(5, 7),
        fc.constantFrom(['T1', 'A'] as const, ['C1', 'A'] as const, ['C1', 'B'] as const),
        fc.constantFrom<'short' | 'long'>('short', 'long'),
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        fc.integer({ min: 0, max: 30000 }),
        fc.integer({ min: 0, max: 1000000 }),
        (k, idn, counter, access, mode, [radio, format], tpl, ap, am, p, dv, ma) => {
          const id = String(idn).padStart(8, '0');
          const regs: Register[] = [
            { obis: '1.8.0', value: ap },
            { obis: '2.8.1', value: am },
            { obis: '16.7.0', value: p },
            { obis: '52.7.0', value: dv / 10 },
            { obis: '31.7.0', value: ma / 1000 },
          ];
          const f = buildTelegram({
            header: { ...header, id },
            registers: regs,
            security: { mode, key: nobleCrypto.aesKey(k), crypto: nobleCrypto },
            counters: { accessNumber: access, messageCounter: counter },
            tpl,
            format,
          });
          const r = new Receiver({ crypto: nobleCrypto, keys: keyTable({ [id]: k }), allowUnauthenticated: true });
          const t = r.receivePhy(phyEncode(f, radio, format), radio);
          assert.equal(t.meter.id, id);
          assert.equal(t.frameFormat, format);
          assert.equal(t.securityMode, mode);
          assert.equal(t.tpl, tpl);
          assert.equal(t.mac, mode === 7 ? 'ok' : 'none');
          if (mode === 7) assert.equal(t.messageCounter, counter);
          assert.deepEqual(values(t), expected(regs));
          assert.ok(t.values.every((v) => v.encrypted && v.authenticated === (mode === 7)));
          assert.equal(t.authenticatedAddress, mode === 5 ? 'none' : tpl === 'long' ? 'all' : 'id');
        },
      ),
      { numRuns: 150 },
    );
  });

  describe('every single-bit flip is rejected with the right error', () => {
    for (const format of ['A', 'B'] as const) {
      it(`mode 7, format ${format}, with CRCs: CRC error (or L disagreeing with the length)`, () => {
        const f = frame({ format });
        for (let i = 0; i < f.length * 8; i++) {
          const g = f.slice();
          g[i >> 3] ^= 1 << (i & 7);
          const code = codeOf(() => new Receiver({ crypto: nobleCrypto, keys: () => key }).receiveFrame(g, format));
          if (i < 8) assert.ok(['length', 'truncated', 'crc'].includes(code), `bit ${i}: ${code}`);
          else assert.equal(code, 'crc', `bit ${i}`);
        }
      });
    }
    it('format A: the CRC error names the block that holds the flipped byte', () => {
      const f = frame();
      for (const [byte, block] of [[1, 1], [11, 1], [12, 2], [29, 2], [30, 3], [f.length - 1, Math.ceil((f.length - 12) / 18) + 1]]) {
        const g = f.slice();
        g[byte] ^= 0x10;
        assert.throws(
          () => parseFrame(g, 'A'),
          (e: MeterError) => e.code === 'crc' && e.details.block === block,
          `byte ${byte} → block ${block}`,
        );
      }
    });
    it('mode 7 without CRCs: the MAC (and the ID through the KDF) rejects flips in everything it covers', () => {
      const f = frame({ format: 'A' });
      const plain = parseFrame(f, 'A');
      const raw = new Uint8Array([...plain.dll, ...plain.body]);
      raw[0] = raw.length - 1;
      const ok = new Receiver({ crypto: nobleCrypto, keys: () => key }).receiveFrame(raw, 'none');
      const macCovered = (byte: number): boolean => (byte >= 4 && byte < 8) || byte >= 10 + 4; // ID; MCL … end
      let macErrors = 0;
      for (let i = 0; i < raw.length * 8; i++) {
        const g = raw.slice();
        const byte = i >> 3;
        g[byte] ^= 1 << (i & 7);
        let t: DecodedTelegram | undefined;
        const code = codeOf(() => (t = new Receiver({ crypto: nobleCrypto, keys: () => key }).receiveFrame(g, 'none')));
        if (macCovered(byte)) {
          assert.notEqual(code, 'accepted', `bit ${i} in authenticated byte ${byte} accepted`);
          if (code === 'mac-mismatch') macErrors++;
          // MCR and MAC, and the ciphertext after the 6-byte TPL header: only the MAC can tell.
          if ((byte >= 10 + 5 && byte < 10 + 17) || byte >= 10 + 17 + 6) assert.equal(code, 'mac-mismatch', `bit ${i}`);
        } else if (code === 'accepted') {
          // L, C, M, version, type and AFL CI/L/FCL are outside the OMS MAC: a flip there may pass,
          // but it can never change the values or the counter. (The device type byte names the
          // medium, and with it whether electricity OBIS codes apply: authenticatedAddress says so.)
          assert.deepEqual(numbers(t!), numbers(ok), `bit ${i}`);
          if (byte !== 9) assert.deepEqual(values(t!), values(ok), `bit ${i}`);
          assert.equal(t!.messageCounter, ok.messageCounter);
          assert.equal(t!.authenticatedAddress, 'id');
        }
      }
      assert.ok(macErrors > raw.length * 8 * 0.7);
    });
  });

  describe('replay and keys', () => {
    it('the same frame twice: the second is a counter replay', () => {
      const r = new Receiver({ crypto: nobleCrypto, keys: () => key });
      const f = frame({ counter: 10 });
      r.receiveFrame(f, 'A');
      assert.throws(() => r.receiveFrame(f, 'A'), (e: MeterError) => {
        assert.equal(e.name, 'ReceiveError');
        assert.deepEqual([e.code, e.details.meter, e.details.counter, e.details.last], ['counter-replay', 'XSM.12345678', 10, 10]);
        return true;
      });
    });
    it('a counter going back is rejected, going forward accepted; the state persists as JSON', () => {
      const r = new Receiver({ crypto: nobleCrypto, keys: () => key });
      r.receiveFrame(frame({ counter: 10 }), 'A');
      assert.throws(() => r.receiveFrame(frame({ counter: 9 }), 'A'), { code: 'counter-replay' });
      r.receiveFrame(frame({ counter: 11 }), 'A');
      const restored = new Receiver({ crypto: nobleCrypto, keys: () => key, state: JSON.parse(JSON.stringify(r.state)) });
      assert.throws(() => restored.receiveFrame(frame({ counter: 11 }), 'A'), { code: 'counter-replay' });
      restored.receiveFrame(frame({ counter: 1000 }), 'A');
    });
    it('a frame that fails the MAC does not move the counter', () => {
      const r = new Receiver({ crypto: nobleCrypto, keys: () => key });
      const bad = buildTelegram({ header, registers, security: { mode: 7, key: nobleCrypto.aesKey(new Uint8Array(16)), crypto: nobleCrypto }, counters: { accessNumber: 1, messageCounter: 50 } });
      assert.throws(() => r.receiveFrame(bad, 'A'), { code: 'mac-mismatch' });
      r.receiveFrame(frame({ counter: 2 }), 'A');
    });
    it('mode 5: repeated or backward access numbers are rejected; wrong key fails the 2F2F check', () => {
      const m5 = (access: number, k = key): Uint8Array =>
        buildTelegram({ header, registers, security: { mode: 5, key: nobleCrypto.aesKey(k), crypto: nobleCrypto }, counters: { accessNumber: access } });
      const r = new Receiver({ crypto: nobleCrypto, keys: () => key, allowUnauthenticated: true });
      r.receiveFrame(m5(200), 'A');
      assert.throws(() => r.receiveFrame(m5(200), 'A'), { code: 'counter-replay' });
      assert.throws(() => r.receiveFrame(m5(150), 'A'), { code: 'counter-replay' });
      r.receiveFrame(m5(3), 'A'); // wrapped forward
      assert.throws(() => r.receiveFrame(m5(4, new Uint8Array(16).fill(9)), 'A'), { name: 'SecurityError', code: 'wrong-key' });
    });
    it('unknown meter, plain telegrams, missing AFL are typed errors', () => {
      assert.throws(() => new Receiver({ crypto: nobleCrypto, keys: keyTable({}) }).receiveFrame(frame(), 'A'), { code: 'no-key' });
      const plain = buildTelegram({ header, registers, security: { mode: 0 }, counters: { accessNumber: 1 } });
      assert.throws(() => new Receiver({ crypto: nobleCrypto, keys: () => key }).receiveFrame(plain, 'A'), { code: 'insecure' });
      assert.deepEqual(values(new Receiver({ crypto: nobleCrypto, keys: () => key, allowPlain: true }).receiveFrame(plain, 'A')), expected(registers));
      // Strip the AFL (17 bytes after L..A) from a mode 7 frame: no MAC, no counter.
      const p = parseFrame(frame(), 'A');
      const noAfl = new Uint8Array([p.body.length - 17 + 9, ...p.dll.subarray(1), ...p.body.subarray(17)]);
      assert.throws(() => new Receiver({ crypto: nobleCrypto, keys: () => key }).receiveFrame(noAfl, 'none'), { code: 'missing-afl' });
    });
    it('unencrypted data after the encrypted blocks: strict refuses it; lenient decodes it as not encrypted (mode 5: nothing authenticated; mode 7: under the MAC)', () => {
      const p = parseFrame(buildTelegram({ header, registers, security: { mode: 5, key: nobleCrypto.aesKey(key), crypto: nobleCrypto }, counters: { accessNumber: 1 } }), 'A');
      const extra = new Uint8Array([p.body.length + 9 + 5, ...p.dll.subarray(1), ...p.body, 0x01, 0xfd, 0x17, 0x07, 0x2f]);
      assert.throws(() => new Receiver({ crypto: nobleCrypto, keys: () => key, strict: true, allowUnauthenticated: true }).receiveFrame(extra, 'none'), { code: 'unencrypted-data' });
      const t = new Receiver({ crypto: nobleCrypto, keys: () => key, allowUnauthenticated: true }).receiveFrame(extra, 'none');
      const last = t.values[t.values.length - 1];
      assert.deepEqual([last.quantity, last.value, last.encrypted, last.authenticated, t.values[0].encrypted], ['error flags', 7, false, false, true]);
      // Mode 7: the plain record is covered by the AFL MAC (it covers the TPL to the end), so it is
      // authenticated although it was not encrypted. Built with node:crypto below, not with the builder.
    });
  });

  describe('headers that do not fit together are refused (EN 13757-7 / OMS Vol. 2 profiles)', () => {
    /** A frame without CRCs (format-A layout) from the link-layer bytes and a new body. */
    const raw = (dll: Uint8Array, body: Uint8Array): Uint8Array => {
      const f = new Uint8Array([0, ...dll.subarray(1), ...body]);
      f[0] = f.length - 1;
      return f;
    };
    // A well-formed profile-B AFL (90 0F 00 2C 25 MCR MAC) in front of a TPL that is not mode 7.
    const afl = (tpl: Uint8Array): Uint8Array => new Uint8Array([0x90, 0x0f, 0x00, 0x2c, 0x25, 1, 0, 0, 0, ...new Uint8Array(8), ...tpl]);
    it('an AFL in front of a mode 5 or mode 0 TPL', () => {
      const m5 = parseFrame(buildTelegram({ header, registers, security: { mode: 5, key: nobleCrypto.aesKey(key), crypto: nobleCrypto }, counters: { accessNumber: 1 } }), 'A');
      assert.throws(() => new Receiver({ crypto: nobleCrypto, keys: () => key }).receiveFrame(raw(m5.dll, afl(m5.body)), 'none'), { name: 'SecurityError', code: 'afl' });
      const m0 = parseFrame(buildTelegram({ header, registers, security: { mode: 0 }, counters: { accessNumber: 1 } }), 'A');
      assert.throws(() => new Receiver({ crypto: nobleCrypto, keys: () => key, allowPlain: true }).receiveFrame(raw(m0.dll, afl(m0.body)), 'none'), { name: 'SecurityError', code: 'afl' });
    });
    it('mode 5 with N = 0 encrypted blocks (configuration field bits 7-4)', () => {
      const m5 = parseFrame(buildTelegram({ header, registers, security: { mode: 5, key: nobleCrypto.aesKey(key), crypto: nobleCrypto }, counters: { accessNumber: 1 } }), 'A');
      const body = m5.body.slice();
      assert.equal(body[0], 0x7a);
      body[3] &= 0x0f; // CF low byte: N in bits 7-4
      assert.throws(() => new Receiver({ crypto: nobleCrypto, keys: () => key }).receiveFrame(raw(m5.dll, body), 'none'), { name: 'SecurityError', code: 'tpl' });
    });
    it('mode 7 with a KDF selection other than KDF-A (configuration field extension bits 5-4)', () => {
      const p = parseFrame(frame(), 'A');
      const body = p.body.slice();
      assert.deepEqual([body[17], body[21] & 0x1f, body[22]], [0x7a, 0x07, 0x10]);
      for (const ext of [0x00, 0x20, 0x30]) {
        body[22] = ext;
        assert.throws(() => new Receiver({ crypto: nobleCrypto, keys: () => key }).receiveFrame(raw(p.dll, body), 'none'), { name: 'SecurityError', code: 'unsupported-kdf' });
      }
    });
  });

  describe('input lines', () => {
    it('tells hex with format-A CRCs from hex without CRCs by L, reads rtlwmbus lines', () => {
      const f = frame();
      const p = parseFrame(f, 'A');
      const raw = new Uint8Array([...p.dll, ...p.body]);
      raw[0] = raw.length - 1;
      const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
      assert.equal(parseInputLine(hex(f)).format, 'A');
      assert.equal(parseInputLine(hex(raw)).format, 'none');
      const rtl = parseInputLine(`T1;1;1;2026-11-24 22:56:57.000;97;148;12345678;0x${hex(raw).toUpperCase()}`);
      assert.deepEqual([rtl.format, rtl.source, rtl.mode, hex(rtl.bytes)], ['none', 'rtlwmbus', 'T1', hex(raw)]);
      assert.throws(() => parseInputLine(hex(f) + '00'), { code: 'length' });
      assert.throws(() => parseInputLine('zz'), { code: 'bad-input' });
      assert.throws(() => parseInputLine('T1;1;0;x;0;0;1;0x00'), { code: 'crc' });
    });
    it('rtlwmbus: the short form without the meter id; timestamp and RSSI; a C1 format-B frame whose L still counts the removed CRCs', () => {
      const p = parseFrame(frame({ format: 'B' }), 'B');
      const noCrc = new Uint8Array([...p.dll, ...p.body]);
      assert.equal(noCrc[0] - (noCrc.length - 1), 2, 'format B L counts one CRC pair for a frame this short');
      const line = parseInputLine(`C1;1;1;2026-11-24 22:56:57.000;-73;0;0x${Buffer.from(noCrc).toString('hex')}`);
      assert.deepEqual([line.timestamp, line.rssi, line.mode, line.bytes[0]], ['2026-11-24 22:56:57.000', -73, 'C1', noCrc.length - 1]);
      assert.deepEqual(values(new Receiver({ crypto: nobleCrypto, keys: () => key }).receiveFrame(line.bytes, line.format)), expected(registers));
      assert.throws(() => parseInputLine('C1;1;1;x;1;0x00'), { code: 'bad-input' });
    });
  });

  describe('link and transport layers', () => {
    /** A frame without CRCs from a link-layer header and a body. */
    const noCrc = (h: typeof header, body: Uint8Array): Uint8Array => {
      const dll = encodeDllHeader(h);
      const f = new Uint8Array([0, ...dll, ...body]);
      f[0] = f.length - 1;
      return f;
    };
    const records = fromHex('0403e8030000'); // energy 1000 Wh
    it('ELL IV (CI 0x8F): the partner address; session number without encryption, its payload CRC checked', () => {
      const payload = new Uint8Array([0x78, ...records]);
      const crc = crc16En13757(payload);
      const sn = [0x05, 0x00, 0x00, 0x00]; // encryption bits 0
      const partner = [0x3a, 0x63, 0x66, 0x55, 0x44, 0x33, 0x0a, 0x31]; // M2 'XYZ', A2 33445566, version, type
      const body = new Uint8Array([0x8f, 0x20, 0x07, ...partner, ...sn, crc & 0xff, crc >> 8, ...payload]);
      const t = new Receiver({ crypto: nobleCrypto, keys: () => undefined, allowPlain: true }).receiveFrame(noCrc(header, body), 'none');
      assert.deepEqual([t.ell?.ci, t.ell?.partner?.manufacturer, t.ell?.partner?.id, t.ell?.sessionNumber, t.ell?.encryption, t.ci, t.values[0].value], [0x8f, 'XYZ', '33445566', 5, 'none', 0x78, 1000]);
      body[body.length - 1] ^= 1;
      assert.throws(() => new Receiver({ crypto: nobleCrypto, keys: () => undefined, allowPlain: true }).receiveFrame(noCrc(header, body), 'none'), { code: 'crc' });
      assert.throws(() => new Receiver({ crypto: nobleCrypto, keys: () => undefined, allowPlain: true, strict: true }).receiveFrame(noCrc(header, body), 'none'), { code: 'unsupported-ci' });
    });
    it('CI 0x78 (no TPL header), 0x8A (short header, no data); other CIs are typed errors naming the meter', () => {
      const rx = new Receiver({ crypto: nobleCrypto, keys: () => undefined, allowPlain: true });
      const t78 = rx.receiveFrame(noCrc(header, new Uint8Array([0x78, ...records])), 'none');
      assert.deepEqual([t78.tpl, t78.accessNumber, t78.status, t78.values[0].value, t78.values[0].encrypted], ['none', undefined, undefined, 1000, false]);
      const t8a = rx.receiveFrame(noCrc(header, new Uint8Array([0x8a, 0x11, 0x04, 0x00, 0x00])), 'none');
      assert.deepEqual([t8a.ci, t8a.accessNumber, t8a.statusDecoded?.powerLow, t8a.values], [0x8a, 0x11, true, []]);
      for (const ci of [0x79, 0xa0, 0x51]) {
        assert.throws(() => rx.receiveFrame(noCrc(header, new Uint8Array([ci, 1, 2, 3])), 'none'), (e: MeterError) => e.code === 'unsupported-ci' && e.details.meterId === '12345678' && e.details.manufacturer === 'XSM');
      }
      // Without allowPlain, a plain telegram is refused naming the meter.
      assert.throws(() => new Receiver({ crypto: nobleCrypto, keys: () => undefined }).receiveFrame(noCrc(header, new Uint8Array([0x78, ...records])), 'none'), { code: 'insecure' });
    });
    it('the MAC of a mode-7 telegram covers plain records after the encrypted blocks: lenient marks them authenticated but not encrypted (built here with node:crypto)', () => {
      const counter = 7;
      const idBytes = encodeDllHeader(header).subarray(3, 7);
      const plainRecords = fromHex('2f2f' + '0403e8030000' + '2f2f2f2f2f2f2f2f');
      assert.equal(plainRecords.length, 16);
      const tail = fromHex('01fd1709'); // error flags 9, after the encrypted block
      const kenc = kdfNode(key, 0x00, counter, idBytes);
      const kmac = kdfNode(key, 0x01, counter, idBytes);
      const tpl = new Uint8Array([0x7a, 0x01, 0x00, 0x10, 0x07, 0x10, ...cbcEncrypt(kenc, new Uint8Array(16), plainRecords), ...tail]);
      const mcl = 0x25;
      const mcr = [counter, 0, 0, 0];
      const mac = cmacNode(kmac, new Uint8Array([mcl, ...mcr, ...tpl])).subarray(0, 8);
      const body = new Uint8Array([0x90, 0x0f, 0x00, 0x2c, mcl, ...mcr, ...mac, ...tpl]);
      const t = new Receiver({ crypto: nobleCrypto, keys: () => key }).receiveFrame(noCrc(header, body), 'none');
      assert.deepEqual(t.values.map((v) => [v.quantity, v.value, v.authenticated, v.encrypted]), [['energy', 1000, true, true], ['error flags', 9, true, false]]);
      assert.throws(() => new Receiver({ crypto: nobleCrypto, keys: () => key, strict: true }).receiveFrame(noCrc(header, body), 'none'), { code: 'unencrypted-data' });
      const tampered = body.slice();
      tampered[tampered.length - 1] ^= 1;
      assert.throws(() => new Receiver({ crypto: nobleCrypto, keys: () => key }).receiveFrame(noCrc(header, tampered), 'none'), { code: 'mac-mismatch' });
    });
    it('errors carry the meter id once the link layer is read: no key, MAC mismatch, replay; non-BCD ids in strict mode too', () => {
      assert.throws(() => new Receiver({ crypto: nobleCrypto, keys: () => undefined }).receiveFrame(frame(), 'A'), (e: MeterError) => e.code === 'no-key' && e.details.meterId === '12345678');
      assert.throws(() => new Receiver({ crypto: nobleCrypto, keys: () => new Uint8Array(16) }).receiveFrame(frame(), 'A'), (e: MeterError) => e.code === 'mac-mismatch' && e.details.meterId === '12345678' && e.details.manufacturer === 'XSM');
      const p = parseFrame(frame(), 'A');
      const dll = p.dll.slice();
      dll[4] = 0xab; // ID byte 0 → '123456ab'
      const nonBcd = new Uint8Array([dll[0], ...dll.subarray(1), ...p.body]);
      assert.throws(() => new Receiver({ crypto: nobleCrypto, keys: () => key, strict: true }).receiveFrame(nonBcd, 'none'), (e: MeterError) => e.code === 'id' && e.details.meterId === '123456ab');
      // Lenient: the id (which enters the KDF) changed, so the MAC fails, naming the meter by its hex digits.
      assert.throws(() => new Receiver({ crypto: nobleCrypto, keys: () => key }).receiveFrame(nonBcd, 'none'), (e: MeterError) => e.code === 'mac-mismatch' && e.details.meterId === '123456ab');
    });
  });
});
