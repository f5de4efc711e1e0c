// Portable entry for benchmarks/sealing.bench.ts: XS metering counts of one calibration-log append
// (sign + flash write) and of its parts, each averaged over several runs.
import { sha256 } from '@noble/hashes/sha2.js';
import { CalibrationLog } from '../../modules/sealing/calibration-log.js';
import { verifyDigest } from '../../modules/sealing/log-verify.js';
import { SimFlash } from '../../hosts/sim/sim-flash.js';
import { fixedClock, keys } from './sealing.xs.js';
import { nobleCrypto } from '../../hosts/sim/noble-crypto.js';

declare const resetMeter: undefined | ((limit: number, index: number) => number);
const meter = (): number => (typeof resetMeter === 'function' ? resetMeter(0, 0) : -1);

export const RUNS = 8;

export function main(out: (line: string) => void): void {
  const flash = new SimFlash({ sectorSize: 4096, sectorCount: 16 });
  const log = CalibrationLog.open({ crypto: nobleCrypto, flash, keys, clock: fixedClock(), deviceId: 'XSM-0001' });
  const event = (i: number) => ({ type: 'calibration-change' as const, parameter: 1 + i, oldValue: new Uint8Array([1, 2, i]), newValue: new Uint8Array([1, 3, i]), who: 'bench-7' });
  const digests = Array.from({ length: RUNS }, (_, i) => sha256(new Uint8Array([i])));
  meter();
  for (let i = 0; i < RUNS; i++) log.append(event(i));
  out(`append ${meter() / RUNS}`);
  const sigs: Uint8Array[] = [];
  meter();
  for (let i = 0; i < RUNS; i++) sigs.push(keys.signDigest(digests[i]));
  out(`sign ${meter() / RUNS}`);
  const pub = keys.devicePublicKey();
  meter();
  for (let i = 0; i < RUNS; i++) if (!verifyDigest(nobleCrypto, sigs[i], digests[i], pub)) throw new Error('verify failed');
  out(`verify ${meter() / RUNS}`);
  const raw = log.rawRecords()[1];
  meter();
  for (let i = 0; i < RUNS; i++) log.store.append(raw);
  out(`store-write ${meter() / RUNS}`);
}
