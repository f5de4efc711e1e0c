/**
 * Board wiring of the xsmeter ESP32 reference board (ESP32-WROOM-32 / DevKitC): one SPI bus (the
 * ESP32's VSPI, SPI3_HOST) shared by the metrology IC and the CC1101 with a chip select each, the
 * calibration pulse LED, the seal/calibration switch, the service UART and the SML interfaces (UART1
 * shared by the RS-485 LMN and the optical port's IR LED, ports/sml-uart.ts; the optical sensor on an
 * input-only pin). The README's "ESP32 build" section prints this table; change both together.
 */

export interface PinTable {
  /** Shared SPI bus: clock, MOSI (out), MISO (in), ESP32 SPI host number. */
  spi: { clock: number; out: number; in: number; port: number };
  /** Metrology IC (ADE7953: SPI mode 3, up to 2 MHz). */
  metrology: { select: number; hz: number; mode: 0 | 1 | 2 | 3; reset: number };
  /** CC1101 (SPI mode 0; 6.5 MHz maximum in burst access, SWRS061 table 22). GDO0/GDO2 are wired
   *  for a future interrupt-driven refill; the driver polls TXBYTES over SPI today. */
  radio: { select: number; hz: number; gdo0: number; gdo2: number };
  /** Calibration pulse LED (constant imp/kWh), active high through a transistor. */
  pulseLed: number;
  /** Calibration / seal switch to ground, internal pull-up: reads 0 when closed. */
  calibrationSwitch: number;
  /** Service interface UART (optical head or bench cable). */
  service: { port: number; transmit: number; receive: number; baud: number };
  /** SML (ports/sml-uart.ts): UART1 at 9600 8N1, TX to the RS-485 transceiver's DI and, gated by
   *  NOR(TX, DE), the optical port's IR LED; RX from the transceiver's RO (pull-up); DE (and /RE) of
   *  the transceiver; the optical port's photo sensor (open collector to GND, external pull-up: GPIO
   *  34–39 have none), whose falling edges are the PIN's flashes. */
  sml: { port: number; transmit: number; receive: number; baud: number; driverEnable: number; sensor: number };
}

// Frozen: preloaded, the tables live in flash (a table that is not frozen would be copied to RAM
// the first time anything wrote it).
export const BOARD_PINS: PinTable = Object.freeze({
  spi: Object.freeze({ clock: 18, out: 23, in: 19, port: 3 }),
  metrology: Object.freeze({ select: 5, hz: 1_000_000, mode: 3 as const, reset: 33 }),
  radio: Object.freeze({ select: 4, hz: 5_000_000, gdo0: 25, gdo2: 26 }),
  pulseLed: 27,
  calibrationSwitch: 32,
  service: Object.freeze({ port: 2, transmit: 17, receive: 16, baud: 115_200 }),
  sml: Object.freeze({ port: 1, transmit: 22, receive: 21, baud: 9600, driverEnable: 13, sensor: 34 }),
});

/** ESP-IDF data partitions (hosts/esp32/partitions.csv) opened with Moddable's `flash` module. */
export const PARTITIONS = Object.freeze({
  /** Energy registers, counters, active calibration: stores as the flash map says (modules/storage/flash-map.ts). */
  energy: 'xsenergy',
  /** The sealed calibration log (and the meter witness), by the same map. */
  calibration: 'xscal',
} as const);
