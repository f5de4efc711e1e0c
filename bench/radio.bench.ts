/**
 * CC1101 transmit path: one longest T1 frame (290 bytes, 435 coded FIFO bytes, infinite → fixed
 * length switch, 6+ FIFO refills) through the driver and the register-level simulator, against
 * coding the same frame for the FIFO alone (encodeT1Fifo), in Node and under XS (metering counts);
 * and the SPI traffic the driver needs per frame at the simulated 5 MHz SPI clock.
 */
import { Cc1101 } from '../modules/radio/cc1101.js';
import { encodeT1Fifo } from '../modules/wmbus/phy-t1.js';
import { Cc1101Sim } from '../hosts/sim/cc1101-sim.js';
import { bundleEntry, runBundleUnderXs } from '../test/helpers/xs.js';
import { longFrame } from './xs/radio-input.js';
import type { Report } from './run.js';

function timeUs(iterations: number, f: () => void): number {
  for (let i = 0; i < Math.min(20, iterations); i++) f();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) f();
  return Number(process.hrtime.bigint() - t0) / 1000 / iterations;
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
  const radio = new Cc1101({ spi: sim });
  radio.configure('T1');
  const txUs = timeUs(100, () => radio.transmit(frame, 'T1'));
  report({ name: 'T1 290-byte frame: encodeT1Fifo (baseline)', figures: { 'node µs': encodeUs } });
  report({ name: 'T1 290-byte frame: driver + CC1101 simulator', figures: { 'node µs': txUs, 'ratio vs encode': txUs / encodeUs } });

  const s = new Cc1101Sim();
  const r = new Cc1101({ spi: s });
  r.configure('T1');
  const b0 = s.spiBytes;
  const t0 = s.nowUs;
  r.transmit(frame, 'T1');
  const c = s.transmissions[0];
  report({
    name: 'SPI traffic per frame (5 MHz, busy polling)',
    figures: {
      'spi bytes': s.spiBytes - b0,
      refills: r.lastTransmit!.refills,
      'min FIFO level': r.lastTransmit!.minFifoLevel,
      'air ms': (c.endUs - c.startUs) / 1000,
      'call ms': (s.nowUs - t0) / 1000,
    },
  });

  const xsTx = await xsMeter('bench/xs/radio.xs.ts');
  const xsEncode = await xsMeter('bench/xs/radio-encode.xs.ts');
  report({
    name: 'XS: driver + simulator vs encode alone',
    figures: { 'xs computrons': xsTx, 'encode computrons': xsEncode, ratio: xsTx / xsEncode },
  });
}
