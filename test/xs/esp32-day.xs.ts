// A simulated day of one complete meter — the portable MeterApp (modules/app) on portable simulated
// ports: the register-level ADE7953/ATM90E32 simulator measuring a household load profile, SimFlash
// partitions sized like the ESP32's (xsenergy 16 × 4 KiB, xscal 32 × 4 KiB), the sim key store, a
// SimClock, the pulse pin, a memory service line and a radio: the CC1101 driver over the
// register-level CC1101 simulator (as on the board) or a PHY sink. Nothing here imports Node, so the
// same bundle runs under XS and Node; it prints the registers, every frame (hex) and the stats.
//
// The scenario is built here rather than through hosts/sim/sim-meter.ts so that the simulators exist
// before the application (their memory is measured apart from the application's) and so that the
// application's ticks can be metered alone (`measure`: XS computrons and heap growth per sample
// tick and per telegram tick, through resetMeter and the xsHeapStats of scripts/build-xsnap-heap.mjs).
import { toHex } from '../../modules/core/bytes.js';
import { MeterApp, type SentTelegram } from '../../modules/app/meter-app.js';
import type { SpiPort } from '../../modules/ports/bus.js';
import type { Flash } from '../../modules/ports/flash.js';
import type { Radio } from '../../modules/ports/radio.js';
import { Cc1101 } from '../../modules/radio/cc1101.js';
import { phyEncode } from '../../modules/wmbus-tx/phy.js';
import { Cc1101Sim } from '../../hosts/sim/cc1101-sim.js';
import { SimClock, perfectHardware } from '../../hosts/sim/chips/front-end.js';
import { SimAde7953 } from '../../hosts/sim/chips/sim-ade7953.js';
import { SimAtm90e32 } from '../../hosts/sim/chips/sim-atm90e32.js';
import { LoadModel } from '../../hosts/sim/physics/load-model.js';
import { nextSlotStart, profileLoad } from '../../hosts/sim/physics/load-profile.js';
import { memorySerialPair } from '../../hosts/sim/service-pipe.js';
import { SimFlash } from '../../hosts/sim/sim-flash.js';
import { SimKeyStore } from '../../hosts/sim/sim-key-store.js';
import { SimPin } from '../../hosts/sim/sim-meter.js';

export interface DayRunOptions {
  chip?: 'ade7953' | 'atm90e32';
  /** Simulated hours (default 24). */
  hours?: number;
  radio?: 'cc1101' | 'sink';
  /** Print XS figures too (computrons and heap per tick kind); the output then differs from Node's. */
  measure?: boolean;
}

declare const resetMeter: undefined | ((limit: number, index: number) => number);
declare const xsHeapStats: undefined | ((into?: number[]) => number[]);
declare const gc: undefined | (() => void);

const METER_ID = '31415926';
const WALL_START = Date.UTC(2026, 2, 29, 0, 0, 0);
// Fixed keys (the meter, bench and signing key of this scenario; any 16/16/32 bytes do).
const KEYS = {
  meterKey: '000102030405060708090a0b0c0d0e0f',
  benchKey: '101112131415161718191a1b1c1d1e1f',
  signingKey: 'c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721',
};

/** XS counters (xsnap-heap); zeros elsewhere. Reading them allocates nothing. */
const stats = [0, 0, 0, 0, 0, 0, 0, 0];
function heap(): number[] {
  if (typeof xsHeapStats === 'function') xsHeapStats(stats);
  return stats;
}
function collect(): void {
  if (typeof gc === 'function') gc();
}

/** Computrons and allocations charged to one party (the firmware, or the simulated hardware). */
interface Account {
  computrons: number;
  chunkBytes: number;
  slots: number;
}
const account = (): Account => ({ computrons: 0, chunkBytes: 0, slots: 0 });

/**
 * Charges XS work to whoever runs: `to(a)` books everything since the previous switch on the
 * current account and makes `a` current. The allocation counters only grow between collections;
 * a span with a collection inside books no allocation (and is counted in `collections`).
 */
class Ledger {
  current: Account = account();
  collections = 0;
  private chunks = 0;
  private slots = 0;
  constructor(private readonly on: boolean) {
    if (on) this.to(this.current);
  }
  to(next: Account): Account {
    const prev = this.current;
    if (this.on) {
      prev.computrons += typeof resetMeter === 'function' ? resetMeter(0, 0) : 0;
      const h = heap();
      if (h[0] >= this.chunks && h[3] >= this.slots) {
        prev.chunkBytes += h[0] - this.chunks;
        prev.slots += h[3] - this.slots;
      } else this.collections++;
      this.chunks = h[0];
      this.slots = h[3];
    }
    this.current = next;
    return prev;
  }
  /** After an explicit gc(): the counters dropped, which is not a span's allocation. */
  resync(): void {
    if (!this.on) return;
    const h = heap();
    this.chunks = h[0];
    this.slots = h[3];
  }
  /** Runs `f` on account `a`, then returns to the account that was current. */
  run<T>(a: Account, f: () => T): T {
    const prev = this.to(a);
    try {
      return f();
    } finally {
      this.to(prev);
    }
  }
}

interface TickCost extends Account {
  n: number;
}

/** An SPI port whose work is charged to the simulated hardware (no closure per call: the
 *  wrapper itself must not allocate on the firmware's account). */
function chargedSpi(spi: SpiPort, ledger: Ledger, hw: Account): SpiPort {
  return {
    transfer(b) {
      const prev = ledger.to(hw);
      spi.transfer(b);
      ledger.to(prev);
    },
    write(b) {
      const prev = ledger.to(hw);
      spi.write(b);
      ledger.to(prev);
    },
    read(b) {
      const prev = ledger.to(hw);
      spi.read(b);
      ledger.to(prev);
    },
    flush(d) {
      const prev = ledger.to(hw);
      spi.flush(d);
      ledger.to(prev);
    },
  };
}

function chargedFlash(flash: Flash, ledger: Ledger, hw: Account): Flash {
  return {
    sectorSize: flash.sectorSize,
    sectorCount: flash.sectorCount,
    read(o, n) {
      const prev = ledger.to(hw);
      const r = flash.read(o, n);
      ledger.to(prev);
      return r;
    },
    write(o, d) {
      const prev = ledger.to(hw);
      flash.write(o, d);
      ledger.to(prev);
    },
    erase(sector) {
      const prev = ledger.to(hw);
      flash.erase(sector);
      ledger.to(prev);
    },
  };
}

export function dayRun(options: DayRunOptions, out: (line: string) => void): void {
  const chip = options.chip ?? 'ade7953';
  const hours = options.hours ?? 24;
  const measure = options.measure === true;
  const phases = chip === 'ade7953' ? 1 : 3;
  const ledger = new Ledger(measure);
  const hw = account(); // the simulators, and the simulation loop
  const fw = account(); // the firmware: MeterApp, drivers, telegram, crypto
  ledger.to(hw);

  // Simulated hardware (not the firmware: measured apart).
  collect();
  const h0 = heap().slice();
  const load = new LoadModel(phases, { voltage: 230, current: 0, phaseDeg: 0 });
  const errors = perfectHardware(chip === 'ade7953' ? 2 : 3);
  const sim = chip === 'ade7953' ? new SimAde7953({ load, errors, seed: 7 }) : new SimAtm90e32({ load, errors, seed: 7 });
  const clock = new SimClock(WALL_START);
  const energyFlash = new SimFlash({ sectorSize: 4096, sectorCount: 16 });
  const calibrationFlash = new SimFlash({ sectorSize: 4096, sectorCount: 32 });
  const keys = SimKeyStore.fromFile(KEYS);
  const pulseLed = new SimPin();
  const calibrationSwitch = new SimPin();
  const line = memorySerialPair();
  const frames: Array<{ sent: SentTelegram; stream: Uint8Array }> = [];
  let stream: Uint8Array | undefined;
  let radio: Radio;
  if (options.radio === 'sink') {
    radio = {
      transmit(frame, mode) {
        const prev = ledger.to(hw);
        stream = phyEncode(frame, mode, 'A');
        ledger.to(prev);
      },
    };
  } else {
    const cc = new Cc1101Sim();
    const driver = new Cc1101({ spi: chargedSpi(cc, ledger, hw), onPoll() {
        const prev = ledger.to(hw);
        cc.advance(50);
        ledger.to(prev);
      } });
    radio = {
      transmit(frame, mode) {
        const before = cc.transmissions.length;
        driver.transmit(frame, mode);
        const prev = ledger.to(hw);
        if (cc.transmissions.length > before) stream = cc.transmissions[cc.transmissions.length - 1].bytes;
        cc.transmissions.length = 0; // the capture is kept in `frames`
        ledger.to(prev);
      },
    };
  }
  const ports = {
    metrologySpi: chargedSpi(sim.spi, ledger, hw),
    pulseLed,
    calibrationSwitch,
    service: line.meter,
    energyFlash: chargedFlash(energyFlash, ledger, hw),
    calibrationFlash: chargedFlash(calibrationFlash, ledger, hw),
    keys,
    clock,
    radio,
  };
  collect();
  const h1 = heap().slice();

  // The firmware.
  ledger.to(fw);
  const app = new MeterApp({
    chip,
    meterId: METER_ID,
    onTelegram(sent) {
      const prev = ledger.to(hw);
      if (stream) frames.push({ sent, stream });
      stream = undefined;
      ledger.to(prev);
    },
  });
  app.start(ports);
  app.seal.seal('factory');
  ledger.to(hw);
  const boot = { ...fw };
  collect();
  const h2 = heap().slice();

  // The application's ticks: sample ticks and telegram ticks, the firmware's share of each.
  const sampleTicks: TickCost = { n: 0, ...account() };
  const telegramTicks: TickCost = { n: 0, ...account() };
  let liveSlotsPeak = h2[3];
  let liveChunksPeak = h2[0];
  const tick = (): void => {
    if (!measure) return app.tick();
    const samples = app.stats.samples;
    const telegrams = app.stats.telegrams;
    const c0 = fw.computrons;
    const b0 = fw.chunkBytes;
    const s0 = fw.slots;
    ledger.run(fw, () => app.tick());
    const k = app.stats.telegrams !== telegrams ? telegramTicks : app.stats.samples !== samples ? sampleTicks : undefined;
    if (!k) return;
    k.n++;
    k.computrons += fw.computrons - c0;
    k.chunkBytes += fw.chunkBytes - b0;
    k.slots += fw.slots - s0;
  };

  let nextLoad = -Infinity;
  const end = hours * 3600_000;
  let hourMark = 3600_000;
  let minuteMark = 60_000;
  while (clock.ticks() < end) {
    const now = clock.ticks();
    let next = Math.min(end, app.nextWake(), now + Math.max(1, nextLoad - clock.now()));
    if (app.pulsesPending > 0) next = Math.min(next, now + app.tickMs);
    if (next <= now) next = now + 1;
    const dt = next - now;
    load.advance(dt);
    sim.advance(dt);
    clock.advance(dt);
    if (clock.now() >= nextLoad) {
      const loads = profileLoad('household', 7, clock.now(), phases);
      for (let p = 0; p < loads.length; p++) load.set(p, loads[p]);
      nextLoad = nextSlotStart(clock.now());
    }
    tick();
    if (measure && clock.ticks() >= minuteMark) {
      // Collect often enough that XS itself (almost) never has to inside a measured span.
      minuteMark += 60_000;
      collect();
      ledger.resync();
      const h = heap();
      if (h[3] > liveSlotsPeak) liveSlotsPeak = h[3];
      if (h[0] > liveChunksPeak) liveChunksPeak = h[0];
    }
    if (clock.ticks() >= hourMark) {
      hourMark += 3600_000;
      // Keeps XS's 32-bit meter index from wrapping on a long run.
      if (!measure && typeof resetMeter === 'function') resetMeter(0, 0);
    }
  }
  app.stop();

  const obis = app.metering.obis();
  for (const k of Object.keys(obis).sort()) out(`register ${k} ${obis[k].toFixed(6)} Wh`);
  out(`energy µWh import ${app.metering.registers.uwh('import')} export ${app.metering.registers.uwh('export')}`);
  out(`true Wh import ${load.totalImportWh().toFixed(3)} export ${load.totalExportWh().toFixed(3)}`);
  const st = app.stats;
  out(`stats samples ${st.samples} faults ${st.metrologyFaults} telegrams ${st.telegrams} deferred ${st.deferred} radioErrors ${st.radioErrors} airtime ${st.airtimeMs.toFixed(3)} ms lastCounter ${st.lastMessageCounter}`);
  out(`pulses ${pulseLed.rising}`);
  for (const f of frames) out(`frame ${f.sent.messageCounter} ${f.sent.ticks} ${toHex(f.sent.frame)} air ${toHex(f.stream)}`);

  if (measure) {
    ledger.to(hw);
    const per = (c: TickCost, v: number): number => (c.n ? Math.round(v / c.n) : 0);
    out(`xs slot-bytes ${h0[6]}`);
    out(`xs boot firmware computrons ${boot.computrons}`);
    out(`xs sim retained chunks ${h1[0] - h0[0]} slots ${h1[3] - h0[3]}`);
    out(`xs app retained chunks ${h2[0] - h1[0]} slots ${h2[3] - h1[3]}`);
    out(`xs live peak chunks ${liveChunksPeak - h1[0]} slots ${liveSlotsPeak - h1[3]}`);
    for (const [name, c] of [['sample', sampleTicks], ['telegram', telegramTicks]] as const) {
      out(`xs ${name} tick n ${c.n} computrons ${per(c, c.computrons)} alloc chunk-bytes ${per(c, c.chunkBytes)} slots ${per(c, c.slots)}`);
    }
    out(`xs spans with an unplanned collection ${ledger.collections}`);
    const e = heap();
    out(`xs machine chunks current ${e[0]} peak ${e[1]} maximum ${e[2]} slots current ${e[3]} peak ${e[4]} maximum ${e[5]}`);
  }
}

const config = (globalThis as { XSMETER_DAY?: DayRunOptions }).XSMETER_DAY;

export function main(out: (line: string) => void): void {
  dayRun(config ?? { hours: 3 }, out);
}
