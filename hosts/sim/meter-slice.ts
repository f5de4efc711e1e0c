/**
 * The meters of a simulated fleet that one thread runs (all of them, or a worker's share: see
 * sim-runner.ts). `runUntil(limit)` runs each meter in turn through all its events (a sample, a
 * telegram, a load change) up to the limit — meters do not interact, and running one meter's hour
 * at a time keeps its objects in the CPU's caches (about 30 % faster than interleaving the fleet
 * event by event) — and hands out the telegrams they put on the air sorted by (time, fleet index).
 * A meter is only ever advanced to its own event times (and to the end of the run), so what it
 * computes does not depend on how the fleet is split or paced.
 *
 * Memory: flash sectors live in memory only while in use; after each epoch at least a simulated hour
 * after the last such, right after a meter ran through it, the sectors it did not touch go to their backing store — the --state image
 * file, or a spill file (spill-file.ts) — and those it did touch too, but for their tails (the bytes
 * it appended there since). Between those epochs, a meter whose tails (or sectors read back) have
 * grown to TAIL_BYTES leaves them to the backing right after it ran.
 *
 * With a state directory each meter's flash images are written through on every write
 * (DIR/meters/ID/{energy,calibration}.bin), its time with them (DIR/clocks.bin, state-clocks.ts),
 * and its keys to DIR/meters/ID/keys.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { toHex } from '../../modules/core/bytes.js';
import type { SerialPort } from '../../modules/ports/bus.js';
import type { WmbusMode } from '../../modules/ports/radio.js';
import { UWH_PER_WH } from '../../modules/metrology/energy-registers.js';
import { TariffSchedule, type TariffSwitch } from '../../modules/metrology/tariff.js';
import { FrameWriter } from '../../modules/storage/frame.js';
import { TelegramBuilder } from '../../modules/wmbus-tx/telegram.js';
import type { FrameFormat } from '../../modules/wmbus/frame.js';
import { AirLog, type PackedAir } from './air-log.js';
import { makeDirectory } from './directory.js';
import { FileFlash } from './file-flash.js';
import { writeJson } from './json-file.js';
import { nobleCrypto } from './noble-crypto.js';
import { withOpenSslSigning } from './openssl-p256.js';
import type { LoadProfileName } from './physics/load-profile.js';
import { SectorPool, SimFlash } from './sim-flash.js';
import type { SimKeysFile } from './sim-key-store.js';
import { SimMeter, keysForSeed, type AirFrame, type ChipName, type SimSmlOptions } from './sim-meter.js';
import { SpillFile } from './spill-file.js';
import { StateClocks } from './state-clocks.js';

/** What every meter of a fleet shares. */
export interface FleetMeterConfig {
  security: 0 | 5 | 7;
  radioMode: WmbusMode;
  intervalMs: number;
  samplePeriodMs: number;
  jitter?: number;
  dutyCycle?: number;
  quantumWh?: number;
  radio?: 'sink' | 'cc1101';
  /** Daily tariff switches (wall clock, UTC), e.g. 06:00 → 1, 22:00 → 2; the highest number is the
   *  count of tariff registers (default: one tariff). */
  tariffs?: TariffSwitch[];
}

/** One meter of the fleet. */
export interface MeterSpec {
  /** Place in the whole fleet (ordering, shards). */
  index: number;
  /** Place in the state directory's meter list (DIR/clocks.bin). */
  slot: number;
  seed: number;
  meterId: string;
  chip: ChipName;
  load: LoadProfileName;
  /** Wall-clock time the meter boots at. */
  startWallMs: number;
}

export interface SliceOptions {
  config: FleetMeterConfig;
  meters: MeterSpec[];
  /** State directory (flash images, keys, clocks) — see sim-runner.ts. */
  stateDir?: string;
  /** Meters in the state directory's list (the size of DIR/clocks.bin). */
  stateMeters?: number;
  /** Service port of the slice's first meter (in-process runs only). */
  service?: SerialPort;
  /** The SML interfaces of the slice's first meter (in-process runs only: its optical push goes to a
   *  sink of this thread); the others have none, so a fleet costs no more memory. */
  sml?: SimSmlOptions;
}

/** A telegram as it went on the air, with what the meter put in it. */
export interface AirEvent {
  meterIndex: number;
  meterId: string;
  /** Wall-clock ms at the start of the transmission. */
  wallMs: number;
  airtimeMs: number;
  mode: WmbusMode;
  /** The PHY chip stream (what the gateway receives). */
  stream: Uint8Array;
  /** The link-layer frame with CRCs and its format. */
  frame: Uint8Array;
  format: FrameFormat;
  /** A+ and A- it carried (Wh), if any. */
  importWh?: number;
  exportWh?: number;
}

export interface SliceReport {
  meters: number;
  sent: number;
  deferred: number;
  radioErrors: number;
  metrologyFaults: number;
  /** Largest |register − true energy| / true energy over registers with > 100 Wh of truth (A+, A-). */
  worstDeviation?: number;
  /** Earliest and latest wall-clock time of its meters. */
  minWallMs: number;
  maxWallMs: number;
}

/** Each simulated meter's two flash images (DIR/meters/ID/{energy,calibration}.bin with --state). */
export const GEOMETRY = { sectorSize: 4096, sectorCount: 16 };

/** The meters sign on OpenSSL (a new meter's set-up makes its public key and two signatures:
 *  @noble's took three quarters of it; openssl-p256.ts), their keys being the simulator's, from
 *  public seeds. Everything else is the desktop's @noble port. */
const FLEET_CRYPTO = withOpenSslSigning(nobleCrypto);
const NOTHING = new Uint8Array(0);
/** The service port of a fleet's meters but the first: nothing ever arrives (no line per meter). */
const IDLE_SERVICE: SerialPort = Object.freeze({ read: () => NOTHING, write: () => {} });
const REAL_TIME = Object.freeze({ ticks: () => performance.now() });
const EVICT_EVERY_MS = 3_600_000;
/** Between those epochs a meter's sectors that hold this many bytes in memory (its journal's tail,
 *  a few minutes of records) go to the backing store right after it ran: a large fleet's epochs
 *  are minutes long, and an hour of every meter's journal appends would stay in memory (~2.5 KB a
 *  meter, and ~500 bytes for each array around them). At 1024 bytes a slice of 10 000 meters in
 *  3-minute epochs held 2.75 KB of buffers a meter after an hour and 3.4 KB after two; at 256,
 *  1.9 KB after both, for ~10 % more CPU in those epochs (more, smaller spills). Measured again
 *  side by side at 20 000 meters × 6 h in one thread: 1024 bytes gave 1–4 % less CPU after the
 *  set-up for 17 MB more at the peak. */
export const TAIL_BYTES = 256;

export class MeterSlice {
  private readonly o: SliceOptions;
  readonly specs: MeterSpec[];
  readonly meters: SimMeter[] = [];
  /** Each meter's next event (wall-clock ms). */
  private readonly next: Float64Array;
  /** The limit `runUntil` is working towards and the next meter to run up to it. */
  private limit = -Infinity;
  private cursor = 0;
  /** Each meter's A+ and A- (Wh) when it booted: the truth counts from there. */
  private readonly baseline: Float64Array;
  private readonly flashes: FileFlash[] = [];
  private readonly clocks: StateClocks | undefined;
  private readonly spill: SpillFile | undefined;
  /** Every meter's flashes' sector flags and erase counts (without a state directory): 4 words a
   *  sector from meter p's 4 · 16 · p on (a typed array per meter costs ~550 bytes beyond its 256). */
  private readonly flagWords: Uint32Array | undefined;
  /** Arrays the meters' flashes grow their sectors with (sim-flash.ts). */
  private readonly pool = new SectorPool();
  /** One tariff schedule for every meter (it holds no state). */
  private readonly tariffs: TariffSchedule | undefined;
  /** One frame writer for every meter's stores: the meters run one at a time. */
  private readonly frameWriter = new FrameWriter(0);
  /** One telegram builder for every meter, for the same reason. */
  private readonly telegramBuilder = new TelegramBuilder();
  private readonly air = new AirLog();
  private nextEvict = -Infinity;
  /** This epoch hands each meter's unused sectors and tails to the backing right after it ran. */
  private evicting = false;
  private finished = false;

  constructor(o: SliceOptions) {
    this.o = o;
    this.specs = o.meters;
    const n = o.meters.length;
    this.next = new Float64Array(n).fill(Infinity);
    this.baseline = new Float64Array(2 * n);
    const dir = o.stateDir;
    if (dir) {
      makeDirectory(join(dir, 'meters'));
      this.clocks = new StateClocks(join(dir, 'clocks.bin'), Math.max(1, o.stateMeters ?? n));
    } else {
      this.spill = SpillFile.open(GEOMETRY.sectorSize);
      this.flagWords = new Uint32Array(4 * GEOMETRY.sectorCount * n);
    }
    const t = o.config.tariffs;
    if (t) this.tariffs = new TariffSchedule({ tariffs: Math.max(...t.map((x) => x.tariff)), switches: t });
  }

  /** Meters made so far (set-up runs in steps: `setUp`). */
  get made(): number {
    return this.meters.length;
  }

  /**
   * Makes meters (each boots: its log and factory seal are written on first start) until all are made
   * (returns true), `stop()` turns true or performance.now() passes `deadline` (returns false).
   */
  setUp(deadline = Infinity, stop?: () => boolean): boolean {
    const n = this.specs.length;
    while (this.meters.length < n) {
      if (stop?.() || performance.now() > deadline) return false;
      this.make(this.meters.length);
    }
    return true;
  }

  private make(p: number): void {
    const o = this.o;
    const c = o.config;
    const dir = o.stateDir;
    const spec = o.meters[p];
    let keys: SimKeysFile | undefined;
    let energyFlash: SimFlash;
    let calibrationFlash: SimFlash;
    let meter: SimMeter | undefined;
    if (dir) {
      const md = join(dir, 'meters', spec.meterId);
      makeDirectory(md);
      const kf = join(md, 'keys.json');
      if (existsSync(kf)) keys = JSON.parse(readFileSync(kf, 'utf8')) as SimKeysFile;
      else writeJson(kf, (keys = keysForSeed(spec.seed)));
      const clocks = this.clocks as StateClocks;
      // The meter's time goes to DIR/clocks.bin before each write reaches its images.
      const beforeWrite = () => clocks.write(spec.slot, meter ? meter.wallMs : spec.startWallMs);
      const ef = new FileFlash(join(md, 'energy.bin'), GEOMETRY, { beforeWrite, tails: true });
      const cf = new FileFlash(join(md, 'calibration.bin'), GEOMETRY, { beforeWrite, tails: true });
      this.flashes.push(ef, cf);
      energyFlash = ef;
      calibrationFlash = cf;
    } else {
      const words = this.flagWords as Uint32Array;
      // The geometry written out, not spread: V8 makes a literal that spreads an object and then adds
      // properties on a slow path (~4 µs for the two, and options the constructor reads slowly).
      const { sectorSize, sectorCount } = GEOMETRY;
      energyFlash = new SimFlash({ sectorSize, sectorCount, backing: this.spill?.backing(sectorCount), tails: true, pool: this.pool, flags: { words, at: 4 * sectorCount * p } });
      calibrationFlash = new SimFlash({ sectorSize, sectorCount, backing: this.spill?.backing(sectorCount), tails: true, pool: this.pool, flags: { words, at: 4 * sectorCount * p + 2 * sectorCount } });
    }
    meter = new SimMeter({
      chip: spec.chip,
      seed: spec.seed,
      meterId: spec.meterId,
      keys,
      crypto: FLEET_CRYPTO,
      security: c.security,
      radioMode: c.radioMode,
      radio: c.radio,
      intervalMs: c.intervalMs,
      jitter: c.jitter,
      samplePeriodMs: c.samplePeriodMs,
      dutyCycle: c.dutyCycle,
      quantumWh: c.quantumWh,
      load: spec.load,
      wallStartMs: spec.startWallMs,
      energyFlash,
      calibrationFlash,
      exactPulses: false,
      service: p === 0 ? o.service : IDLE_SERVICE,
      // A real line (TCP, a serial device) delivers its bytes in real time, whatever the pace.
      serviceClock: p === 0 && o.service ? REAL_TIME : undefined,
      sml: p === 0 ? o.sml : undefined,
      app: { tariffs: this.tariffs, frameWriter: this.frameWriter, telegramBuilder: this.telegramBuilder },
      onAir: this.onAir.bind(this, p), // (not an arrow function: smaller per meter)
      onKeyInstalled: dir ? (k) => writeJson(join(dir, 'meters', spec.meterId, 'keys.json'), k) : undefined,
    });
    meter.keepAir = false;
    // What booting wrote goes to the backing store now, but for the tails: a fleet that is still
    // being made holds no flash.
    energyFlash.evictUntouched();
    calibrationFlash.evictUntouched();
    meter.keys.releaseHandles();
    this.meters.push(meter);
    // registers()' 1.8.0 and 2.8.0 (the same expressions), without its object of every register.
    const energy = meter.app.part.energy.metering.registers;
    this.baseline[2 * p] = energy.uwh('import') / UWH_PER_WH;
    this.baseline[2 * p + 1] = energy.uwh('export') / UWH_PER_WH;
    this.next[p] = meter.nextEventWall();
  }

  /** The OMS meter key of meter `p` (hex), for the gateway. */
  meterKey(p: number): string {
    return toHex(this.meters[p].keys.rawMeterKey());
  }

  private onAir(place: number, f: AirFrame): void {
    const regs = f.sent.registers;
    let importWh: number | undefined;
    let exportWh: number | undefined;
    for (const r of regs) {
      if (r.obis === '1.8.0' && typeof r.value === 'number') importWh = r.value;
      else if (r.obis === '2.8.0' && typeof r.value === 'number') exportWh = r.value;
    }
    this.air.push(place, f.wallMs, f.airtimeMs, f.mode, f.sent.format, f.stream, f.sent.frame, importWh, exportWh);
  }

  /** Meters already run through the limit of the last `runUntil` (the progress of an epoch). */
  get metersRun(): number {
    return this.cursor;
  }

  /** Wall-clock time of the earliest event not yet run (Infinity: none). */
  get nextEventWall(): number {
    let t = Infinity;
    for (let p = 0; p < this.meters.length; p++) if (this.next[p] < t) t = this.next[p];
    return t;
  }

  /** The telegrams put on the air since the last call, packed, in (time, fleet index) order
   *  (air-log.ts: an EventCursor over them with this slice's specs reads them as AirEvents). */
  take(): PackedAir {
    return this.air.take();
  }

  /**
   * Runs every event at or before `limitWall`, meter by meter, unless `stop()` turns true or
   * performance.now() passes `deadline` (both checked between meters). Returns true when every
   * event up to the limit ran; called again with the same limit it goes on where it stopped.
   */
  runUntil(limitWall: number, stop?: () => boolean, deadline = Infinity): boolean {
    if (limitWall !== this.limit) {
      this.limit = limitWall;
      this.cursor = 0;
      this.evicting = false;
      if (limitWall >= this.nextEvict) {
        // Each epoch (at least an hour apart) each meter, once run through it, leaves its flash to the
        // backing store but for the tails it appends to: only the meter running holds more.
        this.evicting = this.nextEvict !== -Infinity;
        this.nextEvict = limitWall + EVICT_EVERY_MS;
      }
    }
    const n = this.meters.length;
    while (this.cursor < n) {
      if ((this.cursor & 7) === 0 && ((stop && stop()) || performance.now() > deadline)) return false;
      const p = this.cursor++;
      const m = this.meters[p];
      let t = this.next[p];
      while (t <= limitWall) {
        m.advanceToWall(t);
        t = m.nextEventWall();
      }
      this.next[p] = t;
      this.leave(m);
    }
    return true;
  }

  /** What a meter gives up once it ran. */
  private leave(m: SimMeter): void {
    // Its key handles (an expanded AES key, CMAC subkeys: ~500 bytes) are made again for its next
    // telegram, a key expansion: a big fleet's epochs are minutes, a meter's telegrams 15 apart.
    m.keys.releaseHandles();
    if (this.evicting) {
      m.energyFlash.evictUntouched();
      m.calibrationFlash.evictUntouched();
    } else {
      // (a few sectors' lengths read: the spills come every ~15 simulated minutes a meter)
      m.energyFlash.evictLarger(TAIL_BYTES);
      m.calibrationFlash.evictLarger(TAIL_BYTES);
    }
  }

  /** Gives every flash sector not used since the last call to its backing store, and those in use
   *  but for their tails. */
  evict(): void {
    for (const m of this.meters) {
      m.energyFlash.evictUntouched();
      m.calibrationFlash.evictUntouched();
    }
  }

  /** Brings the first meter to `wallMs` and ticks it (it answers its service port between events). */
  serviceTick(wallMs: number): void {
    const m = this.meters[0];
    if (!m) return;
    if (wallMs > m.wallMs) m.advanceToWall(wallMs);
    m.tick();
    this.next[0] = m.nextEventWall();
  }

  /**
   * Ends the run: with `endWallMs` every meter is first brought there (the run completed); then each
   * saves what it has not saved (as at a power-fail warning), its time is stamped and its files
   * closed. Telegrams sent meanwhile are in `take()`.
   */
  finish(endWallMs?: number): SliceReport {
    if (!this.finished) {
      this.finished = true;
      for (let p = 0; p < this.meters.length; p++) {
        const m = this.meters[p];
        if (endWallMs !== undefined) m.advanceToWall(endWallMs);
        m.app.stop(); // persists unsaved energy
        this.clocks?.write(this.specs[p].slot, m.wallMs);
        // As after each turn: a whole fleet's key handles and journal tails at once were the run's
        // peak (100 000 meters: ~150 MB more at the end).
        this.leave(m);
      }
      for (const f of this.flashes) f.close();
      this.clocks?.close();
    }
    return this.report();
  }

  report(): SliceReport {
    let sent = 0;
    let deferred = 0;
    let radioErrors = 0;
    let metrologyFaults = 0;
    let worst: number | undefined;
    let minWallMs = Infinity;
    let maxWallMs = -Infinity;
    for (let p = 0; p < this.meters.length; p++) {
      const m = this.meters[p];
      const s = m.app.stats;
      sent += s.telegrams;
      deferred += s.deferred;
      radioErrors += s.radioErrors;
      metrologyFaults += s.metrologyFaults;
      const truth = m.trueEnergy();
      const reg = m.registers();
      const pairs: [number, number][] = [
        [reg['1.8.0'] - this.baseline[2 * p], truth.importWh],
        [reg['2.8.0'] - this.baseline[2 * p + 1], truth.exportWh],
      ];
      for (const [measured, trueWh] of pairs) if (trueWh > 100) worst = Math.max(worst ?? 0, Math.abs(measured - trueWh) / trueWh);
      minWallMs = Math.min(minWallMs, m.wallMs);
      maxWallMs = Math.max(maxWallMs, m.wallMs);
    }
    return { meters: this.meters.length, sent, deferred, radioErrors, metrologyFaults, worstDeviation: worst, minWallMs, maxWallMs };
  }

  /** Closes the spill file (the meters' flash can no longer be read after this). */
  close(): void {
    this.spill?.close();
  }
}
