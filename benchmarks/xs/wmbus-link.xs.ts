// XS metering of the link/PHY hot paths: buildFrame + T1 encode, and phyDecode (T1) + parseFrame,
// for a 60-byte body. Each segment is measured with xsnap's resetMeter (absent under Node: -1).
import { type DllHeader } from '../../modules/wmbus/dll.js';
import { buildFrame } from '../../modules/wmbus/frame.js';
import { phyEncode } from '../../modules/wmbus/phy.js';
import { parseFrame } from '../../modules/wmbus/frame-parse.js';
import { phyDecode } from '../../modules/wmbus/phy-decode.js';

const N = 50;

export function main(out: (line: string) => void): void {
  const meter = (globalThis as { resetMeter?: (limit: number, index: number) => number }).resetMeter;
  const reset = () => (typeof meter === 'function' ? meter(0, 0) : -1);
  const header: DllHeader = { control: 0x44, manufacturer: 'XSM', id: '12345678', version: 1, deviceType: 0x02 };
  const body = new Uint8Array(60);
  for (let i = 0; i < body.length; i++) body[i] = (i * 37 + 5) & 0xff;
  const stream = phyEncode(buildFrame(header, body, 'A'), 'T1', 'A');
  let sink = 0;
  reset();
  for (let i = 0; i < N; i++) sink += phyEncode(buildFrame(header, body, 'A'), 'T1', 'A').length;
  const enc = reset();
  for (let i = 0; i < N; i++) sink += parseFrame(phyDecode(stream, 'T1').frame, 'A').body.length;
  const dec = reset();
  out(`encode ${enc < 0 ? -1 : Math.round(enc / N)}`);
  out(`decode ${dec < 0 ? -1 : Math.round(dec / N)}`);
  out(`sink ${sink}`);
}
