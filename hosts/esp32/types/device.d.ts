/**
 * The ECMA-419 host provider global `device` of Moddable's ESP32 ports (embedded:provider/builtin):
 * the IO constructors in `device.io` and the board's default bus options and named pins.
 * Also the XS `trace` global that Moddable hosts provide for debug output.
 */

interface HostDevice {
  readonly io: {
    readonly SPI: typeof import('embedded:io/spi').default;
    readonly I2C: typeof import('embedded:io/i2c').default;
    readonly Digital: typeof import('embedded:io/digital').default;
    readonly Serial: typeof import('embedded:io/serial').default;
  };
  readonly SPI?: { readonly default?: Partial<import('embedded:io/spi').SPIOptions> };
  readonly I2C?: { readonly default?: Partial<import('embedded:io/i2c').I2COptions> };
  readonly Serial?: { readonly default?: Partial<import('embedded:io/serial').SerialOptions> };
  readonly pin?: { readonly [name: string]: number };
}

declare const device: HostDevice;

/** XS debug output (to xsbug or the serial console). */
declare function trace(...values: Array<string | number | boolean>): void;
