/**
 * The boot sequence main.ts (the board) and main-desktop.ts (Moddable's desktop simulator) share:
 * the ports constructed once from the pin table (IO instances claim their pins exclusively), the
 * CC1101 self-test (reset, PARTNUM/VERSION, T1 register set read back), then the meter application
 * (modules/app MeterApp) with the meter id and chip provisioned in NVS (board-config.ts), ticked by
 * runApplication. Free of Moddable imports so Node tests run it on the desktop board.
 */
import { MeterApp } from '../../modules/app/meter-app.js';
import { MeterError } from '../../modules/core/errors.js';
import { meterOptions, readBoardConfig, type BoardPreferences } from './board-config.js';
import { createPorts, runApplication, type HostIo, type HostWiring, type MeterApplication, type RunningHost } from './host.js';
import { BOARD_PINS, type PinTable } from './pins.js';

export class HostBoot {
  private wiring: HostWiring | undefined;

  constructor(
    private readonly io: HostIo,
    /** Where the board configuration is provisioned (Moddable's `preference`). */
    private readonly preferences: BoardPreferences,
    private readonly pins: PinTable = BOARD_PINS,
  ) {}

  /** The board's ports, constructed on first use. */
  hostPorts(): HostWiring {
    this.wiring ??= createPorts(this.io, this.pins);
    return this.wiring;
  }

  /** Hands the board's ports to a meter application and ticks it (woken by the service port). */
  startHost(app: MeterApplication): RunningHost {
    const wiring = this.hostPorts();
    return runApplication(app, wiring.ports, this.io, wiring.serviceWake);
  }

  /** The meter application of this board: MeterApp with the provisioned meter id and chip. */
  createMeterApp(): MeterApp {
    const { keyStore } = this.hostPorts();
    return new MeterApp(meterOptions(readBoardConfig(this.preferences), (key) => keyStore.installMeterKey(key)));
  }

  /** Checks the radio and starts the meter, reporting each step to `log`; a board that cannot start
   *  the meter (not provisioned, flash fault) logs the typed error's code and idles. */
  boot(log: (line: string) => void): { app: MeterApp; host: RunningHost } | undefined {
    try {
      this.hostPorts().radio.configure('T1');
      log('xsmeter: CC1101 ready (T1, 868.95 MHz)');
    } catch (e) {
      if (!(e instanceof MeterError)) throw e;
      log(`xsmeter: radio self-test failed: ${e.code}: ${e.message}`);
    }
    try {
      const app = this.createMeterApp();
      const host = this.startHost(app);
      log(`xsmeter: meter ${app.deviceId} started`);
      return { app, host };
    } catch (e) {
      if (!(e instanceof MeterError)) throw e;
      log(`xsmeter: meter not started: ${e.code}: ${e.message}`);
      return undefined;
    }
  }
}
