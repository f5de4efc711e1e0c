/**
 * The meter's registers as the SML interfaces read them (modules/sml RegisterSource): the telegram's
 * energy registers in whole Wh (A+ and A- totals, then the tariffs: MeterReadout, so the optical push
 * and the LMN show exactly what the wM-Bus telegram of the same instant carries), the power of the
 * last sample (1-0:16.7.0, W: detail, behind the customer PIN on the optical port) and the error flags
 * of the StatusBoard as the status word. The list and the status are made once and refreshed in
 * place: a push every second allocates nothing here.
 */
import type { RegisterSource, SmlReading } from '../sml/val-list.js';
import type { MeterReadout } from './meter-readout.js';
import { encodeErrorFlags, noStatus, type StatusBoard } from './meter-status.js';

export class SmlReadout implements RegisterSource {
  /** Every energy register, then the power. */
  private readonly all: SmlReading[];
  /** The two totals and the power (while the journal is refused). */
  private readonly totals: SmlReading[];
  private readonly power: SmlReading = { obis: '16.7.0', value: 0 };
  private readonly flags = noStatus();

  constructor(
    private readonly readout: MeterReadout,
    private readonly board: StatusBoard,
  ) {
    this.all = readout.energyObis.map((obis) => ({ obis, value: 0 }));
    this.totals = [this.all[0], this.all[1], this.power];
    this.all.push(this.power);
  }

  readings(): readonly SmlReading[] {
    const n = this.readout.energyShown();
    const list = n === this.all.length - 1 ? this.all : this.totals;
    for (let i = 0; i < n; i++) list[i].value = this.readout.energyWh(i);
    this.power.value = this.readout.powerW();
    return list;
  }

  status(): number {
    return encodeErrorFlags(this.board.current(this.flags));
  }
}
