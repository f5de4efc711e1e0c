// What the CC1101 driver's refill loop costs in XS, apart from the simulated chip: every SPI port call
// and GDO2 read is wrapped, and the computrons spent since the previous hardware access (the driver's
// own work) are booked to it; what the simulator spends is discarded. Only the refill loop counts:
// from the end of the STX strobe to the first MARCSTATE read of the drain. Printed per frame: the worst driver
// computrons before a chip-select period (its transfer and flush calls together) and before a GDO2
// read, and the loop's total. Under xsnap-heap (benchmarks/radio.bench.ts) also the driver's heap growth in
// the loops (chunk bytes, slots; the simulator's own allocations are not counted). Under Node (no
// meter) every figure is 0.
import type { DigitalInput, SpiPort } from '../../modules/ports/bus.js';
import { Cc1101 } from '../../modules/radio/cc1101.js';
import { buildFrame, MAX_BODY_A, MAX_BODY_B, type FrameFormat } from '../../modules/wmbus/frame.js';
import type { WmbusMode } from '../../modules/ports/radio.js';
import { Cc1101Sim } from '../../hosts/sim/cc1101-sim.js';

declare const resetMeter: undefined | ((limit: number, index: number) => number);
declare const xsHeapStats: undefined | ((into?: number[]) => number[]);

const HAS_METER = typeof resetMeter === 'function';
const HAS_HEAP = typeof xsHeapStats === 'function';
const STX = 0x35;
const MARCSTATE_READ = 0xf5;

const header = { control: 0x44, manufacturer: 'XSM', id: '12345678', version: 1, deviceType: 0x02 };

function body(n: number): Uint8Array {
  const b = new Uint8Array(n);
  b[0] = 0x7a;
  for (let i = 1; i < n; i++) b[i] = (i * 53 + 7) & 0xff;
  return b;
}

export function main(out: (line: string) => void): void {
  const heap = [0, 0, 0, 0, 0, 0, 0, 0];
  const stats = (): number[] => (HAS_HEAP ? (xsHeapStats as (into: number[]) => number[])(heap) : heap);
  const sim = new Cc1101Sim();
  const w = { inLoop: false, stx: false, open: 0, transaction: 0, pin: 0, total: 0, chunks: 0, slots: 0, collections: 0, lastChunks: 0, lastSlots: 0 };
  /** Entering a hardware access: the computrons since the last one are the driver's, and so is the
   *  heap growth (in the loop); a drop in the counters is a collection. */
  const enter = (): number => {
    const c = HAS_METER ? (resetMeter as (l: number, i: number) => number)(0, 0) : 0;
    if (w.inLoop && HAS_HEAP) {
      const h = stats();
      if (h[0] >= w.lastChunks && h[3] >= w.lastSlots) {
        w.chunks += h[0] - w.lastChunks;
        w.slots += h[3] - w.lastSlots;
      } else w.collections++;
    }
    return c;
  };
  /** Leaving it: the simulator's work is not the driver's. */
  const leave = (): void => {
    if (HAS_HEAP) {
      const h = stats();
      w.lastChunks = h[0];
      w.lastSlots = h[3];
    }
    if (HAS_METER) (resetMeter as (l: number, i: number) => number)(0, 0);
  };
  const spi: SpiPort = {
    transfer(b) {
      const c = enter();
      if (w.inLoop && b[0] === MARCSTATE_READ) w.inLoop = false;
      w.open = c;
      w.stx = b.length === 1 && b[0] === STX;
      sim.transfer(b);
      leave();
    },
    write(b) {
      w.open = enter();
      sim.write(b);
      leave();
    },
    read(b) {
      w.open = enter();
      sim.read(b);
      leave();
    },
    flush(d) {
      const c = enter();
      if (w.inLoop) {
        w.transaction = Math.max(w.transaction, w.open + c);
        w.total += w.open + c;
      }
      sim.flush(d);
      if (w.stx) {
        w.stx = false;
        w.inLoop = true; // the loop starts once STX is strobed
      }
      leave();
    },
  };
  const gdo2: DigitalInput = {
    read() {
      const c = enter();
      if (w.inLoop) {
        w.pin = Math.max(w.pin, c);
        w.total += c;
      }
      const v = sim.gdo2.read();
      leave();
      return v;
    },
  };
  const radio = new Cc1101({ spi, gdo2 });
  radio.configure('T1');
  const cases: Array<[WmbusMode, FrameFormat, number]> = [['T1', 'A', MAX_BODY_A], ['C1', 'B', MAX_BODY_B], ['T1', 'A', 120]];
  for (const [mode, format, n] of cases) {
    const frame = buildFrame(header, body(n), format);
    w.transaction = 0;
    w.pin = 0;
    w.total = 0;
    radio.transmit(frame, mode);
    const r = radio.lastTransmit!;
    const c = sim.transmissions[sim.transmissions.length - 1];
    out(`${mode} ${format} ${n} ${c.outcome} fifo ${r.fifoBytes} refills ${r.refills} pinReads ${r.pinReads} worstTransaction ${w.transaction} worstPin ${w.pin} loop ${w.total}`);
  }
  out(`heap ${HAS_HEAP ? 1 : 0} chunks ${w.chunks} slots ${w.slots} collections ${w.collections}`);
}
