/**
 * Transports for the service interface on the desktop: the in-memory pair (service-pipe.ts,
 * re-exported), a TCP bridge on 127.0.0.1 (the simulated meter listens, the bench connects:
 * `--target tcp://127.0.0.1:PORT`), a serial device (`--target /dev/ttyX`: serial-device.ts, a
 * USB-serial adapter or a pty slave, raw at 115200 baud by default), real timers for the client,
 * and the parser of `--target`.
 */
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { MeterError } from '../../modules/core/errors.js';
import type { SerialPort } from '../../modules/ports/bus.js';
import type { ClientTiming } from '../../modules/service/client.js';
import { SerialDevice, type SerialDeviceOptions } from './serial-device.js';

export * from './service-pipe.js';

/** A transport could not be opened or used: 'bad-target', 'connect', 'unsupported'. */
export class TransportError extends MeterError {}

/** Received bytes waiting for read(). */
export class Inbox {
  private chunks: Uint8Array[] = [];
  push(b: Uint8Array): void {
    // Copy out of Node's Buffer pool into a plain Uint8Array, as portable code expects.
    if (b.length) this.chunks.push(new Uint8Array(b));
  }
  take(): Uint8Array {
    if (this.chunks.length === 1) return this.chunks.pop() as Uint8Array;
    let n = 0;
    for (const c of this.chunks) n += c.length;
    const out = new Uint8Array(n);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    this.chunks = [];
    return out;
  }
}

/** The meter's end of the TCP bridge: one bench connection at a time; a second one is closed. */
export class TcpSerialListener implements SerialPort {
  private socket: Socket | undefined;
  private readonly inbox = new Inbox();

  private constructor(
    private readonly server: Server,
    readonly host: string,
    readonly port: number,
  ) {
    server.on('connection', (s) => {
      if (this.socket) {
        s.destroy();
        return;
      }
      this.socket = s;
      s.setNoDelay(true);
      s.on('data', (d) => this.inbox.push(d));
      s.on('error', () => undefined);
      s.on('close', () => {
        if (this.socket === s) this.socket = undefined;
      });
    });
  }

  /** Listens on host:port (port 0: any free port; see `.port`). */
  static listen(port = 0, host = '127.0.0.1'): Promise<TcpSerialListener> {
    return new Promise((resolve, reject) => {
      const server = createServer();
      server.once('error', (e) => reject(new TransportError('listen', `cannot listen on ${host}:${port}: ${e.message}`)));
      server.listen(port, host, () => {
        const addr = server.address();
        resolve(new TcpSerialListener(server, host, typeof addr === 'object' && addr ? addr.port : port));
      });
    });
  }

  get connected(): boolean {
    return this.socket !== undefined;
  }
  get url(): string {
    return `tcp://${this.host}:${this.port}`;
  }

  read(): Uint8Array {
    return this.inbox.take();
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

  read(): Uint8Array {
    return this.inbox.take();
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
