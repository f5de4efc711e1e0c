/**
 * Runs N simulated meters and the simulated gateway on simulated time. Meters are kept in a heap by
 * the wall-clock time of their next event (a sample, a telegram, a load change); the runner always
 * advances the meter whose event is earliest, so telegrams reach the gateway in time order across
 * meters. Speed: 'max' (as fast as the CPU goes), 'realtime', or a factor (simulated / real time).
 *
 * State (`stateDir`): DIR/sim.json (configuration, meter identities, simulated time reached),
 * DIR/meters/<id>/{energy,calibration}.bin (file-backed flash written through on every write, so a
 * kill at any moment leaves a consistent power-cut image), DIR/meters/<id>/keys.json, and
 * DIR/gateway.json (replay state and last values). Saved every simulated hour and at the end; a run
 * with an existing sim.json continues from it: same meters, flash, counters and registers.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromHex } from '../../modules/core/bytes.js';
import { MeterError } from '../../modules/core/errors.js';
import type { SerialPort } from '../../modules/ports/bus.js';
import type { WmbusMode } from '../../modules/ports/radio.js';
import { TariffSchedule, type TariffSwitch } from '../../modules/metrology/tariff.js';
import { FileFlash } from './file-flash.js';
import { SimGateway, type GatewayState, type Verdict } from './gateway.js';
import type { LoadProfileName } from './physics/load-profile.js';
import { DEFAULT_WALL_START, SimMeter, keysForSeed, meterIdForSeed, type AirFrame, type ChipName, type SimSmlOptions } from './sim-meter.js';
import type { SimKeysFile } from './sim-key-store.js';

export type Speed = 'max' | 'realtime' | number;

export interface SimRunConfig {
  meters: number;
  chip: ChipName | 'mixed';
  seed: number;
  /** 'mixed': even meters a household, odd ones a prosumer with PV ('solar'), so both A+ and A- move. */
  load: LoadProfileName | 'mixed';
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

export interface SimRunOptions extends SimRunConfig {
  durationMs: number;
  speed: Speed;
  stateDir?: string;
  /** Simulated time between state saves (default 1 h). */
  saveEveryMs?: number;
  onTelegram?: (e: TelegramEvent) => void;
  /** Service port of meter 0 (e.g. a TcpSerialListener): that meter is then polled on every turn of
   *  the loop, so a bench can talk to it while the fleet runs (use a finite speed). */
  service?: SerialPort;
  /** The SML interfaces of meter 0 (its optical push into a sink, its PIN, an LMN line): only that
   *  meter has them, so a fleet costs no more memory. */
  sml?: SimSmlOptions;
  /** Called about every `progressEveryMs` of real time (default 200). */
  onProgress?: (r: SimRunner) => void;
  progressEveryMs?: number;
}

export interface TelegramEvent {
  meterIndex: number;
  air: AirFrame;
  verdict: Verdict;
}

export interface SimSummary {
  meters: number;
  simulatedMs: number;
  realMs: number;
  sent: number;
  decoded: number;
  rejected: number;
  byCode: Record<string, number>;
  deferred: number;
  radioErrors: number;
  metrologyFaults: number;
  /** Telegrams per second of real time. */
  throughput: number;
  /** Simulated time / real time. */
  factor: number;
  interrupted: boolean;
  /** Largest |register − true energy| / true energy (A+ and A-, over registers with > 100 Wh of truth
   *  since this run started), or undefined when no meter measured that much. */
  worstDeviation?: number;
  /** Meters whose last decoded A+/A- differ from what they sent last (should be 0). */
  gatewayMismatches: number;
  /** True when this run continued from a saved state. */
  resumed: boolean;
  startWallMs: number;
  endWallMs: number;
}

interface SavedSim {
  format: 'xsmeter-sim-state';
  version: number;
  wallMs: number;
  config: SimRunConfig;
  meters: { index: number; seed: number; meterId: string; chip: ChipName }[];
}

const STATE_FORMAT = 'xsmeter-sim-state';
/** 2: the flash images are in the storage module's format (modules/storage); 1 held the earlier one. */
/** The version of sim.json: 2 since the flash format of modules/storage. */
export const SIM_STATE_VERSION = 2;
const GEOMETRY = { sectorSize: 4096, sectorCount: 16 };

/** Seed of meter `i` of a run seeded `seed`. */
export function meterSeed(seed: number, i: number): number {
  return (Math.imul(seed >>> 0, 1000003) + i + 1) >>> 0;
}

/** Distinct 8-digit ids: consecutive from the run seed's id. */
export function meterIdOf(seed: number, i: number): string {
  const base = Number(meterIdForSeed(seed)) - 10_000_000;
  return String(10_000_000 + ((base + i) % 90_000_000));
}

function writeJson(path: string, value: unknown): void {
  const tmp = path + '.tmp';
  writeFileSync(tmp, JSON.stringify(value, null, 1));
  renameSync(tmp, path); // a kill never leaves half a file
}

/** A min-heap of meter indices by next event time. */
class EventHeap {
  private readonly idx: number[] = [];
  private readonly at: number[] = [];
  get size(): number {
    return this.idx.length;
  }
  push(i: number, t: number): void {
    this.idx.push(i);
    this.at.push(t);
    let c = this.idx.length - 1;
    while (c > 0) {
      const p = (c - 1) >> 1;
      if (this.at[p] <= this.at[c]) break;
      this.swap(p, c);
      c = p;
    }
  }
  peekTime(): number {
    return this.at.length ? this.at[0] : Infinity;
  }
  pop(): number {
    const top = this.idx[0];
    const last = this.idx.length - 1;
    this.swap(0, last);
    this.idx.pop();
    this.at.pop();
    let c = 0;
    for (;;) {
      const l = 2 * c + 1;
      const r = l + 1;
      let m = c;
      if (l < this.idx.length && this.at[l] < this.at[m]) m = l;
      if (r < this.idx.length && this.at[r] < this.at[m]) m = r;
      if (m === c) break;
      this.swap(m, c);
      c = m;
    }
    return top;
  }
  private swap(a: number, b: number): void {
    const i = this.idx[a];
    this.idx[a] = this.idx[b];
    this.idx[b] = i;
    const t = this.at[a];
    this.at[a] = this.at[b];
    this.at[b] = t;
  }
}

export class SimRunner {
  readonly options: SimRunOptions;
  readonly config: SimRunConfig;
  readonly meters: SimMeter[] = [];
  readonly gateway: SimGateway;
  readonly resumed: boolean;
  readonly startWallMs: number;
  readonly endWallMs: number;
  /** Simulated wall-clock time reached by the whole fleet. */
  wallMs: number;
  private stopRequested = false;
  private readonly flashes: FileFlash[] = [];
  private lastSaveWall: number;
  private realStart = 0;
  /** Each meter's registers at the start of this run (Wh): the truth counts from here. */
  private readonly baseline: { importWh: number; exportWh: number }[] = [];

  constructor(options: SimRunOptions) {
    this.options = options;
    const dir = options.stateDir;
    let saved: SavedSim | undefined;
    if (dir && existsSync(join(dir, 'sim.json'))) {
      saved = JSON.parse(readFileSync(join(dir, 'sim.json'), 'utf8')) as SavedSim;
      if (saved.format !== STATE_FORMAT) throw new MeterError('sim-state', `${join(dir, 'sim.json')} is not a simulator state`);
      if (saved.version !== SIM_STATE_VERSION) {
        throw new MeterError('sim-state', `${dir} holds meters of an earlier flash format (state version ${String(saved.version)}, this simulator reads ${SIM_STATE_VERSION}): start a new --state directory`, { version: String(saved.version) });
      }
    }
    this.resumed = !!saved;
    // A continued run keeps its fleet (identities, chips, load, security); timing options may change.
    this.config = saved
      ? { ...saved.config, intervalMs: options.intervalMs, samplePeriodMs: options.samplePeriodMs, jitter: options.jitter, dutyCycle: options.dutyCycle }
      : pickConfig(options);
    this.startWallMs = saved?.wallMs ?? DEFAULT_WALL_START;
    this.wallMs = this.startWallMs;
    this.endWallMs = this.startWallMs + options.durationMs;
    this.lastSaveWall = this.startWallMs;
    let gatewayState: GatewayState | undefined;
    if (dir && saved && existsSync(join(dir, 'gateway.json'))) gatewayState = JSON.parse(readFileSync(join(dir, 'gateway.json'), 'utf8')) as GatewayState;
    this.gateway = new SimGateway({ state: gatewayState, allowPlain: true });
    if (dir) mkdirSync(join(dir, 'meters'), { recursive: true });
    const c = this.config;
    // One schedule for the fleet (it holds no state).
    const tariffs = c.tariffs ? new TariffSchedule({ tariffs: Math.max(...c.tariffs.map((t) => t.tariff)), switches: c.tariffs }) : undefined;
    for (let i = 0; i < c.meters; i++) {
      const entry = saved?.meters[i];
      const seed = entry?.seed ?? meterSeed(c.seed, i);
      const meterId = entry?.meterId ?? meterIdOf(c.seed, i);
      const chip: ChipName = entry?.chip ?? (c.chip === 'mixed' ? (i % 2 === 0 ? 'ade7953' : 'atm90e32') : c.chip);
      let keys: SimKeysFile = keysForSeed(seed);
      let energyFlash: FileFlash | undefined;
      let calibrationFlash: FileFlash | undefined;
      if (dir) {
        const md = join(dir, 'meters', meterId);
        mkdirSync(md, { recursive: true });
        const kf = join(md, 'keys.json');
        if (existsSync(kf)) keys = JSON.parse(readFileSync(kf, 'utf8')) as SimKeysFile;
        else writeJson(kf, keys);
        energyFlash = new FileFlash(join(md, 'energy.bin'), GEOMETRY);
        calibrationFlash = new FileFlash(join(md, 'calibration.bin'), GEOMETRY);
        this.flashes.push(energyFlash, calibrationFlash);
      }
      const m = new SimMeter({
        chip,
        seed,
        meterId,
        keys,
        security: c.security,
        radioMode: c.radioMode,
        radio: c.radio,
        intervalMs: c.intervalMs,
        jitter: c.jitter,
        samplePeriodMs: c.samplePeriodMs,
        dutyCycle: c.dutyCycle,
        quantumWh: c.quantumWh,
        load: c.load === 'mixed' ? (i % 2 === 0 ? 'household' : 'solar') : c.load,
        wallStartMs: this.startWallMs,
        energyFlash,
        calibrationFlash,
        exactPulses: false,
        service: i === 0 ? options.service : undefined,
        sml: i === 0 ? options.sml : undefined,
        app: tariffs ? { tariffs } : undefined,
        onAir: (f) => this.deliver(i, f),
      });
      m.keepAir = false;
      this.meters.push(m);
      const reg = m.registers();
      this.baseline.push({ importWh: reg['1.8.0'], exportWh: reg['2.8.0'] });
      this.gateway.setKey(meterId, fromHex(m.keys.toFile().meterKey));
    }
    if (dir) this.save();
  }

  /** Ask the run to stop at the next opportunity (SIGINT/SIGTERM): it saves and returns. */
  requestStop(): void {
    this.stopRequested = true;
  }

  private deliver(meterIndex: number, air: AirFrame): void {
    const verdict = this.gateway.receive(air.stream, air.mode, air.wallMs, air.meterId);
    this.options.onTelegram?.({ meterIndex, air, verdict });
  }

  /** Writes sim.json and gateway.json (the flash files are always current). */
  save(): void {
    const dir = this.options.stateDir;
    if (!dir) return;
    const saved: SavedSim = {
      format: STATE_FORMAT,
      version: SIM_STATE_VERSION,
      wallMs: this.wallMs,
      config: this.config,
      meters: this.meters.map((m, index) => ({ index, seed: m.seed, meterId: m.meterId, chip: m.chipName })),
    };
    for (const m of this.meters) writeJson(join(dir, 'meters', m.meterId, 'keys.json'), m.keys.toFile());
    writeJson(join(dir, 'gateway.json'), this.gateway.state());
    writeJson(join(dir, 'sim.json'), saved);
    this.lastSaveWall = this.wallMs;
  }

  async run(): Promise<SimSummary> {
    this.realStart = performance.now();
    const heap = new EventHeap();
    for (let i = 0; i < this.meters.length; i++) heap.push(i, this.meters[i].nextEventWall());
    const speed = this.options.speed;
    const factor = speed === 'max' ? Infinity : speed === 'realtime' ? 1 : speed;
    const progressEvery = this.options.progressEveryMs ?? 200;
    const saveEvery = this.options.saveEveryMs ?? 3_600_000;
    let lastProgress = this.realStart;
    let events = 0;
    while (!this.stopRequested) {
      // How far simulated time may go now.
      const realNow = performance.now();
      const limit = factor === Infinity ? this.endWallMs : Math.min(this.endWallMs, this.startWallMs + (realNow - this.realStart) * factor);
      while (heap.peekTime() <= limit && !this.stopRequested) {
        const t = heap.peekTime();
        const i = heap.pop();
        const m = this.meters[i];
        m.advanceToWall(t);
        if (t > this.wallMs) this.wallMs = t;
        heap.push(i, m.nextEventWall());
        if ((++events & 1023) === 0) {
          if (this.wallMs - this.lastSaveWall >= saveEvery) this.save();
          const now = performance.now();
          if (now - lastProgress >= progressEvery) {
            lastProgress = now;
            this.options.onProgress?.(this);
            await new Promise<void>((r) => setImmediate(r)); // let signals and output through
          }
        }
      }
      // A stop breaks out early: the fleet has not reached `limit` (at max speed, the end of the run).
      if (limit > this.wallMs && !this.stopRequested) this.wallMs = limit;
      if (this.options.service && this.meters.length > 0) {
        // The bench's meter answers between its own events too.
        const m0 = this.meters[0];
        m0.advanceToWall(this.wallMs);
        m0.tick();
      }
      if (this.wallMs - this.lastSaveWall >= saveEvery) this.save();
      if (limit >= this.endWallMs) break;
      const now = performance.now();
      if (now - lastProgress >= progressEvery) {
        lastProgress = now;
        this.options.onProgress?.(this);
      }
      const untilNext = (Math.min(heap.peekTime(), this.endWallMs) - this.wallMs) / factor;
      await new Promise<void>((r) => setTimeout(r, Math.max(1, Math.min(50, untilNext))));
    }
    const interrupted = this.stopRequested && this.wallMs < this.endWallMs;
    if (!interrupted) {
      // Bring every meter to the end of the run.
      for (const m of this.meters) m.advanceToWall(this.endWallMs);
      this.wallMs = this.endWallMs;
    }
    for (const m of this.meters) m.app.stop(); // persists unsaved energy
    this.save();
    for (const f of this.flashes) f.close();
    return this.summary(interrupted);
  }

  summary(interrupted = false): SimSummary {
    const realMs = performance.now() - this.realStart;
    let deferred = 0;
    let radioErrors = 0;
    let metrologyFaults = 0;
    let sent = 0;
    for (const m of this.meters) {
      deferred += m.app.stats.deferred;
      radioErrors += m.app.stats.radioErrors;
      metrologyFaults += m.app.stats.metrologyFaults;
      sent += m.app.stats.telegrams;
    }
    const g = this.gateway.stats;
    let worst: number | undefined;
    let mismatches = 0;
    for (let i = 0; i < this.meters.length; i++) {
      const m = this.meters[i];
      const truth = m.trueEnergy();
      const reg = m.registers();
      const base = this.baseline[i];
      for (const [measured, trueWh] of [
        [reg['1.8.0'] - base.importWh, truth.importWh],
        [reg['2.8.0'] - base.exportWh, truth.exportWh],
      ]) {
        if (trueWh > 100) worst = Math.max(worst ?? 0, Math.abs(measured - trueWh) / trueWh);
      }
      const row = this.gateway.rows.get(m.meterId);
      const sent = m.app.telegram?.registers;
      if (row?.reading && sent) {
        const a = sent.find((r) => r.obis === '1.8.0')?.value;
        const b = sent.find((r) => r.obis === '2.8.0')?.value;
        if (row.reading.importWh !== a || row.reading.exportWh !== b) mismatches++;
      }
    }
    const simulatedMs = this.wallMs - this.startWallMs;
    return {
      meters: this.meters.length,
      simulatedMs,
      realMs,
      sent,
      decoded: g.decoded,
      rejected: g.rejected,
      byCode: { ...g.byCode },
      deferred,
      radioErrors,
      metrologyFaults,
      throughput: realMs > 0 ? (g.received * 1000) / realMs : 0,
      factor: realMs > 0 ? simulatedMs / realMs : 0,
      interrupted,
      worstDeviation: worst,
      gatewayMismatches: mismatches,
      resumed: this.resumed,
      startWallMs: this.startWallMs,
      endWallMs: this.wallMs,
    };
  }
}

function pickConfig(o: SimRunOptions): SimRunConfig {
  const c: SimRunConfig = {
    meters: o.meters,
    chip: o.chip,
    seed: o.seed,
    load: o.load,
    security: o.security,
    radioMode: o.radioMode,
    intervalMs: o.intervalMs,
    samplePeriodMs: o.samplePeriodMs,
  };
  if (o.jitter !== undefined) c.jitter = o.jitter;
  if (o.dutyCycle !== undefined) c.dutyCycle = o.dutyCycle;
  if (o.quantumWh !== undefined) c.quantumWh = o.quantumWh;
  if (o.radio !== undefined) c.radio = o.radio;
  if (o.tariffs !== undefined) c.tariffs = o.tariffs;
  return c;
}
