/**
 * Fleets (`xsmeter sim --meters 100000`, issue 14 §4): memory per simulated meter and meter-days per
 * CPU-minute.
 *  - memory: V8 heap + array buffers (what RSS grows by) after setting up N and then 2N meters of a
 *    mixed fleet (ADE7953 households, ATM90E32 prosumers) in one thread, with a full GC before each
 *    reading; per meter = the slope, so the code and the fixed costs do not count. Then the 2N meters
 *    run a simulated day — the energy journal has then rung through its sectors, the cold ones are
 *    in the spill file — with a gateway decoding every telegram; the readings with and without the
 *    gateway give the meters' growth over the day and the gateway's share per meter (keys, replay
 *    state, table row).
 *  - throughput: `xsmeter sim --meters 2N --chip mixed --duration 1d --format hex` (60 s samples, a
 *    telegram every 15 min in mode 7, each decoded by the gateway) run as a user runs it, with
 *    --workers 1 and 2: the meter-days per CPU-minute it reports (CPU time of all its threads, set-up
 *    included) and per minute of real time. Baseline: the one-thread run (the median of three runs).
 *    The same runs' rate after the set-up (the summary's split of the CPU time at the set-up's end).
 *    Each one-day run is followed by a three-day run: their medians, and what a day after the first
 *    costs (the pair's difference in CPU over the two days between), the rate of a long run; one
 *    thread, then two threads (the main one and a worker: sim-runner.ts localShare).
 *  - a town, 20N meters × 1 day in one thread: a fleet whose state is far larger than the CPU's
 *    caches (2N meters' is not), in shorter epochs; with two threads; then in one thread again
 *    beside one-day runs of 2N meters on the other core, for the ratio of their rates at one
 *    machine speed.
 *  - a city: 100 000 meters × 1 hour as a user runs it, the process's peak resident memory (the
 *    summary's, getrusage) against the 2 GB the issue allows.
 * XSMETER_BENCH_FLEET=N sets N (default 1000); XSMETER_BENCH_FLEET_MEMORY_ONLY=1 skips the throughput
 * runs and the city; XSMETER_BENCH_FLEET_CITY=0 the city only, XSMETER_BENCH_FLEET_TOWN=0 the town.
 */
import { spawn } from 'node:child_process';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Report } from './run.js';
import { fromHex } from '../modules/core/bytes.js';
import { SimGateway } from '../hosts/sim/gateway.js';
import { airEvents } from '../hosts/sim/air-log.js';
import { MeterSlice, type MeterSpec } from '../hosts/sim/meter-slice.js';
import { meterIdOf, meterSeed } from '../hosts/sim/sim-runner.js';
import { DEFAULT_WALL_START } from '../hosts/sim/sim-meter.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function memory(): { heap: number; buffers: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, buffers: m.arrayBuffers };
}

const CONFIG = { security: 7 as const, radioMode: 'T1' as const, intervalMs: 900_000, samplePeriodMs: 60_000 };

function specs(from: number, n: number): MeterSpec[] {
  const out: MeterSpec[] = [];
  for (let i = from; i < from + n; i++) {
    out.push({ index: i, slot: i, seed: meterSeed(1, i), meterId: meterIdOf(1, i), chip: i % 2 ? 'atm90e32' : 'ade7953', load: i % 2 ? 'solar' : 'household', startWallMs: DEFAULT_WALL_START });
  }
  return out;
}

const kb = (bytes: number) => Math.round(bytes / 102.4) / 10;

/** Runs the slices through `end` hour by hour (as the runner's epochs) with a gateway decoding
 *  their telegrams; returns the gateway. */
function gatewayDay(slices: MeterSlice[], end: number): { gw: SimGateway; decoded: number } {
  const gw = new SimGateway();
  let decoded = 0;
  for (const s of slices) for (let p = 0; p < s.made; p++) gw.setKey(s.specs[p].meterId, fromHex(s.meterKey(p)));
  for (let t = DEFAULT_WALL_START + 3_600_000; t <= end; t += 3_600_000) {
    for (const s of slices) {
      s.runUntil(t);
      for (const e of airEvents(s.take(), s.specs)) if (gw.receive(e.stream, e.mode, e.wallMs, e.meterId).ok) decoded++;
    }
    gw.releaseKeys(); // as the runner does after each epoch
  }
  for (const s of slices) {
    s.finish(end);
    for (const e of airEvents(s.take(), s.specs)) if (gw.receive(e.stream, e.mode, e.wallMs, e.meterId).ok) decoded++;
  }
  return { gw, decoded };
}

/** A run's summary figures, and `seconds`: the process's real time from its start to its exit (the
 *  summary's own time leaves out the start and the spill file's close after it, seconds in a
 *  large fleet on this machine's disk). */
type CliFigures = { perCpuMinute: number; afterSetUp: number; setUpMs: number; seconds: number; decoded: number; peakMb: number };

/** The figures of a `sim` run's summary (its stderr). */
function figuresOf(stderr: string, seconds: number): CliFigures {
  const num = (re: RegExp) => Number((re.exec(stderr)?.[1] ?? 'NaN').replace(/ /g, ''));
  return {
    perCpuMinute: num(/([\d ]+) meter-days per CPU-minute/),
    afterSetUp: num(/([\d ]+) after the set-up/),
    setUpMs: num(/\(([\d.]+) ms of CPU a meter\)/),
    seconds: Math.round(seconds * 10) / 10,
    decoded: num(/telegrams: [\d]+ sent, ([\d]+) decoded/),
    peakMb: num(/peak memory (\d+) MB resident/),
  };
}

/** Runs the built CLI; resolves to its summary's figures and its real time. Not waiting on it
 *  lets runs go side by side. */
function cli(args: string[]): Promise<CliFigures> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, ['bin/xsmeter.js', 'sim', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject).on('close', () => resolve(figuresOf(stderr, (performance.now() - start) / 1000)));
  });
}

/** Meter-days per minute of a run's real time. */
const perMinute = (meterDays: number, r: CliFigures) => Math.round((meterDays * 60) / r.seconds);
/** a / b to two places. */
const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;

export async function run(report: Report): Promise<void> {
  const n = Number(process.env.XSMETER_BENCH_FLEET ?? 1000);
  const total = (x: { heap: number; buffers: number }) => x.heap + x.buffers;

  // Memory: the slope between N and 2N meters set up.
  const m0 = memory();
  const a = new MeterSlice({ config: CONFIG, meters: specs(0, n) });
  a.setUp();
  const m1 = memory();
  const b = new MeterSlice({ config: CONFIG, meters: specs(n, n) });
  b.setUp();
  const m2 = memory();
  const setup = { heap: (m2.heap - m1.heap) / n, buffers: (m2.buffers - m1.buffers) / n };
  // A simulated day in epochs of an hour as the runner runs them, every telegram decoded.
  const day = DEFAULT_WALL_START + 86_400_000;
  const held: { day?: { gw: SimGateway; decoded: number } } = { day: gatewayDay([a, b], day) };
  const decoded = held.day?.decoded ?? 0;
  const m3 = memory();
  held.day = undefined;
  const m4 = memory();
  const gateway = (total(m3) - total(m4)) / (2 * n);
  const day1 = { heap: setup.heap + (m4.heap - m2.heap) / (2 * n), buffers: setup.buffers + (m4.buffers - m2.buffers) / (2 * n) };
  const gb = (perMeter: number) => Math.round((perMeter * 1e5) / 1e8) / 10;
  report({
    name: `memory per meter after set-up (${n} → ${2 * n})`,
    figures: { 'heap KB': kb(setup.heap), 'array buffers KB': kb(setup.buffers), 'total KB': kb(total(setup)), '100 000 meters GB': gb(total(setup)) },
  });
  report({
    name: `memory per meter after a simulated day`,
    figures: { 'heap KB': kb(day1.heap), 'array buffers KB': kb(day1.buffers), 'meters KB': kb(total(day1)), 'gateway KB': kb(gateway), 'total KB': kb(total(day1) + gateway), '100 000 meters GB': gb(total(day1) + gateway), decoded },
  });
  a.close();
  b.close();

  const args = ['--meters', String(2 * n), '--chip', 'mixed', '--duration', '1d', '--format', 'hex', '--progress', '0'];
  if (process.env.XSMETER_BENCH_FLEET_MEMORY_ONLY) return;
  // This machine is shared and a single run drifts by ±15 %: three one-day runs, each followed by a
  // three-day run (the pair close in time), the medians and their range.
  const threeDays = args.map((a) => (a === '1d' ? '3d' : a));
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[1];
  const range = (xs: number[]) => `${Math.min(...xs)}–${Math.max(...xs)}`;
  const byRate = (xs: CliFigures[]) => [...xs].sort((x, y) => x.perCpuMinute - y.perCpuMinute)[1];
  const cpuMinutes = (r: CliFigures, days: number) => (2 * n * days) / r.perCpuMinute;
  const pairs = async (workers: number) => {
    const ones: CliFigures[] = [];
    const threes: CliFigures[] = [];
    for (let i = 0; i < 3; i++) {
      ones.push(await cli([...args, '--workers', String(workers)]));
      threes.push(await cli([...threeDays, '--workers', String(workers)]));
    }
    // What each day after the first costs: the CPU of a pair's three-day run less its one-day
    // run's, over the two days between (set-up, start-up and the JIT's warm-up are in the first).
    const further = ones.map((o, i) => Math.round((2 * 2 * n) / (cpuMinutes(threes[i], 3) - cpuMinutes(o, 1))));
    return { ones, one: byRate(ones), threes, three: byRate(threes), further };
  };
  const threeDayRows = (p: Awaited<ReturnType<typeof pairs>>, threads: string) => {
    report({
      name: `xsmeter sim: ${2 * n} meters × 3 days, ${threads}`,
      figures: { 'meter-days/CPU-min (median of 3)': p.three.perCpuMinute, range: range(p.threes.map((o) => o.perCpuMinute)), 'meter-days/min': perMinute(3 * 2 * n, p.three), decoded: p.three.decoded },
    });
    report({ name: `xsmeter sim: ${2 * n} meters, each further day, ${threads}`, figures: { 'meter-days/CPU-min (median of 3 pairs)': median(p.further), range: range(p.further) } });
  };
  const single = await pairs(1);
  const one = single.one;
  report({
    name: `xsmeter sim: ${2 * n} meters × 1 day, 1 thread`,
    figures: { 'meter-days/CPU-min (median of 3)': one.perCpuMinute, range: range(single.ones.map((o) => o.perCpuMinute)), 'meter-days/min': perMinute(2 * n, one), decoded: one.decoded },
  });
  // The same runs without their set-up's CPU (as the summary splits it).
  report({
    name: `xsmeter sim: ${2 * n} meters × 1 day, 1 thread, after the set-up`,
    figures: { 'meter-days/CPU-min (median of 3)': median(single.ones.map((o) => o.afterSetUp)), range: range(single.ones.map((o) => o.afterSetUp)), 'set-up ms of CPU a meter (median)': median(single.ones.map((o) => o.setUpMs)) },
  });
  // Set-up (a meter's boot: its flash stores scanned and started, a public key and two signatures)
  // and the process's start count a third as much over three days.
  threeDayRows(single, '1 thread');
  // Both cores: the same pairs with two threads (the main one runs the smaller share: it also decodes).
  const both = await pairs(2);
  const two = both.one;
  report({
    name: `xsmeter sim: ${2 * n} meters × 1 day, 2 threads`,
    figures: { 'meter-days/CPU-min (median of 3)': two.perCpuMinute, range: range(both.ones.map((o) => o.perCpuMinute)), 'meter-days/min': perMinute(2 * n, two), 'speed-up vs 1 thread': ratio(one.seconds, two.seconds), decoded: two.decoded },
  });
  threeDayRows(both, '2 threads');
  // A town: ten times the meters. Its state is far larger than the CPU's caches, and its epochs
  // are shorter (sim-runner.ts epochOf): what a large fleet's day costs.
  if (process.env.XSMETER_BENCH_FLEET_TOWN !== '0') {
    const townFleet = ['--meters', String(20 * n), '--chip', 'mixed', '--duration', '1d', '--format', 'hex', '--progress', '0'];
    const townArgs = [...townFleet, '--workers', '1'];
    const town = await cli(townArgs);
    report({
      name: `xsmeter sim: ${20 * n} meters × 1 day, 1 thread`,
      figures: { 'meter-days/CPU-min': town.perCpuMinute, 'after the set-up': town.afterSetUp, 'meter-days/min': perMinute(20 * n, town), decoded: town.decoded },
    });
    // Both cores, as a user runs it: what the town's day takes on the machine.
    const townBoth = await cli([...townFleet, '--workers', '2']);
    report({
      name: `xsmeter sim: ${20 * n} meters × 1 day, 2 threads`,
      figures: { 'meter-days/CPU-min': townBoth.perCpuMinute, 'after the set-up': townBoth.afterSetUp, 'meter-days/min': perMinute(20 * n, townBoth), 'speed-up vs 1 thread': ratio(town.seconds, townBoth.seconds), decoded: townBoth.decoded },
    });
    // The town against the 2N-meter day on the other core, run after run while it runs: both see
    // the machine at the same speed (this machine's drifts over the town's minutes), each slowed
    // alike by sharing it.
    let running = true;
    const beside = cli(townArgs).finally(() => (running = false));
    const small: CliFigures[] = [];
    while (running) {
      const r = await cli([...args, '--workers', '1']);
      if (running) small.push(r); // (the last one outlasted the town: not beside it throughout)
    }
    const townBeside = await beside;
    const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
    const smallRate = mean(small.map((r) => r.perCpuMinute));
    const smallAfter = mean(small.map((r) => r.afterSetUp));
    report({
      name: `the town ÷ ${2 * n} meters, side by side`,
      figures: { 'meter-days/CPU-min': ratio(townBeside.perCpuMinute, smallRate), 'after the set-up': ratio(townBeside.afterSetUp, smallAfter), town: townBeside.perCpuMinute, [`${2 * n} meters (mean of ${small.length})`]: Math.round(smallRate) },
    });
  }
  // A city as a user runs it (its default: one thread per CPU): the whole process's peak.
  if (process.env.XSMETER_BENCH_FLEET_CITY === '0') return;
  const city = await cli(['--meters', '100000', '--chip', 'mixed', '--duration', '1h', '--format', 'hex', '--progress', '0']);
  report({ name: 'xsmeter sim: 100 000 meters × 1 hour (default threads)', figures: { 'peak resident MB': city.peakMb, 'GB': Math.round(city.peakMb / 100) / 10, seconds: city.seconds, decoded: city.decoded } });
}
