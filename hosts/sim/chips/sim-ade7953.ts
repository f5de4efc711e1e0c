/**
 * Register-level ADE7953 simulator (data sheet Rev. B) behind SpiPort and I2cPort.
 * - Register file with the data sheet's widths by address range; 24- and 32-bit addresses alias one
 *   24-bit storage, 32-bit reads sign extend (signed registers) or zero extend.
 * - SPI frame: address MSB first, 0x80 read / 0x00 write, data MSB first; a write whose data length
 *   does not match the register width is dropped (framing error). I2C: 2 address bytes then data.
 * - Energy: the power is integrated on simulated time (exactly, as the 6.99 kHz accumulation of the
 *   chip does for a steady load) into 24-bit signed AENERGYx/RENERGYx that wrap, at ~206.9 kHz of
 *   LSBs at full-scale inputs; read-with-reset when LCYCMODE.RSTREAD is set (the reset default);
 *   no accumulation while |power| is below the no-load level of data sheet Eq. 39: full-scale power
 *   / (1.4 × (65 536 − AP_NOLOAD)) (VAR_NOLOAD for reactive), unless DISNOLOAD disables it; the
 *   threshold registers take a write only while their DISNOLOAD bit is set (Tasmota disables
 *   no-load detection around the write: "required before setting thresholds").
 * - PHCALx delays the current by 1.117 µs per LSB (sign-magnitude).
 * - AWATT/BWATT carry the board's noise, one draw per instant of simulated time (the register holds
 *   one value between updates: reads in one sample agree unless the bus garbles them).
 * - 0x120 accepts a write only right after 0xAD to 0x0FE; without 0x30 there the noise is 4×.
 * - reset(): registers to their defaults, counters to 0, IRQSTATA.RESET set (as after power-up).
 * - CRC (0x37F): 0xFFFFFFFF (its reset value) unless CONFIG.CRC_ENABLE is set; then this model's
 *   checksum of the configuration registers (the chip's own algorithm is not reproduced), so a
 *   changed configuration changes it.
 * Physical truth comes from the LoadModel: channel A measures load phase 0, channel B phase 1 (or 0).
 */
import type { I2cPort, SpiPort } from '../../../modules/ports/bus.js';
import type { LoadModel } from '../physics/load-model.js';
import {
  ADE7953,
  ADE7953_CONFIG_CRC_ENABLE,
  ADE7953_CRC_RESET,
  ADE7953_FULL_SCALE_ENERGY_RATE,
  ADE7953_FULL_SCALE_POWER,
  ADE7953_FULL_SCALE_RMS,
  ADE7953_IRQ_AEOFA,
  ADE7953_IRQ_RESET,
  ADE7953_LCYCMODE_RSTREAD,
  ADE7953_NOLOAD_BASE,
  ADE7953_NOLOAD_DIVISOR,
  ADE7953_NOLOAD_RESET,
  ADE7953_PERIOD_CLOCK,
  ADE7953_PHCAL_STEP_S,
  ADE7953_UNITY_GAIN,
  ADE7953_UNLOCK_KEY,
  ade7953Width,
} from '../../../modules/metrology/ade7953-registers.js';
import { defaultHardwareErrors, faultByte, Prng, type BusFault, type HardwareErrors, type SpiTarget } from './front-end.js';

export interface SimAde7953Options {
  load: LoadModel;
  errors?: HardwareErrors;
  /** Load phase measured by channel A and B. */
  channelPhase?: [number, number];
  /** Full-scale analog inputs of the board, peak: volts at the mains side, amps in the conductor. */
  fullScaleVoltsPeak?: number;
  fullScaleAmpsPeak?: number;
  seed?: number;
}

const RAD = Math.PI / 180;
/** The default channelPhase, shared by every chip of a kind of load. */
const CHANNELS_ONE_PHASE: readonly [number, number] = Object.freeze([0, 0] as const);
const CHANNELS_TWO_PHASES: readonly [number, number] = Object.freeze([0, 1] as const);
const DEFAULTS: Readonly<Record<number, number>> = Object.freeze({
  [ADE7953.LCYCMODE]: 0x40,
  [ADE7953.CONFIG]: 0x8004,
  [ADE7953.AP_NOLOAD]: ADE7953_NOLOAD_RESET,
  [ADE7953.VAR_NOLOAD]: ADE7953_NOLOAD_RESET,
  [ADE7953.AIGAIN]: ADE7953_UNITY_GAIN,
  [ADE7953.AVGAIN]: ADE7953_UNITY_GAIN,
  [ADE7953.AWGAIN]: ADE7953_UNITY_GAIN,
  [ADE7953.AVARGAIN]: ADE7953_UNITY_GAIN,
  [0x384]: ADE7953_UNITY_GAIN,
  [ADE7953.BIGAIN]: ADE7953_UNITY_GAIN,
  [0x38d]: ADE7953_UNITY_GAIN,
  [ADE7953.BWGAIN]: ADE7953_UNITY_GAIN,
  [ADE7953.BVARGAIN]: ADE7953_UNITY_GAIN,
  [0x390]: ADE7953_UNITY_GAIN,
  [ADE7953.VERSION]: 0x02,
});
const CONFIG_REGS: readonly number[] = Object.freeze([
  ADE7953.DISNOLOAD, ADE7953.LCYCMODE, ADE7953.PGA_V, ADE7953.PGA_IA, ADE7953.PGA_IB, ADE7953.CONFIG, ADE7953.PHCALA, ADE7953.PHCALB,
  ADE7953.RESERVED_120, ADE7953.AP_NOLOAD, ADE7953.VAR_NOLOAD, ADE7953.AIGAIN, ADE7953.AVGAIN, ADE7953.AWGAIN, ADE7953.AVARGAIN,
  ADE7953.AWATTOS, ADE7953.AVAROS, ADE7953.BIGAIN, ADE7953.BWGAIN, ADE7953.BVARGAIN, ADE7953.BWATTOS, ADE7953.BVAROS,
]);
const ENERGY_REGS = new Set<number>([ADE7953.AENERGYA, ADE7953.AENERGYB, ADE7953.RENERGYA, ADE7953.RENERGYB]);
const SIGNED = new Set<number>([
  ADE7953.AWATT, ADE7953.BWATT, ADE7953.AVAR, ADE7953.BVAR, ADE7953.AENERGYA, ADE7953.AENERGYB, ADE7953.RENERGYA, ADE7953.RENERGYB,
  ADE7953.AWATTOS, ADE7953.AVAROS, ADE7953.BWATTOS, ADE7953.BVAROS, ADE7953.AIRMSOS, ADE7953.VRMSOS, ADE7953.BIRMSOS,
]);

/** 24- and 32-bit addresses share storage. */
const canonical = (a: number): number => (a >= 0x200 && a < 0x300 ? a + 0x100 : a);
const sign24 = (v: number): number => (v << 8) >> 8;

/** Storage slot of each known register (canonical address), shared by every simulated chip; other
 *  addresses live in a per-chip map made when first written. */
const SLOT_OF_LOW = new Int8Array(0x400).fill(-1);
const KNOWN: readonly number[] = Object.freeze([...new Set([...Object.values(ADE7953), 0x384, 0x38d, 0x390].map(canonical))]);
const HIGH_SLOTS = new Map<number, number>();
KNOWN.forEach((a, i) => {
  if (a < 0x400) SLOT_OF_LOW[a] = i;
  else HIGH_SLOTS.set(a, i);
});
const SLOTS = KNOWN.length;
const slotOf = (a: number): number => (a >= 0 && a < 0x400 ? SLOT_OF_LOW[a] : (HIGH_SLOTS.get(a) ?? -1));
/** Slots of the registers every read touches. */
const SLOT_RWDATA_8 = slotOf(ADE7953.LAST_RWDATA_8);
const SLOT_RWDATA_16 = slotOf(ADE7953.LAST_RWDATA_16);
const SLOT_RWDATA_32 = slotOf(ADE7953.LAST_RWDATA_32);
const SLOT_LAST_OP = slotOf(ADE7953.LAST_OP);
const SLOT_LAST_ADD = slotOf(ADE7953.LAST_ADD);
const SLOT_RESERVED_120 = slotOf(ADE7953.RESERVED_120);
/** Slots read every sample (advance, energy reads): indexed directly, not through peek. */
const SLOT_LCYCMODE = slotOf(ADE7953.LCYCMODE);
const SLOT_DISNOLOAD = slotOf(ADE7953.DISNOLOAD);
const SLOT_AP_NOLOAD = slotOf(ADE7953.AP_NOLOAD);
const SLOT_VAR_NOLOAD = slotOf(ADE7953.VAR_NOLOAD);
const SLOT_IRQSTATA = slotOf(ADE7953.IRQSTATA);
const SLOT_CONFIG = slotOf(ADE7953.CONFIG);
/** Slots of the gain, phase and offset registers a measurement reads, channel A then B. */
const SLOT_AVGAIN = slotOf(ADE7953.AVGAIN);
const SLOT_IGAIN = Object.freeze([slotOf(ADE7953.AIGAIN), slotOf(ADE7953.BIGAIN)]);
const SLOT_PHCAL = Object.freeze([slotOf(ADE7953.PHCALA), slotOf(ADE7953.PHCALB)]);
const SLOT_WGAIN = Object.freeze([slotOf(ADE7953.AWGAIN), slotOf(ADE7953.BWGAIN)]);
const SLOT_VARGAIN = Object.freeze([slotOf(ADE7953.AVARGAIN), slotOf(ADE7953.BVARGAIN)]);
const SLOT_WATTOS = Object.freeze([slotOf(ADE7953.AWATTOS), slotOf(ADE7953.BWATTOS)]);
const SLOT_VAROS = Object.freeze([slotOf(ADE7953.AVAROS), slotOf(ADE7953.BVAROS)]);
const SLOT_AENERGYA = slotOf(ADE7953.AENERGYA);
const SLOT_AENERGYB = slotOf(ADE7953.AENERGYB);
const SLOT_RENERGYA = slotOf(ADE7953.RENERGYA);
const SLOT_RENERGYB = slotOf(ADE7953.RENERGYB);
const CRC = ADE7953.CRC;
const DEFAULT_SLOTS = Object.freeze(Object.entries(DEFAULTS).map(([a, v]) => Object.freeze([slotOf(Number(a)), v] as const)));
const ENERGY = 1;
const SIGNED_REG = 2;
/** What a read does (`readRegister`), in bits 2–5 of KIND; bit 6: channel B. */
const R_PLAIN = 0;
const R_WATT = 1;
const R_VAR = 2;
const R_IRMS = 3;
const R_VRMS = 4;
const R_PF = 5;
const R_PERIOD = 6;
const R_ACCMODE = 7;
const R_RSTIRQ = 8;
const R_CRC = 9;
const R_LAST = 10;
const READ_SHIFT = 2;
const CHANNEL_B = 0x40;
/** ENERGY / SIGNED_REG flags, the read and the channel per canonical address below 0x400. */
const KIND = new Uint8Array(0x400);
for (const a of ENERGY_REGS) KIND[a] |= ENERGY;
for (const a of SIGNED) KIND[canonical(a)] |= SIGNED_REG;
for (const [a, r, ch] of [
  [ADE7953.AWATT, R_WATT, 0], [ADE7953.BWATT, R_WATT, 1], [ADE7953.AVAR, R_VAR, 0], [ADE7953.BVAR, R_VAR, 1],
  [ADE7953.IRMSA, R_IRMS, 0], [ADE7953.IRMSB, R_IRMS, 1], [ADE7953.VRMS, R_VRMS, 0], [ADE7953.PFA, R_PF, 0], [ADE7953.PFB, R_PF, 1],
  [ADE7953.PERIOD, R_PERIOD, 0], [ADE7953.ACCMODE, R_ACCMODE, 0], [ADE7953.RSTIRQSTATA, R_RSTIRQ, 0], [ADE7953.CRC, R_CRC, 0],
  [ADE7953.LAST_RWDATA_8, R_LAST, 0], [ADE7953.LAST_RWDATA_16, R_LAST, 0], [ADE7953.LAST_RWDATA_32, R_LAST, 0], [ADE7953.LAST_OP, R_LAST, 0], [ADE7953.LAST_ADD, R_LAST, 0],
] as const) {
  KIND[a] |= (r << READ_SHIFT) | (ch ? CHANNEL_B : 0);
}

/** Values per channel in `measured`, and where the register codes of a measurement sit there. */
const STRIDE = 14;
/** Where the fractional counts (AENERGYA, AENERGYB, RENERGYA, RENERGYB) start in `measured`. */
const ACC = 2 * STRIDE;
/** Where the load's revision each channel was last found measured at sits in `measured` (after the counts). */
const REV = ACC + 4;
/** Where each channel's AWATT/BWATT code with its noise sits, and the `instant` it was drawn at (NaN: none). */
const NOISY = REV + 2;
const NOISY_AT = NOISY + 2;
/** Where the no-load levels of active and reactive power sit (power codes, data sheet Eq. 39) and
 *  the `config` count they were computed at. */
const LEVELS = NOISY_AT + 2;
const LEVELS_AT = LEVELS + 2;
/** Per channel (3 values each): the phase angle (radians) of its last measurement, its cosine and sine. */
const TRIG = LEVELS_AT + 1;
/** Where the board's V, A and W per register code sit, and the bus garble rate (`garbleRate`):
 *  in `measured` rather than in fields (a double field is a heap number of its own per chip). */
const V_PER_CODE = TRIG + 6;
const A_PER_CODE = V_PER_CODE + 1;
const W_PER_CODE = V_PER_CODE + 2;
const GARBLE = V_PER_CODE + 3;
const MEASURED_LENGTH = GARBLE + 1;
/** AWATT code·s per energy LSB. */
const CODES_PER_COUNT = ADE7953_FULL_SCALE_POWER / ADE7953_FULL_SCALE_ENERGY_RATE;
const P_CODE = 10;
const Q_CODE = 11;
const I_CODE = 12;
const V_CODE = 13;

export class SimAde7953 implements SpiTarget, SpiPort {
  readonly load: LoadModel;
  errors: HardwareErrors;
  busFault: BusFault = 'none';
  /** Writes dropped for a wrong frame length. */
  framingErrors = 0;
  /** The chip's SPI port: the chip itself (its SpiPort methods, below): a read reaches the register
   *  file in one call, and a fleet mixing chip types keeps each call site monomorphic — which is
   *  why each chip class carries these few lines rather than sharing a port class. A getter:
   *  no field per chip. */
  get spi(): SpiPort {
    return this;
  }
  /** Made on first use (few chips are wired over I²C; a fleet has thousands of chips). */
  private i2cPort: I2cPort | undefined;
  /** Registers by slot (see slotOf), after `measured` in one buffer (one ArrayBuffer and one
   *  allocation, not two); `extra` holds any other address written. */
  private readonly regs = new Uint32Array(new ArrayBuffer(8 * MEASURED_LENGTH + 4 * SLOTS), 8 * MEASURED_LENGTH, SLOTS);
  private extra: Map<number, number> | undefined;
  private readonly rng: Prng;
  private readonly channelPhase: readonly [number, number];
  private unlocked = false;
  // SPI transaction state: bytes clocked, the first three (address, command), the data bytes of a
  // write (as a number) and the value a read shifts out.
  private txLength = 0;
  private tx0 = 0;
  private tx1 = 0;
  private tx2 = 0;
  private txData = 0;
  private outValue = 0;
  private outBytes = 0;
  private i2cPointer = -1;
  /** The configuration checksum as last computed (-1: a register was written since). */
  private checksum = -1;
  /** Per channel (STRIDE values each): P, Q, V, I as last measured, then the load's voltage, current,
   *  angle and frequency and the `config` count they were measured with, then the PFx register of
   *  that measurement (NaN: not read yet), then the codes its power (without noise), reactive power,
   *  current and voltage registers answer (a driver reads them ~13 times per sample). Then, at ACC,
   *  the energy registers' fractional counts (in the same typed array: fewer objects per meter); at
   *  REV + channel, the load's revision at which that channel's measurement was last found to hold;
   *  the AWATT/BWATT codes of an instant (NOISY), the no-load levels (LEVELS) and each channel's
   *  angle with its cosine and sine (TRIG); then the board's constants (V_PER_CODE…) and the garble rate. */
  private readonly measured = new Float64Array(this.regs.buffer, 0, MEASURED_LENGTH).fill(NaN, 0, ACC).fill(NaN, REV, V_PER_CODE);
  /** Counts the steps of simulated time (advance) and resets: AWATT/BWATT hold one noisy code per
   *  instant (NOISY, drawn at NOISY_AT). */
  private instant = 0;
  /** Counts register writes, resets and changes of `errors` (assign a new object to change them). */
  private config = 0;
  private measuredErrors: HardwareErrors | undefined;

  constructor(options: SimAde7953Options) {
    this.load = options.load;
    this.errors = options.errors ?? defaultHardwareErrors(2);
    this.rng = new Prng(options.seed ?? 7953);
    this.channelPhase = options.channelPhase ?? (options.load.phases.length > 1 ? CHANNELS_TWO_PHASES : CHANNELS_ONE_PHASE);
    const vfs = (options.fullScaleVoltsPeak ?? 500) / Math.SQRT2;
    const afs = (options.fullScaleAmpsPeak ?? 100) / Math.SQRT2;
    const m = this.measured;
    m[V_PER_CODE] = vfs / ADE7953_FULL_SCALE_RMS;
    m[A_PER_CODE] = afs / ADE7953_FULL_SCALE_RMS;
    m[W_PER_CODE] = (vfs * afs) / ADE7953_FULL_SCALE_POWER;
    m[GARBLE] = 0.05;
    this.reset();
  }

  /** Probability that a byte on a garbling bus is corrupted. */
  get garbleRate(): number {
    return this.measured[GARBLE];
  }
  set garbleRate(rate: number) {
    this.measured[GARBLE] = rate;
  }

  /** The chip's I²C interface. */
  get i2c(): I2cPort {
    return (this.i2cPort ??= {
      write: (buffer: Uint8Array) => this.i2cWrite(buffer),
      read: (buffer: Uint8Array) => this.i2cRead(buffer),
    });
  }

  /** Power-on / reset: registers to defaults, counters cleared, IRQSTATA.RESET set. */
  reset(): void {
    this.regs.fill(0);
    this.extra = undefined;
    this.checksum = -1;
    this.config++;
    for (const [slot, v] of DEFAULT_SLOTS) this.regs[slot] = v;
    this.measured.fill(0, ACC, ACC + 4);
    this.instant++;
    this.set(ADE7953.IRQSTATA, ADE7953_IRQ_RESET);
    this.unlocked = false;
  }

  /** Raw register value as stored (for tests). */
  peek(address: number): number {
    return this.get(canonical(address));
  }

  private get(a: number): number {
    const slot = slotOf(a);
    return slot >= 0 ? this.regs[slot] : (this.extra?.get(a) ?? 0);
  }

  /** Stores a register (canonical address; values are unsigned 32-bit). */
  private set(a: number, v: number): void {
    const slot = slotOf(a);
    if (slot >= 0) this.regs[slot] = v;
    else (this.extra ??= new Map()).set(a, v);
  }

  // --- measurement model ------------------------------------------------------------------------

  private noise(): number {
    const k = this.regs[SLOT_RESERVED_120] === 0x30 ? 1 : 4;
    return this.errors.noiseW * k;
  }

  /** Makes channel `ch`'s measurement in `measured` current: W, var, V and A after the chip's
   *  gain, phase and offset registers (at STRIDE · ch) and the codes they read as. A driver reads
   *  a channel many times per sample: each is measured once while the load, the configuration and
   *  `errors` stay. Callers read the values from `measured` (no copies in fields: a double stored
   *  in a field is a store through its box in V8, four per register read). */
  private measure(ch: 0 | 1): void {
    const m = this.measured;
    // Usually all a read does: the load unchanged since (its revision), the configuration and the errors too.
    if (m[REV + ch] !== this.load.revision || m[STRIDE * ch + 8] !== this.config || this.measuredErrors !== this.errors) this.remeasure(ch);
  }

  private remeasure(ch: 0 | 1): void {
    const l = this.load.phases[this.channelPhase[ch]];
    const e = this.errors;
    const m = this.measured;
    const k = STRIDE * ch;
    m[REV + ch] = this.load.revision;
    if (this.measuredErrors !== e) {
      this.measuredErrors = e; // other errors: every channel is measured again
      this.config++;
    }
    if (m[k + 4] === l.voltage && m[k + 5] === l.current && m[k + 6] === l.phaseDeg && m[k + 7] === this.load.frequency && m[k + 8] === this.config) return;
    // The registers by slot (what peek() reads, without its address lookups).
    const regs = this.regs;
    const v = l.voltage * (1 + e.voltageGainError) * (regs[SLOT_AVGAIN] / ADE7953_UNITY_GAIN);
    const i = l.current * (1 + e.currentGainError[ch]) * (regs[SLOT_IGAIN[ch]] / ADE7953_UNITY_GAIN);
    const phcal = regs[SLOT_PHCAL[ch]];
    const steps = phcal & 0x200 ? -(phcal & 0x1ff) : phcal & 0x1ff;
    const phcalDeg = steps * 360 * this.load.frequency * ADE7953_PHCAL_STEP_S;
    const phi = (l.phaseDeg + e.phaseErrorDeg[ch] - phcalDeg) * RAD;
    const wg = regs[SLOT_WGAIN[ch]] / ADE7953_UNITY_GAIN;
    const qg = regs[SLOT_VARGAIN[ch]] / ADE7953_UNITY_GAIN;
    const wos = sign24(regs[SLOT_WATTOS[ch]]) * m[W_PER_CODE];
    const qos = sign24(regs[SLOT_VAROS[ch]]) * m[W_PER_CODE];
    // A load profile changes the voltage and current every slot but rarely the angle: its cosine
    // and sine are kept with it (~50 ns of Math.cos and Math.sin a measurement).
    const t = TRIG + 3 * ch;
    if (m[t] !== phi) {
      m[t] = phi;
      m[t + 1] = Math.cos(phi);
      m[t + 2] = Math.sin(phi);
    }
    const p = v * i * m[t + 1] * wg + e.powerOffsetW[ch] + wos;
    const q = v * i * m[t + 2] * qg + e.reactiveOffsetVar[ch] + qos;
    m[k] = p;
    m[k + 1] = q;
    m[k + 2] = v;
    m[k + 3] = i;
    m[k + 4] = l.voltage;
    m[k + 5] = l.current;
    m[k + 6] = l.phaseDeg;
    m[k + 7] = this.load.frequency;
    m[k + 8] = this.config;
    m[k + 9] = NaN;
    m[k + P_CODE] = Math.round(p / m[W_PER_CODE]);
    m[k + Q_CODE] = Math.round(q / m[W_PER_CODE]);
    m[k + I_CODE] = Math.round(i / m[A_PER_CODE]);
    m[k + V_CODE] = Math.round(v / m[V_PER_CODE]);
    m[NOISY_AT + ch] = NaN;
  }

  /** Integrates energy over `ms` of simulated time (call with the load model's own advance). */
  advance(ms: number): void {
    if (ms > 0) this.instant++;
    const dt = ms / 1000;
    const m = this.measured;
    const regs = this.regs;
    const noLoadOff = regs[SLOT_DISNOLOAD];
    // The no-load levels in power codes, kept while the registers stay (two divisions fewer per step).
    if (m[LEVELS_AT] !== this.config) this.noLoadLevels();
    const pLevel = m[LEVELS];
    const qLevel = m[LEVELS + 1];
    const sigma = this.errors.noiseW * (regs[SLOT_RESERVED_120] === 0x30 ? 1 : 4) * Math.sqrt(dt); // noise(), inline
    for (let c = 0; c < 2; c++) {
      const ch = c as 0 | 1;
      this.measure(ch);
      const pCode = m[STRIDE * ch] / m[W_PER_CODE];
      const qCode = m[STRIDE * ch + 1] / m[W_PER_CODE];
      if (noLoadOff & 1 || Math.abs(pCode) >= pLevel) {
        this.accumulate(ch === 0 ? SLOT_AENERGYA : SLOT_AENERGYB, ch, (pCode * dt + this.rng.scaledNormal(sigma) / m[W_PER_CODE]) / CODES_PER_COUNT);
      }
      if (noLoadOff & 2 || Math.abs(qCode) >= qLevel) {
        this.accumulate(ch === 0 ? SLOT_RENERGYA : SLOT_RENERGYB, ch + 2, (qCode * dt) / CODES_PER_COUNT);
      }
    }
  }

  /** The no-load levels of AP_NOLOAD and VAR_NOLOAD in power codes (data sheet Eq. 39; none, an
   *  infinite level, when the register is at or above the base), into LEVELS. Kept in `measured`:
   *  in V8 a level chosen between a quotient and the global Infinity is a new heap number per step. */
  private noLoadLevels(): void {
    const m = this.measured;
    const xp = ADE7953_NOLOAD_BASE - this.regs[SLOT_AP_NOLOAD];
    m[LEVELS] = xp > 0 ? ADE7953_FULL_SCALE_POWER / (ADE7953_NOLOAD_DIVISOR * xp) : Infinity;
    const xq = ADE7953_NOLOAD_BASE - this.regs[SLOT_VAR_NOLOAD];
    m[LEVELS + 1] = xq > 0 ? ADE7953_FULL_SCALE_POWER / (ADE7953_NOLOAD_DIVISOR * xq) : Infinity;
    m[LEVELS_AT] = this.config;
  }

  /** Adds `counts` to energy register slot `at` (fractional part `acc` of ACC): whole counts reach the
   *  24-bit signed register, which wraps (AENERGYA's wrap raises IRQSTATA.AEOFA). */
  private accumulate(at: number, acc: number, counts: number): void {
    const m = this.measured;
    const x = m[ACC + acc] + counts;
    const whole = Math.trunc(x);
    if (whole === 0) {
      m[ACC + acc] = x;
      return;
    }
    m[ACC + acc] = x - whole;
    const before = sign24(this.regs[at]);
    const sum = before + whole;
    const wrapped = sign24(sum & 0xffffff);
    if (wrapped !== sum && at === SLOT_AENERGYA) this.regs[SLOT_IRQSTATA] |= ADE7953_IRQ_AEOFA;
    this.regs[at] = wrapped & 0xffffff;
  }

  // --- register access ----------------------------------------------------------------------------

  /** The value a read returns (with side effects), as an unsigned number of the register's width. */
  private readRegister(address: number, width: number = ade7953Width(address)): number {
    const a = canonical(address);
    let v: number;
    const info = a < 0x400 ? KIND[a] : 0;
    const r = (info >> READ_SHIFT) & 15;
    // The reads of every sample first, small enough for V8 to inline into the SPI transfer; the
    // rest in methods of their own (readOther, drawWatt).
    if (r === R_PLAIN) {
      const slot = a < 0x400 ? SLOT_OF_LOW[a] : -1;
      v = slot >= 0 ? this.regs[slot] : this.peek(a);
      // (an energy register has a slot)
      if (info & ENERGY && this.regs[SLOT_LCYCMODE] & ADE7953_LCYCMODE_RSTREAD) this.regs[slot] = 0;
    } else if (r <= R_VRMS) {
      // AWATT/BWATT, AVAR/BVAR, IRMSA/IRMSB, VRMS (channel A's measurement)
      const ch: 0 | 1 = info & CHANNEL_B ? 1 : 0;
      this.measure(ch);
      const m = this.measured;
      if (r === R_WATT) v = m[NOISY_AT + ch] === this.instant ? m[NOISY + ch] : this.drawWatt(ch);
      else v = m[STRIDE * ch + (r === R_VAR ? Q_CODE : r === R_IRMS ? I_CODE : V_CODE)];
    } else if (r === R_LAST) return this.regs[SLOT_OF_LOW[a]] | 0; // (known registers, as int32: see the end)
    else v = this.readOther(r, a, info & CHANNEL_B ? 1 : 0);
    return this.answer(v, width, info, a, address);
  }

  /** A read's value `v` cut to the register's width (32-bit: the 24-bit value, sign extended when
   *  signed; CRC whole), noted in LAST_RWDATA, LAST_OP and LAST_ADD. As int32 (the same 32 bits:
   *  the callers take bytes of it, the register file stores it unsigned), not a uint32 above 2^31,
   *  which V8 returns as a new heap number. */
  private answer(v: number, width: number, info: number, a: number, address: number): number {
    if (width === 32) {
      if (a !== CRC) {
        v &= 0xffffff;
        if (info & SIGNED_REG && v & 0x800000) v |= 0xff000000;
      } else v |= 0;
      this.regs[SLOT_RWDATA_32] = v;
    } else {
      v &= width === 24 ? 0xffffff : width === 16 ? 0xffff : 0xff;
      this.regs[width === 8 ? SLOT_RWDATA_8 : width === 16 ? SLOT_RWDATA_16 : SLOT_RWDATA_32] = v;
    }
    this.regs[SLOT_LAST_OP] = 0x35;
    this.regs[SLOT_LAST_ADD] = address;
    return v;
  }

  /** Channel `ch`'s AWATT/BWATT code of this instant, drawn once an instant (measure(ch) just ran). */
  private drawWatt(ch: 0 | 1): number {
    const m = this.measured;
    let v: number;
    const sigma = this.noise();
    if (sigma === 0) {
      // A perfect board: the draw still moves the sequence on; its ±0 leaves the code as
      // measured (the sign of a zero does not survive the width mask of readRegister).
      this.rng.skipNormal();
      v = m[STRIDE * ch + P_CODE];
    } else v = this.noisyPower(ch, sigma);
    m[NOISY + ch] = v;
    m[NOISY_AT + ch] = this.instant;
    return v;
  }

  /** What a read of PFx, PERIOD, ACCMODE, RSTIRQSTATA or CRC answers, with its side effects. */
  private readOther(r: number, a: number, ch: 0 | 1): number {
    switch (r) {
      case R_PF: {
        this.measure(ch);
        const v = this.measured[STRIDE * ch + 9];
        return v !== v ? this.powerFactor(ch) : v;
      }
      case R_PERIOD:
        return Math.round(ADE7953_PERIOD_CLOCK / this.load.frequency) - 1;
      case R_ACCMODE:
        return this.accmode(a);
      case R_RSTIRQ: {
        const v = this.regs[SLOT_IRQSTATA];
        this.regs[SLOT_IRQSTATA] = 0;
        return v;
      }
      default: // R_CRC
        return this.regs[SLOT_CONFIG] & ADE7953_CONFIG_CRC_ENABLE ? this.configChecksum() : ADE7953_CRC_RESET;
    }
  }

  /** An AWATT/BWATT code of channel `ch`'s measurement with the noise of one instant. */
  private noisyPower(ch: 0 | 1, sigma: number): number {
    const m = this.measured;
    return Math.round(m[STRIDE * ch] / m[W_PER_CODE] + this.rng.scaledNormal(sigma) / m[W_PER_CODE]);
  }

  /** PFx of channel `ch`'s measurement (just made by measure(ch)), kept with it: round(32768 · P /
   *  hypot(P, Q)), clamped to 16 bits. The quotient is first taken over sqrt(P² + Q²), within a few
   *  ulp of Math.hypot's (both are, of the true value): when that is not within 1e-6 of a half,
   *  both round alike, and Math.hypot (in V8 a builtin that allocates its arguments, ~0.1 µs) is
   *  not needed; near a half, or outside the range where P² + Q² is exact enough, it decides. */
  private powerFactor(ch: 0 | 1): number {
    const m = this.measured;
    const p = m[STRIDE * ch];
    const q = m[STRIDE * ch + 1];
    const a = Math.max(Math.abs(p), Math.abs(q));
    if (a > 1e-100 && a < 1e100) {
      const x = (p / Math.sqrt(p * p + q * q)) * 32768;
      const f = x - Math.floor(x);
      if (Math.abs(f - 0.5) > 1e-6) return (m[STRIDE * ch + 9] = Math.max(-32768, Math.min(32767, Math.round(x))) & 0xffff);
    }
    const s = Math.hypot(p, q);
    return (m[STRIDE * ch + 9] = s > 0 ? Math.max(-32768, Math.min(32767, Math.round((p / s) * 32768))) & 0xffff : 0);
  }

  /** ACCMODE with its sign bits of both channels' active power. */
  private accmode(a: number): number {
    this.measure(0);
    this.measure(1);
    const pa = this.measured[0];
    const pb = this.measured[STRIDE];
    return (this.peek(a) & 0x3ff) | (pa < 0 ? 1 << 10 : 0) | (pb < 0 ? 1 << 11 : 0);
  }

  private writeRegister(address: number, value: number): void {
    const a = canonical(address);
    if (a === ADE7953.RESERVED_120 && !this.unlocked) return;
    if (a === ADE7953.AP_NOLOAD && !(this.peek(ADE7953.DISNOLOAD) & 1)) return;
    if (a === ADE7953.VAR_NOLOAD && !(this.peek(ADE7953.DISNOLOAD) & 2)) return;
    this.unlocked = a === ADE7953.UNLOCK && value === ADE7953_UNLOCK_KEY;
    if (a === ADE7953.CONFIG && value & 0x80) {
      this.reset();
      return;
    }
    const width = ade7953Width(address);
    this.checksum = -1;
    this.config++;
    this.set(a, width >= 24 ? value & 0xffffff : value);
    this.set(width === 8 ? ADE7953.LAST_RWDATA_8 : width === 16 ? ADE7953.LAST_RWDATA_16 : ADE7953.LAST_RWDATA_32, value >>> 0);
    this.set(ADE7953.LAST_OP, 0xca);
    this.set(ADE7953.LAST_ADD, address);
  }

  private configChecksum(): number {
    if (this.checksum >= 0) return this.checksum;
    let h = 0x811c9dc5;
    for (const r of CONFIG_REGS) {
      let v = this.peek(r);
      for (let k = 0; k < 4; k++, v >>>= 8) h = Math.imul(h ^ (v & 0xff), 0x01000193) >>> 0;
    }
    return (this.checksum = h >>> 0);
  }

  /** Byte `k` (MSB first) of a `bytes`-byte big-endian register value (unsigned 32-bit). */
  private static byteOf(v: number, bytes: number, k: number): number {
    return (v >>> (8 * (bytes - 1 - k))) & 0xff;
  }

  /** SpiTarget (the SPI port's side of the chip). */
  clockByte(mosi: number): number {
    const pos = this.txLength++;
    let miso = 0;
    if (pos === 0) this.tx0 = mosi;
    else if (pos === 1) this.tx1 = mosi;
    else if (pos === 2) {
      this.tx2 = mosi;
      this.txData = 0;
      if (mosi === 0x80) {
        const address = (this.tx0 << 8) | this.tx1;
        this.outBytes = ade7953Width(address) / 8;
        this.outValue = this.readRegister(address);
      }
    } else if (this.tx2 === 0x80) {
      const k = pos - 3;
      if (k < this.outBytes) miso = SimAde7953.byteOf(this.outValue, this.outBytes, k);
    } else if (pos < 7) this.txData = this.txData * 256 + mosi;
    return this.busFault === 'none' ? miso : faultByte(this.busFault, miso, this.rng, this.measured[GARBLE]);
  }

  /** A whole frame from its start on a clean bus: what `clockByte` does over its bytes. */
  wholeFrame(b: Uint8Array, answer: boolean): boolean {
    const length = b.length;
    if (length < 3 || this.txLength !== 0 || this.busFault !== 'none') return false;
    this.tx0 = b[0];
    this.tx1 = b[1];
    const command = b[2];
    this.tx2 = command;
    this.txLength = length;
    if (command === 0x80) {
      this.txData = 0;
      const address = (b[0] << 8) | b[1];
      const n = ade7953Width(address) / 8;
      const v = this.readRegister(address);
      this.outBytes = n;
      this.outValue = v;
      if (answer) {
        b[0] = 0;
        b[1] = 0;
        b[2] = 0;
        for (let k = 0; k < length - 3; k++) b[3 + k] = k < n ? SimAde7953.byteOf(v, n, k) : 0;
      }
    } else {
      let data = 0;
      for (let pos = 3; pos < length && pos < 7; pos++) data = data * 256 + b[pos];
      this.txData = data;
      if (answer) b.fill(0);
    }
    return true;
  }

  deselect(): void {
    const length = this.txLength;
    this.txLength = 0;
    this.outBytes = 0;
    if (length < 3 || this.tx2 === 0x80) return;
    // A write in a method of its own: deselect stays small enough for V8 to inline flush() into a
    // driver's register read.
    this.endWrite(length);
  }

  /** The end of a write frame: applied, or counted as a framing error. */
  private endWrite(length: number): void {
    const address = (this.tx0 << 8) | this.tx1;
    const n = ade7953Width(address) / 8;
    if (this.tx2 !== 0x00 || length !== 3 + n) {
      this.framingErrors++;
      return;
    }
    this.writeRegister(address, this.txData);
  }

  private i2cWrite(buffer: Uint8Array): void {
    if (buffer.length < 2) {
      this.framingErrors++;
      return;
    }
    const address = (buffer[0] << 8) | buffer[1];
    if (buffer.length === 2) {
      this.i2cPointer = address;
      return;
    }
    const n = ade7953Width(address) / 8;
    if (buffer.length !== 2 + n) {
      this.framingErrors++;
      return;
    }
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + buffer[2 + i];
    this.writeRegister(address, v);
  }

  private i2cRead(buffer: Uint8Array): void {
    const n = this.i2cPointer < 0 ? 0 : ade7953Width(this.i2cPointer) / 8;
    const v = n ? this.readRegister(this.i2cPointer) : 0;
    for (let i = 0; i < buffer.length; i++) buffer[i] = faultByte(this.busFault, i < n ? SimAde7953.byteOf(v, n, i) : 0xff, this.rng, this.measured[GARBLE]);
  }

  // SpiPort: a whole register frame at once when wholeFrame can, else byte by byte over clockByte;
  // flush deselects.
  transfer(buffer: Uint8Array): void {
    const length = buffer.length;
    if (length >= 3 && buffer[2] === 0x80 && this.txLength === 0 && this.busFault === 'none') {
      // wholeFrame(buffer, true) for a read, here: a driver's register read is one call into the chip
      // (tx0, tx1 and txData matter to a write's end only: a read frame leaves them)
      const address = (buffer[0] << 8) | buffer[1];
      this.tx2 = 0x80;
      this.txLength = length;
      const width = ade7953Width(address);
      const n = width >> 3;
      const v = this.readRegister(address, width);
      this.outBytes = n;
      this.outValue = v;
      buffer[0] = 0;
      buffer[1] = 0;
      buffer[2] = 0;
      // A frame of the register's width (a driver's) written out: 32-bit (the sample's registers
      // but two) and 16-bit; any other length byte by byte.
      if (length === 7 && n === 4) {
        buffer[3] = v >>> 24;
        buffer[4] = (v >>> 16) & 0xff;
        buffer[5] = (v >>> 8) & 0xff;
        buffer[6] = v & 0xff;
      } else if (length === 5 && n === 2) {
        buffer[3] = (v >>> 8) & 0xff;
        buffer[4] = v & 0xff;
      } else for (let k = 0; k < length - 3; k++) buffer[3 + k] = k < n ? (v >>> (8 * (n - 1 - k))) & 0xff : 0;
      return;
    }
    if (this.wholeFrame(buffer, true)) return;
    for (let i = 0; i < length; i++) buffer[i] = this.clockByte(buffer[i]);
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
