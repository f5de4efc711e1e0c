import assert from 'node:assert/strict';
import { fromHex } from '../modules/core/bytes.js';
import { runInBoth } from './helpers/xs.js';
import { libsmlReader, readWithLibsml } from './helpers/libsml.js';
import { readWithSmartmeterObis } from './helpers/smartmeter-obis.js';
import { joinAll } from './helpers/sml.js';

describe('SML under XS', function () {
  this.timeout(120_000);
  let run: Awaited<ReturnType<typeof runInBoth>>;
  before(async () => {
    run = await runInBoth('test/xs/sml.xs.ts');
  });

  it('pushes, answers and decodes byte for byte as under Node', () => {
    assert.deepEqual(run.xs.lines, run.node.lines);
    assert.equal(run.xs.lines.at(-1), 'decoded 9 errors 0 pushed 4 detail 2 lmn 1');
    assert.ok(run.xs.meter > 0);
  });

  const xsFiles = () => run.xs.lines.filter((l) => l.startsWith('file ')).map((l) => fromHex(l.slice(5)));

  it('what XS encoded, smartmeter-obis reads as the registers it was given', () => {
    const files = xsFiles();
    const smo = readWithSmartmeterObis(joinAll(files));
    assert.deepEqual(
      smo.map((r) => ('values' in r ? [r.values['1-0:1.8.0*255'].value, r.values['1-0:16.7.0*255']?.value ?? null] : r.error)),
      [
        [98765.432, null],
        [98765.433, null],
        [98765.434, -4321],
        [98765.435, -4321],
        [98765.435, -4321],
      ],
    );
  });

  it('what XS encoded, libsml reads with right CRCs and the status word', async function () {
    const r = libsmlReader();
    if (!r.path) {
      console.log(`      skipped: ${r.skip}`);
      this.skip();
    }
    const lib = await readWithLibsml(r.path!, joinAll(xsFiles()));
    assert.deepEqual(lib.map((f) => [f.crcOk, f.values.find((v) => v.obis === '1-0:1.8.0*255')?.status, f.values.length]), [
      [true, BigInt(0x0182), 6],
      [true, BigInt(0x0182), 6],
      [true, BigInt(0x0182), 7],
      [true, BigInt(0x0182), 7],
      [true, BigInt(0x0182), 7],
    ]);
  });
});
