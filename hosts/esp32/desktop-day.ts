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
 * `log HEX` in pieces), then DAY_DONE. The SML interfaces on UART1: every hour `sml files N bytes B`
 * (the optical push so far), the last push file (`sml push LENGTH`, then `sml hex HEX` pieces) and,
 * from half past on, the answer to the gateway's GetList.Req of that half hour on the RS-485 line
 * (`sml lmn LENGTH`, `sml hex …`). At 11:58 a customer flashes the PIN at the optical sensor, so the
 * 12:00 file shows the power. Everything is a function of the seed and the virtual time, so any
 * engine prints the same lines.
 */
import type { MeterApp } from '../../modules/app/meter-app.js';
import { toHex } from '../../modules/core/bytes.js';
import type { Crypto } from '../../modules/ports/crypto.js';
import { exportToBinary } from '../../modules/sealing/log-export.js';
import { getListRequestFile } from '../../modules/sml/requests.js';
import { nextSlotStart, profileLoad } from '../sim/physics/load-profile.js';
import { HostBoot } from './boot.js';
import { createDesktopMeterBoard, DESKTOP_METER, type DesktopMeterBoard } from './desktop-meter.js';
import { BOARD_PINS } from './pins.js';
import type { ModdableFlashPartition } from './ports/flash.js';

export const DAY_DONE = 'xsmeter-day: done';
/** The household profile's seed (hosts/sim/physics/load-profile.ts). */
export const DAY_SEED = 7;
const HOUR_MS = 3_600_000;
/** Hex characters per `log` and `sml hex` line. */
const LOG_LINE = 128;
/** When the customer flashes the PIN (host ms): 11:58, so the 12:00 push shows the detail. */
const PIN_AT = 11 * HOUR_MS + 58 * 60_000;
/** The gateway's client ID on the LMN. */
const GATEWAY = Uint8Array.of(0x47, 0x57, 0x31);

/**
 * The SML files of a byte stream leaving UART1 in pieces: the stream's aligned 4-byte words are read
 * as the transport does (after 1b1b1b1b: 01010101 starts a file, 1b1b1b1b is an escaped word, 1a…
 * ends it), so a file is found wherever the pieces split it; the current file is kept whole.
 */
class SmlCapture {
  readonly buffer = new Uint8Array(1024);
  length = 0;
  /** Files begun, bytes in all. */
  files = 0;
  bytes = 0;
  private word = 0;
  private inWord = 0;
  private escape = false;
  add(piece: Uint8Array): void {
    for (let i = 0; i < piece.length; i++) {
      const b = piece[i];
      if (this.length < this.buffer.length) this.buffer[this.length++] = b;
      this.word = ((this.word << 8) | b) >>> 0;
      if (++this.inWord < 4) continue;
      this.inWord = 0;
      if (this.escape) {
        this.escape = false;
        if (this.word === 0x01010101) {
          this.files++;
          this.buffer.set(ESCAPE_START);
          this.length = 8;
        }
      } else if (this.word === 0x1b1b1b1b) this.escape = true;
    }
    this.bytes += piece.length;
  }
}
const ESCAPE_START = Object.freeze([0x1b, 0x1b, 0x1b, 0x1b, 1, 1, 1, 1]);

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
  private readonly push = new SmlCapture();
  private readonly lmn = new SmlCapture();
  /** The PIN's flashes (host ms), and the next one to flash. */
  private readonly flashes: number[] = [];
  private flash = 0;
  private asked = -1;

  constructor(private readonly options: DesktopDayOptions) {
    this.probe('start');
    this.meter = createDesktopMeterBoard({ crypto: options.crypto, openFlash: options.openFlash });
    this.end = options.hours * HOUR_MS;
    this.meter.board.onSml = (bytes, de) => (de ? this.lmn : this.push).add(bytes);
    // d flashes for digit d (ten for 0), 0.5 s apart, 4 s between digits (modules/sml/pin-entry.ts).
    let t = PIN_AT;
    for (let i = 0; i < DESKTOP_METER.customerPin.length; i++) {
      const d = DESKTOP_METER.customerPin.charCodeAt(i) - 48;
      for (let k = 0; k < (d === 0 ? 10 : d); k++) this.flashes.push((t += k === 0 ? 0 : 500));
      t += 4000;
    }
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
      if (this.flash < this.flashes.length) dt = Math.min(dt, this.flashes[this.flash] - this.now);
      if (dt < 1) dt = 1;
      m.advanceMeasurand(dt);
      m.advanceMs(dt);
      this.now += dt;
      if (m.io.now() >= this.nextLoad) this.applyLoad();
      this.traceAir();
      while (this.flash < this.flashes.length && this.flashes[this.flash] <= this.now) {
        this.flash++;
        m.board.edge(BOARD_PINS.sml.sensor);
      }
      // The gateway asks on the RS-485 line at half past each hour.
      if (this.now >= this.hour * HOUR_MS + HOUR_MS / 2 && this.asked < this.hour) {
        this.asked = this.hour;
        const request = getListRequestFile({ clientId: GATEWAY, reqFileId: Uint8Array.of(this.hour) });
        for (let i = 0; i < request.length; i++) m.board.smlIn.push(request[i]);
      }
      if (this.now >= (this.hour + 1) * HOUR_MS) {
        this.hour++;
        this.options.out(`hour ${this.hour}`);
        this.traceSml();
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

  private traceSml(): void {
    const { out } = this.options;
    out(`sml files ${this.push.files} bytes ${this.push.bytes}`);
    this.traceFile('push', this.push);
    if (this.lmn.length > 0) this.traceFile('lmn', this.lmn);
    this.lmn.length = 0;
  }

  private traceFile(what: string, c: SmlCapture): void {
    const hex = toHex(c.buffer.subarray(0, c.length));
    this.options.out(`sml ${what} ${c.length}`);
    for (let i = 0; i < hex.length; i += LOG_LINE) this.options.out(`sml hex ${hex.slice(i, i + LOG_LINE)}`);
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
