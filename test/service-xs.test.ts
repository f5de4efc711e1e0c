import assert from 'node:assert/strict';
import { runInBoth } from './helpers/xs.js';

describe('service interface under XS', () => {
  it('client ↔ server traffic is byte-identical under XS and Node', async () => {
    const { xs, node } = await runInBoth('test/xs/service.xs.ts');
    assert.deepEqual(xs.lines, node.lines);
    // The first request is identify, SEQ 0, empty payload: CRC-16/CCITT of 00 00 00 01 00 is 0x223d (CPython crc_hqx).
    assert.equal(xs.lines[0], '> a55a0000000100223d');
    assert.ok(xs.lines.some((l) => l === '= write-sealed refused sealed'));
    assert.ok(xs.lines.some((l) => l === '= page-too-long refused out-of-range'));
    assert.ok(xs.lines.some((l) => l.startsWith('= unknown {"type":255,')));
    assert.ok(xs.lines.every((l) => !l.includes('untyped')));
    assert.equal(xs.lines.at(-2), 'calls writeCalibration,setTime,installMeterKey,pulseTest,seal,writeCalibration,unseal');
    assert.ok(xs.lines.at(-1)?.startsWith('counter 7 '));
    assert.ok(xs.meter > 0);
  });
});
