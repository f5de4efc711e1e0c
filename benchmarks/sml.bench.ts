/**
 * SML (modules/sml): cost of one optical-push file (three messages, nine valList entries, transport
 * framing and CRCs) in Node and under XS — computrons, and under xsnap-heap the chunk bytes and
 * slots it allocates and whether any stay live (a file a second must not grow the heap) — and the
 * stream decoder's throughput. Baselines in the same process: one OMS mode-7 telegram (what the
 * meter sends every 15 minutes) for the encoder; smartmeter-obis (open-sml) reading the same stream
 * for the decoder.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { SmlStreamDecoder } from '../modules/sml/stream-decoder.js';
import { buildTelegram } from '../modules/wmbus-tx/telegram.js';
import { bundleEntry } from '../test/helpers/xs.js';
import { readWithSmartmeterObis } from '../test/helpers/smartmeter-obis.js';
// @ts-expect-error: plain .mjs build script without declarations
import { buildXsnapHeap } from '../scripts/build-xsnap-heap.mjs';
import { benchTelegram } from './xs/telegram-input.js';
import { benchPush, step } from './xs/sml-input.js';
import type { Report } from './run.js';

const exec = promisify(execFile);

function timeUs(iterations: number, f: (i: number) => void): number {
  for (let i = 0; i < Math.min(500, iterations); i++) f(i);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) f(i);
  return Number(process.hrtime.bigint() - t0) / 1000 / iterations;
}

async function xs(files: number, decode: boolean): Promise<Record<string, number>> {
  const b = await bundleEntry('benchmarks/xs/sml.xs.ts');
  try {
    writeFileSync(b.file, `globalThis.SML_BENCH = ${JSON.stringify({ files, decode })};\n${readFileSync(b.file, 'utf8')}`);
    const { stdout } = await exec(buildXsnapHeap({ quiet: true }) as string, ['-l', '4000000000', b.file], { maxBuffer: 1 << 24 });
    const nums = (prefix: string) => [...(stdout.split('\n').find((l) => l.startsWith(prefix)) ?? '').matchAll(/-?\d+/g)].map((m) => Number(m[0]));
    const [chunks, slots] = nums('allocated');
    const [liveChunks, liveSlots] = nums('live growth');
    return { computrons: nums('computrons')[0], chunks, slots, liveChunks, liveSlots, bytes: nums('files')[2] };
  } finally {
    b.cleanup();
  }
}

export async function run(report: Report): Promise<void> {
  const { push, readings, sent } = benchPush();
  const encodeUs = timeUs(20000, (i) => {
    step(readings, i);
    push.encode(i * 1000);
  });
  const telegramUs = timeUs(2000, (i) => buildTelegram(benchTelegram(i + 1)));
  push.poll();
  const fileBytes = sent.bytes;
  const one = await xs(1, false);
  const many = await xs(101, false);
  report({
    name: 'SML push file: encode (7 registers + PIN detail)',
    figures: {
      bytes: fileBytes,
      'node µs': encodeUs,
      'ratio vs one OMS mode-7 telegram': encodeUs / telegramUs,
      'xs computrons': (many.computrons - one.computrons) / 100,
      'xs chunk bytes allocated': (many.chunks - one.chunks) / 100,
      'xs slots allocated': (many.slots - one.slots) / 100,
      'xs live growth per 100 files (chunk bytes, slots)': `${many.liveChunks - one.liveChunks}, ${many.liveSlots - one.liveSlots}`,
    },
  });

  const files: Uint8Array[] = [];
  for (let i = 0; i < 2000; i++) {
    step(readings, i);
    files.push(push.encode(i * 1000).slice());
  }
  const stream = Buffer.concat(files);
  const decodeUs = timeUs(20, () => new SmlStreamDecoder().push(stream)) / files.length;
  const smoUs = timeUs(3, () => readWithSmartmeterObis(stream)) / files.length;
  const xsDecode = await xs(100, true);
  report({
    name: 'SML stream decode (push files)',
    figures: {
      'node µs / file': decodeUs,
      'node MB/s': stream.length / files.length / decodeUs,
      'ratio vs smartmeter-obis': decodeUs / smoUs,
      'xs computrons / file': xsDecode.computrons / 100,
      'xs computrons / byte': xsDecode.computrons / xsDecode.bytes,
    },
  });
}
