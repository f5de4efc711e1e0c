/** Runs the built `xsmeter` binary (bin/xsmeter.js; `node scripts/build.mjs` must have run) as a user would. */
import { spawn } from 'node:child_process';

export interface CliRun {
  /** Exit code; -1 if the process ended on a signal. */
  code: number;
  stdout: string;
  stderr: string;
}

export function xsmeter(args: string[], stdin = ''): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['bin/xsmeter.js', ...args]);
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d));
    p.stderr.on('data', (d: Buffer) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    p.stdin.end(stdin);
  });
}
