// The bench rig channel's dispatcher (tools/calibration-bench/rig-protocol.ts) on a simulated bench
// meter: the same request lines, good and bad, give the same response lines under XS and Node.
import { fromHex } from '../../modules/core/bytes.js';
import { RigService } from '../../tools/calibration-bench/rig-protocol.js';
import { SimBenchRig, benchSimMeter } from '../../tools/calibration-bench/sim-rig.js';

export async function main(out: (line: string) => void): Promise<void> {
  const m = benchSimMeter({ chip: 'atm90e32', seed: 3, errors: 'random' });
  const rig = new SimBenchRig(m);
  const service = new RigService(rig, {
    chip: m.chipName,
    meterId: m.meterId,
    meterConstant: 1000,
    beforeAdvance: () => m.tick(),
    publicKey: m.keys.devicePublicKey(),
    benchKey: fromHex(m.keys.toFile().benchKey),
  });
  const lines = [
    '{"id":1,"op":"identify"}',
    'nope',
    '{"id":2,"op":"advance","ms":0}',
    '{"id":3,"op":"setLoad","load":{"voltage":230,"current":5,"phaseDeg":0},"phase":3}',
    '{"id":4,"op":"setLoad","load":{"voltage":230,"current":10,"phaseDeg":60}}',
    '{"id":5,"op":"setLoad","load":{"voltage":230,"current":0,"phaseDeg":0},"phase":2}',
    '{"id":6,"op":"setSwitch","level":1}',
    '{"id":7,"op":"advance","ms":60000}',
    '{"id":8,"op":"advance","ms":60000}',
    '{"id":9,"op":"readReference"}',
    '{"id":10,"op":"pulses"}',
    '{"id":11,"op":"now","x":1}',
  ];
  for (const l of lines) {
    const r = await service.handle(l);
    const v = JSON.parse(r) as { edges?: unknown[] };
    // Edge lists are long: print their count and the first one.
    out(v.edges ? `${JSON.stringify({ ...v, edges: v.edges.length })} first ${JSON.stringify(v.edges[0])}` : r);
  }
  out(`switch ${m.calibrationSwitch.level} rising ${m.pulseLed.rising}`);
}
