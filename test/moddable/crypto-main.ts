/**
 * Moddable test app (test/moddable/crypto.json, run in mcsim by test/moddable-crypto.test.ts): the
 * crypto port's vector suite on the device implementation, hosts/esp32/ports/crypto.ts, then a probe
 * of XS 8.2.3's BigInt equality with a BigInt preloaded into flash (bigint-probe.ts).
 */
import { cryptoPortSuite } from '../crypto-port-suite.js';
import { ModdableCrypto } from '../../hosts/esp32/ports/crypto.js';
import { probeBigIntEquality } from './bigint-probe.js';

export default function main(): void {
  const out = (line: string): void => trace(`${line}\n`);
  cryptoPortSuite(new ModdableCrypto(), out);
  probeBigIntEquality(out);
  out('crypto-main: done');
}
