// A minimal portable entry: proves the XS runner executes typed-array code and reports failures.
import { toHex } from '../../modules/core/bytes.js';

export function main(out: (line: string) => void): void {
  const b = new Uint8Array(8);
  for (let i = 0; i < b.length; i++) b[i] = (i * 37 + 11) & 0xff;
  out(toHex(b));
  out(String(typeof BigInt === 'function'));
}
