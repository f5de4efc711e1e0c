// Shared fixtures of the sealing tests: fixed keys, a settable clock, a small flash, a log with events.
import { fromHex } from '../../modules/core/bytes.js';
import type { Clock } from '../../modules/ports/clock.js';
import { CalibrationLog } from '../../modules/sealing/calibration-log.js';
import { SimFlash } from '../../hosts/sim/sim-flash.js';
import { SimKeyStore } from '../../hosts/sim/sim-key-store.js';
import { nobleCrypto } from '../../hosts/sim/noble-crypto.js';

export const KEYS_A = new SimKeyStore({
  meterKey: fromHex('000102030405060708090a0b0c0d0e0f'),
  benchKey: fromHex('2b7e151628aed2a6abf7158809cf4f3c'),
  // RFC 6979 A.2.5 private key
  signingKey: fromHex('c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721'),
});
export const KEYS_B = new SimKeyStore({
  meterKey: fromHex('0f0e0d0c0b0a09080706050403020100'),
  benchKey: fromHex('00112233445566778899aabbccddeeff'),
  signingKey: fromHex('519b423d715f8b581f4fa8ee59f4771a5b44c8130b4e3eacca54a56dda72b464'),
});

export class TestClock implements Clock {
  constructor(public t = Date.UTC(2026, 0, 15, 9, 30)) {}
  ticks(): number {
    return this.t;
  }
  now(): number {
    this.t += 1000;
    return this.t;
  }
}

export const SMALL = { sectorSize: 512, sectorCount: 6 };

/** A log on a fresh small flash, with a few calibration events. */
export function smallLog(keys = KEYS_A, deviceId = 'XSM-0001', events = 3): { flash: SimFlash; log: CalibrationLog } {
  const flash = new SimFlash(SMALL);
  const log = CalibrationLog.open({ crypto: nobleCrypto, flash, keys, clock: new TestClock(), deviceId });
  for (let i = 0; i < events; i++) {
    log.append({ type: 'calibration-change', parameter: 1 + i, oldValue: new Uint8Array([i]), newValue: new Uint8Array([i + 1, 0x40]), who: 'bench-7' });
  }
  return { flash, log };
}
