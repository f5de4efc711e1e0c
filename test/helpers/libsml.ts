/**
 * libsml (Debian's libsml-dev) as an independent SML reader for the tests: test/helpers/libsml-reader.c
 * is compiled once per test process with the system C compiler into a temporary directory. Where
 * libsml or a compiler is missing, `libsmlReader()` says why, and the test skips with that reason
 * (.ci/run installs libsml-dev when it runs as root).
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
export function readWithLibsml(path: string, stream: Uint8Array, timeoutMs = 60_000): Promise<LibsmlFile[]> {
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
      resolve(parseOutput(text));
    });
    p.stdin.on('error', () => {}); // the reader may stop reading early; its output says what it saw
    p.stdin.end(stream);
  });
}

function parseOutput(text: string): LibsmlFile[] {
  const files: LibsmlFile[] = [];
  for (const line of text.split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /^file (\d+) crc (ok|bad)$/.exec(line))) files.push({ length: Number(m[1]), crcOk: m[2] === 'ok', tags: [], values: [] });
    else if ((m = /^msg ([0-9a-f]+)$/.exec(line))) files[files.length - 1].tags.push(parseInt(m[1], 16));
    else if ((m = /^val (\S+) unit (\S+) scaler (\S+) status (\S+) value (\S+)$/.exec(line))) {
      const v: LibsmlValue = {
        obis: m[1],
        value: m[5].startsWith('hex:') ? { hex: m[5].slice(4) } : m[5] === 'true' || m[5] === 'false' ? m[5] === 'true' : BigInt(m[5]),
      };
      if (m[2] !== '-') v.unit = Number(m[2]);
      if (m[3] !== '-') v.scaler = Number(m[3]);
      if (m[4] !== '-') v.status = BigInt(m[4]);
      files[files.length - 1].values.push(v);
    }
  }
  return files;
}
