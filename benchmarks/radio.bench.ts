/**
 * CC1101 transmit path: one longest T1 frame (290 bytes, 437 FIFO bytes, infinite → fixed length
 * switch, 47 refills on GDO2) through the driver and the register-level simulator, against coding the
 * same frame for the FIFO alone (encodeT1Fifo), in Node and under XS (metering counts); the SPI
 * traffic the driver needs per frame at the simulated 5 MHz SPI clock; and the refill loop against
 * the air: its XS cost per access (test/xs/cc1101-refill.xs.ts, under xsnap-heap so that its heap
 * growth shows too), what that is on an ESP32 at HOST_COST's rate, and the longest stall the loop
 * survives when a refill is due (the worst case test/cc1101-refill.test.ts checks).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Cc1101 } from '../modules/radio/cc1101.js';
import { buildFrame, MAX_BODY_A } from '../modules/wmbus/frame.js';
import { encodeT1Fifo } from '../modules/wmbus/phy-t1.js';
import { Cc1101Sim, HOST_COST } from '../hosts/sim/cc1101-sim.js';
import { bundleEntry, runBundleUnderXs } from '../test/helpers/xs.js';
// @ts-expect-error: a plain .mjs build script without declarations
import { buildXsnapHeap } from '../scripts/build-xsnap-heap.mjs';
import { longFrame } from './xs/radio-input.js';
import type { Report } from './run.js';

function timeUs(iterations: number, f: () => void): number {
  for (let i = 0; i < Math.min(20, iterations); i++) f();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) f();
  return Number(process.hrtime.bigint() - t0) / 1000 / iterations;
}

const exec = promisify(execFile);

/** The longest stall (µs) right after the `k`-th GDO2 read that asks for a refill that the longest T1 frame survives. */
function longestStall(k: number): number {
  const header = { control: 0x44, manufacturer: 'XSM', id: '12345678', version: 1, deviceType: 0x02 };
  const body = new Uint8Array(MAX_BODY_A);
  body[0] = 0x7a;
  const frame = buildFrame(header, body, 'A');
  const ok = (pauseUs: number): boolean => {
    const sim = new Cc1101Sim();
    let lows = 0;
    let armed = false;
    const gdo2 = { read: () => { const v = sim.gdo2.read(); if (armed && v === 0 && ++lows === k) sim.advance(pauseUs); return v; } };
    const radio = new Cc1101({ spi: sim, gdo2 });
    radio.configure('T1');
    armed = true;
    try {
      radio.transmit(frame, 'T1');
    } catch {
      return false;
    }
    return true;
  };
  let lo = 0;
  let hi = 8000;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (ok(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

async function xsMeter(entry: string): Promise<number> {
  const b = await bundleEntry(entry);
  try {
    return (await runBundleUnderXs(b.file)).meter;
  } finally {
    b.cleanup();
  }
}

export async function run(report: Report): Promise<void> {
  const frame = longFrame();
  const encodeUs = timeUs(2000, () => encodeT1Fifo(frame));
  const sim = new Cc1101Sim();
  const radio = new Cc1101({ spi: sim, gdo2: sim.gdo2 });
  radio.configure('T1');
  const txUs = timeUs(100, () => radio.transmit(frame, 'T1'));
  report({ name: 'T1 290-byte frame: encodeT1Fifo (baseline)', figures: { 'node µs': encodeUs } });
  report({ name: 'T1 290-byte frame: driver + CC1101 simulator', figures: { 'node µs': txUs, 'ratio vs encode': txUs / encodeUs } });

  const s = new Cc1101Sim();
  const r = new Cc1101({ spi: s, gdo2: s.gdo2 });
  r.configure('T1');
  const b0 = s.spiBytes;
  const t0 = s.nowUs;
  r.transmit(frame, 'T1');
  const c = s.transmissions[0];
  report({
    name: 'SPI traffic per frame (5 MHz, refill on GDO2)',
    figures: {
      'spi bytes': s.spiBytes - b0,
      refills: r.lastTransmit!.refills,
      'GDO2 reads': r.lastTransmit!.pinReads,
      'air ms': (c.endUs - c.startUs) / 1000,
      'call ms': (s.nowUs - t0) / 1000,
    },
  });

  const refill = await bundleEntry('test/xs/cc1101-refill.xs.ts');
  try {
    const { stdout } = await exec(buildXsnapHeap({ quiet: true }) as string, ['-l', '4000000000', refill.file], { maxBuffer: 1 << 24 });
    const lines = stdout.split('\n');
    const t1 = lines.find((l) => l.startsWith('T1 A 246 ')) ?? '';
    const heap = lines.find((l) => l.startsWith('heap ')) ?? '';
    const f = (line: string, k: string): number => Number(new RegExp(`${k} (\\d+)`).exec(line)?.[1]);
    const us = (c: number): number => c * HOST_COST.usPerComputron;
    report({
      name: 'refill loop under XS (290-byte T1 frame; µs at HOST_COST.usPerComputron)',
      figures: {
        'computrons, worst before a transaction': f(t1, 'worstTransaction'),
        'computrons, worst before a GDO2 read': f(t1, 'worstPin'),
        'computrons, whole loop': f(t1, 'loop'),
        'µs, worst response (turn + pin + burst)': us(f(t1, 'worstPin') + f(t1, 'worstTransaction')) + HOST_COST.nativeUsPerPinRead + HOST_COST.nativeUsPerTransaction + 9 * 1.6,
        'heap growth in the loops: chunk bytes': f(heap, 'chunks'),
        'heap growth in the loops: slots': f(heap, 'slots'),
      },
    });
  } finally {
    refill.cleanup();
  }
  const stalls = [1, 24, 47].map(longestStall);
  report({
    name: 'refill worst case: longest stall survived when a refill is due (56 bytes = 4480 µs queued)',
    figures: { 'µs, first refill': stalls[0], 'µs, middle': stalls[1], 'µs, last': stalls[2], 'µs, worst': Math.min(...stalls) },
  });

  const xsTx = await xsMeter('benchmarks/xs/radio.xs.ts');
  const xsEncode = await xsMeter('benchmarks/xs/radio-encode.xs.ts');
  report({
    name: 'XS: driver + simulator vs encode alone',
    figures: { 'xs computrons': xsTx, 'encode computrons': xsEncode, ratio: xsTx / xsEncode },
  });
}
