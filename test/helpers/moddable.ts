/**
 * Real builds with the Moddable SDK (8.2.3, ../shared/moddable beside the repository; its README
 * has the commands): `setup.sh` gives the environment (MODDABLE, PATH with mcconfig and mcsim,
 * IDF_PATH), `mcconfig` builds an app for lin (an mc.so that `mcsim` runs headless under
 * `xvfb-run`) or runs the esp32 XS link step (xsc + xsl with the esp32 preload list and creation
 * block: mc.xs.c, no cross compiler). Without ../shared/moddable the tests that need it are skipped
 * with the reason, never passed.
 *
 * Builds are cached across runs, keyed on their inputs (the pre-built modules, the manifests, the
 * mcconfig arguments, the SDK): an unchanged app is not rebuilt, in this working tree (mcconfig's own
 * incremental make under build/moddable) nor in a fresh clone on the same machine (the artefacts kept
 * under $XSMETER_CACHE or ~/.cache/xsmeter/builds, as setup.sh keeps the SDK).
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SETUP = resolve(root, '..', 'shared', 'moddable', 'setup.sh');

/** Why the real-SDK tests cannot run here, or undefined when ../shared/moddable is present. */
export function moddableMissing(): string | undefined {
  return existsSync(SETUP) ? undefined : `no Moddable SDK: ${relative(root, SETUP)} not found (the real-SDK builds run on developer machines and CI)`;
}

/**
 * `describe` for tests that need the SDK: without it, one skipped test that names the reason.
 * With it, `fn` gets the environment once setup.sh has run (minutes on a machine's first run).
 */
export function describeWithModdable(title: string, fn: (sdk: () => ModdableSdk) => void): void {
  const missing = moddableMissing();
  if (missing !== undefined) {
    describe(title, () => it.skip(`skipped: ${missing}`, () => {}));
    return;
  }
  describe(title, function () {
    let sdk: ModdableSdk | undefined;
    before(async function () {
      this.timeout(15 * 60_000);
      sdk = await moddableSdk();
    });
    fn(() => {
      if (!sdk) throw new Error('the Moddable SDK setup did not run');
      return sdk;
    });
  });
}

export interface ModdableSdk {
  env: NodeJS.ProcessEnv;
  /** $MODDABLE */
  path: string;
}

let sdkOnce: Promise<ModdableSdk> | undefined;

/** Runs setup.sh (instant once it has built the tools) and returns the environment it exports. */
export function moddableSdk(): Promise<ModdableSdk> {
  sdkOnce ??= (async () => {
    const { stdout } = await run('bash', [SETUP], { maxBuffer: 1 << 20 }).catch((e: { stderr?: string; message: string }) => {
      throw new Error(`moddable setup.sh failed: ${e.stderr?.trim() || e.message}`);
    });
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const line of stdout.split('\n')) {
      const m = /^export ([A-Z_]+)=(.*)$/.exec(line.trim());
      if (m) env[m[1]] = m[2].replace(/\$PATH/g, process.env.PATH ?? '');
    }
    if (!env.MODDABLE) throw new Error(`moddable setup.sh printed no MODDABLE: ${stdout}`);
    return { env, path: env.MODDABLE };
  })();
  return sdkOnce;
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

/** The cache of built artefacts shared by working trees and fresh clones on this machine. */
function cacheDir(): string {
  const base = process.env.XSMETER_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'xsmeter');
  return join(base, 'builds');
}

const KEEP_BUILDS = 12;

function pruneCache(dir: string): void {
  const entries = readdirSync(dir)
    .map((name) => ({ name, t: statSync(join(dir, name)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const e of entries.slice(KEEP_BUILDS)) rmSync(join(dir, e.name), { recursive: true, force: true });
}

export interface BuildRequest {
  /** A name for the work directory (build/moddable/NAME). */
  name: string;
  /** The manifest, relative to the repository root. */
  manifest: string;
  platform: 'lin' | 'esp32';
  /** mcconfig config overrides (NAME=VALUE), e.g. the desktop day-run's hours. */
  config?: Record<string, string | number>;
  /** Every file the build reads beyond the manifest: pre-built module directories and manifest fragments. */
  inputs: string[];
}

export interface BuildResult {
  /** lin: the app (mc.so) to run in mcsim. */
  app?: string;
  /** esp32: the linked XS archive, xsl's summary line (instances, keys, colors, holes) and its warnings. */
  xsC?: string;
  xsl?: string;
  xslWarnings?: string[];
  /** The manifest as mcconfig flattened it (includes and platform resolved). */
  flatManifest?: string;
  /** Whether the artefact came from the cache. */
  cached: boolean;
  ms: number;
}

function buildKey(sdk: ModdableSdk, req: BuildRequest): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ sdk: sdk.path, setup: statSync(SETUP).mtimeMs, platform: req.platform, manifest: req.manifest, config: req.config ?? {} }));
  for (const input of [req.manifest, ...req.inputs]) {
    const abs = join(root, input);
    for (const f of statSync(abs).isDirectory() ? filesUnder(abs) : [abs]) {
      h.update(relative(root, f));
      h.update(readFileSync(f));
    }
  }
  return h.digest('hex').slice(0, 24);
}

/** Builds with mcconfig (or takes the cached artefacts of identical inputs). Throws on any build or link error, with its output. */
export async function mcconfigBuild(sdk: ModdableSdk, req: BuildRequest): Promise<BuildResult> {
  const t0 = performance.now();
  const key = `${req.name}-${req.platform}-${buildKey(sdk, req)}`;
  const cache = join(cacheDir(), key);
  const artefact = (file: string) => join(cache, file);
  if (existsSync(artefact('done'))) {
    const now = new Date();
    utimesSync(cache, now, now);
    return result(cache, true, t0);
  }
  const work = join(root, 'build', 'moddable', req.name);
  mkdirSync(work, { recursive: true });
  const config = Object.entries(req.config ?? {}).map(([k, v]) => `${k}=${v}`);
  const mcconfig = async (args: string[]) => {
    try {
      const r = await run('mcconfig', args, { cwd: root, env: sdk.env, maxBuffer: 1 << 26 });
      return r.stdout + r.stderr;
    } catch (e) {
      const x = e as { stdout?: string; stderr?: string; message: string };
      throw new Error(`mcconfig ${args.join(' ')} failed:\n${tail(`${x.stdout ?? ''}${x.stderr ?? ''}`) || x.message}`);
    }
  };
  rmSync(cache, { recursive: true, force: true });
  mkdirSync(cache, { recursive: true });
  if (req.platform === 'lin') {
    await mcconfig(['-d', '-m', '-p', 'lin', '-t', 'build', '-o', work, req.manifest, ...config]);
    const app = filesUnder(join(work, 'bin', 'lin')).find((f) => f.endsWith('/mc.so'));
    if (!app) throw new Error(`mcconfig built no mc.so under ${work}`);
    copyFileSync(app, artefact('mc.so'));
    copyFileSync(join(dirname(app).replace(`${join(work, 'bin')}`, join(work, 'tmp')), 'manifest_flat.json'), artefact('manifest_flat.json'));
  } else {
    // The esp32 XS link: mcconfig writes the makefile; make runs xsc and xsl for mc.xs.c only.
    await mcconfig(['-d', '-p', 'esp32', '-o', work, req.manifest, ...config]);
    const makefile = filesUnder(join(work, 'tmp', 'esp32')).find((f) => f.endsWith('/makefile') && !f.includes('/xsProj-'));
    if (!makefile) throw new Error(`mcconfig wrote no esp32 makefile under ${work}`);
    const tmp = dirname(makefile);
    // The makefile reads ESP-IDF's generated sdkconfig.h, which only an ESP-IDF build writes.
    mkdirSync(join(tmp, 'xsProj-esp32', 'build', 'config'), { recursive: true });
    writeFileSync(join(tmp, 'xsProj-esp32', 'build', 'config', 'sdkconfig.h'), '');
    let out: string;
    try {
      const r = await run('make', ['-f', makefile, join(tmp, 'mc.xs.c')], { cwd: root, env: sdk.env, maxBuffer: 1 << 26 });
      out = r.stdout + r.stderr;
    } catch (e) {
      const x = e as { stdout?: string; stderr?: string; message: string };
      throw new Error(`esp32 XS link failed:\n${tail(`${x.stdout ?? ''}${x.stderr ?? ''}`) || x.message}`);
    }
    const line = /^### .*instances.*$/m.exec(out);
    if (!line) throw new Error(`xsl printed no summary:\n${tail(out)}`);
    copyFileSync(join(tmp, 'mc.xs.c'), artefact('mc.xs.c'));
    copyFileSync(join(tmp, 'manifest_flat.json'), artefact('manifest_flat.json'));
    writeFileSync(artefact('xsl.txt'), `${line[0]}\n`);
    writeFileSync(artefact('xsl-warnings.txt'), out.split('\n').filter((l) => l.startsWith('### warning')).join('\n'));
  }
  writeFileSync(artefact('done'), key);
  pruneCache(cacheDir());
  return result(cache, false, t0);
}

function result(cache: string, cached: boolean, t0: number): BuildResult {
  const f = (n: string) => (existsSync(join(cache, n)) ? join(cache, n) : undefined);
  const xsl = f('xsl.txt');
  const warnings = f('xsl-warnings.txt');
  return {
    app: f('mc.so'),
    xsC: f('mc.xs.c'),
    xsl: xsl && readFileSync(xsl, 'utf8').trim(),
    xslWarnings: warnings === undefined ? undefined : readFileSync(warnings, 'utf8').split('\n').filter((l) => l !== ''),
    flatManifest: f('manifest_flat.json'),
    cached,
    ms: performance.now() - t0,
  };
}

function tail(text: string, lines = 40): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}

/** One `instruments:` sample of mcsim, by the names of its key line ("Chunk used", "Slot used"…). */
export type Instruments = Record<string, number>;

export interface SimRun {
  /** Every line the app traced (instrument lines apart), in order. */
  lines: string[];
  /** The instruments samples (mcsim prints one a second; "Stack used" and "Garbage collections" are per second). */
  samples: Instruments[];
  /** The first "XS abort" or unhandled-exception line, if the run aborted. */
  abort?: string;
  ms: number;
}

/**
 * Runs `app` in mcsim headless (`xvfb-run -a`) until a traced line equals `doneLine`, the run aborts
 * (XS abort: memory full, stack overflow, unhandled exception) or `timeoutMs` passes; then stops
 * mcsim (it never exits by itself).
 */
export function runInMcsim(sdk: ModdableSdk, app: string, doneLine: string, timeoutMs: number, cwd = root): Promise<SimRun> {
  const t0 = performance.now();
  const mcsim = join(sdk.path, 'build', 'bin', 'lin', 'release', 'mcsim');
  return new Promise((resolvePromise, reject) => {
    const child = spawn('xvfb-run', ['-a', 'stdbuf', '-o0', '-e0', mcsim, app], { cwd, env: sdk.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    const samples: Instruments[] = [];
    let names: string[] = [];
    let abort: string | undefined;
    let finished = false;
    let pending = '';
    const stop = (why?: string) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      try {
        process.kill(-child.pid!, 'SIGTERM'); // xvfb-run's process group: mcsim and its Xvfb
      } catch {
        // already gone
      }
      if (why) reject(new Error(`${why}\n${lines.slice(-20).join('\n')}`));
      else resolvePromise({ lines, samples, abort, ms: performance.now() - t0 });
    };
    const onLine = (line: string) => {
      if (line.startsWith('instruments key: ')) names = line.slice(17).split(',');
      else if (line.startsWith('instruments: ')) {
        const values = line.slice(13).split(',').map(Number);
        samples.push(Object.fromEntries(names.map((n, i) => [n, values[i]])));
      } else {
        lines.push(line);
        if (abort === undefined && /XS abort|unhandled exception|stack overflow|memory full/i.test(line)) {
          abort = line;
          // Let the next instruments sample arrive, then stop.
          setTimeout(() => stop(), 1500);
        }
        if (line === doneLine) stop();
      }
    };
    const onData = (d: Buffer) => {
      pending += d.toString();
      const parts = pending.split('\n');
      pending = parts.pop()!;
      for (const l of parts) onLine(l);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (e) => stop(`xvfb-run could not start: ${e.message}`));
    child.on('exit', (code) => {
      if (!finished) stop(`mcsim exited (${code}) before "${doneLine}"`);
    });
    const timer = setTimeout(() => stop(`mcsim did not print "${doneLine}" within ${timeoutMs / 1000} s`), timeoutMs);
  });
}

/** The inputs of a build of manifest.json besides the manifest: the pre-built modules and fragments. */
export const FIRMWARE_INPUTS = ['build/esp32', 'hosts/esp32/crypto.json', 'hosts/esp32/partitions.csv'];

/**
 * manifest.json built both ways: the esp32 XS link, and the desktop variant with `xsmeterDay=HOURS`
 * (hosts/esp32/main-desktop.ts) for mcsim. Runs the pre-build first (build/esp32).
 */
export async function buildFirmware(sdk: ModdableSdk, hours: number): Promise<{ esp32: BuildResult; desktop: BuildResult }> {
  // @ts-expect-error: plain .mjs build script without declarations
  const { prebuild } = (await import('../../hosts/esp32/prebuild.mjs')) as { prebuild: () => Promise<unknown> };
  await prebuild();
  const esp32 = await mcconfigBuild(sdk, { name: 'esp32', manifest: 'manifest.json', platform: 'esp32', inputs: FIRMWARE_INPUTS });
  const desktop = await mcconfigBuild(sdk, { name: 'desktop', manifest: 'manifest.json', platform: 'lin', config: { xsmeterDay: hours }, inputs: FIRMWARE_INPUTS });
  return { esp32, desktop };
}

/** A `heap LABEL chunks BYTES slots BYTES gc N stack BYTES` line of the desktop day-run
 *  (hosts/esp32/desktop-day.ts): the live heap after a collection, the count of collections and the
 *  stack peak since mcsim last sampled its instruments (which resets both). */
export interface HeapProbe {
  label: string;
  chunks: number;
  slots: number;
  gc: number;
  stack: number;
}

export function heapProbes(lines: string[]): HeapProbe[] {
  return lines
    .map((l) => /^heap (.+) chunks (\d+) slots (\d+) gc (\d+) stack (\d+)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ label: m[1], chunks: Number(m[2]), slots: Number(m[3]), gc: Number(m[4]), stack: Number(m[5]) }));
}

/** The XS stack peak of a run in bytes: the largest of the probes' and of mcsim's instruments samples. */
export function stackPeak(run: SimRun): number {
  return Math.max(0, ...heapProbes(run.lines).map((p) => p.stack), ...run.samples.map((s) => s['Stack used']));
}

/** xsl's summary line as numbers. */
export function xslSummary(line: string | undefined): { instances: number; keys: number; colors: number; holes: number } | undefined {
  const m = /^### (\d+) instances, (\d+) keys, (\d+) colors, (\d+) holes$/.exec(line ?? '');
  return m ? { instances: Number(m[1]), keys: Number(m[2]), colors: Number(m[3]), holes: Number(m[4]) } : undefined;
}
