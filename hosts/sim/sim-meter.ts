/**
 * One complete simulated meter: the portable meter application (modules/app) on simulated ports — a
 * register-level metrology chip (ADE7953 or ATM90E32) measuring a load model, NOR flash for the
 * energy and the calibration log, a key store, a simulated clock, a pulse LED pin, the calibration
 * switch, an in-memory service line and a radio (a direct sink of PHY streams, or the CC1101 driver
 * over the register-level CC1101 simulator); with `sml`, the SML interfaces too: the optical push
 * into a given sink, the light sensor a simulated customer flashes the PIN at (light-sensor.ts) and
 * an in-memory RS-485 line whose other end is the gateway's (`lmnGateway`). Time moves only through
 * `advance`/`advanceTo`, which steps the load, the chip and the clock together and ticks the
 * application whenever it has work (a sample, a telegram, a pulse edge, an SML push, a PIN flash,
 * service or LMN bytes) — a simulated day runs in milliseconds.
 *
 * Keys derive from the seed unless given, so a meter is reproducible; `restart()` is a power cycle
 * (the flash survives, RAM and the monotonic clock do not; the wall clock continues).
 */
import { toHex } from '../../modules/core/bytes.js';
import { MeterApp, type MeterPorts, type MeterAppOptions, type SentTelegram } from '../../modules/app/meter-app.js';
import type { DigitalInput, DigitalOutput, Level, SerialPort } from '../../modules/ports/bus.js';
import type { KeyStore } from '../../modules/ports/key-store.js';
import type { Clock } from '../../modules/ports/clock.js';
import type { Radio, WmbusMode } from '../../modules/ports/radio.js';
import { Cc1101 } from '../../modules/radio/cc1101.js';
import type { FrameFormat } from '../../modules/wmbus/frame.js';
import { phyEncode } from '../../modules/wmbus/phy.js';
import { Cc1101Sim } from './cc1101-sim.js';
import { SimClock, defaultHardwareErrors, perfectHardware, type BusFault, type HardwareErrors } from './chips/front-end.js';
import { SimAde7953 } from './chips/sim-ade7953.js';
import { SimAtm90e32 } from './chips/sim-atm90e32.js';
import { LoadModel, type PhaseLoad } from './physics/load-model.js';
import { nextSlotStart, setProfileLoad, type LoadProfileName } from './physics/load-profile.js';
import { memorySerialPair, type MemorySerialPort } from './service-pipe.js';
import { SimFlash } from './sim-flash.js';
import { SimKeyStore, type SimKeys, type SimKeysFile } from './sim-key-store.js';
import { SimLightSensor } from './light-sensor.js';
import type { AesKey, Crypto } from '../../modules/ports/crypto.js';
import { nobleCrypto } from './noble-crypto.js';

export type ChipName = 'ade7953' | 'atm90e32';

/** One telegram as it went on the air: the PHY chip stream and when (meter wall clock). */
export interface AirFrame {
  meterId: string;
  stream: Uint8Array;
  mode: WmbusMode;
  /** Wall-clock ms at the start of the transmission. */
  wallMs: number;
  airtimeMs: number;
  /** What the meter put in it (for tests and the live table: the truth to compare the gateway with). */
  sent: SentTelegram;
}

/** A simulated meter's rating: a direct-connected 10(60) A meter (as the bench's class 1 has it:
 *  tools/calibration-bench/accuracy-class.ts) at 230 V, 13.8 kW a phase. The load profiles peak at
 *  about 4 kW a phase. At this rating a sample period up to 73 s (ADE7953) or 85 s (ATM90E32 at
 *  1000 imp/kWh) lets no energy register wrap unseen (modules/app maxSamplePeriodMs). */
export const SIM_RATED_POWER_W = 230 * 60;

export interface SimMeterOptions {
  chip?: ChipName;
  /** 8 decimal digits (default from the seed). */
  meterId?: string;
  seed?: number;
  /** Front-end errors of the board: 'perfect' (default), 'default' (an uncalibrated board misses class 1), or explicit. */
  hardware?: 'perfect' | 'default' | HardwareErrors;
  /** Keys (default: derived from the seed). */
  keys?: SimKeysFile;
  /** The meter's crypto port, its application's and its key store's (default: the desktop's, on
   *  @noble; a fleet's meters sign on OpenSSL: openssl-p256.ts). */
  crypto?: Crypto;
  /** OMS security mode (default 7). */
  security?: 0 | 5 | 7;
  radioMode?: WmbusMode;
  frameFormat?: FrameFormat;
  /** 'sink' (default): frames PHY-encoded straight onto the air; 'cc1101': through the CC1101 driver and simulator. */
  radio?: 'sink' | 'cc1101';
  intervalMs?: number;
  jitter?: number;
  samplePeriodMs?: number;
  quantumWh?: number;
  meterConstant?: number;
  dutyCycle?: number;
  /** Load: a profile name (default 'household'), or 'manual' (set it with `setLoad`). */
  load?: LoadProfileName | 'manual';
  /** Initial load for 'manual' (default 230 V, 0 A). */
  initialLoad?: PhaseLoad;
  /** Wall-clock time at boot (default 2026-01-01T00:00Z); `clockValid: false` boots at 1970 (unset clock). */
  wallStartMs?: number;
  clockValid?: boolean;
  /** Flash (default: blank 16 × 4 KiB each), e.g. restored from a saved image or file backed. */
  energyFlash?: SimFlash;
  calibrationFlash?: SimFlash;
  /** Seal at first boot, as a factory would (default true). */
  factorySeal?: boolean;
  /** Step the simulation every tick while pulses are due, so the pin shows every pulse (default true). */
  exactPulses?: boolean;
  /** The meter's service port (default: an in-memory line whose other end is `bench`), e.g. a
   *  TcpSerialListener from service-transport.ts. */
  service?: SerialPort;
  /** The time its frame timeouts run on (default the meter's clock; MeterPorts.serviceClock). */
  serviceClock?: Pick<Clock, 'ticks'>;
  /** Receives every telegram put on the air. */
  onAir?: (frame: AirFrame) => void;
  /** Called after the service installed a new meter key (e.g. to save the key file). */
  onKeyInstalled?: (keys: SimKeysFile) => void;
  /** The SML interfaces (default none: a fleet's meters have none, only its meter 0 may). */
  sml?: SimSmlOptions;
  /** Extra application options. */
  app?: Partial<MeterAppOptions>;
}

/** A simulated meter's SML interfaces (MeterPorts optical, opticalSensor, lmn). */
export interface SimSmlOptions {
  /** Receives the optical push stream, raw bytes as an IR head reads them (e.g. a file). */
  optical?: SerialPort;
  /** The wired LMN: an in-memory RS-485 line, the gateway's end is `SimMeter.lmnGateway`. */
  lmn?: boolean;
  /** The meter's customer PIN (MeterAppOptions.customerPin; the light sensor exists with `optical`). */
  pin?: string;
  /** PIN entries a simulated customer flashes at the sensor: how long after this meter is made, and
   *  which digits (light-sensor.ts; more with `light.flashPin` later). */
  flashes?: { afterMs: number; digits: string }[];
}

/** The meter's receive buffer on the LMN line (a UART's). */
export const LMN_RX_BYTES = 1024;

/** A digital pin the simulation watches: counts rising edges. */
export class SimPin implements DigitalOutput, DigitalInput {
  level: Level = 0;
  rising = 0;
  write(value: Level): void {
    if (value === 1 && this.level === 0) this.rising++;
    this.level = value;
  }
  read(): Level {
    return this.level;
  }
}

/** The meter's key store with a replaceable meter key (install-meter-key over the service). */
export class SimMeterKeys implements KeyStore {
  private readonly store: SimKeyStore;
  /** From a key file (hex), or from the keys themselves (a meter's keys derived from its seed: no
   *  hex text made and parsed back per meter), held in `crypto` (default: @noble's port). */
  constructor(keys: SimKeysFile | SimKeys, crypto?: Crypto) {
    this.store = typeof keys.meterKey === 'string' ? SimKeyStore.fromFile(keys as SimKeysFile, crypto) : new SimKeyStore(keys as SimKeys, crypto);
  }
  meterKey(): AesKey {
    return this.store.meterKey();
  }
  benchKey(): AesKey {
    return this.store.benchKey();
  }
  devicePublicKey(): Uint8Array {
    return this.store.devicePublicKey();
  }
  signDigest(digest: Uint8Array): Uint8Array {
    return this.store.signDigest(digest);
  }
  install(key: Uint8Array): void {
    this.store.installMeterKey(key);
  }
  /** SimKeyStore.releaseHandles (no caller holds a handle between ticks). */
  releaseHandles(): void {
    this.store.releaseHandles();
  }
  /** A copy of the raw meter key (what a simulated gateway is given). */
  rawMeterKey(): Uint8Array {
    return this.store.rawMeterKey();
  }
  toFile(): SimKeysFile {
    return this.store.toFile();
  }
}

/** The first `n` bytes of SHA-256("xsmeter-sim " + label ‖ seed as a big-endian u32). */
function derived(label: string, seed: number, n: number): Uint8Array {
  const text = `xsmeter-sim ${label}`;
  const m = new Uint8Array(text.length + 4);
  for (let i = 0; i < text.length; i++) m[i] = text.charCodeAt(i) & 0x7f; // ASCII labels (XS has no TextEncoder)
  new DataView(m.buffer).setUint32(text.length, seed >>> 0);
  const digest = new Uint8Array(32);
  nobleCrypto.sha256(m, digest);
  return n === 32 ? digest : digest.slice(0, n);
}

/** The keys a seed gives (meter, bench and signing key), as bytes. */
export function keyBytesForSeed(seed: number): SimKeys {
  return { meterKey: derived('meter key', seed, 16), benchKey: derived('bench key', seed, 16), signingKey: derived('signing key', seed, 32) };
}

/** The keys a seed gives (meter, bench and signing key). */
export function keysForSeed(seed: number): SimKeysFile {
  const k = keyBytesForSeed(seed);
  return { meterKey: toHex(k.meterKey), benchKey: toHex(k.benchKey), signingKey: toHex(k.signingKey) };
}

/** The meter id a seed gives: 8 digits, never starting with 0. */
export function meterIdForSeed(seed: number): string {
  const b = derived('meter id', seed, 4);
  const n = new DataView(b.buffer, b.byteOffset).getUint32(0) % 90_000_000;
  return String(10_000_000 + n);
}

/** The on-air streams of every meter of this thread are cut from shared 64 KB buffers, each part
 *  handed out once (a stream is kept as long as its telegram event, so a buffer goes when its
 *  streams do): a new ~150-byte array per telegram is allocated outside V8's heap, ~0.6 µs each. */
const STREAM_ARENA = 64 * 1024;
let streamArena = new Uint8Array(0);
let streamArenaAt = 0;
function streamPart(length: number): Uint8Array {
  if (streamArenaAt + length > streamArena.length) {
    streamArena = new Uint8Array(Math.max(STREAM_ARENA, length));
    streamArenaAt = 0;
  }
  const part = streamArena.subarray(streamArenaAt, streamArenaAt + length);
  streamArenaAt += length;
  return part;
}

/** The meter's radio: frames go on the air as PHY streams, encoded here or through the CC1101 driver
 *  and simulator; the last one waits in `pending` for the telegram callback. */
class AirRadio implements Radio {
  pending: Uint8Array | undefined;
  constructor(
    private readonly format: FrameFormat,
    private readonly cc1101: { sim: Cc1101Sim; driver: Cc1101 } | undefined,
  ) {}

  transmit(frame: Uint8Array, mode: WmbusMode): void {
    const cc = this.cc1101;
    if (!cc) {
      this.pending = phyEncode(frame, mode, this.format, streamPart);
      return;
    }
    const before = cc.sim.transmissions.length;
    cc.driver.transmit(frame, mode);
    for (const c of cc.sim.transmissions.slice(before)) this.pending = c.bytes;
  }
}

/** Perfect hardware by channel count, frozen and shared by every meter (a chip only reads its errors;
 *  other errors are a new object), not a set of arrays per meter. */
const PERFECT_HARDWARE: HardwareErrors[] = [];
function sharedPerfectHardware(channels: number): HardwareErrors {
  let e = PERFECT_HARDWARE[channels];
  if (!e) {
    e = perfectHardware(channels);
    for (const a of [e.currentGainError, e.phaseErrorDeg, e.powerOffsetW, e.reactiveOffsetVar]) Object.freeze(a);
    PERFECT_HARDWARE[channels] = e = Object.freeze(e);
  }
  return e;
}

export const DEFAULT_WALL_START = Date.UTC(2026, 0, 1);
/** The in-memory service line's receive buffers: the meter's (requests) and the bench's (replies). */
export const SERVICE_RX_BYTES = 4096;
export const SERVICE_TX_BYTES = 16384;

function serviceLine(): { meter: MemorySerialPort; bench: MemorySerialPort } {
  return memorySerialPair({ meter: { capacity: SERVICE_RX_BYTES }, bench: { capacity: SERVICE_TX_BYTES } });
}

export class SimMeter {
  readonly options: SimMeterOptions;
  readonly chipName: ChipName;
  readonly meterId: string;
  readonly seed: number;
  readonly load: LoadModel;
  readonly chip: SimAde7953 | SimAtm90e32;
  readonly energyFlash: SimFlash;
  readonly calibrationFlash: SimFlash;
  readonly keys: SimMeterKeys;
  readonly pulseLed = new SimPin();
  /** The calibration switch: set `calibrationSwitch.level = 1` to press it. */
  readonly calibrationSwitch = new SimPin();
  /** The bench's end of the in-memory service line (with an external `service` port: a line of its
   *  own, made on first use, that the meter does not read). */
  private benchEnd: MemorySerialPort | undefined;
  clock!: SimClock;
  app!: MeterApp;
  /** Every telegram on the air since this object was made (also across restarts). */
  readonly air: AirFrame[] = [];
  /** Keep `air` (default true; a long multi-meter run hands frames to `onAir` instead). */
  keepAir = true;
  readonly profile: LoadProfileName | 'manual';
  private radioSim: Cc1101Sim | undefined;
  private nextLoadChange = Infinity;
  private boots = 0;
  /** The simulated ports the application was last started on. */
  ports!: MeterPorts;
  /** The optical interface's light sensor (with `sml.optical`): `light.flashPin('1234', wallMs)`. */
  readonly light: SimLightSensor | undefined;
  /** The gateway's end of the RS-485 LMN line (with `sml.lmn`; a new line after each restart). */
  lmnGateway: MemorySerialPort | undefined;
  private lmnMeter: MemorySerialPort | undefined;

  constructor(options: SimMeterOptions = {}) {
    this.options = options;
    this.seed = options.seed ?? 1;
    this.chipName = options.chip ?? 'ade7953';
    this.meterId = options.meterId ?? meterIdForSeed(this.seed);
    const phases = this.chipName === 'ade7953' ? 1 : 3;
    this.load = new LoadModel(phases, options.initialLoad ?? { voltage: 230, current: 0, phaseDeg: 0 });
    const hw = options.hardware ?? 'perfect';
    const channels = this.chipName === 'ade7953' ? 2 : 3;
    const errors = hw === 'perfect' ? sharedPerfectHardware(channels) : hw === 'default' ? defaultHardwareErrors(channels) : hw;
    this.chip = this.chipName === 'ade7953' ? new SimAde7953({ load: this.load, errors, seed: this.seed }) : new SimAtm90e32({ load: this.load, errors, seed: this.seed });
    this.energyFlash = options.energyFlash ?? new SimFlash({ sectorSize: 4096, sectorCount: 16 });
    this.calibrationFlash = options.calibrationFlash ?? new SimFlash({ sectorSize: 4096, sectorCount: 16 });
    this.keys = new SimMeterKeys(options.keys ?? keyBytesForSeed(this.seed), options.crypto);
    this.profile = options.load ?? 'household';
    if (options.sml?.optical) {
      this.light = new SimLightSensor(() => this.clock.now());
    }
    this.boot(options.clockValid === false ? 0 : (options.wallStartMs ?? DEFAULT_WALL_START));
    for (const f of options.sml?.flashes ?? []) this.light?.flashPin(f.digits, this.clock.now() + f.afterMs);
    if ((options.factorySeal ?? true) && this.app.part.calibration.log.counter === 0 && !this.app.part.calibration.sealed) {
      this.app.part.calibration.sealNow('factory');
    }
  }

  private boot(wallMs: number): void {
    this.boots++;
    this.clock = new SimClock(wallMs);
    // A driver's blocking delay (ATM90E32 soft reset): load, chip and clock move on, the firmware does not tick.
    this.clock.onDelay = (ms) => {
      this.load.advance(ms);
      this.chip.advance(ms);
      this.clock.advance(ms);
    };
    // The meter's line buffers are bounded, as a UART's: a bench that floods it or never reads
    // its replies costs bounded memory (the meter holds a reply back until there is room).
    // Only when no service port is given (a fleet's meters share an idle one).
    let service = this.options.service;
    this.benchEnd = undefined;
    if (!service) {
      const pair = serviceLine();
      this.benchEnd = pair.bench;
      service = pair.meter;
    }
    let cc1101: { sim: Cc1101Sim; driver: Cc1101 } | undefined;
    if (this.options.radio === 'cc1101') {
      const sim = new Cc1101Sim();
      this.radioSim = sim;
      cc1101 = { sim, driver: new Cc1101({ spi: sim, gdo2: sim.gdo2 }) };
    }
    const radio = (this.radio = new AirRadio(this.options.frameFormat ?? 'A', cc1101));
    const o = this.options;
    if (o.sml?.lmn) {
      const lmn = memorySerialPair({ meter: { capacity: LMN_RX_BYTES } });
      this.lmnGateway = lmn.bench;
      this.lmnMeter = lmn.meter;
    }
    this.app = new MeterApp({
      chip: this.chipName,
      meterId: this.meterId,
      security: o.security,
      radioMode: o.radioMode,
      frameFormat: o.frameFormat,
      intervalMs: o.intervalMs,
      jitter: o.jitter,
      samplePeriodMs: o.samplePeriodMs,
      quantumWh: o.quantumWh,
      meterConstant: o.meterConstant,
      ratedPowerW: SIM_RATED_POWER_W,
      dutyCycle: o.dutyCycle,
      // Bound methods, not arrow functions: nothing per meter but the function objects.
      installMeterKey: this.installMeterKey.bind(this),
      customerPin: o.sml?.pin,
      ...o.app,
      onTelegram: this.onTelegram.bind(this),
    });
    this.ports = {
      metrologySpi: this.chip.spi,
      pulseLed: this.pulseLed,
      calibrationSwitch: this.calibrationSwitch,
      service,
      serviceClock: o.serviceClock,
      energyFlash: this.energyFlash,
      calibrationFlash: this.calibrationFlash,
      keys: this.keys,
      crypto: this.options.crypto ?? nobleCrypto,
      clock: this.clock,
      radio,
      optical: o.sml?.optical,
      opticalSensor: this.light,
      lmn: this.lmnMeter,
    };
    this.app.start(this.ports);
    this.nextLoadChange = -Infinity;
    this.applyProfile();
  }

  private radio!: AirRadio;

  /** The bench's end of the service line (the meter's end is wired to the application). */
  get bench(): MemorySerialPort {
    return (this.benchEnd ??= serviceLine().bench);
  }

  private installMeterKey(key: Uint8Array): void {
    this.keys.install(key);
    this.options.onKeyInstalled?.(this.keys.toFile());
  }

  private onTelegram(t: SentTelegram): void {
    const stream = this.radio.pending;
    this.radio.pending = undefined;
    if (!stream) return; // the radio failed: nothing went on the air
    const frame: AirFrame = { meterId: this.meterId, stream, mode: t.mode, wallMs: this.clock.now(), airtimeMs: t.airtimeMs, sent: t };
    if (this.keepAir) this.air.push(frame);
    this.options.onAir?.(frame);
  }

  /** Times the application was started (1 + restarts). */
  get bootCount(): number {
    return this.boots;
  }

  /** The CC1101 simulator when `radio: 'cc1101'`. */
  get cc1101(): Cc1101Sim | undefined {
    return this.radioSim;
  }

  /** Wall-clock ms of the simulated meter (the host clock, before any set-time correction). */
  get wallMs(): number {
    return this.clock.now();
  }

  private applyProfile(): void {
    if (this.profile === 'manual') return;
    const wall = this.clock.now();
    if (wall < this.nextLoadChange) return;
    const phases = this.load.phases;
    for (let p = 0; p < phases.length; p++) setProfileLoad(phases[p], this.profile, this.seed, wall, p);
    this.nextLoadChange = nextSlotStart(wall);
  }

  /** Sets the load of one phase or all (with `load: 'manual'`; a profile overrides it at its next slot). */
  setLoad(load: Partial<PhaseLoad>, phase?: number): void {
    if (phase === undefined) this.load.setAll(load);
    else this.load.set(phase, load);
  }

  /** Metrology bus fault of the chip (as the driver sees MISO): 'none', 'all-ones', 'all-zeros', 'garble'. */
  setBusFault(fault: BusFault): void {
    this.chip.busFault = fault;
  }

  /** Ticks time of the application's next work. */
  nextEvent(): number {
    return this.app.nextWake();
  }

  /** Wall-clock time of the next thing that happens on its own (application work, a load change, a PIN flash). */
  nextEventWall(): number {
    const now = this.clock.ticks();
    let dt = this.app.nextWake() - now;
    if (this.profile !== 'manual') dt = Math.min(dt, this.nextLoadChange - this.clock.now());
    if (this.light) dt = Math.min(dt, this.light.nextFlash() - this.clock.now());
    return this.clock.now() + Math.max(1, dt);
  }

  /** Advances simulated time by `ms`. */
  advance(ms: number): void {
    this.advanceTo(this.clock.ticks() + ms);
  }

  /** Advances to monotonic time `ticks`, ticking the application whenever it has work. */
  advanceTo(ticks: number): void {
    const exact = this.options.exactPulses ?? true;
    const tickMs = this.app.tickMs;
    for (;;) {
      const now = this.clock.ticks();
      if (now >= ticks) break;
      let next = Math.min(ticks, this.app.nextWake());
      if (this.profile !== 'manual') next = Math.min(next, now + Math.max(1, this.nextLoadChange - this.clock.now()));
      if (this.light) next = Math.min(next, now + Math.max(1, this.light.nextFlash() - this.clock.now()));
      if ((exact && this.app.pulsesPending) || (this.benchEnd !== undefined && this.benchEnd.pending > 0) || this.app.part.server.busy || (this.lmnMeter !== undefined && (this.lmnMeter.pending > 0 || this.app.part.lmn!.busy))) next = Math.min(next, now + tickMs);
      if (next <= now) next = now + 1;
      const dt = next - now;
      this.load.advance(dt);
      this.chip.advance(dt);
      this.clock.advance(dt);
      this.applyProfile();
      this.app.tick();
    }
  }

  /** Advances to wall-clock time `wallMs` (survives restarts, unlike ticks). */
  advanceToWall(wallMs: number): void {
    this.advanceTo(this.clock.ticks() + (wallMs - this.clock.now()));
  }

  /** Runs the application once now (e.g. after the bench wrote to the service line). */
  tick(): void {
    this.app.tick();
  }

  /** True energy of the load model since this meter object was made: import and export, Wh. */
  trueEnergy(): { importWh: number; exportWh: number } {
    return { importWh: this.load.totalImportWh(), exportWh: this.load.totalExportWh() };
  }

  /** The meter's registers as the application holds them (Wh, OBIS). */
  registers(): Record<string, number> {
    return this.app.part.energy.metering.obis();
  }

  /**
   * A power cycle: the application stops without saving (as a power cut would: what is not on flash
   * is lost) or, with `graceful`, persists first; then it boots again on the same flash and keys.
   * The wall clock continues; the monotonic clock restarts at 0.
   */
  restart(options: { graceful?: boolean } = {}): void {
    if (options.graceful) this.app.stop();
    this.boot(this.clock.now());
  }
}
