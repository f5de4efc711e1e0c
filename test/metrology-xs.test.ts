import assert from 'node:assert/strict';
import { runInBoth } from './helpers/xs.js';

describe('metrology under XS', () => {
  it('drivers, simulators, energy, pulses, journal and calibration give the same output under XS and Node', async () => {
    const { xs, node } = await runInBoth('test/xs/metrology.xs.ts');
    assert.deepEqual(xs.lines, node.lines);
    assert.ok(xs.lines.some((l) => l.startsWith('chip reset at cycle 200')));
    assert.ok(!xs.lines.some((l) => l.startsWith('fault')), xs.lines.join('\n'));
    // the meter's registers agree with the load model's integral (chip reset loses ≤ one 10 s interval)
    for (const kind of ['ade7953', 'atm90e32']) {
      const regs = Object.fromEntries(xs.lines.find((l) => l.startsWith(`${kind} 1.8.0`) || l.startsWith(`${kind} 1.8`))!.split(' ').slice(1).map((kv) => kv.split('=')).map(([k, v]) => [k, Number(v)]));
      const truth = xs.lines.find((l) => l.startsWith(`${kind} truth`))!.split(' ');
      const imp = truth[3].split(',').map(Number).reduce((a, b) => a + b, 0);
      const exp = truth[5].split(',').map(Number).reduce((a, b) => a + b, 0);
      assert.ok(regs['1.8.0'] <= imp * 1.02 && regs['1.8.0'] > imp * 0.9, `${kind} import ${regs['1.8.0']} vs ${imp}`);
      assert.ok(regs['2.8.0'] <= exp * 1.02 && regs['2.8.0'] > exp * 0.9, `${kind} export ${regs['2.8.0']} vs ${exp}`);
      assert.equal(regs['1.8.0'], regs['1.8.1'] + regs['1.8.2']);
    }
  });
});
