// Portable entry: builds a fixed set of OMS telegrams (modes 0, 5, 7; formats A and B; short and
// long TPL; the T1 and C1 on-air streams), then decodes each with the receiver. Run under XS and
// Node by test/oms-xs.test.ts, which compares the two outputs and checks the Annex N lines.
import { fromHex, toHex } from '../../modules/core/bytes.js';
import { encodeBcd, encodeInt, encodeRecord, encodeTypeF } from '../../modules/wmbus/records.js';
import { buildTelegram } from '../../modules/wmbus-tx/telegram.js';
import { phyEncode } from '../../modules/wmbus/phy.js';
import { Receiver } from '../../modules/wmbus-rx/receiver.js';
import type { Register } from '../../modules/wmbus-tx/registers.js';
import { MeterError } from '../../modules/core/errors.js';
import { nobleCrypto } from '../../hosts/sim/noble-crypto.js';

const annexHeader = { control: 0x44, manufacturer: 'ELS', id: '12345678', version: 0x33, deviceType: 0x03 };
const annexRecords = new Uint8Array([
  ...encodeRecord({ field: 'bcd8', function: 'instantaneous', storage: 0, tariff: 0, subunit: 0, vib: [0x14] }, encodeBcd(2850427, 4)),
  ...encodeRecord({ field: 'int32', function: 'instantaneous', storage: 0, tariff: 0, subunit: 0, vib: [0x6d] }, encodeTypeF('2008-05-31T23:50')),
  ...encodeRecord({ field: 'int16', function: 'instantaneous', storage: 0, tariff: 0, subunit: 0, vib: [0xfd, 0x17] }, encodeInt(0, 2)),
]);

const header = { control: 0x44, manufacturer: 'XSM', id: '87654321', version: 7, deviceType: 0x02 };
const key = fromHex('c0ffee00112233445566778899aabbcc');
const registers: Register[] = [
  { obis: '1.8.0', value: 9876543210 },
  { obis: '1.8.1', value: 6000000000 },
  { obis: '1.8.2', value: 3876543210 },
  { obis: '2.8.0', value: 42 },
  { obis: '16.7.0', value: -3456 },
  { obis: '32.7.0', value: 229.9 },
  { obis: '52.7.0', value: 230.4 },
  { obis: '72.7.0', value: 231 },
  { obis: '31.7.0', value: 5.123 },
  { obis: '51.7.0', value: 0.5 },
  { obis: '71.7.0', value: 12 },
  { obis: 'clock', value: '2026-11-24T23:59' },
  { obis: 'status', value: 3 },
];

export function main(out: (line: string) => void): void {
  // OMS Vol. 2 Annex N.2.1 (mode 5) and N.2.2 (mode 7) re-encoded.
  out('n21 ' + toHex(buildTelegram({ header: annexHeader, records: annexRecords, security: { mode: 5, key: nobleCrypto.aesKey(fromHex('0102030405060708090a0b0c0d0e0f11')), crypto: nobleCrypto }, counters: { accessNumber: 0x2a }, flags: { synchronous: true } })));
  out('n22 ' + toHex(buildTelegram({ header: annexHeader, records: annexRecords, security: { mode: 7, key: nobleCrypto.aesKey(fromHex('000102030405060708090a0b0c0d0e0f')), crypto: nobleCrypto }, counters: { accessNumber: 0x75, messageCounter: 0xab3 }, ellCommunicationControl: 0x20 })));

  const receiver = new Receiver({ crypto: nobleCrypto, keys: () => key, allowPlain: true, allowUnauthenticated: true });
  let counter = 1000;
  for (const mode of [0, 5, 7] as const) {
    for (const format of ['A', 'B'] as const) {
      for (const tpl of ['short', 'long'] as const) {
        counter++;
        const f = buildTelegram({
          header,
          registers,
          security: mode === 0 ? { mode } : { mode, key: nobleCrypto.aesKey(key), crypto: nobleCrypto },
          counters: { accessNumber: counter & 0xff, messageCounter: counter },
          format,
          tpl,
        });
        out(`frame m${mode} ${format} ${tpl} ${toHex(f)}`);
        const radio = format === 'A' && tpl === 'short' ? 'T1' : 'C1';
        const stream = phyEncode(f, radio, format);
        out(`phy ${radio} ${toHex(stream)}`);
        const t = receiver.receivePhy(stream, radio);
        out(`decoded ${t.meter.id} ${t.securityMode} ${t.mac} ${t.messageCounter ?? '-'} ` + t.values.map((v) => `${v.obis}=${v.value}${v.unit}`).join(' '));
      }
    }
  }
  // A replayed frame and a flipped bit must fail the same way on both engines.
  const f = buildTelegram({ header, registers, security: { mode: 7, key: nobleCrypto.aesKey(key), crypto: nobleCrypto }, counters: { accessNumber: 1, messageCounter: counter } });
  for (const g of [f, f.map((b, i) => (i === 40 ? b ^ 4 : b))]) {
    try {
      receiver.receiveFrame(g, 'A');
      out('accepted');
    } catch (e) {
      out(`error ${(e as MeterError).code} ${(e as MeterError).message}`);
    }
  }
}
