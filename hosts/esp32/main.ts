/**
 * The ESP32 host entry (Moddable SDK, `mcconfig -d -m -p esp32 manifest.json` after the pre-build):
 * binds host.ts to Moddable's ECMA-419 IO (`device.io` SPI, Digital, Serial), the `flash` module on
 * the data partitions of partitions.csv, `preference` (NVS) for the key store and the board
 * configuration, `Time.ticks` and `Timer` (moddable-time.ts). At boot (boot.ts) it constructs the
 * ports following pins.ts, checks the CC1101 and starts the meter application (modules/app MeterApp)
 * with the meter id and chip provisioned in NVS (board-config.ts). An unprovisioned board traces why
 * and idles.
 */
import Flash from 'flash';
import Preference from 'preference';
import type { MeterApp } from '../../modules/app/meter-app.js';
import type { MeterApplication } from './app.js';
import { HostBoot } from './boot.js';
import type { HostWiring, RunningHost } from './host.js';
import { moddableTime } from './moddable-time.js';
import { BOARD_PINS } from './pins.js';
import { nobleCrypto } from '../sim/noble-crypto.js';

const host = new HostBoot(
  {
    SPI: device.io.SPI,
    Digital: device.io.Digital,
    Serial: device.io.Serial,
    openFlash: (partition) => new Flash(partition),
    preference: Preference,
    // The desktop port until the device's native one is in (issue 9).
    crypto: nobleCrypto,
    ...moddableTime,
  },
  Preference,
  BOARD_PINS,
);

/** The board's ports, constructed once (IO instances claim their pins exclusively). */
export function hostPorts(): HostWiring {
  return host.hostPorts();
}

/** Hands the board's ports to a meter application and ticks it. */
export function startHost(app: MeterApplication): RunningHost {
  return host.startHost(app);
}

/** The meter application of this board: MeterApp with the provisioned meter id and chip. */
export function createMeterApp(): MeterApp {
  return host.createMeterApp();
}

export default function main(): void {
  host.boot((line) => trace(`${line}\n`));
}
