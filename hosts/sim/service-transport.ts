/**
 * Transports for the service interface on the desktop: the in-memory pair (service-pipe.ts,
 * re-exported), a TCP bridge on 127.0.0.1 (the simulated meter listens, the bench connects:
 * `--target tcp://127.0.0.1:PORT`), a serial device (`--target /dev/ttyX`: serial-device.ts, a
 * USB-serial adapter or a pty slave, raw at 115200 baud by default), real timers for the client,
 * and the parser of `--target`.
 */
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import type { SerialPort } from '../../modules/ports/bus.js';
import type { ClientTiming } from '../../modules/service/client.js';
import { SerialDevice, type SerialDeviceOptions } from './serial-device.js';

export * from './service-pipe.js';
import { Inbox } from './service-pipe.js';
import { TransportError } from './transport-error.js';

export { TransportError } from './transport-error.js';

export interface TcpListenerOptions {
  /** Received bytes held for read() (default 4096): at this mark the connection is paused, so TCP
   *  flow control holds back a client the meter is not reading (one socket read, at most 64 KiB,
   *  may already be on its way). */
  inboxBytes?: number;
  /** Reply bytes queued for the connection before `writable` is 0 (default 16384). */
  outboxBytes?: number;
  /** A connection that has sent nothing the meter took for this long is closed (default 5 min). */
  idleTimeoutMs?: number;
  /** The clock of the idle timeout (default: real time; a simulation passes its meter's clock). */
  clock?: { ticks(): number };
}

export const TCP_INBOX_BYTES = 4096;
export const TCP_OUTBOX_BYTES = 16384;
export const TCP_IDLE_TIMEOUT_MS = 5 * 60_000;

/**
 * The meter's end of the TCP bridge: it behaves as the meter's serial line, so one connection has
 * it at a time, and the newest wins: a new connection takes the line over and the one it replaces
 * is closed (as plugging in another probe), so a client that stalls, floods or never reads can
 * lock nobody out. A connection that sends nothing for `idleTimeoutMs` (or whose replies go unread,
 * so the meter stops reading it) is closed. Buffers are bounded both ways (TcpListenerOptions).
 */
export class TcpSerialListener implements SerialPort {
  /** Connections closed because a newer one took the line, or because they went idle. */
  takeovers = 0;
  idleCloses = 0;
  private socket: Socket | undefined;
  private paused = false;
  private lastRx = 0;
  private readonly inbox = new Inbox();
  private readonly inboxBytes: number;
  private readonly outboxBytes: number;
  private readonly idleTimeoutMs: number;
  private readonly clock: { ticks(): number };

  private constructor(
    private readonly server: Server,
    readonly host: string,
    readonly port: number,
    options: TcpListenerOptions,
  ) {
    this.inboxBytes = options.inboxBytes ?? TCP_INBOX_BYTES;
    this.outboxBytes = options.outboxBytes ?? TCP_OUTBOX_BYTES;
    this.idleTimeoutMs = options.idleTimeoutMs ?? TCP_IDLE_TIMEOUT_MS;
    this.clock = options.clock ?? { ticks: () => performance.now() };
    server.on('connection', (s) => this.accept(s));
  }

  /** Listens on host:port (port 0: any free port; see `.port`). */
  static listen(port = 0, host = '127.0.0.1', options: TcpListenerOptions = {}): Promise<TcpSerialListener> {
    return new Promise((resolve, reject) => {
      const server = createServer();
      server.once('error', (e) => reject(new TransportError('listen', `cannot listen on ${host}:${port}: ${e.message}`)));
      server.listen(port, host, () => {
        const addr = server.address();
        resolve(new TcpSerialListener(server, host, typeof addr === 'object' && addr ? addr.port : port, options));
      });
    });
  }

  private accept(s: Socket): void {
    if (this.socket) {
      this.socket.destroy();
      this.takeovers++;
    }
    this.socket = s;
    this.inbox.clear(); // the old connection's unread bytes are not the new one's
    this.paused = false;
    this.lastRx = this.clock.ticks();
    s.setNoDelay(true);
    s.on('data', (d) => {
      if (this.socket !== s) return;
      this.inbox.push(d);
      this.lastRx = this.clock.ticks();
      if (this.inbox.size >= this.inboxBytes && !this.paused) {
        this.paused = true;
        s.pause();
      }
    });
    s.on('error', () => undefined);
    s.on('close', () => {
      if (this.socket === s) this.socket = undefined;
    });
  }

  /** Closes the connection once it has been idle too long (checked whenever the meter polls). */
  private checkIdle(): void {
    if (this.socket && this.clock.ticks() - this.lastRx >= this.idleTimeoutMs) {
      this.socket.destroy();
      this.socket = undefined;
      this.inbox.clear();
      this.idleCloses++;
    }
  }

  get connected(): boolean {
    return this.socket !== undefined;
  }
  get url(): string {
    return `tcp://${this.host}:${this.port}`;
  }
  /** Received bytes waiting for read(). */
  get received(): number {
    return this.inbox.size;
  }
  /** Reply bytes queued in this process for the connection (not yet taken by the kernel). */
  get queued(): number {
    return this.socket?.writableLength ?? 0;
  }

  read(maxBytes?: number): Uint8Array {
    this.checkIdle();
    const out = this.inbox.take(maxBytes);
    if (this.paused && this.inbox.size < this.inboxBytes) {
      this.paused = false;
      this.socket?.resume();
    }
    return out;
  }

  /** Room for replies: nothing connected takes everything (the bytes are lost, as on an open line). */
  get writable(): number {
    this.checkIdle();
    return this.socket ? Math.max(0, this.outboxBytes - this.socket.writableLength) : Infinity;
  }

  /** Sends to the connected bench; with none connected the bytes are lost, as on an open line. */
  write(bytes: Uint8Array): void {
    this.socket?.write(bytes);
  }

  close(): Promise<void> {
    this.socket?.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** The bench's end of the TCP bridge. */
export class TcpSerialClient implements SerialPort {
  private readonly inbox = new Inbox();
  private closed = false;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (d) => this.inbox.push(d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
    });
  }

  static connect(host: string, port: number, timeoutMs = 2000): Promise<TcpSerialClient> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new TransportError('connect', `no connection to ${host}:${port} within ${timeoutMs} ms`, { host, port }));
      }, timeoutMs);
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(new TransportError('connect', `cannot connect to ${host}:${port}: ${e.message}`, { host, port }));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new TcpSerialClient(socket));
      });
    });
  }

  get open(): boolean {
    return !this.closed;
  }

  read(maxBytes?: number): Uint8Array {
    return this.inbox.take(maxBytes);
  }

  write(bytes: Uint8Array): void {
    if (!this.closed) this.socket.write(bytes);
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.end();
      this.socket.destroySoon?.();
    });
  }
}

/** Real time for ServiceClient over a real transport. */
export const nodeTiming: ClientTiming = {
  ticks: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** What `--target` names. */
export type TargetSpec = { kind: 'sim' } | { kind: 'tcp'; host: string; port: number } | { kind: 'device'; path: string };

/** Parses `sim`, `tcp://HOST:PORT` or a device path (`/dev/ttyX`); TransportError('bad-target') otherwise. */
export function parseTarget(spec: string): TargetSpec {
  if (spec === 'sim') return { kind: 'sim' };
  const m = /^tcp:\/\/(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(spec);
  if (m) {
    const port = Number(m[2]);
    if (port < 1 || port > 65535) throw new TransportError('bad-target', `TCP port ${port} out of range in "${spec}"`, { spec });
    return { kind: 'tcp', host: m[1].replace(/^\[|\]$/g, ''), port };
  }
  if (/^\/dev\/[A-Za-z0-9._/-]+$/.test(spec)) return { kind: 'device', path: spec };
  throw new TransportError('bad-target', `target "${spec}" is not sim, tcp://HOST:PORT or /dev/…`, { spec });
}

/** Opens a TCP or device target as a SerialPort for ServiceClient ('sim' is built in-process by the bench). */
export async function openTarget(spec: TargetSpec, options: SerialDeviceOptions = {}): Promise<SerialPort & { close(): Promise<void> }> {
  if (spec.kind === 'tcp') return TcpSerialClient.connect(spec.host, spec.port);
  if (spec.kind === 'device') return SerialDevice.open(spec.path, options);
  throw new TransportError('unsupported', "target 'sim' is an in-process meter: use memorySerialPair()");
}
