/**
 * Cost of one service-interface round trip over the in-memory line (client encode and sign, server
 * frame decode, CMAC verify, counter persist, dispatch, response encode, client decode): Node µs and
 * XS computrons, for a public command (identify) and a privileged one (set-time, one AES-CMAC on each
 * side). Baseline: node:crypto AES-128-CBC over the same number of blocks as one set-time CMAC.
 */
import { createCipheriv } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import type { Report } from './run.js';
import { bundleEntry, runBundleUnderXs } from '../test/helpers/xs.js';
import { ROUND_TRIPS, roundTrips, setup } from './xs/service.xs.js';

export async function run(report: Report): Promise<void> {
  const key = new Uint8Array(16);
  const cbcUs = (() => {
    const block = new Uint8Array(32); // a set-time MAC input is 28 bytes: two AES blocks
    const n = 20000;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) createCipheriv('aes-128-cbc', key, new Uint8Array(16)).update(block);
    return Number(process.hrtime.bigint() - t0) / 1000 / n;
  })();
  for (const kind of ['identify', 'set-time'] as const) {
    const { client } = setup();
    await roundTrips(client, kind, 200);
    const n = 5000;
    const t0 = process.hrtime.bigint();
    await roundTrips(client, kind, n);
    const nodeUs = Number(process.hrtime.bigint() - t0) / 1000 / n;
    const b = await bundleEntry('benchmarks/xs/service.xs.ts');
    try {
      writeFileSync(b.file, `globalThis.SERVICE_BENCH_KIND = ${JSON.stringify(kind)};\n${readFileSync(b.file, 'utf8')}`);
      const xs = await runBundleUnderXs(b.file);
      report({
        name: `service round trip: ${kind}`,
        figures: {
          'node µs': nodeUs,
          'ratio vs node:crypto 2-block AES-CBC': nodeUs / cbcUs,
          'xs computrons (incl. setup)': Math.round(xs.meter / ROUND_TRIPS),
        },
      });
    } finally {
      b.cleanup();
    }
  }
}
