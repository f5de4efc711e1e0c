/**
 * libsml (Debian's libsml-dev) as an independent SML reader for the tests: test/helpers/libsml-reader.c
 * is compiled once per test process with the system C compiler into a temporary directory. Where
 * libsml or a compiler is missing, `libsmlReader()` says why, and the test skips with that reason
 * (.ci/run installs libsml-dev when it runs as root; XSMETER_LIBSML=off skips it on purpose).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'libsml-reader.c');

export interface LibsmlValue {
  obis: string;
  unit?: number;
  scaler?: number;
  status?: bigint;
  /** An exact integer, a boolean, or the octet string's bytes as hex. */
  value: bigint | boolean | { hex: string };
}

export interface LibsmlFile {
  length: number;
  crcOk: boolean;
  /** Message tags libsml parsed, in order. */
  tags: number[];
  values: LibsmlValue[];
}

let built: { path?: string; skip?: string; dir?: string } | undefined;

function compile(): { path?: string; skip?: string; dir?: string } {
  if (process.env.XSMETER_LIBSML === 'off') return { skip: 'XSMETER_LIBSML=off' };
  const header = ['/usr/include/sml/sml_file.h', '/usr/local/include/sml/sml_file.h'].find((h) => existsSync(h));
  if (!header) return { skip: 'libsml-dev is not installed (no sml/sml_file.h; apt-get install libsml-dev)' };
  let flags = [`-I${dirname(header)}`, '-lsml'];
  try {
    flags = execFileSync('pkg-config', ['--cflags', '--libs', 'sml'], { encoding: 'utf8' }).trim().split(/\s+/);
  } catch {
    // no pkg-config: the flags above
  }
  const dir = mkdtempSync(join(tmpdir(), 'xsmeter-libsml-'));
  const path = join(dir, 'libsml-reader');
  try {
    execFileSync('cc', ['-O1', '-o', path, SOURCE, ...flags], { stdio: 'pipe' });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    const err = e as { code?: string; stderr?: Buffer };
    if (err.code === 'ENOENT') return { skip: 'no C compiler (cc) to build the libsml reader' };
    return { skip: `the libsml reader does not build: ${String(err.stderr ?? e).split('\n')[0]}` };
  }
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return { path, dir };
}

/** The compiled reader's path, or why there is none. */
export function libsmlReader(): { path?: string; skip?: string } {
  built ??= compile();
  return built;
}

/** Runs the reader over `stream` (its stdin) and parses what libsml reported. */
export async function readWithLibsml(path: string, stream: Uint8Array, timeoutMs = 60_000): Promise<LibsmlFile[]> {
  return parseOutput(await libsmlText(path, stream, timeoutMs));
}

/** The reader's output as printed (see libsml-reader.c for its lines). */
export function libsmlText(path: string, stream: Uint8Array, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(path, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      const text = Buffer.concat(out).toString('utf8');
      if (code !== 0 || !/^end \d+$/m.test(text)) return reject(new Error(`libsml reader exited ${code}: ${err.trim()} ${text.slice(-200)}`));
      resolve(text);
    });
    p.stdin.on('error', () => {}); // the reader may stop reading early; its output says what it saw
    p.stdin.end(stream);
  });
}

function parseOutput(text: string): LibsmlFile[] {
  const files: LibsmlFile[] = [];
  let file: LibsmlFile | undefined;
  for (const line of text.split('\n')) {
    const t = line.split(' ');
    if (t[0] === 'file') files.push((file = { length: Number(t[1]), crcOk: t[3] === 'ok', tags: [], values: [] }));
    else if (t[0] === 'msg') file!.tags.push(parseInt(t[1], 16));
    else if (t[0] === 'val') {
      // val OBIS unit U scaler S status T value V
      const raw = t[9];
      const v: LibsmlValue = { obis: t[1], value: raw.startsWith('hex:') ? { hex: raw.slice(4) } : raw === 'true' || raw === 'false' ? raw === 'true' : BigInt(raw) };
      if (t[3] !== '-') v.unit = Number(t[3]);
      if (t[5] !== '-') v.scaler = Number(t[5]);
      if (t[7] !== '-') v.status = BigInt(t[7]);
      file!.values.push(v);
    }
  }
  return files;
}
