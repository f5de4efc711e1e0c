import assert from 'node:assert/strict';
import { runInBoth } from './helpers/xs.js';

describe('storage under XS', () => {
  it('record ring, append log, energy journal and flash map give the same output and images under XS and Node', async () => {
    const { xs, node } = await runInBoth('test/xs/storage.xs.ts');
    assert.deepEqual(xs.lines, node.lines);
    const line = (p: string) => xs.lines.find((l) => l.startsWith(p))!;
    assert.equal(line('ring tear'), 'ring tear cut');
    assert.match(line('ring newest'), /^ring newest 40 seq 40 len /, 'the torn save is no record');
    assert.match(xs.lines.filter((l) => l.startsWith('ring newest'))[1], /^ring newest (40 seq 40|42 seq 41) /);
    assert.match(line('log recovered'), /^log recovered 8 next 8 /);
    assert.match(line('log full'), /log-full/);
    assert.match(line('journal seq'), new RegExp(`^journal seq 500 values ${[500 * 1_000_003, 500, 1000, 0, 2 ** 40 + 500, 7].join(',')} `));
    assert.ok(xs.lines.includes('map energy energyJournal 0+8') && xs.lines.includes('map calibration meterWitness 30+2'));
  });
});
