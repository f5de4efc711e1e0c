/**
 * ECMA-419 (Embedded Systems API, 2nd ed.) IO classes as the Moddable SDK implements them on ESP32
 * (modules/io in the SDK; its own typings/embedded_io/*.d.ts). Only what hosts/esp32 uses is declared,
 * written against Moddable SDK 5.x / ESP-IDF 5.x; the SDK's io.md and typings are the reference.
 * A script file (no top-level import/export), so the `declare module` blocks are ambient.
 */

declare module 'embedded:io/_common' {
  /** A GPIO number on ESP32. */
  export type PinSpecifier = number;
  /** A hardware port (SPI host, I2C controller, UART) number. */
  export type PortSpecifier = number;
  /** ECMA-419 `buffer` data: an ArrayBuffer, or a view on one where the host accepts it. */
  export type Buffer = ArrayBuffer | ArrayBufferView;
}

declare module 'embedded:io/spi' {
  import type { Buffer, PinSpecifier, PortSpecifier } from 'embedded:io/_common';

  export interface SPIOptions {
    out?: PinSpecifier;
    in?: PinSpecifier;
    clock: PinSpecifier;
    select?: PinSpecifier;
    /** Level of `select` when the device is selected (default 0). */
    active?: 0 | 1;
    hz: number;
    /** SPI mode 0..3 (CPOL << 1 | CPHA). */
    mode?: 0 | 1 | 2 | 3;
    port?: PortSpecifier;
    format?: 'buffer';
  }

  /** Full-duplex SPI; chip select is asserted on the first transfer and released by flush(). */
  export default class SPI {
    constructor(options: SPIOptions);
    /** Clocks `buffer` out and replaces its contents with what was clocked in. */
    transfer(buffer: Buffer): void;
    write(buffer: Buffer): void;
    read(byteLength: number): ArrayBuffer;
    read(buffer: Buffer): void;
    /** Ends the transaction; `deselect` (default true) releases chip select. */
    flush(deselect?: boolean): void;
    close(): void;
    format: 'buffer';
  }
}

declare module 'embedded:io/i2c' {
  import type { Buffer, PinSpecifier, PortSpecifier } from 'embedded:io/_common';

  export interface I2COptions {
    data: PinSpecifier;
    clock: PinSpecifier;
    hz: number;
    address: number;
    port?: PortSpecifier;
    format?: 'buffer';
  }

  export default class I2C {
    constructor(options: I2COptions);
    /** `stop` false keeps the bus for a repeated start. */
    write(buffer: Buffer, stop?: boolean): void;
    read(byteLength: number, stop?: boolean): ArrayBuffer;
    read(buffer: Buffer, stop?: boolean): void;
    close(): void;
    format: 'buffer';
  }
}

declare module 'embedded:io/digital' {
  import type { PinSpecifier } from 'embedded:io/_common';

  /** Digital.Input, Digital.Output, …: opaque mode constants of the host. */
  export type DigitalMode = number;

  export interface DigitalOptions {
    pin: PinSpecifier;
    mode: DigitalMode;
    /** Digital.Rising | Digital.Falling, with onReadable. */
    edge?: number;
    onReadable?: (this: Digital) => void;
    format?: 'number';
  }

  export default class Digital {
    static readonly Input: DigitalMode;
    static readonly InputPullUp: DigitalMode;
    static readonly InputPullDown: DigitalMode;
    static readonly InputPullUpDown: DigitalMode;
    static readonly Output: DigitalMode;
    static readonly OutputOpenDrain: DigitalMode;
    static readonly Rising: number;
    static readonly Falling: number;
    constructor(options: DigitalOptions);
    read(): 0 | 1;
    write(value: 0 | 1): void;
    close(): void;
    format: 'number';
  }
}

declare module 'embedded:io/serial' {
  import type { Buffer, PinSpecifier, PortSpecifier } from 'embedded:io/_common';

  export interface SerialOptions {
    receive?: PinSpecifier;
    transmit?: PinSpecifier;
    baud: number;
    port?: PortSpecifier;
    flowControl?: 'hardware' | 'none';
    /** Called with the number of bytes available to read. */
    onReadable?: (this: Serial, bytes: number) => void;
    /** Called with the number of bytes that may be written without blocking. */
    onWritable?: (this: Serial, bytes: number) => void;
    format?: 'number' | 'buffer';
  }

  export default class Serial {
    constructor(options: SerialOptions);
    /** format 'buffer': all available bytes, or undefined when there are none. */
    read(): ArrayBuffer | undefined;
    read(byteLength: number): ArrayBuffer | undefined;
    /** Throws when the output buffer cannot take the bytes (wait for onWritable). */
    write(data: Buffer): void;
    flush(): void;
    close(): void;
    format: 'number' | 'buffer';
  }
}
