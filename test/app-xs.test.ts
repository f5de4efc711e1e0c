import assert from 'node:assert/strict';
import { runInBoth } from './helpers/xs.js';

describe('meter application under XS', () => {
  it('a simulated hour of one meter gives the same frames and registers under XS and Node', async () => {
    const { xs, node } = await runInBoth('test/xs/app.xs.ts');
    assert.deepEqual(xs.lines, node.lines);
    const frames = xs.lines.filter((l) => /^\d+ \d+ [0-9a-f]+$/.test(l));
    assert.ok(frames.length >= 11 && frames.length <= 13, `${frames.length} telegrams in an hour at 5 min`);
    assert.match(xs.lines.at(-1) ?? '', /^stats samples=3600 telegrams=\d+ deferred=0 faults=0 log=1$/);
    assert.ok(xs.meter > 0);
  });
});
