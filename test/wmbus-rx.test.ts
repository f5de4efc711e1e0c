import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MeterError } from '../modules/core/errors.js';
import { fromHex } from '../modules/core/bytes.js';
import type { Register } from '../modules/wmbus-tx/registers.js';
import { buildTelegram, type TelegramOptions } from '../modules/wmbus-tx/telegram.js';
import { phyEncode } from '../modules/wmbus/phy.js';
import { parseFrame } from '../modules/wmbus/frame-parse.js';
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

const values = (t: DecodedTelegram): [string | undefined, number | string][] => t.values.map((v) => [v.obis, v.value]);
const expected = (regs: Register[]): [string | undefined, number | string][] =>
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
          const r = new Receiver({ crypto: nobleCrypto, keys: keyTable({ [id]: k }) });
          const t = r.receivePhy(phyEncode(f, radio, format), radio);
          assert.equal(t.meter.id, id);
          assert.equal(t.frameFormat, format);
          assert.equal(t.securityMode, mode);
          assert.equal(t.tpl, tpl);
          assert.equal(t.mac, mode === 7 ? 'ok' : 'none');
          if (mode === 7) assert.equal(t.messageCounter, counter);
          assert.deepEqual(values(t), expected(regs));
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
          // but it can never change the values or the counter.
          assert.deepEqual(values(t!), values(ok), `bit ${i}`);
          assert.equal(t!.messageCounter, ok.messageCounter);
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
      const r = new Receiver({ crypto: nobleCrypto, keys: () => key });
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
    it('unencrypted data after the encrypted blocks is refused', () => {
      const p = parseFrame(buildTelegram({ header, registers, security: { mode: 5, key: nobleCrypto.aesKey(key), crypto: nobleCrypto }, counters: { accessNumber: 1 } }), 'A');
      const extra = new Uint8Array([p.body.length + 9 + 6, ...p.dll.subarray(1), ...p.body, 0x01, 0xfd, 0x17, 0x00, 0x2f, 0x2f]);
      assert.throws(() => new Receiver({ crypto: nobleCrypto, keys: () => key }).receiveFrame(extra, 'none'), { code: 'unencrypted-data' });
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
  });
});
