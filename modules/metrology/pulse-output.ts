/**
 * The test output (IEC 62052-11 / 62053-21 "test output"): one pulse per 1/C kWh, C the meter
 * constant in imp/kWh. Pulses are derived from the energy register itself — the number due is
 * floor(register · C / 1 kWh) in exact integer arithmetic, minus those already given — so the count
 * never drifts from the register over any duration, and a burst larger than the pin can show is
 * queued, never dropped. The pin is driven by `tick(nowMs)`: high for `widthMs`, then low at least
 * as long. A pulse test (the service's pulse-test command: `startTest`) takes the pin over and gives
 * a fixed number of pulses of the same shape; energy pulses due meanwhile are queued, not lost.
 */
import type { DigitalOutput } from '../ports/bus.js';
import { EnergyConfigError } from './errors.js';

const UWH_PER_KWH = 1e9;

export class PulseOutput {
  readonly meterConstant: number;
  readonly widthMs: number;
  /** Pulses completed on the pin since start. */
  completed = 0;
  private readonly pin: DigitalOutput;
  /** Pulses due for the register at its last update, counted from its value at start. */
  private due = 0;
  private base = 0;
  private high = false;
  private edgeAt = -Infinity;
  /** Test pulses still to give (Infinity: until stopped); 0 when no test runs. */
  private testLeft = 0;
  private testHigh = false;

  constructor(options: { pin: DigitalOutput; meterConstant: number; widthMs?: number }) {
    const c = options.meterConstant;
    if (!Number.isInteger(c) || c < 1 || c > 100000) throw new EnergyConfigError('pulse-config', `meter constant ${c} imp/kWh outside 1…100000`, { meterConstant: c });
    const w = options.widthMs ?? 30;
    if (!(w > 0)) throw new EnergyConfigError('pulse-config', `pulse width ${w} ms`, { widthMs: w });
    this.meterConstant = c;
    this.widthMs = w;
    this.pin = options.pin;
    this.pin.write(0);
  }

  /** Whole pulses contained in `uwh` µWh: floor(uwh · C / 10^9), exactly. */
  pulsesIn(uwh: number): number {
    const k = Math.floor(uwh / UWH_PER_KWH);
    const r = uwh - k * UWH_PER_KWH;
    return k * this.meterConstant + Math.floor((r * this.meterConstant) / UWH_PER_KWH);
  }

  /** The register value at start (restored energy gives no pulses). */
  start(registerUwh: number): void {
    this.base = this.pulsesIn(registerUwh);
    this.due = 0;
  }

  /** Tells the output the register's new value. */
  update(registerUwh: number): void {
    this.due = this.pulsesIn(registerUwh) - this.base;
  }

  /** Pulses due but not yet shown. */
  get pending(): number {
    return this.due - this.completed - (this.high ? 1 : 0);
  }

  /** Pulses given or being given: completed plus the one on the pin. */
  get emitted(): number {
    return this.completed + (this.high ? 1 : 0);
  }

  /** Whether the pin has work: a test running, or energy pulses due or on the pin (a host ticks
   *  finely meanwhile). */
  get busy(): boolean {
    return this.testLeft > 0 || this.due > this.completed;
  }

  /** Starts (`on`) a test of `count` pulses (0: until stopped) or stops it, leaving the pin low. */
  startTest(on: boolean, count: number): void {
    if (this.testHigh) this.pin.write(0);
    this.testHigh = false;
    this.testLeft = on ? (count === 0 ? Infinity : count) : 0;
    this.edgeAt = -Infinity;
  }

  tick(nowMs: number): void {
    if (this.testLeft > 0) {
      this.tickTest(nowMs);
      return;
    }
    if (this.high) {
      if (nowMs - this.edgeAt >= this.widthMs) {
        this.pin.write(0);
        this.high = false;
        this.completed++;
        this.edgeAt = nowMs;
      }
    } else if (this.due > this.completed && nowMs - this.edgeAt >= this.widthMs) {
      this.pin.write(1);
      this.high = true;
      this.edgeAt = nowMs;
    }
  }

  private tickTest(nowMs: number): void {
    if (nowMs - this.edgeAt < this.widthMs) return;
    this.edgeAt = nowMs;
    this.testHigh = !this.testHigh;
    this.pin.write(this.testHigh ? 1 : 0);
    if (!this.testHigh && --this.testLeft <= 0) this.testLeft = 0;
  }
}
