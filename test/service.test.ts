import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { unwrapKey128, wrapKey128 } from '../modules/service/key-wrap.js';
import { fromHex, toHex } from '../modules/core/bytes.js';
import { MeterError } from '../modules/core/errors.js';
import { crc16Ccitt } from '../modules/service/crc16-ccitt.js';
import { FrameDecoder, encodeFrame, type DecodeEvent, type Frame } from '../modules/service/frame.js';
import { ByteReader, ByteWriter, WireError, utf8Decode, utf8Encode } from '../modules/service/wire.js';
import {
  AUTH_OVERHEAD,
  MemoryServiceCounterStore,
  macInput,
  sealCommand,
  unwrapMeterKey,
  wrapMeterKey,
} from '../modules/service/auth.js';
import { COMMANDS, decodeReply, decodeRequestBody, encodeReply, encodeRequestBody, type CommandKind } from '../modules/service/messages.js';
import { REASONS } from '../modules/service/reasons.js';
import { ServiceServer } from '../modules/service/server.js';
import { ServiceClient, ServiceError } from '../modules/service/client.js';
import { unsealMessage } from '../modules/sealing/unseal-command.js';
import { VirtualTiming, memorySerialPair, type MemoryPortOptions } from '../hosts/sim/service-pipe.js';
import { TcpSerialClient, TcpSerialListener, nodeTiming, openTarget, parseTarget } from '../hosts/sim/service-transport.js';
import { FakeMeter } from './helpers/service-target.js';
import { readVectors } from './helpers/vectors.js';
import { nobleCrypto } from '../hosts/sim/noble-crypto.js';

const BENCH_KEY = fromHex('000102030405060708090a0b0c0d0e0f');
const BENCH_HANDLE = nobleCrypto.aesKey(BENCH_KEY);
const OTHER_KEY = fromHex('f0e0d0c0b0a090807060504030201000');

// ---- independent truth ------------------------------------------------------------------------

/** AES-CMAC (RFC 4493) from node:crypto AES-ECB: a second implementation to check tags against. */
function cmacRef(key: Uint8Array, msg: Uint8Array): Uint8Array {
  const aes = (block: Uint8Array) => {
    const c = createCipheriv('aes-128-ecb', key, null);
    c.setAutoPadding(false);
    return new Uint8Array(c.update(block));
  };
  const dbl = (b: Uint8Array) => {
    const o = new Uint8Array(16);
    for (let i = 0; i < 16; i++) o[i] = ((b[i] << 1) | (i < 15 ? b[i + 1] >> 7 : 0)) & 0xff;
    if (b[0] & 0x80) o[15] ^= 0x87;
    return o;
  };
  const k1 = dbl(aes(new Uint8Array(16)));
  const k2 = dbl(k1);
  const n = Math.max(1, Math.ceil(msg.length / 16));
  const complete = msg.length > 0 && msg.length % 16 === 0;
  const last = new Uint8Array(16);
  last.set(msg.subarray((n - 1) * 16));
  if (!complete) last[msg.length - (n - 1) * 16] = 0x80;
  const sub = complete ? k1 : k2;
  for (let i = 0; i < 16; i++) last[i] ^= sub[i];
  let x = new Uint8Array(16);
  for (let b = 0; b < n; b++) {
    const blk = b === n - 1 ? last : msg.subarray(b * 16, b * 16 + 16);
    const y = new Uint8Array(16);
    for (let i = 0; i < 16; i++) y[i] = x[i] ^ blk[i];
    x = aes(y);
  }
  return x;
}

const cmacVectors = (readVectors<unknown>('crypto.json') as {
  aes128cmac: { key: string; message: string; mac: string }[];
}).aes128cmac;

function keyWrapKeyRef(benchKey: Uint8Array): Uint8Array {
  return cmacRef(benchKey, new Uint8Array([0x00, ...new TextEncoder().encode('xsmeter service key wrap')]));
}

// ---- rig --------------------------------------------------------------------------------------

interface RigOptions {
  meterId?: string;
  clientMeterId?: string;
  clientKey?: Uint8Array;
  chunk?: MemoryPortOptions;
  counter?: number;
}

function rig(o: RigOptions = {}) {
  const line = memorySerialPair({ meter: o.chunk, bench: o.chunk });
  const target = new FakeMeter(o.meterId ?? 'XSM12345678');
  const counters = new MemoryServiceCounterStore(o.counter ?? 0);
  const clock = { now: 0 };
  const server = new ServiceServer({
    port: line.meter,
    target,
    keys: { benchKey: () => BENCH_HANDLE }, crypto: nobleCrypto,
    counters,
    clock: { ticks: () => clock.now },
  });
  const timing = new VirtualTiming(() => {
    clock.now = timing.now;
    server.poll();
  });
  const client = new ServiceClient({
    port: line.bench,
    timing,
    benchKey: nobleCrypto.aesKey(o.clientKey ?? BENCH_KEY),
    crypto: nobleCrypto,
    meterId: o.clientMeterId ?? o.meterId ?? 'XSM12345678',
    timeoutMs: 200,
  });
  return { line, target, counters, server, client, timing };
}

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ServiceError, `not a ServiceError: ${String(e)}`);
    return e.code;
  }
  assert.fail('request was not refused');
}

function frames(events: DecodeEvent[]): Frame[] {
  return events.flatMap((e) => (e.kind === 'frame' ? [e.frame] : []));
}

// ---- tests ------------------------------------------------------------------------------------

describe('service interface', () => {
  describe('CRC-16/CCITT-FALSE', () => {
    it('gives the CRC catalogue check value 0x29B1 for "123456789"', () => {
      assert.equal(crc16Ccitt(new TextEncoder().encode('123456789')), 0x29b1);
    });
    it('agrees with Python binascii.crc_hqx(data, 0xFFFF) on fixed inputs', () => {
      // Values printed by CPython's binascii.crc_hqx, an independent implementation.
      assert.equal(crc16Ccitt(new Uint8Array(0)), 0xffff);
      assert.equal(crc16Ccitt(new Uint8Array([0])), 0xe1f0);
      assert.equal(crc16Ccitt(Uint8Array.from({ length: 256 }, (_, i) => i)), 0x3fbd);
      assert.equal(crc16Ccitt(new Uint8Array([0, 0, 0, 1, 7])), 0x52da);
    });
  });

  describe('framing', () => {
    it('lays a frame out as SOF, LEN, LCS, TYPE, SEQ, payload, CRC (high byte first)', () => {
      assert.equal(toHex(encodeFrame({ type: 1, seq: 7, payload: new Uint8Array(0) })), 'a55a000000' + '0107' + '52da');
      const big = encodeFrame({ type: 0x10, seq: 0xff, payload: new Uint8Array(300) });
      assert.equal(toHex(big.subarray(0, 7)), 'a55a' + '2c01' + 'd3' + '10ff'); // 0x2c + 0x01 + 0xd3 = 0x100
      assert.equal(big.length, 309);
    });

    it('refuses to encode an oversized payload or a type that is not a byte', () => {
      assert.throws(() => encodeFrame({ type: 1, seq: 0, payload: new Uint8Array(1025) }), (e: MeterError) => e.code === 'range');
      assert.throws(() => encodeFrame({ type: 256, seq: 0, payload: new Uint8Array(0) }), (e: MeterError) => e.code === 'range');
    });

    it('decodes frames split into arbitrary chunks with garbage between them (property)', () => {
      const arbFrame = fc.record({
        type: fc.integer({ min: 0, max: 255 }),
        seq: fc.integer({ min: 0, max: 255 }),
        payload: fc.uint8Array({ maxLength: 200 }),
      });
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.uint8Array({ maxLength: 40 }), arbFrame), { maxLength: 6 }),
          fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }),
          (items, cuts) => {
            const stream: number[] = [];
            for (const [junk, f] of items) stream.push(...junk, ...encodeFrame(f));
            const bytes = Uint8Array.from(stream);
            const dec = new FrameDecoder();
            const got: Frame[] = [];
            for (let i = 0, k = 0; i < bytes.length; k++) {
              const n = cuts[k % cuts.length];
              got.push(...frames(dec.push(bytes.subarray(i, i + n))));
              i += n;
            }
            // Junk may itself contain a valid frame only with negligible probability; every sent frame is found, in order.
            const want = items.map(([, f]) => toHex(encodeFrame(f)));
            const have = got.map((f) => toHex(encodeFrame(f)));
            let j = 0;
            for (const h of have) if (h === want[j]) j++;
            assert.equal(j, want.length);
          },
        ),
        { numRuns: 300 },
      );
    });

    it('finds the good frame right after a frame with a bad CRC, and reports the bad one', () => {
      const bad = encodeFrame({ type: 2, seq: 1, payload: Uint8Array.from([1, 2, 3]) });
      bad[8] ^= 0x40;
      const good = encodeFrame({ type: 3, seq: 2, payload: Uint8Array.from([9]) });
      const ev = new FrameDecoder().push(Uint8Array.from([...bad, ...good]));
      assert.deepEqual(
        ev.map((e) => (e.kind === 'frame' ? `frame ${e.frame.type}` : e.error.code)),
        ['crc', 'garbage', 'frame 3'],
      );
    });

    it('rejects a corrupted length at once (length checksum) and a length above the maximum', () => {
      const f = encodeFrame({ type: 2, seq: 1, payload: new Uint8Array(10) });
      const lie = f.slice();
      lie[2] = 0xff; // LEN 0x00ff with the old LCS
      const ev = new FrameDecoder().push(Uint8Array.from([...lie, ...f]));
      assert.equal(ev[0].kind === 'error' && ev[0].error.code, 'header-check');
      assert.equal(frames(ev).length, 1);
      const small = new FrameDecoder({ maxPayload: 8 });
      const ev2 = small.push(f);
      assert.equal(ev2[0].kind === 'error' && ev2[0].error.code, 'too-long');
      assert.equal(frames(ev2).length, 0);
    });

    it('abandons a partial frame when asked and finds a frame inside it', () => {
      // A header whose (consistent) length claims 500 bytes swallows a real frame behind it.
      const good = encodeFrame({ type: 5, seq: 9, payload: Uint8Array.from([1, 2]) });
      const lyingHeader = Uint8Array.from([0xa5, 0x5a, 0xf4, 0x01, 0x0b, 0x01, 0x00]); // 0xf4 + 0x01 + 0x0b = 0x100
      const dec = new FrameDecoder();
      assert.deepEqual(frames(dec.push(Uint8Array.from([...lyingHeader, ...good]))), []);
      assert.equal(dec.buffered, lyingHeader.length + good.length);
      const ev = dec.abandonPartial();
      assert.equal(ev[0].kind === 'error' && ev[0].error.code, 'abandoned');
      assert.deepEqual(frames(ev).map((f) => f.seq), [9]);
      assert.equal(dec.buffered, 0);
    });

    it('never holds more than one maximal frame, whatever arrives', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 3000 }), (junk) => {
          const dec = new FrameDecoder({ maxPayload: 64 });
          dec.push(junk);
          assert.ok(dec.buffered <= 64 + 9);
        }),
        { numRuns: 200 },
      );
    });
  });

  describe('field encoding', () => {
    it('UTF-8 matches TextEncoder, and the strict decoder accepts exactly what a fatal TextDecoder accepts', () => {
      const td = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
      fc.assert(
        fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (s) => {
          assert.deepEqual(utf8Encode(s), new TextEncoder().encode(s));
          assert.equal(utf8Decode(utf8Encode(s)), s);
        }),
        { numRuns: 300 },
      );
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 12 }).map((b) => b.map((x) => (x & 1 ? x | 0x80 : x))), (b) => {
          let ref: string | undefined;
          try {
            ref = td.decode(b);
          } catch {
            ref = undefined;
          }
          let mine: string | undefined;
          try {
            mine = utf8Decode(b);
          } catch (e) {
            assert.ok(e instanceof WireError);
            mine = undefined;
          }
          assert.equal(mine, ref);
        }),
        { numRuns: 2000 },
      );
    });

    it('encodes u64 little-endian up to 2^53 - 1 and refuses more', () => {
      assert.equal(toHex(new ByteWriter().u64(2 ** 53 - 1).bytes()), 'ffffffffffff1f00');
      assert.equal(toHex(new ByteWriter().u64(0x123456789a).bytes()), '9a78563412000000');
      assert.throws(() => new ByteWriter().u64(2 ** 53), (e: MeterError) => e.code === 'range');
      assert.throws(() => new ByteReader(fromHex('0000000000002000')).u64(), (e: MeterError) => e.code === 'range');
      assert.equal(new ByteReader(fromHex('9a78563412000000')).u64(), 0x123456789a);
      assert.throws(() => new ByteReader(fromHex('0102')).u32(), (e: MeterError) => e.code === 'malformed');
    });

    it('every request body round-trips and refuses trailing bytes', () => {
      const samples: Parameters<typeof encodeRequestBody>[0][] = [
        { kind: 'identify' },
        { kind: 'read-log-page', offset: 70000, length: 512 },
        { kind: 'write-calibration', bytes: Uint8Array.from([5, 6, 7]) },
        { kind: 'set-time', ms: 1_790_000_000_000 },
        { kind: 'install-meter-key', wrappedKey: new Uint8Array(24).fill(3) },
        { kind: 'pulse-test', on: true, count: 1000 },
        { kind: 'unseal', command: { counter: 9, mac: new Uint8Array(16).fill(1) } },
        { kind: 'write-calibration', bytes: Uint8Array.from([5, 6, 7]), who: 'bench-07/j.weber' },
        { kind: 'seal', who: 'b' },
        { kind: 'unseal', command: { counter: 9, mac: new Uint8Array(16).fill(1) }, who: 'bench-07/j.weber' },
        { kind: 'install-meter-key', wrappedKey: new Uint8Array(24).fill(3), who: 'x'.repeat(32) },
      ];
      for (const req of samples) {
        const body = encodeRequestBody(req);
        assert.deepEqual(decodeRequestBody(req.kind, body), req);
        assert.throws(() => decodeRequestBody(req.kind, Uint8Array.from([...body, 0])), (e: MeterError) => e.code === 'malformed');
      }
      assert.equal(toHex(encodeRequestBody({ kind: 'read-log-page', offset: 0x01020304, length: 0x0200 })), '040302010002');
      // who: a trailing one-byte-length string of 1–32 printable ASCII characters.
      assert.equal(toHex(encodeRequestBody({ kind: 'seal', who: 'B1' })), '024231');
      for (const bad of ['00', '21' + '41'.repeat(33), '0141ff', '02410a']) {
        assert.throws(() => decodeRequestBody('seal', fromHex(bad)), (e: MeterError) => e.code === 'malformed', bad);
      }
    });
  });

  describe('authentication', () => {
    it('the reference CMAC reproduces RFC 4493 examples 1–4', () => {
      for (const v of cmacVectors) assert.equal(toHex(cmacRef(fromHex(v.key), fromHex(v.message))), v.mac);
    });

    it('signs 0x53 0x01 ‖ type ‖ counter ‖ id length ‖ id ‖ body with the full CMAC', () => {
      const body = Uint8Array.from([0xaa, 0xbb]);
      assert.equal(toHex(macInput(0x13, 0x01020304, 'XSM1', body)), '5301' + '13' + '04030201' + '04' + '58534d31' + 'aabb');
      const payload = sealCommand(nobleCrypto, BENCH_HANDLE, 0x13, 0x01020304, 'XSM1', body);
      assert.equal(payload.length, AUTH_OVERHEAD + body.length);
      assert.equal(toHex(payload.subarray(0, 6)), '04030201aabb');
      assert.equal(toHex(payload.subarray(6)), toHex(cmacRef(BENCH_KEY, macInput(0x13, 0x01020304, 'XSM1', body))));
    });

    it("the key wrap reproduces RFC 3394 §4.1, and wrapped meter keys match node:crypto's id-aes128-wrap", () => {
      const kek = nobleCrypto.aesKey(fromHex('000102030405060708090a0b0c0d0e0f'));
      const rfc = fromHex('1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5'); // RFC 3394 §4.1
      assert.equal(toHex(wrapKey128(nobleCrypto, kek, fromHex('00112233445566778899aabbccddeeff'))), toHex(rfc));
      assert.equal(toHex(unwrapKey128(nobleCrypto, kek, rfc)!), '00112233445566778899aabbccddeeff');
      const key = fromHex('6b1f2e3d4c5b6a798897a6b5c4d3e2f1');
      const wrapped = wrapMeterKey(nobleCrypto, BENCH_HANDLE, key);
      const c = createCipheriv('id-aes128-wrap', keyWrapKeyRef(BENCH_KEY), Buffer.alloc(8, 0xa6));
      assert.equal(toHex(wrapped), toHex(Buffer.concat([c.update(key), c.final()])));
      assert.deepEqual(unwrapMeterKey(nobleCrypto, BENCH_HANDLE, wrapped), key);
      const bad = wrapped.slice();
      bad[5] ^= 1;
      assert.throws(() => unwrapMeterKey(nobleCrypto, BENCH_HANDLE, bad), (e: MeterError) => e.code === 'unwrap');
      assert.throws(() => unwrapMeterKey(nobleCrypto, nobleCrypto.aesKey(OTHER_KEY), wrapped), (e: MeterError) => e.code === 'unwrap');
    });
  });

  describe('client ↔ server', () => {
    it('identify, registers, instantaneous values and calibration read round-trip', async () => {
      const { client, target } = rig();
      const id = await client.connect();
      assert.deepEqual(id, { protocol: 1, ...target.identify(), authCounter: 0 });
      assert.deepEqual(await client.readRegisters(), target.registers);
      assert.deepEqual(await client.readInstantaneous(), target.instantaneous);
      assert.deepEqual(await client.readCalibration(), target.calibration);
      assert.deepEqual(await client.readUnsealChallenge(), { deviceId: target.meterId, counter: 7, headHash: target.headHash });
      assert.deepEqual(target.stateChangingCalls(), []);
    });

    it('exports the calibration log page by page', async () => {
      const { client, target } = rig();
      assert.deepEqual(await client.exportLog(), target.log);
      assert.deepEqual(
        target.calls.filter((c) => c.method === 'readLogPage').map((c) => c.args),
        [[0, 512], [512, 512], [1024, 512]],
      );
      const page = await client.readLogPage(1000, 100);
      assert.deepEqual(page, { total: 1300, offset: 1000, bytes: target.log.slice(1000, 1100) });
      assert.equal(await refusal(client.readLogPage(0, 513)), 'out-of-range');
      assert.equal(await refusal(client.readLogPage(0, 0)), 'out-of-range');
      assert.equal(await refusal(client.readLogPage(5000, 10)), 'out-of-range'); // the target's own refusal
    });

    it('a meter announcing a 4 GiB log export: bad-response before any allocation of that size', async () => {
      const { client, target } = rig();
      target.readLogPage = (offset) => ({ ok: true, value: { total: 0xffffffff, offset, bytes: new Uint8Array(16) } });
      const e = await client.exportLog().then(() => undefined, (err: unknown) => err);
      assert.ok(e instanceof ServiceError, String(e));
      assert.equal(e.code, 'bad-response');
      assert.match(e.message, /4294967295 bytes, more than 16777216/);
    });

    it('every privileged command reaches the target with its arguments and changes its state', async () => {
      const { client, target, counters } = rig();
      await client.connect();
      const cal = Uint8Array.from({ length: 700 }, (_, i) => i & 0xff);
      await client.writeCalibration(cal);
      assert.deepEqual(await client.readCalibration(), cal);
      await client.setTime(1_800_000_000_000);
      assert.equal((await client.identify()).timeMs, 1_800_000_000_000);
      const newKey = fromHex('00112233445566778899aabbccddeeff');
      await client.installMeterKey(newKey);
      assert.deepEqual(target.meterKey, newKey);
      await client.pulseTest(true, 1000);
      assert.deepEqual(target.pulse, { on: true, count: 1000 });
      await client.pulseTest(false);
      await client.seal();
      assert.equal((await client.identify()).sealed, true);
      await client.unseal();
      assert.equal(target.sealed, false);
      assert.deepEqual(
        target.stateChangingCalls().map((c) => c.method),
        ['writeCalibration', 'setTime', 'installMeterKey', 'pulseTest', 'pulseTest', 'seal', 'unseal'],
      );
      // The unseal command is the seal's own CMAC over its challenge (checked with the reference CMAC).
      const [cmd] = target.calls.filter((c) => c.method === 'unseal')[0].args as [{ counter: number; mac: Uint8Array }];
      assert.equal(cmd.counter, 7);
      const expected = cmacRef(BENCH_KEY, unsealMessage({ deviceId: target.meterId, counter: 7, headHash: target.headHash }));
      assert.equal(toHex(cmd.mac), toHex(expected));
      // Seven privileged commands: the counter went 1..7 and was persisted each time.
      assert.equal(counters.load(), 7);
      assert.equal(counters.saves, 7);
      assert.equal(client.counter, 7);
      assert.equal((await client.identify()).authCounter, 7);
    });

    it('a sealed target refuses writes and the reason passes through', async () => {
      const { client, target } = rig();
      target.sealed = true;
      assert.equal(await refusal(client.writeCalibration(Uint8Array.from([9]))), 'sealed');
      assert.equal(await refusal(client.installMeterKey(new Uint8Array(16))), 'sealed');
      target.switchPressed = false;
      assert.equal(await refusal(client.unseal()), 'switch-off');
      assert.equal(await refusal(client.setTime(1000)), 'out-of-range');
      assert.deepEqual(target.calibration, Uint8Array.from([1, 2, 3, 4]));
      assert.equal(target.sealed, true);
      const err = await client.writeCalibration(Uint8Array.from([9])).catch((e: ServiceError) => e);
      assert.ok(err instanceof ServiceError);
      assert.equal(err.details.message, 'calibration is sealed');
      assert.equal(err.details.command, 'write-calibration');
    });
  });

  describe('refusals before the target is called', () => {
    async function expectRefused(o: RigOptions, reason: string) {
      const r = rig(o);
      const store0 = r.counters.load();
      assert.equal(await refusal(r.client.writeCalibration(Uint8Array.from([1]))), reason);
      assert.equal(await refusal(r.client.seal()), reason);
      assert.deepEqual(r.target.stateChangingCalls(), []);
      assert.equal(r.counters.load(), store0);
      assert.equal(r.counters.saves, 0);
    }

    it('wrong bench key: unauthorised', () => expectRefused({ clientKey: OTHER_KEY }, 'unauthorised'));
    it('command signed for another meter id: unauthorised', () => expectRefused({ clientMeterId: 'XSM87654321' }, 'unauthorised'));
    it('counter not above the last accepted: replayed', () => expectRefused({ counter: 50 }, 'replayed'));

    it('a replayed frame and a counter going back are refused as replayed', async () => {
      const { client, target, line, counters } = rig();
      await client.setTime(1_800_000_000_000);
      // Replay the exact request bytes: same counter, valid MAC.
      const payload = sealCommand(nobleCrypto, BENCH_HANDLE, COMMANDS['set-time'].type, 1, target.meterId, encodeRequestBody({ kind: 'set-time', ms: 1_900_000_000_000 }));
      const replay = await client.exchange(COMMANDS['set-time'].type, payload);
      assert.equal(decodeReply('set-time', replay.payload).reason, 'replayed');
      // Jump ahead, then go back.
      const ahead = sealCommand(nobleCrypto, BENCH_HANDLE, 0x13, 10, target.meterId, encodeRequestBody({ kind: 'set-time', ms: 1_810_000_000_000 }));
      assert.equal(decodeReply('set-time', (await client.exchange(0x13, ahead)).payload).reason, 'ok');
      const back = sealCommand(nobleCrypto, BENCH_HANDLE, 0x13, 9, target.meterId, encodeRequestBody({ kind: 'set-time', ms: 1_900_000_000_000 }));
      assert.equal(decodeReply('set-time', (await client.exchange(0x13, back)).payload).reason, 'replayed');
      assert.deepEqual(target.stateChangingCalls().map((c) => c.args[0]), [1_800_000_000_000, 1_810_000_000_000]);
      assert.equal(counters.load(), 10);
      void line;
    });

    it('a signed counter far ahead (2^32 - 1) is refused out-of-range and does not use the counter up', async () => {
      const { client, target, counters } = rig();
      /** The meter's answer to set-time signed with `counter`. */
      const setTime = async (counter: number, ms: number) =>
        decodeReply('set-time', (await client.exchange(0x13, sealCommand(nobleCrypto, BENCH_HANDLE, 0x13, counter, target.meterId, encodeRequestBody({ kind: 'set-time', ms })))).payload).reason;
      assert.equal(await setTime(0xffffffff, 1_810_000_000_000), 'out-of-range');
      assert.equal(await setTime(16_777_217, 1_810_000_000_000), 'out-of-range');
      assert.deepEqual(target.stateChangingCalls(), []);
      assert.equal(counters.saves, 0);
      // 2^24 above the last accepted (0) is still taken, and the next one after it too.
      assert.equal(await setTime(16_777_216, 1_820_000_000_000), 'ok');
      assert.equal(await setTime(16_777_217, 1_830_000_000_000), 'ok');
      assert.deepEqual(target.stateChangingCalls().map((c) => c.args[0]), [1_820_000_000_000, 1_830_000_000_000]);
      assert.equal(counters.load(), 16_777_217);
    });

    it('missing authentication on a privileged command: unauthorised; on a public one, trailing bytes: malformed', async () => {
      const { client, target } = rig();
      for (const kind of ['seal', 'set-time', 'write-calibration'] as CommandKind[]) {
        const body = kind === 'set-time' ? encodeRequestBody({ kind, ms: 1_800_000_000_000 }) : kind === 'write-calibration' ? encodeRequestBody({ kind, bytes: new Uint8Array(30) }) : new Uint8Array(0);
        const r = await client.exchange(COMMANDS[kind].type, body);
        assert.equal(decodeReply(kind, r.payload).reason, 'unauthorised', kind);
      }
      const r = await client.exchange(COMMANDS.identify.type, Uint8Array.from([0]));
      assert.equal(decodeReply('identify', r.payload).reason, 'malformed');
      assert.deepEqual(target.stateChangingCalls(), []);
    });

    it('a validly signed but malformed body, or a key that does not unwrap, is malformed and consumes no counter', async () => {
      const { client, target, counters } = rig();
      const bad = sealCommand(nobleCrypto, BENCH_HANDLE, 0x15, 1, target.meterId, Uint8Array.from([2, 0, 0, 0, 0])); // on = 2
      assert.equal(decodeReply('pulse-test', (await client.exchange(0x15, bad)).payload).reason, 'malformed');
      const wrongWrap = sealCommand(nobleCrypto, BENCH_HANDLE, 0x14, 1, target.meterId, wrapMeterKey(nobleCrypto, nobleCrypto.aesKey(OTHER_KEY), new Uint8Array(16)));
      assert.equal(decodeReply('install-meter-key', (await client.exchange(0x14, wrongWrap)).payload).reason, 'malformed');
      assert.deepEqual(target.stateChangingCalls(), []);
      assert.equal(counters.saves, 0);
    });

    it('the who a logged request names is inside the CMAC: changed on the way, the request is unauthorised', async () => {
      const { client, target } = rig();
      const good = sealCommand(nobleCrypto, BENCH_HANDLE, COMMANDS.seal.type, 1, target.meterId, encodeRequestBody({ kind: 'seal', who: 'bench-1/a' }));
      const forged = good.slice();
      forged[4 + 1] ^= 0x01; // counter (4), who length (1), then 'b' → 'c'
      assert.equal(decodeReply('seal', (await client.exchange(COMMANDS.seal.type, forged)).payload).reason, 'unauthorised');
      assert.deepEqual(target.stateChangingCalls(), []);
      assert.equal(decodeReply('seal', (await client.exchange(COMMANDS.seal.type, good)).payload).reason, 'ok');
      assert.deepEqual(target.stateChangingCalls().map((c) => c.method), ['seal']);
    });

    it('an unknown command is refused with unknown-command', async () => {
      const { client } = rig();
      const r = await client.exchange(0x7e, new Uint8Array(0));
      assert.equal(r.type, 0xfe);
      assert.equal(r.payload[0], REASONS['unknown-command']);
    });
  });

  describe('client errors', () => {
    it('times out when nothing answers, and needs a key and a meter id for privileged commands', async () => {
      const line = memorySerialPair();
      const timing = new VirtualTiming();
      const client = new ServiceClient({ port: line.bench, timing, timeoutMs: 50 });
      assert.equal(await refusal(client.identify()), 'timeout');
      assert.ok(timing.now >= 50 && timing.now < 60);
      assert.equal(await refusal(client.seal()), 'no-key');
      const keyed = new ServiceClient({ port: line.bench, timing, benchKey: BENCH_HANDLE, crypto: nobleCrypto, timeoutMs: 50 });
      assert.equal(await refusal(keyed.seal()), 'no-meter-id');
    });

    it('takes only the response with its own sequence number and type', async () => {
      const line = memorySerialPair();
      const target = new FakeMeter();
      const server = new ServiceServer({ port: line.meter, target, keys: { benchKey: () => BENCH_HANDLE }, crypto: nobleCrypto, counters: new MemoryServiceCounterStore() });
      const impostor = { protocol: 1, ...new FakeMeter('IMPOSTOR').identify(), authCounter: 0 };
      const body = encodeReply('identify', { reason: 'ok', value: impostor });
      let injected = false;
      const timing = new VirtualTiming(() => {
        if (!injected) {
          // Arrive before the real answer: right type with another SEQ, right SEQ with another type.
          line.bench.deliver(encodeFrame({ type: 0x81, seq: 9, payload: body }));
          line.bench.deliver(encodeFrame({ type: 0x82, seq: 0, payload: Uint8Array.from([REASONS.ok, 0]) }));
          injected = true;
        }
        server.poll();
      });
      const client = new ServiceClient({ port: line.bench, timing });
      assert.equal((await client.identify()).meterId, target.meterId);
      assert.ok(injected);
    });
  });

  describe('TCP bridge', () => {
    it('parses --target', () => {
      assert.deepEqual(parseTarget('sim'), { kind: 'sim' });
      assert.deepEqual(parseTarget('tcp://127.0.0.1:4711'), { kind: 'tcp', host: '127.0.0.1', port: 4711 });
      assert.deepEqual(parseTarget('tcp://[::1]:80'), { kind: 'tcp', host: '::1', port: 80 });
      assert.deepEqual(parseTarget('/dev/ttyUSB0'), { kind: 'device', path: '/dev/ttyUSB0' });
      for (const bad of ['tcp://host', 'tcp://h:0', 'tcp://h:70000', 'serial', '']) {
        assert.throws(() => parseTarget(bad), (e: MeterError) => e.code === 'bad-target', bad);
      }
    });

    it('serves a meter on 127.0.0.1 to a client that connects through tcp://', async () => {
      const listener = await TcpSerialListener.listen(0);
      const target = new FakeMeter('XSM00000042');
      const server = new ServiceServer({ port: listener, target, keys: { benchKey: () => BENCH_HANDLE }, crypto: nobleCrypto, counters: new MemoryServiceCounterStore() });
      const loop = setInterval(() => server.poll(), 1);
      try {
        const port = (await openTarget(parseTarget(listener.url))) as TcpSerialClient;
        const client = new ServiceClient({ port, timing: nodeTiming, benchKey: BENCH_HANDLE, crypto: nobleCrypto, timeoutMs: 2000 });
        assert.equal((await client.connect()).meterId, 'XSM00000042');
        assert.deepEqual(await client.exportLog(200), target.log);
        await client.setTime(1_800_000_000_000);
        assert.equal(target.timeMs, 1_800_000_000_000);
        // A second bench takes the line over (as another probe plugged in); the first is closed.
        const second = await TcpSerialClient.connect('127.0.0.1', listener.port);
        const c2 = new ServiceClient({ port: second, timing: nodeTiming, timeoutMs: 2000 });
        assert.equal((await c2.identify()).meterId, 'XSM00000042');
        assert.equal(listener.takeovers, 1);
        for (let i = 0; port.open && i < 200; i++) await new Promise((r) => setTimeout(r, 5));
        assert.equal(port.open, false, 'the replaced connection is closed');
        await second.close();
      } finally {
        clearInterval(loop);
        await listener.close();
      }
      await assert.rejects(TcpSerialClient.connect('127.0.0.1', listener.port, 500), (e: MeterError) => e.code === 'connect');
      await assert.rejects(openTarget(parseTarget('/dev/ttyXSMETER-NONE')), (e: MeterError) => e.code === 'no-device');
    });
  });
});
