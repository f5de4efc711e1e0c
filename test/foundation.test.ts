import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { runInBoth } from './helpers/xs.js';

const run = promisify(execFile);

function filesUnder(dir: string, ext: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p, ext));
    else if (p.endsWith(ext)) out.push(p);
  }
  return out;
}

/** Every import specifier in a TypeScript source (static, dynamic and re-exports). */
function importsOf(source: string): string[] {
  const specs: string[] = [];
  const re = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|import\s+['"]([^'"]+)['"]/g;
  for (const m of source.matchAll(re)) specs.push(m[1] ?? m[2] ?? m[3]);
  return specs;
}

const NODE_GLOBALS = /\b(process|Buffer|require|__dirname|__filename|setImmediate|console|global)\s*[.(\[]/;

describe('foundation', () => {
  describe('portability of modules/', () => {
    const files = filesUnder('modules', '.ts');

    it('has portable modules to check', () => {
      assert.ok(files.length > 0);
    });

    it('imports only relative modules inside modules/: no package, not even @noble (crypto comes through the port)', () => {
      const bad: string[] = [];
      for (const f of files) {
        for (const spec of importsOf(readFileSync(f, 'utf8'))) {
          if (spec.startsWith('.')) {
            const target = relative('modules', join(f, '..', spec));
            if (target.startsWith('..')) bad.push(`${f}: ${spec} (leaves modules/)`);
          } else bad.push(`${f}: ${spec}`);
        }
      }
      assert.deepEqual(bad, []);
    });

    it('uses no Node global', () => {
      const bad = files.filter((f) => {
        const code = readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
        return NODE_GLOBALS.test(code);
      });
      assert.deepEqual(bad, []);
    });

    it('the import check catches what it must', () => {
      assert.deepEqual(importsOf(`import { readFileSync } from 'node:fs';`), ['node:fs']);
      assert.deepEqual(importsOf(`import x from "../../hosts/sim/flash.js"`), ['../../hosts/sim/flash.js']);
      assert.deepEqual(importsOf(`const m = await import('fs')`), ['fs']);
      assert.ok(NODE_GLOBALS.test('process.exit(1)'));
      assert.ok(NODE_GLOBALS.test('Buffer.from(x)'));
    });
  });

  describe('type checking', () => {
    it('tsc --noEmit passes for the whole project (strict)', async () => {
      await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { maxBuffer: 1 << 24 }).catch(
        (e: { stdout: string }) => assert.fail(e.stdout),
      );
    });

    it('modules/ type-checks without Node types (no Node global can slip in)', async () => {
      await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.modules.json'], {
        maxBuffer: 1 << 24,
      }).catch((e: { stdout: string }) => assert.fail(e.stdout));
    });
  });

  describe('XS runner', () => {
    it('runs a portable entry under real XS and under Node with identical output', async () => {
      const { xs, node } = await runInBoth('test/xs/smoke.xs.ts');
      assert.deepEqual(xs.lines, ['0b30557a9fc4e90e', 'true']);
      assert.deepEqual(xs.lines, node.lines);
      assert.ok(xs.meter > 0, 'XS reports a metering count');
      assert.equal(node.meter, -1);
    });

    it('surfaces an exception thrown inside XS', async () => {
      await assert.rejects(runInBoth('test/xs/throws.xs.ts'), /XS: .*deliberate failure inside the engine/);
    });
  });
});
