/**
 * Cost of the calibration log: one append (ECDSA P-256 sign + power-safe flash write) in Node and
 * under XS (metering count), its parts, and noble's P-256 signing against node:crypto (OpenSSL) on the
 * same digest in the same process.
 */
import { createPrivateKey, sign as nodeSign } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { CalibrationLog } from '../modules/sealing/calibration-log.js';
import { SimFlash } from '../hosts/sim/sim-flash.js';
import { fixedClock, keys } from '../test/xs/sealing.xs.js';
import { bundleEntry, runBundleUnderXs } from '../test/helpers/xs.js';
import type { Report } from './run.js';
import { nobleCrypto } from '../hosts/sim/noble-crypto.js';

function timeUs(n: number, f: (i: number) => void): number {
  for (let i = 0; i < Math.min(n, 20); i++) f(i); // warm-up
  const t = performance.now();
  for (let i = 0; i < n; i++) f(i);
  return ((performance.now() - t) * 1000) / n;
}

export async function run(report: Report): Promise<void> {
  const flash = new SimFlash({ sectorSize: 4096, sectorCount: 64 });
  const log = CalibrationLog.open({ flash, keys, crypto: nobleCrypto, clock: fixedClock(), deviceId: 'XSM-0001' });
  const appendUs = timeUs(300, (i) => log.append({ type: 'calibration-change', parameter: 1 + (i & 7), oldValue: new Uint8Array([1, 2, i & 0xff]), newValue: new Uint8Array([1, 3, i & 0xff]), who: 'bench-7' }));

  // Same digest for both signers: noble hashes the 32-byte message (prehash) as node:crypto does.
  const sk = new Uint8Array(32).fill(7);
  const pub = p256.getPublicKey(sk, false);
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');
  const nodeKey = createPrivateKey({ key: { kty: 'EC', crv: 'P-256', d: b64(sk), x: b64(pub.subarray(1, 33)), y: b64(pub.subarray(33)) }, format: 'jwk' });
  const msgs = Array.from({ length: 256 }, (_, i) => sha256(new Uint8Array([i, i >> 8])));
  const nobleUs = timeUs(400, (i) => p256.sign(msgs[i & 255], sk, { prehash: true, lowS: true }));
  const opensslUs = timeUs(400, (i) => nodeSign('sha256', msgs[i & 255], { key: nodeKey, dsaEncoding: 'ieee-p1363' }));

  const b = await bundleEntry('test/xs/sealing-append.xs.ts');
  let xs: Record<string, number> = {};
  try {
    const r = await runBundleUnderXs(b.file);
    xs = Object.fromEntries(r.lines.map((l) => l.split(' ')).map(([k, v]) => [k, Number(v)]));
  } finally {
    b.cleanup();
  }
  report({ name: 'log append (sign + flash write)', figures: { 'node µs': appendUs, 'xs computrons': Math.round(xs.append) } });
  report({ name: '  of which P-256 sign (KeyStore.signDigest)', figures: { 'xs computrons': Math.round(xs.sign) } });
  report({ name: '  of which append-log write (frame + commit)', figures: { 'xs computrons': Math.round(xs['store-write']) } });
  report({ name: 'P-256 verify (one record)', figures: { 'xs computrons': Math.round(xs.verify) } });
  report({ name: 'P-256 sign: noble vs node:crypto', figures: { 'noble µs': nobleUs, 'node:crypto µs': opensslUs, 'ratio noble/node:crypto': nobleUs / opensslUs } });
}
