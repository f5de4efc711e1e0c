// XS cost of one long T1 frame through the CC1101 driver and the register-level simulator.
import { Cc1101 } from '../../modules/radio/cc1101.js';
import { Cc1101Sim } from '../../hosts/sim/cc1101-sim.js';
import { longFrame } from './radio-input.js';

export function main(out: (line: string) => void): void {
  const sim = new Cc1101Sim();
  const radio = new Cc1101({ spi: sim, gdo2: sim.gdo2 });
  radio.configure('T1');
  const frame = longFrame();
  const before = sim.spiBytes;
  radio.transmit(frame, 'T1');
  out(`${sim.transmissions[0].bytes.length} ${sim.spiBytes - before}`);
}
