/**
 * The service interface must never starve the meter (issue 10, item 4): a request flood whose
 * replies are never read, a client that stops (or dribbles) mid-frame, and a TCP client that holds
 * the line. Timing is on simulated time: the meter's SimClock, with a cost model for the CPU a reply
 * takes (REPLY_COST_MS charged to the meter's clock for every reply written), so a poll that does
 * unbounded work shows up as late telegrams in simulated time, as it did in wall time on the real
 * loop. Frames are checked with an independent bitwise CRC-16/CCITT-FALSE and parser below.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { MemoryServiceCounterStore } from '../modules/service/auth.js';
import { ServiceClient } from '../modules/service/client.js';
import { FrameDecoder, encodeFrame, type DecodeBudget, type DecodeEvent } from '../modules/service/frame.js';
import { COMMANDS, encodeRequestBody } from '../modules/service/messages.js';
import { ServiceServer } from '../modules/service/server.js';
import type { SerialPort } from '../modules/ports/bus.js';
import { Ecma419SerialPort, type Ecma419Serial } from '../hosts/esp32/ports/serial.js';
import { VirtualTiming, memorySerialPair, type MemorySerialPort } from '../hosts/sim/service-pipe.js';
import { nobleCrypto } from '../hosts/sim/noble-crypto.js';
import { TcpSerialListener } from '../hosts/sim/service-transport.js';
import { SERVICE_RX_BYTES, SERVICE_TX_BYTES, SimMeter, type AirFrame } from '../hosts/sim/sim-meter.js';
import { FakeMeter } from './helpers/service-target.js';

const BENCH_KEY = nobleCrypto.aesKey(Uint8Array.from({ length: 16 }, (_, i) => i));
/** Simulated CPU time one reply costs the meter (decode, dispatch, encode, CRC, UART): a coarse model. */
const REPLY_COST_MS = 1;

// ---- independent truth: CRC-16/CCITT-FALSE bit by bit, and a strict parser of a reply stream ----

function crcBitwise(bytes: ArrayLike<number>, start: number, end: number): number {
  let c = 0xffff;
  for (let i = start; i < end; i++) {
    c ^= bytes[i] << 8;
    for (let k = 0; k < 8; k++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
  }
  return c;
}

/** Splits a stream that must consist of well-formed frames only; returns [type, seq] of each. */
function parseStream(b: Uint8Array): [number, number][] {
  const out: [number, number][] = [];
  let p = 0;
  while (p < b.length) {
    assert.ok(b[p] === 0xa5 && b[p + 1] === 0x5a, `SOF at ${p}`);
    const n = b[p + 2] | (b[p + 3] << 8);
    assert.equal((b[p + 2] + b[p + 3] + b[p + 4]) & 0xff, 0, 'LCS');
    const end = p + 7 + n;
    assert.ok(end + 2 <= b.length, 'a frame is cut off');
    assert.equal((b[end] << 8) | b[end + 1], crcBitwise(b, p + 2, end), 'CRC');
    out.push([b[p + 5], b[p + 6]]);
    p = end + 2;
  }
  return out;
}

function identify(seq: number): Uint8Array {
  return encodeFrame({ type: COMMANDS.identify.type, seq: seq & 0xff, payload: new Uint8Array(0) });
}

function logPage(seq: number): Uint8Array {
  return encodeFrame({ type: COMMANDS['read-log-page'].type, seq: seq & 0xff, payload: encodeRequestBody({ kind: 'read-log-page', offset: 0, length: 512 }) });
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A flood block: identify and log-page requests alternating (small and large replies). */
function floodBlock(bytes: number): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let n = 0, i = 0; n < bytes; i++) {
    const f = i % 2 ? logPage(i) : identify(i);
    parts.push(f);
    n += f.length;
  }
  return concat(parts);
}

function heapBytes(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** The meter's port seen by the server, with the cost model and per-poll accounting. */
class MeteredPort implements SerialPort {
  bytesThisPoll = 0;
  repliesThisPoll = 0;
  maxBytesPerPoll = 0;
  maxRepliesPerPoll = 0;
  constructor(
    private readonly inner: SerialPort,
    private readonly charge: (ms: number) => void,
  ) {}
  read(maxBytes?: number): Uint8Array {
    const b = this.inner.read(maxBytes);
    this.bytesThisPoll += b.length;
    return b;
  }
  write(bytes: Uint8Array): void {
    this.repliesThisPoll++;
    this.charge(REPLY_COST_MS);
    this.inner.write(bytes);
  }
  get writable(): number | undefined {
    return this.inner.writable;
  }
  /** Wraps the meter's server.poll to close the books after every poll. */
  watch(server: ServiceServer): void {
    const poll = server.poll.bind(server);
    server.poll = () => {
      this.bytesThisPoll = 0;
      this.repliesThisPoll = 0;
      const r = poll();
      this.maxBytesPerPoll = Math.max(this.maxBytesPerPoll, this.bytesThisPoll);
      this.maxRepliesPerPoll = Math.max(this.maxRepliesPerPoll, this.repliesThisPoll);
      return r;
    };
  }
}

/** A simulated meter sending a telegram every 2 s (no jitter, no duty-cycle limit) on `port`. */
function floodMeter(port: (m: () => SimMeter) => SerialPort): { meter: SimMeter; lateness: number[] } {
  const lateness: number[] = [];
  let meter: SimMeter | undefined;
  let due = 0;
  const m = new SimMeter({
    seed: 11,
    load: 'manual',
    initialLoad: { voltage: 230, current: 5, phaseDeg: 0 },
    intervalMs: 2000,
    jitter: 0,
    dutyCycle: 1,
    service: port(() => meter as SimMeter),
    onAir: (f: AirFrame) => lateness.push(f.sent.ticks - due),
  });
  meter = m;
  const step = m.advance.bind(m);
  // Every step notes when the next telegram is due, so its lateness is known when it goes out.
  m.advance = (ms: number) => {
    due = m.app.part.sender.nextDue;
    step(ms);
  };
  return { meter: m, lateness };
}

/** 12 s of flood: at least 5 telegrams, none later than one tick after it was due, each poll
 *  within its budget, the heap grown by less than 32 MB (coarse: no gc is forced). */
function assertNotStarved(meter: SimMeter, port: MeteredPort, lateness: number[], heapGrowth: number): void {
  const tick = meter.app.tickMs;
  assert.ok(lateness.length >= 5, `${lateness.length} telegrams in 12 s`);
  const worst = Math.max(...lateness);
  assert.ok(worst <= tick, `a telegram went out ${worst} ms (${(worst / tick).toFixed(1)} ticks) after it was due`);
  assert.ok(port.maxBytesPerPoll <= meter.app.part.server.maxBytesPerPoll, `${port.maxBytesPerPoll} bytes read in one poll`);
  assert.ok(port.maxRepliesPerPoll <= meter.app.part.server.maxRequestsPerPoll, `${port.maxRepliesPerPoll} replies in one poll`);
  assert.ok(heapGrowth < 32e6, `heap grew ${(heapGrowth / 1e6).toFixed(1)} MB`);
}

describe('service interface under attack: the meter is never starved', () => {
  describe('frame decoder: bounded work and timeouts', () => {
    it('feed() stops after the frame budget and takes the rest on later calls, in order', () => {
      const frames = Array.from({ length: 10 }, (_, i) => identify(i));
      const stream = concat(frames);
      const dec = new FrameDecoder();
      const seqs: number[] = [];
      let rest = stream;
      for (let call = 0; call < 100 && (rest.length > 0 || dec.unchecked); call++) {
        const events: DecodeEvent[] = [];
        const budget: DecodeBudget = { frames: 3, checkBytes: Infinity };
        const used = dec.feed(rest, events, budget, 0);
        rest = rest.subarray(used);
        const got = events.filter((e) => e.kind === 'frame');
        assert.ok(got.length <= 3, `${got.length} frames in one call`);
        for (const e of got) if (e.kind === 'frame') seqs.push(e.frame.seq);
      }
      assert.deepEqual(seqs, [...Array(10).keys()]);
    });

    it('a crafted stream costs at most the CRC budget per call, and the frame hidden in it is still found', () => {
      // Overlapping headers with good length checksums, each claiming 900 bytes: every candidate is
      // complete and fails its CRC, and the search restarts two bytes on.
      const header = [0xa5, 0x5a, 0x84, 0x03, 0x79]; // LEN 900, LCS (0x84 + 0x03 + 0x79) & 0xff = 0
      const junk = Uint8Array.from({ length: 1200 }, (_, i) => header[i % 5]);
      const good = identify(77);
      const stream = concat([junk, good, new Uint8Array(920)]);
      const dec = new FrameDecoder();
      let rest = stream;
      let checkedTotal = 0;
      let found = false;
      for (let call = 0; call < 2000 && !found; call++) {
        const events: DecodeEvent[] = [];
        const budget: DecodeBudget = { frames: 1, checkBytes: 2 * 1033 };
        rest = rest.subarray(dec.feed(rest, events, budget, 0));
        assert.ok(budget.checkBytes >= 0, 'budget overspent');
        checkedTotal += 2 * 1033 - budget.checkBytes;
        found = events.some((e) => e.kind === 'frame' && e.frame.seq === 77);
      }
      assert.ok(found, 'the good frame was not found');
      assert.ok(checkedTotal > 10 * 2066, `the stream did cost CRC work (${checkedTotal} bytes): the bound was exercised`);
    });

    it('gives up a partial frame after the idle timeout, and a dribbled one after the frame timeout', () => {
      const f = logPage(1);
      const idle = new FrameDecoder({ idleTimeoutMs: 250, frameTimeoutMs: 2000 });
      const budget = (): DecodeBudget => ({ frames: 1, checkBytes: Infinity });
      const ev: DecodeEvent[] = [];
      idle.feed(f.subarray(0, 10), ev, budget(), 0);
      assert.equal(idle.expire(249, ev, budget()), false);
      assert.equal(idle.expire(250, ev, budget()), true);
      assert.ok(ev.some((e) => e.kind === 'error' && e.error.code === 'abandoned'));

      const slow = new FrameDecoder({ idleTimeoutMs: 250, frameTimeoutMs: 2000 });
      const long = encodeFrame({ type: 0x10, seq: 1, payload: new Uint8Array(300) });
      const codes: string[] = [];
      let t = 0;
      for (let i = 0; i < long.length - 1; i++, t += 100) {
        const e: DecodeEvent[] = [];
        slow.feed(long.subarray(i, i + 1), e, budget(), t);
        slow.expire(t, e, budget());
        for (const x of e) if (x.kind === 'error') codes.push(`${x.error.code}@${t}`);
        if (codes.some((c) => c.startsWith('frame-timeout'))) break;
      }
      assert.ok(codes.includes('frame-timeout@2000'), codes.join(' '));
    });
  });

  describe('server: bounded work per poll, flow control on unread replies', () => {
    function rig(benchCapacity = Infinity) {
      const line = memorySerialPair({ bench: { capacity: benchCapacity } });
      const clock = { now: 0 };
      const target = new FakeMeter('XSM12345678', 300);
      const server = new ServiceServer({ port: line.meter, target, keys: { benchKey: () => BENCH_KEY }, crypto: nobleCrypto, counters: new MemoryServiceCounterStore(), clock: { ticks: () => clock.now } });
      return { line, clock, target, server };
    }

    it('1000 requests at once: each poll takes at most one frame of bytes and answers at most 4; all answered in order', () => {
      const r = rig();
      const requests = Array.from({ length: 1000 }, (_, i) => (i % 2 ? logPage(i) : identify(i)));
      r.line.meter.deliver(concat(requests));
      let polls = 0;
      let maxAnswers = 0;
      let maxBytes = 0;
      while ((r.line.meter.pending > 0 || r.server.busy) && polls < 10_000) {
        const before = r.line.meter.pending;
        const n = r.server.poll();
        maxAnswers = Math.max(maxAnswers, n);
        maxBytes = Math.max(maxBytes, before - r.line.meter.pending);
        polls++;
        r.clock.now += 15;
      }
      assert.ok(maxAnswers <= r.server.maxRequestsPerPoll, `${maxAnswers} answers in one poll`);
      assert.ok(maxBytes <= r.server.maxBytesPerPoll, `${maxBytes} bytes read in one poll`);
      const replies = parseStream(r.line.bench.read());
      assert.equal(replies.length, 1000);
      replies.forEach(([type, seq], i) => {
        assert.equal(type, (i % 2 ? COMMANDS['read-log-page'].type : COMMANDS.identify.type) | 0x80);
        assert.equal(seq, i & 0xff);
      });
    });

    it('a client that never reads: the meter holds one reply and stops reading it; nothing is lost once it reads', () => {
      const r = rig(2000);
      const requests = Array.from({ length: 300 }, (_, i) => (i % 2 ? logPage(i) : identify(i)));
      r.line.meter.deliver(concat(requests));
      for (let i = 0; i < 500; i++) {
        r.server.poll();
        r.clock.now += 15;
      }
      // Bounded: the bench's buffer is full (replies unread), the meter keeps the rest unread.
      assert.ok(r.line.bench.pending <= 2000, `${r.line.bench.pending} bytes queued for the bench`);
      assert.equal(r.line.bench.overrun, 0, 'no reply was cut');
      assert.ok(r.server.stats.waits > 400, `${r.server.stats.waits} polls waited`);
      assert.ok(r.line.meter.pending > 0, 'the meter stopped reading requests');
      assert.ok(r.server.busy);
      // The client reads again: everything is answered, in order, none twice, none lost.
      const got: [number, number][] = [];
      for (let i = 0; i < 20_000 && got.length < 300; i++) {
        r.server.poll();
        r.clock.now += 15;
        if (i % 7 === 0) got.push(...parseStream(r.line.bench.read()));
      }
      got.push(...parseStream(r.line.bench.read()));
      assert.deepEqual(
        got.map(([, seq]) => seq),
        requests.map((_, i) => i & 0xff),
      );
    });

    it('a dribbling sender (a byte every 100 ms, never idle) loses the line after the frame timeout', () => {
      const r = rig();
      // A header claiming 1024 bytes, then a byte every 100 ms; a real request arrives 500 ms in.
      const claim = Uint8Array.from([0xa5, 0x5a, 0x00, 0x04, 0xfc, 0x01, 0x00]);
      r.line.meter.deliver(claim);
      let answeredAt = -1;
      for (let t = 0; t <= 10_000 && answeredAt < 0; t += 100) {
        r.clock.now = t;
        if (t === 500) r.line.meter.deliver(identify(42));
        else r.line.meter.deliver(Uint8Array.of(0x00));
        r.server.poll();
        const replies = r.line.bench.pending ? parseStream(r.line.bench.read()) : [];
        if (replies.some(([, seq]) => seq === 42)) answeredAt = t;
      }
      assert.ok(answeredAt >= 0 && answeredAt <= 2000 + 100, `answered at ${answeredAt} ms (frame timeout 2000 ms)`);
      assert.equal(r.server.stats.framing['frame-timeout'], 1);
    });
  });

  describe('a simulated meter under a request flood whose replies are never read', () => {
    it('memory line: every telegram within one tick of its due time, buffers bounded, served afterwards', async () => {
      const line = memorySerialPair({ meter: { capacity: SERVICE_RX_BYTES }, bench: { capacity: SERVICE_TX_BYTES } });
      let metered: MeteredPort | undefined;
      const { meter, lateness } = floodMeter((m) => (metered = new MeteredPort(line.meter, (ms) => m().clock.advance(ms))));
      const port = metered as MeteredPort;
      port.watch(meter.app.part.server);
      const tick = meter.app.tickMs;
      const block = floodBlock(16_384);
      const heap0 = heapBytes();
      let maxRx = 0;
      let maxTx = 0;
      while (meter.clock.ticks() < 12_000) {
        line.meter.deliver(block); // the flood: far more than the line takes, every tick
        meter.advance(tick);
        maxRx = Math.max(maxRx, line.meter.pending);
        maxTx = Math.max(maxTx, line.bench.pending);
      }
      assertNotStarved(meter, port, lateness, heapBytes() - heap0);
      assert.ok(maxRx <= SERVICE_RX_BYTES && maxTx <= SERVICE_TX_BYTES, `line buffers ${maxRx} / ${maxTx} bytes`);
      assert.ok(meter.app.part.server.stats.waits > 0, 'the unread replies did hold the meter back');

      // The flood stops; a bench that reads is served (stale replies are skipped by SEQ and type).
      const timing = new VirtualTiming(() => meter.advance(tick));
      const client = new ServiceClient({ port: line.bench, timing, timeoutMs: 5000 });
      let ident: Awaited<ReturnType<ServiceClient['identify']>> | undefined;
      for (let i = 0; i < 200 && !ident; i++) {
        try {
          ident = await client.identify();
        } catch {
          line.bench.read(); // drain what is stale and ask again
        }
      }
      assert.equal(ident?.meterId, meter.app.deviceId);
    });

    it('TCP bridge: every telegram within one tick, buffers bounded; a new client takes the line and is served', async () => {
      let meterRef: SimMeter | undefined;
      const listener = await TcpSerialListener.listen(0, '127.0.0.1', { clock: { ticks: () => meterRef?.clock.ticks() ?? 0 }, idleTimeoutMs: 60_000 });
      const flooder: Socket = connect(listener.port, '127.0.0.1');
      flooder.on('error', () => undefined);
      await new Promise((r) => flooder.once('connect', r));
      flooder.pause(); // never reads its replies
      let metered: MeteredPort | undefined;
      const { meter, lateness } = floodMeter((m) => (metered = new MeteredPort(listener, (ms) => m().clock.advance(ms))));
      meterRef = meter;
      const port = metered as MeteredPort;
      port.watch(meter.app.part.server);
      const tick = meter.app.tickMs;
      const block = Buffer.from(floodBlock(65_536));
      let flooderBlocked = false;
      const heap0 = heapBytes();
      let maxRx = 0;
      let maxQueued = 0;
      try {
        while (meter.clock.ticks() < 12_000) {
          // As fast as the socket takes it (the flooder's own memory stays bounded too).
          if (!flooderBlocked) {
            flooderBlocked = !flooder.write(block);
            if (flooderBlocked) flooder.once('drain', () => (flooderBlocked = false));
          }
          meter.advance(tick);
          maxRx = Math.max(maxRx, listener.received);
          maxQueued = Math.max(maxQueued, listener.queued);
          await new Promise((r) => setImmediate(r));
        }
        assertNotStarved(meter, port, lateness, heapBytes() - heap0);
        assert.ok(maxRx <= 4096 + 65_536, `${maxRx} bytes received and unread`);
        assert.ok(maxQueued <= 16_384 + 1033, `${maxQueued} reply bytes queued`);

        // A bench connects while the flooder still holds the line: it takes it over and is served.
        const bench = connect(listener.port, '127.0.0.1');
        bench.on('error', () => undefined);
        await new Promise((r) => bench.once('connect', r));
        const got: Buffer[] = [];
        bench.on('data', (d) => got.push(d));
        bench.write(identify(200));
        let ticks = 0;
        for (; ticks < 200 && !parseStream(new Uint8Array(Buffer.concat(got))).some(([, s]) => s === 200); ticks++) {
          meter.advance(tick);
          await new Promise((r) => setTimeout(r, 1));
        }
        assert.ok(ticks < 200, 'the new client was not served');
        assert.equal(listener.takeovers, 1);
        bench.destroy();
      } finally {
        flooder.destroy();
        await listener.close();
      }
    });
  });

  describe('a TCP client that sends half a frame and goes silent', () => {
    it('locks nobody out: a second client takes over and is served; alone, it is closed after the idle timeout', async () => {
      let now = 0;
      const listener = await TcpSerialListener.listen(0, '127.0.0.1', { clock: { ticks: () => now }, idleTimeoutMs: 30_000 });
      const target = new FakeMeter('XSM00000042');
      const server = new ServiceServer({ port: listener, target, keys: { benchKey: () => BENCH_KEY }, crypto: nobleCrypto, counters: new MemoryServiceCounterStore(), clock: { ticks: () => now } });
      const tickOnce = async () => {
        now += 15;
        server.poll();
        await new Promise((r) => setTimeout(r, 1));
      };
      const open = async () => {
        const s = connect(listener.port, '127.0.0.1');
        s.on('error', () => undefined);
        await new Promise((r) => s.once('connect', r));
        const state = { closed: false, bytes: [] as number[] };
        s.on('close', () => (state.closed = true));
        s.on('data', (d) => state.bytes.push(...d));
        return { s, state };
      };
      try {
        const slow = await open();
        slow.s.write(logPage(1).subarray(0, 9)); // half a request, then silence
        for (let i = 0; i < 20; i++) await tickOnce();
        assert.ok(listener.connected);

        const bench = await open();
        bench.s.write(identify(5));
        let ticks = 0;
        while (ticks < 100 && !parseStream(Uint8Array.from(bench.state.bytes)).some(([, s]) => s === 5)) {
          await tickOnce();
          ticks++;
        }
        // The slow client's half frame is still in the decoder: the idle reset (250 ms) clears it.
        assert.ok(ticks <= Math.ceil(250 / 15) + 2, `answered after ${ticks} ticks`);
        for (let i = 0; i < 50 && !slow.state.closed; i++) await tickOnce();
        assert.ok(slow.state.closed, 'the replaced connection is closed');
        assert.equal(listener.takeovers, 1);

        // Alone and silent: closed after the idle timeout (simulated time), then anyone is served.
        bench.s.write(logPage(2).subarray(0, 9));
        const t0 = now;
        while (!bench.state.closed && now - t0 < 40_000) await tickOnce();
        assert.ok(bench.state.closed && now - t0 >= 30_000 && now - t0 < 30_000 + 100, `closed after ${now - t0} ms`);
        assert.equal(listener.idleCloses, 1);
        const third = await open();
        third.s.write(identify(9));
        for (let i = 0; i < 40 && !parseStream(Uint8Array.from(third.state.bytes)).some(([, s]) => s === 9); i++) await tickOnce();
        assert.ok(parseStream(Uint8Array.from(third.state.bytes)).some(([, s]) => s === 9), 'the next client was not served');
        third.s.destroy();
      } finally {
        await listener.close();
      }
    });
  });

  describe('ESP32 serial adapter: a 128-byte transmit FIFO that throws when full (Moddable)', () => {
    /** Moddable's esp32 serial: write() throws "output full" when the bytes exceed the FIFO's room. */
    class Fifo implements Ecma419Serial {
      rx: number[] = [];
      tx: number[] = [];
      sent: number[] = [];
      read(): ArrayBuffer | undefined {
        if (this.rx.length === 0) return undefined;
        return Uint8Array.from(this.rx.splice(0, 128)).buffer;
      }
      write(data: ArrayBuffer): void {
        if (data.byteLength > 128 - this.tx.length) throw new Error('output full');
        this.tx.push(...new Uint8Array(data));
      }
      /** The line sends `n` bytes from the FIFO. */
      drain(n: number): void {
        this.sent.push(...this.tx.splice(0, n));
      }
    }

    it('a reply larger than the FIFO goes out whole, in pieces; a flood is held back within the ring', () => {
      const fifo = new Fifo();
      const port = new Ecma419SerialPort(fifo);
      const server = new ServiceServer({ port, target: new FakeMeter('XSM12345678', 1300), keys: { benchKey: () => BENCH_KEY }, crypto: nobleCrypto, counters: new MemoryServiceCounterStore() });
      // One log page (a ~525-byte reply): today's adapter handed it to write() whole, which throws.
      fifo.rx.push(...logPage(3));
      for (let i = 0; i < 200; i++) {
        server.poll();
        fifo.drain(173); // 115200 baud for 15 ms
      }
      const replies = parseStream(Uint8Array.from(fifo.sent));
      assert.deepEqual(replies, [[COMMANDS['read-log-page'].type | 0x80, 3]]);
      assert.ok(port.fifoFull > 0, 'the FIFO did fill up');

      // A flood on a line that drains slowly: the ring stays within its size, nothing is cut.
      fifo.sent = [];
      const flood = concat(Array.from({ length: 60 }, (_, i) => logPage(i)));
      let maxQueued = 0;
      for (let t = 0, o = 0; t < 4000; t++) {
        if (fifo.rx.length < 256 && o < flood.length) {
          fifo.rx.push(...flood.subarray(o, o + 128));
          o += 128;
        }
        server.poll();
        maxQueued = Math.max(maxQueued, port.queued);
        fifo.drain(20);
      }
      for (let i = 0; i < 100 && (port.queued > 0 || fifo.tx.length > 0); i++) {
        server.poll();
        fifo.drain(128);
      }
      assert.ok(maxQueued <= 2048, `${maxQueued} bytes queued`);
      assert.equal(port.dropped, 0);
      assert.ok(server.stats.waits > 0, 'the server waited for room');
      assert.deepEqual(
        parseStream(Uint8Array.from(fifo.sent)).map(([, s]) => s),
        Array.from({ length: 60 }, (_, i) => i),
      );
    });
  });
});
