/**
 * Register-level TI CC1101 simulator (transmit side, datasheet SWRS061I): the SPI protocol (header
 * byte with R/W and burst bits, status byte on every header and written byte, strobes, status
 * registers, PATABLE and FIFO access), the configuration register file with its reset values, the
 * 64-byte TX FIFO, the radio state machine IDLE → CALIBRATE → SETTLING → TX → IDLE with TX FIFO
 * underflow, the packet engine's fixed / variable / infinite length modes with the modulo-256 byte
 * counter (PKTLEN 0 in fixed mode never ends a packet: SWRS061 requires it to be nonzero), and the
 * GDO0/GDO2 pins (IOCFGx: TX FIFO at or above the FIFOTHR threshold, sync sent / end of packet, high
 * impedance; inversion). What goes on the air is captured as bytes: NUM_PREAMBLE bytes of 0xAA, the
 * sync word (16 bits, or twice for SYNC_MODE 3 and 7), then the FIFO data.
 *
 * Time is simulated and nothing is free: the air consumes one FIFO byte per 8 / R_data seconds
 * (R_data from MDMCFG4/3) while the host works — every SPI byte costs 8 / spiHz, every chip-select
 * period `hostUsPerTransaction` and every pin read `hostUsPerPinRead`: what the driver spends between
 * two accesses on an ESP32 (HOST_COST below, from the driver's measured XS cost). A driver that
 * refills too slowly underflows exactly as silicon would. Imports nothing from Node: it also runs
 * under XS.
 */
import type { DigitalInput, Level, SpiPort } from '../../modules/ports/bus.js';
import * as R from '../../modules/radio/cc1101-registers.js';

export type SimState = 'SLEEP' | 'XOSC_START' | 'IDLE' | 'CALIBRATE' | 'SETTLING' | 'TX' | 'TXFIFO_UNDERFLOW';

/** One packet as it went on the air. */
export interface AirCapture {
  /** Preamble, sync word and data bytes, MSB first on the air. */
  bytes: Uint8Array;
  startUs: number;
  endUs: number;
  /** complete: the packet engine ended it; underflow: the FIFO ran dry; aborted: SIDLE/SRES mid-packet. */
  outcome: 'complete' | 'underflow' | 'aborted';
  /** RF parameters from the registers at the start of the packet. */
  frequencyHz: number;
  dataRateBaud: number;
  deviationHz: number;
  /** MDMCFG2.MOD_FORMAT (0 = 2-FSK). */
  modulation: number;
}

/** Faults on the SPI bus or in the chip, for driver robustness tests. */
export type SimFault =
  | 'none'
  /** The crystal never starts: CHIP_RDYn stays high, nothing executes. */
  | 'no-crystal'
  /** MISO pulled high (no chip on the bus): every byte reads 0xFF. */
  | 'miso-high'
  /** MISO shorted low: every byte reads 0x00. */
  | 'miso-low'
  /** MISO carries noise (deterministic pseudo-random bytes). */
  | 'garbage';

/**
 * What the CC1101 driver costs its host between two chip accesses, on an ESP32 under XS:
 * - the driver's own work, in XS computrons: the worst gap in the refill loop before a chip-select
 *   period (428 measured) and before a GDO2 read (415 measured: the turn after a refill, checking the
 *   burst's status bytes; an idle turn is ~60), rounded up to 500 and charged for every access —
 *   test/cc1101-refill.test.ts measures them (test/xs/cc1101-refill.xs.ts under xsnap) and fails when
 *   the driver grows past these figures;
 * - converted at 0.25 µs per computron: an assumption, not a measurement — a computron is one XS
 *   byte-code dispatch (xsRun.c meters each), and 60 cycles of the 240 MHz ESP32 per dispatch is
 *   deliberately slow for an interpreter running out of the flash cache;
 * - plus the native side: an ESP-IDF SPI transaction (queueing, chip select, completion) taken as
 *   25 µs, a GPIO read as 2 µs — both generous for the ESP32 at 240 MHz.
 */
export const HOST_COST = Object.freeze({
  usPerComputron: 0.25,
  driverComputronsPerTransaction: 500,
  driverComputronsPerPinRead: 500,
  nativeUsPerTransaction: 25,
  nativeUsPerPinRead: 2,
});

export interface Cc1101SimOptions {
  /** SPI clock (default 5 MHz; the CC1101 allows 6.5 MHz in burst access). */
  spiHz?: number;
  /** Host time per chip-select period besides the byte clocking (default from HOST_COST). */
  hostUsPerTransaction?: number;
  /** Host time per GDO pin read (default from HOST_COST). */
  hostUsPerPinRead?: number;
  /** Crystal start-up after power-on / SRES / wake (SWRS061 table 32: ~150 µs). */
  xoscStartUs?: number;
  /** Synthesizer calibration (SWRS061 table 34: ~721 µs at 26 MHz with FS_AUTOCAL). */
  calibrationUs?: number;
  /** IDLE → TX settling without calibration (SWRS061 table 34: ~88 µs). */
  settlingUs?: number;
  fxoscHz?: number;
  /** VERSION status register (default 0x14; clones report 0x17 or 0x07). */
  version?: number;
}

const MARC_BY_STATE: Record<SimState, number> = {
  SLEEP: R.MARC_SLEEP,
  XOSC_START: R.MARC_SLEEP,
  IDLE: R.MARC_IDLE,
  CALIBRATE: R.MARC_STARTCAL,
  SETTLING: R.MARC_FS_LOCK,
  TX: R.MARC_TX,
  TXFIFO_UNDERFLOW: R.MARC_TXFIFO_UNDERFLOW,
};
const STATUS_STATE: Record<SimState, number> = {
  SLEEP: R.STATE_IDLE,
  XOSC_START: R.STATE_IDLE,
  IDLE: R.STATE_IDLE,
  CALIBRATE: R.STATE_CALIBRATE,
  SETTLING: R.STATE_SETTLING,
  TX: R.STATE_TX,
  TXFIFO_UNDERFLOW: R.STATE_TXFIFO_UNDERFLOW,
};

type Access =
  | { kind: 'header' }
  | { kind: 'config'; read: boolean; burst: boolean; address: number }
  | { kind: 'patable'; read: boolean; burst: boolean }
  | { kind: 'fifo'; read: boolean; burst: boolean }
  | { kind: 'status'; address: number };

export class Cc1101Sim implements SpiPort {
  /** Every packet sent so far. */
  readonly transmissions: AirCapture[] = [];
  /** Protocol misuse the chip would ignore or misbehave on (e.g. a write to a full FIFO), in order. */
  readonly misuse: string[] = [];
  /** Simulated time, µs. */
  nowUs = 0;
  /** SPI bytes clocked so far. */
  spiBytes = 0;

  /** GDO0 and GDO2 as the host's pins see them (IOCFG0 / IOCFG2). */
  readonly gdo0: DigitalInput;
  readonly gdo2: DigitalInput;
  /** GDO reads so far. */
  pinReads = 0;

  private readonly byteUs: number;
  private readonly overheadUs: number;
  private readonly pinUs: number;
  private readonly version: number;
  private readonly xoscUs: number;
  private readonly calUs: number;
  private readonly settleUs: number;
  private readonly fxosc: number;
  private readonly regs = new Uint8Array(R.CONFIG_REGISTER_COUNT);
  private readonly patable = new Uint8Array(8);
  private patableIndex = 0;
  private readonly fifo = new Uint8Array(R.FIFO_SIZE);
  private fifoHead = 0;
  private fifoCount = 0;
  private underflowFlag = false;
  private state: SimState = 'XOSC_START';
  /** When the current timed state (XOSC_START, CALIBRATE, SETTLING) ends. */
  private stateEndsUs: number;
  /** CALIBRATE entered from STX goes on to SETTLING and TX; from SCAL back to IDLE. */
  private calThenTx = false;
  private selected = false;
  private access: Access = { kind: 'header' };
  private fault: SimFault = 'none';
  private noise = 0x2545f491;
  // The packet on the air.
  private tx: { startUs: number; periodUs: number; headerBytes: number[]; slot: number; data: number; bytes: number[]; endUs: number; pktlenZero: boolean; capture: Omit<AirCapture, 'bytes' | 'endUs' | 'outcome'> } | undefined;

  constructor(options: Cc1101SimOptions = {}) {
    this.byteUs = 8e6 / (options.spiHz ?? 5_000_000);
    this.overheadUs = options.hostUsPerTransaction ?? HOST_COST.driverComputronsPerTransaction * HOST_COST.usPerComputron + HOST_COST.nativeUsPerTransaction;
    this.pinUs = options.hostUsPerPinRead ?? HOST_COST.driverComputronsPerPinRead * HOST_COST.usPerComputron + HOST_COST.nativeUsPerPinRead;
    this.version = options.version ?? 0x14;
    this.gdo0 = { read: () => this.readGdo(R.IOCFG0) };
    this.gdo2 = { read: () => this.readGdo(R.IOCFG2) };
    this.xoscUs = options.xoscStartUs ?? 150;
    this.calUs = options.calibrationUs ?? 721;
    this.settleUs = options.settlingUs ?? 88;
    this.fxosc = options.fxoscHz ?? R.FXOSC_HZ;
    this.regs.set(R.CONFIG_RESET_VALUES);
    this.stateEndsUs = this.xoscUs;
  }

  // ---- test access (not part of the chip) ----

  /** A configuration register as the chip holds it. */
  register(address: number): number {
    return this.regs[address];
  }

  get paTable(): Uint8Array {
    return this.patable.slice();
  }

  get radioState(): SimState {
    return this.state;
  }

  get txFifoCount(): number {
    return this.fifoCount;
  }

  /** Injects a fault from now on ('none' clears it). */
  setFault(fault: SimFault): void {
    this.fault = fault;
  }

  /** Lets simulated time pass with no SPI traffic (a host busy elsewhere). */
  advance(us: number): void {
    this.advanceTo(this.nowUs + us);
  }

  // ---- GDO pins ----

  private readGdo(iocfg: number): Level {
    this.advanceTo(this.nowUs + this.pinUs);
    this.pinReads++;
    const cfg = this.regs[iocfg];
    let level: number;
    switch (cfg & 0x3f) {
      case R.GDO_TX_FIFO_AT_THRESHOLD:
        level = this.fifoCount >= R.txFifoThreshold(this.regs[R.FIFOTHR]) ? 1 : 0;
        break;
      case R.GDO_SYNC_SENT:
        level = this.tx !== undefined && this.tx.slot >= this.tx.headerBytes.length ? 1 : 0;
        break;
      case R.GDO_HIGH_IMPEDANCE:
        return 0; // floating: the board's pull-down
      default:
        this.misuse.push(`GDO read with IOCFG 0x${cfg.toString(16)} (not simulated)`);
        return 0;
    }
    return (cfg & R.GDO_INVERT ? level ^ 1 : level) as Level;
  }

  // ---- SpiPort ----

  transfer(buffer: Uint8Array): void {
    this.select();
    for (let i = 0; i < buffer.length; i++) buffer[i] = this.clock(buffer[i]);
  }

  write(buffer: Uint8Array): void {
    this.select();
    for (let i = 0; i < buffer.length; i++) this.clock(buffer[i]);
  }

  read(buffer: Uint8Array): void {
    this.select();
    for (let i = 0; i < buffer.length; i++) buffer[i] = this.clock(0);
  }

  flush(deselect = true): void {
    if (!deselect || !this.selected) return;
    this.selected = false;
    this.access = { kind: 'header' };
    this.patableIndex = 0; // SWRS061 §10.6: the PATABLE index resets when CSn goes high
    if (this.pendingSleep) {
      this.pendingSleep = false;
      this.state = 'SLEEP';
    }
  }

  private pendingSleep = false;

  // ---- chip ----

  private select(): void {
    if (this.selected) return;
    this.selected = true;
    this.advanceTo(this.nowUs + this.overheadUs);
    if (this.state === 'SLEEP') this.startCrystal(); // CSn low wakes the chip (SWRS061 §19.5)
  }

  private startCrystal(): void {
    this.state = 'XOSC_START';
    this.stateEndsUs = this.nowUs + this.xoscUs;
  }

  private ready(): boolean {
    return this.state !== 'SLEEP' && this.state !== 'XOSC_START';
  }

  private statusByte(read: boolean): number {
    const rdyn = this.ready() ? 0 : R.STATUS_CHIP_RDYN;
    // Write access: free TX FIFO bytes; read access: RX FIFO bytes (always 0: the receiver is never on).
    const fifo = read ? 0 : Math.min(15, R.FIFO_SIZE - this.fifoCount);
    return rdyn | (STATUS_STATE[this.state] << R.STATUS_STATE_SHIFT) | fifo;
  }

  /** One SPI byte: MOSI in, MISO out. */
  private clock(mosi: number): number {
    this.advanceTo(this.nowUs + this.byteUs);
    this.spiBytes++;
    const miso = this.ready() || this.access.kind === 'header' ? this.exchange(mosi) : R.STATUS_CHIP_RDYN;
    switch (this.fault) {
      case 'miso-high':
        return 0xff;
      case 'miso-low':
        return 0x00;
      case 'garbage':
        this.noise ^= this.noise << 13;
        this.noise ^= this.noise >>> 17;
        this.noise ^= this.noise << 5;
        return this.noise & 0xff;
      default:
        return miso;
    }
  }

  private exchange(mosi: number): number {
    const a = this.access;
    if (a.kind === 'header') {
      const read = (mosi & R.HEADER_READ) !== 0;
      const burst = (mosi & R.HEADER_BURST) !== 0;
      const address = mosi & 0x3f;
      const status = this.statusByte(read);
      if (!this.ready()) return status; // while CHIP_RDYn is high the chip ignores the header
      if (address <= 0x2e) this.access = { kind: 'config', read, burst, address };
      else if (address === 0x2f) this.misuse.push(`access to unused address 0x2f`);
      else if (address < R.PATABLE) {
        if (burst) this.access = { kind: 'status', address };
        else this.strobe(address);
      } else if (address === R.PATABLE) this.access = { kind: 'patable', read, burst };
      else this.access = { kind: 'fifo', read, burst };
      return status;
    }
    switch (a.kind) {
      case 'config': {
        if (a.address > 0x2e) {
          this.misuse.push('burst ran past TEST0 (0x2e)');
          return this.statusByte(a.read);
        }
        let out: number;
        if (a.read) out = this.regs[a.address];
        else {
          out = this.statusByte(false);
          this.regs[a.address] = mosi;
        }
        if (!a.burst) this.access = { kind: 'header' };
        else a.address++;
        return out;
      }
      case 'status': {
        this.access = { kind: 'header' };
        return this.statusRegister(a.address);
      }
      case 'patable': {
        const i = this.patableIndex & 7;
        this.patableIndex++;
        if (!a.burst) this.access = { kind: 'header' };
        if (a.read) return this.patable[i];
        this.patable[i] = mosi;
        return this.statusByte(false);
      }
      case 'fifo': {
        if (!a.burst) this.access = { kind: 'header' };
        if (a.read) return 0; // RX FIFO: empty
        const status = this.statusByte(false);
        if (this.state === 'TXFIFO_UNDERFLOW') {
          this.misuse.push('FIFO write in TXFIFO_UNDERFLOW (ignored until SFTX)');
        } else if (this.fifoCount === R.FIFO_SIZE) {
          this.misuse.push('write to a full TX FIFO (byte lost)');
        } else {
          this.fifo[(this.fifoHead + this.fifoCount) % R.FIFO_SIZE] = mosi;
          this.fifoCount++;
        }
        return status;
      }
    }
  }

  private statusRegister(address: number): number {
    switch (address) {
      case R.PARTNUM:
        return R.CC1101_PARTNUM;
      case R.VERSION:
        return this.version;
      case R.MARCSTATE:
        return MARC_BY_STATE[this.state];
      case R.TXBYTES:
        return (this.underflowFlag ? R.TXBYTES_UNDERFLOW : 0) | this.fifoCount;
      default:
        return 0;
    }
  }

  private strobe(command: number): void {
    switch (command) {
      case R.SRES:
        this.abortPacket();
        this.regs.set(R.CONFIG_RESET_VALUES);
        this.patable.fill(0);
        this.patable[0] = 0xc6; // PATABLE[0] reset value (SWRS061 §24)
        this.flushFifo();
        this.startCrystal();
        return;
      case R.SCAL:
        if (this.state !== 'IDLE') {
          this.misuse.push(`SCAL in ${this.state}`);
          return;
        }
        this.state = 'CALIBRATE';
        this.calThenTx = false;
        this.stateEndsUs = this.nowUs + this.calUs;
        return;
      case R.STX:
        if (this.state === 'IDLE') {
          const autocal = (this.regs[R.MCSM0] >> 4) & 3;
          if (autocal === 1) {
            this.state = 'CALIBRATE';
            this.calThenTx = true;
            this.stateEndsUs = this.nowUs + this.calUs;
          } else {
            this.state = 'SETTLING';
            this.stateEndsUs = this.nowUs + this.settleUs;
          }
        } else if (this.state !== 'TX' && this.state !== 'CALIBRATE' && this.state !== 'SETTLING') {
          this.misuse.push(`STX in ${this.state}`);
        }
        return;
      case R.SIDLE:
        this.abortPacket();
        if (this.state !== 'TXFIFO_UNDERFLOW') this.state = 'IDLE';
        return;
      case R.SFTX:
        if (this.state === 'IDLE' || this.state === 'TXFIFO_UNDERFLOW') {
          this.flushFifo();
          this.state = 'IDLE';
        } else this.misuse.push(`SFTX in ${this.state}`);
        return;
      case R.SPWD:
        this.abortPacket();
        this.state = 'IDLE';
        this.pendingSleep = true; // SLEEP is entered when CSn goes high
        return;
      case R.SNOP:
        return;
      default:
        this.misuse.push(`strobe 0x${command.toString(16)} not simulated`);
    }
  }

  private flushFifo(): void {
    this.fifoHead = 0;
    this.fifoCount = 0;
    this.underflowFlag = false;
  }

  private dataRate(): number {
    const e = this.regs[R.MDMCFG4] & 0x0f;
    const m = this.regs[R.MDMCFG3];
    return ((256 + m) * 2 ** e * this.fxosc) / 2 ** 28;
  }

  private startPacket(): void {
    const mdmcfg2 = this.regs[R.MDMCFG2];
    const syncMode = mdmcfg2 & 7;
    const header: number[] = [];
    if ((syncMode & 3) !== 0) {
      const preamble = R.PREAMBLE_BYTES[(this.regs[R.MDMCFG1] >> 4) & 7];
      for (let i = 0; i < preamble; i++) header.push(0xaa);
      header.push(this.regs[R.SYNC1], this.regs[R.SYNC0]);
      if ((syncMode & 3) === 3) header.push(this.regs[R.SYNC1], this.regs[R.SYNC0]);
    }
    const rate = this.dataRate();
    const freqWord = (this.regs[R.FREQ2] << 16) | (this.regs[R.FREQ1] << 8) | this.regs[R.FREQ0];
    const dev = this.regs[R.DEVIATN];
    this.state = 'TX';
    this.tx = {
      startUs: this.nowUs,
      periodUs: 8e6 / rate,
      headerBytes: header,
      slot: 0,
      data: 0,
      bytes: [],
      endUs: -1,
      pktlenZero: false,
      capture: {
        startUs: this.nowUs,
        frequencyHz: (this.fxosc / 2 ** 16) * freqWord,
        dataRateBaud: rate,
        deviationHz: (this.fxosc / 2 ** 17) * (8 + (dev & 7)) * 2 ** ((dev >> 4) & 7),
        modulation: (mdmcfg2 >> 4) & 7,
      },
    };
  }

  private endPacket(outcome: AirCapture['outcome'], atUs: number): void {
    const tx = this.tx;
    if (!tx) return;
    this.transmissions.push({ ...tx.capture, bytes: new Uint8Array(tx.bytes), endUs: atUs, outcome });
    this.tx = undefined;
  }

  private abortPacket(): void {
    if (this.tx) this.endPacket('aborted', this.nowUs);
  }

  /** Runs the state machine and the air up to `t`. */
  private advanceTo(t: number): void {
    for (;;) {
      if (this.fault === 'no-crystal' && this.state === 'XOSC_START') {
        this.stateEndsUs = Infinity;
      }
      if ((this.state === 'XOSC_START' || this.state === 'CALIBRATE' || this.state === 'SETTLING') && this.stateEndsUs <= t) {
        const at = this.stateEndsUs;
        if (this.state === 'XOSC_START') this.state = 'IDLE';
        else if (this.state === 'CALIBRATE' && this.calThenTx) {
          this.state = 'SETTLING';
          this.stateEndsUs = at + this.settleUs;
          continue;
        } else if (this.state === 'CALIBRATE') this.state = 'IDLE';
        else {
          this.nowUs = at;
          this.startPacket();
        }
        continue;
      }
      if (this.state === 'TX' && this.tx) {
        const tx = this.tx;
        if (tx.endUs >= 0) {
          if (tx.endUs <= t) {
            const at = tx.endUs;
            this.endPacket('complete', at);
            this.state = 'IDLE'; // MCSM1.TXOFF_MODE = 0 (other modes are not simulated)
            if ((this.regs[R.MCSM1] & 3) !== 0) this.misuse.push('TXOFF_MODE other than IDLE is not simulated');
            continue;
          }
          break;
        }
        const slotAt = tx.startUs + tx.slot * tx.periodUs;
        if (slotAt > t) break;
        this.airSlot(tx, slotAt);
        continue;
      }
      break;
    }
    if (t > this.nowUs) this.nowUs = t;
  }

  /** The modulator takes its next byte at the start of its slot on the air. */
  private airSlot(tx: NonNullable<Cc1101Sim['tx']>, slotAt: number): void {
    if (tx.slot < tx.headerBytes.length) {
      tx.bytes.push(tx.headerBytes[tx.slot]);
      tx.slot++;
      return;
    }
    if (this.fifoCount === 0) {
      this.underflowFlag = true;
      this.state = 'TXFIFO_UNDERFLOW';
      this.endPacket('underflow', slotAt);
      return;
    }
    const byte = this.fifo[this.fifoHead];
    this.fifoHead = (this.fifoHead + 1) % R.FIFO_SIZE;
    this.fifoCount--;
    tx.bytes.push(byte);
    tx.slot++;
    tx.data++;
    // Packet engine (SWRS061 §15.3): the byte counter is 8 bits wide; PKTCTRL0 and PKTLEN are read live.
    const lengthConfig = this.regs[R.PKTCTRL0] & 3;
    let last = false;
    if (lengthConfig === R.LENGTH_FIXED) {
      // PKTLEN 0 is undefined on silicon ("must be different from 0"): here it never ends the packet.
      if (this.regs[R.PKTLEN] === 0) {
        if (!tx.pktlenZero) this.misuse.push('fixed packet length with PKTLEN 0');
        tx.pktlenZero = true;
      } else last = (tx.data & 0xff) === this.regs[R.PKTLEN];
    }
    else if (lengthConfig === R.LENGTH_VARIABLE) last = tx.data === tx.bytes[tx.headerBytes.length] + 1;
    if (last) tx.endUs = slotAt + tx.periodUs;
  }
}
