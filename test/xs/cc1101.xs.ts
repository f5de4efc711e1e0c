// Portable entry: the CC1101 driver against the register-level simulator, printing every air capture
// (hex), its timing and the faults, so XS and Node can be compared byte for byte.
import { toHex } from '../../modules/core/bytes.js';
import { MeterError } from '../../modules/core/errors.js';
import { Cc1101 } from '../../modules/radio/cc1101.js';
import { buildFrame, MAX_BODY_A, MAX_BODY_B, type FrameFormat } from '../../modules/wmbus/frame.js';
import type { WmbusMode } from '../../modules/ports/radio.js';
import { Cc1101Sim } from '../../hosts/sim/cc1101-sim.js';

const header = { control: 0x44, manufacturer: 'XSM', id: '12345678', version: 1, deviceType: 0x02 };

function body(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  b[0] = 0x7a;
  for (let i = 1; i < n; i++) b[i] = (i * 131 + seed * 17 + (i >> 3)) & 0xff;
  return b;
}

export function main(out: (line: string) => void): void {
  const sim = new Cc1101Sim();
  const radio = new Cc1101({ spi: sim, gdo2: sim.gdo2 });
  const cases: Array<[WmbusMode, FrameFormat, number]> = [
    ['T1', 'A', 1], ['T1', 'A', 37], ['T1', 'A', MAX_BODY_A],
    ['C1', 'A', 5], ['C1', 'A', MAX_BODY_A], ['C1', 'B', 100], ['C1', 'B', MAX_BODY_B],
  ];
  for (const [mode, format, n] of cases) {
    radio.transmit(buildFrame(header, body(n, n), format), mode);
    const c = sim.transmissions[sim.transmissions.length - 1];
    out(`${mode} ${format} ${n} ${c.outcome} ${c.startUs.toFixed(3)}..${c.endUs.toFixed(3)} ${toHex(c.bytes)}`);
  }
  out(`spi bytes ${sim.spiBytes}, t = ${sim.nowUs.toFixed(3)} µs`);
  // A stalled host: the typed underflow fault, and the cut packet on the air.
  let polls = -1; // counting starts once configured
  const stalled = new Cc1101({ spi: sim, gdo2: sim.gdo2, onPoll: () => polls >= 0 && ++polls === 2 && sim.advance(9000) });
  stalled.configure('T1');
  polls = 0;
  try {
    stalled.transmit(buildFrame(header, body(150, 9), 'A'), 'T1');
    out('error: no underflow');
  } catch (e) {
    out(e instanceof MeterError ? `fault ${e.code}` : `error ${String(e)}`);
  }
  const cut = sim.transmissions[sim.transmissions.length - 1];
  out(`${cut.outcome} ${cut.bytes.length} ${toHex(cut.bytes)}`);
}
