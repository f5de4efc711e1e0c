// Bench entry: eleven telegrams in a row; with telegram.xs.ts (one) the difference gives the
// steady-state metering count per telegram, without the one-time AES table setup.
import { buildTelegram } from '../../modules/wmbus-tx/telegram.js';
import { phyEncode } from '../../modules/wmbus/phy.js';
import { benchTelegram } from './telegram-input.js';

export function main(out: (line: string) => void): void {
  let n = 0;
  for (let i = 1; i <= 11; i++) n += phyEncode(buildTelegram(benchTelegram(i)), 'T1', 'A').length;
  out(String(n));
}
