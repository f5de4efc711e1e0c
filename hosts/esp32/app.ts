/**
 * The contract between the ESP32 host and the meter application (modules/app MeterApp, started by main.ts):
 * the host constructs every port from the board's pin table and hands them over once; the
 * application never touches Moddable or ECMA-419 APIs itself, so the same application runs on the
 * desktop simulator with simulated ports.
 */
import type { DigitalInput, DigitalOutput, SerialPort, SpiPort } from '../../modules/ports/bus.js';
import type { Clock } from '../../modules/ports/clock.js';
import type { Flash } from '../../modules/ports/flash.js';
import type { KeyStore } from '../../modules/ports/key-store.js';
import type { Radio } from '../../modules/ports/radio.js';

/** Everything the meter application gets from the host. */
export interface HostPorts {
  /** SPI device of the metrology IC (its own chip select). */
  metrologySpi: SpiPort;
  /** Calibration pulse LED output (1 = lit). */
  pulseLed: DigitalOutput;
  /** Calibration/seal switch (1 = closed, polarity already folded in). */
  calibrationSwitch: DigitalInput;
  /** Service interface byte stream. */
  service: SerialPort;
  /** Flash partition for the energy registers. */
  energyFlash: Flash;
  /** Flash partition for the calibration log. */
  calibrationFlash: Flash;
  keys: KeyStore;
  clock: Clock;
  /** The CC1101 wireless M-Bus transmitter (modes T1 and C1). */
  radio: Radio;
}

/** What the meter application must provide to be started by `startHost`. */
export interface MeterApplication {
  /** Called once, with every port, before the first tick. */
  start(ports: HostPorts): void;
  /** Called every `tickMs` milliseconds from the host's timer (sampling, energy, pulses, telegrams). */
  tick(): void;
  /** Tick period in milliseconds (the host uses 100 when absent). */
  readonly tickMs?: number;
  /** Milliseconds until the application next has work (asked after every tick; the host sleeps
   *  that long, at most 1 s, or until the service port has bytes). Without it: every tickMs. */
  nextTickDelay?(): number;
  /** Called when the host stops the application (e.g. before an OTA restart): persist state here. */
  stop?(): void;
}
