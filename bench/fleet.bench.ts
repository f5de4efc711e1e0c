/**
 * Fleets (`xsmeter sim --meters 100000`, issue 14 §4): memory per simulated meter and meter-days per
 * CPU-minute.
 *  - memory: V8 heap + array buffers (what RSS grows by) after setting up N and then 2N meters of a
 *    mixed fleet in one thread, with a full GC before each reading; per meter = the slope, so the
 *    code and the fixed costs do not count. Then the 2N meters run a simulated day (the energy
 *    journal has by then rung through its sectors: the cold ones are in the spill file) and the
 *    reading is repeated. The gateway's share (keys, replay state and the table row of each meter,
 *    in the thread that decodes) is measured the same way and added.
 *  - throughput: the same fleet for a simulated day (60 s samples, a telegram every 15 min, mode 7,
 *    every telegram decoded by the gateway), in one thread and with `--workers 2`: meter-days per
 *    minute of CPU time (all threads of the process) and per minute of real time. Baseline: the
 *    same-process one-thread run.
 * XSMETER_BENCH_FLEET=N sets N (default 1000).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Report } from './run.js';
import { fromHex } from '../modules/core/bytes.js';
import { SimGateway } from '../hosts/sim/gateway.js';
import { MeterSlice, type MeterSpec } from '../hosts/sim/meter-slice.js';
import { SimRunner, meterIdOf, meterSeed } from '../hosts/sim/sim-runner.js';
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

export async function run(report: Report): Promise<void> {
  const n = Number(process.env.XSMETER_BENCH_FLEET ?? 1000);

  // Memory: the slope between N and 2N meters set up.
  const m0 = memory();
  const a = new MeterSlice({ config: CONFIG, meters: specs(0, n) });
  a.setUp();
  const m1 = memory();
  const b = new MeterSlice({ config: CONFIG, meters: specs(n, n) });
  b.setUp();
  const m2 = memory();
  const perMeter = (x: { heap: number; buffers: number }, y: { heap: number; buffers: number }, k: number) => ({ heap: (y.heap - x.heap) / k, buffers: (y.buffers - x.buffers) / k });
  const setup = perMeter(m1, m2, n);
  // The gateway's share: keys, replay state and the row of each meter after a telegram each.
  const g0 = memory();
  const gw = new SimGateway();
  const day = DEFAULT_WALL_START + 86_400_000;
  let decoded = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (const s of [a, b]) {
    for (let p = 0; p < s.made; p++) gw.setKey(s.specs[p].meterId, fromHex(s.meterKey(p)));
    s.runUntil(day);
    for (const e of s.take()) if (gw.receive(e.stream, e.mode, e.wallMs, e.meterId).ok) decoded++;
    s.finish(day);
    for (const e of s.take()) if (gw.receive(e.stream, e.mode, e.wallMs, e.meterId).ok) decoded++;
  }
  const c1 = process.cpuUsage(c0);
  const oneThreadWall = performance.now() - t0;
  const m3 = memory();
  const g1 = memory();
  const gateway = (g1.heap + g1.buffers - (g0.heap + g0.buffers)) / (2 * n);
  const afterDay = perMeter(m0, m3, 2 * n);
  const total = (x: { heap: number; buffers: number }) => x.heap + x.buffers;
  report({
    name: `memory per meter: after set-up (${n} → ${2 * n} meters)`,
    figures: { 'heap KB': kb(setup.heap), 'array buffers KB': kb(setup.buffers), 'meters KB': kb(total(setup)), 'with gateway KB': kb(total(setup) + gateway), '100 000 meters GB': Math.round((total(setup) + gateway) * 1e5 / 1e8) / 10 },
  });
  report({
    name: `memory per meter: after a simulated day (${2 * n})`,
    figures: { 'heap KB': kb(afterDay.heap), 'array buffers KB': kb(afterDay.buffers), 'meters KB': kb(total(afterDay)), 'gateway KB': kb(gateway), 'with gateway KB': kb(total(afterDay) + gateway), '100 000 meters GB': Math.round((total(afterDay) + gateway) * 1e5 / 1e8) / 10 },
  });
  a.close();
  b.close();
  const cpuMin1 = (c1.user + c1.system) / 60e6;
  report({
    name: `throughput: ${2 * n} meters × 1 day, 1 thread`,
    figures: { 'meter-days/CPU-min': Math.round((2 * n) / cpuMin1), 'meter-days/min': Math.round((2 * n) / (oneThreadWall / 60_000)), decoded },
  });

  // With worker threads, through the runner as `xsmeter sim --workers 2` runs it.
  const runner = new SimRunner({ meters: 2 * n, chip: 'mixed', seed: 1, load: 'mixed', ...CONFIG, durationMs: 86_400_000, speed: 'max', workers: 2 });
  const c2 = process.cpuUsage();
  const s = await runner.run();
  const c3 = process.cpuUsage(c2);
  const cpuMin2 = (c3.user + c3.system) / 60e6;
  report({
    name: `throughput: ${2 * n} meters × 1 day, 2 workers`,
    figures: {
      'meter-days/CPU-min': Math.round((2 * n) / cpuMin2),
      'meter-days/min': Math.round((2 * n) / (s.realMs / 60_000)),
      'vs 1 thread (real time)': Math.round((oneThreadWall / s.realMs) * 100) / 100,
      decoded: s.decoded,
      rejected: s.rejected,
    },
  });
}
