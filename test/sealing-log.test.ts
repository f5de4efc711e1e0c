import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { fromHex, toHex, writeU32LE } from '../modules/core/bytes.js';
import { crc32 } from '../modules/core/crc32.js';
import { isoTime } from '../modules/core/iso-time.js';
import { CalibrationLog } from '../modules/sealing/calibration-log.js';
import { LogFullError, LogVerifyError } from '../modules/sealing/errors.js';
import { exportFromBinary, exportFromJson, exportToBinary, exportToJson, readExport, verifyExport } from '../modules/sealing/log-export.js';
import { decodeRecord } from '../modules/sealing/log-record.js';
import { verifyRecords } from '../modules/sealing/log-verify.js';
import { PowerCut, SimFlash, type CutPlan } from '../hosts/sim/sim-flash.js';
import { KEYS_A, KEYS_B, SMALL, TestClock, smallLog } from './helpers/sealing-fixtures.js';
import { nobleCrypto } from '../hosts/sim/noble-crypto.js';

/** node:crypto (OpenSSL) key object for a compressed P-256 public key, via its SPKI DER encoding. */
function nodeKey(compressed: Uint8Array) {
  const spki = Buffer.concat([Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex'), compressed]);
  return createPublicKey({ key: spki, format: 'der', type: 'spki' });
}

describe('sealing: device key store (sim)', () => {
  it('signs RFC 6979 A.2.5 "sample" deterministically, normalised to low-S', () => {
    const digest = createHash('sha256').update('sample').digest();
    const sig = KEYS_A.signDigest(digest);
    const n = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
    // RFC 6979 A.2.5, P-256 with SHA-256, message "sample": r and s as published; s is high, so n − s.
    const r = 'efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716';
    const s = BigInt('0xf7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8');
    assert.equal(toHex(sig), r + (n - s).toString(16).padStart(64, '0'));
    // RFC 6979 A.2.5 public key Ux (the compressed form carries it after the parity byte).
    assert.equal(toHex(KEYS_A.devicePublicKey().subarray(1)), '60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6');
  });
});

describe('sealing: calibration log', () => {
  it('records the events with counter, time, type, parameter, old/new values and who', () => {
    const { log } = smallLog();
    const entries = log.entries();
    assert.deepEqual(
      entries.map((e) => [e.counter, e.type, e.parameter, toHex(e.oldValue), toHex(e.newValue), e.who]),
      [
        [0, 'log-init', 0, '', toHex(new Uint8Array([8, ...new TextEncoder().encode('XSM-0001'), ...KEYS_A.devicePublicKey()])), 'factory'],
        [1, 'calibration-change', 1, '00', '0140', 'bench-7'],
        [2, 'calibration-change', 2, '01', '0240', 'bench-7'],
        [3, 'calibration-change', 3, '02', '0340', 'bench-7'],
      ],
    );
    assert.ok(entries.every((e, i) => i === 0 || e.time > entries[i - 1].time));
    assert.equal(log.counter, 3);
  });

  it('chains each record by SHA-256 of the previous one and signs it (checked with node:crypto)', () => {
    const { log } = smallLog();
    const key = nodeKey(KEYS_A.devicePublicKey());
    const raws = log.rawRecords();
    const genesisPrev = createHash('sha256').update('xsmeter/calibration-log/v1').update(KEYS_A.devicePublicKey()).digest();
    raws.forEach((raw, i) => {
      const e = decodeRecord(raw);
      const expectPrev = i === 0 ? genesisPrev : createHash('sha256').update(raws[i - 1]).digest();
      assert.equal(toHex(e.prevHash), toHex(expectPrev), `record ${i} chains`);
      const signed = raw.subarray(0, raw.length - 64);
      assert.ok(nodeVerify('sha256', signed, { key, dsaEncoding: 'ieee-p1363' }, e.signature), `record ${i} signature (OpenSSL)`);
    });
    assert.deepEqual(verifyRecords(nobleCrypto, raws, KEYS_A.devicePublicKey()).fault, undefined);
  });

  it('survives a restart: same records, counter continues, chain continues', () => {
    const { flash, log } = smallLog();
    const again = CalibrationLog.open({ crypto: nobleCrypto, flash: new SimFlash({ ...SMALL, image: flash.image() }), keys: KEYS_A, clock: new TestClock(), deviceId: 'XSM-0001', verifySignatures: true });
    assert.equal(again.fault, undefined);
    assert.deepEqual(again.rawRecords(), log.rawRecords());
    assert.equal(again.append({ type: 'firmware-update', newValue: new Uint8Array([1, 2, 0]), who: 'ota' }).counter, 4);
    assert.ok(verifyRecords(nobleCrypto, again.rawRecords(), KEYS_A.devicePublicKey()).ok);
  });

  it('the event counter never goes back: a forged last record with a lower counter is a fault, and the next event counts on', () => {
    const { flash, log } = smallLog(); // counters 0…3
    const img = flash.image();
    const last = log.rawRecords()[3];
    let at = -1;
    for (let i = 0; i + last.length <= img.length && at < 0; i++) if (img.subarray(i, i + last.length).every((b, k) => b === last[k])) at = i;
    assert.ok(at >= 6, 'the last record is on flash');
    // Rewrite its counter to 1 and fix the store's frame CRC (u16 length | u32 seq | payload | CRC), as a
    // tamperer with flash access could: the store accepts the frame, the chain check must not.
    writeU32LE(img, at + 2, 1);
    writeU32LE(img, at + last.length, crc32(img, at - 6, at + last.length));
    const opened = CalibrationLog.open({ crypto: nobleCrypto, flash: new SimFlash({ ...SMALL, image: img }), keys: KEYS_A, clock: new TestClock(), deviceId: 'XSM-0001' });
    assert.equal(decodeRecord(opened.rawRecords()[3]).counter, 1, 'the forged frame is what the store returns');
    assert.equal(opened.fault?.code, 'counter');
    assert.ok(opened.counter >= 3, `counter ${opened.counter} went back below 3`);
    assert.ok(opened.append({ type: 'tamper', who: 'startup' }).counter >= 4);
    // A forged counter at the 32-bit limit: the log cannot go on, so it is full (changes refused), not broken.
    writeU32LE(img, at + 2, 0xffffffff);
    writeU32LE(img, at + last.length, crc32(img, at - 6, at + last.length));
    const atLimit = CalibrationLog.open({ crypto: nobleCrypto, flash: new SimFlash({ ...SMALL, image: img }), keys: KEYS_A, clock: new TestClock(), deviceId: 'XSM-0001' });
    assert.equal(atLimit.counter, 0xffffffff);
    assert.throws(() => atLimit.append({ type: 'tamper', who: 'startup' }), (e: unknown) => e instanceof LogFullError && e.code === 'log-full');
  });

  it('reports a stored log of another device or id as a fault at open', () => {
    const { flash } = smallLog();
    const other = CalibrationLog.open({ crypto: nobleCrypto, flash, keys: KEYS_B, clock: new TestClock(), deviceId: 'XSM-0001' });
    assert.equal(other.fault?.code, 'device-key');
    const renamed = CalibrationLog.open({ crypto: nobleCrypto, flash, keys: KEYS_A, clock: new TestClock(), deviceId: 'XSM-0002' });
    assert.equal(renamed.fault?.code, 'device-id');
  });

  it('refuses malformed events with typed errors', () => {
    const { log } = smallLog();
    assert.throws(() => log.append({ type: 'tamper', who: 'bad\nname' }), (e: unknown) => e instanceof LogVerifyError && e.code === 'bad-text');
    assert.throws(() => log.append({ type: 'calibration-change', parameter: 70000, who: 'x' }), LogVerifyError);
    assert.throws(() => log.append({ type: 'calibration-change', newValue: new Uint8Array(129), who: 'x' }), LogVerifyError);
    assert.throws(() => log.append({ type: 'log-init' as 'tamper', who: 'x' }), LogVerifyError);
    assert.equal(log.counter, 3, 'nothing was recorded');
  });
});

describe('sealing: export and verifier', () => {
  it('round-trips JSON and binary exports, which verify with the public key alone', () => {
    const { log } = smallLog();
    const exp = log.export();
    for (const read of [exportFromJson(exportToJson(exp)), exportFromBinary(exportToBinary(exp)), readExport(new TextEncoder().encode(exportToJson(exp)))]) {
      assert.deepEqual(read.records, exp.records);
      const r = verifyExport(nobleCrypto, read, KEYS_A.devicePublicKey());
      assert.equal(r.fault, undefined);
      assert.equal(r.entries.length, 4);
      assert.equal(r.deviceId, 'XSM-0001');
    }
    const doc = JSON.parse(exportToJson(exp));
    assert.equal(doc.format, 'xsmeter-calibration-log');
    assert.equal(doc.records[1].event, 'calibration-change');
    assert.equal(doc.records[1].time, new Date(decodeRecord(exp.records[1]).time).toISOString());
  });

  it('detects a change to any byte of a binary export (exhaustive)', function () {
    const { log } = smallLog(KEYS_A, 'XSM-0001', 2);
    const bin = exportToBinary(log.export());
    const pub = KEYS_A.devicePublicKey();
    const check = (bytes: Uint8Array): string => {
      try {
        const r = verifyExport(nobleCrypto, exportFromBinary(bytes), pub);
        return r.ok ? 'accepted' : `${r.fault!.code}@${r.fault!.record}`;
      } catch (e) {
        if (e instanceof LogVerifyError) return e.code;
        throw e;
      }
    };
    assert.equal(check(bin), 'accepted');
    const codes = new Map<string, number>();
    for (let i = 0; i < bin.length; i++) {
      const bad = bin.slice();
      bad[i] ^= ((i * 37) & 0xff) | 1; // a different non-zero change at each position
      const c = check(bad);
      assert.notEqual(c, 'accepted', `byte ${i} changed went undetected`);
      codes.set(c.replace(/@.*/, ''), (codes.get(c.replace(/@.*/, '')) ?? 0) + 1);
    }
    this.test!.title += ` (${bin.length} bytes; ${[...codes].map(([k, v]) => `${k} ${v}`).join(', ')})`;
  });

  describe('detects deleted, reordered, duplicated, truncated and spliced records', () => {
    const { log } = smallLog(KEYS_A, 'XSM-0001', 4);
    const exp = log.export();
    const pub = KEYS_A.devicePublicKey();
    const variant = (records: Uint8Array[]) => verifyExport(nobleCrypto, { ...exp, records }, pub);
    const r = exp.records;

    it('deletion of any record', () => {
      for (let i = 0; i < r.length; i++) {
        const v = variant(r.filter((_, k) => k !== i));
        assert.equal(v.ok, false, `deleting ${i}`);
        assert.equal(v.fault!.record, i, `names record ${i}`);
        assert.equal(v.fault!.code, i === 0 ? 'genesis' : i === r.length - 1 ? 'count' : 'counter');
      }
    });
    it('swapping any two records', () => {
      for (let i = 0; i < r.length; i++) {
        for (let j = i + 1; j < r.length; j++) {
          const s = r.slice();
          [s[i], s[j]] = [s[j], s[i]];
          assert.equal(variant(s).fault?.record, i, `swap ${i},${j} names the first moved record`);
        }
      }
    });
    it('duplicating any record', () => {
      for (let i = 0; i < r.length; i++) assert.equal(variant([...r.slice(0, i + 1), r[i], ...r.slice(i + 1)]).fault?.record, i + 1);
    });
    it('truncating records at the end or inside a record', () => {
      for (let n = 1; n < r.length; n++) assert.equal(variant(r.slice(0, n)).fault?.code, 'count', `keeping ${n}`);
      const cut = r.slice();
      cut[2] = cut[2].slice(0, cut[2].length - 10);
      assert.deepEqual(variant(cut).fault?.record, 2);
      const bin = exportToBinary(exp);
      for (const keep of [bin.length - 1, bin.length - 64, Math.floor(bin.length / 2), 10]) {
        assert.throws(() => exportFromBinary(bin.slice(0, keep)), (e: unknown) => e instanceof LogVerifyError && e.code === 'format');
      }
      assert.equal(verifyExport(nobleCrypto, { ...exp, records: [] }, pub).ok, false);
    });
    it('splicing two devices’ logs', () => {
      const { log: other } = smallLog(KEYS_B, 'XSM-0001', 4);
      const o = other.export();
      // B's records after A's, A's genesis before B's records, B's log passed as A's.
      assert.equal(variant([...r, ...o.records.slice(1)]).fault?.record, r.length);
      assert.equal(variant([r[0], ...o.records.slice(1)]).fault?.record, 1);
      assert.equal(variant([...r.slice(0, 2), ...o.records.slice(2)]).fault?.record, 2);
      assert.equal(verifyExport(nobleCrypto, o, pub).fault?.code, 'device-key');
      assert.equal(verifyExport(nobleCrypto, { ...o, publicKey: pub }, pub).fault?.code, 'device-key');
      assert.equal(verifyExport(nobleCrypto, o, KEYS_B.devicePublicKey()).ok, true);
    });
    it('an edited readable field or raw hex in the JSON export', () => {
      const json = JSON.parse(exportToJson(exp));
      const fields = ['counter', 'time', 'timeMs', 'event', 'parameter', 'old', 'new', 'who', 'prevHash', 'signature'];
      for (let i = 0; i < json.records.length; i++) {
        for (const f of fields) {
          const doc = JSON.parse(JSON.stringify(json));
          const v = doc.records[i][f];
          doc.records[i][f] = typeof v === 'number' ? v + 1 : f === 'event' ? 'seal' : v === '' ? '00' : v.slice(0, -1) + (v.endsWith('0') ? '1' : '0');
          const res = verifyExport(nobleCrypto, exportFromJson(JSON.stringify(doc)), pub);
          assert.equal(res.fault?.record, i, `${f} of record ${i}`);
          assert.equal(res.fault?.code, 'field-mismatch');
        }
        const doc = JSON.parse(JSON.stringify(json));
        const raw: string = doc.records[i].raw;
        doc.records[i].raw = raw.slice(0, 40) + (raw[40] === 'a' ? 'b' : 'a') + raw.slice(41);
        assert.equal(verifyExport(nobleCrypto, exportFromJson(JSON.stringify(doc)), pub).fault?.record, i);
      }
      const renamed = { ...json, deviceId: 'XSM-9999' };
      assert.equal(verifyExport(nobleCrypto, exportFromJson(JSON.stringify(renamed)), pub).fault?.code, 'field-mismatch');
      for (const broken of ['', '{}', '[1]', JSON.stringify({ ...json, head: undefined }), JSON.stringify({ ...json, records: [{ raw: 'zz' }] })]) {
        assert.throws(() => exportFromJson(broken), (e: unknown) => e instanceof LogVerifyError && e.code === 'format', broken.slice(0, 30));
      }
    });
  });

  it('rejects a bad public key given to the verifier', () => {
    const { log } = smallLog();
    assert.equal(verifyRecords(nobleCrypto, log.rawRecords(), fromHex('05' + '11'.repeat(32))).fault?.code, 'bad-public-key');
  });
});

// ---------------------------------------------------------------------------------------------
// Power-cut sweep of the signed log: cut at every flash call of a scripted run of events (enough to
// fill sectors and rotate), restart, and check records, verification, counter and further appends.

describe('sealing: record times beyond the calendar', () => {
  it('a record time past Date\'s end (8.64e15 ms) exports to JSON, reads back and verifies; its text says so', () => {
    const log = CalibrationLog.open({ crypto: nobleCrypto, flash: new SimFlash(SMALL), keys: KEYS_A, clock: new TestClock(8_640_000_000_000_001), deviceId: 'XSM-0001' });
    log.append({ type: 'calibration-change', parameter: 1, oldValue: Uint8Array.of(1), newValue: Uint8Array.of(2), who: 'bench-7' });
    const json = exportToJson(log.export());
    const doc = JSON.parse(json) as { records: { time?: string; timeMs?: number; undecodable?: boolean }[] };
    assert.deepEqual(doc.records.map((r) => r.undecodable ?? false), [false, false]);
    const last = doc.records[1];
    assert.ok((last.timeMs ?? 0) > 8.64e15, String(last.timeMs));
    assert.equal(last.time, `${last.timeMs} ms (no calendar date)`);
    assert.equal(verifyExport(nobleCrypto, exportFromJson(json), KEYS_A.devicePublicKey()).ok, true);
  });

  it('isoTime: ISO 8601 up to the last Date (+275760-09-13), a plain count beyond', () => {
    assert.equal(isoTime(Date.UTC(2026, 11, 1, 4, 5, 6, 7)), '2026-12-01T04:05:06.007Z');
    assert.equal(isoTime(8.64e15), '+275760-09-13T00:00:00.000Z');
    assert.equal(isoTime(2 ** 53 - 1), '9007199254740991 ms (no calendar date)');
  });
});

describe('sealing: calibration log power-cut sweep', () => {
  const EVENTS = 9;
  const event = (i: number) => ({
    type: (i % 4 === 3 ? 'seal' : 'calibration-change') as 'seal' | 'calibration-change',
    parameter: i % 4 === 3 ? 0 : 1 + i,
    oldValue: new Uint8Array(i % 5).fill(i),
    newValue: new Uint8Array(4 + (i % 3) * 8).fill(0x10 + i),
    who: `bench-${i}`,
  });

  function run(plan: CutPlan | undefined): { ops: number; fired: boolean } {
    const flash = new SimFlash({ sectorSize: 512, sectorCount: 6 });
    const clock = new TestClock();
    const committed: Uint8Array[] = [];
    let counterBefore = -1;
    if (plan) flash.cutPower(plan);
    try {
      const log = CalibrationLog.open({ crypto: nobleCrypto, flash, keys: KEYS_A, clock, deviceId: 'XSM-0001' });
      committed.push(...log.rawRecords());
      counterBefore = log.counter;
      for (let i = 0; i < EVENTS; i++) {
        committed.push(log.append(event(i)).raw);
        counterBefore = log.counter;
      }
      return { ops: flash.opCount, fired: false };
    } catch (e) {
      if (!(e instanceof PowerCut)) throw e;
    }
    const label = `cut ${plan!.phase}@${plan!.opIndex}`;
    flash.powerOn();
    const log = CalibrationLog.open({ crypto: nobleCrypto, flash, keys: KEYS_A, clock, deviceId: 'XSM-0001', verifySignatures: true });
    assert.equal(log.fault, undefined, `${label}: the log verifies at open`);
    const raws = log.rawRecords();
    assert.ok(raws.length === committed.length || raws.length === committed.length + 1, `${label}: only the in-flight record may be added`);
    committed.forEach((r, i) => assert.deepEqual(raws[i], r, `${label}: record ${i} intact`));
    assert.ok(log.counter >= counterBefore, `${label}: counter did not go back`);
    const next = log.append({ type: 'tamper', who: 'sweep' });
    assert.equal(next.counter, log.counter);
    assert.ok(verifyRecords(nobleCrypto, log.rawRecords(), KEYS_A.devicePublicKey()).ok, `${label}: verifies after a further append`);
    return { ops: flash.opCount, fired: true };
  }

  it('keeps every committed record, verifies, never goes back and appends on, at every cut point', function () {
    const base = run(undefined);
    let cuts = 0;
    for (let op = 0; op < base.ops; op++) {
      for (const plan of [{ opIndex: op, phase: 'before' }, { opIndex: op, phase: 'during', progress: 0.5 }, { opIndex: op, phase: 'after' }] as CutPlan[]) {
        assert.ok(run(plan).fired);
        cuts++;
      }
    }
    this.test!.title += ` (${cuts} cut points over ${base.ops} flash calls)`;
  });
});
