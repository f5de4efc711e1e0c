/**
 * `xsmeter sim` for fleets and long runs, through the real binary:
 *  - kill -9 is a power cut and nothing else: over a kill loop no simulated time is metered twice
 *    (every telegram's A+ against the load's true energy for the time it was sent: a constant 1 kW);
 *  - SIGTERM at max speed, and during set-up, ends the run within about a second, saved, exit 0;
 *  - progress lines on stderr when not on a terminal; the table fits the terminal;
 *  - worker threads and shards: the same telegrams as one thread, and the shards' union is the
 *    unsharded fleet (telegrams, flash images, keys);
 *  - the meters' log signatures (made on OpenSSL) are @noble's, and node:crypto verifies them.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { cpSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { p256 } from '@noble/curves/nist.js';
import { fromHex, toHex } from '../modules/core/bytes.js';
import { XorShift32 } from '../modules/app/telegram-schedule.js';
import { formatTable } from '../cli/sim-display.js';
import { AirLog, EventCursor, airEvents } from '../hosts/sim/air-log.js';
import { MeterSlice, TAIL_BYTES, type AirEvent, type MeterSpec } from '../hosts/sim/meter-slice.js';
import { SimRunner } from '../hosts/sim/sim-runner.js';
import { startXsmeter, stopWithin, xsmeter } from './helpers/cli.js';
import { tempDirs } from './helpers/temp-dirs.js';

const START = Date.UTC(2026, 0, 1);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface JsonLine {
  time: string;
  meter: string;
  verdict: string;
  counter: number;
  values: Record<string, number>;
}

function jsonLines(text: string): JsonLine[] {
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as JsonLine);
}

describe('xsmeter sim: fleets, kills and signals (the binary)', function () {
  this.timeout(120_000);
  const tmp = tempDirs('xsmeter-fleet-');
  before(() => {
    execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'ignore' });
  });

  it('kill -9 in a loop over a multi-day run meters no simulated time twice: A+ follows the load’s true energy', async () => {
    const dir = tmp();
    // A constant 1 kW load: its true energy after t ms is t / 3600 Wh, whatever the meter does.
    const args = ['sim', '--meters', '2', '--load', 'constant', '--duration', '14d', '--interval', '15m', '--state', dir, '--format', 'json'];
    const rng = new XorShift32(2027);
    const lines: (JsonLine & { kills: number })[] = [];
    let kills = 0;
    let runs = 0;
    let reached = START;
    // Kill until 2.2 simulated days are reached (at least 5 kills, at most 20 runs).
    for (let k = 0; (k < 5 || reached < START + 2.2 * 86_400_000) && k < 20; k++) {
      runs++;
      const p = startXsmeter(args);
      await sleep(600 + Math.floor(rng.next() * 900));
      p.kill('SIGKILL');
      const end = await p.ended;
      if (end.signal === 'SIGKILL') kills++;
      const out = p.stdout().split('\n');
      out.pop(); // a line cut by the kill was not sent as far as anyone knows
      for (const l of out.filter((x) => x.length > 0).map((x) => ({ ...(JSON.parse(x) as JsonLine), kills: k }))) {
        lines.push(l);
        reached = Math.max(reached, Date.parse(l.time));
      }
    }
    assert.ok(kills >= runs - 1, `${kills} of ${runs} runs were killed while running`);
    const last = await xsmeter([...args.slice(0, 6), '2h', ...args.slice(7)]);
    assert.equal(last.code, 0, last.stderr);
    lines.push(...jsonLines(last.stdout).map((l) => ({ ...l, kills: runs })));
    assert.ok(lines.length > 100, `${lines.length} telegrams`);
    const lastTime = new Map<string, number>();
    const lastCounter = new Map<string, number>();
    let worstAbove = -Infinity;
    let worstBelow = Infinity;
    // Whole Wh, one 1 s sample (0.28 Wh) behind; each power cut may lose what was not yet saved:
    // less than the 1 Wh quantum plus a sample.
    const lossPerCut = 1.3;
    for (const l of lines) {
      assert.equal(l.verdict, 'ok');
      const t = Date.parse(l.time);
      // Each meter's clock and counter only go forward: a restart continues where its flash was written.
      assert.ok(t > (lastTime.get(l.meter) ?? -Infinity), `meter ${l.meter}: telegram at ${l.time} after one at ${new Date(lastTime.get(l.meter) ?? 0).toISOString()}`);
      assert.ok(l.counter > (lastCounter.get(l.meter) ?? 0), `meter ${l.meter}: counter ${l.counter} reused`);
      lastTime.set(l.meter, t);
      lastCounter.set(l.meter, l.counter);
      const truthWh = (t - START) / 3600;
      const diff = l.values['1.8.0'] - truthWh;
      worstAbove = Math.max(worstAbove, diff);
      worstBelow = Math.min(worstBelow, diff + lossPerCut * l.kills);
    }
    // Time lived twice would add up to an hour of 1 kW per kill.
    assert.ok(worstAbove <= 0.01, `A+ exceeds the load's true energy by up to ${worstAbove.toFixed(1)} Wh: re-lived time was metered twice`);
    assert.ok(worstBelow > -lossPerCut, `A+ is ${(-worstBelow).toFixed(1)} Wh more below the load's true energy than the power cuts explain`);
    assert.ok(Math.max(...lastTime.values()) > START + 2 * 86_400_000, `the loop reached ${new Date(reached).toISOString()}: a multi-day run`);
  });

  it('SIGTERM at max speed ends the run within about a second: state saved, exit 0, the clock where it was', async () => {
    const dir = tmp();
    const p = startXsmeter(['sim', '--meters', '2', '--duration', '30d', '--state', dir]);
    await sleep(1500);
    const end = await stopWithin(p, 'SIGTERM');
    assert.ok(end.ms < 1500, `exited ${Math.round(end.ms)} ms after SIGTERM`);
    assert.equal(end.code, 0, p.stderr());
    assert.match(p.stdout(), /interrupted after/);
    const saved = JSON.parse(readFileSync(join(dir, 'sim.json'), 'utf8')) as { wallMs: number };
    assert.ok(saved.wallMs > START + 3_600_000 && saved.wallMs < START + 29 * 86_400_000, `saved at ${new Date(saved.wallMs).toISOString()}: the run stopped where it was`);
    // A second run continues from there.
    const b = await xsmeter(['sim', '--meters', '2', '--duration', '1h', '--state', dir, '--format', 'json']);
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stderr, /continued from the saved state/);
    const first = Math.min(...jsonLines(b.stdout).map((l) => Date.parse(l.time)));
    assert.ok(first > saved.wallMs - 900_000 && first < saved.wallMs + 3_600_000, `continued at ${new Date(first).toISOString()}`);
  });

  it('SIGTERM during the set-up of a large fleet ends it within about a second', async () => {
    const p = startXsmeter(['sim', '--meters', '20000', '--duration', '1d', '--format', 'hex', '--workers', '2']);
    await sleep(1500);
    const end = await stopWithin(p, 'SIGTERM');
    assert.ok(end.ms < 1500, `exited ${Math.round(end.ms)} ms after SIGTERM`);
    assert.equal(end.code, 0, p.stderr());
    assert.match(p.stderr(), /interrupted during set-up after [\d ]+ of 20 000 meters/);
  });

  it('not on a terminal: progress lines on stderr (set-up, then share done and an estimated end)', async () => {
    const r = await xsmeter(['sim', '--meters', '1000', '--duration', '6h', '--speed', '7200', '--format', 'hex', '--workers', '2', '--progress', '50ms']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /xsmeter sim: setting up meters: [\d ]+ of 1 000 \(\d+ %\)/);
    assert.match(r.stderr, /xsmeter sim: 2026-01-01 \d\d:\d\d UTC: \d+\.\d % of the simulated time, [\d ]+ telegrams decoded, ends in about \d+ (s|min) \(\d\d:\d\d:\d\d\)/);
    assert.ok(r.stdout.split('\n').every((l) => /^[0-9a-f]*$/.test(l)), 'stdout keeps only frames');
  });

  it('progress within an epoch (one thread): the time shown moves with the meters run through it, never back', async function () {
    this.timeout(120_000);
    const seen: number[] = [];
    const hours = 8;
    const r = new SimRunner({
      meters: 400,
      chip: 'mixed',
      seed: 1,
      load: 'mixed',
      security: 7,
      radioMode: 'T1',
      intervalMs: 900_000,
      samplePeriodMs: 60_000,
      durationMs: hours * 3_600_000,
      speed: 'max',
      progressEveryMs: 5,
      onProgress: (x) => {
        if (x.phase === 'run') seen.push(x.progressWallMs);
      },
    });
    const s = await r.run();
    assert.equal(s.interrupted, false);
    // 400 meters' epochs are the longest, 4 h: their bounds are multiples of 4 h from the start.
    const epoch = 4 * 3_600_000;
    const within = seen.filter((t) => (t - r.startWallMs) % epoch !== 0);
    assert.ok(within.length >= 2, `${within.length} of ${seen.length} reports within an epoch`);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i] >= seen[i - 1], `report ${i} went back: ${seen[i - 1]} → ${seen[i]}`);
    assert.ok(seen.every((t) => t >= r.startWallMs && t <= r.startWallMs + hours * 3_600_000));
  });

  it('progress within an epoch (two threads, the binary): lines between the epochs\' bounds, never back', async function () {
    this.timeout(120_000);
    const r = await xsmeter(['sim', '--meters', '400', '--chip', 'mixed', '--duration', '8h', '--workers', '2', '--progress', '20ms', '--format', 'hex']);
    assert.equal(r.code, 0, r.stderr);
    const shares = [...r.stderr.matchAll(/UTC: (\d+\.\d) % of the simulated time/g)].map((m) => Number(m[1]));
    // Epochs of 4 h in an 8-hour run: bounds at 0, 50 and 100 %.
    const within = shares.filter((x) => x !== 0 && x !== 50 && x !== 100);
    assert.ok(within.length >= 2, r.stderr);
    for (let i = 1; i < shares.length; i++) assert.ok(shares[i] >= shares[i - 1], r.stderr);
  });

  it('the live table fits the terminal: columns dropped from the right, rows cut', () => {
    const r = new SimRunner({ meters: 30, chip: 'mixed', seed: 1, load: 'mixed', security: 7, radioMode: 'T1', intervalMs: 900_000, samplePeriodMs: 60_000, durationMs: 3_600_000, speed: 'max' });
    const wide = formatTable(r, 20);
    assert.ok(wide[0].includes('telegrams'));
    const narrow = formatTable(r, 5, 40);
    assert.ok(narrow.every((l) => l.length <= 40), narrow.join('\n'));
    assert.equal(narrow.length, 2 + 5 + 1);
    assert.match(narrow[0], /^meter\s+chip/);
    assert.match(narrow.at(-1) ?? '', /and 25 more meters/);
  });

  it('a fleet of 50 000 meters, where the lean heap starts (LEAN_HEAP_METERS): every telegram decoded, its peak memory printed', async function () {
    this.timeout(240_000);
    const r = await xsmeter(['sim', '--meters', '50000', '--duration', '2m', '--interval', '1m', '--format', 'hex', '--progress', '0', '--workers', '2']);
    assert.equal(r.code, 0, r.stderr);
    const m = /telegrams: (\d+) sent, (\d+) decoded, 0 rejected/.exec(r.stderr);
    assert.ok(m, r.stderr);
    assert.equal(m[1], m[2]);
    assert.equal(r.stdout.split('\n').filter((l) => l).length, Number(m[1]));
    assert.ok(Number(m[1]) >= 50_000, `${m[1]} telegrams`);
    assert.match(r.stderr, /\(2 threads\), [\d ]+ after the set-up \([\d.]+ ms of CPU a meter\); peak memory \d+ MB resident/);
  });

  it('worker threads give the one-thread run; shards together give the unsharded fleet', async () => {
    const base = ['sim', '--meters', '9', '--chip', 'mixed', '--duration', '3h', '--interval', '10m', '--format', 'json'];
    const whole = tmp();
    const one = await xsmeter([...base, '--workers', '1', '--state', whole]);
    assert.equal(one.code, 0, one.stderr);
    // Three threads: the main one runs meter 0 (its share, localShare(3), of 9), two workers four each.
    const three = await xsmeter([...base, '--workers', '3']);
    assert.equal(three.code, 0, three.stderr);
    assert.equal(three.stdout, one.stdout, 'three threads sent the same telegrams in the same order');
    const two = await xsmeter([...base, '--workers', '2']);
    assert.equal(two.code, 0, two.stderr);
    assert.equal(two.stdout, one.stdout, 'two threads (the main one with three meters, a worker with six) sent the same');
    const lines = one.stdout.split('\n').filter((l) => l);
    assert.ok(lines.length >= 9 * 17, `${lines.length} telegrams`);
    // Lines start with the time, then the meter id (ascending with the fleet index): sorting them
    // is the order the run printed them in, and merging the shards' sorted outputs gives it back.
    assert.deepEqual([...lines].sort(), lines);
    const shardDirs: string[] = [];
    const shardLines: string[] = [];
    for (let i = 1; i <= 3; i++) {
      const d = tmp();
      shardDirs.push(d);
      const r = await xsmeter([...base, '--shard', `${i}/3`, '--state', d]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /of 3 meters/);
      shardLines.push(...r.stdout.split('\n').filter((l) => l));
    }
    assert.deepEqual(shardLines.sort(), lines);
    // Each meter lives in exactly one shard, with the flash images and keys of the unsharded run.
    const all = readdirSync(join(whole, 'meters')).sort();
    const seen: string[] = [];
    for (const d of shardDirs) {
      for (const id of readdirSync(join(d, 'meters'))) {
        seen.push(id);
        for (const f of ['energy.bin', 'calibration.bin', 'keys.json']) {
          assert.ok(readFileSync(join(d, 'meters', id, f)).equals(readFileSync(join(whole, 'meters', id, f))), `${id}/${f}`);
        }
      }
    }
    assert.deepEqual(seen.sort(), all);
    assert.equal(new Set(all.map((id) => (JSON.parse(readFileSync(join(whole, 'meters', id, 'keys.json'), 'utf8')) as { meterKey: string }).meterKey)).size, all.length, 'no two meters share a key');
    // A shard's state continues only as that shard.
    const wrong = await xsmeter([...base, '--shard', '2/3', '--state', shardDirs[0]]);
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /--shard 2\/3 \(saved: 1\/3/);
    assert.ok(existsSync(join(shardDirs[0], 'clocks.bin')));
  });

  it('--format json: every line is what JSON.stringify writes for its object, keys in order, for accepted and rejected telegrams', async () => {
    const a = tmp();
    const args = ['sim', '--meters', '2', '--duration', '1h', '--state', a, '--format', 'json', '--progress', '0'];
    const first = await xsmeter(args);
    assert.equal(first.code, 0, first.stderr);
    // The meters' flash images of the first hour put back after a second: they send their counters
    // again and the gateway rejects those as replays.
    const older = tmp();
    cpSync(join(a, 'meters'), older, { recursive: true });
    assert.equal((await xsmeter(args)).code, 0);
    cpSync(older, join(a, 'meters'), { recursive: true });
    const third = await xsmeter(args);
    const lines = [...first.stdout.split('\n'), ...third.stdout.split('\n')].filter((l) => l);
    const okKeys = ['time', 'meter', 'airtimeMs', 'verdict', 'counter', 'access', 'mode', 'status', 'flags', 'values'];
    let ok = 0;
    let rejected = 0;
    for (const l of lines) {
      const o = JSON.parse(l) as Record<string, unknown>;
      assert.equal(JSON.stringify(o), l, 'the line is JSON.stringify of its object');
      if (o.verdict === 'ok') {
        ok++;
        assert.deepEqual(Object.keys(o), okKeys);
      } else {
        rejected++;
        assert.deepEqual(Object.keys(o), ['time', 'meter', 'airtimeMs', 'verdict', 'error']);
        assert.equal(o.verdict, 'counter-replay');
      }
    }
    assert.ok(ok >= 8 && rejected >= 2, `${ok} accepted, ${rejected} rejected`);
  });

  it('a fleet\'s meters sign their calibration logs as @noble signs (RFC 6979): node:crypto verifies every record with the key @noble derives', async () => {
    const dir = tmp();
    const r = await xsmeter(['sim', '--meters', '3', '--chip', 'mixed', '--duration', '10m', '--format', 'json', '--state', dir]);
    assert.equal(r.code, 0, r.stderr);
    const ids = readdirSync(join(dir, 'meters'));
    assert.equal(ids.length, 3);
    for (const id of ids) {
      const keys = JSON.parse(readFileSync(join(dir, 'meters', id, 'keys.json'), 'utf8')) as { signingKey: string };
      const d = fromHex(keys.signingKey);
      const exp = await xsmeter(['log', 'export', '--image', join(dir, 'meters', id, 'calibration.bin'), '--keys', join(dir, 'meters', id, 'keys.json')]);
      assert.equal(exp.code, 0, exp.stderr);
      const log = JSON.parse(exp.stdout) as { publicKey: string; records: { event: string; raw: string; signature: string }[] };
      assert.equal(log.publicKey, toHex(p256.getPublicKey(d, true)), `${id}: the public key`);
      assert.deepEqual(log.records.map((x) => x.event), ['log-init', 'seal'], `${id}: a factory's records`);
      const pub = p256.getPublicKey(d, false);
      const key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: Buffer.from(pub.subarray(1, 33)).toString('base64url'), y: Buffer.from(pub.subarray(33)).toString('base64url') }, format: 'jwk' });
      for (const rec of log.records) {
        const raw = fromHex(rec.raw);
        const unsigned = raw.subarray(0, raw.length - 64);
        const signature = raw.subarray(raw.length - 64);
        assert.equal(toHex(signature), rec.signature);
        assert.ok(nodeVerify('sha256', unsigned, { key, dsaEncoding: 'ieee-p1363' }, signature), `${id} ${rec.event}: node:crypto verifies`);
        const digest = createHash('sha256').update(unsigned).digest();
        assert.equal(rec.signature, toHex(p256.sign(digest, d, { prehash: false, lowS: true })), `${id} ${rec.event}: @noble's signature`);
      }
    }
  });
});

describe('sim workers: telegrams handed to the runner', () => {
  const specs: MeterSpec[] = [10, 11, 12].map((index, k) => ({ index, slot: k, seed: index, meterId: String(20000000 + index), chip: 'ade7953', load: 'household', startWallMs: START }));
  const event = (k: number, over: Partial<AirEvent> = {}): AirEvent => ({
    meterIndex: specs[k].index,
    meterId: specs[k].meterId,
    wallMs: START + 1000 * k + 0.5,
    airtimeMs: 4.125 + k,
    mode: 'T1',
    stream: Uint8Array.from({ length: 30 + k }, (_, i) => (i * 7 + k) & 0xff),
    frame: Uint8Array.from({ length: 20 + k }, (_, i) => (i * 13 + k) & 0xff),
    format: 'A',
    importWh: 1234.5 + k,
    exportWh: k === 1 ? undefined : 0.25 * k,
    ...over,
  });
  /** The fields as plain values (typed arrays as arrays, absent numbers kept absent). */
  const plain = (e: AirEvent) => ({ ...e, stream: [...e.stream], frame: [...e.frame] });

  /** Logs `events` (of `specs`) as a slice does: by the meter's place in the slice. */
  const logged = (log: AirLog, events: AirEvent[]) => {
    for (const e of events) log.push(specs.findIndex((s) => s.index === e.meterIndex), e.wallMs, e.airtimeMs, e.mode, e.format, e.stream, e.frame, e.importWh, e.exportWh);
  };
  /** In (time, fleet index) order: what the runner merges by. */
  const byTime = (events: AirEvent[]) => [...events].sort((a, b) => a.wallMs - b.wallMs || a.meterIndex - b.meterIndex);

  it('logged meter by meter, handed out in (time, fleet index) order with every field, through a message copy', () => {
    const log = new AirLog();
    // A slice logs meter by meter, each meter's telegrams in time order; equal times across meters.
    const first = [event(0), event(0, { wallMs: START + 5000 }), event(1, { mode: 'C1', format: 'B', importWh: undefined }), event(1, { wallMs: START + 5000 }), event(2, { wallMs: START }), event(2, { wallMs: START + 9000, stream: new Uint8Array(3) })];
    logged(log, first);
    assert.equal(log.size, first.length);
    const a = log.take();
    assert.equal(log.size, 0);
    assert.equal(a.bytes.length, first.reduce((n, e) => n + e.stream.length + e.frame.length, 0), 'exact-size bytes (a message copies the whole buffer)');
    const got = airEvents(structuredClone(a), specs);
    assert.deepEqual(got.map(plain), byTime(first).map(plain));
    assert.deepEqual(Object.keys(got.find((e) => e.mode === 'C1') as AirEvent), Object.keys(first[2]));
    // The next epoch's telegrams do not touch what was taken.
    const kept = got.map(plain);
    logged(log, [event(2, { stream: new Uint8Array(300).fill(0xaa) })]);
    assert.deepEqual(airEvents(log.take(), specs).map(plain), [event(2, { stream: new Uint8Array(300).fill(0xaa) })].map(plain));
    assert.deepEqual(airEvents(a, specs).map(plain), kept);
    assert.deepEqual(airEvents(structuredClone(log.take()), specs), []);
  });

  it('an epoch of more telegrams and bytes than its first arrays hold: all of them, in order', () => {
    const log = new AirLog();
    const many: AirEvent[] = [];
    for (let k = 0; k < 3; k++) for (let i = 0; i < 70; i++) many.push(event(k, { wallMs: START + 60_000 * i + k, stream: new Uint8Array(400).fill(i), frame: new Uint8Array(250).fill(k) }));
    logged(log, many);
    const got = airEvents(log.take(), specs);
    assert.equal(got.length, 210);
    assert.deepEqual(got.map(plain), byTime(many).map(plain));
  });

  it('a cursor reads the next telegram\'s time and fleet index before taking it', () => {
    const log = new AirLog();
    logged(log, [event(1), event(0, { wallMs: START + 7000 })]);
    const c = new EventCursor(log.take(), specs);
    assert.deepEqual([c.left, c.wallMs, c.meterIndex], [2, START + 1000.5, 11]);
    assert.equal(c.take().meterId, specs[1].meterId);
    assert.deepEqual([c.left, c.wallMs, c.meterIndex], [1, START + 7000, 10]);
    c.take();
    assert.equal(c.left, 0);
  });
});

describe('a slice of meters: flash in memory between epochs', () => {
  it(`short epochs: a meter keeps no sector of ${TAIL_BYTES} bytes or more after it ran or the run finished, and its flash reads back what one long epoch leaves`, () => {
    const meters = (): MeterSpec[] =>
      [0, 1, 2, 3].map((i) => ({ index: i, slot: i, seed: 500 + i, meterId: String(40000000 + i), chip: i % 2 ? 'atm90e32' : 'ade7953', load: i % 2 ? 'solar' : 'household', startWallMs: START }));
    const config = { security: 7 as const, radioMode: 'T1' as const, intervalMs: 900_000, samplePeriodMs: 60_000 };
    const short = new MeterSlice({ config, meters: meters() });
    const long = new MeterSlice({ config, meters: meters() });
    try {
      short.setUp();
      long.setUp();
      const end = START + 3 * 3_600_000;
      const held = [0, 0, 0, 0];
      let dropped = 0; // within the first hour: before any hourly eviction
      for (let t = START + 180_000; t <= end; t += 180_000) {
        short.runUntil(t);
        short.meters.forEach((m, p) => {
          for (const f of [m.energyFlash, m.calibrationFlash]) assert.equal(f.evictLarger(TAIL_BYTES), 0, `meter ${m.meterId} at ${new Date(t).toISOString()}: a sector of ${TAIL_BYTES} bytes or more stayed`);
          const now = m.energyFlash.residentBytes;
          if (t < START + 3_600_000 && now < held[p]) dropped++;
          held[p] = now;
        });
      }
      assert.ok(dropped >= 4, `${dropped} tails went to the spill file in the first hour`);
      long.runUntil(end); // one epoch: the tails keep three hours until it ends
      for (let p = 0; p < 4; p++) {
        assert.deepEqual(short.meters[p].energyFlash.image(), long.meters[p].energyFlash.image());
        assert.deepEqual(short.meters[p].calibrationFlash.image(), long.meters[p].calibrationFlash.image());
      }
      assert.deepEqual(airEvents(short.take(), short.specs).map((e) => [e.meterIndex, e.wallMs, [...e.stream]]), airEvents(long.take(), long.specs).map((e) => [e.meterIndex, e.wallMs, [...e.stream]]));
      // Finishing brings every meter to the end and saves what it has not: each then holds as little
      // as after a turn, and both fleets the same flash.
      short.finish(end + 600_000);
      long.finish(end + 600_000);
      for (let p = 0; p < 4; p++) {
        for (const f of [short.meters[p].energyFlash, short.meters[p].calibrationFlash]) assert.equal(f.evictLarger(TAIL_BYTES), 0, `meter ${p} after finish`);
        assert.deepEqual(short.meters[p].energyFlash.image(), long.meters[p].energyFlash.image());
      }
      assert.deepEqual(airEvents(short.take(), short.specs).map((e) => [e.meterIndex, e.wallMs, [...e.stream]]), airEvents(long.take(), long.specs).map((e) => [e.meterIndex, e.wallMs, [...e.stream]]));
    } finally {
      short.close();
      long.close();
    }
  });
});
