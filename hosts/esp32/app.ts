/**
 * The contract between the ESP32 host and the meter application (modules/app MeterApp, started by main.ts):
 * the host constructs every port from the board's pin table and hands them over once; the
 * application never touches Moddable or ECMA-419 APIs itself, so the same application runs on the
 * desktop simulator with simulated ports.
 */
import type { MeterPorts } from '../../modules/app/meter-app.js';

/** Everything the meter application gets from the host. */
export type HostPorts = MeterPorts;

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
