/**
 * A serial character device (USB-serial adapter `/dev/ttyUSB0`, `/dev/ttyACM0`, or a pty slave
 * `/dev/pts/N`) as a SerialPort for the service interface, with no native module: the device is
 * opened with node:fs, put in raw mode at the baud rate by `stty -F PATH raw -echo BAUD` (POSIX
 * termios through coreutils), then read and written through a libuv tty handle (node:tty), which
 * polls the descriptor without blocking a thread-pool worker, so close() always returns.
 * Default 115200 baud, 8N1 (what `raw` leaves: cs8, no parity, one stop bit, no flow control).
 */
import { execFile } from 'node:child_process';
import { closeSync, constants, openSync, statSync } from 'node:fs';
import { ReadStream, isatty } from 'node:tty';
import type { SerialPort } from '../../modules/ports/bus.js';
import { Inbox } from './service-pipe.js';
import { TransportError } from './transport-error.js';

/** Baud rates that termios (and so stty) can set on Linux. */
export const BAUD_RATES: readonly number[] = [
  50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 500000, 576000, 921600,
  1000000, 1152000, 1500000, 2000000, 2500000, 3000000, 3500000, 4000000,
];
export const DEFAULT_BAUD = 115200;

export interface SerialDeviceOptions {
  /** Line speed in baud (one of BAUD_RATES; default 115200). A pty ignores it. */
  baud?: number;
  /** The stty program (default 'stty', from PATH). */
  stty?: string;
  /** Received bytes held for read() (default 4096): at this mark the device is no longer read, so
   *  the kernel's buffer fills and the sender is held back (or, on a UART, overruns). */
  inboxBytes?: number;
  /** Bytes queued for the device before `writable` is 0 (default 16384). */
  outboxBytes?: number;
}

function runStty(stty: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(stty, args, { timeout: 5000 }, (e, _out, err) => (e ? reject(Object.assign(e, { stderr: String(err).trim() })) : resolve()));
  });
}

/** The bench's end of a serial line on a character device. */
export class SerialDevice implements SerialPort {
  private readonly inbox = new Inbox();
  private closed = false;
  private paused = false;
  private readonly inboxBytes: number;
  private readonly outboxBytes: number;
  /** Why the line dropped (the device went away, e.g. EIO when a USB adapter is unplugged). */
  lastError: string | undefined;

  private constructor(
    private readonly stream: ReadStream,
    readonly path: string,
    readonly baud: number,
    options: SerialDeviceOptions,
  ) {
    this.inboxBytes = options.inboxBytes ?? 4096;
    this.outboxBytes = options.outboxBytes ?? 16384;
    stream.on('data', (d: Buffer) => {
      this.inbox.push(d);
      if (this.inbox.size >= this.inboxBytes && !this.paused) {
        this.paused = true;
        stream.pause();
      }
    });
    stream.on('error', (e: Error) => {
      this.lastError = e.message;
    });
    stream.on('close', () => {
      this.closed = true;
    });
  }

  /**
   * Opens PATH and sets it raw at `baud`. TransportError codes: 'bad-baud', 'no-device' (no such
   * path), 'permission' (e.g. not in the dialout group), 'not-a-tty' (a regular file, a directory,
   * /dev/null…), 'unsupported' (no stty), 'configure' (stty refused the device).
   */
  static async open(path: string, options: SerialDeviceOptions = {}): Promise<SerialDevice> {
    const baud = options.baud ?? DEFAULT_BAUD;
    const details = { path, baud };
    if (!BAUD_RATES.includes(baud)) throw new TransportError('bad-baud', `${baud} baud is not a termios rate (${BAUD_RATES.join(', ')})`, details);
    let fd: number;
    try {
      if (!statSync(path).isCharacterDevice()) throw new TransportError('not-a-tty', `${path} is not a character device (a serial port or a pty)`, details);
      fd = openSync(path, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
    } catch (e) {
      if (e instanceof TransportError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENXIO' || code === 'ENODEV') throw new TransportError('no-device', `${path}: no such device`, details);
      if (code === 'EACCES' || code === 'EPERM') throw new TransportError('permission', `${path}: permission denied (on Linux: join the dialout group)`, details);
      if (code === 'EBUSY') throw new TransportError('busy', `${path}: device busy (another program has it open)`, details);
      throw new TransportError('open', `${path}: ${(e as Error).message}`, details);
    }
    if (!isatty(fd)) {
      closeSync(fd);
      throw new TransportError('not-a-tty', `${path} is a character device but not a terminal (a serial port or a pty)`, details);
    }
    try {
      await runStty(options.stty ?? 'stty', ['-F', path, 'raw', '-echo', String(baud)]);
    } catch (e) {
      closeSync(fd);
      const err = e as NodeJS.ErrnoException & { stderr?: string };
      if (err.code === 'ENOENT') throw new TransportError('unsupported', `cannot set ${path} raw: no stty program on this host`, details);
      throw new TransportError('configure', `stty cannot set ${path} raw at ${baud} baud: ${err.stderr || err.message}`, details);
    }
    return new SerialDevice(new ReadStream(fd), path, baud, options);
  }

  get open(): boolean {
    return !this.closed;
  }

  read(maxBytes?: number): Uint8Array {
    const out = this.inbox.take(maxBytes);
    if (this.paused && this.inbox.size < this.inboxBytes) {
      this.paused = false;
      this.stream.resume();
    }
    return out;
  }

  /** Room in the output queue (bytes the device has not taken yet count against it). */
  get writable(): number {
    return this.closed ? Infinity : Math.max(0, this.outboxBytes - this.stream.writableLength);
  }

  /** Queues bytes for the device; after close (or the device going away) they are dropped, as on a cut line. */
  write(bytes: Uint8Array): void {
    if (!this.closed && !this.stream.destroyed) this.stream.write(bytes);
  }

  /** Releases the device (pending writes are flushed first). */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.stream.once('close', () => resolve());
      if (this.stream.writableLength === 0) this.stream.destroy();
      else this.stream.end(() => this.stream.destroy());
    });
  }
}
