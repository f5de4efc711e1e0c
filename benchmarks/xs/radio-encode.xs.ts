// XS cost of coding the same long T1 frame for the FIFO alone (the baseline of radio.xs.ts).
import { encodeT1Fifo } from '../../modules/wmbus/phy-t1.js';
import { longFrame } from './radio-input.js';

export function main(out: (line: string) => void): void {
  out(String(encodeT1Fifo(longFrame()).length));
}
