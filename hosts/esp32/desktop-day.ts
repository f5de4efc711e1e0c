/**
 * A simulated day of the desktop meter board on virtual time, as fast as the engine runs: what
 * main-desktop.ts runs in Moddable's simulator when built with `xsmeterDay=HOURS`, and what
 * test/moddable-desktop.test.ts runs under Node with the same seed to compare. The board is
 * desktop-meter.ts (the ADE7953 simulator measuring a household load profile, the CC1101
 * simulator, flash partitions, NVS with the demonstration keys); it boots through boot.ts exactly as
 * the board does, then the factory writes a calibration constant and seals (two signed log records).
 *
 * Traces: `telegram HEX` for every transmission on the air (the CC1101's PHY bytes), `hour N`
 * marks, and at the end the registers, the statistics and the calibration log export (binary,
 * `log HEX` in pieces), then DAY_DONE. Everything is a function of the seed and the virtual time,
 * so any engine prints the same lines.
 */
import type { MeterApp } from '../../modules/app/meter-app.js';
import { toHex } from '../../modules/core/bytes.js';
import type { Crypto } from '../../modules/ports/crypto.js';
import { exportToBinary } from '../../modules/sealing/log-export.js';
import { nextSlotStart, profileLoad } from '../sim/physics/load-profile.js';
import { HostBoot } from './boot.js';
import { createDesktopMeterBoard, type DesktopMeterBoard } from './desktop-meter.js';
import type { ModdableFlashPartition } from './ports/flash.js';

export const DAY_DONE = 'xsmeter-day: done';
/** The household profile's seed (hosts/sim/physics/load-profile.ts). */
export const DAY_SEED = 7;
const HOUR_MS = 3_600_000;
/** Hex characters per `log` line. */
const LOG_LINE = 128;

export interface DesktopDayOptions {
  crypto: Crypto;
  /** Simulated hours. */
  hours: number;
  /** The flash partitions (default: in memory). */
  openFlash?: (partition: string) => ModdableFlashPartition;
  out: (line: string) => void;
  /** The engine's live heap after a garbage collection, its count of collections and its stack peak
   *  (Moddable: instrumentation and Debug.gc), printed as `heap LABEL chunks BYTES slots BYTES gc N
   *  stack BYTES` at boot and every hour; absent under Node. */
  heap?: () => { chunks: number; slots: number; collections: number; stack: number };
}

export class DesktopDay {
  readonly meter: DesktopMeterBoard;
  app: MeterApp | undefined;
  /** Host time (ms since boot) and the day's end. */
  private now = 0;
  private readonly end: number;
  private nextLoad = -Infinity;
  private hour = 0;

  constructor(private readonly options: DesktopDayOptions) {
    this.probe('start');
    this.meter = createDesktopMeterBoard({ crypto: options.crypto, openFlash: options.openFlash });
    this.end = options.hours * HOUR_MS;
    this.probe('board');
  }

  /** Boots the meter as the board does, then the factory calibration and seal. */
  start(): void {
    const { out } = this.options;
    this.applyLoad();
    const booted = new HostBoot(this.meter.io, this.meter.board.preferences).boot(out);
    if (!booted) throw new Error('the desktop meter did not start');
    const app = booted.app;
    this.app = app;
    const calibration = app.part.calibration;
    calibration.writeCalibration(calibration.serialized, 'factory');
    calibration.sealNow('factory');
    out(`device public key ${toHex(booted.host.ports.keys.devicePublicKey())}`);
    this.probe('sealed');
  }

  /** Runs the day on by up to `ms` of simulated time; false once the day is over. */
  step(ms: number): boolean {
    const m = this.meter;
    const target = Math.min(this.end, this.now + ms);
    while (this.now < target) {
      // Up to the next host timer (the application's tick) or load change, whichever is first.
      const due = m.nextDue();
      const loadIn = this.nextLoad - m.io.now();
      let dt = Math.min(target - this.now, due === undefined ? 1000 : due, loadIn > 0 ? loadIn : 0);
      if (dt < 1) dt = 1;
      m.advanceMeasurand(dt);
      m.advanceMs(dt);
      this.now += dt;
      if (m.io.now() >= this.nextLoad) this.applyLoad();
      this.traceAir();
      if (this.now >= (this.hour + 1) * HOUR_MS) {
        this.hour++;
        this.options.out(`hour ${this.hour}`);
        this.probe(`hour ${this.hour}`);
      }
    }
    return this.now < this.end;
  }

  /** Stops the meter (it persists its registers) and prints the registers, statistics and log export. */
  finish(): void {
    const { out } = this.options;
    const app = this.app!;
    app.stop();
    this.traceAir();
    const metering = app.part.energy.metering;
    const obis = metering.obis();
    for (const k of Object.keys(obis).sort()) out(`register ${k} ${obis[k].toFixed(6)} Wh`);
    out(`energy uwh import ${metering.registers.uwh('import')} export ${metering.registers.uwh('export')}`);
    out(`true wh import ${this.meter.load.totalImportWh().toFixed(3)} export ${this.meter.load.totalExportWh().toFixed(3)}`);
    const s = app.stats;
    out(`stats samples ${s.samples} faults ${s.metrologyFaults} telegrams ${s.telegrams} deferred ${s.deferred} radioErrors ${s.radioErrors} lastCounter ${s.lastMessageCounter}`);
    const log = toHex(exportToBinary(app.part.calibration.exportLog()));
    for (let i = 0; i < log.length; i += LOG_LINE) out(`log ${log.slice(i, i + LOG_LINE)}`);
    out(DAY_DONE);
  }

  private probe(label: string): void {
    const h = this.options.heap?.();
    if (h) this.options.out(`heap ${label} chunks ${h.chunks} slots ${h.slots} gc ${h.collections} stack ${h.stack}`);
  }

  private applyLoad(): void {
    const wall = this.meter.io.now();
    this.meter.load.set(0, profileLoad('household', DAY_SEED, wall, 1)[0]);
    this.nextLoad = nextSlotStart(wall);
  }

  private traceAir(): void {
    const air = this.meter.board.radio.transmissions;
    for (let i = 0; i < air.length; i++) this.options.out(`telegram ${toHex(air[i].bytes)}`);
    air.length = 0;
  }
}
