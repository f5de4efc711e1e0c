// Bench entry (XS and Node): wall time per telegram (build + T1 encoding) and receiver throughput,
// measured inside the engine with Date.now() over enough iterations for millisecond resolution.
import { buildTelegram } from '../../modules/wmbus-tx/telegram.js';
import { phyEncode } from '../../modules/wmbus/phy.js';
import { Receiver } from '../../modules/wmbus-rx/receiver.js';
import { benchKey, benchTelegram } from './telegram-input.js';
import { nobleCrypto } from '../../hosts/sim/noble-crypto.js';

export function main(out: (line: string) => void): void {
  const n = 200;
  const frames: Uint8Array[] = [];
  let t0 = Date.now();
  for (let i = 1; i <= n; i++) {
    const f = buildTelegram(benchTelegram(i));
    phyEncode(f, 'T1', 'A');
    frames.push(f);
  }
  out(`build-us ${((Date.now() - t0) * 1000) / n}`);
  const r = new Receiver({ crypto: nobleCrypto, keys: () => benchKey });
  t0 = Date.now();
  for (const f of frames) r.receiveFrame(f, 'A');
  out(`decode-per-s ${(n * 1000) / Math.max(1, Date.now() - t0)}`);
}
