/**
 * SerialPort (modules/ports/bus.ts) over an ECMA-419 Serial instance in `buffer` format (Moddable
 * `embedded:io/serial`). The UART's FIFOs are small (128 bytes on the ESP32) and Moddable's write()
 * throws "output full" when the bytes do not fit the transmit FIFO, so a reply (up to ~1 KB) goes
 * through a bounded output ring: write() queues it and `flush()` moves what the FIFO takes, in
 * pieces, on every read() and write() and whenever the host passes on onWritable. `writable` is the
 * ring's free room, so the service server holds a reply that does not fit instead of growing a
 * queue. read(maxBytes) returns at most that many bytes; the rest of what the UART gave waits here
 * (at most one FIFO's worth).
 */
import type { SerialPort } from '../../../modules/ports/bus.js';
import { wholeBuffer } from './buffers.js';

/** What the adapter uses of `embedded:io/serial` (format 'buffer'). */
export interface Ecma419Serial {
  read(): ArrayBuffer | undefined;
  /** Throws when the transmit FIFO cannot take the bytes now (nothing is written then). */
  write(data: ArrayBuffer): void;
}

export interface Ecma419SerialPortOptions {
  /** Output ring size (default 2048: a maximal reply of 1033 bytes and then some). */
  outputBytes?: number;
  /** Most bytes handed to the UART in one write (default 64, half the ESP32's transmit FIFO). */
  writeChunk?: number;
}

/** What read() returns when nothing arrived: polled every tick, so shared rather than allocated. */
const NOTHING = new Uint8Array(0);

export class Ecma419SerialPort implements SerialPort {
  /** Times the UART could not take a piece yet (its FIFO was full): the rest went later. */
  fifoFull = 0;
  /** Bytes dropped because write() was given more than `writable` (a caller that did not check). */
  dropped = 0;
  private readonly ring: Uint8Array;
  private readonly writeChunk: number;
  private head = 0;
  private size = 0;
  private rest: Uint8Array = NOTHING;

  constructor(
    private readonly serial: Ecma419Serial,
    options: Ecma419SerialPortOptions = {},
  ) {
    this.ring = new Uint8Array(options.outputBytes ?? 2048);
    this.writeChunk = options.writeChunk ?? 64;
  }

  read(maxBytes = Infinity): Uint8Array {
    if (this.size > 0) this.flush();
    if (this.rest.length === 0) {
      const b = this.serial.read();
      if (!b || b.byteLength === 0) return NOTHING;
      this.rest = new Uint8Array(b);
    }
    if (this.rest.length <= maxBytes) {
      const all = this.rest;
      this.rest = NOTHING;
      return all;
    }
    const out = this.rest.subarray(0, maxBytes);
    this.rest = this.rest.subarray(maxBytes);
    return out;
  }

  /** Bytes queued and not yet taken by the UART. */
  get queued(): number {
    return this.size;
  }

  /** Room in the ring, after handing the UART what it takes now (the server asks every poll while
   *  a reply waits, so the ring drains even without onWritable). */
  get writable(): number {
    if (this.size > 0) this.flush();
    return this.ring.length - this.size;
  }

  /** Queues `bytes` whole (or drops them whole when the ring has no room) and starts sending. */
  write(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (bytes.length > this.writable) {
      this.dropped += bytes.length;
      return;
    }
    const cap = this.ring.length;
    const tail = (this.head + this.size) % cap;
    const first = Math.min(bytes.length, cap - tail);
    this.ring.set(bytes.subarray(0, first), tail);
    if (first < bytes.length) this.ring.set(bytes.subarray(first), 0);
    this.size += bytes.length;
    this.flush();
  }

  /** Hands queued bytes to the UART until it takes no more (or `room` bytes, when the host knows
   *  the FIFO's room from onWritable). */
  flush(room = Infinity): void {
    while (this.size > 0 && room > 0) {
      const n = Math.min(this.size, this.ring.length - this.head, this.writeChunk, room);
      try {
        this.serial.write(wholeBuffer(this.ring.subarray(this.head, this.head + n)));
      } catch {
        // ECMA-419: the FIFO cannot take it now; nothing was written. Retried on the next call.
        this.fifoFull++;
        return;
      }
      this.head = (this.head + n) % this.ring.length;
      this.size -= n;
      room -= n;
    }
  }
}
