/**
 * Every module-level binding of the firmware's modules, evaluated: what the device preloads into
 * flash. One esbuild bundle of the given files, each extended with an export of all its top-level
 * `const`s (exported or not), the Moddable SDK's modules stubbed (a permissive Proxy: hosts/esp32
 * modules load under Node), imported once. Used by test/frozen-tables.test.ts.
 */
import { build, type Plugin } from 'esbuild';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Names of the top-level `const` declarations of a TypeScript source (column 0, as the sources are formatted). */
export function topLevelConsts(source: string): string[] {
  const names: string[] = [];
  for (const m of source.matchAll(/^(?:export\s+)?const\s+([A-Za-z_$][\w$]*)/gm)) names.push(m[1]);
  return names;
}

const PROBE = '__xsmeterTopLevel';

/** A stand-in for every export of an SDK module: callable, constructible, any property is another. */
const SDK_STUB = `
const handler = { get: (t, k) => (k === '__esModule' ? false : k === Symbol.toPrimitive ? () => 0 : stub()), apply: () => stub(), construct: () => stub() };
function stub() { return new Proxy(function () {}, handler); }
module.exports = stub();
`;

/**
 * The top-level constants of each file (paths from the repository root), by file and name, as
 * evaluated under Node.
 */
export async function moduleTables(files: readonly string[]): Promise<Map<string, Record<string, unknown>>> {
  const root = resolve('.');
  const wanted = new Set(files.map((f) => resolve(root, f)));
  const plugin: Plugin = {
    name: 'module-tables',
    setup(b) {
      // Bare specifiers but npm packages (@noble…) and Node's: the SDK's ("crypt", "flash", "embedded:io/spi"…).
      b.onResolve({ filter: /^[^./]/ }, (a) => (/^(@|node:)/.test(a.path) ? undefined : { path: a.path, namespace: 'sdk-stub' }));
      b.onLoad({ filter: /.*/, namespace: 'sdk-stub' }, () => ({ contents: SDK_STUB, loader: 'js' }));
      b.onLoad({ filter: /\.ts$/ }, (a) => {
        const source = readFileSync(a.path, 'utf8');
        if (!wanted.has(a.path)) return { contents: source, loader: 'ts' };
        return { contents: `${source}\nexport const ${PROBE} = { ${topLevelConsts(source).join(', ')} };\n`, loader: 'ts' };
      });
    },
  };
  const entry = files.map((f, i) => `import * as m${i} from ${JSON.stringify(resolve(root, f))};`).join('\n') + `\nexport const tables = [${files.map((_, i) => `m${i}.${PROBE}`).join(', ')}];\n`;
  const dir = mkdtempSync(join(tmpdir(), 'xsmeter-tables-'));
  try {
    const out = join(dir, 'tables.mjs');
    await build({
      stdin: { contents: entry, resolveDir: root, loader: 'js' },
      outfile: out,
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'es2022',
      plugins: [plugin],
      logLevel: 'silent',
    });
    const { tables } = (await import(pathToFileURL(out).href)) as { tables: Record<string, unknown>[] };
    return new Map(files.map((f, i) => [f, tables[i]]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
