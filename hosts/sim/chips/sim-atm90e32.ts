/**
 * Register-level ATM90E32AS simulator behind an SpiPort: 16-bit registers, a frame is a 16-bit
 * address word (bit 15 = read) and a 16-bit data word, MSB first; a frame of any other length is a
 * framing error and a write in it is dropped.
 * - Config/calibration registers 0x30–0x6F accept writes only while CfgRegAccEn = 0x55AA.
 * - MeterEn must be 1 for the chip to meter. SoftReset (0x789A to 0x70) and reset() restore the
 *   defaults and keep the chip busy for 5 ms of simulated time (advance()): meanwhile every write is
 *   lost and every read answers 0 (ESPHome waits "the minimum 5ms + 1ms").
 * - Measurement: the voltage and current samples are scaled by Ugain and Igain (relative to the
 *   board's reference gains), so rms, P, Q and energy all follow them; Poffset/Qoffset add two's
 *   complement multiples of 0.00032 W (var). PQGain and Phi are stored, never applied: their formats
 *   are not confirmed (writes of anything but 0 are counted in `unconfirmedWrites`). Pmean carries
 *   the board's noise, one draw per instant of simulated time (as the chip's register holds one
 *   value between updates): reads in one sample agree unless the bus garbles them.
 * - Energy: per phase forward/reverse active (APenergyX/ANenergyX) and reactive (RPenergyX/RNenergyX)
 *   energy, 16-bit, cleared on read, counting in 0.01 CF (one LSB = 10/MC Wh, MC = 4.5e11 /
 *   PL_constant), wrapping at 2^16. Thresholds in 0.00032 W: a phase accumulates only while |P| ≥
 *   PPhaseTh (|Q| ≥ QPhaseTh for reactive) and the phases that do draw |PA| + |PB| + |PC| ≥ PStartTh
 *   (no-load otherwise); the T registers add those phases. The start test sums magnitudes, not
 *   signed powers: with signed powers, solar export on one phase and load on the others would stop
 *   the whole chip (a class 1 meter registers both), and the data sheet's startup test is a
 *   no-load (creep) test, which a balanced import/export is not.
 * - LastSPIData (0x78) holds the data of the last read or write (reading it does not change it).
 * - CRCDigest (0x7A): this model's checksum over 0x30–0x6F (not the chip's algorithm).
 */
import type { SpiPort } from '../../../modules/ports/bus.js';
import type { LoadModel } from '../physics/load-model.js';
import {
  ATM90E32,
  ATM90E32_CFG_FIRST,
  ATM90E32_CFG_LAST,
  ATM90E32_CFG_UNLOCK,
  ATM90E32_ENERGY_PER_CF,
  ATM90E32_FREQ_LSB,
  ATM90E32_IRMS_LSB,
  ATM90E32_OFFSET_LSB_W,
  ATM90E32_PF_LSB,
  ATM90E32_PHASE,
  ATM90E32_PL_NUMERATOR,
  ATM90E32_POWER_LSB,
  ATM90E32_READ,
  ATM90E32_RESET_MS,
  ATM90E32_SOFT_RESET_KEY,
  ATM90E32_THRESHOLD_LSB_W,
  ATM90E32_URMS_LSB,
} from '../../../modules/metrology/atm90e32-registers.js';
import { defaultHardwareErrors, faultByte, Prng, type BusFault, type HardwareErrors, type SpiTarget } from './front-end.js';

export interface SimAtm90e32Options {
  load: LoadModel;
  errors?: HardwareErrors;
  /** Ugain / Igain at which this board's rms readings are exact (before its hardware errors). */
  ugainReference?: number;
  igainReference?: number;
  seed?: number;
}

const RAD = Math.PI / 180;
const s16 = (v: number): number => (v << 16) >> 16;
const DEFAULTS: Record<number, number> = {
  [ATM90E32.PLconstH]: 0x0861,
  [ATM90E32.PLconstL]: 0xc468,
  [ATM90E32.MMode0]: 0x0087,
};
const UNCONFIRMED = new Set<number>(ATM90E32_PHASE.flatMap((r) => [r.PQGain, r.Phi]));
/** Register address → the phase it belongs to (-1: none). */
const PHASE_OF = new Int8Array(0x100).fill(-1);
ATM90E32_PHASE.forEach((r, p) => {
  for (const a of Object.values(r)) PHASE_OF[a] = p;
});

/** What a read of each address (below 0x100) does: `readRegister`. */
const PLAIN = 0;
const MEAN_P = 1; // Pmean of a phase: the high word of the 32-bit value
const MEAN_P_LSB = 2; // its low word
const MEAN_Q = 3;
const MEAN_Q_LSB = 4;
const URMS = 5;
const IRMS = 6;
const PF = 7;
const FREQ = 8;
const DIGEST = 9;
const LAST_DATA = 10; // LastSPIData: reading it leaves it
const READ_CLEAR = 11; // the energy registers
const READ_KIND = new Uint8Array(0x100);
for (let a = ATM90E32.APenergyT; a <= 0x93; a++) READ_KIND[a] = READ_CLEAR;
for (const r of ATM90E32_PHASE) {
  READ_KIND[r.Pmean] = MEAN_P;
  READ_KIND[r.PmeanLSB] = MEAN_P_LSB;
  READ_KIND[r.Qmean] = MEAN_Q;
  READ_KIND[r.QmeanLSB] = MEAN_Q_LSB;
  READ_KIND[r.Urms] = URMS;
  READ_KIND[r.Irms] = IRMS;
  READ_KIND[r.PFmean] = PF;
}
READ_KIND[ATM90E32.Freq] = FREQ;
READ_KIND[ATM90E32.CRCDigest] = DIGEST;
READ_KIND[ATM90E32.LastSPIData] = LAST_DATA;

/** The energy registers (0x80–0x8F) keep fractional counts. */
const ACC_FIRST = ATM90E32.APenergyT;
const ACC_COUNT = 0x10;
/** Offsets in a phase's measurement (`measured`, 2 values per phase). */
const P = 0;
const Q = 1;
/** Where advance()'s figures of the configuration sit in `measured` (after the 3 phases' P and Q):
 *  the `config` they were made at (NaN: none), Ws per energy LSB, the phase and start thresholds in W. */
const LIMITS = 6;
const LIM_PER_COUNT = LIMITS + 1;
const LIM_P_PHASE = LIMITS + 2;
const LIM_Q_PHASE = LIMITS + 3;
const LIM_P_START = LIMITS + 4;
const LIM_Q_START = LIMITS + 5;
/** Where the register words start in `measured`, and their offsets (PER_PHASE values a phase);
 *  the other measurement registers' answers are kept in `regs`, at their addresses. */
const WORDS = 24;
const P_WORD = 0;
const PF_CODE = 1;
const PER_PHASE = 2;
/** Where the energy registers' fractional counts start in `measured`. */
const ACC = WORDS + 3 * PER_PHASE;
/** Where the load's revision each phase was last found measured at sits in `measured` (after the counts). */
const REV = ACC + ACC_COUNT;
/** Where each phase's Pmean word with its noise sits, and the `instant` it was drawn at (NaN: none). */
const NOISY = REV + 3;
const NOISY_AT = NOISY + 3;
/** Where the bus garble rate (`garbleRate`) sits in `measured`: not a field (a double field is a
 *  heap number of its own per chip). */
const GARBLE = NOISY_AT + 3;
const MEASURED_LENGTH = GARBLE + 1;
/** Registers stored: the writable ones (below 0x80) and the energy counters (0x80–0x8F); every
 *  other address below 0x100 reads 0 as a plain register (a measurement is answered from its
 *  measurement, kept in `regs` above these). */
const REGS = ACC_FIRST + ACC_COUNT;

export class SimAtm90e32 implements SpiTarget, SpiPort {
  // Field order is V8's object layout: what a register read and advance() use comes first (the
  // fields with initialisers, in this order, then load, errors and rng, the first the constructor
  // assigns), so a sample of a fleet's meter touches two lines of the chip object, not four.
  busFault: BusFault = 'none';
  // SPI frame state: bytes clocked, the frame's first byte (tx1…tx3 and the word a read shifts
  // out, used by the byte-clocked path alone, are further down).
  private txLength = 0;
  private tx0 = 0;
  /** Simulated ms until the reset is over. */
  private resetLeftMs = 0;
  /** The register file: the stored registers (below REGS), then at its own address what each
   *  measurement register a driver reads every sample (Pmean, Qmean and their LSB words, Urms,
   *  Irms) answers, written when its phase is measured (Pmean's when drawn): such a read is a
   *  lookup, with no branch on the kind of word nor a conversion of a double. After `measured` in
   *  one buffer (one ArrayBuffer and one allocation, not two). */
  private readonly regs = new Uint16Array(new ArrayBuffer(8 * MEASURED_LENGTH + 2 * 0x100), 8 * MEASURED_LENGTH, 0x100);
  /** LastSPIData (0x78), held here rather than in `regs`: written by every read and write, it would
   *  keep a line of the register file in use that nothing else of a sample touches. */
  private lastData = 0;
  /** The last measurement of each phase: P (W) and Q (var) at 2·phase + P/Q; advance()'s figures of
   *  the configuration at LIMITS; then, at
   *  12 + 4·phase, what it was made from: the load's voltage, current and angle, and `config`; then,
   *  at WORDS + PER_PHASE·phase, Pmean without noise as a 32-bit word and the PFmean code (NaN
   *  until it is read), made with it (Qmean's words, Urms and Irms go straight to `regs`). A driver reads a phase's registers many times
   *  per sample (~25): each is measured once, and a read is a lookup. Then, at ACC, the fractional
   *  counts of the energy registers ACC_FIRST… (in the same typed array: each costs V8 ~180 bytes
   *  beyond its data, and a fleet has a chip per meter); at REV + phase, the load's revision at
   *  which that phase's measurement was last found to hold (NaN: none). */
  private readonly measured = new Float64Array(this.regs.buffer, 0, MEASURED_LENGTH).fill(NaN, REV, GARBLE).fill(NaN, LIMITS, LIMITS + 1);
  /** Counts the steps of simulated time (advance) and resets: a mean-power register holds one
   *  noisy value per instant, as the chip's does between its updates — a driver's repeated reads of
   *  it in one sample agree, unless the bus garbles them. */
  private instant = 0;
  /** Counts writes to the configuration (gains, offsets), resets and changes of `errors` (assign a
   *  new object to change them); the errors measured with (initialised here, so that V8 keeps it
   *  in the object rather than in a property array added at the first measurement). */
  private config = 0;
  private measuredErrors: HardwareErrors | undefined = undefined;
  readonly load: LoadModel;
  errors: HardwareErrors;
  private readonly rng: Prng;
  framingErrors: number;
  /** Writes lost because the chip was still in reset. */
  writesDuringReset: number;
  /** Nonzero writes to PQGain/Phi, whose formats are not confirmed. */
  unconfirmedWrites: number;
  /** The chip's SPI port: the chip itself (its SpiPort methods, below): a read reaches the register
   *  file in one call, and a fleet mixing chip types keeps each call site monomorphic — which is
   *  why each chip class carries these few lines rather than sharing a port class. A getter:
   *  no field per chip. */
  get spi(): SpiPort {
    return this;
  }
  /** CRCDigest as last computed (-1: a configuration register changed since). */
  private digest: number;
  private tx1: number;
  private tx2: number;
  private tx3: number;
  private outWord: number;
  private readonly ugainRef: number;
  private readonly igainRef: number;

  constructor(options: SimAtm90e32Options) {
    this.load = options.load;
    this.errors = options.errors ?? defaultHardwareErrors(3);
    this.rng = new Prng(options.seed ?? 9032);
    this.measured[GARBLE] = 0.05;
    this.framingErrors = 0;
    this.writesDuringReset = 0;
    this.unconfirmedWrites = 0;
    this.digest = -1;
    this.tx1 = 0;
    this.tx2 = 0;
    this.tx3 = 0;
    this.outWord = 0;
    this.ugainRef = options.ugainReference ?? 7305;
    this.igainRef = options.igainReference ?? 27961;
    this.reset();
  }

  /** Power-on / reset: defaults, counters cleared, busy for 5 ms. */
  reset(): void {
    this.regs.fill(0);
    this.lastData = 0;
    this.measured.fill(0, ACC, ACC + ACC_COUNT);
    this.digest = -1;
    this.config++;
    this.instant++;
    for (const [a, v] of Object.entries(DEFAULTS)) this.regs[Number(a)] = v;
    this.resetLeftMs = ATM90E32_RESET_MS;
  }

  /** Probability that a byte on a garbling bus is corrupted. */
  get garbleRate(): number {
    return this.measured[GARBLE];
  }
  set garbleRate(rate: number) {
    this.measured[GARBLE] = rate;
  }

  /** True while the chip is still resetting. */
  get resetting(): boolean {
    return this.resetLeftMs > 0;
  }

  peek(address: number): number {
    if (address === ATM90E32.LastSPIData) return this.lastData;
    return address >= REGS && address < 0x100 ? 0 : this.regs[address];
  }

  private whPerCount(): number {
    const pl = this.regs[ATM90E32.PLconstH] * 65536 + this.regs[ATM90E32.PLconstL];
    const mc = ATM90E32_PL_NUMERATOR / pl;
    return 1000 / (ATM90E32_ENERGY_PER_CF * mc);
  }

  /** Measures a phase into `measured` and returns its offset there. What a read usually does is
   *  the check that the last measurement still holds: the load unchanged since (its revision), the
   *  configuration and the errors too — small, so it is inlined into the read. */
  private measure(phase: number): number {
    const m = this.measured;
    if (m[REV + phase] === this.load.revision && m[12 + 4 * phase + 3] === this.config && this.measuredErrors === this.errors) return 2 * phase;
    return this.remeasure(phase);
  }

  private remeasure(phase: number): number {
    const l = this.load.phases[phase];
    const e = this.errors;
    const m = this.measured;
    const o = 2 * phase;
    const k = 12 + 4 * phase;
    m[REV + phase] = this.load.revision;
    if (this.measuredErrors !== e) {
      this.measuredErrors = e; // other errors: every phase is measured again
      this.config++;
    }
    if (m[k] === l.voltage && m[k + 1] === l.current && m[k + 2] === l.phaseDeg && m[k + 3] === this.config) return o;
    const r = ATM90E32_PHASE[phase];
    // the chip's gains act on the samples: rms and power alike
    const v = (l.voltage * (1 + e.voltageGainError) * this.regs[r.Ugain]) / this.ugainRef;
    const i = (l.current * (1 + e.currentGainError[phase]) * this.regs[r.Igain]) / this.igainRef;
    const phi = (l.phaseDeg + e.phaseErrorDeg[phase]) * RAD;
    m[o + P] = v * i * Math.cos(phi) + e.powerOffsetW[phase] + s16(this.regs[r.Poffset]) * ATM90E32_OFFSET_LSB_W;
    m[o + Q] = v * i * Math.sin(phi) + e.reactiveOffsetVar[phase] + s16(this.regs[r.Qoffset]) * ATM90E32_OFFSET_LSB_W;
    const q = WORDS + PER_PHASE * phase;
    m[q + P_WORD] = Math.round(m[o + P] / ATM90E32_POWER_LSB) | 0;
    m[q + PF_CODE] = NaN; // made when PFmean is read (pfCode): a fleet's drivers never read it
    const qWord = Math.round(m[o + Q] / ATM90E32_POWER_LSB) | 0;
    const g = this.regs;
    g[r.Qmean] = (qWord >>> 16) & 0xffff;
    g[r.QmeanLSB] = qWord & 0xffff;
    g[r.Urms] = Math.min(0xffff, Math.round(v / ATM90E32_URMS_LSB));
    g[r.Irms] = Math.min(0xffff, Math.round(i / ATM90E32_IRMS_LSB));
    m[k] = l.voltage;
    m[k + 1] = l.current;
    m[k + 2] = l.phaseDeg;
    m[k + 3] = this.config;
    m[NOISY_AT + phase] = NaN;
    return o;
  }

  advance(ms: number): void {
    if (ms > 0) this.instant++;
    if (this.resetLeftMs > 0) {
      const used = Math.min(ms, this.resetLeftMs);
      this.resetLeftMs -= used;
      ms -= used;
      if (ms <= 0) return;
    }
    if (this.regs[ATM90E32.MeterEn] !== 1) return;
    const dt = ms / 1000;
    const m = this.measured;
    if (m[LIMITS] !== this.config) this.limits();
    const perCount = m[LIM_PER_COUNT]; // Ws per LSB
    const pPhase = m[LIM_P_PHASE];
    const qPhase = m[LIM_Q_PHASE];
    const phases = Math.min(3, this.load.phases.length);
    let sumP = 0;
    let sumQ = 0;
    for (let p = 0; p < phases; p++) {
      const o = this.measure(p);
      const ap = Math.abs(m[o + P]);
      const aq = Math.abs(m[o + Q]);
      if (ap >= pPhase) sumP += ap;
      if (aq >= qPhase) sumQ += aq;
    }
    const pRun = sumP >= m[LIM_P_START] && sumP !== 0;
    const qRun = sumQ >= m[LIM_Q_START] && sumQ !== 0;
    // The noise's standard deviation over dt; 0 on a perfect board, whose draws add ±0.
    const sd = this.errors.noiseW * Math.sqrt(dt);
    for (let p = 0; p < phases; p++) {
      const r = ATM90E32_PHASE[p];
      const mp = m[2 * p + P];
      const mq = m[2 * p + Q];
      if (pRun && Math.abs(mp) >= pPhase && mp !== 0) {
        const x = mp * dt;
        let ws: number;
        if (sd === 0 && x !== 0) {
          // x + (±0) is x: the draw's state change alone (the same two steps), not its value.
          this.rng.skipNormal();
          ws = x;
        } else ws = x + this.rng.scaledNormal(sd);
        if (ws > 0) this.accumulate(r.APenergy, ATM90E32.APenergyT, ws / perCount);
        else this.accumulate(r.ANenergy, ATM90E32.ANenergyT, -ws / perCount);
      }
      if (qRun && Math.abs(mq) >= qPhase && mq !== 0) {
        const vs = mq * dt;
        if (vs > 0) this.accumulate(r.RPenergy, ATM90E32.RPenergyT, vs / perCount);
        else this.accumulate(r.RNenergy, ATM90E32.RNenergyT, -vs / perCount);
      }
    }
  }

  /** advance()'s figures of the configuration (at LIMITS), made again after each change of `config`
   *  (every write to the configuration registers counts one): the same products and quotients as
   *  made from the registers on each advance, but not on each. */
  private limits(): void {
    const m = this.measured;
    m[LIMITS] = this.config;
    m[LIM_PER_COUNT] = this.whPerCount() * 3600;
    m[LIM_P_PHASE] = this.regs[ATM90E32.PPhaseTh] * ATM90E32_THRESHOLD_LSB_W;
    m[LIM_Q_PHASE] = this.regs[ATM90E32.QPhaseTh] * ATM90E32_THRESHOLD_LSB_W;
    m[LIM_P_START] = this.regs[ATM90E32.PStartTh] * ATM90E32_THRESHOLD_LSB_W;
    m[LIM_Q_START] = this.regs[ATM90E32.QStartTh] * ATM90E32_THRESHOLD_LSB_W;
  }

  private accumulate(reg: number, total: number, counts: number): void {
    this.count(reg, counts);
    this.count(total, counts);
  }

  private count(a: number, counts: number): void {
    const m = this.measured;
    const k = ACC + a - ACC_FIRST;
    m[k] += counts;
    const whole = Math.floor(m[k]);
    m[k] -= whole;
    this.regs[a] = (this.regs[a] + whole) & 0xffff;
  }

  /** What a read of register `a` answers, with its side effects. The reads a driver makes every
   *  sample (measurements, energy) come first and stay small; the rest is `readOther`. */
  private readRegister(a: number): number {
    const kind = READ_KIND[a];
    let v: number;
    if (kind !== PLAIN && kind < PF) {
      // A measurement register: Pmean (drawn once an instant), Qmean, Urms, Irms; its answer is
      // in `regs` once its phase is measured (and Pmean drawn).
      const p = PHASE_OF[a];
      const o = this.measure(p);
      if (kind <= MEAN_P_LSB && this.measured[NOISY_AT + p] !== this.instant) this.drawPower(p, o);
      v = this.regs[a];
    } else if (kind === READ_CLEAR) {
      v = a < REGS ? this.regs[a] : 0;
      if (a < REGS) this.regs[a] = 0;
    } else if (kind === LAST_DATA) return this.lastData;
    else v = kind === PLAIN ? (a < REGS ? this.regs[a] : 0) : this.readOther(kind, a);
    this.lastData = v;
    return v;
  }

  /** PFmean's code of phase `p`'s measurement, made at its first read (NaN until then). */
  private pfCode(p: number): number {
    const o = this.measure(p);
    const m = this.measured;
    const k = WORDS + PER_PHASE * p + PF_CODE;
    if (m[k] !== m[k]) {
      const mp = m[o + P];
      const s = Math.hypot(mp, m[o + Q]);
      m[k] = s > 0 ? Math.round(mp / s / ATM90E32_PF_LSB) & 0xffff : 0;
    }
    return m[k];
  }

  /** Phase `p`'s Pmean word of this instant (its measurement at `o`), drawn once an instant: a
   *  method of its own, so the per-read path stays small enough for V8 to inline. */
  private drawPower(p: number, o: number): number {
    const m = this.measured;
    let w: number;
    const noise = this.errors.noiseW;
    if (noise === 0) {
      // A perfect board: the draw still moves the sequence on, its ±0 leaves the word as measured.
      this.rng.skipNormal();
      w = m[WORDS + PER_PHASE * p + P_WORD];
    } else w = this.noisyPower(o, noise);
    m[NOISY + p] = w;
    m[NOISY_AT + p] = this.instant;
    const r = ATM90E32_PHASE[p];
    this.regs[r.Pmean] = (w >>> 16) & 0xffff;
    this.regs[r.PmeanLSB] = w & 0xffff;
    return w;
  }

  /** The Pmean word of the measurement at `o` with the noise of one instant. */
  private noisyPower(o: number, noise: number): number {
    return Math.round((this.measured[o + P] + this.rng.scaledNormal(noise)) / ATM90E32_POWER_LSB) | 0;
  }

  /** PFmean, Freq and CRCDigest (register `a`). */
  private readOther(kind: number, a: number): number {
    if (kind === PF) return this.pfCode(PHASE_OF[a]);
    if (kind === FREQ) return Math.round(this.load.frequency / ATM90E32_FREQ_LSB);
    if (this.digest < 0) {
      let h = 0xffff;
      for (let r = ATM90E32_CFG_FIRST; r <= ATM90E32_CFG_LAST; r++) h = ((h << 5) + h + this.regs[r] + r) & 0xffff;
      this.digest = h;
    }
    return this.digest;
  }

  private writeRegister(a: number, v: number): void {
    this.lastData = v;
    if (a === ATM90E32.SoftReset) {
      if (v === ATM90E32_SOFT_RESET_KEY) this.reset();
      return;
    }
    if (a >= ATM90E32_CFG_FIRST && a <= ATM90E32_CFG_LAST && this.regs[ATM90E32.CfgRegAccEn] !== ATM90E32_CFG_UNLOCK) return;
    if (a >= 0x80) return; // measurement registers are read-only
    if (UNCONFIRMED.has(a) && v !== 0) this.unconfirmedWrites++;
    this.regs[a] = v;
    if (a >= ATM90E32_CFG_FIRST && a <= ATM90E32_CFG_LAST) {
      this.digest = -1;
      this.config++;
    }
  }

  /** SpiTarget (the SPI port's side of the chip). */
  clockByte(mosi: number): number {
    const pos = this.txLength++;
    let miso = 0;
    if (pos === 0) this.tx0 = mosi;
    else if (pos === 1) {
      this.tx1 = mosi;
      if (this.tx0 & 0x80) {
        const a = ((this.tx0 << 8) | this.tx1) & 0x3ff;
        this.outWord = this.resetLeftMs > 0 ? 0 : a < 0x100 ? this.readRegister(a) : 0;
      }
    } else {
      if (pos === 2) this.tx2 = mosi;
      else if (pos === 3) this.tx3 = mosi;
      if (this.tx0 & 0x80) miso = pos === 2 ? this.outWord >> 8 : pos === 3 ? this.outWord & 0xff : 0xff;
    }
    return this.busFault === 'none' ? miso : faultByte(this.busFault, miso, this.rng, this.measured[GARBLE]);
  }

  /** A whole 4-byte frame from its start on a clean bus: what `clockByte` does over its bytes. */
  wholeFrame(b: Uint8Array, answer: boolean): boolean {
    if (b.length !== 4 || this.txLength !== 0 || this.busFault !== 'none') return false;
    const t0 = b[0];
    this.tx0 = t0;
    this.tx1 = b[1];
    this.tx2 = b[2];
    this.tx3 = b[3];
    this.txLength = 4;
    if (t0 & 0x80) {
      const a = ((t0 << 8) | b[1]) & 0x3ff;
      const w = this.resetLeftMs > 0 ? 0 : a < 0x100 ? this.readRegister(a) : 0;
      this.outWord = w;
      if (answer) {
        b[0] = 0;
        b[1] = 0;
        b[2] = w >> 8;
        b[3] = w & 0xff;
      }
    } else if (answer) b.fill(0);
    return true;
  }

  deselect(): void {
    const length = this.txLength;
    this.txLength = 0;
    // A whole read frame (nearly every one) ends here; the rest in a method of its own, so this
    // stays small enough for V8 to inline flush() into a driver's register read.
    if (length === 4 && this.tx0 & 0x80) return;
    this.endFrame(length);
  }

  /** The end of a frame other than a whole read: a write applied, a framing error counted. */
  private endFrame(length: number): void {
    if (length === 0) return;
    if (length !== 4) {
      this.framingErrors++;
      return;
    }
    const word = (this.tx0 << 8) | this.tx1;
    if (word & ATM90E32_READ) return;
    if (this.resetLeftMs > 0) {
      this.writesDuringReset++;
      return;
    }
    const a = word & 0x3ff;
    if (a < 0x100) this.writeRegister(a, (this.tx2 << 8) | this.tx3);
  }

  // SpiPort: a whole register frame at once when wholeFrame can, else byte by byte over clockByte;
  // flush deselects.
  transfer(buffer: Uint8Array): void {
    const t0 = buffer[0];
    if (buffer.length === 4 && t0 & 0x80 && this.txLength === 0 && this.busFault === 'none') {
      // wholeFrame(buffer, true) of a read, here: a driver's register read is one call into the
      // chip. It keeps only what the rest of its frame looks at (tx0, the length): tx1…tx3
      // matter to a write's end alone, the reply word to bytes 2 and 3 alone, both clocked here.
      this.tx0 = t0;
      this.txLength = 4;
      const a = ((t0 << 8) | buffer[1]) & 0x3ff;
      const w = this.resetLeftMs > 0 || a >= 0x100 ? 0 : this.readRegister(a);
      buffer[0] = 0;
      buffer[1] = 0;
      buffer[2] = w >> 8;
      buffer[3] = w & 0xff;
      return;
    }
    // (a method of its own: the read above stays small enough for V8 to inline with flush())
    this.transferOther(buffer);
  }

  /** transfer() of anything but a whole read frame on a clean bus. */
  private transferOther(buffer: Uint8Array): void {
    if (this.wholeFrame(buffer, true)) return;
    for (let i = 0; i < buffer.length; i++) buffer[i] = this.clockByte(buffer[i]);
  }

  write(buffer: Uint8Array): void {
    if (this.wholeFrame(buffer, false)) return;
    for (let i = 0; i < buffer.length; i++) this.clockByte(buffer[i]);
  }

  read(buffer: Uint8Array): void {
    for (let i = 0; i < buffer.length; i++) buffer[i] = this.clockByte(0);
  }

  flush(deselectNow = true): void {
    if (deselectNow) this.deselect();
  }
}
