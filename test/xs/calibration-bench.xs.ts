// The calibration bench procedure, run as a bench controller would run it: a simulated ADE7953 with
// random board errors calibrated to class 1 through the in-process service line (short gates: this is
// the Node/XS comparison of test/calibration-bench.test.ts, not an accuracy run), with the no-load and
// starting-current tests. Prints every progress line, the constants written, the log check and the
// HTML report's digest.
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex } from '../../modules/core/bytes.js';
import { accuracyClass, type AccuracyClass } from '../../tools/calibration-bench/accuracy-class.js';
import { calibrate } from '../../tools/calibration-bench/procedure.js';
import { reportHtml } from '../../tools/calibration-bench/report-html.js';
import { SimBenchRig, benchSimMeter } from '../../tools/calibration-bench/sim-rig.js';
import { nobleCrypto } from '../../hosts/sim/noble-crypto.js';

export async function main(out: (line: string) => void): Promise<void> {
  const m = benchSimMeter({ chip: 'ade7953', seed: 5, errors: 'random' });
  const rig = new SimBenchRig(m);
  const r = await calibrate(rig.client(), rig, {
    cls: accuracyClass('1') as AccuracyClass,
    crypto: nobleCrypto,
    meterConstant: 1000,
    // a gate of 150 s bounds the pulse-gate error by the 1 s energy update period: ≤ 0.67 %, inside class 1
    minSeconds: 150,
    minPulses: 2,
    calibrationSeconds: 360,
    onProgress: (e) => {
      if (!e.text.endsWith('…')) out(`${e.stage} ${e.index ?? ''} ${e.text}`);
    },
  });
  out(`status ${r.status} ${r.reason ?? ''} bench ${r.benchSeconds}`);
  for (const w of r.written) out(`written ${w.step} ${w.bytesHex}`);
  out(`log ${r.log?.ok} ${r.log?.records} ${r.log?.sealMatchesWritten}`);
  out(`no-load ${r.noLoad?.seconds} s ${r.noLoad?.pulses} pulses; starting ${r.starting?.seconds} s ${r.starting?.pulses} pulses`);
  out(`report ${toHex(sha256(new TextEncoder().encode(reportHtml(r))))}`);
}
