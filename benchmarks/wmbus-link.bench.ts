/**
 * Link layer + PHY cost for a frame with a 60-byte body (format A, 80 bytes with CRCs, T1):
 * buildFrame + phyEncode (the meter's transmit path) and phyDecode + parseFrame (the receiver),
 * in Node (µs/op, and frames/s on the decode side), as a ratio to node:zlib crc32 over the same
 * chip stream (a native one-pass baseline measured in the same process), and XS metering counts
 * per op (benchmarks/xs/wmbus-link.xs.ts).
 */
import { crc32 } from 'node:zlib';
import { type DllHeader } from '../modules/wmbus/dll.js';
import { buildFrame } from '../modules/wmbus/frame.js';
import { phyEncode } from '../modules/wmbus/phy.js';
import { parseFrame } from '../modules/wmbus/frame-parse.js';
import { phyDecode } from '../modules/wmbus/phy-decode.js';
import { bundleEntry, runBundleUnderXs } from '../test/helpers/xs.js';
import type { Report } from './run.js';

/** Mean µs per call of `f` over ~`ms` milliseconds, after a warm-up. */
function time(f: () => void, ms = 400): number {
  for (let i = 0; i < 2000; i++) f();
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    for (let i = 0; i < 200; i++) f();
    n += 200;
    t = performance.now();
  }
  return ((t - t0) * 1000) / n;
}

export async function run(report: Report): Promise<void> {
  const header: DllHeader = { control: 0x44, manufacturer: 'XSM', id: '12345678', version: 1, deviceType: 0x02 };
  const body = new Uint8Array(60);
  for (let i = 0; i < body.length; i++) body[i] = (i * 37 + 5) & 0xff;
  const frame = buildFrame(header, body, 'A');
  const stream = phyEncode(frame, 'T1', 'A');
  let sink = 0;

  const base = time(() => {
    sink ^= crc32(stream);
  });
  const enc = time(() => {
    sink += phyEncode(buildFrame(header, body, 'A'), 'T1', 'A').length;
  });
  const dec = time(() => {
    sink += parseFrame(phyDecode(stream, 'T1').frame, 'A').body.length;
  });
  const c1 = phyEncode(frame, 'C1', 'A');
  const decC1 = time(() => {
    sink += parseFrame(phyDecode(c1, 'C1').frame, 'A').body.length;
  });

  const b = await bundleEntry('benchmarks/xs/wmbus-link.xs.ts');
  let xsEnc = -1;
  let xsDec = -1;
  try {
    const xs = await runBundleUnderXs(b.file);
    xsEnc = Number(xs.lines.find((l) => l.startsWith('encode '))?.split(' ')[1] ?? -1);
    xsDec = Number(xs.lines.find((l) => l.startsWith('decode '))?.split(' ')[1] ?? -1);
  } finally {
    b.cleanup();
  }

  report({ name: `baseline: zlib crc32 of the ${stream.length}-byte T1 stream`, figures: { 'node µs': base } });
  report({
    name: `buildFrame + T1 encode (${frame.length}-byte frame)`,
    figures: { 'node µs': enc, 'ratio vs crc32': enc / base, 'xs computrons/op': xsEnc },
  });
  report({
    name: 'T1 phyDecode + parseFrame',
    figures: { 'node µs': dec, 'frames/s': Math.round(1e6 / dec), 'ratio vs crc32': dec / base, 'xs computrons/op': xsDec },
  });
  report({ name: 'C1 phyDecode + parseFrame', figures: { 'node µs': decC1, 'frames/s': Math.round(1e6 / decC1) } });
  if (sink === 0.5) report({ name: 'unreachable', figures: {} }); // keeps `sink` live
}
