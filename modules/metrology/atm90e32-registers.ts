/**
 * ATM90E32AS register map (Microchip/Atmel ATM90E32AS data sheet, register list; addresses as used by
 * the ESPHome atm90e32 component, esphome/components/atm90e32/atm90e32_reg.h). Every register is
 * 16 bit; an SPI frame is a 16-bit address word (bit 15 = 1 for read) then a 16-bit data word.
 * Shared by the driver and the simulator.
 */

export const ATM90E32 = {
  MeterEn: 0x00,
  ChannelMapI: 0x01,
  ChannelMapU: 0x02,
  PLconstH: 0x31,
  PLconstL: 0x32,
  MMode0: 0x33,
  MMode1: 0x34,
  PStartTh: 0x35,
  QStartTh: 0x36,
  SStartTh: 0x37,
  PPhaseTh: 0x38,
  QPhaseTh: 0x39,
  SPhaseTh: 0x3a,
  PoffsetA: 0x41,
  QoffsetA: 0x42,
  PoffsetB: 0x43,
  QoffsetB: 0x44,
  PoffsetC: 0x45,
  QoffsetC: 0x46,
  PQGainA: 0x47,
  PhiA: 0x48,
  PQGainB: 0x49,
  PhiB: 0x4a,
  PQGainC: 0x4b,
  PhiC: 0x4c,
  UgainA: 0x61,
  IgainA: 0x62,
  UoffsetA: 0x63,
  IoffsetA: 0x64,
  UgainB: 0x65,
  IgainB: 0x66,
  UoffsetB: 0x67,
  IoffsetB: 0x68,
  UgainC: 0x69,
  IgainC: 0x6a,
  UoffsetC: 0x6b,
  IoffsetC: 0x6c,
  SoftReset: 0x70,
  EMMState0: 0x71,
  EMMState1: 0x72,
  LastSPIData: 0x78,
  CRCErrStatus: 0x79,
  CRCDigest: 0x7a,
  CfgRegAccEn: 0x7f,
  APenergyT: 0x80,
  APenergyA: 0x81,
  APenergyB: 0x82,
  APenergyC: 0x83,
  ANenergyT: 0x84,
  ANenergyA: 0x85,
  ANenergyB: 0x86,
  ANenergyC: 0x87,
  RPenergyT: 0x88,
  RPenergyA: 0x89,
  RPenergyB: 0x8a,
  RPenergyC: 0x8b,
  RNenergyT: 0x8c,
  RNenergyA: 0x8d,
  RNenergyB: 0x8e,
  RNenergyC: 0x8f,
  PmeanT: 0xb0,
  PmeanA: 0xb1,
  PmeanB: 0xb2,
  PmeanC: 0xb3,
  QmeanT: 0xb4,
  QmeanA: 0xb5,
  QmeanB: 0xb6,
  QmeanC: 0xb7,
  PFmeanT: 0xbc,
  PFmeanA: 0xbd,
  PFmeanB: 0xbe,
  PFmeanC: 0xbf,
  PmeanTLSB: 0xc0,
  PmeanALSB: 0xc1,
  PmeanBLSB: 0xc2,
  PmeanCLSB: 0xc3,
  QmeanTLSB: 0xc4,
  QmeanALSB: 0xc5,
  QmeanBLSB: 0xc6,
  QmeanCLSB: 0xc7,
  UrmsA: 0xd9,
  UrmsB: 0xda,
  UrmsC: 0xdb,
  IrmsA: 0xdd,
  IrmsB: 0xde,
  IrmsC: 0xdf,
  Freq: 0xf8,
} as const;

export type Atm90e32Register = keyof typeof ATM90E32;

/** The per-phase registers, indexed by phase (A, B, C): a table so no phase reads another's register. */
export const ATM90E32_PHASE = [
  { APenergy: ATM90E32.APenergyA, ANenergy: ATM90E32.ANenergyA, RPenergy: ATM90E32.RPenergyA, RNenergy: ATM90E32.RNenergyA, Pmean: ATM90E32.PmeanA, PmeanLSB: ATM90E32.PmeanALSB, Qmean: ATM90E32.QmeanA, QmeanLSB: ATM90E32.QmeanALSB, PFmean: ATM90E32.PFmeanA, Urms: ATM90E32.UrmsA, Irms: ATM90E32.IrmsA, Poffset: ATM90E32.PoffsetA, Qoffset: ATM90E32.QoffsetA, PQGain: ATM90E32.PQGainA, Phi: ATM90E32.PhiA, Ugain: ATM90E32.UgainA, Igain: ATM90E32.IgainA },
  { APenergy: ATM90E32.APenergyB, ANenergy: ATM90E32.ANenergyB, RPenergy: ATM90E32.RPenergyB, RNenergy: ATM90E32.RNenergyB, Pmean: ATM90E32.PmeanB, PmeanLSB: ATM90E32.PmeanBLSB, Qmean: ATM90E32.QmeanB, QmeanLSB: ATM90E32.QmeanBLSB, PFmean: ATM90E32.PFmeanB, Urms: ATM90E32.UrmsB, Irms: ATM90E32.IrmsB, Poffset: ATM90E32.PoffsetB, Qoffset: ATM90E32.QoffsetB, PQGain: ATM90E32.PQGainB, Phi: ATM90E32.PhiB, Ugain: ATM90E32.UgainB, Igain: ATM90E32.IgainB },
  { APenergy: ATM90E32.APenergyC, ANenergy: ATM90E32.ANenergyC, RPenergy: ATM90E32.RPenergyC, RNenergy: ATM90E32.RNenergyC, Pmean: ATM90E32.PmeanC, PmeanLSB: ATM90E32.PmeanCLSB, Qmean: ATM90E32.QmeanC, QmeanLSB: ATM90E32.QmeanCLSB, PFmean: ATM90E32.PFmeanC, Urms: ATM90E32.UrmsC, Irms: ATM90E32.IrmsC, Poffset: ATM90E32.PoffsetC, Qoffset: ATM90E32.QoffsetC, PQGain: ATM90E32.PQGainC, Phi: ATM90E32.PhiC, Ugain: ATM90E32.UgainC, Igain: ATM90E32.IgainC },
] as const;

/** Address word bit 15: read. */
export const ATM90E32_READ = 0x8000;
/** SoftReset key, and the wait after it: ESPHome atm90e32.cpp writes 0x789A, then delay(6) "Wait for
 *  the minimum 5ms + 1ms" before CfgRegAccEn; writes inside the 5 ms are lost. */
export const ATM90E32_SOFT_RESET_KEY = 0x789a;
export const ATM90E32_RESET_MS = 5;
export const ATM90E32_RESET_WAIT_MS = 6;
/** CfgRegAccEn: 0x55AA opens the configuration and calibration registers (0x30–0x6F) for writing. */
export const ATM90E32_CFG_UNLOCK = 0x55aa;
export const ATM90E32_CFG_LOCK = 0x0000;
/** The configuration/calibration block covered by CRCDigest. */
export const ATM90E32_CFG_FIRST = 0x30;
export const ATM90E32_CFG_LAST = 0x6f;
/** MMode0 default (ESPHome writes 0x0087: 3P4W, every phase counted into the all-phase sum; bit 12 selects 60 Hz). */
export const ATM90E32_MMODE0_50HZ = 0x0087;
export const ATM90E32_MMODE0_60HZ_BIT = 0x1000;
/** Meter constant MC (imp/kWh) = 450 000 000 000 / PL_constant (PLconstH:PLconstL); 3200 imp/kWh ↔ 140 625 000. */
export const ATM90E32_PL_NUMERATOR = 450_000_000_000;
/** Energy registers count in 0.01 CF pulses: one LSB = 1/(100·MC) kWh = 10/MC Wh (ESPHome: "0.01CF
 *  resolution = 0.003125 Wh per count" at 3200 imp/kWh). */
export const ATM90E32_ENERGY_PER_CF = 100;
/** Scaling of readings (ESPHome atm90e32.cpp): Urms 0.01 V, Irms 0.001 A, Pmean/Qmean as a 32-bit
 *  value (word + LSB word) of 0.00032 W, PFmean 0.001, Freq 0.01 Hz. */
export const ATM90E32_URMS_LSB = 0.01;
export const ATM90E32_IRMS_LSB = 0.001;
export const ATM90E32_POWER_LSB = 0.00032;
export const ATM90E32_PF_LSB = 0.001;
export const ATM90E32_FREQ_LSB = 0.01;
/**
 * Power thresholds and offsets share the Pmean LSB, 0.00032 W (var):
 * - PStartTh/QStartTh, the all-phase startup (no-load) threshold, and PPhaseTh/QPhaseTh, the per-phase
 *   accumulation threshold: ESPHome writes PStartTh 0x1D4C ("0.02A/0.00032 = 7500") and PPhaseTh
 *   0x02EE ("/0.00032 = 750"), the CircuitSetup library PStartTh 0x0AFC ("0.9/0.00032 = 2812.5") and
 *   PPhaseTh 0x00BC ("0.06/0.00032 = 187.5");
 * - Poffset/Qoffset: ESPHome calibrate_power_offset writes the low 16 bits of the negated 32-bit
 *   Pmean/Qmean, i.e. two's complement in Pmean LSBs (±10.49 W).
 */
export const ATM90E32_THRESHOLD_LSB_W = ATM90E32_POWER_LSB;
export const ATM90E32_OFFSET_LSB_W = ATM90E32_POWER_LSB;
/**
 * PQGain and Phi (0x47–0x4C): no open driver writes anything but 0 to them (the CircuitSetup library
 * clears them, ESPHome leaves them) and their fixed-point formats could not be confirmed. The driver
 * writes 0 and calibrates without them: power and energy through Ugain/Igain, which the chip applies
 * to the samples before P, Q and energy are computed (ESPHome and CircuitSetup calibrate power that
 * way), and the phase in firmware (atm90e32.ts).
 */
export const ATM90E32_PQGAIN_UNUSED = 0;
export const ATM90E32_PHI_UNUSED = 0;
