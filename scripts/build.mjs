#!/usr/bin/env node
// The one build step behind `npm start` and `npm test`: the XS runner (once) and the CLI bundle.
import { build } from 'esbuild';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildXsnap } from './build-xsnap.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
buildXsnap();
await build({
  // The CLI, and the simulator's worker thread (xsmeter sim --workers: hosts/sim/slice-worker.ts).
  entryPoints: [
    { in: join(root, 'cli', 'xsmeter.ts'), out: 'xsmeter' },
    { in: join(root, 'hosts', 'sim', 'slice-worker.ts'), out: 'slice-worker' },
  ],
  outdir: join(root, 'dist'),
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'inline',
  packages: 'external',
  logLevel: 'warning',
});
