/**
 * The metering engine: one `cycle()` samples the chip, adds the energy to the registers under the
 * tariff in force, updates the pulse output and persists the registers whenever the energy not yet
 * saved reaches one quantum (default 1 Wh). After a power cut the registers restart from the newest
 * saved record: they lose less than one quantum plus the energy of the cycle that was interrupted,
 * never show more than was measured, and never go back.
 */
import type { Clock } from '../ports/clock.js';
import { EnergyRegisters } from './energy-registers.js';
import type { EnergyJournal } from './energy-journal.js';
import { EnergyConfigError } from './errors.js';
import type { PulseOutput } from './pulse-output.js';
import type { MetrologyDriver, Sample } from './readings.js';
import { TariffSchedule } from './tariff.js';

/** Integers up to here are exact in a double. */
const MAX_EXACT = 2 ** 53;

export type PulseSource = 'import' | 'export' | 'both';

export interface MeteringOptions {
  driver: MetrologyDriver;
  clock: Clock;
  tariffs?: TariffSchedule;
  pulse?: PulseOutput;
  /** Which energy the test output shows (default 'both': |A+| + |A-|). */
  pulseSource?: PulseSource;
  store?: EnergyJournal;
  /** Persist when this much energy is unsaved, Wh (default 1). */
  quantumWh?: number;
}

export class Metering {
  readonly registers: EnergyRegisters;
  readonly quantumUwh: number;
  /** Faulty samples since start (the status flag the application shows). */
  faults = 0;
  /** Made here (not at the first cycle): V8 then keeps it in the object, not in a property array of its own. */
  lastSample: Sample | undefined = undefined;
  /** Whether start() found a saved record to restore. */
  restored = false;
  private readonly driver: MetrologyDriver;
  private readonly clock: Clock;
  private readonly schedule: TariffSchedule;
  private readonly pulse: PulseOutput | undefined;
  private readonly source: PulseSource;
  private readonly store: EnergyJournal | undefined;
  private savedSum = 0;

  constructor(options: MeteringOptions) {
    this.driver = options.driver;
    this.clock = options.clock;
    this.schedule = options.tariffs ?? new TariffSchedule();
    this.pulse = options.pulse;
    this.source = options.pulseSource ?? 'both';
    this.store = options.store;
    const q = options.quantumWh ?? 1;
    if (!(q > 0 && q <= 1000)) throw new EnergyConfigError('store-config', `persistence quantum ${q} Wh outside (0, 1000]`, { quantumWh: q });
    this.quantumUwh = Math.round(q * 1e6);
    this.registers = new EnergyRegisters(options.driver.phaseCount, this.schedule.tariffs);
  }

  /**
   * Restores the registers from the store and configures the chip. `floor` (whole µWh per register,
   * the store's order) is what the registers must not be below, known from elsewhere: registers
   * under it are raised to it and saved at once (their pulses were given before: none again).
   * Returns whether a register had to be raised.
   */
  start(floor?: ArrayLike<number>): boolean {
    const rec = this.store?.load();
    this.restored = rec !== undefined;
    if (rec) this.registers.restore(rec.values);
    let raised = false;
    if (floor && floor.length === this.registers.count) {
      const v = this.registers.values;
      for (let i = 0; i < v.length; i++) {
        if (v[i] < floor[i]) {
          v[i] = floor[i];
          raised = true;
        }
      }
    }
    this.savedSum = this.registers.sum();
    if (raised) this.store?.save(this.registers.values);
    this.pulse?.start(this.pulseEnergy());
    this.driver.configure();
    return raised;
  }

  /** After start(): the journal found a record damaged in place (energy it held is lost). */
  get journalDamaged(): boolean {
    return this.store?.damaged ?? false;
  }

  private pulseEnergy(): number {
    const r = this.registers;
    return this.source === 'import' ? r.uwh('import') : this.source === 'export' ? r.uwh('export') : r.uwh('import') + r.uwh('export');
  }

  cycle(): Sample {
    const s = this.driver.sample();
    this.lastSample = s;
    if (s.fault) this.faults++;
    this.registers.add(s.importWh, s.exportWh, this.schedule.tariffAt(this.clock.now()));
    const sum = this.registers.sum();
    // 'both' is every register, A+ and A-: the sum, when whole µWh sum exactly (a sum below 2^53
    // of whole non-negative µWh is exact, in any order), without two more passes over the registers.
    if (this.pulse) this.pulse.update(this.source === 'both' && sum < MAX_EXACT ? sum : this.pulseEnergy());
    if (sum - this.savedSum >= this.quantumUwh) this.saveAt(sum);
    return s;
  }

  /** Saves now (e.g. from a power-fail interrupt); a no-op without a store or unsaved energy. */
  persist(): void {
    this.saveAt(this.registers.sum());
  }

  /** persist() with the registers' sum known (a save does not change them). */
  private saveAt(sum: number): void {
    if (!this.store || sum === this.savedSum) return;
    this.store.save(this.registers.values);
    this.savedSum = sum;
  }

  /** Drives the pulse pin; call often (every few ms). */
  tick(): void {
    this.pulse?.tick(this.clock.ticks());
  }

  obis(): Record<string, number> {
    return this.registers.obis();
  }

  close(): void {
    this.driver.close();
  }
}
