/**
 * Fuzzing the service server: random bytes, and valid request frames with random mutations (bit
 * flips, truncation, duplication, splicing, length lies, garbage) delivered in random chunkings.
 * The server must never throw, must call a state-changing target method only for a validly signed
 * request (each at most once, counters strictly increasing), must answer only with well-formed
 * frames, and must keep serving valid requests afterwards.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { concat, fromHex, toHex } from '../modules/core/bytes.js';
import { MemoryServiceCounterStore, sealCommand, wrapMeterKey } from '../modules/service/auth.js';
import { ServiceClient } from '../modules/service/client.js';
import { FrameDecoder, encodeFrame } from '../modules/service/frame.js';
import { COMMANDS, RESPONSE_BIT, encodeRequestBody, type Request } from '../modules/service/messages.js';
import { ServiceServer } from '../modules/service/server.js';
import { VirtualTiming, memorySerialPair } from '../hosts/sim/service-pipe.js';
import { FakeMeter, type Call } from './helpers/service-target.js';
import { nobleCrypto } from '../hosts/sim/noble-crypto.js';

const BENCH_KEY = fromHex('2b7e151628aed2a6abf7158809cf4f3c');
const BENCH_HANDLE = nobleCrypto.aesKey(BENCH_KEY);
const OTHER_KEY = fromHex('2b7e151628aed2a6abf7158809cf4f3d');
const METER_ID = 'XSM31415926';

interface PoolEntry {
  frame: Uint8Array;
  /** For a validly signed privileged request: its counter and the call it must produce. */
  counter?: number;
  call?: Call;
}

/** Requests, each privileged one with arguments unique to its counter so a call names its request. */
function buildPool(): PoolEntry[] {
  const pool: PoolEntry[] = [];
  let seq = 0;
  const add = (req: Request, sign?: { key: Uint8Array; id: string; counter: number }, call?: Call) => {
    const type = COMMANDS[req.kind].type;
    let payload = encodeRequestBody(req);
    if (sign) payload = sealCommand(nobleCrypto, nobleCrypto.aesKey(sign.key), type, sign.counter, sign.id, payload);
    const valid = sign && sign.key === BENCH_KEY && sign.id === METER_ID;
    pool.push({ frame: encodeFrame({ type, seq: seq++ & 0xff, payload }), counter: valid ? sign.counter : undefined, call: valid ? call : undefined });
  };
  add({ kind: 'identify' });
  add({ kind: 'read-registers' });
  add({ kind: 'read-log-page', offset: 100, length: 64 });
  add({ kind: 'read-calibration' });
  for (let c = 1; c <= 12; c++) {
    const s = { key: BENCH_KEY, id: METER_ID, counter: c * 3 };
    switch (c % 5) {
      case 0: {
        const bytes = Uint8Array.from([c, c + 1, c + 2]);
        add({ kind: 'write-calibration', bytes }, s, { method: 'writeCalibration', args: [bytes] });
        break;
      }
      case 1:
        add({ kind: 'set-time', ms: 1_800_000_000_000 + c }, s, { method: 'setTime', args: [1_800_000_000_000 + c] });
        break;
      case 2:
        add({ kind: 'pulse-test', on: true, count: c }, s, { method: 'pulseTest', args: [true, c] });
        break;
      case 3: {
        const key = new Uint8Array(16).fill(c);
        add({ kind: 'install-meter-key', wrappedKey: wrapMeterKey(nobleCrypto, BENCH_HANDLE, key) }, s, { method: 'installMeterKey', args: [key] });
        break;
      }
      case 4:
        add({ kind: 'unseal', command: { counter: 7, mac: new Uint8Array(16).fill(c) } }, s, {
          method: 'unseal',
          args: [{ counter: 7, mac: new Uint8Array(16).fill(c) }],
        });
        break;
    }
    // The same command signed wrongly: other key, other meter.
    add({ kind: 'set-time', ms: 1_700_000_000_000 + c }, { key: OTHER_KEY, id: METER_ID, counter: c * 3 + 1 });
    add({ kind: 'seal' }, { key: BENCH_KEY, id: 'XSM27182818', counter: c * 3 + 2 });
  }
  add({ kind: 'seal' });
  return pool;
}

const POOL = buildPool();

type Op =
  | { op: 'frame'; i: number }
  | { op: 'flip'; i: number; bit: number }
  | { op: 'truncate'; i: number; at: number }
  | { op: 'duplicate'; i: number }
  | { op: 'splice'; i: number; j: number; at: number; at2: number }
  | { op: 'length-lie'; i: number; len: number; fixLcs: boolean }
  | { op: 'garbage'; bytes: Uint8Array };

const arbOp: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('frame' as const), i: fc.nat() }),
  fc.record({ op: fc.constant('flip' as const), i: fc.nat(), bit: fc.nat() }),
  fc.record({ op: fc.constant('truncate' as const), i: fc.nat(), at: fc.nat() }),
  fc.record({ op: fc.constant('duplicate' as const), i: fc.nat() }),
  fc.record({ op: fc.constant('splice' as const), i: fc.nat(), j: fc.nat(), at: fc.nat(), at2: fc.nat() }),
  fc.record({ op: fc.constant('length-lie' as const), i: fc.nat(), len: fc.integer({ min: 0, max: 0xffff }), fixLcs: fc.boolean() }),
  fc.record({ op: fc.constant('garbage' as const), bytes: fc.uint8Array({ maxLength: 40 }) }),
);

function bytesOf(op: Op): Uint8Array {
  if (op.op === 'garbage') return op.bytes;
  const f = POOL[op.i % POOL.length].frame;
  switch (op.op) {
    case 'frame':
      return f;
    case 'flip': {
      const g = f.slice();
      g[(op.bit >>> 3) % g.length] ^= 1 << (op.bit & 7);
      return g;
    }
    case 'truncate':
      return f.slice(0, op.at % f.length);
    case 'duplicate':
      return concat(f, f);
    case 'splice': {
      const g = POOL[op.j % POOL.length].frame;
      return concat(f.slice(0, op.at % f.length), g.slice(op.at2 % g.length));
    }
    case 'length-lie': {
      const g = f.slice();
      g[2] = op.len & 0xff;
      g[3] = op.len >>> 8;
      if (op.fixLcs) g[4] = (0x100 - ((g[2] + g[3]) & 0xff)) & 0xff;
      return g;
    }
  }
}

function rig(chunks: number[]) {
  let k = 0;
  const line = memorySerialPair({ meter: { chunk: () => chunks[k++ % chunks.length] } });
  const target = new FakeMeter(METER_ID);
  const counters = new MemoryServiceCounterStore();
  const clock = { now: 0 };
  const server = new ServiceServer({ port: line.meter, target, keys: { benchKey: () => BENCH_HANDLE }, crypto: nobleCrypto, counters, clock: { ticks: () => clock.now } });
  return { line, target, counters, clock, server };
}

/** Polls until everything delivered is consumed, then lets the line go idle until nothing is held back. */
function drain(r: ReturnType<typeof rig>): void {
  for (let n = 0; r.line.meter.pending > 0; n++) {
    r.server.poll();
    assert.ok(n < 100_000, 'server stopped reading');
  }
  for (let n = 0; r.server.pending > 0; n++) {
    r.clock.now += 1000;
    r.server.poll();
    assert.ok(n < 1000, 'partial frame never abandoned');
  }
}

/** Every state-changing call must be one of the validly signed requests, in strictly increasing counter order. */
function checkCalls(target: FakeMeter, counterStore: MemoryServiceCounterStore): void {
  let last = 0;
  for (const call of target.stateChangingCalls()) {
    const args = JSON.stringify(call.args, bytesAsHex);
    const entry = POOL.find((e) => e.call && e.call.method === call.method && JSON.stringify(e.call.args, bytesAsHex) === args);
    assert.ok(entry && entry.counter !== undefined, `unexpected call ${call.method}(${JSON.stringify(call.args, bytesAsHex)})`);
    assert.ok(entry.counter > last, `counter ${entry.counter} after ${last}`);
    last = entry.counter;
  }
  assert.equal(counterStore.load() >= last, true);
}

function bytesAsHex(_k: string, v: unknown): unknown {
  return v instanceof Uint8Array ? `hex:${toHex(v)}` : v;
}

/** What the server wrote must be well-formed response frames, nothing else. */
function checkResponses(bench: { read(): Uint8Array }): number {
  const ev = new FrameDecoder().push(bench.read());
  for (const e of ev) {
    assert.equal(e.kind, 'frame', e.kind === 'error' ? e.error.message : '');
    if (e.kind === 'frame') assert.ok(e.frame.type & RESPONSE_BIT);
  }
  return ev.length;
}

async function stillServes(r: ReturnType<typeof rig>): Promise<void> {
  const timing = new VirtualTiming(() => {
    r.clock.now = timing.now;
    r.server.poll();
  });
  const client = new ServiceClient({ port: r.line.bench, timing, benchKey: BENCH_HANDLE, crypto: nobleCrypto, timeoutMs: 100 });
  const id = await client.connect();
  assert.equal(id.meterId, METER_ID);
  const before = r.target.stateChangingCalls().length;
  await client.pulseTest(false, 0);
  assert.equal(r.target.stateChangingCalls().length, before + 1);
  assert.deepEqual(r.target.pulse, { on: false, count: 0 });
}

describe('service interface fuzzing', () => {
  it('random bytes in random chunks: no throw, no state change, only well-formed answers, still serving (2000 cases)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), fc.array(fc.integer({ min: 0, max: 80 }), { minLength: 1, maxLength: 8 }), async (junk, chunks) => {
        const r = rig(chunks.map((c) => c || 1));
        r.line.meter.deliver(junk);
        drain(r);
        assert.deepEqual(r.target.stateChangingCalls(), []);
        assert.equal(r.counters.saves, 0);
        checkResponses(r.line.bench);
        await stillServes(r);
      }),
      { numRuns: 2000 },
    );
  });

  it('valid frames with bit flips, truncation, duplication, splicing, length lies and garbage (3000 cases)', async () => {
    let accepted = 0;
    let answered = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(arbOp, { minLength: 1, maxLength: 12 }), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 }), async (ops, chunks) => {
        const r = rig(chunks);
        r.line.meter.deliver(concat(...ops.map(bytesOf)));
        drain(r);
        checkCalls(r.target, r.counters);
        accepted += r.target.stateChangingCalls().length;
        answered += checkResponses(r.line.bench);
        await stillServes(r);
      }),
      { numRuns: 3000 },
    );
    // The fuzzer did reach the target: intact signed frames got through, so the oracle was exercised.
    assert.ok(accepted > 100, `only ${accepted} accepted commands`);
    assert.ok(answered > 1000, `only ${answered} answers`);
  });

  it('a flipped bit in the type or payload of a signed request, with the CRC made good again, never reaches the target', () => {
    // An attacker who recomputes the CRC: only the CMAC stands between the frame and the meter.
    for (const entry of POOL.filter((e) => e.call)) {
      const f = new FrameDecoder().push(entry.frame)[0];
      assert.equal(f.kind, 'frame');
      if (f.kind !== 'frame') continue;
      const type = f.frame.type;
      const payload = f.frame.payload;
      const stream: Uint8Array[] = [];
      for (let bit = 0; bit < (1 + payload.length) * 8; bit++) {
        const p = payload.slice();
        let t = type;
        if (bit < 8) t ^= 1 << bit;
        else p[(bit >>> 3) - 1] ^= 1 << (bit & 7);
        stream.push(encodeFrame({ type: t, seq: bit & 0xff, payload: p }));
      }
      const r = rig([4096]);
      r.line.meter.deliver(concat(...stream));
      drain(r);
      assert.deepEqual(r.target.stateChangingCalls(), [], entry.call?.method);
      assert.equal(r.counters.saves, 0);
      assert.equal(checkResponses(r.line.bench), stream.length - stream.filter((_, bit) => bit < 8 && (type ^ (1 << bit)) & RESPONSE_BIT).length);
    }
  });
});
