import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../modules/core/bytes.js';
import { exportToBinary, exportToJson } from '../modules/sealing/log-export.js';
import { KEYS_A, KEYS_B, smallLog } from './helpers/sealing-fixtures.js';
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
    r = await xsmeter(['log', 'verify', join(dir, 'a.json'), '--pubkey', toHex(KEYS_B.devicePublicKey())]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /device-key/);
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
});
