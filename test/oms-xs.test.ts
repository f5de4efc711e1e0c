import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fromHex, toHex } from '../modules/core/bytes.js';
import { parseFrame } from '../modules/wmbus/frame-parse.js';
import { runInBoth } from './helpers/xs.js';
import { readVectors } from './helpers/vectors.js';

const n21 = (readVectors<unknown>('oms.json') as { telegrams: { frameWithCrc: string }[] }).telegrams[0];

describe('OMS telegram path under XS', () => {
  it('XS builds byte-identical frames and PHY streams to Node and decodes them the same way', async () => {
    const { xs, node } = await runInBoth('test/xs/oms-telegram.xs.ts');
    assert.deepEqual(xs.lines, node.lines);
    assert.equal(xs.lines[0], 'n21 ' + n21.frameWithCrc); // published OMS Annex N.2.1 frame, built under XS
    // Annex N.2.2 (published without CRCs): the XS-built frame carries exactly the published body.
    const n22 = '8c2075900f002c25b30a000021924d4f2fb66e017a75002007109058475f4bc91df878b80a1b0f98b629024aac727942bfc549233c0140829b93';
    assert.equal(toHex(parseFrame(fromHex(xs.lines[1].slice(4)), 'A').body), n22);
    assert.equal(xs.lines.filter((l) => l.startsWith('frame ')).length, 12);
    assert.equal(xs.lines.filter((l) => l.startsWith('decoded ')).length, 12);
    assert.match(xs.lines[xs.lines.length - 2], /^error counter-replay /);
    assert.match(xs.lines[xs.lines.length - 1], /^error crc /);
    assert.ok(xs.meter > 0);
  });
});
