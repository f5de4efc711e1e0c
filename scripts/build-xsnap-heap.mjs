#!/usr/bin/env node
// Builds `xsnap-heap`: the xsnap CLI of build-xsnap.mjs plus two things the ESP32 budget needs and
// stock xsnap lacks — a global `xsHeapStats()` returning the machine's own memory counters
// (current/peak/maximum chunk bytes, current/peak/maximum slot count, bytes per slot, stack slots)
// and an XSNAP_CREATION environment variable that sets the creation parameters
// ("chunkInitial,chunkIncrement,heapInitial,heapIncrement,stack"). The change is
// scripts/xsnap-heap.patch, applied to a COPY of @agoric/xsnap's xsnap sources under
// build/xsnap-heap/src (node_modules is never edited); the XS engine sources are used read-only
// and the objects go to build/xsnap-heap/obj.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const work = join(root, 'build', 'xsnap-heap');
const patchFile = join(root, 'scripts', 'xsnap-heap.patch');
export const xsnapHeapPath = join(work, 'xsnap-heap');

export function buildXsnapHeap({ quiet = false } = {}) {
  const patch = readFileSync(patchFile, 'utf8');
  const stamp = join(work, 'patch.stamp');
  // Rebuilt when the patch changes.
  if (existsSync(xsnapHeapPath) && statSync(xsnapHeapPath).size > 0 && existsSync(stamp) && readFileSync(stamp, 'utf8') === patch) {
    return xsnapHeapPath;
  }
  const require = createRequire(import.meta.url);
  const pkg = dirname(require.resolve('@agoric/xsnap/package.json'));
  const moddable = join(pkg, 'moddable');
  const native = join(pkg, 'xsnap-native', 'xsnap');
  if (!quiet) process.stderr.write('building xsnap-heap (xsnap + heap statistics) from a patched copy…\n');
  rmSync(work, { recursive: true, force: true });
  const src = join(work, 'src');
  mkdirSync(join(src, 'makefiles'), { recursive: true });
  cpSync(join(native, 'sources'), join(src, 'sources'), { recursive: true });
  cpSync(join(native, 'makefiles', 'lin'), join(src, 'makefiles', 'lin'), { recursive: true });
  execFileSync('patch', ['-p1', '-s', '-d', src, '-i', patchFile], { stdio: quiet ? 'ignore' : 'inherit' });
  const out = join(work, 'obj');
  execFileSync('make', ['-f', 'xsnap.mk', 'GOAL=release', `MODDABLE=${moddable}`, `BUILD_DIR=${out}`, '-j2'], {
    cwd: join(src, 'makefiles', 'lin'),
    stdio: quiet ? 'ignore' : ['ignore', 'ignore', 'inherit'],
  });
  cpSync(join(out, 'bin', 'lin', 'release', 'xsnap'), xsnapHeapPath);
  writeFileSync(stamp, patch);
  return xsnapHeapPath;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(buildXsnapHeap());
}
