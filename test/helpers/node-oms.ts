/**
 * An independent implementation of the OMS security primitives on node:crypto, for tests only:
 * AES-CMAC written here from RFC 4493 §2.3-2.4 over node's AES-128-ECB (itself checked against the
 * RFC 4493 examples in test/oms-crypto.test.ts), AES-128-CBC from node, and the OMS Vol. 2 layouts
 * written out from the standard's text. Nothing here imports the code under test.
 */
import { createCipheriv } from 'node:crypto';

export function ecb(key: Uint8Array, block: Uint8Array): Uint8Array {
  const c = createCipheriv('aes-128-ecb', key, null);
  c.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([c.update(block), c.final()]));
}

export function cbcEncrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const c = createCipheriv('aes-128-cbc', key, iv);
  c.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([c.update(data), c.final()]));
}

function dbl(b: Uint8Array): Uint8Array {
  const o = new Uint8Array(16);
  for (let i = 0; i < 16; i++) o[i] = ((b[i] << 1) | (i < 15 ? b[i + 1] >> 7 : 0)) & 0xff;
  if (b[0] & 0x80) o[15] ^= 0x87;
  return o;
}

/** RFC 4493 AES-CMAC. */
export function cmacNode(key: Uint8Array, msg: Uint8Array): Uint8Array {
  const l = ecb(key, new Uint8Array(16));
  const k1 = dbl(l);
  const k2 = dbl(k1);
  const n = Math.max(1, Math.ceil(msg.length / 16));
  const complete = msg.length > 0 && msg.length % 16 === 0;
  const last = new Uint8Array(16);
  const tail = msg.subarray((n - 1) * 16);
  last.set(tail);
  if (!complete) last[tail.length] = 0x80;
  for (let i = 0; i < 16; i++) last[i] ^= complete ? k1[i] : k2[i];
  let x: Uint8Array = new Uint8Array(16);
  for (let b = 0; b < n; b++) {
    const y = new Uint8Array(16);
    for (let i = 0; i < 16; i++) y[i] = x[i] ^ (b === n - 1 ? last[i] : msg[b * 16 + i]);
    x = ecb(key, y);
  }
  return x;
}

/** OMS Vol. 2 §9.5 KDF-A input: DC ‖ counter (LE) ‖ ID (4 bytes as in the A field) ‖ 07 × 7. */
export function kdfNode(master: Uint8Array, dc: number, counter: number, id: Uint8Array): Uint8Array {
  const input = Buffer.alloc(16, 0x07);
  input[0] = dc;
  input.writeUInt32LE(counter, 1);
  Buffer.from(id).copy(input, 5);
  return cmacNode(master, input);
}

/** RFC 4493 CMAC with fewer node:crypto calls (for benchmarks' baselines): L from one ECB call, the
 *  blocks through one AES-CBC call. */
export function cmacNodeCbc(key: Uint8Array, msg: Uint8Array): Uint8Array {
  const dbl = (b: Uint8Array): Uint8Array => {
    const o = new Uint8Array(16);
    for (let i = 0; i < 16; i++) o[i] = ((b[i] << 1) | (i < 15 ? b[i + 1] >> 7 : 0)) & 0xff;
    if (b[0] & 0x80) o[15] ^= 0x87;
    return o;
  };
  const k1 = dbl(ecb(key, new Uint8Array(16)));
  const complete = msg.length > 0 && msg.length % 16 === 0;
  const padded = new Uint8Array(complete ? msg.length : (Math.floor(msg.length / 16) + 1) * 16);
  padded.set(msg);
  if (!complete) padded[msg.length] = 0x80;
  const sub = complete ? k1 : dbl(k1);
  for (let i = 0; i < 16; i++) padded[padded.length - 16 + i] ^= sub[i];
  const c = createCipheriv('aes-128-cbc', key, new Uint8Array(16));
  c.setAutoPadding(false);
  const out = c.update(padded);
  return new Uint8Array(out.subarray(out.length - 16));
}
