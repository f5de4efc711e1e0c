#!/usr/bin/env node
// Builds the `xsnap` CLI (Moddable's XS engine with print and metering) from the XS sources that
// the npm package @agoric/xsnap ships, once, into build/xsnap/. Its own postinstall is not run
// (npm's allowScripts), so this is how a fresh clone gets a real XS to test the portable modules on.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const xsnapPath = join(root, 'build', 'xsnap', 'xsnap');

export function buildXsnap({ quiet = false } = {}) {
  if (existsSync(xsnapPath) && statSync(xsnapPath).size > 0) return xsnapPath;
  const require = createRequire(import.meta.url);
  const pkg = dirname(require.resolve('@agoric/xsnap/package.json'));
  const moddable = join(pkg, 'moddable');
  const makeDir = join(pkg, 'xsnap-native', 'xsnap', 'makefiles', 'lin');
  if (!existsSync(join(moddable, 'xs', 'sources'))) {
    throw new Error(`@agoric/xsnap at ${pkg} ships no XS sources (need version >= 0.15)`);
  }
  if (!quiet) process.stderr.write('building xsnap (XS engine) from @agoric/xsnap sources…\n');
  execFileSync('make', ['-f', 'xsnap.mk', 'GOAL=release', `MODDABLE=${moddable}`, '-j2'], {
    cwd: makeDir,
    stdio: quiet ? 'ignore' : ['ignore', 'ignore', 'inherit'],
  });
  mkdirSync(dirname(xsnapPath), { recursive: true });
  copyFileSync(join(moddable, 'build', 'bin', 'lin', 'release', 'xsnap'), xsnapPath);
  return xsnapPath;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(buildXsnap());
}
