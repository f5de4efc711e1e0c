import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { fromHex } from '../modules/core/bytes.js';
import { runInBoth } from './helpers/xs.js';
import { KEYS_A } from './helpers/sealing-fixtures.js';

describe('sealing under XS', () => {
  it('signs, chains, seals, exports, verifies and survives power cuts identically under XS and Node', async () => {
    const { xs, node } = await runInBoth('test/xs/sealing.xs.ts');
    assert.deepEqual(xs.lines, node.lines);
    assert.ok(xs.meter > 0);
    const byPrefix = (p: string) => xs.lines.filter((l) => l.startsWith(p + ' '));
    assert.deepEqual(
      xs.lines.filter((l) => / (accepted|refused)/.test(l)),
      ['write refused sealed', 'switch-only refused unseal-refused', 'key-only refused unseal-refused', 'both accepted'],
    );
    assert.equal(byPrefix('sealed')[0], 'sealed false');
    // The records XS signed verify with OpenSSL, and chain by SHA-256 (computed here, by node:crypto).
    const spki = Buffer.concat([Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex'), KEYS_A.devicePublicKey()]);
    const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    const records = byPrefix('record').map((l) => fromHex(l.split(' ')[3]));
    assert.deepEqual(byPrefix('record').map((l) => l.split(' ')[2]), ['log-init', 'calibration-change', 'seal', 'auth-failure', 'auth-failure', 'unseal-attempt', 'unseal']);
    records.forEach((raw, i) => {
      assert.ok(nodeVerify('sha256', raw.subarray(0, raw.length - 64), { key, dsaEncoding: 'ieee-p1363' }, raw.subarray(raw.length - 64)), `record ${i}`);
      if (i > 0) {
        const prevHash = createHash('sha256').update(records[i - 1]).digest('hex');
        assert.equal(Buffer.from(raw.subarray(raw.length - 96, raw.length - 64)).toString('hex'), prevHash);
      }
    });
    assert.match(byPrefix('export')[0], /^export \d+ ok json ok$/);
    assert.ok(!byPrefix('tampered')[0].split(' ').includes('ok'), 'every tampered export was rejected under XS');
    const sweep = byPrefix('sweep')[0].split(' ').slice(1);
    assert.equal(sweep.length, 24);
    for (const s of sweep) {
      const [, done, counter, verdict] = /^\d[bda]:(\d)\/(\d+)\/(\w+)$/.exec(s)!;
      assert.equal(verdict, 'ok', s);
      assert.ok(Number(counter) >= Number(done) + 1, `${s}: counter kept every committed append`);
    }
  });
});
