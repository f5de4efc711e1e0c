/**
 * The meter application: what a host starts with its ports (hosts/esp32 `startHost(app)`, the
 * desktop simulator hosts/sim/sim-meter.ts). It satisfies the host's `MeterApplication` contract
 * (`start(ports)`, `tick()`, `tickMs`, `stop()`; hosts/esp32/app.ts) and, every tick:
 *  - drives the pulse output (or a service pulse test);
 *  - samples the metrology driver every `samplePeriodMs`, accumulates and persists the energy
 *    (modules/metrology Metering with its EnergyJournal: at most one quantum lost on a power cut);
 *  - sends the periodic telegram when due (telegram-schedule.ts, with jitter) if the radio's
 *    duty-cycle budget allows (radio-budget.ts), else defers it and counts it; before each telegram
 *    the energy is persisted (so no restart shows less than was sent) and the message counter is
 *    reserved on flash (never reused), in the same write as the last hour's airtime including this
 *    telegram's, so a restart keeps the budget (times as wall clock when valid; else the stored
 *    airtime counts as sent at boot, a full hour from then);
 *  - answers the service interface (modules/service ServiceServer over service-target.ts).
 * Every telegram carries the status (meter-status.ts): tamper, metrology fault, log full, clock invalid.
 * An energy journal holding records of another register layout (tariff or phase count changed) is
 * refused, never written: the meter then stops metering, shows a metrology fault in every telegram
 * with 1.8.0 / 2.8.0 frozen at the stored totals, and service read-registers refuses with the reason.
 *
 * Energy flash layout (sectors of `energyFlash`, n ≥ 6): [0, n−4) energy journal, [n−4, n−2) the
 * counter record (persistent-counters.ts), [n−2, n) the active calibration (calibration-constants.ts).
 * The calibration log (modules/sealing) has the whole `calibrationFlash`.
 */
import { MeterError } from '../core/errors.js';
import type { DigitalInput, DigitalOutput, SerialPort, SpiPort } from '../ports/bus.js';
import type { Clock } from '../ports/clock.js';
import type { Crypto } from '../ports/crypto.js';
import type { Flash } from '../ports/flash.js';
import type { KeyStore } from '../ports/key-store.js';
import type { Radio, WmbusMode } from '../ports/radio.js';
import { Ade7953 } from '../metrology/ade7953.js';
import { Atm90e32 } from '../metrology/atm90e32.js';
import type { Calibration, ChipKind } from '../metrology/calibration.js';
import { EnergyJournal } from '../metrology/energy-journal.js';
import { EnergyConfigError } from '../metrology/errors.js';
import { Metering } from '../metrology/metering.js';
import { PulseOutput } from '../metrology/pulse-output.js';
import type { MetrologyDriver, Sample } from '../metrology/readings.js';
import { TariffSchedule } from '../metrology/tariff.js';
import { CalibrationLog } from '../sealing/calibration-log.js';
import { LogFullError } from '../sealing/errors.js';
import { LOG_RECREATED_BY, SealGuard, type SealStatus } from '../sealing/seal.js';
import { ServiceServer } from '../service/server.js';
import { TelegramCounters } from '../wmbus-tx/counters.js';
import type { FrameFormat } from '../wmbus/frame.js';
import { airtimeMs } from '../wmbus/phy.js';
import type { Register } from '../wmbus-tx/registers.js';
import { buildTelegram, type TelegramSecurity } from '../wmbus-tx/telegram.js';
import { MetrologyConstants } from './calibration-constants.js';
import { FlashRecord } from './flash-record.js';
import { CLOCK_VALID_AFTER_MS, encodeErrorFlags, encodeStatusByte, noStatus, type MeterStatus } from './meter-status.js';
import { COUNTER_RECORD_SIZE, COUNTER_RECORD_V1_SIZE, PersistentCounters, type AirtimeHistory } from './persistent-counters.js';
import { RadioBudget } from './radio-budget.js';
import { MeterServiceTarget } from './service-target.js';
import { TelegramSchedule, XorShift32, type RandomSource } from './telegram-schedule.js';

/** The ports a host hands the application (hosts/esp32/app.ts HostPorts is this type). */
export interface MeterPorts {
  /** SPI device of the metrology IC (its own chip select). */
  metrologySpi: SpiPort;
  /** Calibration pulse LED output (1 = lit). */
  pulseLed: DigitalOutput;
  /** Calibration/seal switch (1 = closed, polarity already folded in). */
  calibrationSwitch: DigitalInput;
  /** Service interface byte stream. */
  service: SerialPort;
  /** Flash partition for the energy registers. */
  energyFlash: Flash;
  /** Flash partition for the calibration log. */
  calibrationFlash: Flash;
  keys: KeyStore;
  /** AES, CMAC, SHA-256, ECDSA P-256 (the host's: noble on the desktop, native on the device). */
  crypto: Crypto;
  clock: Clock;
  /** The wireless M-Bus transmitter (modes T1 and C1). */
  radio: Radio;
}

export interface MeterAppOptions {
  chip: ChipKind;
  /** Meter serial number: 8 decimal digits (the wM-Bus A field). */
  meterId: string;
  /** Manufacturer code, 3 letters (default 'XSM'). */
  manufacturer?: string;
  /** DLL version byte (default 1). */
  version?: number;
  /** OMS security mode of the telegrams (default 7; 0 only for simulations). */
  security?: 0 | 5 | 7;
  radioMode?: WmbusMode;
  frameFormat?: FrameFormat;
  /** Telegram period (default 15 min) and its jitter as a fraction of it (default 0.2). */
  intervalMs?: number;
  jitter?: number;
  /** Metrology sample period (default 1000 ms). */
  samplePeriodMs?: number;
  /** Host tick period (default half the pulse width: 15 ms). The pulse pin changes only on a tick, so
   *  a tick coarser than the pulse width would cap the test output below the meter's maximum power
   *  (100 ms: 5 pulses/s, 18 kW at 1000 imp/kWh) and queue the rest into later loads. */
  tickMs?: number;
  /** Energy persistence quantum, Wh (default 1). */
  quantumWh?: number;
  /** Pulse output constant, imp/kWh (default 1000) and pulse width (default 30 ms). */
  meterConstant?: number;
  pulseWidthMs?: number;
  tariffs?: TariffSchedule;
  /** Duty-cycle limit (default 0.001: 868.7–869.2 MHz). */
  dutyCycle?: number;
  /** Randomness for the telegram jitter (default: xorshift seeded from the meter id). */
  random?: RandomSource;
  /** Stores a new OMS meter key where the KeyStore will return it (the host's secure storage);
   *  without it install-meter-key is refused. */
  installMeterKey?: (key: Uint8Array) => void;
  /** Called with every telegram handed to the radio. */
  onTelegram?: (t: SentTelegram) => void;
  model?: string;
  firmware?: string;
}

export interface SentTelegram {
  /** The link-layer frame with CRCs, as given to the radio. */
  frame: Uint8Array;
  mode: WmbusMode;
  format: FrameFormat;
  messageCounter: number;
  accessNumber: number;
  /** Clock.ticks() when sent. */
  ticks: number;
  airtimeMs: number;
  /** What it carries. */
  registers: Register[];
  status: MeterStatus;
}

export interface MeterStats {
  samples: number;
  metrologyFaults: number;
  telegrams: number;
  /** Telegram slots that had to wait for the duty-cycle budget. */
  deferred: number;
  radioErrors: number;
  airtimeMs: number;
  lastMessageCounter: number;
}

export const FIRMWARE_VERSION = '0.1.0';
const DEFAULT_INTERVAL_MS = 15 * 60_000;

function seedOf(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

function two(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

/** 'YYYY-MM-DDTHH:MM' in UTC, as the type F record takes it. */
export function minuteText(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())}T${two(d.getUTCHours())}:${two(d.getUTCMinutes())}`;
}

export class MeterApp {
  readonly tickMs: number;
  readonly options: Readonly<MeterAppOptions>;
  readonly stats: MeterStats = { samples: 0, metrologyFaults: 0, telegrams: 0, deferred: 0, radioErrors: 0, airtimeMs: 0, lastMessageCounter: 0 };
  /** The identity used by the calibration log and the service authentication, e.g. 'XSM12345678'. */
  readonly deviceId: string;
  readonly radioMode: WmbusMode;
  readonly frameFormat: FrameFormat;
  readonly samplePeriodMs: number;
  readonly budget: RadioBudget;
  // Set by start():
  ports!: MeterPorts;
  metering!: Metering;
  driver!: MetrologyDriver;
  journal!: EnergyJournal;
  constants!: MetrologyConstants;
  log!: CalibrationLog;
  seal!: SealGuard;
  counters!: PersistentCounters;
  server!: ServiceServer;
  schedule!: TelegramSchedule;
  sealStatus!: SealStatus;
  /** Set when the journal refused its records' layout: no metering, no saving, a metrology fault. */
  energyRefused: EnergyConfigError | undefined;
  private telegramCounters!: TelegramCounters;
  private pulse!: PulseOutput;
  private started = false;
  private nextSample = 0;
  private telegramDue = 0;
  private deferredSinceSent = false;
  private faultSinceSent = false;
  private needsConfigure = false;
  private logFullSeen = false;
  private clockOffsetMs = 0;
  private airtimeEstimate = 0;
  /** The telegram being reserved: counted in the stored airtime before it goes on the air. */
  private pendingAirtime: { at: number; airtimeMs: number } | undefined;
  private pulseTest: { on: boolean; left: number; high: boolean; edgeAt: number } = { on: false, left: 0, high: false, edgeAt: -Infinity };
  private lastTelegram: SentTelegram | undefined;

  constructor(options: MeterAppOptions) {
    if (!/^\d{8}$/.test(options.meterId)) throw new MeterError('meter-config', `meter id "${options.meterId}" is not 8 decimal digits`, { meterId: options.meterId });
    if (options.chip !== 'ade7953' && options.chip !== 'atm90e32') throw new MeterError('meter-config', `unknown chip "${String(options.chip)}"`, { chip: String(options.chip) });
    this.options = { ...options };
    const pulseWidthMs = options.pulseWidthMs ?? 30;
    this.tickMs = options.tickMs ?? Math.min(100, pulseWidthMs / 2);
    this.samplePeriodMs = options.samplePeriodMs ?? 1000;
    if (!(this.tickMs <= pulseWidthMs)) {
      throw new MeterError('meter-config', `tick ${this.tickMs} ms is coarser than the pulse width ${pulseWidthMs} ms: the test output could not keep up with the energy`, { tickMs: this.tickMs, pulseWidthMs });
    }
    if (!(this.samplePeriodMs >= this.tickMs) || !(this.tickMs > 0)) {
      throw new MeterError('meter-config', `sample period ${this.samplePeriodMs} ms must be at least the tick ${this.tickMs} ms`, { samplePeriodMs: this.samplePeriodMs });
    }
    this.deviceId = `${options.manufacturer ?? 'XSM'}${options.meterId}`;
    this.radioMode = options.radioMode ?? 'T1';
    this.frameFormat = options.frameFormat ?? 'A';
    this.budget = new RadioBudget({ dutyCycle: options.dutyCycle });
  }

  get phases(): number {
    return this.options.chip === 'ade7953' ? 1 : 3;
  }

  /** Boot: open the stores, check the seal, restore the registers, configure the chip, start the schedule. */
  start(ports: MeterPorts): void {
    if (this.started) throw new MeterError('meter-state', 'the application is already started');
    this.ports = ports;
    const o = this.options;
    const ef = ports.energyFlash;
    const n = ef.sectorCount;
    if (n < 6) throw new MeterError('meter-config', `the energy flash needs at least 6 sectors, has ${n}`, { sectors: n });
    this.counters = new PersistentCounters(new FlashRecord({ flash: ef, firstSector: n - 4, sectorCount: 2, maxPayload: COUNTER_RECORD_SIZE, legacyMaxPayload: COUNTER_RECORD_V1_SIZE }));
    this.restoreAirtime(this.counters.airtime, ports.clock.ticks());
    this.counters.airtimeSource = () => this.airtimeHistory();
    this.constants = new MetrologyConstants(new FlashRecord({ flash: ef, firstSector: n - 2, sectorCount: 2, maxPayload: 128 }), o.chip, this.phases);
    // A blank log is a factory-new meter only if the energy flash is blank too; otherwise it was erased.
    const initBy = flashUsed(ef) ? LOG_RECREATED_BY : 'factory';
    this.log = CalibrationLog.open({ flash: ports.calibrationFlash, keys: ports.keys, crypto: ports.crypto, clock: { ticks: () => ports.clock.ticks(), now: () => this.wallTime() }, deviceId: this.deviceId, initBy });
    this.seal = new SealGuard({ log: this.log, constants: this.constants, calibrationSwitch: ports.calibrationSwitch, keys: ports.keys, crypto: ports.crypto });
    this.sealStatus = this.guardLog(() => this.seal.startupCheck()) ?? this.seal.status();

    const calibration = this.constants.calibration;
    this.driver =
      o.chip === 'ade7953'
        ? new Ade7953({ spi: ports.metrologySpi, clock: ports.clock, calibration })
        : new Atm90e32({ spi: ports.metrologySpi, clock: ports.clock, calibration, meterConstant: o.meterConstant ?? 1000 });
    this.constants.onApply = (c) => this.reconfigure(c);
    const tariffs = o.tariffs ?? new TariffSchedule();
    this.journal = new EnergyJournal({ flash: ef, registerCount: this.phases * tariffs.tariffs * 2, phases: this.phases, firstSector: 0, sectorCount: n - 4 });
    this.pulse = new PulseOutput({ pin: ports.pulseLed, meterConstant: o.meterConstant ?? 1000, widthMs: o.pulseWidthMs });
    // Tariffs switch on the wall clock as the bench set it (set-time), like the telegrams and the log.
    const wall = { ticks: () => ports.clock.ticks(), now: () => this.wallTime() };
    this.metering = new Metering({ driver: this.driver, clock: wall, tariffs, pulse: this.pulse, store: this.journal, quantumWh: o.quantumWh });
    try {
      this.metering.start();
    } catch (e) {
      if (!(e instanceof MeterError)) throw e;
      // Journal of another register layout: not restored, never saved over (no sampling either).
      if (e instanceof EnergyConfigError && e.code === 'layout-mismatch') this.energyRefused = e;
      // Else the registers are restored; the chip did not configure (bus fault): retried every sample.
      else this.needsConfigure = true;
      this.faultSinceSent = true;
      this.stats.metrologyFaults++;
    }

    this.telegramCounters = new TelegramCounters(this.counters);
    this.stats.lastMessageCounter = this.counters.load()?.messageCounter ?? 0;
    this.server = new ServiceServer({ port: ports.service, target: new MeterServiceTarget(this), keys: ports.keys, crypto: ports.crypto, counters: this.counters.service, clock: ports.clock });
    const now = ports.clock.ticks();
    this.nextSample = now + this.samplePeriodMs;
    this.schedule = new TelegramSchedule({ intervalMs: o.intervalMs ?? DEFAULT_INTERVAL_MS, jitter: o.jitter, random: o.random ?? new XorShift32(seedOf(this.deviceId)) });
    this.schedule.start(now);
    this.telegramDue = this.schedule.nextDue;
    this.airtimeEstimate = airtimeMs(this.buildFrame({ messageCounter: 1, accessNumber: 0 }).frame.length, this.radioMode, this.frameFormat);
    this.started = true;
  }

  /** The last hour's transmissions (and the one being reserved) as they are stored across a restart. */
  private airtimeHistory(): AirtimeHistory {
    const now = this.ports.clock.ticks();
    const list = this.budget.window(now);
    if (this.pendingAirtime) list.push({ startMs: this.pendingAirtime.at, airtimeMs: this.pendingAirtime.airtimeMs });
    const wall = this.clockValid;
    return { wall, baseMs: wall ? this.wallTime() : 0, entries: list.map((x) => ({ ageMs: now - x.startMs, airtimeMs: x.airtimeMs })) };
  }

  /** Puts the stored airtime back into the budget: by wall-clock age when both clocks are valid, else
   *  (ticks restart at boot, no valid time) as sent at boot, so it counts for a full hour from now. */
  private restoreAirtime(h: AirtimeHistory | undefined, now: number): void {
    if (!h) return;
    const byWall = h.wall && this.clockValid;
    const elapsed = byWall ? Math.max(0, this.wallTime() - h.baseMs) : 0;
    for (const e of h.entries) this.budget.restore(byWall ? now - elapsed - e.ageMs : now, e.airtimeMs, now);
  }

  /** Runs `f`; a LogFullError marks the log full and gives undefined. */
  guardLog<T>(f: () => T): T | undefined {
    try {
      return f();
    } catch (e) {
      if (e instanceof LogFullError) {
        this.logFullSeen = true;
        return undefined;
      }
      throw e;
    }
  }

  private reconfigure(c: Calibration): void {
    if (!this.driver) return; // start-up: the driver is built from the applied calibration
    try {
      this.driver.configure({ calibration: c });
      this.needsConfigure = false;
    } catch (e) {
      if (!(e instanceof MeterError)) throw e;
      this.needsConfigure = true;
      this.faultSinceSent = true;
      this.stats.metrologyFaults++;
    }
  }

  /** The wall clock: the host's, corrected by the last set-time. */
  wallTime(): number {
    return this.ports.clock.now() + this.clockOffsetMs;
  }

  setWallTime(ms: number): void {
    this.clockOffsetMs = ms - this.ports.clock.now();
  }

  get clockValid(): boolean {
    const t = this.wallTime();
    return Number.isFinite(t) && t >= CLOCK_VALID_AFTER_MS;
  }

  get logFull(): boolean {
    if (this.logFullSeen) return true;
    // Room for one more calibration change (two 128-byte values, texts, hashes, signature).
    return this.log.stats().payloadBytesFree < LOG_FULL_MARGIN;
  }

  markLogFull(): void {
    this.logFullSeen = true;
  }

  status(): MeterStatus {
    const s = noStatus();
    s.tamper = this.seal.status().tamper;
    s.metrologyFault = this.faultSinceSent || this.needsConfigure || this.energyRefused !== undefined;
    s.logFull = this.logFull;
    s.clockInvalid = !this.clockValid;
    s.deferred = this.deferredSinceSent;
    return s;
  }

  get lastSample(): Sample | undefined {
    return this.metering.lastSample;
  }

  get telegram(): SentTelegram | undefined {
    return this.lastTelegram;
  }

  /** Ticks time of the next work due (a sample or a telegram): a simulator may sleep until then. */
  nextWake(): number {
    return Math.min(this.nextSample, this.telegramDue);
  }

  /** Milliseconds until the next tick has work (hosts/esp32 `nextTickDelay`): `tickMs` while a pulse
   *  or a service request is in progress, else until the next sample or telegram. */
  nextTickDelay(): number {
    if (!this.started || this.pulsesPending > 0 || this.server.pending > 0) return this.tickMs;
    // A refused journal takes no samples: only the telegrams are due.
    const d = (this.energyRefused ? this.telegramDue : this.nextWake()) - this.ports.clock.ticks();
    return d >= 1 ? d : this.tickMs;
  }

  /** Pulses due on the pin but not yet shown (a simulator steps finely while this is above 0). */
  get pulsesPending(): number {
    return this.pulseTest.on ? 1 : this.pulse.pending + (this.pulse.emitted > this.pulse.completed ? 1 : 0);
  }

  get pulsesCompleted(): number {
    return this.pulse.completed;
  }

  tick(): void {
    if (!this.started) return;
    const now = this.ports.clock.ticks();
    if (this.pulseTest.on) this.tickPulseTest(now);
    else if (!this.energyRefused) this.metering.tick();
    if (now >= this.nextSample && !this.energyRefused) {
      this.sample();
      this.nextSample += this.samplePeriodMs;
      if (this.nextSample <= now) this.nextSample = now + this.samplePeriodMs;
    }
    if (now >= this.telegramDue) this.sendTelegram(now);
    this.server.poll();
  }

  private sample(): void {
    try {
      if (this.needsConfigure) {
        this.driver.configure({ calibration: this.constants.calibration });
        this.needsConfigure = false;
      }
      const before = this.metering.faults;
      this.metering.cycle();
      this.stats.samples++;
      if (this.metering.faults !== before) {
        this.faultSinceSent = true;
        this.stats.metrologyFaults++;
      }
    } catch (e) {
      if (!(e instanceof MeterError)) throw e;
      this.faultSinceSent = true;
      this.stats.metrologyFaults++;
      if (e.code === 'configure-verify' || e.code === 'chip-reset') this.needsConfigure = true;
    }
  }

  /** The registers the periodic telegram carries. */
  telegramRegisters(status: MeterStatus): Register[] {
    const refused = this.energyRefused?.details;
    // Refused journal: the totals its newest record holds (layout-independent sums), frozen.
    const obis = refused ? { '1.8.0': Number(refused.storedImportUwh) / 1e6, '2.8.0': Number(refused.storedExportUwh) / 1e6 } : this.metering.obis();
    const regs: Register[] = [
      { obis: '1.8.0', value: Math.floor(obis['1.8.0'] + 1e-9) },
      { obis: '2.8.0', value: Math.floor(obis['2.8.0'] + 1e-9) },
    ];
    const tariffs = refused ? 1 : this.metering.registers.tariffs;
    if (tariffs > 1) {
      for (let t = 1; t <= tariffs; t++) regs.push({ obis: `1.8.${t}`, value: Math.floor(obis[`1.8.${t}`] + 1e-9) });
      for (let t = 1; t <= tariffs; t++) regs.push({ obis: `2.8.${t}`, value: Math.floor(obis[`2.8.${t}`] + 1e-9) });
    }
    const s = this.metering.lastSample;
    regs.push({ obis: '16.7.0', value: s && !s.fault ? Math.round(s.totalActivePower) : 0 });
    if (!status.clockInvalid) regs.push({ obis: 'clock', value: minuteText(this.wallTime()) });
    regs.push({ obis: 'status', value: encodeErrorFlags(status) });
    return regs;
  }

  private security(): TelegramSecurity {
    const mode = this.options.security ?? 7;
    return mode === 0 ? { mode: 0 } : { mode, key: this.ports.keys.meterKey(), crypto: this.ports.crypto };
  }

  private buildFrame(counters: { messageCounter: number; accessNumber: number }): { frame: Uint8Array; registers: Register[]; status: MeterStatus } {
    const status = this.status();
    const registers = this.telegramRegisters(status);
    const frame = buildTelegram({
      header: { control: 0x44, manufacturer: this.options.manufacturer ?? 'XSM', id: this.options.meterId, version: this.options.version ?? 1, deviceType: 0x02 },
      registers,
      security: this.security(),
      status: encodeStatusByte(status),
      counters,
      format: this.frameFormat,
    });
    return { frame, registers, status };
  }

  private defer(now: number, airtime: number): void {
    this.stats.deferred++;
    this.deferredSinceSent = true;
    this.telegramDue = Math.max(now + 1, this.budget.nextFit(now, airtime));
  }

  /** Sends the telegram due now, or defers it when the hour's airtime budget has no room. */
  private sendTelegram(now: number, retried = false): void {
    if (!this.budget.fits(now, this.airtimeEstimate)) {
      this.defer(now, this.airtimeEstimate);
      return;
    }
    // What is sent must never exceed what a restart restores: persist first.
    if (!this.energyRefused) this.metering.persist();
    // Reserved on flash before use, in one write with the airtime including this telegram's (the
    // last frame's: the counters' values do not change the length).
    const reserved = this.airtimeEstimate;
    this.pendingAirtime = { at: now, airtimeMs: reserved };
    let counters: { messageCounter: number; accessNumber: number };
    try {
      counters = this.telegramCounters.next();
    } finally {
      this.pendingAirtime = undefined;
    }
    const built = this.buildFrame(counters);
    const air = airtimeMs(built.frame.length, this.radioMode, this.frameFormat);
    this.airtimeEstimate = air;
    if (air > reserved) {
      // The frame grew (another register set): not covered by what was stored. The reserved counter
      // is skipped, never reused; reserve again with this length (one more write, rare).
      if (retried || !this.budget.fits(now, air)) this.defer(now, air);
      else this.sendTelegram(now, true);
      return;
    }
    this.budget.record(now, air);
    this.stats.lastMessageCounter = counters.messageCounter;
    try {
      this.ports.radio.transmit(built.frame, this.radioMode);
    } catch (e) {
      if (!(e instanceof MeterError)) throw e;
      this.stats.radioErrors++;
    }
    this.stats.telegrams++;
    this.stats.airtimeMs += air;
    const sent: SentTelegram = { frame: built.frame, mode: this.radioMode, format: this.frameFormat, ...counters, ticks: now, airtimeMs: air, registers: built.registers, status: built.status };
    this.lastTelegram = sent;
    this.deferredSinceSent = false;
    this.faultSinceSent = false;
    const before = this.schedule.nextDue;
    this.schedule.advance(now);
    // Slots passed over while this telegram waited count as deferred too.
    const skipped = Math.max(0, Math.round((this.schedule.nextDue - before) / this.schedule.intervalMs) - 1);
    this.stats.deferred += skipped;
    this.telegramDue = this.schedule.nextDue;
    this.options.onTelegram?.(sent);
  }

  // --- pulse test (service) ---------------------------------------------------------------------

  startPulseTest(on: boolean, count: number): void {
    if (!on) {
      if (this.pulseTest.high) this.ports.pulseLed.write(0);
      this.pulseTest = { on: false, left: 0, high: false, edgeAt: -Infinity };
      return;
    }
    this.pulseTest = { on: true, left: count === 0 ? Infinity : count, high: false, edgeAt: -Infinity };
  }

  private tickPulseTest(now: number): void {
    const t = this.pulseTest;
    const width = this.options.pulseWidthMs ?? 30;
    if (now - t.edgeAt < width) return;
    if (t.high) {
      this.ports.pulseLed.write(0);
      t.high = false;
      t.edgeAt = now;
      t.left--;
      if (t.left <= 0) this.pulseTest = { on: false, left: 0, high: false, edgeAt: -Infinity };
    } else {
      this.ports.pulseLed.write(1);
      t.high = true;
      t.edgeAt = now;
    }
  }

  /** Saves what is unsaved (host shutdown, power-fail warning). */
  stop(): void {
    if (!this.started) return;
    if (!this.energyRefused) this.metering.persist();
    this.started = false;
  }
}

/** Whether anything was ever written to `f` (stops at the first programmed byte). */
function flashUsed(f: Flash): boolean {
  for (let s = 0; s < f.sectorCount; s++) {
    const b = f.read(s * f.sectorSize, f.sectorSize);
    for (let i = 0; i < b.length; i++) if (b[i] !== 0xff) return true;
  }
  return false;
}

/** Bytes of log room below which the log counts as full (a change record with two 128-byte values). */
export const LOG_FULL_MARGIN = 480;
