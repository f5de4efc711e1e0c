/**
 * The meter board of the desktop simulator (main-desktop.ts): desktop-io.ts with a register-level
 * ADE7953 simulator (hosts/sim/chips, perfect front end) on the metrology chip select, measuring a
 * LoadModel, and NVS provisioned as at the factory (board-config.ts, PreferenceKeyStore) with
 * demonstration keys — public, for the simulator only. `advanceMeasurand(ms)` moves the load and the
 * chip on by the host time that passed.
 */
import { LoadModel, type PhaseLoad } from '../sim/physics/load-model.js';
import { perfectHardware } from '../sim/chips/front-end.js';
import { SimAde7953 } from '../sim/chips/sim-ade7953.js';
import { provisionBoard } from './board-config.js';
import type { Crypto } from '../../modules/ports/crypto.js';
import { createDesktopBoard, type DesktopHost } from './desktop-io.js';
import { BOARD_PINS } from './pins.js';
import type { ModdableFlashPartition } from './ports/flash.js';
import { PreferenceKeyStore } from './ports/key-store.js';

/** The simulated meter's identity and keys (a receiver decrypts its telegrams with `meterKey`). */
export const DESKTOP_METER = Object.freeze({
  meterId: '00000001',
  meterKey: Uint8Array.of(0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff),
  benchKey: new Uint8Array(16).fill(0x42),
  devicePrivateKey: new Uint8Array(32).fill(0x07),
  /** The customer PIN of its optical info interface. */
  customerPin: '2405',
});

export interface DesktopMeterBoard extends DesktopHost {
  load: LoadModel;
  chip: SimAde7953;
  /** Integrates the load over `ms` in the model and the chip. */
  advanceMeasurand(ms: number): void;
}

export interface DesktopMeterOptions {
  /** The crypto port (the device's in Moddable's simulator, @noble in Node tests). */
  crypto: Crypto;
  /** Initial load (default 230 V, 4 A resistive: 920 W). */
  load?: PhaseLoad;
  /** The flash partitions (default: SimFlash in memory). */
  openFlash?: (partition: string) => ModdableFlashPartition;
}

export function createDesktopMeterBoard(options: DesktopMeterOptions): DesktopMeterBoard {
  const model = new LoadModel(1, options.load ?? { voltage: 230, current: 4, phaseDeg: 0 });
  const chip = new SimAde7953({ load: model, errors: perfectHardware(2), seed: 1 });
  const host = createDesktopBoard(BOARD_PINS, { crypto: options.crypto, metrology: chip.spi, openFlash: options.openFlash });
  const { meterId, meterKey, benchKey, devicePrivateKey, customerPin } = DESKTOP_METER;
  PreferenceKeyStore.provision(host.board.preferences, host.io.crypto, { meterKey, benchKey, devicePrivateKey });
  provisionBoard(host.board.preferences, { meterId, chip: 'ade7953', security: 7, radioMode: 'T1', customerPin });
  return {
    ...host,
    load: model,
    chip,
    advanceMeasurand(ms) {
      model.advance(ms);
      chip.advance(ms);
    },
  };
}
