// The crypto port's vector suite (test/crypto-port-suite.ts) on the desktop implementation
// (hosts/sim/noble-crypto.ts), one bundle under XS and Node (test/moddable-crypto.test.ts compares
// the lines, and the device implementation's lines in mcsim with them). xsnap has no entropy source
// (no crypto.getRandomValues), so under XS random bytes come from xorshift32: the suite only checks
// that they fill the buffer and differ between calls.
import { xorshift32Step } from '../../modules/core/xorshift32.js';
import type { Crypto } from '../../modules/ports/crypto.js';
import { nobleCrypto } from '../../hosts/sim/noble-crypto.js';
import { cryptoPortSuite } from '../crypto-port-suite.js';

const hasEntropy = typeof (globalThis as { crypto?: { getRandomValues?: unknown } }).crypto?.getRandomValues === 'function';

export function main(out: (line: string) => void): void {
  let state = 0x9e3779b9;
  const crypto: Crypto = hasEntropy
    ? nobleCrypto
    : {
        ...nobleCrypto,
        randomBytes(output) {
          for (let i = 0; i < output.length; i++) output[i] = (state = xorshift32Step(state)) & 0xff;
        },
      };
  cryptoPortSuite(crypto, out);
}
