/**
 * The receiver's throughput (issue 12): 10 000 OMS mode-7 telegrams end to end, from the input line
 * (hex with CRCs, as `xsmeter decode` reads it) to the JSON line it prints, against a same-process
 * baseline: the bare node:crypto work one mode-7 telegram needs (two CMAC key derivations under the
 * master key, the AFL CMAC under Kmac, the AES-CBC decryption under Kenc) on the same telegrams.
 * The decoder runs from an esbuild bundle built like the CLI's (benchmarks/rx/receiver-loop.ts; @noble
 * bundled in, as a temporary file cannot resolve packages), so the figure is what `xsmeter decode`
 * does, not the TypeScript loader's overhead.
 */
import { createDecipheriv } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { readU32LE, toHex } from '../modules/core/bytes.js';
import { buildTelegram } from '../modules/wmbus-tx/telegram.js';
import { parseFrame } from '../modules/wmbus/frame-parse.js';
import { cmacNodeCbc } from '../test/helpers/node-oms.js';
import { benchKey, benchTelegram } from './xs/telegram-input.js';
import type { Report } from './run.js';

const N = 10_000;

/** The crypto of one mode-7 telegram (format A, short TPL): KDF ×2, AFL CMAC, CBC decryption. */
function bareCrypto(body: Uint8Array, id: Uint8Array): void {
  const counter = readU32LE(body, 5);
  const kdf = (dc: number): Uint8Array => {
    const input = new Uint8Array(16).fill(0x07);
    input[0] = dc;
    input.set(body.subarray(5, 9), 1);
    input.set(id, 5);
    return cmacNodeCbc(benchKey, input);
  };
  const kenc = kdf(0x00);
  const kmac = kdf(0x01);
  const tpl = body.subarray(17);
  const macInput = new Uint8Array(5 + tpl.length);
  macInput[0] = body[4];
  macInput.set(body.subarray(5, 9), 1);
  macInput.set(tpl, 5);
  if (toHex(cmacNodeCbc(kmac, macInput).subarray(0, 8)) !== toHex(body.subarray(9, 17))) throw new Error(`baseline MAC mismatch at counter ${counter}`);
  const d = createDecipheriv('aes-128-cbc', kenc, new Uint8Array(16)).setAutoPadding(false);
  const plain = d.update(tpl.subarray(6)); // after CI, ACC, status, CF (2), CF extension
  if (plain[0] !== 0x2f || plain[1] !== 0x2f) throw new Error('baseline decryption failed');
}

export async function run(report: Report): Promise<void> {
  const frames = Array.from({ length: N }, (_, i) => buildTelegram(benchTelegram(i + 1)));
  const lines = frames.map((f) => toHex(f));
  const bodies = frames.map((f) => parseFrame(f, 'A'));

  const dir = mkdtempSync(join(tmpdir(), 'xsmeter-bench-'));
  try {
    const outfile = join(dir, 'receiver-loop.mjs');
    await build({
      entryPoints: [join(dirname(fileURLToPath(import.meta.url)), 'rx', 'receiver-loop.ts')],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      logLevel: 'warning',
    });
    const loop = (await import(pathToFileURL(outfile).href)) as { decodeLines: (l: readonly string[], k: Uint8Array) => { ns: number; bytes: number } };

    // Warm both up once, then take the better of three runs each (the machine is shared).
    const baselineRun = (): number => {
      const t0 = process.hrtime.bigint();
      for (const p of bodies) bareCrypto(p.body, p.dll.subarray(4, 8));
      return Number(process.hrtime.bigint() - t0) / 1000 / N;
    };
    const decoderRun = (): { us: number; bytes: number } => {
      const r = loop.decodeLines(lines, benchKey);
      return { us: r.ns / 1000 / N, bytes: r.bytes / N };
    };
    baselineRun();
    decoderRun();
    let base = Infinity;
    let dec = Infinity;
    let bytes = 0;
    for (let i = 0; i < 3; i++) {
      base = Math.min(base, baselineRun());
      const d = decoderRun();
      dec = Math.min(dec, d.us);
      bytes = d.bytes;
    }
    report({ name: `bare mode-7 crypto, node:crypto (${N} telegrams)`, figures: { 'µs/telegram': base } });
    report({
      name: `receiver, hex line → JSON line (${frames[0].length}-byte frames)`,
      figures: { 'µs/telegram': dec, 'telegrams/s': 1e6 / dec, 'JSON bytes': Math.round(bytes), 'ratio vs baseline': dec / base },
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
