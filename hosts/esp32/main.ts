/**
 * The ESP32 host entry (Moddable SDK, `mcconfig -d -m -p esp32 manifest.json` after the pre-build):
 * binds host.ts to Moddable's ECMA-419 IO (`device.io` SPI, Digital, Serial), the `flash` module on
 * the data partitions of partitions.csv, `preference` (NVS) for the key store, `Time.ticks` and
 * `Timer`. At boot it constructs the ports following pins.ts and checks the CC1101 (reset,
 * PARTNUM/VERSION, T1 register set read back).
 *
 * The meter application lands with the next issue: it will import `startHost` from this module and
 * call `startHost(app)` with an object satisfying MeterApplication (app.ts). Until then the device
 * boots, self-tests the radio and idles.
 */
import Flash from 'flash';
import Preference from 'preference';
import Time from 'time';
import Timer from 'timer';
import { MeterError } from '../../modules/core/errors.js';
import type { MeterApplication } from './app.js';
import { createPorts, runApplication, type HostIo, type HostWiring, type RunningHost } from './host.js';
import { BOARD_PINS } from './pins.js';

const io: HostIo = {
  SPI: device.io.SPI,
  Digital: device.io.Digital,
  Serial: device.io.Serial,
  openFlash: (partition) => new Flash(partition),
  preference: Preference,
  ticks: () => Time.ticks,
  now: () => Date.now(),
  repeat(callback, ms) {
    const id = Timer.repeat(callback, ms);
    return () => Timer.clear(id);
  },
};

let wiring: HostWiring | undefined;

/** The board's ports, constructed once (IO instances claim their pins exclusively). */
export function hostPorts(): HostWiring {
  wiring ??= createPorts(io, BOARD_PINS);
  return wiring;
}

/** Hands the board's ports to the meter application and ticks it. */
export function startHost(app: MeterApplication): RunningHost {
  return runApplication(app, hostPorts().ports, io);
}

export default function main(): void {
  const { radio } = hostPorts();
  try {
    radio.configure('T1');
    trace('xsmeter: CC1101 ready (T1, 868.95 MHz); waiting for the meter application\n');
  } catch (e) {
    if (!(e instanceof MeterError)) throw e;
    trace(`xsmeter: radio self-test failed: ${e.code}: ${e.message}\n`);
  }
}
