/**
 * `npm run bench`: runs every benchmarks/*.bench.ts in turn. Each exports `run(report)` and reports rows
 * of figures: ratios against a baseline measured in the same process, and XS metering counts
 * (deterministic) next to wall-clock times (which are not).
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface BenchRow {
  name: string;
  /** Figure → value, e.g. { 'node µs': 41.2, 'xs computrons': 182340, 'ratio vs node:crypto': 3.1 }. */
  figures: Record<string, number | string>;
}
export type Report = (row: BenchRow) => void;

const dir = dirname(fileURLToPath(import.meta.url));
const only = process.argv[2];
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts') && (!only || f.includes(only)))
  .sort();
for (const f of files) {
  const mod = (await import(pathToFileURL(join(dir, f)).href)) as { run: (r: Report) => Promise<void> };
  process.stdout.write(`\n== ${f.replace('.bench.ts', '')} ==\n`);
  await mod.run((row) => {
    const figs = Object.entries(row.figures)
      .map(([k, v]) => `${k}: ${typeof v === 'number' ? formatNumber(v) : v}`)
      .join('  ');
    process.stdout.write(`${row.name.padEnd(44)} ${figs}\n`);
  });
}

function formatNumber(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(3);
}
