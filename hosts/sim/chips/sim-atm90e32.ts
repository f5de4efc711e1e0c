/**
 * Register-level ATM90E32AS simulator behind an SpiPort: 16-bit registers, a frame is a 16-bit
 * address word (bit 15 = read) and a 16-bit data word, MSB first; a frame of any other length is a
 * framing error and a write in it is dropped.
 * - Config/calibration registers 0x30–0x6F accept writes only while CfgRegAccEn = 0x55AA.
 * - MeterEn must be 1 for the chip to meter; SoftReset (0x789A to 0x70) or reset() restore defaults.
 * - Energy: per phase forward (APenergyX) and reverse (ANenergyX) active energy, 16-bit, cleared on
 *   read, counting in 0.01 CF (one LSB = 10/MC Wh, MC = 4.5e11 / PL_constant), wrapping at 2^16;
 *   no accumulation while |P| < PStartTh. The T registers add the phases.
 * - LastSPIData (0x78) holds the data of the last read or write (reading it does not change it).
 * - CRCDigest (0x7A): this model's checksum over 0x30–0x6F (not the chip's algorithm).
 * - Calibration encodings as documented in modules/metrology/atm90e32-registers.ts.
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
  ATM90E32_PHI_LSB_DEG,
  ATM90E32_PL_NUMERATOR,
  ATM90E32_POWER_LSB,
  ATM90E32_PQGAIN_ONE,
  ATM90E32_READ,
  ATM90E32_SOFT_RESET_KEY,
  ATM90E32_STARTTH_LSB_W,
  ATM90E32_URMS_LSB,
} from '../../../modules/metrology/atm90e32-registers.js';
import { byteClockedSpi, defaultHardwareErrors, faultByte, Prng, type BusFault, type HardwareErrors } from './front-end.js';

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
/** A power as the 32-bit Pmean/Qmean value. */
const p32 = (w: number): number => Math.round(w / ATM90E32_POWER_LSB) | 0;
const DEFAULTS: Record<number, number> = {
  [ATM90E32.PLconstH]: 0x0861,
  [ATM90E32.PLconstL]: 0xc468,
  [ATM90E32.MMode0]: 0x0087,
  [ATM90E32.PStartTh]: 0x0000,
  [ATM90E32.QStartTh]: 0x0000,
};

/** The phase whose register an address is (-1: none), shared by every simulated chip. */
const PHASE_OF = new Int8Array(0x100).fill(-1);
for (let a = 0; a < 0x100; a++) PHASE_OF[a] = ATM90E32_PHASE.findIndex((r) => Object.values(r).includes(a as never));
/** The energy registers (0x80–0x8F) keep fractional counts. */
const ACC_FIRST = ATM90E32.APenergyT;
const ACC_COUNT = 0x10;

export class SimAtm90e32 {
  readonly load: LoadModel;
  errors: HardwareErrors;
  busFault: BusFault = 'none';
  garbleRate = 0.05;
  framingErrors = 0;
  readonly spi: SpiPort;
  private readonly regs = new Uint16Array(0x100);
  /** Fractional counts of the energy registers ACC_FIRST…. */
  private readonly acc = new Float64Array(ACC_COUNT);
  private readonly rng: Prng;
  private readonly ugainRef: number;
  private readonly igainRef: number;
  // SPI frame state: bytes clocked, the address word's bytes, the data word of a write, the word a read shifts out.
  private txLength = 0;
  private tx0 = 0;
  private tx1 = 0;
  private tx2 = 0;
  private tx3 = 0;
  private outWord = 0;
  // The last measurement of `measure(phase)`: W, var, V, A.
  private mp = 0;
  private mq = 0;
  private mv = 0;
  private mi = 0;

  constructor(options: SimAtm90e32Options) {
    this.load = options.load;
    this.errors = options.errors ?? defaultHardwareErrors(3);
    this.rng = new Prng(options.seed ?? 9032);
    this.ugainRef = options.ugainReference ?? 7305;
    this.igainRef = options.igainReference ?? 27961;
    this.reset();
    this.spi = byteClockedSpi((b) => this.clockByte(b), () => this.endFrame());
  }

  reset(): void {
    this.regs.fill(0);
    this.acc.fill(0);
    for (const [a, v] of Object.entries(DEFAULTS)) this.regs[Number(a)] = v;
  }

  peek(address: number): number {
    return this.regs[address];
  }

  private whPerCount(): number {
    const pl = this.regs[ATM90E32.PLconstH] * 65536 + this.regs[ATM90E32.PLconstL];
    const mc = ATM90E32_PL_NUMERATOR / pl;
    return 1000 / (ATM90E32_ENERGY_PER_CF * mc);
  }

  /** Sets mp, mq, mv, mi for a phase. */
  private measure(phase: number): void {
    const l = this.load.phases[phase];
    const e = this.errors;
    const r = ATM90E32_PHASE[phase];
    const vs = l.voltage * (1 + e.voltageGainError);
    const is = l.current * (1 + e.currentGainError[phase]);
    const phi = (l.phaseDeg + e.phaseErrorDeg[phase] - s16(this.regs[r.Phi]) * ATM90E32_PHI_LSB_DEG) * RAD;
    const g = 1 + s16(this.regs[r.PQGain]) / ATM90E32_PQGAIN_ONE;
    this.mp = vs * is * Math.cos(phi) * g + e.powerOffsetW[phase] + s16(this.regs[r.Poffset]) * ATM90E32_OFFSET_LSB_W;
    this.mq = vs * is * Math.sin(phi) * g + e.reactiveOffsetVar[phase] + s16(this.regs[r.Qoffset]) * ATM90E32_OFFSET_LSB_W;
    this.mv = (vs * this.regs[r.Ugain]) / this.ugainRef;
    this.mi = (is * this.regs[r.Igain]) / this.igainRef;
  }

  advance(ms: number): void {
    if (this.regs[ATM90E32.MeterEn] !== 1) return;
    const dt = ms / 1000;
    const perCount = this.whPerCount() * 3600; // Ws per LSB
    const threshold = this.regs[ATM90E32.PStartTh] * ATM90E32_STARTTH_LSB_W;
    for (let p = 0; p < 3 && p < this.load.phases.length; p++) {
      this.measure(p);
      const mp = this.mp;
      if (Math.abs(mp) < threshold || mp === 0) continue;
      const ws = mp * dt + this.errors.noiseW * Math.sqrt(dt) * this.rng.normal();
      const r = ATM90E32_PHASE[p];
      if (ws > 0) this.accumulate(r.APenergy, ATM90E32.APenergyT, ws / perCount);
      else this.accumulate(r.ANenergy, ATM90E32.ANenergyT, -ws / perCount);
    }
  }

  private accumulate(reg: number, total: number, counts: number): void {
    this.count(reg, counts);
    this.count(total, counts);
  }

  private count(a: number, counts: number): void {
    const i = a - ACC_FIRST;
    this.acc[i] += counts;
    const whole = Math.floor(this.acc[i]);
    this.acc[i] -= whole;
    this.regs[a] = (this.regs[a] + whole) & 0xffff;
  }

  private readRegister(a: number): number {
    const phase = PHASE_OF[a];
    let v: number;
    if (a >= ATM90E32.PmeanA && a <= ATM90E32.QmeanC && a !== ATM90E32.QmeanT || a >= ATM90E32.PmeanALSB && a <= ATM90E32.QmeanCLSB && a !== ATM90E32.QmeanTLSB) {
      this.measure(phase);
      const isQ = a === ATM90E32_PHASE[phase].Qmean || a === ATM90E32_PHASE[phase].QmeanLSB;
      const w = p32((isQ ? this.mq : this.mp) + (isQ ? 0 : this.errors.noiseW * this.rng.normal()));
      const isLsb = a >= ATM90E32.PmeanALSB;
      v = isLsb ? w & 0xffff : (w >>> 16) & 0xffff;
    } else if (a >= ATM90E32.UrmsA && a <= ATM90E32.UrmsC) {
      this.measure(a - ATM90E32.UrmsA);
      v = Math.min(0xffff, Math.round(this.mv / ATM90E32_URMS_LSB));
    } else if (a >= ATM90E32.IrmsA && a <= ATM90E32.IrmsC) {
      this.measure(a - ATM90E32.IrmsA);
      v = Math.min(0xffff, Math.round(this.mi / ATM90E32_IRMS_LSB));
    } else if (a >= ATM90E32.PFmeanA && a <= ATM90E32.PFmeanC) {
      this.measure(a - ATM90E32.PFmeanA);
      const s = Math.hypot(this.mp, this.mq);
      v = s > 0 ? Math.round(this.mp / s / ATM90E32_PF_LSB) & 0xffff : 0;
    } else if (a === ATM90E32.Freq) {
      v = Math.round(this.load.frequency / ATM90E32_FREQ_LSB);
    } else if (a === ATM90E32.CRCDigest) {
      let h = 0xffff;
      for (let r = ATM90E32_CFG_FIRST; r <= ATM90E32_CFG_LAST; r++) h = ((h << 5) + h + this.regs[r] + r) & 0xffff;
      v = h;
    } else if (a === ATM90E32.LastSPIData) {
      return this.regs[a];
    } else {
      v = this.regs[a];
      if (a >= ATM90E32.APenergyT && a <= 0x93) this.regs[a] = 0; // read-clear
    }
    this.regs[ATM90E32.LastSPIData] = v;
    return v;
  }

  private writeRegister(a: number, v: number): void {
    this.regs[ATM90E32.LastSPIData] = v;
    if (a === ATM90E32.SoftReset) {
      if (v === ATM90E32_SOFT_RESET_KEY) this.reset();
      return;
    }
    if (a >= ATM90E32_CFG_FIRST && a <= ATM90E32_CFG_LAST && this.regs[ATM90E32.CfgRegAccEn] !== ATM90E32_CFG_UNLOCK) return;
    if (a >= 0x80) return; // measurement registers are read-only
    this.regs[a] = v;
  }

  private clockByte(mosi: number): number {
    const pos = this.txLength++;
    let miso = 0;
    if (pos === 0) this.tx0 = mosi;
    else if (pos === 1) {
      this.tx1 = mosi;
      if (this.tx0 & 0x80) {
        const a = ((this.tx0 << 8) | this.tx1) & 0x3ff;
        this.outWord = a < 0x100 ? this.readRegister(a) : 0;
      }
    } else {
      if (pos === 2) this.tx2 = mosi;
      else if (pos === 3) this.tx3 = mosi;
      if (this.tx0 & 0x80) miso = pos === 2 ? this.outWord >> 8 : pos === 3 ? this.outWord & 0xff : 0xff;
    }
    return this.busFault === 'none' ? miso : faultByte(this.busFault, miso, this.rng, this.garbleRate);
  }

  private endFrame(): void {
    const length = this.txLength;
    this.txLength = 0;
    if (length === 0) return;
    if (length !== 4) {
      this.framingErrors++;
      return;
    }
    const word = (this.tx0 << 8) | this.tx1;
    if (word & ATM90E32_READ) return;
    const a = word & 0x3ff;
    if (a < 0x100) this.writeRegister(a, (this.tx2 << 8) | this.tx3);
  }
}
