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
  /** Bytes this end's receive buffer holds unread (default: no bound); what arrives beyond it is
   *  dropped and counted in `overrun`, as a UART's receive buffer overruns. The other end sees the
   *  room left as its `writable`. */
  capacity?: number;
}

/** What a read of nothing returns (zero length: nothing can be written into it). */
const NOTHING = new Uint8Array(0);

/** Received bytes waiting for read(). */
export class Inbox {
  private chunks: Uint8Array[] = [];
  /** Bytes held. */
  size = 0;
  push(b: Uint8Array): void {
    // A copy: the sender may reuse its buffer (Node's Buffer pool), and portable code expects a plain Uint8Array.
    if (b.length === 0) return;
    this.chunks.push(new Uint8Array(b));
    this.size += b.length;
  }
  /** At most `max` bytes, oldest first (all by default). */
  take(max = Infinity): Uint8Array {
    const n = Math.min(max, this.size);
    if (n === 0) return NOTHING; // polled on every tick: no allocation when idle
    if (n === this.size && this.chunks.length === 1) {
      this.size = 0;
      return this.chunks.pop() as Uint8Array;
    }
    const out = new Uint8Array(n);
    let o = 0;
    while (o < n) {
      const head = this.chunks[0];
      const k = Math.min(head.length, n - o);
      out.set(head.subarray(0, k), o);
      o += k;
      if (k === head.length) this.chunks.shift();
      else this.chunks[0] = head.subarray(k);
    }
    this.size -= n;
    return out;
  }
  clear(): void {
    this.chunks = [];
    this.size = 0;
  }
}

/** One end of a memory serial line. */
export class MemorySerialPort implements SerialPort {
  private readonly inbox = new Inbox();
  peer: MemorySerialPort | undefined;
  /** Every byte written at this end, in order (for tests and traces). */
  written = 0;
  /** Bytes dropped on arrival because the receive buffer was full. */
  overrun = 0;
  readonly capacity: number;

  constructor(private readonly options: MemoryPortOptions = {}) {
    this.capacity = options.capacity ?? Infinity;
  }

  write(bytes: Uint8Array): void {
    this.written += bytes.length;
    this.peer?.deliver(bytes);
  }

  /** Room left in the peer's receive buffer (Infinity when it has no bound or there is no peer). */
  get writable(): number {
    return this.peer ? this.peer.capacity - this.peer.inbox.size : Infinity;
  }

  /** Bytes waiting to be read at this end. */
  get pending(): number {
    return this.inbox.size;
  }

  read(maxBytes = Infinity): Uint8Array {
    const limit = this.options.chunk ? Math.max(0, Math.floor(this.options.chunk())) : Infinity;
    return this.inbox.take(Math.min(limit, maxBytes));
  }

  /** Puts bytes into this end's inbox as if the peer had written them (line noise, injected
   *  frames); beyond `capacity` they are dropped. */
  deliver(bytes: Uint8Array): void {
    const n = Math.max(0, Math.min(bytes.length, this.capacity - this.inbox.size));
    this.overrun += bytes.length - n;
    this.inbox.push(n === bytes.length ? bytes : bytes.subarray(0, n));
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
