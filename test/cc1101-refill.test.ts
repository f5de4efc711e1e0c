/**
 * The CC1101 refill loop against the clock of the air (issue 15): the FIFO drains at 100 kcps while
 * the driver's own time passes. The driver's XS cost per loop access is measured under xsnap (the
 * simulator's HOST_COST must cover it), and the worst case is shown on the simulator: the driver
 * stalled at the moment a refill is due — GDO2 just read low, at most 56 bytes queued — for the
 * longest pause the frame survives, and 100 µs more that it does not.
 */
import assert from 'node:assert/strict';
import { Cc1101, Cc1101Fault } from '../modules/radio/cc1101.js';
import type { WmbusMode } from '../modules/ports/radio.js';
import { buildFrame, MAX_BODY_A, MAX_BODY_B, type FrameFormat } from '../modules/wmbus/frame.js';
import { phyDecode } from '../modules/wmbus/phy-decode.js';
import { encodeC1Fifo, encodeT1Fifo } from '../modules/wmbus/phy.js';
import { Cc1101Sim, HOST_COST } from '../hosts/sim/cc1101-sim.js';
import { bundleEntry, runBundleUnderXs } from './helpers/xs.js';

const header = { control: 0x44, manufacturer: 'XSM', id: '12345678', version: 1, deviceType: 0x02 };
/** 100 kcps: one FIFO byte leaves every 80 µs; GDO2 falls below 57 queued bytes (FIFOTHR 1). */
const BYTE_US = 80;
const QUEUED_AT_REFILL = 56;

function body(n: number): Uint8Array {
  const b = new Uint8Array(n);
  b[0] = 0x7a;
  for (let i = 1; i < n; i++) b[i] = (i * 29 + 3) & 0xff;
  return b;
}

/** Sends `frame` with the driver stalled `pauseUs` right after the `k`-th GDO2 read that asked for a refill. */
function stalled(frame: Uint8Array, mode: WmbusMode, k: number, pauseUs: number): { outcome: string; fault?: string; decoded: boolean } {
  const sim = new Cc1101Sim();
  let lows = 0;
  let armed = false;
  const gdo2 = {
    read() {
      const v = sim.gdo2.read();
      if (armed && v === 0 && ++lows === k) sim.advance(pauseUs);
      return v;
    },
  };
  const radio = new Cc1101({ spi: sim, gdo2 });
  radio.configure(mode);
  armed = true;
  let fault: string | undefined;
  try {
    radio.transmit(frame, mode);
  } catch (e) {
    if (!(e instanceof Cc1101Fault)) throw e;
    fault = e.code;
  }
  const c = sim.transmissions[sim.transmissions.length - 1];
  let decoded = false;
  try {
    decoded = phyDecode(c.bytes, mode).frame.length === frame.length;
  } catch {
    decoded = false;
  }
  return { outcome: c.outcome, fault, decoded };
}

/** The longest pause (10 µs steps) at refill `k` after which the frame still goes out whole. */
function longestPause(frame: Uint8Array, mode: WmbusMode, k: number): number {
  let lo = 0;
  let hi = 8000;
  while (hi - lo > 10) {
    const mid = (lo + hi) >> 1;
    if (stalled(frame, mode, k, mid).outcome === 'complete') lo = mid;
    else hi = mid;
  }
  return lo;
}

describe('CC1101 refill on GDO2: the driver against the air', () => {
  it("the refill loop's XS cost per access, measured under xsnap, is within what the simulator charges (HOST_COST)", async () => {
    const b = await bundleEntry('test/xs/cc1101-refill.xs.ts');
    let lines: string[];
    try {
      lines = (await runBundleUnderXs(b.file)).lines;
    } finally {
      b.cleanup();
    }
    const frames = lines.filter((l) => / fifo /.test(l));
    assert.equal(frames.length, 3);
    for (const l of frames) {
      const f = (k: string) => Number(new RegExp(`${k} (\\d+)`).exec(l)?.[1]);
      assert.match(l, / complete /);
      assert.ok(f('worstTransaction') > 0 && f('worstPin') > 0, l);
      assert.ok(f('worstTransaction') <= HOST_COST.driverComputronsPerTransaction, `${l}: more than HOST_COST charges per transaction`);
      assert.ok(f('worstPin') <= HOST_COST.driverComputronsPerPinRead, `${l}: more than HOST_COST charges per GDO2 read`);
      assert.equal(f('refills'), Math.ceil((f('fifo') - 64) / 8));
    }
  });

  it('worst case: a stall when a refill is due (≤ 56 bytes queued) is survived up to > 4 ms, for the longest T1 and C1 frames', () => {
    // What the driver itself needs after GDO2 falls, at the HOST_COST rates: the rest of a loop turn,
    // the pin read, then the refill burst (its chip-select period and 9 bytes at 5 MHz).
    const pinUs = HOST_COST.driverComputronsPerPinRead * HOST_COST.usPerComputron + HOST_COST.nativeUsPerPinRead;
    const burstUs = HOST_COST.driverComputronsPerTransaction * HOST_COST.usPerComputron + HOST_COST.nativeUsPerTransaction + 9 * 1.6;
    const budgetUs = QUEUED_AT_REFILL * BYTE_US - pinUs - burstUs;
    for (const [mode, format, n] of [['T1', 'A', MAX_BODY_A], ['C1', 'B', MAX_BODY_B]] as [WmbusMode, FrameFormat, number][]) {
      const frame = buildFrame(header, body(n), format);
      const fifo = mode === 'T1' ? encodeT1Fifo(frame) : encodeC1Fifo(frame, format);
      const refills = Math.ceil((fifo.length - 64) / 8);
      let worst = Infinity;
      for (const k of [1, Math.ceil(refills / 2), refills]) {
        const pause = longestPause(frame, mode, k);
        worst = Math.min(worst, pause);
        // 100 µs longer: the typed underflow, a cut packet no receiver decodes.
        const over = stalled(frame, mode, k, pause + 100);
        assert.equal(over.outcome, 'underflow');
        assert.equal(over.fault, 'tx-underflow');
        assert.equal(over.decoded, false);
        assert.equal(stalled(frame, mode, k, pause).decoded, true);
      }
      // The pause survived is what the queued bytes last minus the driver's own response.
      assert.ok(worst >= budgetUs - BYTE_US - 20 && worst <= QUEUED_AT_REFILL * BYTE_US, `${mode}: ${worst} µs (budget ${budgetUs.toFixed(0)} µs)`);
      assert.ok(worst > 4000, `${mode}: a stall of ${worst} µs is the most the refill survives`);
    }
  });
});
