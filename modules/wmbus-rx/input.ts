/**
 * Text forms of received frames, one per line, as the CLI and the bench tooling read them:
 *  - plain hex (spaces allowed, optional 0x): a format-A frame with its CRCs when the byte count is
 *    what L implies with CRCs (L + 1 + 2 per block), a frame without CRCs when it is L + 1;
 *    format B (whose L also counts the CRCs) must be asked for explicitly;
 *  - rtlwmbus lines as rtl-wmbus prints them and wmbusmeters reads them
 *    (src/wmbus_rtlwmbus.cc): `T1;1;1;2019-02-09 07:14:18.000;117;102;94740459;0x4944…`:
 *    mode, two CRC-ok flags, timestamp, RSSI, link quality, meter id, and the frame without CRCs.
 */
import { fromHex } from '../core/bytes.js';
import { frameLengthFromL, type FrameFormat } from '../wmbus/frame.js';
import { ReceiveError } from './receive-error.js';

export interface InputFrame {
  bytes: Uint8Array;
  format: FrameFormat | 'none';
  source: 'hex' | 'rtlwmbus';
  /** rtlwmbus: the radio mode the line names. */
  mode?: string;
}


function hexBytes(text: string): Uint8Array {
  const t = text.trim().replace(/^0x/i, '');
  try {
    return fromHex(t);
  } catch {
    throw new ReceiveError('bad-input', `not a hex frame: "${t.length > 40 ? t.slice(0, 40) + '…' : t}"`, {});
  }
}

export function parseInputLine(line: string, hexFormat: 'auto' | FrameFormat | 'none' = 'auto'): InputFrame {
  const text = line.trim();
  if (text.includes(';')) {
    const f = text.split(';');
    const last = f[f.length - 1];
    if (f.length < 8 || !/^(T1|C1|S1|T2|C2)$/.test(f[0]) || !/^0x/i.test(last)) {
      throw new ReceiveError('bad-input', 'not an rtlwmbus line (MODE;1;1;timestamp;rssi;lqi;id;0xHEX)', {});
    }
    if (f[1] !== '1' || f[2] !== '1') {
      throw new ReceiveError('crc', `rtlwmbus reports a CRC failure (flags ${f[1]};${f[2]})`, { block: 0 });
    }
    return { bytes: hexBytes(last), format: 'none', source: 'rtlwmbus', mode: f[0] };
  }
  const bytes = hexBytes(text);
  if (bytes.length === 0) throw new ReceiveError('bad-input', 'empty line', {});
  if (hexFormat !== 'auto') return { bytes, format: hexFormat, source: 'hex' };
  const l = bytes[0];
  if (bytes.length === l + 1) return { bytes, format: 'none', source: 'hex' };
  let withCrc = -1;
  try {
    withCrc = frameLengthFromL(l, 'A');
  } catch {
    // an L too small for a frame: reported below
  }
  if (bytes.length === withCrc) return { bytes, format: 'A', source: 'hex' };
  throw new ReceiveError(
    'length',
    `${bytes.length} bytes fit neither L = ${l} without CRCs (${l + 1}) nor format A with CRCs (${withCrc})`,
    { length: bytes.length, l },
  );
}
