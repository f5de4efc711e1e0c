// The telegram every telegram benchmark builds: the full electricity register set, mode 7, format A.
import type { TelegramOptions } from '../../modules/wmbus-tx/telegram.js';
import { nobleCrypto } from '../../hosts/sim/noble-crypto.js';

const key = new Uint8Array(16).map((_, i) => i * 17);
const masterKey = nobleCrypto.aesKey(key);

export function benchTelegram(counter: number): TelegramOptions {
  return {
    header: { control: 0x44, manufacturer: 'XSM', id: '12345678', version: 1, deviceType: 2 },
    registers: [
      { obis: '1.8.0', value: 1234567890 },
      { obis: '1.8.1', value: 1000000000 },
      { obis: '1.8.2', value: 234567890 },
      { obis: '2.8.0', value: 98765 },
      { obis: '16.7.0', value: -2300 },
      { obis: '32.7.0', value: 230.1 },
      { obis: '52.7.0', value: 229.8 },
      { obis: '72.7.0', value: 231.4 },
      { obis: 'clock', value: '2026-11-24T23:15' },
      { obis: 'status', value: 0 },
    ],
    security: { mode: 7, key: masterKey, crypto: nobleCrypto },
    counters: { accessNumber: counter & 0xff, messageCounter: counter },
    format: 'A',
  };
}

export const benchKey = key;
