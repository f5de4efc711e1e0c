/**
 * smartmeter-obis (the library ioBroker's smartmeter adapter reads meters with; SML through open-sml)
 * as an independent SML reader for the tests. Bytes go in as its serial and stdin transports hand
 * them over — appended to a buffer chunk by chunk, `checkMessage`/`handleMessage` after each chunk —
 * and every result its SmlProtocol stores comes back: per file, OBIS id → { value, unit } with the
 * scaler applied (Wh turned into kWh, as the library does), or the error it reported.
 */
import { createRequire } from 'node:module';

interface ObisMeasurement {
  idToString(): string;
  values: { value: number | string; unit: string }[];
}
interface SmlProtocolLike {
  checkMessage(data: Buffer): boolean;
  handleMessage(data: Buffer): Buffer | null;
}
type SmlProtocolCtor = new (
  options: Record<string, unknown>,
  store: (err: Error | null, result: Record<string, ObisMeasurement> | null) => void,
) => SmlProtocolLike;

const require = createRequire(import.meta.url);
const SmlProtocol = require('smartmeter-obis/lib/protocols/SmlProtocol.js') as SmlProtocolCtor;

export type ObisReading = { value: number | string; unit: string };
export type SmoResult = { values: Record<string, ObisReading> } | { error: string };

export function readWithSmartmeterObis(stream: Uint8Array, chunkBytes = 256): SmoResult[] {
  const results: SmoResult[] = [];
  const protocol = new SmlProtocol({ debug: 0, logger: () => {}, protocolSmlIgnoreInvalidCRC: false }, (err, result) => {
    if (err) results.push({ error: err.message });
    else {
      const values: Record<string, ObisReading> = {};
      for (const [id, m] of Object.entries(result ?? {})) values[id] = m.values[0];
      results.push({ values });
    }
  });
  let buf: Buffer = Buffer.alloc(0);
  for (let i = 0; i < stream.length; i += chunkBytes) {
    buf = Buffer.concat([buf, Buffer.from(stream.subarray(i, i + chunkBytes))]);
    while (buf.length > 0 && protocol.checkMessage(buf)) buf = protocol.handleMessage(buf) ?? Buffer.alloc(0);
  }
  return results;
}
