import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keysNotOnP256 } from './helpers/p256-points.js';
import { toHex } from '../modules/core/bytes.js';
import { CalibrationLog } from '../modules/sealing/calibration-log.js';
import { exportToBinary, exportToJson } from '../modules/sealing/log-export.js';
import { placePartition } from '../modules/storage/flash-map.js';
import { FlashRegion } from '../modules/storage/flash-region.js';
import { SimFlash } from '../hosts/sim/sim-flash.js';
import { nobleCrypto } from '../hosts/sim/noble-crypto.js';
import { KEYS_A, KEYS_B, TestClock, smallLog } from './helpers/sealing-fixtures.js';
import { xsmeter } from './helpers/cli.js';

describe('xsmeter log', () => {
  let dir: string;
  const PUB = toHex(KEYS_A.devicePublicKey());
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'xsmeter-log-'));
    const { log } = smallLog(KEYS_A, 'XSM-0001', 3);
    const exp = log.export();
    writeFileSync(join(dir, 'a.json'), exportToJson(exp));
    writeFileSync(join(dir, 'a.bin'), exportToBinary(exp));
    const bad = exportToBinary(exp);
    bad[bad.length - 108 - 10] ^= 4; // inside the last record's signature (the head is 108 bytes)
    writeFileSync(join(dir, 'bad.bin'), bad);
    const truncated = JSON.parse(exportToJson(exp));
    truncated.records.pop();
    writeFileSync(join(dir, 'short.json'), JSON.stringify(truncated));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('verify: ok for an intact export in either format, exit 0', async () => {
    for (const f of ['a.json', 'a.bin']) {
      const r = await xsmeter(['log', 'verify', join(dir, f), '--pubkey', PUB]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^ok: 4 records of device XSM-0001, event counter 3/);
    }
  });

  it('verify: names the first bad record and why, exit 1', async () => {
    let r = await xsmeter(['log', 'verify', join(dir, 'bad.bin'), '--pubkey', PUB]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^FAULT at record 3 \(counter 3\): signature: /);
    r = await xsmeter(['log', 'verify', join(dir, 'short.json'), '--pubkey', PUB]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /FAULT at record 3: count: the export's signed head says 4 records, the file holds 3/);
    // The file's own key field changed (its log-init record still names the key given): a damaged export.
    const swapped = JSON.parse(readFileSync(join(dir, 'a.json'), 'utf8')) as { publicKey: string };
    swapped.publicKey = toHex(KEYS_B.devicePublicKey());
    writeFileSync(join(dir, 'swapped.json'), JSON.stringify(swapped));
    r = await xsmeter(['log', 'verify', join(dir, 'swapped.json'), '--pubkey', PUB]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^FAULT in the export: device-key: /);
  });

  it("verify and show with another device's --pubkey: the export does not verify, exit 1 (what the file claims cannot tell a mistyped key from a forged log)", async () => {
    const other = toHex(KEYS_B.devicePublicKey());
    for (const cmd of ['verify', 'show']) {
      const r = await xsmeter(['log', cmd, join(dir, 'a.json'), '--pubkey', other]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^FAULT in the export: device-key: /m);
      assert.doesNotMatch(r.stdout, /^ok/m);
    }
  });

  it('a --pubkey of the right form that is no P-256 point: exit 2, "not a P-256 point"', async () => {
    for (const key of keysNotOnP256()) {
      const r = await xsmeter(['log', 'verify', join(dir, 'a.json'), '--pubkey', key]);
      assert.equal(r.code, 2, `${key}: ${r.stderr}`);
      assert.equal(r.stderr, 'xsmeter log: --pubkey is not a P-256 point (no point of the curve has its x coordinate)\n');
    }
  });

  it('refuses bad usage with a one-line reason and a non-zero exit', async () => {
    for (const args of [['log', 'verify', join(dir, 'a.json')], ['log', 'verify', join(dir, 'a.json'), '--pubkey', 'zz'], ['log', 'frobnicate'], ['log', 'verify', join(dir, 'missing.json'), '--pubkey', PUB]]) {
      const r = await xsmeter(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /^xsmeter log: /);
    }
  });

  it('show prints the records and verifies them', async () => {
    const r = await xsmeter(['log', 'show', join(dir, 'a.json'), '--pubkey', PUB]);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.trim().split('\n');
    assert.equal(rows.length, 5);
    assert.match(rows[2], /^\s+1 {2}2026-01-15T09:30:02\.000Z {2}calibration-change {2}bench-7\s+param 1 00 -> 0140$/);
    const bad = await xsmeter(['log', 'show', join(dir, 'bad.bin')]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /integrity only/);
  });

  it('demo makes a simulated meter whose flash image exports to a log that verifies', async function () {
    const out = join(dir, 'demo');
    const d = await xsmeter(['log', 'demo', '--out', out]);
    assert.equal(d.code, 0, d.stderr);
    const pub = d.stdout.trim();
    assert.equal(JSON.parse(readFileSync(join(out, 'keys.json'), 'utf8')).publicKey, pub);
    const e = await xsmeter(['log', 'export', '--image', join(out, 'flash.bin'), '--keys', join(out, 'keys.json'), '--format', 'bin', '--out', join(out, 'x.bin')]);
    assert.equal(e.code, 0, e.stderr);
    const v = await xsmeter(['log', 'verify', join(out, 'x.bin'), '--pubkey', pub]);
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /^ok: 9 records/);
    const s = await xsmeter(['log', 'show', join(out, 'x.bin'), '--pubkey', pub]);
    assert.deepEqual(
      s.stdout.trim().split('\n').slice(1).map((l) => l.split(/\s+/)[3]),
      ['log-init', 'calibration-change', 'calibration-change', 'seal', 'auth-failure', 'unseal-attempt', 'unseal', 'calibration-change', 'seal'],
    );
    assert.match(s.stdout, /unseal refused: switch not set/);
  });
  it('demo into a DIR that already holds a meter: refused, exit 2, its files unchanged; --force replaces them', async () => {
    const out = join(dir, 'demo-again');
    const first = await xsmeter(['log', 'demo', '--out', out]);
    assert.equal(first.code, 0, first.stderr);
    const before = Object.fromEntries(['flash.bin', 'keys.json', 'log.json', 'log.bin'].map((f) => [f, readFileSync(join(out, f))]));
    const again = await xsmeter(['log', 'demo', '--out', out]);
    assert.equal(again.code, 2, again.stderr);
    assert.equal(again.stderr, `xsmeter log: --out ${out} already holds flash.bin, keys.json, log.json, log.bin (a meter made before): give a new or empty DIR, or --force to replace them\n`);
    assert.equal(again.stdout, '');
    for (const [f, bytes] of Object.entries(before)) assert.deepEqual(readFileSync(join(out, f)), bytes, f);
    // One of its files is enough (here the one made last, as after an interrupted run).
    const partial = join(dir, 'demo-partial');
    mkdirSync(partial);
    writeFileSync(join(partial, 'log.bin'), 'mine');
    const r = await xsmeter(['log', 'demo', '--out', partial]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /already holds log\.bin \(/);
    assert.equal(readFileSync(join(partial, 'log.bin'), 'utf8'), 'mine');
    const forced = await xsmeter(['log', 'demo', '--out', out, '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.notEqual(forced.stdout.trim(), first.stdout.trim()); // a new meter, a new key
    assert.equal(JSON.parse(readFileSync(join(out, 'keys.json'), 'utf8')).publicKey, forced.stdout.trim());
  });

  describe('export of a log that fills more than one sector', () => {
    const EVENTS = 40;
    let image: Uint8Array;
    let keysFile: string;
    before(() => {
      // The simulator's calibration partition (16 sectors of 4096 bytes), its log where the flash map puts it.
      const partition = new SimFlash({ sectorSize: 4096, sectorCount: 16 });
      const place = placePartition('calibration', 16).find((p) => p.store === 'calibrationLog')!;
      const region = new FlashRegion(partition, place.firstSector, place.sectorCount);
      const log = CalibrationLog.open({ crypto: nobleCrypto, flash: region, keys: KEYS_A, clock: new TestClock(), deviceId: 'XSM-0002' });
      for (let i = 0; i < EVENTS; i++) {
        log.append({ type: 'calibration-change', parameter: 1, oldValue: new Uint8Array([i]), newValue: new Uint8Array([i + 1]), who: 'bench-7' });
      }
      image = partition.image();
      keysFile = join(dir, 'multi-keys.json');
      writeFileSync(keysFile, JSON.stringify(KEYS_A.toFile()));
    });
    const exportOf = (bytes: Uint8Array, ...extra: string[]) => {
      const file = join(dir, 'multi.bin');
      writeFileSync(file, bytes);
      return xsmeter(['log', 'export', '--image', file, '--keys', keysFile, ...extra]);
    };
    const headCount = (stdout: string) => (JSON.parse(stdout) as { head: { count: number } }).head.count;

    it('with its own geometry: every record, the head pins them all', async () => {
      assert.notEqual(image[4096], 0xff, 'the log reaches its second sector');
      const r = await exportOf(image);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.equal(headCount(r.stdout), EVENTS + 1); // (and its log-init record)
    });

    it('with another --sector-size: refused, exit 2, nothing signed (8192 read one sector and signed a head over it)', async () => {
      let r = await exportOf(image, '--sector-size', '8192');
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^xsmeter log: .*multi\.bin: a log sector header at byte 4096 of sector 0: the log was written with smaller sectors than --sector-size 8192, the export would miss records\n$/);
      assert.equal(r.stdout, '');
      r = await exportOf(image, '--sector-size', '2048');
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^xsmeter log: .*: the log was written with larger sectors than --sector-size 2048, the export would miss records\n$/);
      assert.equal(r.stdout, '');
    });

    it('a sector whose header is damaged, holding the newest records: refused, exit 1 (was a warning and a head over the rest)', async () => {
      const damaged = Uint8Array.from(image);
      damaged[4096] ^= 0x01; // the second sector's magic
      const r = await exportOf(damaged);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^xsmeter log: .*multi\.bin: records the log does not hold lie in sectors without a valid log header \(sector 1: \d+ records\): the export would leave them out\n$/);
      assert.equal(r.stdout, '');
    });

    it('a sector left by an erase cut short (copies of records held elsewhere): a warning, every record exported', async () => {
      const cut = Uint8Array.from(image);
      cut.copyWithin(5 * 4096, 0, 4096); // a compaction's source, copied before its erase…
      cut[5 * 4096] ^= 0x01; // …which cut its header only
      const r = await exportOf(cut);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^warning: 1 of the 14 sectors are neither the log's nor erased \(an erase cut short: it holds no record the log lacks\)\n$/);
      assert.equal(headCount(r.stdout), EVENTS + 1);
    });
  });
});
