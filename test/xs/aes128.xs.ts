// AES-128 block, CBC, CMAC and key wrap of modules/core/aes128.ts on a deterministic input set,
// printed as hex so the XS output can be compared with Node's (and Node's with node:crypto).
import { toHex } from '../../modules/core/bytes.js';
import { Aes128, cbcDecrypt, cbcEncrypt, cmac, keyUnwrap, keyWrap } from '../../modules/core/aes128.js';

export function bytes(seed: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export function main(out: (line: string) => void): void {
  for (let t = 1; t <= 40; t++) {
    const key = bytes(t, 16);
    const iv = bytes(t + 1000, 16);
    const data = bytes(t + 2000, 16 * (1 + (t % 4)));
    const block = new Uint8Array(16);
    new Aes128(key).encryptBlock(data, 0, block, 0);
    const c = cbcEncrypt(key, iv, data);
    const w = keyWrap(key, data.subarray(0, 16 + 8 * (t % 3)));
    out(`${t} ecb ${toHex(block)} cbc ${toHex(c)} cmac ${toHex(cmac(key, data.subarray(0, t)))} kw ${toHex(w)}`);
    out(`${t} back ${toHex(cbcDecrypt(key, iv, c)) === toHex(data)} ${toHex(keyUnwrap(key, w)) === toHex(data.subarray(0, 16 + 8 * (t % 3)))}`);
  }
}
