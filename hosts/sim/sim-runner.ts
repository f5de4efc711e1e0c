/**
 * Runs a fleet of simulated meters and the simulated gateway on simulated time (`xsmeter sim`).
 * The meters run in slices (meter-slice.ts), each a contiguous range of the fleet: with one thread
 * all in this one; with N (`workers`), one in this thread and N − 1 in worker threads
 * (slice-worker.ts), this thread's the smaller as it also decodes every telegram (localShare).
 * Time advances in epochs (up to four hours; an hour with a state directory): every slice runs its
 * meters' events up to the epoch's end, then this thread merges the telegrams they sent in (time,
 * fleet index) order and hands them to the gateway (modules/wmbus-rx's strict receiver) and
 * `onTelegram` — so the output is the same whatever the number of threads, and each meter computes
 * the same registers, frames and counters (it is only ever advanced to its own event times). With
 * workers the next epoch runs while this thread decodes the last one (then runs its own slice
 * through it). Speed: 'max', 'realtime' or a factor (simulated / real time). A stop request
 * (SIGINT/SIGTERM) is seen between meters, also during set-up: the run ends within milliseconds,
 * each meter where it was.
 *
 * Shards (`shard`, --shard i/n): a fleet larger than one machine runs as n processes, each
 * simulating meters [⌊i·N/n⌋, ⌊(i+1)·N/n⌋) of the N-meter fleet with the ids, keys, seeds and loads
 * those meters have in the whole fleet, so the shards' outputs together are the unsharded run's.
 *
 * State (`stateDir`, one per shard): DIR/sim.json (configuration, shard, the meters' identities,
 * simulated time reached), DIR/meters/<id>/{energy,calibration}.bin (file-backed flash written
 * through on every write), DIR/clocks.bin (each meter's time, written with its flash: a kill -9 is a
 * power cut and nothing else, state-clocks.ts), DIR/meters/<id>/keys.json and DIR/gateway.json
 * (replay state and last values, saved every simulated hour and at the end). A run on a directory
 * with a sim.json continues it: same meters, flash, counters, registers, each meter from its own time.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { fromHex } from '../../modules/core/bytes.js';
import { MeterError } from '../../modules/core/errors.js';
import type { SerialPort } from '../../modules/ports/bus.js';
import type { WmbusMode } from '../../modules/ports/radio.js';
import { EventCursor } from './air-log.js';
import { makeDirectory } from './directory.js';
import { SimGateway, type GatewayState, type Verdict } from './gateway.js';
import { writeJson } from './json-file.js';
import { MeterSlice, type AirEvent, type FleetMeterConfig, type MeterSpec, type SliceOptions, type SliceReport } from './meter-slice.js';
import type { LoadProfileName } from './physics/load-profile.js';
import { DEFAULT_WALL_START, meterIdForSeed, type ChipName, type SimSmlOptions } from './sim-meter.js';
import { SLICE_WORKER, type FromSliceWorker, type SliceWorkerData, type ToSliceWorker } from './slice-worker.js';
import { StateClocks } from './state-clocks.js';

export type Speed = 'max' | 'realtime' | number;

export interface SimRunConfig extends FleetMeterConfig {
  /** Meters in the whole fleet (all shards). */
  meters: number;
  chip: ChipName | 'mixed';
  seed: number;
  /** 'mixed': even meters a household, odd ones a prosumer with PV ('solar'), so both A+ and A- move. */
  load: LoadProfileName | 'mixed';
}

export interface Shard {
  /** 0-based. */
  index: number;
  count: number;
}

export interface SimRunOptions extends SimRunConfig {
  durationMs: number;
  speed: Speed;
  stateDir?: string;
  /** Simulated time between saves of the gateway state (default 1 h). */
  saveEveryMs?: number;
  onTelegram?: (e: TelegramEvent) => void;
  /** Called after each group of telegrams handed to `onTelegram` (an epoch's, or a paced step's,
   *  and the last ones): a caller that buffers its output writes it here. */
  onDelivered?: () => void;
  /** Service port of meter 0 (e.g. a TcpSerialListener): that meter is then polled on every turn of
   *  the loop, so a bench can talk to it while the fleet runs (use a finite speed; one thread). */
  service?: SerialPort;
  /** The SML interfaces of meter 0 (its optical push into a sink, its PIN, an LMN line): only that
   *  meter has them, so a fleet costs no more memory (one thread). */
  sml?: SimSmlOptions;
  /** Called about every `progressEveryMs` of real time (default 200), during set-up and run. */
  onProgress?: (r: SimRunner) => void;
  progressEveryMs?: number;
  /** Threads that run meters: 1 (default) runs them in this thread, N > 1 this one and N − 1 worker
   *  threads (or N workers when this thread's share, localShare, would be under a tenth). */
  workers?: number;
  /** A fleet whose memory matters more than a few % of CPU: each worker's young generation is held
   *  to 16 MB (V8's default grows it to 48 MB; 100 000 meters, two workers: ~40 MB less). */
  lean?: boolean;
  /** Simulate only this shard of the fleet. */
  shard?: Shard;
}

export interface TelegramEvent {
  meterIndex: number;
  air: AirEvent;
  verdict: Verdict;
}

export interface SimSummary {
  /** Meters this process simulated (its shard). */
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
  /** Set-up was interrupted after this many meters. */
  setUpMeters?: number;
  /** Largest |register − true energy| / true energy (A+ and A-, over registers with > 100 Wh of truth
   *  since this run started), or undefined when no meter measured that much. */
  worstDeviation?: number;
  /** Meters whose last decoded A+/A- differ from what they sent last (should be 0). */
  gatewayMismatches: number;
  /** Telegrams whose A+ or A- fell below the meter's previous decoded one (should be 0), and of those
   *  the ones without the metrology-fault flag (a silent loss: never acceptable). */
  registerDrops: number;
  unflaggedDrops: number;
  /** True when this run continued from a saved state. */
  resumed: boolean;
  startWallMs: number;
  endWallMs: number;
  /** Meter-days simulated per minute of CPU time (all threads of this process), set-up included. */
  meterDaysPerCpuMinute: number;
  /** CPU time (all threads) of the set-up: the meters made (factory set-up: keys, log, seal) or
   *  restored, the gateway given their keys; ms. */
  setUpCpuMs: number;
  /** Meter-days per minute of the CPU time after the set-up (undefined: no time was simulated). */
  meterDaysPerCpuMinuteAfterSetUp: number | undefined;
  workers: number;
  /** The process's peak resident memory so far (all threads; bytes). */
  peakResidentBytes: number;
}

interface SavedMeter {
  index: number;
  seed: number;
  meterId: string;
  chip: ChipName;
}

interface SavedSim {
  format: 'xsmeter-sim-state';
  version: number;
  wallMs: number;
  config: SimRunConfig;
  shard?: Shard;
  meters: SavedMeter[];
}

const STATE_FORMAT = 'xsmeter-sim-state';
/** The version of sim.json: 2 since the flash format of modules/storage (1 held the earlier one). */
export const SIM_STATE_VERSION = 2;

/** Seed of meter `i` of a run seeded `seed`. */
export function meterSeed(seed: number, i: number): number {
  return (Math.imul(seed >>> 0, 1000003) + i + 1) >>> 0;
}

/** Distinct 8-digit ids: consecutive from the run seed's id. */
export function meterIdOf(seed: number, i: number): string {
  const base = Number(meterIdForSeed(seed)) - 10_000_000;
  return String(10_000_000 + ((base + i) % 90_000_000));
}

/** The fleet indices of shard `s` of an `n`-meter fleet: [first, first + count). */
export function shardRange(n: number, s: Shard): { first: number; count: number } {
  const first = Math.floor((s.index * n) / s.count);
  return { first, count: Math.floor(((s.index + 1) * n) / s.count) - first };
}

/** Simulated time per epoch: about EPOCH_TELEGRAMS telegrams of the fleet (what the threads hold
 *  at a time, packed: air-log.ts), between 1 s and `longest`. A small fleet's long epochs are ~7 %
 *  less CPU than hourly ones: a meter runs hours on end while its objects are in the cache, and
 *  leaves its flash to the backing less often. For a large fleet, epochs eight times as long
 *  (160 000 telegrams) were no faster in interleaved runs (20 000 meters × 12 h, one thread: 6 530
 *  and 5 920 meter-days per CPU-minute after the set-up, against 6 360 and 5 700) and its peak was
 *  150 MB higher. The output is the same for any epoch: the telegrams are merged in time order. */
function epochOf(c: SimRunConfig, meters: number, longest: number): number {
  return Math.max(1000, Math.min(longest, Math.round((c.intervalMs * EPOCH_TELEGRAMS) / Math.max(1, meters))));
}
const EPOCH_TELEGRAMS = 20_000;
/** The longest epoch without a state directory (with one: its save interval, an hour by default). */
const LONGEST_EPOCH_MS = 4 * 3_600_000;

interface RunResult {
  complete: boolean;
  next: number;
  events: EventCursor;
}

/** A slice in this thread or in a worker. */
interface Part {
  readonly count: number;
  made: number;
  /** Meters run through the limit of the epoch in flight (all of them once it ran). */
  readonly metersRun: number;
  /** Makes the meters; resolves false when stopped first. */
  setUp(stop: () => boolean, onMade: (keys: string[], ids: string[]) => void): Promise<boolean>;
  run(limit: number, stop: () => boolean): Promise<RunResult>;
  finish(end?: number): Promise<{ report: SliceReport; events: EventCursor }>;
  serviceTick?(wallMs: number): void;
  /** Frees what the part holds (a worker thread ends). */
  close(): void;
}

/** The share of the fleet's meters this thread runs beside `threads - 1` workers (all with one
 *  thread; 0: `threads` workers run them all): this thread also decodes every telegram at the
 *  gateway, which costs about GATEWAY_SHARE of what running their meters does, so it takes that
 *  much less. Two threads:
 *  35 %, the two busy alike (2000 meters × 1 d: 5.8 s of CPU here, 5.3 s in the worker). Against
 *  two workers beside this thread's gateway, three busy threads on two cores: side by side 1–4 %
 *  less CPU (one isolate fewer to warm up) and 95 MB less memory at its peak (300 MB). */
export function localShare(threads: number): number {
  const share = Math.min(1, (1 + GATEWAY_SHARE) / threads - GATEWAY_SHARE);
  return share >= 0.1 ? share : 0;
}
const GATEWAY_SHARE = 0.3;

/** Gives the event loop a turn (signals, output, timers). */
const turn = () => new Promise<void>((r) => setImmediate(r));

class LocalPart implements Part {
  readonly slice: MeterSlice;
  made = 0;
  constructor(options: SliceOptions) {
    this.slice = new MeterSlice(options);
  }
  get count(): number {
    return this.slice.specs.length;
  }
  get metersRun(): number {
    return this.slice.metersRun;
  }
  async setUp(stop: () => boolean, onMade: (keys: string[], ids: string[]) => void): Promise<boolean> {
    for (;;) {
      const before = this.slice.made;
      const done = this.slice.setUp(performance.now() + 50, stop);
      const keys: string[] = [];
      const ids: string[] = [];
      for (let p = before; p < this.slice.made; p++) {
        keys.push(this.slice.meterKey(p));
        ids.push(this.slice.specs[p].meterId);
      }
      this.made = this.slice.made;
      onMade(keys, ids);
      if (done) return true;
      await turn();
      if (stop()) return false;
    }
  }
  async run(limit: number, stop: () => boolean): Promise<RunResult> {
    for (;;) {
      const complete = this.slice.runUntil(limit, stop, performance.now() + 50);
      if (complete || stop()) return { complete, next: this.slice.nextEventWall, events: new EventCursor(this.slice.take(), this.slice.specs) };
      await turn();
    }
  }
  async finish(end?: number): Promise<{ report: SliceReport; events: EventCursor }> {
    const report = this.slice.finish(end);
    const events = new EventCursor(this.slice.take(), this.slice.specs);
    this.slice.close();
    return { report, events };
  }
  serviceTick(wallMs: number): void {
    this.slice.serviceTick(wallMs);
  }
  close(): void {
    this.slice.close();
  }
}

/** The worker's entry: its own bundle next to the CLI's (dist/slice-worker.mjs); from the
 *  TypeScript sources (tests, benches under tsx) a module that registers tsx first, as a worker
 *  does not inherit the loader in Node 20. */
function workerEntry(): URL {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new URL('./slice-worker.mjs', here);
  const source = new URL('./slice-worker.ts', here).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  return new URL(`data:text/javascript,${encodeURIComponent(`import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(source)});`)}`);
}

class WorkerPart implements Part {
  made = 0;
  private readonly worker: Worker;
  private handler: ((m: FromSliceWorker) => void) | undefined;
  private failure: Error | undefined;
  /** What the worker writes its slice's metersRun to. */
  private readonly progress = new Int32Array(new SharedArrayBuffer(4));
  constructor(
    private readonly options: SliceOptions,
    stop: SharedArrayBuffer,
    lean: boolean,
  ) {
    const data: SliceWorkerData = { kind: SLICE_WORKER, options, stop, progress: this.progress.buffer as SharedArrayBuffer };
    this.worker = new Worker(workerEntry(), { workerData: data, resourceLimits: lean ? { maxYoungGenerationSizeMb: 16 } : undefined });
    this.worker.on('message', (m: FromSliceWorker) => {
      if (m.type === 'error') this.fail(m.code ? new MeterError(m.code, m.message) : new Error(m.message));
      else this.handler?.(m);
    });
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', (code) => {
      if (code !== 0) this.fail(new Error(`meter worker exited with code ${code}`));
    });
  }
  get count(): number {
    return this.options.meters.length;
  }
  get metersRun(): number {
    return Atomics.load(this.progress, 0);
  }
  private fail(e: Error): void {
    this.failure ??= e;
    this.handler?.({ type: 'error', message: e.message });
  }
  /** Waits for the worker's next message of `type`, passing the others to `other`. */
  private next<T extends FromSliceWorker['type']>(type: T, other?: (m: FromSliceWorker) => void): Promise<Extract<FromSliceWorker, { type: T }>> {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.handler = (m) => {
        if (m.type === type) {
          this.handler = undefined;
          resolve(m as Extract<FromSliceWorker, { type: T }>);
        } else if (m.type === 'error') {
          this.handler = undefined;
          reject(this.failure ?? new Error(m.message));
        } else other?.(m);
      };
    });
  }
  async setUp(_stop: () => boolean, onMade: (keys: string[], ids: string[]) => void): Promise<boolean> {
    let reported = 0;
    const ready = await this.next('ready', (m) => {
      if (m.type !== 'setup') return;
      this.made = m.made;
      onMade(m.keys, this.options.meters.slice(reported, reported + m.keys.length).map((s) => s.meterId));
      reported += m.keys.length;
    });
    return ready.complete;
  }
  async run(limit: number): Promise<RunResult> {
    Atomics.store(this.progress, 0, 0);
    const reply = this.next('ran');
    this.worker.postMessage({ type: 'run', limit } satisfies ToSliceWorker);
    const r = await reply;
    return { complete: r.complete, next: r.next, events: new EventCursor(r.events, this.options.meters) };
  }
  async finish(end?: number): Promise<{ report: SliceReport; events: EventCursor }> {
    const reply = this.next('done');
    this.worker.postMessage({ type: 'finish', end } satisfies ToSliceWorker);
    const r = await reply;
    return { report: r.report, events: new EventCursor(r.events, this.options.meters) };
  }
  close(): void {
    this.handler = undefined;
    void this.worker.terminate();
  }
}

/** Hands `deliver` the events of cursors each in (wallMs, meterIndex) order, in that order. */
function mergeEvents(cursors: EventCursor[], deliver: (e: AirEvent) => void): void {
  for (;;) {
    let best: EventCursor | undefined;
    for (const c of cursors) {
      if (c.left === 0) continue;
      if (!best || c.wallMs < best.wallMs || (c.wallMs === best.wallMs && c.meterIndex < best.meterIndex)) best = c;
    }
    if (!best) return;
    deliver(best.take());
  }
}

export class SimRunner {
  readonly options: SimRunOptions;
  readonly config: SimRunConfig;
  /** Simulated time each slice runs before this thread merges what it sent (epochOf). */
  private readonly epochMs: number;
  readonly shard: Shard;
  /** The meters this process simulates (its shard of the fleet). */
  readonly specs: MeterSpec[];
  readonly gateway: SimGateway;
  readonly resumed: boolean;
  readonly startWallMs: number;
  readonly endWallMs: number;
  readonly workers: number;
  /** Simulated wall-clock time every meter has reached. */
  wallMs: number;
  /** The parts running the meters, and the epoch last handed to them (progressWallMs). */
  private parts: Part[] = [];
  private epochFrom = 0;
  private epochTo = 0;
  private ticker: ReturnType<typeof setInterval> | undefined;
  /** 'setup' while meters are made, 'run', then 'done'. */
  phase: 'setup' | 'run' | 'done' = 'setup';
  /** Meters made so far. */
  made = 0;
  /** performance.now() when run() started, and when its meters started running. */
  realStart = 0;
  runStart = 0;
  private stopRequested = false;
  private readonly stopFlag = new SharedArrayBuffer(4);
  private lastSaveWall: number;
  private readonly first: number;
  /** A+ and A- (Wh) each meter last sent (NaN: none yet). */
  private readonly lastSent: Float64Array;

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
    // A continued run keeps its fleet (identities, chips, load, security, shard); timing options may change.
    this.config = saved
      ? { ...saved.config, intervalMs: options.intervalMs, samplePeriodMs: options.samplePeriodMs, jitter: options.jitter, dutyCycle: options.dutyCycle }
      : pickConfig(options);
    const shard = saved ? (saved.shard ?? { index: 0, count: 1 }) : (options.shard ?? { index: 0, count: 1 });
    if (saved && options.shard && (options.shard.index !== shard.index || options.shard.count !== shard.count)) {
      throw new MeterError('sim-state', `${dir} holds shard ${shard.index + 1}/${shard.count} of the fleet, not ${options.shard.index + 1}/${options.shard.count}: each shard needs its own --state directory`);
    }
    this.shard = shard;
    const c = this.config;
    const range = shardRange(c.meters, shard);
    this.first = range.first;
    const savedWall = saved?.wallMs ?? DEFAULT_WALL_START;
    // Each meter continues from its own time (DIR/clocks.bin), or the saved fleet time.
    const clocks = dir && saved && existsSync(join(dir, 'clocks.bin')) ? new StateClocks(join(dir, 'clocks.bin'), saved.meters.length) : undefined;
    const specs: MeterSpec[] = [];
    const list: SavedMeter[] = saved ? saved.meters : [];
    for (let k = 0; k < (saved ? list.length : range.count); k++) {
      const i = saved ? list[k].index : range.first + k;
      const seed = saved ? list[k].seed : meterSeed(c.seed, i);
      const chip: ChipName = saved ? list[k].chip : c.chip === 'mixed' ? (i % 2 === 0 ? 'ade7953' : 'atm90e32') : c.chip;
      specs.push({
        index: i,
        slot: k,
        seed,
        meterId: saved ? list[k].meterId : meterIdOf(c.seed, i),
        chip,
        load: c.load === 'mixed' ? (i % 2 === 0 ? 'household' : 'solar') : c.load,
        startWallMs: clocks?.read(k) || savedWall,
      });
    }
    clocks?.close();
    this.specs = specs;
    let start = savedWall;
    for (const s of specs) start = Math.max(start, s.startWallMs);
    this.startWallMs = start;
    this.wallMs = start;
    this.endWallMs = start + options.durationMs;
    this.lastSaveWall = start;
    this.lastSent = new Float64Array(2 * specs.length).fill(NaN);
    // Meter 0's service port and SML sink live in this thread: then it runs the meters too.
    const workers = options.service || options.sml ? 1 : Math.max(1, Math.min(options.workers ?? 1, specs.length));
    this.workers = workers;
    let gatewayState: GatewayState | undefined;
    if (dir && saved && existsSync(join(dir, 'gateway.json'))) gatewayState = JSON.parse(readFileSync(join(dir, 'gateway.json'), 'utf8')) as GatewayState;
    const saveEvery = options.saveEveryMs ?? 3_600_000;
    this.epochMs = epochOf(this.config, specs.length, dir ? Math.min(saveEvery, LONGEST_EPOCH_MS) : LONGEST_EPOCH_MS);
    // A meter's key handle pays off only if its meter sends again within the epoch (the handles go
    // after each one): in a fleet whose meters send at most once an epoch, a handle per telegram held
    // to the epoch's end outlived V8's young generation: 30 000 meters, two workers, 80 MB more
    // resident and 10 % more CPU than a handle dropped after a few telegrams.
    const cachedKeys = this.epochMs >= 2 * this.config.intervalMs ? Infinity : 16;
    this.gateway = new SimGateway({ state: gatewayState, allowPlain: true, cachedKeys });
    if (dir) {
      makeDirectory(join(dir, 'meters'));
      this.saveState();
    }
  }

  /** Ask the run to stop at the next opportunity (SIGINT/SIGTERM): it saves and returns. */
  requestStop(): void {
    this.stopRequested = true;
    Atomics.store(new Int32Array(this.stopFlag), 0, 1);
  }

  get stopping(): boolean {
    return this.stopRequested;
  }

  private deliver(e: AirEvent): void {
    const verdict = this.gateway.receive(e.stream, e.mode, e.wallMs, e.meterId);
    const k = 2 * (e.meterIndex - this.first);
    this.lastSent[k] = e.importWh ?? NaN;
    this.lastSent[k + 1] = e.exportWh ?? NaN;
    this.options.onTelegram?.({ meterIndex: e.meterIndex, air: e, verdict });
  }

  /** Writes sim.json and gateway.json (the flash images and clocks are always current). */
  private saveState(): void {
    const dir = this.options.stateDir;
    if (!dir) return;
    const saved: SavedSim = {
      format: STATE_FORMAT,
      version: SIM_STATE_VERSION,
      wallMs: this.wallMs,
      config: this.config,
      meters: this.specs.map((s) => ({ index: s.index, seed: s.seed, meterId: s.meterId, chip: s.chip })),
    };
    if (this.shard.count > 1) saved.shard = this.shard;
    writeJson(join(dir, 'gateway.json'), this.gateway.state());
    writeJson(join(dir, 'sim.json'), saved);
    this.lastSaveWall = this.wallMs;
  }

  private makeParts(): Part[] {
    const c = this.config;
    const meterConfig: FleetMeterConfig = { security: c.security, radioMode: c.radioMode, intervalMs: c.intervalMs, samplePeriodMs: c.samplePeriodMs };
    if (c.jitter !== undefined) meterConfig.jitter = c.jitter;
    if (c.dutyCycle !== undefined) meterConfig.dutyCycle = c.dutyCycle;
    if (c.quantumWh !== undefined) meterConfig.quantumWh = c.quantumWh;
    if (c.radio !== undefined) meterConfig.radio = c.radio;
    if (c.tariffs !== undefined) meterConfig.tariffs = c.tariffs;
    const base = { config: meterConfig, stateDir: this.options.stateDir, stateMeters: this.specs.length };
    const n = this.specs.length;
    const local = Math.floor(n * localShare(this.workers));
    const workers = local > 0 ? this.workers - 1 : this.workers;
    const parts: Part[] = [];
    for (let w = 0; w < workers; w++) {
      const a = local + Math.floor((w * (n - local)) / workers);
      const b = local + Math.floor(((w + 1) * (n - local)) / workers);
      parts.push(new WorkerPart({ ...base, meters: this.specs.slice(a, b) }, this.stopFlag, this.options.lean === true));
    }
    // (after the workers: a part in this thread runs its first 50 ms as soon as it is asked; meter
    // 0's service port and SML sink are there, as they make the run one thread)
    if (local > 0) parts.push(new LocalPart({ ...base, meters: this.specs.slice(0, local), service: this.options.service, sml: this.options.sml }));
    return parts;
  }

  async run(): Promise<SimSummary> {
    const parts = this.makeParts();
    try {
      return await this.runParts(parts);
    } finally {
      clearInterval(this.ticker); // (a part failed mid-run)
      for (const p of parts) p.close(); // also when a part failed: no worker is left running
    }
  }

  /** How far the run has got in simulated time, for its progress: `wallMs`, or within the epoch
   *  in flight, its share of meters through it (the one slowest so far). An epoch is long (its
   *  telegrams fill what a thread may hold): minutes of simulated time, seconds of real time. */
  get progressWallMs(): number {
    if (this.phase !== 'run' || this.epochTo <= this.epochFrom) return this.wallMs;
    let share = 1;
    for (const p of this.parts) if (p.count > 0) share = Math.min(share, p.metersRun / p.count);
    return Math.max(this.wallMs, this.epochFrom + (this.epochTo - this.epochFrom) * share);
  }

  private async runParts(parts: Part[]): Promise<SimSummary> {
    this.parts = parts;
    this.realStart = performance.now();
    const cpu0 = process.cpuUsage();
    const stop = () => this.stopRequested;
    const progressEvery = this.options.progressEveryMs ?? 200;
    let lastProgress = this.realStart;
    const progress = (force = false) => {
      const now = performance.now();
      if (!force && now - lastProgress < progressEvery) return;
      lastProgress = now;
      this.options.onProgress?.(this);
    };

    // Set-up: every part makes its meters (in parallel with workers); the gateway learns the keys.
    const setUp = await Promise.all(
      parts.map((p) =>
        p.setUp(stop, (keys, ids) => {
          for (let k = 0; k < keys.length; k++) this.gateway.setKey(ids[k], fromHex(keys[k]));
          this.made = parts.reduce((n, q) => n + q.made, 0);
          progress();
        }),
      ),
    );
    this.made = parts.reduce((n, q) => n + q.made, 0);
    const setUpCpu = process.cpuUsage(cpu0);
    const setUpComplete = setUp.every(Boolean) && !this.stopRequested;
    this.phase = 'run';
    this.runStart = performance.now();
    progress(true);

    const speed = this.options.speed;
    const factor = speed === 'max' ? Infinity : speed === 'realtime' ? 1 : speed;
    const saveEvery = this.options.saveEveryMs ?? 3_600_000;
    const epoch = this.epochMs;
    let completed = false;
    if (setUpComplete) {
      const limitAt = (from: number) => {
        const paced = factor === Infinity ? Infinity : this.startWallMs + (performance.now() - this.realStart) * factor;
        return Math.min(this.endWallMs, from + epoch, paced);
      };
      let dispatched = this.startWallMs;
      const dispatch = (limit: number) => {
        this.epochFrom = dispatched;
        this.epochTo = dispatched = limit;
        return Promise.all(parts.map((p) => p.run(limit, stop))).then((rs) => ({ limit, rs }));
      };
      // Progress within an epoch too (the parts yield to the event loop: a worker's, or every 50 ms).
      this.ticker = setInterval(progress, progressEvery);
      const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
      let reached = this.startWallMs;
      let inflight: ReturnType<typeof dispatch> | undefined;
      const land = ({ limit, rs }: Awaited<ReturnType<typeof dispatch>>): { complete: boolean; next: number } => {
        mergeEvents(rs.map((r) => r.events), (e) => this.deliver(e));
        this.gateway.releaseKeys();
        this.options.onDelivered?.();
        const complete = rs.every((r) => r.complete);
        const next = Math.min(...rs.map((r) => r.next));
        reached = complete ? limit : Math.max(reached, Math.min(limit, next));
        this.wallMs = reached;
        return { complete, next };
      };
      while (!completed) {
        if (!inflight) {
          const limit = limitAt(reached);
          if (limit <= reached) {
            // Paced and nothing due yet.
            if (this.stopRequested) break;
            parts[0].serviceTick?.(reached);
            await sleep(10);
            continue;
          }
          inflight = dispatch(limit);
        }
        const done = await inflight;
        inflight = undefined;
        // With workers the next epoch runs while this thread decodes this one.
        if (parts.length > 1 && !this.stopRequested && done.limit < this.endWallMs && done.rs.every((r) => r.complete)) {
          const more = limitAt(done.limit);
          if (more > done.limit) inflight = dispatch(more);
        }
        const { complete, next } = land(done);
        completed = complete && done.limit >= this.endWallMs;
        if (!completed && this.wallMs - this.lastSaveWall >= saveEvery) this.saveState();
        progress();
        if (this.stopRequested) break;
        if (inflight) continue;
        if (factor === Infinity) await turn();
        else {
          // Paced: sleep until the next event is due (at most 50 ms: the service port stays responsive).
          parts[0].serviceTick?.(reached);
          await sleep(Math.max(1, Math.min(50, (Math.min(next, this.endWallMs) - reached) / factor)));
        }
      }
      // Stopped with an epoch in flight: its meters stopped where they were; deliver what they sent.
      if (inflight) land(await inflight);
      clearInterval(this.ticker);
    }

    // Finish: a completed run brings every meter to the end; each saves what it has not saved.
    const finished = await Promise.all(parts.map((p) => p.finish(completed ? this.endWallMs : undefined)));
    mergeEvents(finished.map((f) => f.events), (e) => this.deliver(e));
    this.options.onDelivered?.();
    const reports = finished.map((f) => f.report);
    if (completed) this.wallMs = this.endWallMs;
    this.phase = 'done';
    this.saveState();
    const cpu = process.cpuUsage(cpu0);
    return this.summary(reports, !completed, setUpComplete ? undefined : this.made, (cpu.user + cpu.system) / 60e6, (setUpCpu.user + setUpCpu.system) / 60e6);
  }

  private summary(reports: SliceReport[], interrupted: boolean, setUpMeters: number | undefined, cpuMinutes: number, setUpCpuMinutes: number): SimSummary {
    const realMs = performance.now() - this.realStart;
    let sent = 0;
    let deferred = 0;
    let radioErrors = 0;
    let metrologyFaults = 0;
    let worst: number | undefined;
    for (const r of reports) {
      sent += r.sent;
      deferred += r.deferred;
      radioErrors += r.radioErrors;
      metrologyFaults += r.metrologyFaults;
      if (r.worstDeviation !== undefined) worst = Math.max(worst ?? 0, r.worstDeviation);
    }
    let mismatches = 0;
    for (let k = 0; k < this.specs.length; k++) {
      const row = this.gateway.rows.get(this.specs[k].meterId);
      const a = this.lastSent[2 * k];
      if (row?.reading && !Number.isNaN(a) && (row.reading.importWh !== a || row.reading.exportWh !== this.lastSent[2 * k + 1])) mismatches++;
    }
    const g = this.gateway.stats;
    const simulatedMs = this.wallMs - this.startWallMs;
    const meterDays = (this.made * simulatedMs) / 86_400_000;
    return {
      meters: this.specs.length,
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
      setUpMeters,
      worstDeviation: worst,
      gatewayMismatches: mismatches,
      registerDrops: g.registerDrops,
      unflaggedDrops: g.unflaggedDrops,
      resumed: this.resumed,
      startWallMs: this.startWallMs,
      endWallMs: this.wallMs,
      meterDaysPerCpuMinute: cpuMinutes > 0 ? meterDays / cpuMinutes : 0,
      setUpCpuMs: setUpCpuMinutes * 60_000,
      meterDaysPerCpuMinuteAfterSetUp: meterDays > 0 && cpuMinutes > setUpCpuMinutes ? meterDays / (cpuMinutes - setUpCpuMinutes) : undefined,
      workers: this.workers,
      peakResidentBytes: process.resourceUsage().maxRSS * 1024,
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
