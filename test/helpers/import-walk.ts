/**
 * An independent walk over a TypeScript entry's runtime imports (a regular expression over the
 * sources, not hosts/esp32/prebuild.mjs's esbuild transform): what a Moddable manifest must map and
 * preload for that entry. Type-only imports and re-exports are erased, as TypeScript erases them.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/** Runtime import specifiers of a TypeScript source. */
export function runtimeImports(source: string): string[] {
  const specs: string[] = [];
  const re = /^\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"](?:\s*with\s*\{[^}]*\})?|^\s*import\s+['"]([^'"]+)['"]/gm;
  for (const m of source.matchAll(re)) {
    if (m[5]) {
      specs.push(m[5]);
      continue;
    }
    if (m[2]) continue; // import type / export type
    const names = /^\{([^}]*)\}$/.exec(m[3].trim());
    if (names && names[1].split(',').every((n) => n.trim() === '' || /^type\s/.test(n.trim()))) continue;
    specs.push(m[4]);
  }
  return specs;
}

export interface ImportGraph {
  /** Moddable module names of the repository files reached ("modules/radio/cc1101"; JSON "x.json" as "x_json"). */
  modules: Set<string>;
  /** Bare specifiers (the SDK's modules: "crypt", "flash", "timer"…) and anything else not relative. */
  bare: Set<string>;
}

/** Everything `entry` (a path from the repository root) reaches at run time. */
export function importGraph(entry: string): ImportGraph {
  const modules = new Set<string>();
  const bare = new Set<string>();
  const queue = [entry];
  const seen = new Set<string>();
  while (queue.length) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    if (file.endsWith('.json')) {
      modules.add(file.replace(/\.json$/, '_json'));
      continue;
    }
    modules.add(file.replace(/\.ts$/, ''));
    for (const spec of runtimeImports(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('.')) queue.push(relative('.', join(dirname(file), spec.endsWith('.json') ? spec : spec.replace(/\.js$/, '.ts'))).replace(/\\/g, '/'));
      else bare.add(spec);
    }
  }
  return { modules, bare };
}
