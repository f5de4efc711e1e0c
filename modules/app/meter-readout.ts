/**
 * What the meter shows of its registers, in whole Wh straight from the integral µWh registers
 * (EnergyRegisters.wh: floored exactly, never more than was measured): the periodic telegram's
 * register list (A+ and A- totals, per tariff when there is more than one, power, clock, error
 * flags), the same energy registers and power one by one for the SML interfaces (sml-readout.ts),
 * and the service interface's read-registers. The OBIS names of the energy registers are fixed at
 * start, so no name is built or parsed per telegram.
 * A refused journal (another register layout) shows the totals its newest record holds, frozen.
 */
import type { EnergyRegister } from '../service/messages.js';
import type { Register, RegisterValue } from '../wmbus-tx/registers.js';
import type { EnergyMeter } from './energy-meter.js';
import { encodeErrorFlags, type MeterStatus } from './meter-status.js';
import type { WallClock } from './wall-clock.js';

interface EnergyName {
  obis: string;
  direction: 'import' | 'export';
  tariff: number;
  phase: number | 'all';
}

/** '00' … '59': a month, day, hour or minute as two digits by lookup, not a string made per field
 *  (XS: 180 → 108 computrons a minuteText). */
const TWO_DIGITS: readonly string[] = Object.freeze(Array.from({ length: 60 }, (_, n) => (n < 10 ? '0' + n : String(n))));

/** 'YYYY-MM-DDTHH:MM' in UTC, as the type F record takes it. */
export function minuteText(ms: number): string {
  const d = new Date(ms);
  const year = d.getUTCFullYear();
  // Outside Date's range every field is NaN (not in the table).
  if (year !== year) return 'NaN-NaN-NaNTNaN:NaN';
  return `${year}-${TWO_DIGITS[d.getUTCMonth() + 1]}-${TWO_DIGITS[d.getUTCDate()]}T${TWO_DIGITS[d.getUTCHours()]}:${TWO_DIGITS[d.getUTCMinutes()]}`;
}

function wholeWh(uwh: number): number {
  let w = Math.floor(uwh / 1e6);
  if (w * 1e6 > uwh) w--;
  return w;
}

/** The telegram's energy registers with one tariff (most meters): the two totals, shared. */
const TOTALS: readonly EnergyName[] = Object.freeze([
  Object.freeze<EnergyName>({ obis: '1.8.0', direction: 'import', tariff: 0, phase: 'all' }),
  Object.freeze<EnergyName>({ obis: '2.8.0', direction: 'export', tariff: 0, phase: 'all' }),
]);

export class MeterReadout {
  /** The telegram's energy registers, in telegram order (the shared TOTALS with one tariff). */
  private readonly telegramEnergy: readonly EnergyName[];
  /** Every energy register the service interface lists: made on the first read (most meters are
   *  never read over the service interface). */
  private serviceEnergy: EnergyName[] | undefined;

  constructor(
    private readonly energy: EnergyMeter,
    private readonly clock: WallClock,
  ) {
    const r = energy.metering.registers;
    // Telegram: 1.8.0, 2.8.0, then 1.8.t …, 2.8.t … (OMS order: totals first), in an array of
    // exactly that size (one grown by push keeps room for 17).
    if (r.tariffs > 1) {
      const names: EnergyName[] = new Array(2 + 2 * r.tariffs);
      names[0] = TOTALS[0];
      names[1] = TOTALS[1];
      let i = 2;
      for (const [c, direction] of [[1, 'import'], [2, 'export']] as const) {
        for (let t = 1; t <= r.tariffs; t++) names[i++] = { obis: `${c}.8.${t}`, direction, tariff: t, phase: 'all' };
      }
      this.telegramEnergy = names;
    } else this.telegramEnergy = TOTALS;
  }

  private serviceNames(): EnergyName[] {
    if (this.serviceEnergy) return this.serviceEnergy;
    const r = this.energy.metering.registers;
    const names: EnergyName[] = [];
    // Service: per direction the total, each tariff, each phase (21/41/61.8.0, 22/42/62.8.0).
    for (const [c, direction] of [[1, 'import'], [2, 'export']] as const) {
      names.push({ obis: `${c}.8.0`, direction, tariff: 0, phase: 'all' });
      for (let t = 1; t <= r.tariffs; t++) names.push({ obis: `${c}.8.${t}`, direction, tariff: t, phase: 'all' });
      for (let p = 0; p < r.phases; p++) names.push({ obis: `${20 * p + 20 + c}.8.0`, direction, tariff: 0, phase: p });
    }
    return (this.serviceEnergy = names);
  }

  /** The periodic telegram's registers for `status`. */
  telegramRegisters(status: MeterStatus): Register[] {
    // Exactly as long as the list (the sender keeps the last one).
    const n = this.energyShown();
    const out: Register[] = new Array(status.clockInvalid ? n + 2 : n + 3);
    for (let i = 0; i < n; i++) out[i] = { obis: this.telegramEnergy[i].obis, value: this.energyWh(i) };
    let k = n;
    out[k++] = { obis: '16.7.0', value: this.powerW() };
    if (!status.clockInvalid) out[k++] = { obis: 'clock', value: minuteText(this.clock.now()) };
    out[k] = { obis: 'status', value: encodeErrorFlags(status) };
    return out;
  }

  /** A list telegramRegisters(status) gave, again from its values in order (what the telegram
   *  sender keeps of its last telegram): its length says how many energy registers it shows. */
  registersOf(values: readonly RegisterValue[], status: MeterStatus): Register[] {
    const n = values.length - (status.clockInvalid ? 2 : 3);
    const out: Register[] = new Array(values.length);
    for (let i = 0; i < n; i++) out[i] = { obis: this.telegramEnergy[i].obis, value: values[i] };
    out[n] = { obis: '16.7.0', value: values[n] };
    if (!status.clockInvalid) out[n + 1] = { obis: 'clock', value: values[n + 1] };
    const last = values.length - 1;
    out[last] = { obis: 'status', value: values[last] };
    return out;
  }

  /** OBIS codes of the telegram's energy registers, in telegram order: 1.8.0, 2.8.0, then 1.8.t …, 2.8.t … */
  get energyObis(): readonly string[] {
    return this.telegramEnergy.map((e) => e.obis);
  }

  /** How many of them the meter shows now: all, or the two totals (first) while the journal is refused. */
  energyShown(): number {
    return this.energy.refused?.details ? 2 : this.telegramEnergy.length;
  }

  /** Whole Wh of the telegram's energy register `i` (< energyShown()). */
  energyWh(i: number): number {
    const refused = this.energy.refused?.details;
    // Layout-independent sums of the refused journal's newest record.
    if (refused) return wholeWh(Number(i === 0 ? refused.storedImportUwh : refused.storedExportUwh));
    const e = this.telegramEnergy[i];
    return this.energy.metering.registers.wh(e.direction, e.tariff, e.phase);
  }

  /** Total active power of the last sample, whole W (0 before the first sample or after a faulty one). */
  powerW(): number {
    const s = this.energy.lastSample;
    return s && !s.fault ? Math.round(s.totalActivePower) : 0;
  }

  /** Every energy register in whole Wh (service read-registers); undefined while the journal is refused. */
  serviceRegisters(): EnergyRegister[] | undefined {
    if (this.energy.refused) return undefined;
    const r = this.energy.metering.registers;
    return this.serviceNames().map((e) => ({ obis: e.obis, wh: r.wh(e.direction, e.tariff, e.phase) }));
  }
}
