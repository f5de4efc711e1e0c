/**
 * Buses and pins, as a host hands them to portable code. Shaped after ECMA-419 (Embedded Systems
 * API) so Moddable's `embedded:io` SPI, I2C, Digital and Serial instances fit without adapters on
 * ESP32; hosts/sim implements them over register-level chip simulators.
 */

/** An SPI device: one chip behind its own chip select. */
export interface SpiPort {
  /** Full duplex: clocks `buffer` out and replaces its contents with the bytes clocked in.
   *  Chip select is asserted on the first transfer of a transaction. */
  transfer(buffer: Uint8Array): void;
  /** Clocks `buffer` out, discarding what comes in. */
  write(buffer: Uint8Array): void;
  /** Clocks out 0x00 bytes and fills `buffer` with what comes in. */
  read(buffer: Uint8Array): void;
  /** Ends the transaction; `deselect` (default true) releases chip select. */
  flush(deselect?: boolean): void;
}

/** An I2C device at a fixed 7-bit address. */
export interface I2cPort {
  /** Writes `buffer`; `stop` false keeps the bus for a repeated start (a register read). */
  write(buffer: Uint8Array, stop?: boolean): void;
  /** Fills `buffer` from the device. */
  read(buffer: Uint8Array, stop?: boolean): void;
}

export type Level = 0 | 1;

export interface DigitalOutput {
  write(value: Level): void;
}

export interface DigitalInput {
  read(): Level;
}

/**
 * A byte-stream serial port (the service interface). A port holds bounded buffers in both
 * directions, so a peer that floods it or never reads costs bounded memory: what does not fit its
 * receive buffer is dropped (a UART overrun) or held back by flow control.
 */
export interface SerialPort {
  /** Queues bytes to send. A port with `writable` may drop bytes beyond it: check first. */
  write(bytes: Uint8Array): void;
  /** Bytes received since the last call (possibly none), at most `maxBytes` when given; the rest
   *  waits for the next call. */
  read(maxBytes?: number): Uint8Array;
  /** Bytes write() takes now (room left in the output buffer); absent: no bound. */
  readonly writable?: number;
}

/** Counts rising edges of an input in the host — an interrupt or a hardware pulse counter — so pulses
 *  shorter than the application's tick are not missed (e.g. light pulses on the optical port's sensor). */
export interface EdgeCounter {
  /** Edges since the last call. */
  take(): number;
}
