/** Runs the built `xsmeter` binary (bin/xsmeter.js; `node scripts/build.mjs` must have run) as a user would. */
import { spawn } from 'node:child_process';

export interface CliRun {
  /** Exit code; -1 if the process ended on a signal. */
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Close our end of its stdout after this many lines (0: before it writes anything), as `| head -N` does. */
  closeStdoutAfter?: number;
  /** Kill it (SIGKILL) if it is still running after this many ms: a hang then fails the test (code
   *  -1) instead of outliving it. */
  killAfterMs?: number;
}

export function xsmeter(args: string[], stdin = '', options: CliOptions = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['bin/xsmeter.js', ...args]);
    let stdout = '';
    let stderr = '';
    const head = options.closeStdoutAfter;
    if (head === 0) p.stdout.destroy();
    p.stdout.on('data', (d: Buffer) => {
      stdout += d;
      if (head !== undefined && stdout.split('\n').length > head) {
        stdout = stdout.split('\n').slice(0, head).join('\n') + '\n';
        p.stdout.destroy();
      }
    });
    p.stderr.on('data', (d: Buffer) => (stderr += d));
    p.on('error', reject);
    // A process that stops reading its stdin early is not an error of the test.
    p.stdin.on('error', () => undefined);
    const killer = options.killAfterMs === undefined ? undefined : setTimeout(() => p.kill('SIGKILL'), options.killAfterMs);
    p.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    p.stdin.end(stdin);
  });
}

/** A running `xsmeter` to signal or kill: its output so far and how it ended. */
export interface CliProcess {
  readonly pid: number;
  stdout(): string;
  stderr(): string;
  kill(signal: NodeJS.Signals): void;
  /** Resolves when it has exited and its output is closed; `atMs` is performance.now() then. */
  readonly ended: Promise<{ code: number | null; signal: NodeJS.Signals | null; atMs: number }>;
}

export function startXsmeter(args: string[]): CliProcess {
  const p = spawn(process.execPath, ['bin/xsmeter.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d: Buffer) => (stdout += d));
  p.stderr.on('data', (d: Buffer) => (stderr += d));
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null; atMs: number }>((resolve, reject) => {
    p.on('error', reject);
    p.on('close', (code, signal) => resolve({ code, signal, atMs: performance.now() }));
  });
  return {
    pid: p.pid ?? -1,
    stdout: () => stdout,
    stderr: () => stderr,
    kill: (signal) => void p.kill(signal),
    ended,
  };
}

/** Sends `signal` and waits up to `waitMs` for the process to end (then kills it and throws);
 *  returns how it ended and how long after the signal. */
export async function stopWithin(p: CliProcess, signal: NodeJS.Signals, waitMs = 8000): Promise<{ code: number | null; ms: number }> {
  const sent = performance.now();
  p.kill(signal);
  const end = await Promise.race([p.ended, new Promise<undefined>((r) => setTimeout(() => r(undefined), waitMs))]);
  if (!end) {
    p.kill('SIGKILL');
    await p.ended;
    throw new Error(`still running ${waitMs} ms after ${signal}`);
  }
  return { code: end.code, ms: end.atMs - sent };
}
