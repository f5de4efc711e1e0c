/**
 * OMS telegram path: cost of one mode-7 telegram (records, KDF, AES-CBC, CMAC, CRCs, T1 coding) in
 * Node and under XS (wall time and metering count), receiver throughput, and @noble/ciphers
 * AES-CBC / AES-CMAC against node:crypto on the same data in the same process.
 */
import { createCipheriv } from 'node:crypto';
import { cmacOf } from '../modules/ports/crypto.js';
import { nobleCrypto } from '../hosts/sim/noble-crypto.js';
import { buildTelegram } from '../modules/wmbus-tx/telegram.js';
import { phyEncode } from '../modules/wmbus/phy.js';
import { Receiver } from '../modules/wmbus-rx/receiver.js';
import { bundleEntry, runBundleUnderXs } from '../test/helpers/xs.js';
import { cmacNodeCbc } from '../test/helpers/node-oms.js';
import { benchKey, benchTelegram } from './xs/telegram-input.js';
import type { Report } from './run.js';

function timeUs(iterations: number, f: (i: number) => void): number {
  for (let i = 0; i < Math.min(200, iterations); i++) f(i); // warm up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) f(i);
  return Number(process.hrtime.bigint() - t0) / 1000 / iterations;
}

async function underXs(entry: string): Promise<{ lines: string[]; meter: number }> {
  const b = await bundleEntry(entry);
  try {
    return await runBundleUnderXs(b.file);
  } finally {
    b.cleanup();
  }
}

export async function run(report: Report): Promise<void> {
  const n = 2000;
  const buildUs = timeUs(n, (i) => phyEncode(buildTelegram(benchTelegram(i + 1)), 'T1', 'A'));
  const frame = buildTelegram(benchTelegram(1));

  const one = await underXs('benchmarks/xs/telegram.xs.ts');
  const eleven = await underXs('benchmarks/xs/telegram-11.xs.ts');
  const loop = await underXs('benchmarks/xs/telegram-loop.xs.ts');
  const xsFigure = (name: string): number => Number(loop.lines.find((l) => l.startsWith(name + ' '))?.split(' ')[1]);
  report({
    name: `one telegram, mode 7, ${frame.length}-byte frame → T1`,
    figures: {
      'node µs': buildUs,
      'xs µs': xsFigure('build-us'),
      'xs computrons (first)': one.meter,
      'xs computrons (steady)': Math.round((eleven.meter - one.meter) / 10),
    },
  });

  const frames = Array.from({ length: n }, (_, i) => buildTelegram(benchTelegram(i + 1)));
  const r = new Receiver({ crypto: nobleCrypto, keys: () => benchKey });
  const t0 = process.hrtime.bigint();
  for (const f of frames) r.receiveFrame(f, 'A');
  const decodeS = Number(process.hrtime.bigint() - t0) / 1e9;
  report({
    name: 'receiver: CRC, MAC, replay, decrypt, records',
    figures: { 'node frames/s': n / decodeS, 'xs frames/s': xsFigure('decode-per-s') },
  });

  const key = benchKey;
  const handle = nobleCrypto.aesKey(key);
  const check = new Uint8Array(40).map((_, i) => i);
  if (Buffer.compare(Buffer.from(cmacNodeCbc(key, check)), Buffer.from(cmacOf(nobleCrypto, handle, check))) !== 0) {
    throw new Error('node:crypto CMAC baseline disagrees with noble');
  }
  const iv = new Uint8Array(16);
  for (const size of [64, 4096]) {
    const data = new Uint8Array(size).map((_, i) => i);
    const iters = size === 64 ? 20000 : 2000;
    const out = new Uint8Array(size);
    const nobleCbc = timeUs(iters, () => nobleCrypto.aesCbcEncrypt(handle, iv, data, out));
    const nodeCbc = timeUs(iters, () => {
      const c = createCipheriv('aes-128-cbc', key, iv);
      c.setAutoPadding(false);
      c.update(data);
      c.final();
    });
    const tag = new Uint8Array(16);
    const nobleCmac = timeUs(iters, () => nobleCrypto.aesCmac(handle, data, tag));
    const nodeCmac = timeUs(iters, () => cmacNodeCbc(key, data));
    report({
      name: `AES-128-CBC, ${size} bytes`,
      figures: { 'noble µs': nobleCbc, 'node:crypto µs': nodeCbc, 'ratio noble/node': nobleCbc / nodeCbc },
    });
    report({
      name: `AES-CMAC, ${size} bytes`,
      figures: { 'noble µs': nobleCmac, 'node:crypto µs': nodeCmac, 'ratio noble/node': nobleCmac / nodeCmac },
    });
  }
}
