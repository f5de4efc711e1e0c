/**
 * ADE7953 driver (Analog Devices ADE7953 data sheet Rev. B): single phase, voltage channel plus two
 * current channels (A: line, B: neutral or a second circuit), over SPI or I2C.
 *
 * Framing, SPI and I2C alike: 16-bit register address MSB first; over SPI a command byte follows
 * (0x80 read, 0x00 write); data MSB first, 1–4 bytes by the address range (ade7953-registers.ts).
 * Start-up: 0xAD to 0x0FE then 0x30 to 0x120 (the "optimum settings" unlock), energy registers put
 * in free-running mode (LCYCMODE.RSTREAD = 0) so that a read lost on the bus loses no energy, then
 * the calibration. Every register written is read back.
 *
 * Energy: AENERGYx is a 24-bit signed free-running counter; the delta since the last sample is taken
 * modulo 2^24 and whole wraps are resolved from the reported power × elapsed time, so missed samples
 * lose nothing. A chip reset (IRQSTATA.RESET, data sheet Table 23) restarts the counter at 0: it is
 * recognised as a reset, never read as a wrap. The configuration CRC register (0x37F) is computed only
 * with CONFIG.CRC_ENABLE set (it reads 0xFFFFFFFF otherwise, like a floating bus), so configure sets
 * it and refuses a chip whose CRC stays at that value; it is compared on every sample. An energy read
 * is only used when LAST_RWDATA echoes the same value.
 *
 * Units the chip uses, not watts: the no-load threshold (AP_NOLOAD, VAR_NOLOAD) is a fraction of
 * full-scale power (ade7953-registers.ts, data sheet Eq. 39), written with DISNOLOAD set around the
 * write as Tasmota does; PHCAL counts 1.117 µs steps.
 */
import type { I2cPort, SpiPort } from '../ports/bus.js';
import type { Clock } from '../ports/clock.js';
import {
  ADE7953,
  ADE7953_CONFIG_CRC_ENABLE,
  ADE7953_CONFIG_DEFAULT,
  ADE7953_CRC_RESET,
  ADE7953_DISNOLOAD_ALL,
  ADE7953_FULL_SCALE_ENERGY_RATE,
  ADE7953_FULL_SCALE_POWER,
  ADE7953_FULL_SCALE_RMS,
  ADE7953_IRQ_RESET,
  ADE7953_NOLOAD_BASE,
  ADE7953_NOLOAD_DIVISOR,
  ADE7953_PERIOD_CLOCK,
  ADE7953_PHCAL_MAX,
  ADE7953_PHCAL_STEP_S,
  ADE7953_READ,
  ADE7953_RESERVED_120_OPTIMUM,
  ADE7953_UNITY_GAIN,
  ADE7953_UNLOCK_KEY,
  ADE7953_WRITE,
  ade7953Width,
} from './ade7953-registers.js';
import type { Calibration } from './calibration.js';
import { CalibrationError, MetrologyFault } from './errors.js';
import { DEFAULT_MAX_POWER_W, InstantBuffer, SampleBuffer, median3, noWrapPeriodMs, wrapsToAdd, type InstantReadings, type MetrologyDriver, type PhaseReading, type Sample } from './readings.js';

/** Board constants: physical value of one register LSB. */
export interface Ade7953Scale {
  voltsPerLsb: number;
  ampsPerLsb: number;
  wattsPerLsb: number;
  whPerLsb: number;
}

/** Reference board: 0.5 V peak full scale behind a 1000:1 divider (353.55 V rms) and a current sensor
 *  giving full scale at 100 A peak (70.71 A rms); full-scale power 25 kW. */
export const ADE7953_REFERENCE_SCALE: Ade7953Scale = Object.freeze({
  voltsPerLsb: (500 / Math.SQRT2) / ADE7953_FULL_SCALE_RMS,
  ampsPerLsb: (100 / Math.SQRT2) / ADE7953_FULL_SCALE_RMS,
  wattsPerLsb: 25000 / ADE7953_FULL_SCALE_POWER,
  whPerLsb: 25000 / ADE7953_FULL_SCALE_ENERGY_RATE / 3600,
});

export interface Ade7953Options {
  /** Exactly one of spi or i2c (I2C address 0x38 is the host's business). */
  spi?: SpiPort;
  i2c?: I2cPort;
  clock: Clock;
  calibration: Calibration;
  scale?: Ade7953Scale;
  lineFrequency?: 50 | 60;
  /** Highest plausible power per channel, W; an energy delta above it is a fault (default 30 kW). */
  maxPowerW?: number;
}

const WRAP = 0x1000000;

/** The longest sample period, ms, in which no 24-bit energy register can wrap unseen at
 *  `maxPowerW` a channel (readings.ts noWrapPeriodMs): 33 s at 30 kW on the reference board. */
export function ade7953MaxSamplePeriodMs(maxPowerW = DEFAULT_MAX_POWER_W, scale: Ade7953Scale = ADE7953_REFERENCE_SCALE): number {
  return noWrapPeriodMs(WRAP, scale.whPerLsb, maxPowerW);
}
/** Numbers per channel in Ade7953's `chan`, and where each sits (see there). */
const CH = 4;
const LAST = 0;
const COUNT = 1;
const POWER = 2;
const DELTA = 3;
const sign24 = (v: number): number => (v << 8) >> 8;

export class Ade7953 implements MetrologyDriver {
  readonly phaseCount: number;
  private readonly spi: SpiPort | undefined;
  private readonly i2c: I2cPort | undefined;
  private readonly clock: Clock;
  private readonly scale: Ade7953Scale;
  private readonly frequency: number;
  private readonly maxPowerW: number;
  private calibration: Calibration;
  private expectedCrc = -1;
  private lastTicks = 0;
  private closed = false;
  private readonly samples: SampleBuffer;
  private instant: InstantBuffer | undefined = undefined;
  /** The SPI frame of a 32-bit register (4 data bytes); the shorter frames are views of it. */
  private readonly buf = new Uint8Array(7);
  /** The frame of a 16-bit register (PERIOD, PFx: every sample), made once: the sample's register
   *  reads allocate nothing. 8- and 24-bit frames (configuration, a reset) are made when used. */
  private readonly frame16 = this.buf.subarray(0, 5);
  /** Per channel ch, at CH · ch: the counter the next delta is taken from (LAST; NaN until read),
   *  this sample's counter (COUNT), median power (POWER) and delta (DELTA). One exact-size array
   *  of doubles rather than five grown ones (a fleet holds one per meter). */
  private readonly chan: number[];

  constructor(options: Ade7953Options) {
    if (!options || !!options.spi === !!options.i2c) {
      throw new MetrologyFault('bad-options', 'ADE7953 needs exactly one of spi or i2c', { chip: 'ade7953' });
    }
    if (options.calibration.chip !== 'ade7953') {
      throw new CalibrationError('calibration-range', `calibration is for ${options.calibration.chip}, not ade7953`, { field: 'chip' });
    }
    this.spi = options.spi;
    this.i2c = options.i2c;
    this.clock = options.clock;
    this.scale = options.scale ?? ADE7953_REFERENCE_SCALE;
    this.frequency = options.lineFrequency ?? 50;
    this.maxPowerW = options.maxPowerW ?? DEFAULT_MAX_POWER_W;
    this.calibration = options.calibration;
    this.phaseCount = options.calibration.channels.length;
    this.samples = new SampleBuffer(this.phaseCount);
    this.chan = new Array<number>(CH * this.phaseCount).fill(NaN);
  }

  // --- register access -------------------------------------------------------------------------

  private read(address: number): number {
    const n = ade7953Width(address) >> 3;
    const b = this.buf;
    const spi = this.spi;
    if (spi) {
      // Unrolled by width (1–4 data bytes): the data bytes clocked out are zeros, the reply is
      // combined in integers (a 32-bit one as unsigned, the same value as the bytes' sum).
      const frame = n === 4 ? b : n === 2 ? this.frame16 : b.subarray(0, 3 + n);
      frame[0] = address >> 8;
      frame[1] = address & 0xff;
      frame[2] = ADE7953_READ;
      frame[3] = 0;
      if (n === 1) {
        spi.transfer(frame);
        spi.flush();
        return frame[3];
      }
      frame[4] = 0;
      if (n === 2) {
        spi.transfer(frame);
        spi.flush();
        return (frame[3] << 8) | frame[4];
      }
      frame[5] = 0;
      if (n === 3) {
        spi.transfer(frame);
        spi.flush();
        return (frame[3] << 16) | (frame[4] << 8) | frame[5];
      }
      frame[6] = 0;
      spi.transfer(frame);
      spi.flush();
      return ((frame[3] << 24) | (frame[4] << 16) | (frame[5] << 8) | frame[6]) >>> 0;
    }
    const i2c = this.i2c as I2cPort;
    b[0] = address >> 8;
    b[1] = address & 0xff;
    i2c.write(b.subarray(0, 2), false);
    const data = b.subarray(2, 2 + n);
    i2c.read(data);
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + data[i];
    return v;
  }

  private write(address: number, value: number): void {
    const n = ade7953Width(address) >> 3;
    const out = new Uint8Array((this.spi ? 3 : 2) + n);
    out[0] = address >> 8;
    out[1] = address & 0xff;
    let o = 2;
    if (this.spi) out[o++] = ADE7953_WRITE;
    for (let i = n - 1; i >= 0; i--) out[o++] = Math.floor(value / 2 ** (8 * i)) & 0xff;
    if (this.spi) {
      this.spi.write(out);
      this.spi.flush();
    } else (this.i2c as I2cPort).write(out);
  }

  /** A 32-bit view of a 24-bit register: the top byte must be the sign (or zero) extension. */
  private read24(address: number, signed: boolean): number {
    const v = this.read(address);
    const top = v >>> 24; // (v is below 2^32: its top byte)
    const want = signed && v & 0x800000 ? 0xff : 0;
    if (top !== want) {
      throw new MetrologyFault('bus-garbage', `ADE7953 register 0x${address.toString(16)} read 0x${v.toString(16)}: not a 24-bit value`, {
        register: address,
        value: v,
      });
    }
    return signed ? sign24(v) : v & 0xffffff;
  }

  /** The median of three reads of a power register (AWATT, BWATT), in LSBs; the third only when
   *  the first two differ (see median3): one garbled reply does not pass. */
  private medianWatt(address: number): number {
    const a = this.read24(address, true);
    const b = this.read24(address, true);
    return a === b ? a : median3(a, b, this.read24(address, true));
  }

  /** A status register read until two replies agree (a garbled status must not look like a reset). */
  private readStable(address: number): number {
    let v = this.read(address);
    for (let i = 0; i < 3; i++) {
      const w = this.read(address);
      if (w === v) {
        if (ade7953Width(address) === 32 && address !== ADE7953.CRC) return this.read24(address, false);
        return v;
      }
      v = w;
    }
    throw new MetrologyFault('bus-garbage', `ADE7953 register 0x${address.toString(16)} answers differently each time`, { register: address });
  }

  /** An energy register, trusted only when LAST_RWDATA echoes it (one retry). */
  private readEnergy(address: number): number {
    for (let attempt = 0; attempt < 2; attempt++) {
      const v = this.read24(address, true);
      const echo = this.read(ADE7953.LAST_RWDATA_32);
      if (sign24(echo) === v && (echo >>> 24 === 0 || echo >>> 24 === 0xff)) return v;
    }
    throw new MetrologyFault('bus-garbage', `ADE7953 energy register 0x${address.toString(16)} read back inconsistently`, { register: address });
  }

  // --- configuration ---------------------------------------------------------------------------

  /** AP_NOLOAD / VAR_NOLOAD for a threshold in watts (data sheet Eq. 39); `undefined` for 0 W
   *  (no-load detection off). A threshold below what the 16-bit range can express is refused. */
  private noLoadRegister(noLoadW: number): number | undefined {
    if (noLoadW === 0) return undefined;
    const fullScaleW = this.scale.wattsPerLsb * ADE7953_FULL_SCALE_POWER;
    const reg = Math.round(ADE7953_NOLOAD_BASE - fullScaleW / (ADE7953_NOLOAD_DIVISOR * noLoadW));
    if (reg < 0) {
      const lowest = fullScaleW / (ADE7953_NOLOAD_DIVISOR * ADE7953_NOLOAD_BASE);
      throw new CalibrationError('calibration-range', `no-load threshold ${noLoadW} W is below the ADE7953's lowest, ${lowest.toFixed(3)} W on this board`, { field: 'noLoadW' });
    }
    return reg;
  }

  /** The register writes of a configuration, in order (a register may appear twice: DISNOLOAD is
   *  set around the threshold writes); the value each holds afterwards is its last write. */
  private registerPlan(cal: Calibration): [number, number][] {
    const s = this.scale;
    const gain = (g: number): number => Math.round(ADE7953_UNITY_GAIN * g);
    const s24 = (v: number): number => Math.round(v) & 0xffffff;
    const phcal = (deg: number, ch: number): number => {
      const steps = Math.round(deg / (360 * this.frequency * ADE7953_PHCAL_STEP_S));
      if (Math.abs(steps) > ADE7953_PHCAL_MAX) {
        throw new CalibrationError('calibration-range', `phase correction ${deg}° of channel ${ch} exceeds the ADE7953 PHCAL range`, { field: 'phaseDeg', channel: ch });
      }
      return steps < 0 ? 0x200 | -steps : steps; // sign-magnitude, sign in bit 9
    };
    const a = cal.channels[0];
    if (cal.channels.length > 1 && cal.channels[1].voltageGain !== a.voltageGain) {
      throw new CalibrationError('calibration-range', 'ADE7953 channels share the voltage channel: voltageGain of channel 1 must equal channel 0', { field: 'voltageGain', channel: 1 });
    }
    const noLoad = this.noLoadRegister(cal.noLoadW);
    const plan: [number, number][] = [
      [ADE7953.CONFIG, ADE7953_CONFIG_DEFAULT | ADE7953_CONFIG_CRC_ENABLE],
      [ADE7953.LCYCMODE, 0x00],
      [ADE7953.PGA_V, 0],
      [ADE7953.PGA_IA, 0],
      [ADE7953.PGA_IB, 0],
      // Thresholds are written with no-load detection off (Tasmota: "required before setting thresholds").
      [ADE7953.DISNOLOAD, ADE7953_DISNOLOAD_ALL],
    ];
    if (noLoad !== undefined) plan.push([ADE7953.AP_NOLOAD, noLoad], [ADE7953.VAR_NOLOAD, noLoad], [ADE7953.DISNOLOAD, 0x00]);
    plan.push(
      [ADE7953.AVGAIN, gain(a.voltageGain)],
      [ADE7953.AIGAIN, gain(a.currentGain)],
      [ADE7953.AWGAIN, gain(a.powerGain)],
      [ADE7953.AVARGAIN, gain(a.powerGain)],
      [ADE7953.AWATTOS, s24(a.powerOffsetW / s.wattsPerLsb)],
      [ADE7953.AVAROS, s24(a.reactiveOffsetVar / s.wattsPerLsb)],
      [ADE7953.PHCALA, phcal(a.phaseDeg, 0)],
    );
    const b = cal.channels[1];
    if (b) {
      plan.push(
        [ADE7953.BIGAIN, gain(b.currentGain)],
        [ADE7953.BWGAIN, gain(b.powerGain)],
        [ADE7953.BVARGAIN, gain(b.powerGain)],
        [ADE7953.BWATTOS, s24(b.powerOffsetW / s.wattsPerLsb)],
        [ADE7953.BVAROS, s24(b.reactiveOffsetVar / s.wattsPerLsb)],
        [ADE7953.PHCALB, phcal(b.phaseDeg, 1)],
      );
    }
    return plan;
  }

  configure(options: { calibration?: Calibration } = {}): void {
    this.checkOpen();
    const cal = options.calibration ?? this.calibration;
    if (cal.chip !== 'ade7953' || cal.channels.length !== this.phaseCount) {
      throw new CalibrationError('calibration-range', `calibration does not fit this ADE7953 (${cal.chip}, ${cal.channels.length} channels)`, { field: 'chip' });
    }
    const plan = this.registerPlan(cal); // may refuse before anything is written
    this.write(ADE7953.UNLOCK, ADE7953_UNLOCK_KEY);
    this.write(ADE7953.RESERVED_120, ADE7953_RESERVED_120_OPTIMUM);
    for (const [reg, value] of plan) this.write(reg, value);
    const final = new Map<number, number>([[ADE7953.RESERVED_120, ADE7953_RESERVED_120_OPTIMUM]]);
    for (const [reg, value] of plan) final.set(reg, value);
    for (const [reg, value] of final) {
      const got = ade7953Width(reg) === 32 ? this.read(reg) & 0xffffff : this.read(reg);
      if (got !== value) {
        throw new MetrologyFault('configure-verify', `ADE7953 register 0x${reg.toString(16)} reads 0x${got.toString(16)} after writing 0x${value.toString(16)}`, { register: reg, wrote: value, read: got });
      }
    }
    this.calibration = cal;
    this.expectedCrc = this.readStable(ADE7953.CRC);
    if (this.expectedCrc === ADE7953_CRC_RESET) {
      throw new MetrologyFault('configure-verify', 'ADE7953 CRC register stays 0xFFFFFFFF with CRC_ENABLE set: no configuration checksum', { register: ADE7953.CRC, read: this.expectedCrc });
    }
    this.read(ADE7953.RSTIRQSTATA); // clears RESET and the other flags
    this.rebase();
  }

  /** Takes the current counters and powers as the reference for the next delta. */
  private rebase(): void {
    this.lastTicks = this.clock.ticks();
    const c = this.chan;
    // None until read (a read that faults leaves the rest unknown: their deltas are NaN, read as 0).
    for (let ch = 0; ch < this.phaseCount; ch++) c[CH * ch + LAST] = NaN;
    for (let ch = 0; ch < this.phaseCount; ch++) {
      c[CH * ch + LAST] = this.readEnergy(ch === 0 ? ADE7953.AENERGYA : ADE7953.AENERGYB);
      c[CH * ch + POWER] = this.read24(ch === 0 ? ADE7953.AWATT : ADE7953.BWATT, true);
    }
  }

  // --- sampling --------------------------------------------------------------------------------

  sample(): Sample {
    this.checkOpen();
    const ticks = this.clock.ticks();
    const n = this.phaseCount;
    const out = this.samples.begin(ticks);
    let powersRead = false;
    try {
      const irq = this.readStable(ADE7953.IRQSTATA);
      // A reset both raises IRQSTATA.RESET and restores LCYCMODE's default (we write 0x00).
      if (irq & ADE7953_IRQ_RESET && this.readStable(ADE7953.LCYCMODE) !== 0) {
        // Counters restarted at 0 in read-with-reset mode: what they hold now is all there is.
        out.chipReset = true;
        const c = this.chan; // the counts, at COUNT (configure's rebase writes LAST and POWER)
        for (let ch = 0; ch < n; ch++) c[CH * ch + COUNT] = this.readEnergy(ch === 0 ? ADE7953.AENERGYA : ADE7953.AENERGYB);
        this.configure();
        this.credit(out, COUNT, 0);
      } else {
        const crc = this.readStable(ADE7953.CRC);
        if (crc !== this.expectedCrc) {
          const code = crc === 0 ? 'bus-stuck' : crc === 0xffffffff ? 'bus-garbage' : 'checksum';
          const fault = new MetrologyFault(code, `ADE7953 configuration CRC 0x${crc.toString(16)} differs from 0x${this.expectedCrc.toString(16)}`, { register: ADE7953.CRC, read: crc });
          if (code === 'checksum') {
            // Configuration changed behind our back: the counters cannot be trusted since the last sample.
            this.configure();
            out.chipReset = true;
          }
          throw fault;
        }
        const c = this.chan;
        for (let ch = 0; ch < n; ch++) {
          const k = CH * ch;
          c[k + COUNT] = this.readEnergy(ch === 0 ? ADE7953.AENERGYA : ADE7953.AENERGYB);
          const w = this.medianWatt(ch === 0 ? ADE7953.AWATT : ADE7953.BWATT);
          if (Math.abs(w * this.scale.wattsPerLsb) > this.maxPowerW * 1.2) {
            throw new MetrologyFault('implausible-power', `ADE7953 channel ${ch} power ${w * this.scale.wattsPerLsb} W`, { channel: ch });
          }
          c[k + POWER] = w;
        }
        const dtS = (ticks - this.lastTicks) / 1000;
        for (let ch = 0; ch < n; ch++) {
          const at = CH * ch;
          const count = c[at + COUNT];
          const raw = sign24(count - c[at + LAST]);
          const perCount = this.scale.whPerLsb * 3600;
          const k = wrapsToAdd(raw, (c[at + POWER] * this.scale.wattsPerLsb * dtS) / perCount, (this.maxPowerW * dtS) / perCount, WRAP);
          const delta = raw + k * WRAP;
          if (Math.abs(delta) * this.scale.whPerLsb > (this.maxPowerW * 1.2 * dtS) / 3600 + 1) {
            this.rebase(); // start afresh rather than fault on every later sample
            throw new MetrologyFault('implausible-energy', `ADE7953 channel ${ch}: ${(delta * this.scale.whPerLsb).toFixed(1)} Wh in ${dtS} s`, { channel: ch, counts: delta });
          }
          out.wraps += Math.abs(k);
          c[at + DELTA] = delta;
          // This counter is the next reference (a later channel's fault rebases them all).
          c[at + LAST] = count;
        }
        this.credit(out, DELTA, ticks);
        powersRead = true;
      }
      // The total active power: this sample's medians, or after a reset (none read) one read each.
      for (let ch = 0; ch < n; ch++) {
        const w = powersRead ? this.chan[CH * ch + POWER] : this.read24(ch === 0 ? ADE7953.AWATT : ADE7953.BWATT, true);
        out.totalActivePower += w * this.scale.wattsPerLsb;
      }
    } catch (e) {
      if (!(e instanceof MetrologyFault)) throw e;
      out.fault = e;
    }
    return out;
  }

  /** Credits each channel's counts at `at` in `chan` (DELTA, or COUNT after a reset). */
  private credit(out: Sample, at: number, ticks: number): void {
    const c = this.chan;
    for (let ch = 0; ch < this.phaseCount; ch++) {
      const wh = c[CH * ch + at] * this.scale.whPerLsb;
      if (wh > 0) out.importWh[ch] = wh;
      else if (wh < 0) out.exportWh[ch] = -wh;
    }
    if (ticks) this.lastTicks = ticks;
  }

  /** Reads the instantaneous registers now, once the configuration CRC shows the chip runs as
   *  configured (the power the median of reads, as in sample()). */
  instantaneous(): InstantReadings {
    this.checkOpen();
    if (this.expectedCrc === -1) throw new MetrologyFault('not-configured', 'ADE7953 not configured yet: no instantaneous readings', { chip: 'ade7953' });
    const crc = this.readStable(ADE7953.CRC);
    if (crc !== this.expectedCrc) {
      const code = crc === 0 ? 'bus-stuck' : crc === 0xffffffff ? 'bus-garbage' : 'checksum';
      throw new MetrologyFault(code, `ADE7953 configuration CRC 0x${crc.toString(16)} is not the 0x${this.expectedCrc.toString(16)} written: no instantaneous readings`, { register: ADE7953.CRC, read: crc });
    }
    const out = (this.instant ??= new InstantBuffer(this.phaseCount)).begin(this.clock.ticks());
    const s = this.scale;
    const v = this.read24(ADE7953.VRMS, false) * s.voltsPerLsb;
    const period = this.read(ADE7953.PERIOD);
    out.frequency = ADE7953_PERIOD_CLOCK / (period + 1);
    for (let ch = 0; ch < this.phaseCount; ch++) {
      const a = ch === 0;
      const r: PhaseReading = this.instant.reading(ch);
      r.voltage = v;
      r.current = this.read24(a ? ADE7953.IRMSA : ADE7953.IRMSB, false) * s.ampsPerLsb;
      r.activePower = this.medianWatt(a ? ADE7953.AWATT : ADE7953.BWATT) * s.wattsPerLsb;
      r.reactivePower = this.read24(a ? ADE7953.AVAR : ADE7953.BVAR, true) * s.wattsPerLsb;
      const pf = this.read(a ? ADE7953.PFA : ADE7953.PFB);
      r.powerFactor = ((pf << 16) >> 16) / 32768;
      out.phases.push(r);
      out.totalActivePower += r.activePower;
      out.totalReactivePower += r.reactivePower;
    }
    return out;
  }

  close(): void {
    this.closed = true;
  }

  private checkOpen(): void {
    if (this.closed) throw new MetrologyFault('closed', 'ADE7953 driver is closed', { chip: 'ade7953' });
  }
}
