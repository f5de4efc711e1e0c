/**
 * In-memory transport for the service interface: two SerialPorts joined back to back (what one
 * end writes, the other reads), and a virtual clock for the client that runs the meter's loop
 * while the client waits. No Node API, so tests can run it under XS as well.
 */
import type { SerialPort } from '../../modules/ports/bus.js';
import type { ClientTiming } from '../../modules/service/client.js';

export interface MemoryPortOptions {
  /** Size of the next read() (bytes arrive in chunks); default: everything pending. */
  chunk?: () => number;
}

/** One end of a memory serial line. */
export class MemorySerialPort implements SerialPort {
  private inbox: Uint8Array[] = [];
  private inboxBytes = 0;
  peer: MemorySerialPort | undefined;
  /** Every byte written at this end, in order (for tests and traces). */
  written = 0;

  constructor(private readonly options: MemoryPortOptions = {}) {}

  write(bytes: Uint8Array): void {
    this.written += bytes.length;
    this.peer?.deliver(bytes.slice());
  }

  /** Bytes waiting to be read at this end. */
  get pending(): number {
    return this.inboxBytes;
  }

  read(): Uint8Array {
    const limit = this.options.chunk ? Math.max(0, Math.floor(this.options.chunk())) : Infinity;
    const n = Math.min(limit, this.inboxBytes);
    const out = new Uint8Array(n);
    let o = 0;
    while (o < n) {
      const head = this.inbox[0];
      const take = Math.min(head.length, n - o);
      out.set(head.subarray(0, take), o);
      o += take;
      if (take === head.length) this.inbox.shift();
      else this.inbox[0] = head.subarray(take);
    }
    this.inboxBytes -= n;
    return out;
  }

  /** Puts bytes into this end's inbox as if the peer had written them (line noise, injected frames). */
  deliver(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.inbox.push(bytes);
    this.inboxBytes += bytes.length;
  }
}

/** A serial line: `bench` is the client's end, `meter` the server's. */
export function memorySerialPair(
  options: { bench?: MemoryPortOptions; meter?: MemoryPortOptions } = {},
): { bench: MemorySerialPort; meter: MemorySerialPort } {
  const bench = new MemorySerialPort(options.bench);
  const meter = new MemorySerialPort(options.meter);
  bench.peer = meter;
  meter.peer = bench;
  return { bench, meter };
}

/**
 * A virtual clock for ServiceClient: each sleep(ms) advances time by ms and runs `step` (e.g. the
 * server's poll()) once, then resolves on the microtask queue. Time-outs are deterministic.
 */
export class VirtualTiming implements ClientTiming {
  now = 0;
  constructor(private readonly step: () => void = () => undefined) {}
  ticks(): number {
    return this.now;
  }
  sleep(ms: number): Promise<void> {
    this.now += Math.max(ms, 0);
    this.step();
    return Promise.resolve();
  }
}
