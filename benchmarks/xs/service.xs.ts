// Bench entry: N service round trips (client encode/sign → server decode/verify/dispatch → client
// decode) over the in-memory line, for a public and a privileged command. Shared by the Node timing
// and the XS metering of benchmarks/service.bench.ts.
import { fromHex } from '../../modules/core/bytes.js';
import { MemoryServiceCounterStore } from '../../modules/service/auth.js';
import { ServiceClient } from '../../modules/service/client.js';
import { ServiceServer } from '../../modules/service/server.js';
import { VirtualTiming, memorySerialPair } from '../../hosts/sim/service-pipe.js';
import { FakeMeter } from '../../test/helpers/service-target.js';
import { nobleCrypto } from '../../hosts/sim/noble-crypto.js';

export const ROUND_TRIPS = 200;

export function setup() {
  const line = memorySerialPair();
  const target = new FakeMeter();
  const key = fromHex('000102030405060708090a0b0c0d0e0f');
  const handle = nobleCrypto.aesKey(key);
  const server = new ServiceServer({ port: line.meter, target, keys: { benchKey: () => handle }, crypto: nobleCrypto, counters: new MemoryServiceCounterStore() });
  const client = new ServiceClient({ port: line.bench, timing: new VirtualTiming(() => server.poll()), benchKey: handle, crypto: nobleCrypto, meterId: target.meterId });
  return { client, target };
}

export async function roundTrips(client: ServiceClient, kind: 'identify' | 'set-time', n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    if (kind === 'identify') await client.identify();
    else await client.setTime(1_800_000_000_000 + i);
  }
}

declare const globalThis: { SERVICE_BENCH_KIND?: 'identify' | 'set-time' };

export async function main(out: (line: string) => void): Promise<void> {
  const { client, target } = setup();
  await roundTrips(client, globalThis.SERVICE_BENCH_KIND ?? 'set-time', ROUND_TRIPS);
  out(`calls ${target.calls.length}`);
}
