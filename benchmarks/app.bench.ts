/**
 * The meter application and the simulator at scale:
 *  - `xsmeter sim --meters 1000 --speed max --duration 1d` in process (SimRunner): telegrams/s and the
 *    simulated-time factor; baseline: the gateway decoding the same frames alone (its share of the run);
 *  - XS metering of the application on a simulated meter (test/xs/app.xs.ts): computrons per
 *    metrology cycle (an hour of 1 s samples without telegrams, minus the set-up) and per telegram
 *    (an hour with a telegram every minute, minus the hour without).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Report } from './run.js';
import { bundleEntry, runBundleUnderXs } from '../test/helpers/xs.js';
import { SimGateway } from '../hosts/sim/gateway.js';
import { SimRunner } from '../hosts/sim/sim-runner.js';
import { keysForSeed } from '../hosts/sim/sim-meter.js';
import type { WmbusMode } from '../modules/ports/radio.js';
import { fromHex } from '../modules/core/bytes.js';

async function xsRun(cfg: { durationMs: number; intervalMs: number }): Promise<{ meter: number; lines: string[] }> {
  const b = await bundleEntry('test/xs/app.xs.ts');
  try {
    const code = readFileSync(b.file, 'utf8');
    writeFileSync(b.file, `globalThis.APP_XS = ${JSON.stringify(cfg)};\n${code}`);
    return await runBundleUnderXs(b.file);
  } finally {
    b.cleanup();
  }
}

export async function run(report: Report): Promise<void> {
  const meters = Number(process.env.XSMETER_BENCH_METERS ?? 1000);
  const air: { stream: Uint8Array; mode: WmbusMode }[] = [];
  const runner = new SimRunner({ meters, chip: 'ade7953', seed: 1, load: 'household', security: 7, radioMode: 'T1', intervalMs: 900_000, samplePeriodMs: 60_000, durationMs: 86_400_000, speed: 'max', onTelegram: (e) => air.push({ stream: e.air.stream, mode: e.air.mode }) });
  const s = await runner.run();
  const gw = new SimGateway();
  for (const m of runner.specs) gw.setKey(m.meterId, fromHex(keysForSeed(m.seed).meterKey));
  const t0 = performance.now();
  for (const f of air) gw.receive(f.stream, f.mode);
  const decodeMs = performance.now() - t0;
  report({
    name: `sim: ${meters} meters × 1 day, max speed (60 s samples)`,
    figures: {
      's wall': s.realMs / 1000,
      'telegrams/s': s.throughput,
      'sim factor': Math.round(s.factor),
      decoded: s.decoded,
      rejected: s.rejected,
      'gateway-alone telegrams/s': (air.length * 1000) / decodeMs,
      'gateway share': decodeMs / s.realMs,
    },
  });

  const hour = 3_600_000;
  const setup = await xsRun({ durationMs: 1, intervalMs: 10 * 86_400_000 });
  const quiet = await xsRun({ durationMs: hour, intervalMs: 10 * 86_400_000 });
  const busy = await xsRun({ durationMs: hour, intervalMs: 60_000 });
  const count = (lines: string[], key: string) => Number(new RegExp(`${key}=(\\d+)`).exec(lines.at(-1) ?? '')?.[1] ?? 0);
  const quietTelegrams = count(quiet.lines, 'telegrams');
  const busyTelegrams = count(busy.lines, 'telegrams');
  report({
    name: 'xs: meter application (ADE7953 sim meter)',
    figures: {
      'set-up computrons (log-init + seal, 2 ECDSA)': setup.meter,
      'computrons/metrology cycle (incl. chip sim)': Math.round((quiet.meter - setup.meter) / 3600),
      'computrons/telegram (mode 7, T1)': Math.round((busy.meter - quiet.meter) / Math.max(1, busyTelegrams - quietTelegrams)),
    },
  });
}
