// A simulated day of one complete meter — the portable MeterApp (modules/app) on portable simulated
// ports: the register-level ADE7953/ATM90E32 simulator measuring a household load profile, SimFlash
// partitions sized like the ESP32's (xsenergy 96 × 4 KiB, xscal 32 × 4 KiB), the sim key store, a
// SimClock, the pulse pin, a memory service line and a radio: the CC1101 driver over the
// register-level CC1101 simulator (as on the board) or a PHY sink. Nothing here imports Node, so the
// same bundle runs under XS and Node; it prints the registers, every frame (hex) and the stats.
//
// The scenario is built here rather than through hosts/sim/sim-meter.ts so that the simulators exist
// before the application (their memory is measured apart from the application's) and so that the
// application's ticks can be metered alone (`measure`: XS computrons and heap growth per sample
// tick and per telegram tick, through resetMeter and the xsHeapStats of scripts/build-xsnap-heap.mjs).
import { toHex } from '../../modules/core/bytes.js';
import { MeterApp } from '../../modules/app/meter-app.js';
import type { SpiPort } from '../../modules/ports/bus.js';
import type { Flash } from '../../modules/ports/flash.js';
import type { Radio } from '../../modules/ports/radio.js';
import { Cc1101 } from '../../modules/radio/cc1101.js';
import { phyEncode } from '../../modules/wmbus/phy.js';
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
import { nobleCrypto } from '../../hosts/sim/noble-crypto.js';

export interface DayRunOptions {
  chip?: 'ade7953' | 'atm90e32';
  /** Simulated hours (default 24). */
  hours?: number;
  radio?: 'cc1101' | 'sink';
  /** Return at once (the XS stack the loaded bundle itself needs is measured this way). */
  loadOnly?: boolean;
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

// Resolved once: under XS `typeof` makes a string each time, which the ledger would book.
const HAS_HEAP = typeof xsHeapStats === 'function';
const HAS_METER = typeof resetMeter === 'function';
const HAS_GC = typeof gc === 'function';

/** XS counters (xsnap-heap); zeros elsewhere. Reading them allocates nothing. */
const stats = [0, 0, 0, 0, 0, 0, 0, 0];
function heap(): number[] {
  if (HAS_HEAP) (xsHeapStats as (into: number[]) => number[])(stats);
  return stats;
}
function collect(): void {
  if (HAS_GC) (gc as () => void)();
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
  /** When set, every switch collects garbage and records the live heap (the transient peak of a
   *  tick, seen at each hardware access): slow, so only for a few ticks. */
  probe = false;
  liveChunks = 0;
  liveSlots = 0;
  private chunks = 0;
  private slots = 0;
  constructor(private readonly on: boolean) {
    if (on) this.to(this.current);
  }
  to(next: Account): Account {
    const prev = this.current;
    if (this.on) {
      prev.computrons += HAS_METER ? (resetMeter as (l: number, i: number) => number)(0, 0) : 0;
      const h = heap();
      if (h[0] >= this.chunks && h[3] >= this.slots) {
        prev.chunkBytes += h[0] - this.chunks;
        prev.slots += h[3] - this.slots;
      } else this.collections++;
      this.chunks = h[0];
      this.slots = h[3];
      if (this.probe) {
        collect();
        const l = heap();
        if (l[0] > this.liveChunks) this.liveChunks = l[0];
        if (l[3] > this.liveSlots) this.liveSlots = l[3];
        this.chunks = l[0];
        this.slots = l[3];
      }
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
  if (options.loadOnly) return;
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
  clock.onDelay = (ms) => {
    // a driver's blocking wait (ATM90E32 soft reset): the hardware lives through it
    const prev = ledger.to(hw);
    load.advance(ms);
    sim.advance(ms);
    clock.advance(ms);
    ledger.to(prev);
  };
  const energyFlash = new SimFlash({ sectorSize: 4096, sectorCount: 96 });
  const calibrationFlash = new SimFlash({ sectorSize: 4096, sectorCount: 32 });
  const keys = SimKeyStore.fromFile(KEYS);
  const pulseLed = new SimPin();
  const calibrationSwitch = new SimPin();
  const line = memorySerialPair();
  let stream: Uint8Array | undefined;
  const radioPart = account(); // the CC1101 driver's share of a telegram tick
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
    const gdo2 = {
      read() {
        const prev = ledger.to(hw);
        const v = cc.gdo2.read();
        ledger.to(prev);
        return v;
      },
    };
    const driver = new Cc1101({ spi: chargedSpi(cc, ledger, hw), gdo2 });
    radio = {
      transmit(frame, mode) {
        const before = cc.transmissions.length;
        const was = ledger.to(radioPart);
        driver.transmit(frame, mode);
        ledger.to(was);
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
    service: {
      read() {
        const prev = ledger.to(hw);
        const r = line.meter.read();
        ledger.to(prev);
        return r;
      },
      write(b: Uint8Array) {
        const prev = ledger.to(hw);
        line.meter.write(b);
        ledger.to(prev);
      },
    },
    energyFlash: chargedFlash(energyFlash, ledger, hw),
    calibrationFlash: chargedFlash(calibrationFlash, ledger, hw),
    keys,
    crypto: nobleCrypto,
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
      // Printed at once rather than kept: the run's heap holds no growing list of frames.
      const prev = ledger.to(hw);
      if (stream) out(`frame ${sent.messageCounter} ${sent.ticks} ${toHex(sent.frame)} air ${toHex(stream)}`);
      stream = undefined;
      ledger.to(prev);
    },
  });
  app.start(ports);
  app.part.calibration.sealNow('factory');
  ledger.to(hw);
  // Where a sample tick's firmware work goes: the driver's sample, the rest of the metering cycle
  // (registers, pulses, journal), the service poll; the remainder is the application's own.
  const parts: Record<string, Account> = { 'driver.sample': account(), 'metering.cycle': account(), 'server.poll': account(), 'cc1101.transmit': radioPart, 'sender.build': account(), 'status.current': account(), 'readout.telegramRegisters': account() };
  /** The parts charged per telegram (the rest per sample). */
  const perTelegramParts = ['cc1101.transmit', 'sender.build', 'status.current', 'readout.telegramRegisters'];
  if (measure) {
    const charge = <T>(target: { [k: string]: unknown }, name: string, a: Account): void => {
      const f = target[name] as (x?: unknown, y?: unknown) => T;
      // Two arguments forwarded (the sender's build takes counters and security): rest parameters
      // would allocate an array.
      target[name] = function (this: unknown, x?: unknown, y?: unknown): T {
        const prev = ledger.to(a);
        try {
          return f.call(this, x, y);
        } finally {
          ledger.to(prev);
        }
      };
    };
    charge(app.part.energy.driver as unknown as { [k: string]: unknown }, 'sample', parts['driver.sample']);
    charge(app.part.energy.metering as unknown as { [k: string]: unknown }, 'cycle', parts['metering.cycle']);
    charge(app.part.server as unknown as { [k: string]: unknown }, 'poll', parts['server.poll']);
    // The telegram's parts: building it (registers, records, mode 7), the status, the registers read out.
    charge(app.part.sender as unknown as { [k: string]: unknown }, 'build', parts['sender.build']);
    charge(app.part.status as unknown as { [k: string]: unknown }, 'current', parts['status.current']);
    charge(app.part.readout as unknown as { [k: string]: unknown }, 'telegramRegisters', parts['readout.telegramRegisters']);
  }
  const boot = { ...fw };
  collect();
  const h2 = heap().slice();

  // The application's ticks: sample ticks and telegram ticks, the firmware's share of each.
  const sampleTicks: TickCost = { n: 0, ...account() };
  const telegramTicks: TickCost = { n: 0, ...account() };
  // Ticks with neither a sample nor a telegram (pulse edges, load changes of the simulation).
  const otherTicks: TickCost = { n: 0, ...account() };
  let liveSlotsPeak = h2[3];
  let liveChunksPeak = h2[0];
  /** The firmware's totals: its own account and the parts broken out of it. */
  const total = account();
  const firmware = (): Account => {
    total.computrons = fw.computrons;
    total.chunkBytes = fw.chunkBytes;
    total.slots = fw.slots;
    for (const k in parts) {
      total.computrons += parts[k].computrons;
      total.chunkBytes += parts[k].chunkBytes;
      total.slots += parts[k].slots;
    }
    return { computrons: total.computrons, chunkBytes: total.chunkBytes, slots: total.slots };
  };
  let probes = 0;
  // One host timer callback (hosts/esp32/host.ts runApplication): the tick, then when to tick next.
  let delay = 0;
  const hostTick = (): void => {
    app.tick();
    delay = app.nextTickDelay();
  };
  const tick = (): number => {
    if (!measure) {
      hostTick();
      return delay;
    }
    // The first telegram ticks and a few sample ticks are probed for their transient live heap
    // (a collection at every hardware access) and left out of the cost figures.
    const telegramDue = clock.ticks() >= app.part.sender.nextDue;
    if ((telegramDue && probes < 3) || (app.stats.samples >= 100 && app.stats.samples < 110)) {
      if (telegramDue) probes++;
      ledger.probe = true;
      ledger.run(fw, hostTick);
      ledger.probe = false;
      return delay;
    }
    const samples = app.stats.samples;
    const telegrams = app.stats.telegrams;
    const before = firmware();
    ledger.run(fw, hostTick);
    const after = firmware();
    const k = app.stats.telegrams !== telegrams ? telegramTicks : app.stats.samples !== samples ? sampleTicks : otherTicks;
    k.n++;
    k.computrons += after.computrons - before.computrons;
    k.chunkBytes += after.chunkBytes - before.chunkBytes;
    k.slots += after.slots - before.slots;
    return delay;
  };

  let nextLoad = -Infinity;
  const end = hours * 3600_000;
  let hourMark = 3600_000;
  let minuteMark = 60_000;
  // The host's schedule: the first tick after tickMs, then after nextTickDelay, at most 1 s
  // (host.ts MAX_SLEEP_MS); the simulation also steps at each change of the load profile.
  let sleep = app.tickMs;
  while (clock.ticks() < end) {
    const now = clock.ticks();
    let next = Math.min(end, now + Math.min(sleep, 1000), now + Math.max(1, nextLoad - clock.now()));
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
    sleep = tick();
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
      if (!measure && HAS_METER) (resetMeter as (l: number, i: number) => number)(0, 0);
    }
  }
  // An idle tick (nothing due: the pulse output and the service poll), which a fixed-period host runs every
  // app.tickMs: measured on 1000 ticks at one instant.
  const idle = account();
  if (measure) {
    const before = firmware();
    for (let i = 0; i < 1000; i++) ledger.run(fw, () => app.tick());
    const after = firmware();
    idle.computrons = (after.computrons - before.computrons) / 1000;
    idle.chunkBytes = (after.chunkBytes - before.chunkBytes) / 1000;
    idle.slots = (after.slots - before.slots) / 1000;
  }
  app.stop();

  const obis = app.part.energy.metering.obis();
  for (const k of Object.keys(obis).sort()) out(`register ${k} ${obis[k].toFixed(6)} Wh`);
  out(`energy µWh import ${app.part.energy.metering.registers.uwh('import')} export ${app.part.energy.metering.registers.uwh('export')}`);
  out(`true Wh import ${load.totalImportWh().toFixed(3)} export ${load.totalExportWh().toFixed(3)}`);
  const st = app.stats;
  out(`stats samples ${st.samples} faults ${st.metrologyFaults} telegrams ${st.telegrams} deferred ${st.deferred} radioErrors ${st.radioErrors} airtime ${st.airtimeMs.toFixed(3)} ms lastCounter ${st.lastMessageCounter}`);
  out(`pulses ${pulseLed.rising}`);

  if (measure) {
    ledger.to(hw);
    const per = (c: TickCost, v: number): number => (c.n ? Math.round(v / c.n) : 0);
    out(`xs slot-bytes ${h0[6]}`);
    out(`xs boot firmware computrons ${boot.computrons}`);
    out(`xs sim retained chunks ${h1[0] - h0[0]} slots ${h1[3] - h0[3]}`);
    out(`xs app retained chunks ${h2[0] - h1[0]} slots ${h2[3] - h1[3]}`);
    out(`xs live peak chunks ${liveChunksPeak - h1[0]} slots ${liveSlotsPeak - h1[3]} (between ticks, each minute)`);
    out(`xs live peak in a tick chunks ${ledger.liveChunks - h1[0]} slots ${ledger.liveSlots - h1[3]} (probed ticks, at every hardware access)`);

    for (const [name, c] of [['sample', sampleTicks], ['telegram', telegramTicks]] as const) {
      out(`xs ${name} tick n ${c.n} computrons ${per(c, c.computrons)} alloc chunk-bytes ${per(c, c.chunkBytes)} slots ${per(c, c.slots)}`);
    }
    for (const [name, a] of Object.entries(parts)) {
      const perTelegram = perTelegramParts.includes(name);
      const n = perTelegram ? app.stats.telegrams : app.stats.samples;
      out(`xs part ${name} per ${perTelegram ? 'telegram' : 'sample'} computrons ${Math.round(a.computrons / n)} alloc chunk-bytes ${Math.round(a.chunkBytes / n)} slots ${Math.round(a.slots / n)}`);
    }
    out(`xs other tick n ${otherTicks.n} computrons ${per(otherTicks, otherTicks.computrons)} alloc chunk-bytes ${per(otherTicks, otherTicks.chunkBytes)} slots ${per(otherTicks, otherTicks.slots)}`);
    const secs = hours * 3600;
    const all = sampleTicks.n + telegramTicks.n + otherTicks.n;
    out(`xs adaptive host per simulated second ticks ${(all / secs).toFixed(3)} other-tick computrons ${Math.round(otherTicks.computrons / secs)}`);
    out(`xs idle tick every ${app.tickMs} ms computrons ${Math.round(idle.computrons)} alloc chunk-bytes ${Math.round(idle.chunkBytes)} slots ${Math.round(idle.slots)}`);
    out(`xs spans with an unplanned collection ${ledger.collections}`);
    const e = heap();
    out(`xs machine chunks current ${e[0]} peak ${e[1]} maximum ${e[2]} slots current ${e[3]} peak ${e[4]} maximum ${e[5]}`);
  }
}

const config = (globalThis as { XSMETER_DAY?: DayRunOptions }).XSMETER_DAY;

export function main(out: (line: string) => void): void {
  dayRun(config ?? { hours: 3 }, out);
}
