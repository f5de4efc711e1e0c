/**
 * The billing registers: active energy import (A+, OBIS 1.8.x) and export (A-, 2.8.x) per phase
 * (L1/L2/L3: 21.8 / 41.8 / 61.8 import, 22.8 / 42.8 / 62.8 export) and per tariff (x.8.1, x.8.2, …).
 * Kept as whole µWh (exact integers in a double up to 2^53 µWh ≈ 9·10^6 kWh per register) plus a sub-µWh carry, so nothing
 * is lost to rounding however small the deltas. Totals (x.8.0) are sums over phases and tariffs —
 * arithmetic per-phase accumulation, not a vector sum across phases — so they agree by construction.
 * Registers only grow.
 */
import { EnergyConfigError } from './errors.js';

export const UWH_PER_WH = 1e6;

export class EnergyRegisters {
  readonly phases: number;
  readonly tariffs: number;
  /** µWh, index ((phase · tariffs) + tariff) · 2 + (0 import | 1 export). */
  readonly values: Float64Array;
  /** Each value's sub-µWh carry: an exact-size array of doubles (in V8 far smaller than a second
   *  typed array or a view, and `values` then keeps its few bytes in the heap). */
  private readonly carry: number[];

  constructor(phases: number, tariffs: number) {
    if (!Number.isInteger(phases) || phases < 1 || phases > 3 || !Number.isInteger(tariffs) || tariffs < 1 || tariffs > 8) {
      throw new EnergyConfigError('store-config', `energy registers need 1–3 phases and 1–8 tariffs, got ${phases} and ${tariffs}`, { phases, tariffs });
    }
    this.phases = phases;
    this.tariffs = tariffs;
    const n = phases * tariffs * 2;
    this.values = new Float64Array(n);
    this.carry = new Array<number>(n).fill(0.5).fill(0); // doubles from the start
  }

  get count(): number {
    return this.values.length;
  }

  /** Adds one sample's energy (Wh, ≥ 0) to tariff `tariff` (1-based). */
  add(importWh: readonly number[], exportWh: readonly number[], tariff: number): void {
    if (!Number.isInteger(tariff) || tariff < 1 || tariff > this.tariffs) {
      throw new EnergyConfigError('tariff', `tariff ${tariff} outside 1…${this.tariffs}`, { tariff });
    }
    for (let p = 0; p < this.phases; p++) {
      this.credit(((p * this.tariffs) + tariff - 1) * 2, importWh[p] ?? 0);
      this.credit(((p * this.tariffs) + tariff - 1) * 2 + 1, exportWh[p] ?? 0);
    }
  }

  private credit(i: number, wh: number): void {
    if (!(wh > 0)) return; // 0, negative or NaN: nothing (drivers hand non-negative finite values)
    const c = this.carry;
    const x = c[i] + wh * UWH_PER_WH;
    const whole = Math.floor(x);
    c[i] = x - whole;
    this.values[i] += whole;
  }

  /** µWh of one register: phase (0-based or 'all'), tariff (1-based or 0 = all), direction. */
  uwh(direction: 'import' | 'export', tariff = 0, phase: number | 'all' = 'all'): number {
    let sum = 0;
    const d = direction === 'import' ? 0 : 1;
    for (let p = 0; p < this.phases; p++) {
      if (phase !== 'all' && phase !== p) continue;
      for (let t = 1; t <= this.tariffs; t++) if (tariff === 0 || tariff === t) sum += this.values[((p * this.tariffs) + t - 1) * 2 + d];
    }
    return sum;
  }

  /** Whole Wh of one register (as uwh() selects it), floored in exact integer arithmetic: what the
   *  telegrams and the service interface show, never more than was measured. */
  wh(direction: 'import' | 'export', tariff = 0, phase: number | 'all' = 'all'): number {
    const u = this.uwh(direction, tariff, phase);
    let w = Math.floor(u / UWH_PER_WH);
    if (w * UWH_PER_WH > u) w--; // the quotient rounded up across an integer
    return w;
  }

  /** Sum of every register, µWh (what a power cut could lose is measured against this). */
  sum(): number {
    let s = 0;
    for (let i = 0; i < this.values.length; i++) s += this.values[i];
    return s;
  }

  /** OBIS code → Wh: 1.8.0, 1.8.t, 2.8.0, 2.8.t and per phase 21/41/61.8.0 and 22/42/62.8.0. */
  obis(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [c, dir] of [[1, 'import'], [2, 'export']] as const) {
      out[`${c}.8.0`] = this.uwh(dir) / UWH_PER_WH;
      for (let t = 1; t <= this.tariffs; t++) out[`${c}.8.${t}`] = this.uwh(dir, t) / UWH_PER_WH;
      for (let p = 0; p < this.phases; p++) out[`${20 * p + 20 + c}.8.0`] = this.uwh(dir, 0, p) / UWH_PER_WH;
    }
    return out;
  }

  /** Restores persisted values (whole µWh); the carry restarts at 0. */
  restore(values: ArrayLike<number>): void {
    if (values.length !== this.values.length) {
      throw new EnergyConfigError('store-config', `stored record has ${values.length} registers, meter has ${this.values.length}`, { stored: values.length });
    }
    for (let i = 0; i < values.length; i++) this.values[i] = values[i];
    this.carry.fill(0);
  }
}
