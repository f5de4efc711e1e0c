/**
 * Text forms of received frames, one per line, as the CLI and the bench tooling read them:
 *  - plain hex (spaces allowed, optional 0x): a format-A frame with its CRCs when the byte count is
 *    what L implies with CRCs (L + 1 + 2 per block), a frame without CRCs when it is L + 1;
 *    format B (whose L also counts the CRCs) must be asked for explicitly;
 *  - rtlwmbus lines as rtl-wmbus prints them and wmbusmeters reads them (src/wmbus_rtlwmbus.cc):
 *    `T1;1;1;2019-02-09 07:14:18.000;117;102;94740459;0x4944…` (mode, two CRC-ok flags, timestamp,
 *    RSSI, link quality, meter id, frame without CRCs) or the shorter
 *    `C1;1;1;2019-02-09 07:14:18.000;117;0;0x4944…` without the meter id. The timestamp and the RSSI
 *    are passed through. A C1 format-B frame keeps its L, which counts the CRCs rtl-wmbus removed:
 *    it is read as the frame without CRCs it is.
 */
import { fromHex } from '../core/bytes.js';
import { frameLengthFromL, type FrameFormat } from '../wmbus/frame.js';
import { ReceiveError } from './receive-error.js';

export interface InputFrame {
  bytes: Uint8Array;
  format: FrameFormat | 'none';
  source: 'hex' | 'rtlwmbus';
  /** rtlwmbus: the radio mode, the receiver's timestamp and RSSI as the line gives them. */
  mode?: string;
  timestamp?: string;
  rssi?: number;
}

function hexBytes(text: string): Uint8Array {
  const t = text.trim().replace(/^0x/i, '');
  try {
    return fromHex(t);
  } catch {
    throw new ReceiveError('bad-input', `not a hex frame: "${t.length > 40 ? t.slice(0, 40) + '…' : t}"`, {});
  }
}

const RTL_MODE = /^(T1|C1|S1|T2|C2|S2)$/;

function rtlwmbusLine(text: string): InputFrame {
  const f = text.split(';');
  const last = f[f.length - 1];
  if ((f.length !== 7 && f.length !== 8) || !RTL_MODE.test(f[0]) || !/^0x/i.test(last)) {
    throw new ReceiveError('bad-input', 'not an rtlwmbus line (MODE;1;1;timestamp;rssi;lqi;id;0xHEX or MODE;1;1;timestamp;rssi;0;0xHEX)', {});
  }
  if (f[1] !== '1' || f[2] !== '1') {
    throw new ReceiveError('crc', `rtlwmbus reports a CRC failure (flags ${f[1]};${f[2]})`, { block: 0 });
  }
  let bytes = hexBytes(last);
  if (bytes.length === 0) throw new ReceiveError('bad-input', 'empty frame', {});
  const extra = bytes[0] - (bytes.length - 1);
  if (f[0].startsWith('C') && (extra === 2 || extra === 4)) {
    bytes = bytes.slice();
    bytes[0] = bytes.length - 1; // format B: L counted the block CRCs that are no longer there
  }
  const out: InputFrame = { bytes, format: 'none', source: 'rtlwmbus', mode: f[0] };
  if (f[3]) out.timestamp = f[3];
  const rssi = Number(f[4]);
  if (f[4] !== '' && Number.isFinite(rssi)) out.rssi = rssi;
  return out;
}

export function parseInputLine(line: string, hexFormat: 'auto' | FrameFormat | 'none' = 'auto'): InputFrame {
  const text = line.trim();
  if (text.includes(';')) return rtlwmbusLine(text);
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
