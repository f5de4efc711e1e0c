/**
 * ATM90E32AS driver (Microchip ATM90E32AS data sheet; register use after the ESPHome atm90e32
 * component and the CircuitSetup ATM90E32 library): three phases over SPI, 16-bit frames — an address
 * word with bit 15 set for a read, then a data word, MSB first.
 *
 * Start-up: SoftReset, then a 6 ms wait (the reset takes 5 ms and drops writes meanwhile: ESPHome),
 * CfgRegAccEn = 0x55AA confirmed through LastSPIData, MeterEn = 1, PL constant (meter constant),
 * MMode0 (line frequency), the thresholds (anti-creep), the calibration block (Poffset, Qoffset, Ugain,
 * Igain per phase; PQGain and Phi cleared), CfgRegAccEn locked again; every register read back; the
 * CRCDigest of the configuration block is kept and compared on every sample (a changed digest is a
 * `checksum` fault; MeterEn no longer 1 is a chip reset, and the chip is reconfigured).
 *
 * Calibration as the chip applies it (atm90e32-registers.ts): voltageGain and currentGain become
 * Ugain and Igain, which scale rms, P, Q and energy alike — so an energy correction is a currentGain
 * correction and powerGain must be 1; offsets and thresholds are in Pmean LSBs (0.00032 W); noLoadW is
 * both the per-phase (PPhaseTh) and the all-phase start threshold (PStartTh: an element at noLoadW
 * alone reaches it). PQGain and Phi, whose formats no reference confirms, stay 0: the phase error is
 * corrected here, by rotating each phase's active and reactive energy (both counted by the chip,
 * read-clear) by phaseDeg: P' = P·cos δ + Q·sin δ, exact for the energy of any load; below noLoadW the
 * reactive term is left out, so a reactive offset cannot creep into active energy.
 *
 * Energy: the chip offers only read-clear registers, forward and reverse per phase, so each phase's
 * import and export come from that phase's own pair (ATM90E32_PHASE table). A read whose reply is
 * garbled would lose the cleared count: the value is confirmed against LastSPIData, and recovered
 * from it when the reply and the echo disagree. Counts that wrapped (2^16) while samples were missed
 * are restored from the mean power × elapsed time.
 */
import type { SpiPort } from '../ports/bus.js';
import type { Clock } from '../ports/clock.js';
import {
  ATM90E32,
  ATM90E32_CFG_LOCK,
  ATM90E32_CFG_UNLOCK,
  ATM90E32_ENERGY_PER_CF,
  ATM90E32_FREQ_LSB,
  ATM90E32_IRMS_LSB,
  ATM90E32_MMODE0_50HZ,
  ATM90E32_MMODE0_60HZ_BIT,
  ATM90E32_OFFSET_LSB_W,
  ATM90E32_PHASE,
  ATM90E32_PHI_UNUSED,
  ATM90E32_PL_NUMERATOR,
  ATM90E32_POWER_LSB,
  ATM90E32_PQGAIN_UNUSED,
  ATM90E32_READ,
  ATM90E32_RESET_WAIT_MS,
  ATM90E32_SOFT_RESET_KEY,
  ATM90E32_THRESHOLD_LSB_W,
  ATM90E32_URMS_LSB,
} from './atm90e32-registers.js';
import type { Calibration } from './calibration.js';
import { CalibrationError, MetrologyFault } from './errors.js';
import { DEFAULT_MAX_POWER_W, InstantBuffer, SampleBuffer, median3, noWrapPeriodMs, type InstantReadings, type MetrologyDriver, type Sample } from './readings.js';

export interface Atm90e32Options {
  spi: SpiPort;
  /** Needs delay(): the soft reset takes 5 ms. */
  clock: Clock;
  calibration: Calibration;
  lineFrequency?: 50 | 60;
  /** Meter constant programmed through PLconst, imp/kWh (default 3200). */
  meterConstant?: number;
  /** Ugain / Igain of the board design before calibration (ESPHome defaults 7305 / 27961). */
  ugainNominal?: number;
  igainNominal?: number;
  /** Highest plausible power per phase, W; an energy delta above it is a fault (default 30 kW). */
  maxPowerW?: number;
}

const WRAP = 0x10000;

/** The meter constant when none is given, imp/kWh. */
const DEFAULT_METER_CONSTANT = 3200;

/** PLconst for a meter constant in imp/kWh, as configure() programs it. */
function plConstOf(meterConstant: number): number {
  return Math.round(ATM90E32_PL_NUMERATOR / meterConstant);
}

/** Wh of one count of the energy registers at a PLconst (the chip counts CF pulses in hundredths). */
function whPerCountOf(plConst: number): number {
  return 1000 / (ATM90E32_ENERGY_PER_CF * (ATM90E32_PL_NUMERATOR / plConst));
}

/** The longest sample period, ms, in which no 16-bit energy register can wrap unseen at
 *  `maxPowerW` a phase (readings.ts noWrapPeriodMs): 39 s at 30 kW and 1000 imp/kWh. */
export function atm90e32MaxSamplePeriodMs(maxPowerW = DEFAULT_MAX_POWER_W, meterConstant = DEFAULT_METER_CONSTANT): number {
  return noWrapPeriodMs(WRAP, whPerCountOf(plConstOf(meterConstant)), maxPowerW);
}

const RAD = Math.PI / 180;
/** Energy registers per phase, in the order of `held`: active forward/reverse, reactive forward/reverse. */
const ENERGY_KEYS = Object.freeze(['APenergy', 'ANenergy', 'RPenergy', 'RNenergy'] as const);
/** Numbers per phase in Atm90e32's `chan`, and where each sits (see there). */
const PH = 9;
const COS = 0;
const SIN = 1;
const TICKS = 2;
const MEAN_P = 3;
const MEAN_Q = 4;
const HELD = 5;

export class Atm90e32 implements MetrologyDriver {
  readonly phaseCount: number;
  private readonly spi: SpiPort;
  private readonly clock: Clock;
  private readonly frequency: 50 | 60;
  private readonly plConst: number;
  private readonly whPerCount: number;
  /** Ws (W × s) below which `wraps` adds none: 0.999 × half a wrap's energy. Below it, the counts
   *  expected, ((W·s) / 3600) / whPerCount, are below WRAP / 2 (each rounding is monotonic and off
   *  by far less than 0.1 %), so (expected − counts) / WRAP < 1/2 with counts ≥ 0 and the rounded
   *  wraps are ≤ 0, which Math.max makes 0. */
  private readonly noWrapWs: number;
  private readonly ugain: number;
  private readonly igain: number;
  private readonly maxPowerW: number;
  private calibration: Calibration;
  private expectedCrc = -1;
  /** Per phase p, at PH · p: cos δ and sin δ of its phase correction (COS, SIN: 1 and 0 until
   *  configured), when its read-clear registers were last emptied (TICKS), the median Pmean and
   *  Qmean (W, var) of its last samplePhase (MEAN_P, MEAN_Q: the sample's total active power uses
   *  them rather than read the registers again), then the counts already read (so
   *  cleared) from its registers whose sample then faulted, in ENERGY_KEYS order (HELD: added to
   *  its next sample, whose interval, from TICKS, they belong to). One exact-size array of doubles
   *  rather than six arrays and one per phase (a fleet holds one per meter). */
  private readonly chan: number[];
  private closed = false;
  private readonly samples: SampleBuffer;
  private instant: InstantBuffer | undefined = undefined;
  private readonly frame = new Uint8Array(4);

  constructor(options: Atm90e32Options) {
    if (!options || !options.spi) throw new MetrologyFault('bad-options', 'ATM90E32 needs an spi port', { chip: 'atm90e32' });
    if (typeof options.clock?.delay !== 'function') {
      throw new MetrologyFault('bad-options', 'ATM90E32 needs a clock with delay(): the soft reset takes 5 ms', { chip: 'atm90e32' });
    }
    if (options.calibration.chip !== 'atm90e32') {
      throw new CalibrationError('calibration-range', `calibration is for ${options.calibration.chip}, not atm90e32`, { field: 'chip' });
    }
    const mc = options.meterConstant ?? DEFAULT_METER_CONSTANT;
    this.plConst = plConstOf(mc);
    if (!(this.plConst > 0 && this.plConst < 2 ** 32)) throw new MetrologyFault('bad-options', `meter constant ${mc} out of range`, { meterConstant: mc });
    this.whPerCount = whPerCountOf(this.plConst);
    this.noWrapWs = (WRAP / 2) * 3600 * this.whPerCount * 0.999;
    this.spi = options.spi;
    this.clock = options.clock;
    this.frequency = options.lineFrequency ?? 50;
    this.ugain = options.ugainNominal ?? 7305;
    this.igain = options.igainNominal ?? 27961;
    this.maxPowerW = options.maxPowerW ?? DEFAULT_MAX_POWER_W;
    this.calibration = options.calibration;
    this.phaseCount = options.calibration.channels.length;
    this.samples = new SampleBuffer(this.phaseCount);
    // Doubles (NaN) from the start: V8 allocates their storage with the driver, not at the first sample.
    const c = (this.chan = new Array<number>(PH * this.phaseCount).fill(NaN));
    for (let p = 0; p < this.phaseCount; p++) {
      c[PH * p + COS] = 1;
      c[PH * p + SIN] = 0;
    }
  }

  /** Energy of one register LSB, Wh. */
  get energyLsbWh(): number {
    return this.whPerCount;
  }

  private read(address: number): number {
    const f = this.frame;
    f[0] = (ATM90E32_READ | address) >> 8;
    f[1] = address & 0xff;
    f[2] = 0;
    f[3] = 0;
    this.spi.transfer(f);
    this.spi.flush();
    return (f[2] << 8) | f[3];
  }

  private write(address: number, value: number): void {
    const f = new Uint8Array([address >> 8, address & 0xff, (value >> 8) & 0xff, value & 0xff]);
    this.spi.write(f);
    this.spi.flush();
  }

  /**
   * Reads a read-clear register; its value is confirmed by (or recovered from) LastSPIData. The read
   * cleared the count, so giving up loses it: LastSPIData (unchanged by reading it) is read again
   * until one value has three votes among the reply and the echoes (two when reply and first echo agree).
   */
  private readClear(address: number): number {
    const v = this.read(address);
    const echo = this.read(ATM90E32.LastSPIData);
    if (echo === v) return v;
    // Made here, on a garbled bus only (not kept with every driver).
    const seen = [v, echo];
    for (let i = 0; i < 6; i++) {
      const e = this.read(ATM90E32.LastSPIData);
      let votes = 1;
      for (const x of seen) if (x === e) votes++;
      if (votes >= 3) return e;
      seen.push(e);
    }
    throw new MetrologyFault('bus-garbage', `ATM90E32 register 0x${address.toString(16)}: reply 0x${v.toString(16)} and LastSPIData disagree`, { register: address });
  }

  /** A status register read until two replies agree (a garbled status must not look like a reset). */
  private readStable(address: number): number {
    let v = this.read(address);
    for (let i = 0; i < 3; i++) {
      const w = this.read(address);
      if (w === v) return v;
      v = w;
    }
    throw new MetrologyFault('bus-garbage', `ATM90E32 register 0x${address.toString(16)} answers differently each time`, { register: address });
  }

  /** A mean power register pair as its signed 32-bit word (an integer: W = word × ATM90E32_POWER_LSB). */
  private powerWord(reg: number, lsbReg: number): number {
    const hi = this.read(reg);
    const lo = this.read(lsbReg);
    return (hi << 16) | lo;
  }

  /** W (var) of a mean power register pair. */
  private power(reg: number, lsbReg: number): number {
    return this.powerWord(reg, lsbReg) * ATM90E32_POWER_LSB;
  }

  /** median3 of three power reads as a word (× ATM90E32_POWER_LSB: W); the third only when the
   *  first two differ (see median3). Taken on the words, then scaled by the caller: the same value
   *  (scaling by a positive constant keeps order and tells distinct words apart), one
   *  multiplication rather than one per read, and an integer returned (V8 boxes a double). */
  private medianWord(reg: number, lsbReg: number): number {
    const a = this.powerWord(reg, lsbReg);
    const b = this.powerWord(reg, lsbReg);
    return a === b ? a : median3(a, b, this.powerWord(reg, lsbReg));
  }

  private plan(cal: Calibration): [number, number][] {
    const u16 = (v: number, what: string, p: number): number => {
      if (!(v >= 0 && v <= 0xffff)) throw new CalibrationError('calibration-range', `${what}${p >= 0 ? ` of phase ${p}` : ''} does not fit the ATM90E32 register`, { field: what, channel: p });
      return v;
    };
    const s16w = (watts: number, what: string, p: number): number => {
      const v = Math.round(watts / ATM90E32_OFFSET_LSB_W);
      if (v < -0x8000 || v > 0x7fff) throw new CalibrationError('calibration-range', `${what} ${watts} of phase ${p} exceeds the ATM90E32's ±${(0x8000 * ATM90E32_OFFSET_LSB_W).toFixed(2)} W`, { field: what, channel: p });
      return v & 0xffff;
    };
    const thr = u16(Math.round(cal.noLoadW / ATM90E32_THRESHOLD_LSB_W), 'noLoadW', -1);
    const plan: [number, number][] = [
      [ATM90E32.PLconstH, Math.floor(this.plConst / 65536)],
      [ATM90E32.PLconstL, this.plConst & 0xffff],
      [ATM90E32.MMode0, ATM90E32_MMODE0_50HZ | (this.frequency === 60 ? ATM90E32_MMODE0_60HZ_BIT : 0)],
      [ATM90E32.MMode1, 0],
      [ATM90E32.PStartTh, thr],
      [ATM90E32.QStartTh, thr],
      [ATM90E32.PPhaseTh, thr],
      [ATM90E32.QPhaseTh, thr],
    ];
    cal.channels.forEach((c, p) => {
      if (c.powerGain !== 1) {
        throw new CalibrationError('calibration-range', `ATM90E32 phase ${p}: powerGain ${c.powerGain} cannot be applied (the chip scales power through currentGain; PQGain is not used)`, { field: 'powerGain', channel: p });
      }
      const r = ATM90E32_PHASE[p];
      plan.push(
        [r.PQGain, ATM90E32_PQGAIN_UNUSED],
        [r.Phi, ATM90E32_PHI_UNUSED],
        [r.Poffset, s16w(c.powerOffsetW, 'powerOffsetW', p)],
        [r.Qoffset, s16w(c.reactiveOffsetVar, 'reactiveOffsetVar', p)],
        [r.Ugain, u16(Math.round(this.ugain * c.voltageGain), 'voltageGain', p)],
        [r.Igain, u16(Math.round(this.igain * c.currentGain), 'currentGain', p)],
      );
    });
    return plan;
  }

  /** Start-up configuration. `softReset` (default true) clears the chip first and waits for it; a
   *  reconfigure after a detected reset skips it. */
  configure(options: { calibration?: Calibration; softReset?: boolean } = {}): void {
    this.checkOpen();
    const cal = options.calibration ?? this.calibration;
    if (cal.chip !== 'atm90e32' || cal.channels.length !== this.phaseCount) {
      throw new CalibrationError('calibration-range', `calibration does not fit this ATM90E32 (${cal.chip}, ${cal.channels.length} phases)`, { field: 'chip' });
    }
    const plan = this.plan(cal);
    if (options.softReset ?? true) {
      this.write(ATM90E32.SoftReset, ATM90E32_SOFT_RESET_KEY);
      (this.clock.delay as (ms: number) => void)(ATM90E32_RESET_WAIT_MS);
    }
    this.write(ATM90E32.CfgRegAccEn, ATM90E32_CFG_UNLOCK);
    const echo = this.read(ATM90E32.LastSPIData);
    if (echo !== ATM90E32_CFG_UNLOCK) {
      throw new MetrologyFault(echo === 0 ? 'bus-stuck' : echo === 0xffff ? 'bus-garbage' : 'configure-verify', `ATM90E32 did not take CfgRegAccEn (LastSPIData 0x${echo.toString(16)}): still in reset or not on the bus`, {
        register: ATM90E32.CfgRegAccEn,
        read: echo,
      });
    }
    this.write(ATM90E32.MeterEn, 1);
    for (const [reg, v] of plan) this.write(reg, v);
    this.write(ATM90E32.CfgRegAccEn, ATM90E32_CFG_LOCK);
    for (const [reg, v] of [[ATM90E32.MeterEn, 1], ...plan]) {
      const got = this.read(reg);
      if (got !== v) {
        throw new MetrologyFault(got === 0 ? 'bus-stuck' : got === 0xffff ? 'bus-garbage' : 'configure-verify', `ATM90E32 register 0x${reg.toString(16)} reads 0x${got.toString(16)} after writing 0x${v.toString(16)}`, {
          register: reg,
          wrote: v,
          read: got,
        });
      }
    }
    this.calibration = cal;
    const c = this.chan;
    for (let p = 0; p < this.phaseCount; p++) {
      const deg = cal.channels[p].phaseDeg;
      c[PH * p + COS] = Math.cos(deg * RAD);
      c[PH * p + SIN] = Math.sin(deg * RAD);
    }
    this.expectedCrc = this.read(ATM90E32.CRCDigest);
    const now = this.clock.ticks();
    for (let p = 0; p < this.phaseCount; p++) {
      const at = PH * p;
      c[at + TICKS] = now;
      c[at + HELD] = c[at + HELD + 1] = c[at + HELD + 2] = c[at + HELD + 3] = 0;
    }
  }

  sample(): Sample {
    this.checkOpen();
    const ticks = this.clock.ticks();
    const n = this.phaseCount;
    const out = this.samples.begin(ticks);
    let meansRead = false;
    try {
      const en = this.readStable(ATM90E32.MeterEn);
      if (en === 0xffff) throw new MetrologyFault('bus-garbage', 'ATM90E32 answers 0xFFFF (bus floating or chip absent)', { register: ATM90E32.MeterEn });
      if (en !== 1) {
        if (this.read(ATM90E32.PLconstH) === 0) throw new MetrologyFault('bus-stuck', 'ATM90E32 answers 0x0000 everywhere (bus stuck low)', { register: ATM90E32.PLconstH });
        // The chip reset: it stopped metering and lost its configuration; its read-clear counters
        // restarted at 0 and hold nothing we have not read. Not a wrap: nothing to add.
        out.chipReset = true;
        this.configure({ softReset: false });
      } else {
        const crc = this.readStable(ATM90E32.CRCDigest);
        if (crc !== this.expectedCrc) {
          // Counts since the last sample were made with a configuration we did not write: discard them.
          for (const r of ATM90E32_PHASE.slice(0, n)) for (const k of ENERGY_KEYS) this.read(r[k]);
          this.configure({ softReset: false });
          out.chipReset = true;
          throw new MetrologyFault('checksum', `ATM90E32 CRCDigest 0x${crc.toString(16)} differs from 0x${this.expectedCrc.toString(16)}: configuration changed`, { register: ATM90E32.CRCDigest, read: crc });
        }
        for (let p = 0; p < n; p++) this.samplePhase(p, ticks, out);
        meansRead = true;
      }
      // The total active power: this sample's medians (or after a reset, none read, one read each),
      // rotated by each phase's correction.
      for (let p = 0; p < n; p++) {
        const r = ATM90E32_PHASE[p];
        const at = PH * p;
        const pm = meansRead ? this.chan[at + MEAN_P] : this.power(r.Pmean, r.PmeanLSB);
        const qm = meansRead ? this.chan[at + MEAN_Q] : this.power(r.Qmean, r.QmeanLSB);
        out.totalActivePower += pm * this.chan[at + COS] + qm * this.chan[at + SIN];
      }
    } catch (e) {
      if (!(e instanceof MetrologyFault)) throw e;
      out.fault = e;
    }
    return out;
  }

  /** Energy of phase `p` since its last sample: the four read-clear counts, wraps restored, the phase
   *  correction applied. */
  private samplePhase(p: number, ticks: number, out: Sample): void {
    const r = ATM90E32_PHASE[p];
    const c = this.chan;
    const at = PH * p;
    const dtS = (ticks - c[at + TICKS]) / 1000;
    // the powers decide wraps after a gap: the median of three reads
    const power = (c[at + MEAN_P] = this.medianWord(r.Pmean, r.PmeanLSB) * ATM90E32_POWER_LSB);
    const reactive = (c[at + MEAN_Q] = this.medianWord(r.Qmean, r.QmeanLSB) * ATM90E32_POWER_LSB);
    const maxCounts = (this.maxPowerW * dtS) / 3600 / this.whPerCount;
    // ENERGY_KEYS order; a fault in a later read keeps the counts already read at HELD.
    const h = at + HELD;
    c[h] += this.readClear(r.APenergy);
    c[h + 1] += this.readClear(r.ANenergy);
    c[h + 2] += this.readClear(r.RPenergy);
    c[h + 3] += this.readClear(r.RNenergy);
    let ap = c[h];
    let an = c[h + 1];
    let rp = c[h + 2];
    let rn = c[h + 3];
    c[h] = c[h + 1] = c[h + 2] = c[h + 3] = 0;
    const kp = this.wraps(ap, power, dtS, maxCounts);
    const kn = this.wraps(an, -power, dtS, maxCounts);
    const kq = this.wraps(rp, reactive, dtS, maxCounts);
    const kr = this.wraps(rn, -reactive, dtS, maxCounts);
    ap += kp * WRAP;
    an += kn * WRAP;
    rp += kq * WRAP;
    rn += kr * WRAP;
    out.wraps += kp + kn + kq + kr;
    const limit = (this.maxPowerW * 1.2 * dtS) / 3600 + 1;
    if ((ap + an) * this.whPerCount > limit) {
      throw new MetrologyFault('implausible-energy', `ATM90E32 phase ${p}: ${((ap + an) * this.whPerCount).toFixed(1)} Wh in ${dtS} s`, { channel: p });
    }
    c[at + TICKS] = ticks;
    const sin = c[at + SIN];
    if (sin === 0) {
      out.importWh[p] = ap * this.whPerCount;
      out.exportWh[p] = an * this.whPerCount;
      return;
    }
    // Phase correction: rotate the interval's net active and reactive energy by δ. The reactive term
    // counts only while the corrected active power is above the no-load threshold (anti-creep).
    const cos = c[at + COS];
    const loaded = Math.abs(power * cos + reactive * sin) >= this.calibration.noLoadW;
    const net = ((ap - an) * cos + (loaded ? (rp - rn) * sin : 0)) * this.whPerCount;
    if (net > 0) out.importWh[p] = net;
    else if (net < 0) out.exportWh[p] = -net;
  }

  /** Wraps to add to a read-clear count whose direction flowed at `flow` W: only the register of
   *  the flowing direction can have wrapped unnoticed. `wrapsToAdd(counts, expected, maxCounts,
   *  WRAP)` written out, the same operations: no call per register (four per phase, every sample),
   *  so V8 inlines this into samplePhase and keeps the count unboxed, and XS makes one call fewer. */
  private wraps(counts: number, flow: number, dtS: number, maxCounts: number): number {
    if (!(flow > 0) || maxCounts < WRAP / 2) return 0;
    // No wrap when the energy that flowed is below half a wrap (counts ≥ 0): a multiplication and
    // a comparison rather than the three divisions below, which give 0 then (see noWrapWs).
    if (flow * dtS < this.noWrapWs) return 0;
    return Math.max(0, Math.round(((flow * dtS) / 3600 / this.whPerCount - counts) / WRAP));
  }

  /** Reads the instantaneous registers now, once MeterEn and CRCDigest show the chip metering as
   *  configured (the mean powers the median of reads, as in sample()). */
  instantaneous(): InstantReadings {
    this.checkOpen();
    if (this.expectedCrc === -1) throw new MetrologyFault('not-configured', 'ATM90E32 not configured yet: no instantaneous readings', { chip: 'atm90e32' });
    const en = this.readStable(ATM90E32.MeterEn);
    if (en !== 1) {
      throw new MetrologyFault(en === 0xffff ? 'bus-garbage' : 'chip-reset', `ATM90E32 MeterEn reads 0x${en.toString(16)} (reset, or not on the bus): no instantaneous readings`, { register: ATM90E32.MeterEn, read: en });
    }
    const crc = this.readStable(ATM90E32.CRCDigest);
    if (crc !== this.expectedCrc) {
      throw new MetrologyFault('checksum', `ATM90E32 CRCDigest 0x${crc.toString(16)} is not the 0x${this.expectedCrc.toString(16)} configured: no instantaneous readings`, { register: ATM90E32.CRCDigest, read: crc });
    }
    const out = (this.instant ??= new InstantBuffer(this.phaseCount)).begin(this.clock.ticks());
    out.frequency = this.read(ATM90E32.Freq) * ATM90E32_FREQ_LSB;
    for (let p = 0; p < this.phaseCount; p++) {
      const r = ATM90E32_PHASE[p];
      const x = this.instant.reading(p);
      x.voltage = this.read(r.Urms) * ATM90E32_URMS_LSB;
      x.current = this.read(r.Irms) * ATM90E32_IRMS_LSB;
      const pm = this.medianWord(r.Pmean, r.PmeanLSB) * ATM90E32_POWER_LSB;
      const qm = this.medianWord(r.Qmean, r.QmeanLSB) * ATM90E32_POWER_LSB;
      const cos = this.chan[PH * p + COS];
      const sin = this.chan[PH * p + SIN];
      x.activePower = pm * cos + qm * sin;
      x.reactivePower = qm * cos - pm * sin;
      const s = Math.hypot(x.activePower, x.reactivePower);
      x.powerFactor = s > 0 ? x.activePower / s : 0;
      out.phases.push(x);
      out.totalActivePower += x.activePower;
      out.totalReactivePower += x.reactivePower;
    }
    return out;
  }

  close(): void {
    this.closed = true;
  }

  private checkOpen(): void {
    if (this.closed) throw new MetrologyFault('closed', 'ATM90E32 driver is closed', { chip: 'atm90e32' });
  }
}
