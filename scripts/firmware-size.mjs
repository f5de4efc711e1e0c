#!/usr/bin/env node
// Size of the ESP32 firmware: bundles the esp32 host entry (hosts/esp32/main.ts: the host, the meter
// application and every portable module and @noble entry it reaches) with esbuild (es2020, the
// Moddable modules `flash`, `preference`, `time`, `timer` left external) and reports its bytes,
// minified and not. Then it loads the bundle into XS (xsnap-heap, scripts/build-xsnap-heap.mjs) with
// stand-ins for those Moddable modules and the `device` global — the module bodies run, main() does
// not — and reports what XS holds afterwards next to an empty program: chunk bytes (byte code,
// strings, buffers), slots, and the size of the snapshot XS writes (`-w`), a proxy for what the
// firmware occupies once loaded.
//   node scripts/firmware-size.mjs          (prints JSON)
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { buildXsnapHeap } from './build-xsnap-heap.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY = join(root, 'hosts', 'esp32', 'main.ts');
const MODDABLE = ['flash', 'preference', 'time', 'timer'];

// Stand-ins good enough for the module bodies to run (main() is not called).
const STUBS = {
  flash: 'export default class Flash { constructor() {} read() { return new ArrayBuffer(0); } write() {} erase() {} get byteLength() { return 0; } get blockSize() { return 4096; } }',
  preference: 'export default { get() {}, set() {}, delete() {}, keys() { return []; } };',
  time: 'export default { ticks: 0, set() {} };',
  timer: 'export default { set() { return {}; }, repeat() { return {}; }, schedule() {}, clear() {}, delay() {} };',
};
const DEVICE = 'globalThis.device = { io: { SPI: class {}, Digital: class { static Output = 8; static InputPullUp = 1; }, Serial: class {} } }; globalThis.trace = () => {};';

async function bundle(minify, stubbed) {
  const r = await build({
    entryPoints: [ENTRY],
    bundle: true,
    write: false,
    format: 'esm',
    target: 'es2020',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    minify,
    logLevel: 'silent',
    external: stubbed ? [] : MODDABLE,
    banner: stubbed ? { js: DEVICE } : undefined,
    plugins: stubbed
      ? [
          {
            name: 'moddable-stubs',
            setup(b) {
              b.onResolve({ filter: /^(flash|preference|time|timer)$/ }, (a) => ({ path: a.path, namespace: 'stub' }));
              b.onLoad({ filter: /.*/, namespace: 'stub' }, (a) => ({ contents: STUBS[a.path], loader: 'js' }));
            },
          },
        ]
      : [],
  });
  return r.outputFiles[0].contents;
}

/** Heap statistics and snapshot size after loading `code` (an ES module) into XS. */
function loadUnderXs(xsnap, dir, name, code) {
  const file = join(dir, `${name}.mjs`);
  writeFileSync(
    file,
    `${code}\n;globalThis.gc(); const __xsmeterHeap = globalThis.xsHeapStats(); globalThis.print(globalThis.JSON.stringify({ chunks: __xsmeterHeap[0], slots: __xsmeterHeap[3], slotBytes: __xsmeterHeap[6] }));\n`,
  );
  const snap = join(dir, `${name}.xss`);
  const out = execFileSync(xsnap, ["-w", snap, file], { encoding: "utf8" });
  return { ...JSON.parse(out.trim().split('\n').pop()), snapshotBytes: statSync(snap).size };
}

export async function firmwareSize() {
  const plain = await bundle(false, false);
  const minified = await bundle(true, false);
  const loadable = await bundle(true, true);
  const xsnap = buildXsnapHeap({ quiet: true });
  const dir = mkdtempSync(join(tmpdir(), 'xsmeter-size-'));
  try {
    const empty = loadUnderXs(xsnap, dir, 'empty', 'export {};');
    const firmware = loadUnderXs(xsnap, dir, 'firmware', new TextDecoder().decode(loadable));
    return {
      bundleBytes: plain.length,
      minifiedBytes: minified.length,
      minifiedGzipBytes: gzipSync(minified).length,
      xs: {
        slotBytes: firmware.slotBytes,
        loadedChunkBytes: firmware.chunks - empty.chunks,
        loadedSlots: firmware.slots - empty.slots,
        snapshotBytes: firmware.snapshotBytes,
        emptySnapshotBytes: empty.snapshotBytes,
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await firmwareSize(), null, 2));
}
