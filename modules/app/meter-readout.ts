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
import type { Register } from '../wmbus-tx/registers.js';
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

export class MeterReadout {
  /** The telegram's energy registers, in telegram order. */
  private readonly telegramEnergy: EnergyName[] = [];
  /** Every energy register the service interface lists: made on the first read (most meters are
   *  never read over the service interface). */
  private serviceEnergy: EnergyName[] | undefined;

  constructor(
    private readonly energy: EnergyMeter,
    private readonly clock: WallClock,
  ) {
    const r = energy.metering.registers;
    // Telegram: 1.8.0, 2.8.0, then 1.8.t …, 2.8.t … (OMS order: totals first).
    this.telegramEnergy.push({ obis: '1.8.0', direction: 'import', tariff: 0, phase: 'all' }, { obis: '2.8.0', direction: 'export', tariff: 0, phase: 'all' });
    if (r.tariffs > 1) {
      for (const [c, direction] of [[1, 'import'], [2, 'export']] as const) {
        for (let t = 1; t <= r.tariffs; t++) this.telegramEnergy.push({ obis: `${c}.8.${t}`, direction, tariff: t, phase: 'all' });
      }
    }
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
    const out: Register[] = [];
    for (let i = 0, n = this.energyShown(); i < n; i++) out.push({ obis: this.telegramEnergy[i].obis, value: this.energyWh(i) });
    out.push({ obis: '16.7.0', value: this.powerW() });
    if (!status.clockInvalid) out.push({ obis: 'clock', value: minuteText(this.clock.now()) });
    out.push({ obis: 'status', value: encodeErrorFlags(status) });
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
