/**
 * Runs a portable entry point under the real XS engine (xsnap) and under Node, from one esbuild
 * bundle (--target=es2020), so a test can compare what both printed.
 *
 * An entry is a TypeScript module that exports `main(out: (line: string) => void): void | Promise<void>`
 * and prints its results through `out`. The wrapper adds a completion marker so that an exception
 * inside XS (which xsnap would otherwise swallow with exit code 0) fails the run with its message.
 */
import { build } from 'esbuild';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
// @ts-expect-error: a plain .mjs build script without declarations
import { buildXsnap } from '../../scripts/build-xsnap.mjs';

const run = promisify(execFile);
const DONE = '\u0001xs-done';
const FAIL = '\u0001xs-fail ';

export interface XsRun {
  /** Lines printed through `out`, in order. */
  lines: string[];
  /** XS metering count (computrons) spent in `main`, when run under XS; -1 under Node. */
  meter: number;
}

/** Bundles `entry` (path relative to the repository root) into a temporary .mjs, returns its path. */
export async function bundleEntry(entry: string): Promise<{ file: string; cleanup: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'xsmeter-xs-'));
  const wrapper = join(dir, 'wrapper.ts');
  const abs = resolve(entry).replace(/\\/g, '/');
  writeFileSync(
    wrapper,
    `import { main } from ${JSON.stringify(abs)};
declare const print: (s: string) => void;
declare const resetMeter: undefined | ((limit: number, index: number) => number);
const emit: (s: string) => void = typeof print === 'function' ? print : (s) => (globalThis as any).console.log(s);
const meter = () => (typeof resetMeter === 'function' ? resetMeter(0, 0) : -1);
const fail = (e: unknown) => emit(${JSON.stringify(FAIL)} + String(e && (e as Error).stack ? (e as Error).message + '\\n' + (e as Error).stack : e).replace(/\\n/g, ' | '));
try {
  meter();
  const r = main(emit);
  const finish = () => { const m = meter(); emit(${JSON.stringify(DONE)} + ' ' + m); };
  if (r && typeof (r as Promise<void>).then === 'function') (r as Promise<void>).then(finish, fail); else finish();
} catch (e) { fail(e); }
`,
  );
  const file = join(dir, 'bundle.mjs');
  await build({
    entryPoints: [wrapper],
    outfile: file,
    bundle: true,
    format: 'esm',
    target: 'es2020',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    logLevel: 'silent',
  });
  return { file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function parse(stdout: string, engine: string): XsRun {
  const lines = stdout.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const failLine = lines.find((l) => l.startsWith(FAIL));
  if (failLine) throw new Error(`${engine}: ${failLine.slice(FAIL.length)}`);
  const last = lines.pop();
  if (!last || !last.startsWith(DONE)) {
    throw new Error(`${engine}: entry did not complete (last output: ${JSON.stringify(last ?? '')})`);
  }
  return { lines, meter: Number(last.slice(DONE.length + 1)) };
}

const MAX_BUFFER = 64 * 1024 * 1024;

export async function runBundleUnderXs(file: string): Promise<XsRun> {
  const xsnap = buildXsnap({ quiet: true }) as string;
  // -l: metering on with a limit far above any run, so resetMeter() reports computrons.
  const { stdout } = await run(xsnap, ['-l', '4000000000', file], { maxBuffer: MAX_BUFFER });
  return parse(stdout, 'XS');
}

export async function runBundleUnderNode(file: string): Promise<XsRun> {
  const { stdout } = await run(process.execPath, [file], { maxBuffer: MAX_BUFFER });
  return parse(stdout, 'Node');
}

/** Bundles `entry` once and runs it under XS and under Node. */
export async function runInBoth(entry: string): Promise<{ xs: XsRun; node: XsRun }> {
  const b = await bundleEntry(entry);
  try {
    const xs = await runBundleUnderXs(b.file);
    const node = await runBundleUnderNode(b.file);
    return { xs, node };
  } finally {
    b.cleanup();
  }
}
