// The meter application on a simulated meter for one simulated hour (ADE7953, household load, a
// telegram every 5 minutes, mode 7, factory sealed), printing every frame on the air and the final
// registers and statistics, for the Node/XS comparison of test/app-xs.test.ts. benchmarks/app.bench.ts
// sets globalThis.APP_XS to vary the duration and interval for its XS metering counts.
import { toHex } from '../../modules/core/bytes.js';
import { SimMeter } from '../../hosts/sim/sim-meter.js';

const cfg = (globalThis as { APP_XS?: { durationMs: number; intervalMs: number; samplePeriodMs?: number } }).APP_XS ?? { durationMs: 3_600_000, intervalMs: 300_000 };

export function main(out: (line: string) => void): void {
  const m = new SimMeter({ chip: 'ade7953', seed: 7, load: 'household', intervalMs: cfg.intervalMs, samplePeriodMs: cfg.samplePeriodMs ?? 1000 });
  m.keepAir = true;
  m.advance(cfg.durationMs);
  for (const f of m.air) out(`${f.sent.messageCounter} ${f.sent.ticks} ${toHex(f.sent.frame)}`);
  const r = m.app.part.energy.metering.registers;
  out(`registers uwh import=${r.uwh('import')} export=${r.uwh('export')} pulses=${m.pulseLed.rising}`);
  const s = m.app.stats;
  out(`stats samples=${s.samples} telegrams=${s.telegrams} deferred=${s.deferred} faults=${s.metrologyFaults} log=${m.app.part.calibration.log.counter}`);
}
