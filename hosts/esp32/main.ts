/**
 * The ESP32 host entry (Moddable SDK, `mcconfig -d -m -p esp32 manifest.json` after the pre-build):
 * binds host.ts to Moddable's ECMA-419 IO (`device.io` SPI, Digital, Serial), the `flash` module on
 * the data partitions of partitions.csv, `preference` (NVS) for the key store and the board
 * configuration, the device's own crypto (ports/crypto.ts, the SDK's native AES, SHA-256 and P-256),
 * `Time.ticks` and `Timer` (moddable-time.ts). At boot (boot.ts) it constructs the ports following
 * pins.ts, checks the CC1101 and starts the meter application (modules/app MeterApp) with the meter
 * id and chip provisioned in NVS (board-config.ts). An unprovisioned board traces why and idles.
 *
 * Nothing is made when the module loads: it is preloaded into flash with the rest, and every object
 * that holds state is created by main() at run time.
 */
import Flash from 'flash';
import Preference from 'preference';
import { HostBoot } from './boot.js';
import { moddableTime } from './moddable-time.js';
import { BOARD_PINS } from './pins.js';
import { ModdableCrypto } from './ports/crypto.js';

/** The board's host: its IO, NVS, the device's crypto and Moddable's time. Call it once: IO
 *  instances claim their pins. `boardHost().startHost(app)` runs another MeterApplication. */
export function boardHost(): HostBoot {
  return new HostBoot(
    {
      SPI: device.io.SPI,
      Digital: device.io.Digital,
      Serial: device.io.Serial,
      openFlash: (partition) => new Flash(partition),
      preference: Preference,
      crypto: new ModdableCrypto(),
      ...moddableTime,
    },
    Preference,
    BOARD_PINS,
  );
}

export default function main(): void {
  boardHost().boot((line) => trace(`${line}\n`));
}
