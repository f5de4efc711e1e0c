/**
 * `xsmeter decode --state FILE` on a head-end's large replay state: the cost of a frame once FILE
 * holds 200 000 meters. Each accepted frame is appended to FILE.journal; rewriting FILE for every
 * frame (as before) cost about 0.2 s a frame at this size. Measured as a user runs it (the built
 * CLI): one frame and 41 frames on fresh copies of the state, the minimum of two runs each; the
 * difference over 40 is what a frame costs, loading the state and the one rewrite at the end (in
 * both runs) apart.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Report } from './run.js';

const KEY = '000102030405060708090a0b0c0d0e0f';
const ENTRIES = 200_000;

function xsmeter(args: string[], input?: string): string {
  const r = spawnSync(process.execPath, ['bin/xsmeter.js', ...args], { input, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0 && !(args[0] === 'decode' && r.status === 1)) throw new Error(`xsmeter ${args[0]}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

export async function run(report: Report): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'xsmeter-bench-state-'));
  try {
    const others: Record<string, { messageCounter: number; meter: string }> = {};
    for (let i = 0; i < ENTRIES; i++) others[`0123456789abcdef:${(0x10000000 + i).toString(16)}`] = { messageCounter: 1 + (i % 1000), meter: `XSM.${10_000_000 + i}` };
    const text = JSON.stringify(others);
    const frames = Array.from({ length: 41 }, (_, i) => xsmeter(['encode', '--id', '12345678', '--key', KEY, '--counter', String(100 + i), '--set', '1.8.0=1']).trim());
    const state = join(dir, 'state.json');
    const timed = (n: number): number => {
      writeFileSync(state, text);
      const t = performance.now();
      const out = xsmeter(['decode', '--key', KEY, '--state', state], frames.slice(0, n).join('\n') + '\n');
      const ms = performance.now() - t;
      if (out.trim().split('\n').length !== n || out.includes('"error"')) throw new Error(`decode did not accept the ${n} frames: ${out.slice(0, 200)}`);
      return ms;
    };
    const one = Math.min(timed(1), timed(1));
    const many = Math.min(timed(41), timed(41));
    report({
      name: `xsmeter decode --state: a frame on a state of ${ENTRIES.toLocaleString('en')} meters`,
      figures: { 'ms a frame': Math.round(((many - one) / 40) * 10) / 10, 'run of 1 frame ms (load, keys, one save)': Math.round(one), 'run of 41 frames ms': Math.round(many) },
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
