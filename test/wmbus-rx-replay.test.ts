/**
 * Replay protection follows what the security proves (issue 10, item 1). The DLL M field of a
 * short-TPL mode-7 telegram is neither under the AFL MAC nor in the key derivation; a replay state
 * keyed on it let every altered copy of an old frame in (1220 of 1220 same-counter copies, 766 of
 * 1200 older frames). Every test here builds the altered copies from accepted frames by changing
 * only bytes the MAC does not cover (and recomputing the block CRCs, as an attacker would), and
 * each must be refused as a replay; all of them were accepted before the fix.
 */
import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { concat, fromHex, toHex } from '../modules/core/bytes.js';
import { MeterError } from '../modules/core/errors.js';
import { crc16En13757 } from '../modules/wmbus/crc16.js';
import { buildFrame } from '../modules/wmbus/frame.js';
import { parseFrame } from '../modules/wmbus/frame-parse.js';
import { encodeDllHeader, type DllHeader } from '../modules/wmbus/dll.js';
import { buildTelegram, type TelegramOptions } from '../modules/wmbus-tx/telegram.js';
import { Receiver, type ReceiverOptions } from '../modules/wmbus-rx/receiver.js';
import { nobleCrypto } from '../hosts/sim/noble-crypto.js';
import type { AesKey, Crypto } from '../modules/ports/crypto.js';
import { xsmeter } from './helpers/cli.js';

const KEY = fromHex('000102030405060708090a0b0c0d0e0f');
const header: DllHeader = { control: 0x44, manufacturer: 'XSM', id: '12345678', version: 1, deviceType: 0x02 };

function telegram(counter: number, o: Partial<TelegramOptions> = {}): Uint8Array {
  return buildTelegram({
    header,
    registers: [{ obis: '1.8.0', value: 1000 + counter }],
    security: { mode: 7, key: nobleCrypto.aesKey(KEY), crypto: nobleCrypto },
    counters: { accessNumber: counter & 0xff, messageCounter: counter },
    ...o,
  });
}

/** The same body (AFL, TPL, ciphertext: all the MAC covers) behind another link-layer header, CRCs recomputed. */
function relinked(frame: Uint8Array, h: Partial<DllHeader>): Uint8Array {
  const p = parseFrame(frame, 'A');
  return buildFrame({ ...p.header, ...h }, p.body, 'A');
}

function rx(o: Partial<ReceiverOptions> = {}): Receiver {
  return new Receiver({ crypto: nobleCrypto, keys: () => KEY, ...o });
}

function refusedAsReplay(r: Receiver, f: Uint8Array, what: string): void {
  assert.throws(() => r.receiveFrame(f, 'A'), (e: MeterError) => {
    assert.equal(e.code, 'counter-replay', `${what}: ${e.message}`);
    return true;
  });
}

describe('replay protection follows what the MAC proves (issue 10: altered copies of old frames)', () => {
  it('the issue repro, through the library: counters 1..3 accepted, then the counter-1 frame with M changed from XSM to XSL is refused', () => {
    const r = rx();
    const frames = [1, 2, 3].map((c) => telegram(c));
    for (const f of frames) r.receiveFrame(f, 'A');
    const forged = relinked(frames[0], { manufacturer: 'XSL' });
    assert.notEqual(toHex(forged), toHex(frames[0]));
    refusedAsReplay(r, forged, 'M XSM → XSL');
    refusedAsReplay(r, relinked(frames[2], { manufacturer: 'XSL' }), 'same counter, M changed');
  });

  it('no unauthenticated field selects a fresh slot: C, M, version, device type (short TPL); the whole link-layer address (long TPL); ELL CC and ACC; the frame format', () => {
    const variants: [string, (c: number) => Uint8Array][] = [
      ['C field', (c) => relinked(telegram(c), { control: 0x46 })],
      ['M field', (c) => relinked(telegram(c), { manufacturer: 'ABC' })],
      ['version', (c) => relinked(telegram(c), { version: 0x77 })],
      ['device type', (c) => relinked(telegram(c), { deviceType: 0x07 })],
      ['M, version and device type', (c) => relinked(telegram(c), { manufacturer: 'ZZZ', version: 9, deviceType: 0x37 })],
      ['format B', (c) => telegram(c, { format: 'B' })],
    ];
    for (const [what, make] of variants) {
      const r = rx();
      r.receiveFrame(telegram(5), 'A');
      const older = make(4);
      const same = make(5);
      assert.throws(() => r.receiveFrame(older, what === 'format B' ? 'B' : 'A'), { code: 'counter-replay' }, `${what}, older`);
      assert.throws(() => r.receiveFrame(same, what === 'format B' ? 'B' : 'A'), { code: 'counter-replay' }, `${what}, same counter`);
      r.receiveFrame(make(6), what === 'format B' ? 'B' : 'A'); // a newer frame is still accepted
    }
    // Long TPL: the meter address is in the TPL (under the MAC); the link layer may be anything.
    const long = (c: number, h: Partial<DllHeader> = {}): Uint8Array => relinked(telegram(c, { tpl: 'long' }), h);
    const r = rx();
    r.receiveFrame(long(7), 'A');
    for (const h of [{ id: '99999999' }, { manufacturer: 'RAD', id: '11223344', deviceType: 0x37 }]) {
      refusedAsReplay(r, long(7, h), `long TPL, link layer ${JSON.stringify(h)}`);
      refusedAsReplay(r, long(6, h), `long TPL, link layer ${JSON.stringify(h)}, older`);
    }
    // ELL I: communication control and access number are outside the MAC.
    const ell = (c: number, cc: number): Uint8Array => telegram(c, { ellCommunicationControl: cc });
    const e = rx();
    e.receiveFrame(ell(9, 0x20), 'A');
    refusedAsReplay(e, ell(9, 0x30), 'ELL CC');
    const acc = parseFrame(ell(9, 0x20), 'A');
    acc.body[2] ^= 0x55;
    refusedAsReplay(e, buildFrame(acc.header, acc.body, 'A'), 'ELL ACC');
  });

  it('the slot is the key and the identification number that enters the KDF: another id, or the same id under another key, is another meter', () => {
    const other = fromHex('ffeeddccbbaa99887766554433221100');
    const r = new Receiver({ crypto: nobleCrypto, keys: (m) => (m.manufacturer === 'ABC' ? other : KEY) });
    r.receiveFrame(telegram(50), 'A');
    // Same id, another manufacturer and key: its own counter (a low one is fine).
    const abc = buildTelegram({ header: { ...header, manufacturer: 'ABC' }, registers: [{ obis: '1.8.0', value: 1 }], security: { mode: 7, key: nobleCrypto.aesKey(other), crypto: nobleCrypto }, counters: { accessNumber: 1, messageCounter: 2 } });
    r.receiveFrame(abc, 'A');
    // Another id under the same key: its own counter too.
    r.receiveFrame(telegram(3, { header: { ...header, id: '87654321' } }), 'A');
    assert.equal(Object.keys(r.state).length, 3);
    refusedAsReplay(r, telegram(50), 'the first meter is still protected');
  });

  it('state written before slots (keyed "XSM.12345678") still bounds the new slot', () => {
    const r = rx({ state: { 'XSM.12345678': { messageCounter: 20 } } });
    refusedAsReplay(r, telegram(20), 'legacy counter 20');
    refusedAsReplay(r, relinked(telegram(19), { manufacturer: 'XSL' }), 'legacy counter, M changed');
    r.receiveFrame(telegram(21), 'A');
  });

  it('a frame that fails any check leaves the state as it was', () => {
    const r = rx({ strict: true });
    r.receiveFrame(telegram(1), 'A');
    const before = JSON.stringify(r.state);
    // A MAC-valid frame with a record strict mode refuses (a reserved VIF): refused, counter not taken.
    const bad = telegram(2, { registers: undefined, records: fromHex('046f01000000') });
    assert.throws(() => r.receiveFrame(bad, 'A'), { code: 'unknown-vif' });
    assert.equal(JSON.stringify(r.state), before);
    r.receiveFrame(telegram(2), 'A');
  });

  it('dropping the cached key handles (a fleet gateway does it between epochs) wipes them; the next telegram is decoded with a new handle and an old counter is still refused', () => {
    const made: AesKey[] = [];
    const counting: Crypto = { ...nobleCrypto, aesKey: (raw) => { const k = nobleCrypto.aesKey(raw); made.push(k); return k; } };
    const r = new Receiver({ crypto: counting, keys: () => KEY });
    r.receiveFrame(telegram(1), 'A');
    r.receiveFrame(telegram(2), 'A');
    // One master handle so far (the derived Kenc/Kmac are wiped after each telegram).
    const master = made.filter((k) => { try { nobleCrypto.aesEncryptBlock(k, new Uint8Array(16), new Uint8Array(16)); return true; } catch { return false; } });
    assert.equal(master.length, 1);
    r.dropCachedKeys();
    assert.throws(() => nobleCrypto.aesEncryptBlock(master[0], new Uint8Array(16), new Uint8Array(16)), { code: 'wiped-key' });
    const before = made.length;
    const third = r.receiveFrame(telegram(3), 'A');
    assert.equal(third.messageCounter, 3);
    assert.equal(third.mac, 'ok');
    assert.equal(third.values.find((v) => v.obis === '1.8.0')?.value, 1003);
    assert.ok(made.length > before);
    refusedAsReplay(r, telegram(2), 'counter 2 after the handles were dropped');
  });

  describe('encryption without a MAC', () => {
    const m5 = (access: number, h: DllHeader = header): Uint8Array =>
      buildTelegram({ header: h, registers: [{ obis: '1.8.0', value: access }], security: { mode: 5, key: nobleCrypto.aesKey(KEY), crypto: nobleCrypto }, counters: { accessNumber: access } });

    it('mode 5 is refused unless allowed; when allowed its values say authenticated: false; a changed version or device type is the same meter (a replay), a changed M fails the 2F2F check', () => {
      assert.throws(() => rx().receiveFrame(m5(1), 'A'), { code: 'unauthenticated' });
      const r = rx({ allowUnauthenticated: true });
      const t = r.receiveFrame(m5(10), 'A');
      assert.deepEqual([t.values[0].value, t.values[0].authenticated, t.mac], [10, false, 'none']);
      refusedAsReplay(r, m5(10), 'mode 5 repeat');
      // The IV is M ‖ A ‖ ACC; CBC puts an IV change into the first plaintext block byte for byte, and
      // the 2F2F check sees only bytes 0-1 (M). Version and device type do not change who the meter
      // is: they select no other slot.
      assert.throws(() => r.receiveFrame(relinked(m5(11), { manufacturer: 'XSL' }), 'A'), { code: 'wrong-key' });
      for (const h of [{ version: 2 }, { deviceType: 7 }, { version: 9, deviceType: 0x37 }]) {
        refusedAsReplay(r, relinked(m5(9), h), `mode 5, ${JSON.stringify(h)}`);
        refusedAsReplay(r, relinked(m5(10), h), `mode 5, ${JSON.stringify(h)}, same access number`);
      }
      // Per meter instead of for all: the key entry allows it.
      const perMeter = new Receiver({ crypto: nobleCrypto, keys: () => ({ key: KEY, allowUnauthenticated: true }) });
      assert.equal(perMeter.receiveFrame(m5(1), 'A').values[0].value, 1);
    });

    it('ELL AES-CTR (no MAC): allowed explicitly; the session number, which is in the counter block, must increase; CC hop and repeat bits and ACC are not in it', () => {
      // An ELL II frame built here with node:crypto: 8D CC ACC SN(4) | AES-CTR(CRC ‖ 78 ‖ records).
      const records = fromHex('0413' + 'e8030000');
      const ellFrame = (sn: number, cc = 0x20, acc = 1): Uint8Array => {
        const h: DllHeader = { control: 0x44, manufacturer: 'XSM', id: '12345678', version: 1, deviceType: 7 };
        const dll = encodeDllHeader(h); // C, M, A as they go on the air
        const snb = new Uint8Array([sn & 0xff, (sn >> 8) & 0xff, (sn >> 16) & 0xff, ((sn >>> 24) & 0x1f) | 0x20]);
        const payload = concat(new Uint8Array([0x78]), records);
        const crc = crc16En13757(payload);
        const plain = concat(new Uint8Array([crc & 0xff, crc >> 8]), payload);
        const iv = concat(dll.subarray(1, 9), new Uint8Array([cc & ~0x12]), snb, new Uint8Array(3));
        const c = createCipheriv('aes-128-ctr', KEY, iv);
        const cipher = new Uint8Array(Buffer.concat([c.update(plain), c.final()]));
        const body = concat(new Uint8Array([0x8d, cc, acc]), snb, cipher);
        return buildFrame(h, body, 'A');
      };
      assert.throws(() => rx().receiveFrame(ellFrame(100), 'A'), { code: 'unauthenticated' });
      const r = rx({ allowUnauthenticated: true });
      const t = r.receiveFrame(ellFrame(100), 'A');
      assert.deepEqual([t.encryption, t.values[0].value, t.values[0].encrypted, t.values[0].authenticated], ['ell-aes-ctr', 1, true, false]);
      refusedAsReplay(r, ellFrame(100, 0x20 | 0x12, 77), 'ELL: hop and repeat bits and ACC changed');
      refusedAsReplay(r, ellFrame(99), 'ELL: older session');
      r.receiveFrame(ellFrame(101), 'A');
      const wrong = new Receiver({ crypto: nobleCrypto, keys: () => new Uint8Array(16), allowUnauthenticated: true });
      assert.throws(() => wrong.receiveFrame(ellFrame(102), 'A'), { code: 'wrong-key' });
    });
  });

  describe('through the xsmeter binary', function () {
    this.timeout(60000);
    const K = toHex(KEY);
    it('encode counters 1..3, decode them with --state, then the counter-1 frame with M changed from XSM to XSL: refused, and the state file stays whole', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'xsm-replay-'));
      const state = join(dir, 'state.json');
      try {
        const frames: string[] = [];
        for (const c of [1, 2, 3]) {
          const r = await xsmeter(['encode', '--id', '12345678', '--key', K, '--counter', String(c), '--set', `1.8.0=${c}`]);
          assert.equal(r.code, 0, r.stderr);
          frames.push(r.stdout.trim());
        }
        const d = await xsmeter(['decode', '--key', K, '--state', state], frames.join('\n') + '\n');
        assert.equal(d.code, 0, d.stderr);
        const saved = JSON.parse(readFileSync(state, 'utf8')) as Record<string, { messageCounter: number; meter: string }>;
        assert.deepEqual(Object.values(saved), [{ messageCounter: 3, meter: 'XSM.12345678' }]);
        const forged = toHex(relinked(fromHex(frames[0]), { manufacturer: 'XSL' }));
        const again = await xsmeter(['decode', '--key', K, '--state', state], forged + '\n');
        assert.equal(again.code, 1);
        const out = JSON.parse(again.stdout) as { id: string; manufacturer: string; error: { code: string } };
        assert.deepEqual([out.error.code, out.id, out.manufacturer], ['counter-replay', '12345678', 'XSL']);
        assert.deepEqual(JSON.parse(readFileSync(state, 'utf8')), saved);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
