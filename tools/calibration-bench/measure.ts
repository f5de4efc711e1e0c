/**
 * One accuracy measurement with a pulse-gated reference (IEC 62052-11 / 62053-21 test output): the
 * gate opens at a pulse edge of the meter's test output and closes at a later one, the reference's
 * registers are latched at both edges, and the meter's energy is exactly the pulses in between
 * (n / C kWh). So there is no ±1 pulse count error; what remains is the lag of each edge behind the
 * moment the meter's register crossed the pulse boundary — up to one energy update period (1 s in
 * the simulated meter). The error of a run of T seconds is at most that period / T: a run of
 * `minSeconds` = 2000 s gives ≤ 0.05 %, a tenth of the 0.5S limit (typical: a third of that, the two
 * edge lags partly cancel). `minPulses` keeps fast points from ending after a handful of pulses.
 *
 * Portable: drives only the rig interfaces.
 */
import { MeterError } from '../../modules/core/errors.js';
import type { BenchRig, TestLoad, ReferenceLatch } from './rig.js';

export class BenchError extends MeterError {}

export interface RunOptions {
  /** Meter constant, imp/kWh. */
  meterConstant: number;
  /** Shortest gate, s. */
  minSeconds: number;
  /** Fewest pulses in the gate. */
  minPulses: number;
  /** Wait after the load is set before the gate may open, ms (default 3000: the meter's energy
   *  updates of the old load are through). */
  settleMs?: number;
  /** Bench time slice per wait, ms (default 5000). */
  sliceMs?: number;
}

export interface GatedRun {
  pulses: number;
  seconds: number;
  /** Signed reference energy per phase over the gate, Wh. */
  referenceWh: number[];
  /** Meter energy from the pulses, Wh, signed like the reference total. */
  meterWh: number;
}

/** Sets `loads`, waits, and measures over a pulse-gated run. BenchError 'no-pulses' when the meter is silent. */
export async function gatedRun(rig: BenchRig, loads: readonly TestLoad[], o: RunOptions): Promise<GatedRun> {
  await rig.load.apply(loads);
  await rig.time.wait(o.settleMs ?? 3000);
  const powerW = loads.reduce((s, l) => s + Math.abs(l.voltage * l.current * Math.cos((l.phaseDeg * Math.PI) / 180)), 0);
  if (!(powerW > 0)) throw new BenchError('no-load', 'a gated run needs a load with active power', {});
  const periodMs = 3.6e9 / (o.meterConstant * powerW);
  // A meter within ±50 % of the reference finishes well inside this.
  const budgetMs = 2 * Math.max(o.minSeconds * 1000, o.minPulses * periodMs) + 4 * periodMs + 10_000;
  let first: ReferenceLatch | undefined;
  let last: ReferenceLatch | undefined;
  let n = 0;
  rig.pulses.start(() => {
    if (last) return;
    const r = rig.reference.latch();
    if (!first) {
      first = r;
      return;
    }
    n++;
    if (n >= o.minPulses && r.atMs - first.atMs >= o.minSeconds * 1000) last = r;
  });
  const start = rig.time.now();
  try {
    while (!last && rig.time.now() - start < budgetMs) await rig.time.wait(o.sliceMs ?? 5000);
  } finally {
    rig.pulses.stop();
  }
  if (!first || !last) {
    throw new BenchError('no-pulses', `the meter gave ${first ? n + 1 : 0} pulses in ${Math.round((rig.time.now() - start) / 1000)} s where about ${Math.round((rig.time.now() - start) / periodMs)} were due`, {
      pulses: first ? n + 1 : 0,
    });
  }
  const f = first;
  const referenceWh = last.activeWh.map((x, p) => x - f.activeWh[p]);
  const total = referenceWh.reduce((a, b) => a + b, 0);
  return { pulses: n, seconds: (last.atMs - f.atMs) / 1000, referenceWh, meterWh: (Math.sign(total) * n * 1000) / o.meterConstant };
}
