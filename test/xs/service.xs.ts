// Portable entry: a bench client talks to a service server (fake meter) over the in-memory serial
// line; prints every frame on the line in both directions and every result or refusal, so the test
// can require XS and Node to produce byte-identical traffic.
import { fromHex, toHex } from '../../modules/core/bytes.js';
import { MemoryServiceCounterStore } from '../../modules/service/auth.js';
import { ServiceClient, ServiceError } from '../../modules/service/client.js';
import { ServiceServer } from '../../modules/service/server.js';
import type { SerialPort } from '../../modules/ports/bus.js';
import { VirtualTiming, memorySerialPair } from '../../hosts/sim/service-pipe.js';
import { FakeMeter } from '../helpers/service-target.js';
import { nobleCrypto } from '../../hosts/sim/noble-crypto.js';

const BENCH_KEY = fromHex('000102030405060708090a0b0c0d0e0f');
const BENCH_HANDLE = nobleCrypto.aesKey(BENCH_KEY);

function tap(port: SerialPort, tag: string, out: (l: string) => void): SerialPort {
  return {
    write: (b) => {
      out(`${tag} ${toHex(b)}`);
      port.write(b);
    },
    read: () => port.read(),
  };
}

function show(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (x instanceof Uint8Array ? `hex:${toHex(x)}` : x));
}

export async function main(out: (line: string) => void): Promise<void> {
  const line = memorySerialPair({ meter: { chunk: () => 5 } });
  const target = new FakeMeter('XSM12345678', 700);
  const counters = new MemoryServiceCounterStore();
  const server = new ServiceServer({ port: tap(line.meter, '<', out), target, keys: { benchKey: () => BENCH_HANDLE }, crypto: nobleCrypto, counters });
  const timing = new VirtualTiming(() => server.poll());
  const client = new ServiceClient({ port: tap(line.bench, '>', out), timing, benchKey: BENCH_HANDLE, crypto: nobleCrypto, timeoutMs: 100 });
  const steps: [string, () => Promise<unknown>][] = [
    ['connect', () => client.connect()],
    ['registers', () => client.readRegisters()],
    ['instantaneous', () => client.readInstantaneous()],
    ['log', () => client.exportLog(256)],
    ['calibration', () => client.readCalibration()],
    ['write-calibration', () => client.writeCalibration(Uint8Array.from([10, 20, 30, 40, 50]))],
    ['set-time', () => client.setTime(1_800_000_000_000)],
    ['install-meter-key', () => client.installMeterKey(fromHex('00112233445566778899aabbccddeeff'))],
    ['pulse-test', () => client.pulseTest(true, 250)],
    ['seal', () => client.seal()],
    ['write-sealed', () => client.writeCalibration(Uint8Array.from([1]))],
    ['unseal', () => client.unseal()],
    ['page-too-long', () => client.readLogPage(0, 600)],
    ['unknown', () => client.exchange(0x7f, new Uint8Array(0))],
    ['identify', () => client.identify()],
  ];
  for (const [name, step] of steps) {
    try {
      out(`= ${name} ${show(await step())}`);
    } catch (e) {
      out(`= ${name} ${e instanceof ServiceError ? `refused ${e.code}` : `untyped ${String(e)}`}`);
    }
  }
  out(`calls ${target.stateChangingCalls().map((c) => c.method).join(',')}`);
  out(`counter ${counters.load()} stats ${show(server.stats)}`);
}
