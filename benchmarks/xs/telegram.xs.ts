// Bench entry (XS and Node): builds one mode-7 telegram (records, KDF, AES-CBC, CMAC, CRCs) and
// its T1 on-air stream. Run once under XS for the metering count of exactly one telegram.
import { buildTelegram } from '../../modules/wmbus-tx/telegram.js';
import { phyEncode } from '../../modules/wmbus/phy.js';
import { benchTelegram } from './telegram-input.js';

export function main(out: (line: string) => void): void {
  const frame = buildTelegram(benchTelegram(1));
  out(String(phyEncode(frame, 'T1', 'A').length));
}
