/**
 * Cost of one metrology cycle (read the chip's registers over the simulated bus, update readings
 * and energy registers, drive the pulse output) per chip: Node µs per cycle and XS computrons per
 * cycle. Both include the register-level simulator answering the bus; the baseline row measures the
 * simulator alone (advance + the same register reads, no driver logic) so the driver's share shows.
 */
import { writeFileSync, readFileSync } from 'node:fs';
import type { Report } from './run.js';
import { bundleEntry, runBundleUnderXs } from '../test/helpers/xs.js';
import { CYCLES, cycles, setup } from '../test/xs/metrology-cycle.xs.js';

export async function run(report: Report): Promise<void> {
  for (const kind of ['ade7953', 'atm90e32'] as const) {
    const { m, rig } = setup(kind);
    cycles(m, rig, 200); // warm-up
    const n = 20000;
    const t0 = process.hrtime.bigint();
    cycles(m, rig, n);
    const nodeUs = Number(process.hrtime.bigint() - t0) / 1000 / n;
    const simOnly = setup(kind);
    const t1 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) simOnly.rig.advance(1000);
    const advanceUs = Number(process.hrtime.bigint() - t1) / 1000 / n;

    const b = await bundleEntry('test/xs/metrology-cycle.xs.ts');
    try {
      // Select the chip for the bundle: a global set before the entry runs.
      const code = readFileSync(b.file, 'utf8');
      writeFileSync(b.file, `globalThis.METROLOGY_CHIP = ${JSON.stringify(kind)};\n${code}`);
      const xs = await runBundleUnderXs(b.file);
      report({
        name: `${kind}: one metrology cycle`,
        figures: {
          'node µs/cycle': nodeUs,
          'of which sim advance µs': advanceUs,
          'xs computrons/cycle (incl. setup, sim)': Math.round(xs.meter / CYCLES),
        },
      });
    } finally {
      b.cleanup();
    }
  }
}
