/**
 * The analog front end shared by the chip simulators: what a real sensor chain does to the truth
 * before the chip's own calibration registers act on it — per channel gain errors (voltage divider,
 * current sensor), a phase error (the current sensor's lag), power offsets (crosstalk), and noise.
 * These are the errors calibration must remove. A seeded PRNG keeps every run reproducible.
 */
import { xorshift32Step } from '../../../modules/core/xorshift32.js';

export interface HardwareErrors {
  /** Relative gain error of the voltage path, e.g. 0.015 = reads 1.5 % high. */
  voltageGainError: number;
  /** Relative gain error of each current channel. */
  currentGainError: number[];
  /** Extra lag of each current channel, degrees. */
  phaseErrorDeg: number[];
  /** Active / reactive power offset per channel, W / var. */
  powerOffsetW: number[];
  reactiveOffsetVar: number[];
  /** Standard deviation of the power noise averaged over 1 s, W. */
  noiseW: number;
}

/** The default errors of a simulated board: an uncalibrated meter misses class 1 with them. */
export function defaultHardwareErrors(channels: number): HardwareErrors {
  const pick = <T>(xs: T[]): T[] => Array.from({ length: channels }, (_, i) => xs[i % xs.length]);
  return {
    voltageGainError: 0.015,
    currentGainError: pick([-0.03, 0.022, -0.018]),
    phaseErrorDeg: pick([0.4, 0.3, 0.5]),
    powerOffsetW: pick([1.5, -1.2, 0.9]),
    reactiveOffsetVar: pick([1, -0.8, 0.6]),
    noiseW: 0.05,
  };
}

export function perfectHardware(channels: number): HardwareErrors {
  const z = new Array<number>(channels).fill(0);
  return { voltageGainError: 0, currentGainError: z.slice(), phaseErrorDeg: z.slice(), powerOffsetW: z.slice(), reactiveOffsetVar: z.slice(), noiseW: 0 };
}

/** xorshift32 with a Box–Muller normal; deterministic per seed. */
export class Prng {
  /** The xorshift32 state as int32 (the same 32 bits; xorshift32Step takes either): V8 keeps an
   *  int32 in the object, a uint32 above 2^31 in a heap number of its own. */
  private s: number;
  constructor(seed = 1) {
    this.s = (seed >>> 0 || 1) | 0;
  }
  next(): number {
    this.s = xorshift32Step(this.s) | 0;
    return (this.s >>> 0) / 4294967296;
  }
  normal(): number {
    const u = this.next() || 1e-12;
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
  /** `k * normal()`, the same value and the same state after, without the logarithm when k is 0
   *  (a perfect board: its noise is 0 but draws still keep the sequence). */
  scaledNormal(k: number): number {
    if (k !== 0) return k * this.normal();
    this.next();
    // ±0 with the sign normal() would give it: that of cos(2πu), negative for u in (¼, ¾); cos
    // itself only near the ends, where rounding decides.
    const u = this.next();
    if (u > 0.2501 && u < 0.7499) return -k;
    if (u < 0.2499 || u > 0.7501) return k;
    return k * Math.cos(2 * Math.PI * u);
  }
  /** The state change of `scaledNormal(0)` without its value (±0): two draws. */
  skipNormal(): void {
    this.s = xorshift32Step(xorshift32Step(this.s)) | 0;
  }
}

/** Faults on the chip's output line (MISO / SDA as the host sees it). */
export type BusFault = 'none' | 'all-ones' | 'all-zeros' | 'garble';

export function faultByte(fault: BusFault, byte: number, rng: Prng, garbleRate: number): number {
  switch (fault) {
    case 'all-ones':
      return 0xff;
    case 'all-zeros':
      return 0x00;
    case 'garble':
      return rng.next() < garbleRate ? byte ^ (1 + Math.floor(rng.next() * 255)) : byte;
    default:
      return byte;
  }
}

/** A simulated Clock: both ticks and wall time advance only when told. A firmware delay() is time the
 *  hardware lives through: `onDelay` (set by whoever owns the chips, e.g. ChipTestBed) moves the chips and
 *  this clock on; without it only the clock moves. */
export class SimClock {
  private t = 0;
  onDelay: ((ms: number) => void) | undefined;
  constructor(private readonly epochMs = Date.UTC(2026, 0, 1)) {}
  delay(ms: number): void {
    if (this.onDelay) this.onDelay(ms);
    else this.advance(ms);
  }
  ticks(): number {
    return this.t;
  }
  now(): number {
    return this.epochMs + this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

/** What a simulated chip does with the bytes on its SPI bus. */
export interface SpiTarget {
  /** Takes the byte the host sends and returns the one the chip answers. */
  clockByte(mosi: number): number;
  /** Chip select goes high. */
  deselect(): void;
  /** May take a whole buffer at once (false leaves it to `clockByte`): it must do what clocking its
   *  bytes one by one would, answering into the buffer when `answer` is set (transfer) — a
   *  driver's register read is then one call instead of one per byte. */
  wholeFrame(buffer: Uint8Array, answer: boolean): boolean;
}

