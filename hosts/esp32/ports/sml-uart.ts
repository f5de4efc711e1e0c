/**
 * The ESP32's UART1, shared by the meter's two SML interfaces (the chip has three UARTs: UART0 is the
 * console and xsbug, UART2 the service interface; Moddable 8.2.3 on ESP-IDF 6 has no RMT-driven
 * software UART, its `pins/rmt` is disabled there). Both run SML transport v1 at 9600 baud 8N1:
 *
 *   UART1 TX ──┬── RS-485 transceiver DI             DE high: the transceiver drives the bus, its
 *              └── NOR(TX, DE) ── optical IR LED      receiver is off (/RE tied to DE), the LED is
 *   UART1 RX ───── transceiver RO (pull-up)            dark; DE low: the LED shows TX (lit = space,
 *   GPIO     ───── DE, /RE                             IEC 62056-21), the bus is heard.
 *
 * One interface owns the transmitter at a time. `optical` and `lmn` are SerialPorts whose `writable`
 * is the output ring's room while the line is theirs or free and 0 while the other has it (the push
 * then skips that second, the LMN holds its answer: modules/sml). A write takes the line: DE is set
 * for the interface, the bytes go to the UART through the service port's adapter (serial.ts: a ring,
 * handed to the FIFO as it takes them, onWritable), and the line is free again when the last byte has
 * left the shift register — each piece handed to the FIFO takes bytes × 10 bits / baud after the
 * previous one — at which time a host timer drops DE (a gateway expects the bus back at once).
 */
import type { DigitalOutput, SerialPort } from '../../../modules/ports/bus.js';
import type { Clock } from '../../../modules/ports/clock.js';
import type { HostTimer } from '../host-timer.js';
import { Ecma419SerialPort, type Ecma419Serial } from './serial.js';

export interface SmlUartOptions {
  /** UART1 (ECMA-419 Serial, format 'buffer', 9600 8N1). */
  serial: Ecma419Serial;
  /** The transceiver's DE (and /RE); high also blanks the IR LED. */
  driverEnable: DigitalOutput;
  baud: number;
  /** The host clock (monotonic ms). */
  clock: Pick<Clock, 'ticks'>;
  /** The host's timer (Moddable Timer.repeat): wakes to drop DE after an LMN answer. */
  repeat: (callback: () => void, ms: number) => HostTimer;
  /** Output ring (default 1024 bytes: a push file or an LMN answer whole). */
  outputBytes?: number;
}

type Owner = 'optical' | 'lmn' | undefined;

const NOTHING = new Uint8Array(0);
/** Bits on the line per byte: start, 8 data, stop. */
const BITS_PER_BYTE = 10;
const IDLE_MS = 3_600_000;
/** After the last byte's expected end, before the line is free: the start bit may begin up to a bit
 *  after the handover, and the host's ticks are whole ms. */
const MARGIN_MS = 1;

/** One interface's end of the shared UART. */
class SmlUartPort implements SerialPort {
  constructor(
    private readonly uart: SmlUart,
    private readonly who: 'optical' | 'lmn',
  ) {}
  write(bytes: Uint8Array): void {
    this.uart.send(this.who, bytes);
  }
  /** The LMN's received bytes (the optical interface receives nothing here: its sensor is an input pin). */
  read(maxBytes?: number): Uint8Array {
    return this.who === 'lmn' ? this.uart.port.read(maxBytes) : NOTHING;
  }
  get writable(): number {
    return this.uart.room(this.who);
  }
}

export class SmlUart implements Ecma419Serial {
  /** The optical info interface's transmitter (write only). */
  readonly optical: SerialPort;
  /** The RS-485 LMN. */
  readonly lmn: SerialPort;
  /** The UART: output ring, FIFO handover, receive side (its flush goes to the serial's onWritable). */
  readonly port: Ecma419SerialPort;
  /** Bytes an interface wrote while the line was not its own or the ring had no room (a caller that did not check `writable`). */
  dropped = 0;
  private owner: Owner;
  /** Ticks when the last byte handed to the UART has left it. */
  private busyUntil = 0;
  private timer: HostTimer | undefined;
  private readonly msPerByte: number;

  constructor(private readonly o: SmlUartOptions) {
    this.msPerByte = (BITS_PER_BYTE * 1000) / o.baud;
    this.port = new Ecma419SerialPort(this, { outputBytes: o.outputBytes ?? 1024 });
    o.driverEnable.write(0);
    this.optical = new SmlUartPort(this, 'optical');
    this.lmn = new SmlUartPort(this, 'lmn');
  }

  /** Ecma419Serial for the port adapter: the UART's bytes. */
  read(): ArrayBuffer | undefined {
    return this.o.serial.read();
  }

  /** Ecma419Serial for the port adapter: hands a piece to the UART and books its time on the line. */
  write(data: ArrayBuffer): void {
    this.o.serial.write(data); // throws when the FIFO cannot take it: nothing was handed then
    this.busyUntil = Math.max(this.busyUntil, this.o.clock.ticks()) + data.byteLength * this.msPerByte;
  }

  /** Which interface has the line now (undefined: free). */
  get holder(): Owner {
    this.release();
    return this.owner;
  }

  /** Hands the UART what its FIFO takes (the serial's onWritable passes the room it has). */
  flush(room?: number): void {
    this.port.flush(room);
    this.settle();
  }

  /** What `who` may write now: the ring's room while the line is its own or free, else 0. */
  room(who: Owner): number {
    this.release();
    return this.owner === undefined || this.owner === who ? this.port.writable : 0;
  }

  /** Takes the line for `who` (DE for the LMN) and queues `bytes`, whole, or drops them whole. */
  send(who: 'optical' | 'lmn', bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (bytes.length > this.room(who)) {
      this.dropped += bytes.length;
      return;
    }
    if (this.owner !== who) {
      this.owner = who;
      this.o.driverEnable.write(who === 'lmn' ? 1 : 0);
    }
    this.port.write(bytes);
    this.settle();
  }
  /** Frees the line once everything written has left the UART (DE low again after the LMN). */
  private release(): void {
    if (this.owner === undefined || this.port.queued > 0 || this.o.clock.ticks() < this.busyUntil + MARGIN_MS) return;
    if (this.owner === 'lmn') this.o.driverEnable.write(0);
    this.owner = undefined;
  }

  /** While the LMN has the line, a timer wakes when its last byte is out (or to hand more to the FIFO). */
  private settle(): void {
    this.release();
    if (this.owner !== 'lmn') {
      // One timer for good (made at the first answer): idle, it wakes once an hour and finds nothing.
      this.timer?.schedule(IDLE_MS);
      return;
    }
    const wait = Math.max(1, Math.ceil(this.busyUntil + MARGIN_MS - this.o.clock.ticks()));
    this.timer ??= this.o.repeat(() => this.flush(), IDLE_MS);
    this.timer.schedule(wait);
  }
}
