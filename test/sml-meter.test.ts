import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fromHex, toHex } from '../modules/core/bytes.js';
import { LmnResponder } from '../modules/sml/lmn-responder.js';
import type { SmlBody, SmlGetListResponse, SmlMessage, SmlOpenResponse } from '../modules/sml/messages.js';
import { obisText } from '../modules/sml/obis.js';
import { OpticalPush } from '../modules/sml/optical-push.js';
import { PinEntry } from '../modules/sml/pin-entry.js';
import { getListRequestFile, getListRequestMessages } from '../modules/sml/requests.js';
import { serverIdOf } from '../modules/sml/server-id.js';
import { encodeSmlFile } from '../modules/sml/transport.js';
import type { SmlReading } from '../modules/sml/val-list.js';
import { Flashes, MemoryPort, decodeAll, join } from './helpers/sml.js';

const SERVER = serverIdOf('XSM', 12345678);
const GATEWAY = fromHex('475731');

class Clock {
  t = 0;
  ticks(): number {
    return this.t;
  }
}


/** A port whose room (`writable`) the test sets; what is delivered waits until read. */
class RoomPort extends MemoryPort {
  room = Infinity;
  get writable(): number {
    return this.room;
  }
  get unread(): number {
    const b = this.read();
    if (b.length) this.deliver(b);
    return b.length;
  }
}

function registers(): SmlReading[] {
  return [
    { obis: '1.8.0', value: 123456 },
    { obis: '2.8.0', value: 789 },
    { obis: '1.8.1', value: 100000 },
    { obis: '1.8.2', value: 23456 },
    { obis: '16.7.0', value: -250 },
  ];
}

/** The decoded files of a stream (the codec itself is tested against real meters in sml-codec). */
function read(stream: Uint8Array): SmlMessage[][] {
  const { events } = decodeAll(stream);
  for (const e of events) if (e.kind === 'error') throw e.error;
  return events.map((e) => (e.kind === 'file' ? e.file.messages : []));
}
function listOf(file: SmlMessage[]): SmlGetListResponse {
  return file.find((m) => m.body.kind === 'get-list-res')!.body as SmlGetListResponse;
}
function values(file: SmlMessage[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of listOf(file).valList) out[obisText(e.objName)] = e.value instanceof Uint8Array ? toHex(e.value) : String(e.value);
  return out;
}

describe('SML meter side (modules/sml)', () => {
  describe('optical push', () => {
    function setup(details?: { visible(): boolean }) {
      const clock = new Clock();
      const port = new MemoryPort();
      const regs = registers();
      const push = new OpticalPush({ port, clock, source: { readings: () => regs, status: () => 0x12 }, serverId: SERVER, details });
      return { clock, port, regs, push };
    }

    it('pushes one file a second, keeps the cadence, and does not burst after a stall', () => {
      const { clock, port, push } = setup();
      const sent: number[] = [];
      for (clock.t = 0; clock.t <= 10_000; clock.t += 250) {
        push.poll();
        if (port.written.length > 0) sent.push(clock.t), port.take();
      }
      assert.deepEqual(sent, [0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000]);
      assert.equal(push.nextWake(), 11_000);
      sent.length = 0;
      for (clock.t = 10_700; clock.t <= 20_000; clock.t += 700) {
        if (clock.t > 12_000 && clock.t < 17_000) continue; // the application stalled for 5 s
        push.poll();
        if (port.written.length > 0) sent.push(clock.t), port.take();
      }
      assert.deepEqual(sent, [11_400, 17_000, 18_400, 19_100]);
    });

    it('sends server ID, manufacturer, A+ with the status word, A-, the tariffs — and no power without the PIN', () => {
      const { clock, port, push } = setup();
      clock.t = 7_250;
      push.poll();
      const [file] = read(port.take());
      assert.deepEqual(file.map((m) => m.body.kind), ['open-res', 'get-list-res', 'close-res']);
      assert.equal(toHex((file[0].body as SmlOpenResponse).serverId), '0a0158534d0000bc614e');
      const list = listOf(file);
      assert.equal(toHex(list.listName!), '0100620affff');
      assert.deepEqual(list.actSensorTime, { kind: 'secIndex', seconds: 7 });
      assert.deepEqual(
        list.valList.map((e) => [obisText(e.objName), e.unit ?? null, e.scaler ?? null, e.status === undefined ? null : Number(e.status)]),
        [
          ['129-129:199.130.3*255', null, null, null],
          ['1-0:0.0.9*255', null, null, null],
          ['1-0:1.8.0*255', 30, 0, 0x12],
          ['1-0:2.8.0*255', 30, 0, null],
          ['1-0:1.8.1*255', 30, 0, null],
          ['1-0:1.8.2*255', 30, 0, null],
        ],
      );
      assert.deepEqual(values(file), {
        '129-129:199.130.3*255': toHex(new TextEncoder().encode('XSM')),
        '1-0:0.0.9*255': '0a0158534d0000bc614e',
        '1-0:1.8.0*255': '123456',
        '1-0:2.8.0*255': '789',
        '1-0:1.8.1*255': '100000',
        '1-0:1.8.2*255': '23456',
      });
      // Transaction IDs: push counter and message number, distinct for every message of the stream.
      push.poll();
      clock.t += 1000;
      push.poll();
      const ids = read(port.take()).flat().map((m) => toHex(m.transactionId));
      assert.deepEqual(ids, ['0000000101', '0000000102', '0000000103']);
    });

    it('a file with every detail fits one second of the 9600-baud line, and the encoder reuses its buffer', () => {
      const { push, regs } = setup({ visible: () => true });
      for (const c of [21, 41, 61]) regs.push({ obis: `${c}.8.0`, value: 2 ** 40 }, { obis: `${c + 1}.8.0`, value: 2 ** 40 });
      regs.push({ obis: '32.7.0', value: 2301, scaler: -1 }, { obis: '31.7.0', value: 12345, scaler: -3 }, { obis: '14.7.0', value: 4999, scaler: -2 });
      const a = push.encode(0);
      const bitsPerByte = 10; // 8N1
      assert.ok((a.length * bitsPerByte) / 9600 < 1, `${a.length} bytes`);
      const b = push.encode(1000);
      assert.equal(a.buffer, b.buffer);
      const units = listOf(read(b.slice())[0]).valList.map((e) => [obisText(e.objName), e.unit ?? null]);
      assert.deepEqual(units.slice(-3), [['1-0:32.7.0*255', 35], ['1-0:31.7.0*255', 33], ['1-0:14.7.0*255', 44]]);
      assert.deepEqual(units[6], ['1-0:16.7.0*255', 27]);
    });

    it('a reading SML cannot carry skips that file with a count, and never throws', () => {
      const { clock, port, push, regs } = setup();
      regs[1].value = 0.5;
      push.poll();
      regs[1].value = 790;
      clock.t = 1000;
      push.poll();
      assert.deepEqual(push.stats.errors, { range: 1 });
      assert.equal(read(port.take()).length, 1);
      assert.equal(push.stats.files, 1);
    });
  });

  describe('a busy port (writable: a UART shared by the push and the LMN)', () => {
    it('the push skips a file the port has no room for and counts it; the cadence goes on', () => {
      const clock = new Clock();
      const port = new RoomPort();
      const push = new OpticalPush({ port, clock, source: { readings: registers, status: () => 0 }, serverId: SERVER });
      push.poll();
      port.room = 10;
      clock.t = 1000;
      push.poll();
      port.room = Infinity;
      clock.t = 2000;
      push.poll();
      assert.equal(read(port.take()).length, 2);
      assert.deepEqual([push.stats.files, push.stats.busy, push.nextWake()], [2, 1, 3000]);
    });

    it('the LMN holds an answer until the port has room, reads nothing meanwhile, and drops it after holdMs', () => {
      const clock = new Clock();
      const port = new RoomPort();
      const lmn = new LmnResponder({ port, clock, source: { readings: registers, status: () => 0 }, serverId: SERVER, holdMs: 1000 });
      const req = (id: number) => getListRequestFile({ clientId: GATEWAY, reqFileId: Uint8Array.of(id), serverId: SERVER });
      port.room = 0;
      port.deliver(join(req(1), req(2)));
      lmn.poll();
      assert.equal(lmn.busy, true);
      port.deliver(req(3));
      clock.t = 500;
      lmn.poll();
      assert.deepEqual([port.written.length, port.unread], [0, req(3).length], 'nothing written, nothing more read');
      port.room = Infinity;
      lmn.poll(); // the held answer, the second request of the same read, then the third
      const ids = read(port.take()).map((f) => toHex((f[0].body as SmlOpenResponse).reqFileId));
      assert.deepEqual(ids, ['01', '02', '03']);
      port.room = 0;
      port.deliver(req(4));
      lmn.poll(); // reads and holds the fourth
      clock.t = 1499;
      lmn.poll();
      clock.t = 1500;
      lmn.poll();
      assert.equal(lmn.busy, false);
      assert.deepEqual(lmn.stats.failed, { busy: 1 });
      assert.equal(lmn.stats.responses, 3);
    });
  });

  describe('customer PIN (light pulses)', () => {
    const PIN = '2405';
    function setup(opts: { visibleMs?: number } = {}) {
      const clock = new Clock();
      const flashes = new Flashes();
      const pin = new PinEntry({ pulses: flashes, clock, pin: PIN, ...opts });
      const port = new MemoryPort();
      const push = new OpticalPush({ port, clock, source: { readings: registers, status: () => 0 }, serverId: SERVER, details: pin });
      /** Every file pushed: when, and whether it carried the power. */
      const files: { t: number; detail: boolean }[] = [];
      let lastFlash = -1;
      /** Application ticks every 100 ms for `ms`: PIN first, then the push. */
      const run = (ms: number) => {
        for (const end = clock.t + ms; clock.t < end; clock.t += 100) {
          pin.poll();
          push.poll();
          for (const f of read(port.take())) files.push({ t: clock.t, detail: '1-0:16.7.0*255' in values(f) });
        }
      };
      /** Flashes the digits, 300 ms apart, 3.5 s between digits; returns the tick of the last flash. */
      const enter = (digits: number[]): number => {
        for (const d of digits) {
          for (let k = 0; k < d; k++) {
            flashes.n++;
            lastFlash = clock.t;
            run(300);
          }
          run(3500);
        }
        return lastFlash;
      };
      return { clock, pin, push, run, enter, files };
    }

    it('power is hidden before the PIN, shown after it, hidden again after the timeout', () => {
      const s = setup({ visibleMs: 60_000 });
      s.run(10_000);
      const last = s.enter([2, 4, 10, 5]); // 0 is ten flashes
      s.run(70_000);
      // The fourth digit ends 3 s after its last flash; from then on the detail shows for 60 s.
      const shownFrom = last + 3000;
      assert.ok(s.files.length > 100);
      for (const f of s.files) assert.equal(f.detail, f.t >= shownFrom && f.t < shownFrom + 60_000, `file at ${f.t}`);
      assert.equal(s.files.filter((f) => f.detail).length, 60);
      assert.equal(s.pin.visible(), false);
      assert.deepEqual(s.pin.stats, { unlocks: 1, wrong: 0, lockouts: 0 });
      assert.equal(s.push.stats.detailFiles, 60);
    });

    it('a wrong PIN shows nothing; three lock entry out, even for the right PIN, until the lockout ends', () => {
      const s = setup();
      s.enter([2, 4, 10, 6]);
      s.enter([2, 4, 11, 5]); // eleven flashes are no digit
      const third = s.enter([1, 2, 3, 4]);
      assert.deepEqual(s.pin.stats, { unlocks: 0, wrong: 3, lockouts: 1 });
      s.enter([2, 4, 10, 5]);
      assert.equal(s.pin.visible(), false);
      s.run(300_000 - (s.clock.t - third - 3000));
      const last = s.enter([2, 4, 10, 5]);
      assert.equal(s.pin.visible(), true);
      assert.ok(s.files.every((f) => f.detail === f.t >= last + 3000));
    });

    it('digits left unfinished are dropped; the wake time says when the PIN entry next needs a poll', () => {
      const s = setup();
      const l1 = s.enter([2, 4]);
      assert.equal(s.pin.nextWake(), l1 + 20_000); // the two digits are dropped then
      s.run(30_000);
      const l2 = s.enter([2, 4, 10, 5]);
      assert.equal(s.pin.visible(), true);
      assert.equal(s.pin.nextWake(), l2 + 3000 + 120_000); // when the detail hides again
    });

    it('refuses a PIN that is not four digits', () => {
      assert.throws(() => new PinEntry({ pulses: new Flashes(), clock: new Clock(), pin: '123' }), /four decimal digits/);
    });
  });

  describe('LMN responder (RS-485)', () => {
    function setup(opts: { maxBytesPerPoll?: number } = {}) {
      const clock = new Clock();
      const port = new MemoryPort();
      const lmn = new LmnResponder({ port, clock, source: { readings: registers, status: () => 3 }, serverId: SERVER, ...opts });
      return { clock, port, lmn };
    }
    const request = (o: Partial<Parameters<typeof getListRequestFile>[0]> = {}) => getListRequestFile({ clientId: GATEWAY, reqFileId: fromHex('a1b2'), serverId: SERVER, ...o });

    it('answers a GetList.Req with Open, GetList (every register, power included) and Close, echoing IDs', () => {
      const { clock, port, lmn } = setup();
      clock.t = 42_000;
      port.deliver(request());
      lmn.poll();
      const files = read(port.take());
      assert.equal(files.length, 1);
      const [open, list, close] = files[0];
      const req = getListRequestMessages({ clientId: GATEWAY, reqFileId: fromHex('a1b2'), serverId: SERVER });
      assert.deepEqual([open, list, close].map((m) => toHex(m.transactionId)), req.map((m) => toHex(m.transactionId)));
      assert.deepEqual(open.body, { kind: 'open-res', clientId: GATEWAY, reqFileId: fromHex('a1b2'), serverId: SERVER });
      const body = list.body as SmlGetListResponse;
      assert.deepEqual(body.clientId, GATEWAY);
      assert.deepEqual(body.actSensorTime, { kind: 'secIndex', seconds: 42 });
      assert.equal(values(files[0])['1-0:16.7.0*255'], '-250');
      assert.equal(Number(body.valList[2].status), 3);
      assert.deepEqual(close.body, { kind: 'close-res' });
      assert.deepEqual(lmn.stats, { requests: 1, responses: 1, errors: {}, ignored: {}, failed: {} });
    });

    it('answers a request without a server ID, and one that arrives a byte per poll', () => {
      const { port, lmn } = setup();
      port.deliver(request({ serverId: undefined }));
      lmn.poll();
      const req = request();
      for (const b of req) {
        port.deliver(Uint8Array.of(b));
        lmn.poll();
      }
      assert.equal(read(port.take()).length, 2);
    });

    it('ignores requests for another meter or another list, and files without GetList.Req', () => {
      const { port, lmn } = setup();
      port.deliver(request({ serverId: serverIdOf('XSM', 1) }));
      port.deliver(request({ listName: fromHex('0100620affee') }));
      port.deliver(encodeSmlFile([{ transactionId: fromHex('01'), body: { kind: 'close-req' } }]));
      lmn.poll();
      assert.equal(port.take().length, 0);
      assert.deepEqual(lmn.stats.ignored, { 'other-server': 1, 'unknown-list': 1, 'no-get-list': 1 });
      assert.equal(lmn.stats.requests, 3);
    });

    it('malformed or wrong-CRC requests get no answer and an error count, never a throw', () => {
      const { port, lmn } = setup();
      const good = request();
      const crc = good.slice();
      crc[crc.length - 1] ^= 0xff;
      const body = good.slice();
      body[20] ^= 0x01; // inside a message: file CRC wrong too
      const esc = join(good.subarray(0, 16), fromHex('1b1b1b1b55555555'));
      const truncated = good.subarray(0, 30);
      for (const bad of [crc, body, esc, truncated, fromHex('00112233445566778899')]) {
        port.deliver(bad);
        lmn.poll();
      }
      assert.equal(port.take().length, 0);
      assert.deepEqual(lmn.stats.errors, { crc: 2, escape: 1 });
      port.deliver(good); // the truncated file ends as truncated when this start arrives
      lmn.poll();
      assert.deepEqual(lmn.stats.errors, { crc: 2, escape: 1, truncated: 1 });
      assert.equal(read(port.take()).length, 1);
    });

    it('does bounded work per poll: a flood is worked off over several polls, then the request is answered', () => {
      const { port, lmn } = setup({ maxBytesPerPoll: 512 });
      port.deliver(join(new Uint8Array(5000).fill(0x1b), request()));
      let polls = 0;
      while (port.written.length === 0 && polls < 100) {
        lmn.poll();
        polls++;
        assert.ok(lmn.pending <= 5000 + request().length);
      }
      assert.equal(polls, Math.ceil((5000 + request().length) / 512));
      assert.equal(read(port.take()).length, 1);
      assert.equal(lmn.pending, 0);
    });

    it('fuzz: no junk makes poll throw, write or stall; the next good request is answered', () => {
      const good = request();
      fc.assert(
        fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), fc.integer({ min: 1, max: 2048 }), (junk, max) => {
          const { port, lmn } = setup({ maxBytesPerPoll: max });
          for (const j of junk) {
            port.deliver(j);
            lmn.poll();
          }
          assert.equal(port.take().length, 0);
          port.deliver(good);
          port.deliver(good);
          // Bounded work: `max` bytes a poll, so what is left of the junk and the two requests take
          // this many polls at most.
          const bytes = junk.reduce((n, j) => n + j.length, 0) + 2 * good.length;
          for (let i = 0; i < Math.ceil(bytes / max) + 2; i++) lmn.poll();
          assert.equal(lmn.pending, 0);
          // The first copy may be swallowed by a file the junk left open; the second is always answered.
          assert.ok(read(port.take()).length >= 1);
          assert.equal(lmn.stats.responses >= 1, true);
        }),
        { numRuns: 300 },
      );
    });

    it('answers each GetList.Req of a file', () => {
      const { port, lmn } = setup();
      const [open, list, close] = getListRequestMessages({ clientId: GATEWAY, reqFileId: fromHex('01'), serverId: SERVER });
      const second: SmlMessage = { transactionId: fromHex('0199'), body: { ...(list.body as SmlBody & { kind: 'get-list-req' }) } };
      port.deliver(encodeSmlFile([open, list, second, close]));
      lmn.poll();
      const [file] = read(port.take());
      assert.deepEqual(file.map((m) => [m.body.kind, toHex(m.transactionId)]), [
        ['open-res', '0101'],
        ['get-list-res', '0102'],
        ['get-list-res', '0199'],
        ['close-res', '0103'],
      ]);
    });
  });
});
