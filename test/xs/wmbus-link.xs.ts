// Portable entry: builds frames (A, B), PHY streams (T1, C1) and FIFO contents for a fixed input
// set, decodes them back and prints everything as hex, so the test can require XS and Node to agree
// byte for byte. Also prints the typed error codes of a few bad inputs.
import { toHex } from '../../modules/core/bytes.js';
import { MeterError } from '../../modules/core/errors.js';
import { crc16En13757 } from '../../modules/wmbus/crc16.js';
import { encodeManufacturer, type DllHeader } from '../../modules/wmbus/dll.js';
import { buildFrame, type FrameFormat } from '../../modules/wmbus/frame.js';
import { airtimeMs, encodeC1Fifo, encodeT1Fifo, phyEncode } from '../../modules/wmbus/phy.js';
import { parseFrame } from '../../modules/wmbus/frame-parse.js';
import { phyDecode } from '../../modules/wmbus/phy-decode.js';

/** xorshift32: a fixed, engine-independent byte source. */
function bytes(seed: number, n: number): Uint8Array {
  let x = seed | 0 || 1;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function code(f: () => unknown): string {
  try {
    f();
    return 'ok';
  } catch (e) {
    return e instanceof MeterError ? `${e.name}:${e.code}` : `untyped:${String(e)}`;
  }
}

export function main(out: (line: string) => void): void {
  const header: DllHeader = { control: 0x44, manufacturer: 'XSM', id: '12345678', version: 1, deviceType: 0x02 };
  out(`M XSM=${encodeManufacturer('XSM').toString(16)} KAM=${encodeManufacturer('KAM').toString(16)}`);
  out(`crc ${crc16En13757(bytes(7, 300)).toString(16)}`);
  const cases: [number, FrameFormat][] = [
    [1, 'A'], [15, 'A'], [16, 'A'], [17, 'A'], [60, 'A'], [246, 'A'],
    [1, 'B'], [116, 'B'], [117, 'B'], [200, 'B'], [242, 'B'],
  ];
  for (const [n, format] of cases) {
    const body = bytes(n * 31 + (format === 'A' ? 1 : 2), n);
    const frame = buildFrame({ ...header, id: String(10000000 + n) }, body, format);
    const parsed = parseFrame(frame, format);
    out(`${format}${n} frame ${toHex(frame)} body-ok ${toHex(parsed.body) === toHex(body)}`);
    const modes = format === 'A' ? (['T1', 'C1'] as const) : (['C1'] as const);
    for (const mode of modes) {
      const stream = phyEncode(frame, mode, format);
      const fifo = mode === 'T1' ? encodeT1Fifo(frame) : encodeC1Fifo(frame, format);
      const back = phyDecode(stream, mode);
      out(`${format}${n} ${mode} ${toHex(stream)} fifo ${toHex(fifo).length / 2} airtime ${airtimeMs(frame.length, mode, format)}`);
      out(`${format}${n} ${mode} decode ${back.format} ${toHex(back.frame) === toHex(frame)}`);
    }
  }
  const good = buildFrame(header, bytes(3, 40), 'A');
  const bad = good.slice();
  bad[20] ^= 4;
  out(`errors ${code(() => parseFrame(bad, 'A'))} ${code(() => parseFrame(good.subarray(1), 'A'))} ${code(() => encodeManufacturer('kam'))}`);
  out(`errors ${code(() => phyDecode(new Uint8Array(40).fill(0x55), 'T1'))} ${code(() => buildFrame(header, new Uint8Array(247), 'A'))}`);
}
