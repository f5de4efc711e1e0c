/**
 * The meter application: what a host starts with its ports (hosts/esp32 `startHost(app)`, the
 * desktop simulator hosts/sim/sim-meter.ts). It only builds the parts and wires them; each part has
 * its job and a narrow interface:
 *   EnergyMeter (energy-meter.ts)           chip → registers → journal, pulses, the fault policy
 *   CalibrationController (calibration-…)    seal, calibration log, calibration → chip
 *   WallClock (wall-clock.ts)                host clock + set-time
 *   MeterReadout (meter-readout.ts)          registers in whole Wh for telegrams and the service
 *   StatusBoard (meter-status.ts)            the status every telegram carries
 *   TelegramSender (telegram-sender.ts)      schedule, duty cycle, counters, frame, radio
 *   ServiceServer + MeterServiceTarget       the service interface (modules/service)
 *   SmlReadout (sml-readout.ts)              the registers for SML, refreshed in place
 *   OpticalPush + PinEntry (modules/sml)     the optical info interface: a file a second, the
 *                                            detail behind the customer PIN (light flashes)
 *   LmnResponder (modules/sml)               the wired LMN (RS-485): GetList.Req → GetList.Res
 * The SML parts exist only when the host hands over their ports (`optical`, `opticalSensor`, `lmn`):
 * a meter without them simply has no SML.
 * Data flows one way: chip → energy → storage → telegram/SML → radio/serial. Every tick: the pulse
 * output, a sample when due, the telegram when due, the SML interfaces (PIN flashes, the push when
 * due, LMN requests, each bounded), then the service interface.
 *
 * Which sectors of `energyFlash` and `calibrationFlash` hold what: the flash map
 * (modules/storage/flash-map.ts).
 */
import { MeterError } from '../core/errors.js';
import type { DigitalInput, DigitalOutput, EdgeCounter, SerialPort, SpiPort } from '../ports/bus.js';
import type { Clock } from '../ports/clock.js';
import type { Crypto } from '../ports/crypto.js';
import type { Flash } from '../ports/flash.js';
import type { KeyStore } from '../ports/key-store.js';
import type { Radio, WmbusMode } from '../ports/radio.js';
import { Ade7953, ade7953MaxSamplePeriodMs } from '../metrology/ade7953.js';
import { Atm90e32, atm90e32MaxSamplePeriodMs } from '../metrology/atm90e32.js';
import type { ChipKind } from '../metrology/calibration.js';
import { EnergyJournal } from '../metrology/energy-journal.js';
import { Metering } from '../metrology/metering.js';
import { PulseOutput } from '../metrology/pulse-output.js';
import { DEFAULT_MAX_POWER_W, type MetrologyDriver } from '../metrology/readings.js';
import { TariffSchedule } from '../metrology/tariff.js';
import { CalibrationLog } from '../sealing/calibration-log.js';
import { LOG_WITNESS_SIZE, LogWitnessRecord } from '../sealing/log-witness.js';
import { LOG_RECREATED_BY, SealGuard } from '../sealing/seal.js';
import { ServiceServer } from '../service/server.js';
import { mapMeterFlash } from '../storage/flash-map.js';
import { LmnResponder } from '../sml/lmn-responder.js';
import { OpticalPush } from '../sml/optical-push.js';
import { PinEntry } from '../sml/pin-entry.js';
import { serverIdOf } from '../sml/server-id.js';
import { ValListBuilder } from '../sml/val-list.js';
import { FrameWriter, allErased } from '../storage/frame.js';
import { LOG_TABLE_EXTRA_WORDS } from '../storage/append-log.js';
import { RecordRing, SectorTables, TABLE_WORDS_PER_SECTOR } from '../storage/record-ring.js';
import type { TelegramBuilder } from '../wmbus-tx/telegram.js';
import type { FrameFormat } from '../wmbus/frame.js';
import { MetrologyConstants } from './calibration-constants.js';
import { CalibrationController, ChipConstants } from './calibration-controller.js';
import { EnergyMeter } from './energy-meter.js';
import { MeterReadout } from './meter-readout.js';
import { StatusBoard, type MeterStatus } from './meter-status.js';
import { AUTH_RECORD_SIZE, ServiceCounterRecord, TELEGRAM_RECORD_SIZE, TelegramCounterRecord } from './counter-records.js';
import { METER_WITNESS_SIZE, MeterWitness, WITNESS_COUNTER_RESYNC, WITNESS_ENERGY_DAMAGED } from './meter-witness.js';
import { RadioBudget } from './radio-budget.js';
import { MeterServiceTarget } from './service-target.js';
import { SmlReadout } from './sml-readout.js';
import { TelegramSchedule, XorShift32, type RandomSource } from './telegram-schedule.js';
import { TelegramSender, type SentTelegram } from './telegram-sender.js';
import { WallClock, isSetTime } from './wall-clock.js';

export type { SentTelegram } from './telegram-sender.js';

/** The ports a host hands the application (hosts/esp32/host.ts HostPorts is this type). */
export interface MeterPorts {
  /** SPI device of the metrology IC (its own chip select). */
  metrologySpi: SpiPort;
  /** Calibration pulse LED output (1 = lit). */
  pulseLed: DigitalOutput;
  /** Calibration/seal switch (1 = closed, polarity already folded in). */
  calibrationSwitch: DigitalInput;
  /** Service interface byte stream. */
  service: SerialPort;
  /** The time the service line's frame timeouts run on (default `clock`; on a device the two are
   *  one): a host whose meter clock runs faster than the line's bytes arrive — a simulation paced
   *  at 600 × real time — gives the line's, else a frame split across two reads 15 ms apart waits
   *  9 s of meter time and is given up. */
  serviceClock?: Pick<Clock, 'ticks'>;
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
  /** The optical info interface's transmitter (IR LED, 9600 baud 8N1): the SML push. */
  optical?: SerialPort;
  /** Light flashes seen by the optical interface's sensor (the customer PIN). */
  opticalSensor?: EdgeCounter;
  /** The wired LMN (RS-485, 9600 baud 8N1, the host drives the transceiver's direction): SML requests. */
  lmn?: SerialPort;
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
  /** Metrology sample period (default 1000 ms): at most `maxSamplePeriodMs` (refused otherwise). */
  samplePeriodMs?: number;
  /** The highest power a phase carries, W: the meter's Un × Imax (default 30 kW). An energy delta
   *  above 1.2 × it over a sample is a metrology fault; and at it no energy register may wrap
   *  unseen between two samples, which bounds the sample period (`maxSamplePeriodMs`). */
  ratedPowerW?: number;
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
  /** The customer PIN of the optical info interface: four digits, provisioned per meter (the
   *  metering point operator gives it to the customer). Without it the push never shows the detail. */
  customerPin?: string;
  model?: string;
  firmware?: string;
  /** The frame writer of the meter's stores (default: its own); a host running many meters in one
   *  thread, one at a time, may give them one (the simulator's fleet). */
  frameWriter?: FrameWriter;
  /** The telegram builder (default: the sender's own); shared the same way, its buffers hold only the
   *  telegram being built. */
  telegramBuilder?: TelegramBuilder;
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
/** Longest SML request file the LMN takes (a GetList.Req with client ID, server ID, user and password is about 120 bytes). */
const LMN_REQUEST_BYTES = 512;
const DEFAULT_INTERVAL_MS = 15 * 60_000;
/** The model a meter names by default: shared strings, not one made per meter. */
const DEFAULT_MODEL: Readonly<Record<ChipKind, string>> = Object.freeze({ ade7953: 'xsmeter-ade7953', atm90e32: 'xsmeter-atm90e32' });

function seedOf(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** The parts of a started meter (documented accessors for hosts, the simulator and tests). */
export interface MeterParts {
  clock: WallClock;
  energy: EnergyMeter;
  pulse: PulseOutput;
  calibration: CalibrationController;
  readout: MeterReadout;
  status: StatusBoard;
  sender: TelegramSender;
  server: ServiceServer;
  /** The SML parts, present when their ports are (MeterPorts optical, opticalSensor, lmn). */
  smlReadout?: SmlReadout;
  opticalPush?: OpticalPush;
  /** With an optical sensor and a customer PIN. */
  pinEntry?: PinEntry;
  lmn?: LmnResponder;
}

/** The pulse output's and the ATM90E32's meter constant when none is given, imp/kWh. */
const METER_CONSTANT = 1000;

/**
 * The longest sample period, ms, at which the chip's energy registers cannot wrap unseen between two
 * samples at the meter's rated power (the drivers' figures: readings.ts noWrapPeriodMs). A longer
 * period leaves the wraps to the power read at each sample, and a load that steps within it would
 * lose counts or invent them (a 3.3 kW household sampled every 15 min: tens of per cent), so the
 * application refuses it.
 */
export function maxSamplePeriodMs(o: Pick<MeterAppOptions, 'chip' | 'ratedPowerW' | 'meterConstant'>): number {
  return o.chip === 'ade7953' ? ade7953MaxSamplePeriodMs(o.ratedPowerW) : atm90e32MaxSamplePeriodMs(o.ratedPowerW, o.meterConstant ?? METER_CONSTANT);
}

/**
 * Ticks time of the first sample after `now`. Samples sit on the wall clock's grid of their period
 * (multiples of it since 1970): a tariff switch on the minute, or a load that changes on it, then
 * falls between two samples and not inside one (a sample's energy goes to the tariff at its end, and
 * an ADE7953 nets import and export within it: one signed register a channel). The wall clock is read
 * each time, so a set-time moves the grid with it. Without a valid wall time: the grid of `from` (the
 * boot, then the last sample due), its next point after a stall of the host.
 */
function nextOnGrid(wall: WallClock, now: number, from: number, periodMs: number): number {
  const wallMs = wall.now();
  if (isSetTime(wallMs)) return now + periodMs - (wallMs % periodMs);
  return from + (Math.floor((now - from) / periodMs) + 1) * periodMs;
}

export class MeterApp {
  readonly tickMs: number;
  readonly options: Readonly<MeterAppOptions>;
  /** The identity used by the calibration log and the service authentication, e.g. 'XSM12345678'. */
  readonly deviceId: string;
  readonly samplePeriodMs: number;
  /** See maxSamplePeriodMs(). */
  readonly maxSamplePeriodMs: number;
  private parts: MeterParts | undefined;
  /** The host clock the application was started on (its ticks). */
  private clock: Clock | undefined;
  private running = false;
  private nextSample = 0;

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
    const rated = options.ratedPowerW;
    if (rated !== undefined && !(rated > 0 && rated <= 1e6)) throw new MeterError('meter-config', `rated power ${rated} W a phase outside (0, 1 MW]`, { ratedPowerW: rated });
    this.maxSamplePeriodMs = maxSamplePeriodMs(options);
    if (this.samplePeriodMs > this.maxSamplePeriodMs) {
      throw new MeterError(
        'meter-config',
        `sample period ${this.samplePeriodMs} ms is longer than the ${this.maxSamplePeriodMs} ms in which the ${options.chip.toUpperCase()}'s energy registers cannot wrap unseen at ${rated ?? DEFAULT_MAX_POWER_W} W a phase`,
        { samplePeriodMs: this.samplePeriodMs, maxSamplePeriodMs: this.maxSamplePeriodMs },
      );
    }
    if (options.customerPin !== undefined && !/^\d{4}$/.test(options.customerPin)) {
      throw new MeterError('meter-config', 'the customer PIN must be four decimal digits', {});
    }
    this.deviceId = `${options.manufacturer ?? 'XSM'}${options.meterId}`;
  }

  get phases(): number {
    return this.options.chip === 'ade7953' ? 1 : 3;
  }

  /** Boot: open the stores, check the seal, restore the registers, configure the chip, start the schedule. */
  start(ports: MeterPorts): void {
    if (this.parts) throw new MeterError('meter-state', 'the application was already started');
    const o = this.options;
    const map = mapMeterFlash({ energy: ports.energyFlash, calibration: ports.calibrationFlash });
    const clock = new WallClock(ports.clock);
    const tariffs = o.tariffs ?? new TariffSchedule();
    const registerCount = this.phases * tariffs.tariffs * 2;
    // One frame writer for all the stores (they write one at a time): not one with four buffers each.
    const writer = o.frameWriter ?? new FrameWriter(0);
    // And one array for the sector tables of the six rings and the calibration log (this meter's own:
    // the writer may be a fleet's), sized for all of them at once so that reserving copies nothing.
    const tables = new SectorTables(TABLE_WORDS_PER_SECTOR * (ports.energyFlash.sectorCount + ports.calibrationFlash.sectorCount) + LOG_TABLE_EXTRA_WORDS);
    // Payloads are built in the writer's one buffer, sized by the longest written (not the largest possible).
    // Each store's options name its region's flash and magic rather than spread the region: V8 builds
    // a literal that spreads an object and then adds properties on a slow path (~2 µs each, and
    // options its constructor then reads slowly); XS takes a few computrons fewer too.
    const witness = new MeterWitness(new RecordRing({ flash: map.meterWitness.flash, magic: map.meterWitness.magic, maxPayload: METER_WITNESS_SIZE, writer, tables }));

    // Calibration: constants, the chip configured from them, the log and the seal over both.
    const constantsRing = new RecordRing({ flash: map.calibrationConstants.flash, magic: map.calibrationConstants.magic, maxPayload: 128, writer, tables });
    const constants = new MetrologyConstants(constantsRing, o.chip, this.phases);
    // Whether this meter was used before (a missing record is then damage, not a new meter), asked
    // before anything is written. The constants' ring was just read whole: its scan answers for it
    // (and the calibration log's for the log, below), not a second read of every blank sector.
    const energyUsed = flashUsed(map.energyJournal.flash) || flashUsed(map.logWitness.flash) || flashUsed(map.serviceAuthCounter.flash) || constantsRing.used;
    const driver: MetrologyDriver =
      o.chip === 'ade7953'
        ? new Ade7953({ spi: ports.metrologySpi, clock: ports.clock, calibration: constants.calibration, maxPowerW: o.ratedPowerW })
        : new Atm90e32({ spi: ports.metrologySpi, clock: ports.clock, calibration: constants.calibration, meterConstant: o.meterConstant ?? METER_CONSTANT, maxPowerW: o.ratedPowerW });
    const journal = new EnergyJournal({ flash: map.energyJournal.flash, magic: map.energyJournal.magic, registerCount, phases: this.phases, writer, tables });
    const pulse = new PulseOutput({ pin: ports.pulseLed, meterConstant: o.meterConstant ?? METER_CONSTANT, widthMs: o.pulseWidthMs });
    // Tariffs switch on the wall clock as the bench set it (set-time), like the telegrams and the log.
    const metering = new Metering({ driver, clock, tariffs, pulse, store: journal, quantumWh: o.quantumWh });
    const energy = new EnergyMeter(metering, driver, constants.calibration);

    // A blank log is a factory-new meter only if the energy partition is blank too; otherwise it was erased.
    const logWitness = new LogWitnessRecord(new RecordRing({ flash: map.logWitness.flash, magic: map.logWitness.magic, maxPayload: LOG_WITNESS_SIZE, writer, tables }));
    const logSeen = { used: false };
    const log = CalibrationLog.open({ flash: map.calibrationLog.flash, magic: map.calibrationLog.magic, keys: ports.keys, crypto: ports.crypto, clock, deviceId: this.deviceId, initBy: energyUsed ? LOG_RECREATED_BY : 'factory', witness: logWitness, writer, tables, seen: logSeen });
    const inService = energyUsed || logSeen.used;
    const seal = new SealGuard({ log, constants: new ChipConstants(constants, energy), calibrationSwitch: ports.calibrationSwitch, keys: ports.keys, crypto: ports.crypto });
    const calibration = new CalibrationController(log, seal, constants);
    calibration.startupCheck();
    // The registers never start below the witness's snapshot; damage once seen stays in the status.
    energy.start(witness.found?.registers);
    if (energy.damaged) witness.flag(WITNESS_ENERGY_DAMAGED, energy.registerValues);
    if (witness.found && witness.found.flags & WITNESS_ENERGY_DAMAGED) energy.damaged = true;

    const service = new ServiceCounterRecord(new RecordRing({ flash: map.serviceAuthCounter.flash, magic: map.serviceAuthCounter.magic, maxPayload: AUTH_RECORD_SIZE, writer, tables }), inService);
    if (service.resynced) witness.flag(WITNESS_COUNTER_RESYNC, energy.registerValues);
    const readout = new MeterReadout(energy, clock);
    const status = new StatusBoard({ calibration, energy, clock, counters: witness });
    const manufacturer = o.manufacturer ?? 'XSM';
    const securityMode = o.security ?? 7;
    const sender = new TelegramSender({
      radio: ports.radio,
      mode: o.radioMode ?? 'T1',
      format: o.frameFormat ?? 'A',
      header: { control: 0x44, manufacturer, id: o.meterId, version: o.version ?? 1, deviceType: 0x02 },
      security: { mode: securityMode, keys: ports.keys, crypto: ports.crypto },
      schedule: new TelegramSchedule({ intervalMs: o.intervalMs ?? DEFAULT_INTERVAL_MS, jitter: o.jitter, random: o.random ?? new XorShift32(seedOf(this.deviceId)) }),
      budget: new RadioBudget({ dutyCycle: o.dutyCycle }),
      counterRecord: new TelegramCounterRecord(new RecordRing({ flash: map.telegramCounters.flash, magic: map.telegramCounters.magic, maxPayload: TELEGRAM_RECORD_SIZE, writer, tables })),
      witness,
      inService,
      clock,
      status,
      content: readout,
      energy,
      onTelegram: o.onTelegram,
      builder: o.telegramBuilder,
    });
    const target = new MeterServiceTarget({
      identity: { meterId: this.deviceId, manufacturer, model: o.model ?? DEFAULT_MODEL[o.chip], firmware: o.firmware ?? FIRMWARE_VERSION },
      energy,
      readout,
      calibration,
      clock,
      pulse,
      installMeterKey: o.installMeterKey,
    });
    const server = new ServiceServer({ port: ports.service, target, keys: ports.keys, crypto: ports.crypto, counters: service, clock: ports.serviceClock ?? ports.clock });
    const parts: MeterParts = { clock, energy, pulse, calibration, readout, status, sender, server };
    if (ports.optical || ports.lmn) this.startSml(parts, ports, manufacturer);

    const now = ports.clock.ticks();
    this.nextSample = nextOnGrid(clock, now, now, this.samplePeriodMs);
    sender.start(now);
    // Pushes on the samples' grid: each file shows the sample of its own tick.
    parts.opticalPush?.start(this.nextSample - this.samplePeriodMs);
    this.clock = ports.clock;
    this.parts = parts;
    this.running = true;
  }

  /** The SML interfaces on the ports the host has: the same registers as the telegrams. */
  private startSml(parts: MeterParts, ports: MeterPorts, manufacturer: string): void {
    const source = new SmlReadout(parts.readout, parts.status);
    const serverId = serverIdOf(manufacturer, Number(this.options.meterId));
    parts.smlReadout = source;
    // Buffers sized for this meter's list (an entry takes at most 32 bytes, the messages around it
    // under 200) rather than the modules' general defaults: the encoders keep them for good.
    const maxPayload = 192 + 32 * source.readings().length;
    // One set of entries for both: each fills and encodes it in one go.
    const values = new ValListBuilder({ serverId, manufacturer });
    const pin = this.options.customerPin;
    if (ports.optical) {
      if (ports.opticalSensor && pin !== undefined) parts.pinEntry = new PinEntry({ pulses: ports.opticalSensor, clock: ports.clock, pin });
      parts.opticalPush = new OpticalPush({ port: ports.optical, clock: ports.clock, source, serverId, manufacturer, details: parts.pinEntry, maxPayload, values });
    }
    if (ports.lmn) parts.lmn = new LmnResponder({ port: ports.lmn, clock: ports.clock, source, serverId, manufacturer, maxPayload, maxRequestBytes: LMN_REQUEST_BYTES, values });
  }

  /** The parts of the started meter. */
  get part(): MeterParts {
    if (!this.parts) throw new MeterError('meter-state', 'the application is not started');
    return this.parts;
  }

  /** Started and not stopped. */
  get started(): boolean {
    return this.running;
  }

  /** The status the next telegram would carry. */
  status(): MeterStatus {
    return this.part.status.current();
  }

  get stats(): MeterStats {
    const { energy, sender } = this.part;
    return { samples: energy.samples, metrologyFaults: energy.faults, ...sender.stats };
  }

  /** Why no telegram can be sent (a frame longer than the hour's whole airtime allowance), once
   *  seen; metering goes on meanwhile. */
  get radioFault(): MeterError | undefined {
    return this.part.sender.budgetFault;
  }

  /** The last telegram handed to the radio. */
  get telegram(): SentTelegram | undefined {
    return this.part.sender.last;
  }

  /** Ticks time of the next work due (a sample, a telegram, an SML push, a PIN digit to close): a
   *  simulator may sleep until then. */
  nextWake(): number {
    return this.due(true);
  }

  private due(samples: boolean): number {
    const p = this.part;
    let t = samples ? Math.min(this.nextSample, p.sender.nextDue) : p.sender.nextDue;
    if (p.opticalPush) t = Math.min(t, p.opticalPush.nextWake());
    if (p.pinEntry) t = Math.min(t, p.pinEntry.nextWake());
    return t;
  }

  /** Whether a tick has work now whatever the schedule: a pulse, a service request, an LMN request
   *  or answer in progress (hosts and the simulator tick every `tickMs` meanwhile). */
  get busy(): boolean {
    const p = this.part;
    return p.pulse.busy || p.server.busy || (p.lmn !== undefined && p.lmn.busy);
  }

  /** Milliseconds until the next tick has work (hosts/esp32 `nextTickDelay`): `tickMs` while busy,
   *  else until the next sample, telegram or SML push. */
  nextTickDelay(): number {
    if (!this.parts || !this.running || !this.clock || this.busy) return this.tickMs;
    // A refused journal takes no samples: only the telegrams and SML are due.
    const d = this.due(this.parts.energy.measuring) - this.clock.ticks();
    return d >= 1 ? d : this.tickMs;
  }

  /** Whether the pulse output has work (a simulator steps finely meanwhile). */
  get pulsesPending(): boolean {
    return this.part.pulse.busy;
  }

  tick(): void {
    const p = this.parts;
    if (!p || !this.running || !this.clock) return;
    const now = this.clock.ticks();
    p.pulse.tick(now);
    if (now >= this.nextSample && p.energy.measuring) {
      p.energy.sample();
      this.nextSample = nextOnGrid(p.clock, now, this.nextSample, this.samplePeriodMs);
    }
    p.sender.tick(now);
    // SML after the telegram: the push of this tick shows what the telegram of this tick carried.
    p.pinEntry?.poll();
    p.opticalPush?.poll();
    p.lmn?.poll();
    p.server.poll();
  }

  /** Saves what is unsaved (host shutdown, power-fail warning). The chip is read first: what it
   *  counted since the last sample sits in its read-clear registers, which a reset or a power cut
   *  clears, and a stop between two samples would lose it. */
  stop(): void {
    if (!this.parts || !this.running) return;
    if (this.parts.energy.measuring) this.parts.energy.sample();
    this.parts.energy.persist();
    this.running = false;
  }
}

/** Whether anything was ever written to `f` (stops at the first sector with a programmed byte;
 *  checked four bytes a step: a new meter's blank sectors are all read). */
function flashUsed(f: Flash): boolean {
  for (let s = 0; s < f.sectorCount; s++) if (!allErased(f.read(s * f.sectorSize, f.sectorSize), 0)) return true;
  return false;
}
