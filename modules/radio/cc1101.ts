/**
 * TI CC1101 sub-GHz transceiver as a wireless M-Bus transmitter (modes T1 and C1, EN 13757-4), over an
 * SPI port and its GDO2 pin. Implements the Radio port: `transmit(frame, mode)` takes a DLL frame with
 * its CRC blocks, has it PHY-coded for the transceiver FIFO (modules/wmbus-tx encoders: sync word and
 * 3-of-6 for T1; sync word and NRZ bytes for C1), and feeds the 64-byte TX FIFO while the chip sends
 * its preamble, its sync register and the FIFO data at 100 kcps (what goes on the air, and why:
 * cc1101-wmbus.ts).
 *
 * Refill: GDO2 is high while the TX FIFO holds at least its threshold (57 bytes); when it reads low, at
 * least 8 bytes are free and 56 or fewer still queued (4.48 ms of air), and the driver writes the next
 * 8. The loop reads a pin, not a status register over SPI, and allocates nothing, so XS (which collects
 * only when an allocation finds no room) cannot start a collection inside it; the time it takes on an
 * ESP32, and the pause it survives, are measured in test/cc1101-refill.test.ts. Every FIFO byte's
 * status is checked: a full FIFO (GDO2 not following the threshold) is a typed fault, never a lost byte.
 *
 * Packets longer than 255 bytes (a long T1 frame is up to 437 FIFO bytes) start in infinite-length
 * mode with PKTLEN = length mod 256 and switch to fixed-length mode once the last byte is in the FIFO,
 * so the chip's modulo-256 byte counter ends the packet exactly (SWRS061 §15.3 "arbitrary length field
 * configuration"). PKTLEN is never 0 (SWRS061: "must be different from 0"): a FIFO of a multiple of 256
 * bytes is lengthened by two bytes of the sync pattern, the chip then sending its sync register once
 * (the same chips on the air). Status registers are read until two reads agree (errata SWRZ020 "SPI
 * read synchronization"). Every status byte the chip returns is checked: CHIP_RDYn high, a receive
 * state on a chip that only transmits, or an out-of-range count is a typed Cc1101Fault, never a
 * silent retry.
 */
import { MeterError } from '../core/errors.js';
import type { DigitalInput, SpiPort } from '../ports/bus.js';
import type { Radio, WmbusMode } from '../ports/radio.js';
import { frameLengthFromL, type FrameFormat } from '../wmbus/frame.js';
import { encodeC1Fifo } from '../wmbus/phy-c1.js';
import { encodeT1Fifo } from '../wmbus/phy-t1.js';
import * as R from './cc1101-registers.js';
import { PA_10DBM_868, REFILL_BYTES, SYNC_REGISTER_COPY, wmbusRegisterImage } from './cc1101-wmbus.js';

/** A CC1101 that did not behave: codes 'chip-not-ready', 'bad-status', 'not-cc1101',
 *  'config-mismatch', 'tx-underflow', 'tx-overflow', 'timeout', 'frame-length', 'frame-format', 'closed'. */
export class Cc1101Fault extends MeterError {}

export type { FrameFormat };

/** Codes `frame` (with CRCs) into the bytes the TX FIFO carries after the chip's own preamble and
 *  sync register: the mode's sync word, then the coded frame. */
export type FifoEncoder = (frame: Uint8Array, mode: WmbusMode, format: FrameFormat) => Uint8Array;

/** The modules/wmbus-tx FIFO encoders: T1 sync word + 3-of-6 symbols + postamble; C1 sync word + frame + postamble. */
export const wmbusFifoEncoder: FifoEncoder = (frame, mode, format) =>
  mode === 'T1' ? encodeT1Fifo(frame) : encodeC1Fifo(frame, format);

export interface Cc1101Options {
  spi: SpiPort;
  /** GDO2 (IOCFG2 = TX FIFO at or above threshold): the refill signal. */
  gdo2: DigitalInput;
  /** PHY coding for the FIFO (default: wmbusFifoEncoder, the modules/wmbus-tx encoders). */
  encodeFifo?: FifoEncoder;
  /** PATABLE[0], the PA setting (default ≈ +10 dBm at 868 MHz). */
  paTable?: number;
  /** Called on every turn of a wait loop (each GDO2 read while refilling, calibration, end of packet).
   *  A host may feed a watchdog here; it must not sleep while refilling (the FIFO lasts 4.48 ms). */
  onPoll?: () => void;
  /** Turns of one wait loop before the driver gives up with a 'timeout' fault (default 200 000). */
  maxPolls?: number;
}

/** What one transmission did, for logs and tests. */
export interface TransmitReport {
  mode: WmbusMode;
  format: FrameFormat;
  /** Bytes fed through the FIFO (the coded frame, and the sync pattern when PKTLEN would be 0). */
  fifoBytes: number;
  /** SPI bursts that refilled the FIFO after STX. */
  refills: number;
  /** GDO2 reads while refilling. */
  pinReads: number;
  /** Whether the packet needed infinite-length mode (more than 255 FIFO bytes). */
  infiniteLength: boolean;
}

/** Frame format from the L field and the byte count (EN 13757-4 §5.2 / §5.3, frameLengthFromL): a
 *  format B frame is L + 1 bytes, a format A frame longer by its CRCs, so the two never coincide. A
 *  count that fits neither is a 'frame-length' fault. */
export function frameFormatOf(frame: Uint8Array): FrameFormat {
  const l = frame.length > 0 ? frame[0] : -1;
  for (const format of ['A', 'B'] as const) {
    let expected = -1;
    try {
      expected = frameLengthFromL(l, format);
    } catch (e) {
      if (!(e instanceof MeterError)) throw e; // an L no frame of this format can carry: try the other
    }
    if (expected === frame.length) return format;
  }
  throw new Cc1101Fault('frame-length', `L = ${l} fits neither format A nor format B with ${frame.length} bytes`, {
    l,
    length: frame.length,
  });
}

const DEFAULT_MAX_POLLS = 200_000;
/** Free FIFO bytes worth one refill burst. */
const REFILL_CHUNK = 32;
/** Status reads retried this many times for two equal values before the chip is called unstable. */
const STABLE_READ_TRIES = 8;

export class Cc1101 implements Radio {
  private readonly spi: SpiPort;
  private readonly gdo2: DigitalInput;
  private readonly encodeFifo: FifoEncoder;
  private readonly paTable: number;
  private readonly onPoll: () => void;
  private readonly maxPolls: number;
  private configured: WmbusMode | undefined;
  /** MDMCFG2 as last written (the sync mode changes for FIFOs of 256·k bytes). */
  private mdmcfg2 = -1;
  private isReset = false;
  private closed = false;
  private recovering = false;
  /** The last transmission's report. */
  lastTransmit: TransmitReport | undefined;
  // SPI buffers reused by every access: one byte for strobes, two for single registers, and a view of
  // one burst buffer for every length, made once. A fault path (underflow recovery) may reuse them
  // only after the access that raised it is done with them.
  private readonly one = new Uint8Array(1);
  private readonly pair = new Uint8Array(2);
  private readonly burst = new Uint8Array(R.FIFO_SIZE + 1);
  private readonly burstViews: Uint8Array[] = [];

  constructor(options: Cc1101Options) {
    this.spi = options.spi;
    this.gdo2 = options.gdo2;
    for (let n = 1; n <= this.burst.length; n++) this.burstViews[n] = this.burst.subarray(0, n);
    if (!this.gdo2 || typeof this.gdo2.read !== 'function') {
      throw new Cc1101Fault('bad-option', 'the CC1101 driver needs the GDO2 pin (the TX FIFO threshold signal)');
    }
    this.encodeFifo = options.encodeFifo ?? wmbusFifoEncoder;
    this.paTable = options.paTable ?? PA_10DBM_868;
    this.onPoll = options.onPoll ?? (() => {});
    this.maxPolls = options.maxPolls ?? DEFAULT_MAX_POLLS;
    if (!(this.paTable >= 0 && this.paTable <= 0xff && Number.isInteger(this.paTable))) {
      throw new Cc1101Fault('bad-option', `paTable must be a byte, got ${this.paTable}`, { paTable: this.paTable });
    }
  }

  /** The mode the registers hold, if configured. */
  get mode(): WmbusMode | undefined {
    return this.configured;
  }

  /** SRES, then waits for the crystal (CHIP_RDYn low) and checks PARTNUM/VERSION (SWRS061 §19.1.2). */
  reset(): void {
    this.assertOpen();
    this.configured = undefined;
    this.isReset = false;
    this.strobeRaw(R.SRES);
    let polls = 0;
    while (this.strobeRaw(R.SNOP) & R.STATUS_CHIP_RDYN) {
      if (++polls > this.maxPolls) {
        throw new Cc1101Fault('chip-not-ready', 'CHIP_RDYn stayed high after SRES: no crystal, no chip or no power', {
          polls,
        });
      }
      this.onPoll();
    }
    const partnum = this.readStatusRegister(R.PARTNUM);
    const version = this.readStatusRegister(R.VERSION);
    if (partnum !== R.CC1101_PARTNUM || !R.CC1101_VERSIONS.includes(version)) {
      throw new Cc1101Fault('not-cc1101', `PARTNUM 0x${hex(partnum)} VERSION 0x${hex(version)} is not a CC1101`, {
        partnum,
        version,
      });
    }
    this.isReset = true;
  }

  /** Loads the register set of `mode`, verifies it by reading it back, and calibrates the synthesizer. */
  configure(mode: WmbusMode): void {
    this.assertOpen();
    if (mode !== 'T1' && mode !== 'C1') {
      throw new Cc1101Fault('bad-mode', `unsupported wireless M-Bus mode ${String(mode)}`, { mode: String(mode) });
    }
    if (!this.isReset) this.reset();
    this.toIdle();
    const image = wmbusRegisterImage(mode);
    this.writeBurst(0x00, image);
    this.writeBurst(R.PATABLE, new Uint8Array([this.paTable]));
    const back = this.readBurst(0x00, R.CONFIG_REGISTER_COUNT);
    for (let a = 0; a < image.length; a++) {
      if (back[a] !== image[a]) {
        throw new Cc1101Fault('config-mismatch', `${R.CONFIG_REGISTER_NAMES[a]} reads 0x${hex(back[a])}, wrote 0x${hex(image[a])}`, {
          register: R.CONFIG_REGISTER_NAMES[a],
          wrote: image[a],
          read: back[a],
        });
      }
    }
    this.mdmcfg2 = image[R.MDMCFG2];
    this.strobe(R.SCAL);
    this.waitMarcState(R.MARC_IDLE, 'calibration');
    this.configured = mode;
  }

  /** Sends one DLL frame (with CRCs; format A, or B in C1) and returns once the chip is back in IDLE. */
  transmit(frame: Uint8Array, mode: WmbusMode): void {
    this.assertOpen();
    const format = frameFormatOf(frame);
    if (mode === 'T1' && format === 'B') {
      throw new Cc1101Fault('frame-format', 'mode T1 carries frame format A only (EN 13757-4)', { mode, format });
    }
    if (this.configured !== mode) this.configure(mode);
    let data = this.encodeFifo(frame, mode, format);
    // PKTLEN must not be 0: a 256·k-byte FIFO carries the second copy of the sync register instead.
    const syncOnce = data.length % 256 === 0;
    if (syncOnce) {
      const longer = new Uint8Array(data.length + SYNC_REGISTER_COPY.length);
      longer.set(SYNC_REGISTER_COPY, 0);
      longer.set(data, SYNC_REGISTER_COPY.length);
      data = longer;
    }
    const length = data.length;

    this.toIdle();
    this.strobe(R.SFTX);
    const mdmcfg2 = (this.mdmcfg2 & ~7) | (syncOnce ? R.SYNC_MODE_16 : R.SYNC_MODE_32);
    if (mdmcfg2 !== this.mdmcfg2) {
      this.writeRegister(R.MDMCFG2, mdmcfg2);
      this.mdmcfg2 = mdmcfg2;
    }
    const infinite = length > 255;
    this.writeRegister(R.PKTLEN, length & 0xff);
    this.writeRegister(R.PKTCTRL0, infinite ? R.LENGTH_INFINITE : R.LENGTH_FIXED);

    let written = Math.min(length, R.FIFO_SIZE);
    this.writeFifo(data, 0, written);
    this.strobe(R.STX);

    // Refill loop: one pin read per turn; nothing allocated (see the header).
    let refills = 0;
    let pinReads = 0;
    let fixed = !infinite;
    let polls = 0;
    try {
      while (written < length) {
        pinReads++;
        if (this.gdo2.read() === 0) {
          // Below the threshold: at least REFILL_BYTES free.
          const n = length - written < REFILL_BYTES ? length - written : REFILL_BYTES;
          this.writeFifo(data, written, written + n);
          written += n;
          refills++;
          polls = 0;
          // Every byte is in the FIFO, so fewer than 256 remain to be sent: let the byte counter end the packet.
          if (!fixed && written === length) {
            this.writeRegister(R.PKTCTRL0, R.LENGTH_FIXED);
            fixed = true;
          }
        } else if (++polls > this.maxPolls) this.timeout('refill', polls);
        this.onPoll();
      }
    } catch (e) {
      // GDO2 stuck (timeout) or not following the FIFO (overflow): stop the packet, empty the FIFO.
      if (e instanceof Cc1101Fault && (e.code === 'timeout' || e.code === 'tx-overflow')) this.abortPacket();
      throw e;
    }
    // Drain: the chip returns to IDLE (MCSM1.TXOFF_MODE = IDLE) after the last byte. IDLE with bytes
    // still in the FIFO is the moment right after STX, before the state machine has left IDLE.
    polls = 0;
    for (;;) {
      const marc = this.readMarcState();
      if (marc === R.MARC_IDLE && this.txFifoLevel() === 0) break;
      if (marc === R.MARC_TXFIFO_UNDERFLOW) this.underflow();
      if (++polls > this.maxPolls) this.timeout('end of packet', polls);
      this.onPoll();
    }
    this.lastTransmit = { mode, format, fifoBytes: length, refills, pinReads, infiniteLength: infinite };
  }

  /** Powers the chip down (SPWD); the next use resets it. */
  close(): void {
    if (this.closed) return;
    this.toIdle();
    this.strobe(R.SPWD);
    this.closed = true;
    this.configured = undefined;
    this.isReset = false;
  }

  /** Reads one configuration register (0x00..0x2E) or PATABLE[0] (0x3E). */
  readRegister(address: number): number {
    if (!(Number.isInteger(address) && ((address >= 0 && address < R.CONFIG_REGISTER_COUNT) || address === R.PATABLE))) {
      // 0x30..0x3D without the burst bit would be a command strobe, not a read.
      throw new Cc1101Fault('bad-address', `0x${hex(address)} is not a configuration register`, { address });
    }
    const b = this.pair;
    b[0] = R.HEADER_READ | (address & 0x3f);
    b[1] = 0;
    this.transaction(b, false);
    return b[1];
  }

  /** Reads a status register (0x30..0x3D, burst bit set), repeated until two reads agree (SWRZ020). */
  readStatusRegister(address: number): number {
    let last = this.readStatusOnce(address);
    for (let i = 0; i < STABLE_READ_TRIES; i++) {
      const v = this.readStatusOnce(address);
      if (v === last) return v;
      last = v;
    }
    throw new Cc1101Fault('bad-status', `status register 0x${hex(address)} never read the same twice`, { address });
  }

  // ---- internals ----

  private assertOpen(): void {
    if (this.closed) throw new Cc1101Fault('closed', 'the CC1101 driver was closed');
  }

  private readStatusOnce(address: number): number {
    const b = this.pair;
    b[0] = R.HEADER_READ | R.HEADER_BURST | (address & 0x3f);
    b[1] = 0;
    this.transaction(b, false);
    return b[1];
  }

  private writeRegister(address: number, value: number): void {
    const b = this.pair;
    b[0] = address & 0x3f;
    b[1] = value;
    this.transaction(b, true);
  }

  private writeBurst(address: number, data: Uint8Array): void {
    const n = data.length + 1;
    const b = n <= this.burst.length ? this.burstViews[n] : new Uint8Array(n);
    b[0] = R.HEADER_BURST | (address & 0x3f);
    b.set(data, 1);
    this.transaction(b, true);
  }

  /** Bytes `start`…`end` of `data` into the TX FIFO (at most 64: the burst buffer and its views exist
   *  for every length, so nothing is allocated). Each data byte clocks out a status byte: one that
   *  differs from the header's in CHIP_RDYn or state gets the full check (checkStatus), and its free
   *  count (the space before that byte) must not be 0, or the byte was lost. */
  private writeFifo(data: Uint8Array, start: number, end: number): void {
    const n = end - start + 1;
    const b = this.burstViews[n];
    const header = R.HEADER_BURST | R.FIFO;
    b[0] = header;
    for (let i = start; i < end; i++) b[1 + i - start] = data[i];
    this.spi.transfer(b);
    this.spi.flush();
    this.checkStatus(b[0], header);
    const same = b[0] & (R.STATUS_CHIP_RDYN | R.STATUS_STATE_MASK);
    for (let i = 1; i < n; i++) {
      const status = b[i];
      if ((status & (R.STATUS_CHIP_RDYN | R.STATUS_STATE_MASK)) !== same) this.checkStatus(status, header);
      if ((status & R.STATUS_FIFO_MASK) === 0) {
        throw new Cc1101Fault('tx-overflow', 'the TX FIFO was full: GDO2 does not follow the FIFO threshold (wiring, or IOCFG2 lost)', {
          lost: n - i,
        });
      }
    }
  }

  private readBurst(address: number, length: number): Uint8Array {
    const b = new Uint8Array(length + 1);
    b[0] = R.HEADER_READ | R.HEADER_BURST | (address & 0x3f);
    this.transaction(b, false);
    return b.slice(1);
  }

  /** A strobe whose status byte is checked; returns it. */
  private strobe(command: number): number {
    const b = this.one;
    b[0] = command;
    this.transaction(b, true);
    return b[0];
  }

  /** A strobe whose status byte the caller interprets (reset, where CHIP_RDYn is legitimately high). */
  private strobeRaw(command: number): number {
    const b = this.one;
    b[0] = command;
    this.spi.transfer(b);
    this.spi.flush();
    return b[0];
  }

  /** One chip-select period. Checks the status byte clocked out with the header (and, for writes,
   *  with every data byte). */
  private transaction(buffer: Uint8Array, isWrite: boolean): void {
    const header = buffer[0];
    this.spi.transfer(buffer);
    this.spi.flush();
    this.checkStatus(buffer[0], header);
    if (isWrite) for (let i = 1; i < buffer.length; i++) this.checkStatus(buffer[i], header);
  }

  private checkStatus(status: number, header: number): void {
    if (status & R.STATUS_CHIP_RDYN) {
      throw new Cc1101Fault('chip-not-ready', `status 0x${hex(status)}: CHIP_RDYn high (header 0x${hex(header)})`, {
        status,
        header,
      });
    }
    const state = (status & R.STATUS_STATE_MASK) >> R.STATUS_STATE_SHIFT;
    if (state === R.STATE_RX || state === R.STATE_RXFIFO_OVERFLOW) {
      // The driver never strobes SRX: a receive state is a corrupted MISO line or another master.
      throw new Cc1101Fault('bad-status', `status 0x${hex(status)}: receive state on a transmit-only chip`, {
        status,
        header,
      });
    }
    if (state === R.STATE_TXFIFO_UNDERFLOW && header !== R.SIDLE && header !== R.SFTX && header !== R.SNOP) {
      this.underflow();
    }
  }

  /** Ends a packet the refill gave up on: SIDLE, then SFTX (both valid from TX; SWRS061 fig. 25). A
   *  fault here leaves the first one to report. */
  private abortPacket(): void {
    try {
      this.strobeRaw(R.SIDLE);
      this.strobeRaw(R.SFTX);
    } catch (e) {
      if (!(e instanceof MeterError)) throw e;
    }
  }

  /** Leaves the underflow state (SFTX, the only exit; SWRS061 fig. 25) and raises the fault. */
  private underflow(): never {
    let recovered = false;
    if (!this.recovering) {
      this.recovering = true;
      try {
        this.strobe(R.SFTX);
        this.toIdle();
        recovered = true;
      } catch (e) {
        if (!(e instanceof Cc1101Fault)) throw e;
        // The underflow is the fault to report; `recovered: false` says the chip did not come back.
      } finally {
        this.recovering = false;
      }
    }
    throw new Cc1101Fault('tx-underflow', 'the TX FIFO ran empty before the packet ended: the refill came too late', {
      recovered,
    });
  }

  private timeout(what: string, polls: number): never {
    throw new Cc1101Fault('timeout', `CC1101 did not progress during ${what}`, { what, polls });
  }

  private txFifoLevel(): number {
    const v = this.readStatusRegister(R.TXBYTES);
    if (v & R.TXBYTES_UNDERFLOW) this.underflow();
    const count = v & R.TXBYTES_COUNT_MASK;
    if (count > R.FIFO_SIZE) {
      throw new Cc1101Fault('bad-status', `TXBYTES reports ${count} bytes in a 64-byte FIFO`, { txbytes: v });
    }
    return count;
  }

  private readMarcState(): number {
    const v = this.readStatusRegister(R.MARCSTATE) & 0x1f;
    if (v > R.MARC_MAX) throw new Cc1101Fault('bad-status', `MARCSTATE 0x${hex(v)} is not a defined state`, { marcstate: v });
    return v;
  }

  private waitMarcState(target: number, what: string): void {
    let polls = 0;
    while (this.readMarcState() !== target) {
      if (++polls > this.maxPolls) this.timeout(what, polls);
      this.onPoll();
    }
  }

  /** SIDLE, then waits for IDLE; a chip stuck in underflow is cleared with SFTX on the way. */
  private toIdle(): void {
    this.strobe(R.SIDLE);
    this.waitMarcState(R.MARC_IDLE, 'SIDLE');
  }
}

function hex(v: number): string {
  return (v < 16 ? '0' : '') + v.toString(16);
}
