#!/usr/bin/env node
// Pre-build for mcconfig: transpiles the ESP32 host and every module it imports (transitively) from
// TypeScript to JavaScript, one file each, into build/esp32/<same path>.js, and bundles each @noble
// entry point the host uses into build/esp32/noble/<package>/<entry>.js. Import specifiers are
// rewritten for Moddable's module map: relative ones lose their ".js" suffix (XS resolves "./x"
// against the importing module's specifier), "@noble/<pkg>/<entry>.js" becomes "noble/<pkg>/<entry>".
//   node hosts/esp32/prebuild.mjs [--out DIR]      (default DIR: build/esp32)
// then: mcconfig -d -m -p esp32 manifest.json
import { build, transform } from 'esbuild';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ENTRIES = ['hosts/esp32/main.ts', 'hosts/esp32/main-desktop.ts'];
const SPEC = /(\bfrom\s*|\bimport\s*\(?\s*)(["'])([^"']+)\2/g;

function moddableSpecifier(spec) {
  if (spec.startsWith('.')) return spec.replace(/\.js$/, '');
  const noble = /^@noble\/([^/]+)\/(.+?)(\.js)?$/.exec(spec);
  if (noble) return `noble/${noble[1]}/${noble[2]}`;
  return spec; // Moddable modules: embedded:io/*, flash, preference, timer, time
}

export async function prebuild(outDir = join(root, 'build', 'esp32')) {
  const seen = new Set();
  const noble = new Set();
  const queue = [...ENTRIES];
  const written = [];
  while (queue.length > 0) {
    const rel = queue.shift();
    if (seen.has(rel)) continue;
    seen.add(rel);
    const source = readFileSync(join(root, rel), 'utf8');
    const { code } = await transform(source, { loader: 'ts', format: 'esm', target: 'es2022', sourcefile: rel });
    const out = code.replace(SPEC, (m, lead, q, spec) => {
      if (spec.startsWith('.')) {
        const target = relative(root, join(root, dirname(rel), spec.replace(/\.js$/, '.ts'))).replace(/\\/g, '/');
        queue.push(target);
      } else if (spec.startsWith('@noble/')) noble.add(spec);
      return `${lead}${q}${moddableSpecifier(spec)}${q}`;
    });
    const file = join(outDir, rel.replace(/\.ts$/, '.js'));
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, out);
    written.push(relative(outDir, file));
  }
  for (const spec of noble) {
    const file = join(outDir, `${moddableSpecifier(spec)}.js`);
    await build({
      stdin: { contents: `export * from ${JSON.stringify(spec)};`, resolveDir: root },
      bundle: true,
      format: 'esm',
      target: 'es2022',
      platform: 'neutral',
      mainFields: ['module', 'main'],
      outfile: file,
      logLevel: 'warning',
    });
    written.push(relative(outDir, file));
  }
  // The boot module Moddable runs ("creation.main" is "main"): one per platform, re-exporting the entry.
  for (const [name, entry] of [['esp32', 'hosts/esp32/main'], ['desktop', 'hosts/esp32/main-desktop']]) {
    const file = join(outDir, 'boot', `${name}.js`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `export { default } from ${JSON.stringify(entry)};\n`);
    written.push(relative(outDir, file));
  }
  return written.map((f) => f.replace(/\\/g, '/')).sort();
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--out');
  const files = await prebuild(i > 0 ? resolve(process.argv[i + 1]) : undefined);
  process.stdout.write(`prebuild: ${files.length} modules\n`);
}
