/**
 * The ESP32 host entry (Moddable SDK, `mcconfig -d -m -p esp32 manifest.json` after the pre-build):
 * binds host.ts to Moddable's ECMA-419 IO (`device.io` SPI, Digital, Serial), the `flash` module on
 * the data partitions of partitions.csv, `preference` (NVS) for the key store and the board
 * configuration, `Time.ticks` and `Timer`. At boot it constructs the ports following pins.ts, checks
 * the CC1101 (reset, PARTNUM/VERSION, T1 register set read back) and starts the meter application
 * (modules/app MeterApp) with the meter id and chip provisioned in NVS (board-config.ts). An
 * unprovisioned board traces why and idles.
 */
import Flash from 'flash';
import Preference from 'preference';
import Time from 'time';
import Timer from 'timer';
import { MeterApp } from '../../modules/app/meter-app.js';
import { MeterError } from '../../modules/core/errors.js';
import type { MeterApplication } from './app.js';
import { meterOptions, readBoardConfig } from './board-config.js';
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

/** Hands the board's ports to a meter application and ticks it. */
export function startHost(app: MeterApplication): RunningHost {
  return runApplication(app, hostPorts().ports, io);
}

/** The meter application of this board: MeterApp with the provisioned meter id and chip. */
export function createMeterApp(): MeterApp {
  const { keyStore } = hostPorts();
  return new MeterApp(meterOptions(readBoardConfig(Preference), (key) => keyStore.installMeterKey(key)));
}

export default function main(): void {
  const { radio } = hostPorts();
  try {
    radio.configure('T1');
    trace('xsmeter: CC1101 ready (T1, 868.95 MHz)\n');
  } catch (e) {
    if (!(e instanceof MeterError)) throw e;
    trace(`xsmeter: radio self-test failed: ${e.code}: ${e.message}\n`);
  }
  try {
    const app = createMeterApp();
    startHost(app);
    trace(`xsmeter: meter ${app.deviceId} started\n`);
  } catch (e) {
    if (!(e instanceof MeterError)) throw e;
    trace(`xsmeter: meter not started: ${e.code}: ${e.message}\n`);
  }
}
