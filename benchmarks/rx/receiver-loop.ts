// The receiver end to end as the decode CLI runs it (benchmarks/receiver.bench.ts bundles this file like
// the CLI bundle, so no loader overhead is measured): each input line → one JSON output line.
import { decodeLine } from '../../cli/commands/decode.js';
import { Receiver } from '../../modules/wmbus-rx/receiver.js';
import { nobleCrypto } from '../../hosts/sim/noble-crypto.js';

/** Decodes every line with a fresh receiver; returns the elapsed nanoseconds and the output bytes. */
export function decodeLines(lines: readonly string[], key: Uint8Array): { ns: number; bytes: number } {
  const receiver = new Receiver({ crypto: nobleCrypto, keys: () => key });
  const options = { frame: 'auto' as const };
  let bytes = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < lines.length; i++) {
    const r = decodeLine(receiver, i + 1, lines[i], options);
    if (!r || !r.ok) throw new Error(`line ${i + 1} did not decode: ${r?.json}`);
    bytes += r.json.length;
  }
  const ns = Number(process.hrtime.bigint() - t0);
  receiver.close();
  return { ns, bytes };
}
