#!/usr/bin/env node
// Pre-build for mcconfig. Walks the runtime imports of each entry (the board: hosts/esp32/main.ts;
// Moddable's desktop simulator: hosts/esp32/main-desktop.ts), transpiles every TypeScript module it
// reaches to JavaScript, one file each, into OUT/<same path>.js, and writes OUT/manifest.json: the
// manifest fragment manifest.json includes, mapping and preloading exactly those modules (shared
// ones at the top, the rest under their platforms, "main" re-exporting each entry). So the module
// and preload lists follow the code; nobody keeps them by hand.
//
// Specifiers are rewritten for Moddable's module map: relative ones lose their ".js" suffix (XS
// resolves "./x" against the importing module's specifier); a relative ".json" import becomes a
// generated module "<name>_json" exporting the data; bare ones (the SDK's "crypt", "flash",
// "embedded:io/spi"...) stay as they are and come from the SDK manifests manifest.json includes.
// @noble is refused: the device crypto is the SDK's own (hosts/esp32/ports/crypto.ts), and noble's
// load-time state cannot be preloaded. So is a module-level `let`/`var`: a preloaded module is frozen
// into flash, and its state must live in objects created at run time. And a module-level RegExp: in
// flash, XS 8.2.3 segfaults when a garbage collection runs inside its exec() (seen in the mcsim
// day-run; a literal in the function that uses it is a run-time RegExp and is safe).
//   node hosts/esp32/prebuild.mjs [--out DIR]      (default DIR: build/esp32)
// then: mcconfig -d -m -p esp32 manifest.json
import { transform } from 'esbuild';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** What manifest.json builds: the board entry for esp32, the desktop-simulator entry for lin and mac. */
export const TARGETS = [
  { name: 'esp32', entry: 'hosts/esp32/main.ts', platforms: ['esp32'] },
  { name: 'desktop', entry: 'hosts/esp32/main-desktop.ts', platforms: ['lin', 'mac'] },
];

const SPEC = /(\bfrom\s*|\bimport\s*\(?\s*)(["'])([^"']+)\2(\s*with\s*\{[^}]*\})?/g;
const TOP_LEVEL_STATE = /^(?:export\s+)?(?:let|var)\s+([A-Za-z_$][\w$]*)/m;
const TOP_LEVEL_REGEXP = /^(?:export\s+)?const\s+([A-Za-z_$][\w$]*)\s*=\s*\/(?![/*])/m;

/** A prebuild input the Moddable build cannot take, named with its file. */
export class PrebuildError extends Error {}

/** The Moddable module specifier of a repository file ("modules/core/bytes.ts" -> "modules/core/bytes"). */
export function moduleName(file) {
  return file.endsWith('.json') ? file.replace(/\.json$/, '_json') : file.replace(/\.ts$/, '');
}

function rewrite(spec) {
  return spec.endsWith('.json') ? spec.replace(/\.json$/, '_json') : spec.replace(/\.js$/, '');
}

async function compile(rel) {
  const source = readFileSync(join(root, rel), 'utf8');
  if (rel.endsWith('.json')) return { code: `export default ${JSON.stringify(JSON.parse(source))};\n`, imports: [], sdk: [] };
  const { code } = await transform(source, { loader: 'ts', format: 'esm', target: 'es2022', sourcefile: rel });
  const state = TOP_LEVEL_STATE.exec(code);
  if (state) {
    throw new PrebuildError(`${rel}: module-level "${state[0].trim()}": a preloaded module is frozen into flash; keep state in objects created at run time`);
  }
  const regexp = TOP_LEVEL_REGEXP.exec(code);
  if (regexp) {
    throw new PrebuildError(`${rel}: module-level RegExp ${regexp[1]}: preloaded into flash, XS 8.2.3 crashes when a garbage collection runs inside its exec(); write the literal where it is used`);
  }
  const imports = [];
  const sdk = [];
  const out = code.replace(SPEC, (m, lead, q, spec) => {
    if (spec.startsWith('.')) {
      const target = relative(root, join(root, dirname(rel), spec.endsWith('.json') ? spec : spec.replace(/\.js$/, '.ts'))).replace(/\\/g, '/');
      imports.push(target);
      return `${lead}${q}${rewrite(spec)}${q}`;
    }
    if (spec.startsWith('@noble/')) {
      throw new PrebuildError(`${rel} imports ${spec}: @noble is not for the device build (use the crypto port, modules/ports/crypto.ts)`);
    }
    sdk.push(spec);
    return `${lead}${q}${spec}${q}`;
  });
  return { code: out, imports, sdk };
}

/** The runtime module graph of `entry`: repository files (in walk order) and the SDK specifiers they import. */
async function walk(entry, compiled) {
  const files = [];
  const sdk = new Set();
  const seen = new Set();
  const queue = [entry];
  while (queue.length > 0) {
    const rel = queue.shift();
    if (seen.has(rel)) continue;
    seen.add(rel);
    if (!compiled.has(rel)) compiled.set(rel, await compile(rel));
    const c = compiled.get(rel);
    files.push(rel);
    queue.push(...c.imports);
    for (const s of c.sdk) sdk.add(s);
  }
  return { files, sdk: [...sdk].sort() };
}

/**
 * Writes OUT/<path>.js for every module the targets reach, OUT/boot/<target>.js ("main"), and the
 * manifest fragment OUT/manifest.json. Returns the written files (relative to OUT) and, per target,
 * its modules and SDK specifiers.
 */
export async function prebuild({ outDir = join(root, 'build', 'esp32'), targets = TARGETS } = {}) {
  rmSync(outDir, { recursive: true, force: true });
  const compiled = new Map();
  const graphs = [];
  for (const t of targets) graphs.push({ target: t, ...(await walk(t.entry, compiled)) });

  const written = [];
  const emit = (file, text) => {
    const path = join(outDir, file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    written.push(file);
  };
  for (const [rel, c] of compiled) {
    emit(`${moduleName(rel)}.js`, c.code);
    // A module's native half (`native("xs_...")` functions) sits beside it as NAME.c.
    const native = join(root, rel.replace(/\.ts$/, '.c'));
    if (rel.endsWith('.ts') && existsSync(native)) emit(`${moduleName(rel)}.c`, readFileSync(native, 'utf8'));
  }

  const names = (g) => g.files.map(moduleName);
  const shared = names(graphs[0]).filter((m) => graphs.every((g) => names(g).includes(m))).sort();
  const map = (list) => Object.fromEntries(list.map((m) => [m, `./${m}`]));
  const fragment = {
    '//': `Generated by hosts/esp32/prebuild.mjs from the imports of ${targets.map((t) => t.entry).join(', ')}: every module is mapped and preloaded. Do not edit.`,
    modules: map(shared),
    preload: shared,
    platforms: {},
  };
  for (const g of graphs) {
    const own = names(g).filter((m) => !shared.includes(m)).sort();
    emit(`boot/${g.target.name}.js`, `export { default } from ${JSON.stringify(moduleName(g.target.entry))};\n`);
    for (const p of g.target.platforms) {
      fragment.platforms[p] = { modules: { ...map(own), main: `./boot/${g.target.name}` }, preload: [...own, 'main'] };
    }
  }
  emit('manifest.json', `${JSON.stringify(fragment, null, 2)}\n`);
  return {
    files: written.sort(),
    targets: Object.fromEntries(graphs.map((g) => [g.target.name, { modules: names(g), sdk: g.sdk }])),
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--out');
  try {
    const { files } = await prebuild(i > 0 ? { outDir: resolve(process.argv[i + 1]) } : undefined);
    process.stdout.write(`prebuild: ${files.length} files\n`);
  } catch (e) {
    if (!(e instanceof PrebuildError)) throw e;
    process.stderr.write(`prebuild: ${e.message}\n`);
    process.exit(1);
  }
}
