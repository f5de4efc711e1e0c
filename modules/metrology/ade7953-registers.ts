/**
 * ADE7953 register map (Analog Devices ADE7953 data sheet Rev. B, Tables 13–15: 8-, 16-, 24- and
 * 32-bit registers). The width follows from the address range: 0x000–0x0FF 8 bit, 0x100–0x1FF 16 bit,
 * 0x200–0x2FF 24 bit, 0x300–0x3FF the same registers as 32 bit (the low 24 bits valid, the upper 8
 * sign extended); 0x702 (Version) and 0x800 (EX_REF) are 8 bit. Shared by the driver and the simulator.
 */

export const ADE7953 = {
  SAGCYC: 0x000,
  DISNOLOAD: 0x001,
  LCYCMODE: 0x004,
  PGA_V: 0x007,
  PGA_IA: 0x008,
  PGA_IB: 0x009,
  WRITE_PROTECT: 0x040,
  LAST_OP: 0x0fd,
  UNLOCK: 0x0fe,
  LAST_RWDATA_8: 0x0ff,
  CONFIG: 0x102,
  PHCALA: 0x108,
  PHCALB: 0x109,
  PFA: 0x10a,
  PFB: 0x10b,
  PERIOD: 0x10e,
  RESERVED_120: 0x120,
  LAST_ADD: 0x1fe,
  LAST_RWDATA_16: 0x1ff,
  ACCMODE: 0x301,
  AP_NOLOAD: 0x303,
  VAR_NOLOAD: 0x304,
  AWATT: 0x312,
  BWATT: 0x313,
  AVAR: 0x314,
  BVAR: 0x315,
  IRMSA: 0x31a,
  IRMSB: 0x31b,
  VRMS: 0x31c,
  AENERGYA: 0x31e,
  AENERGYB: 0x31f,
  RENERGYA: 0x320,
  RENERGYB: 0x321,
  IRQENA: 0x32c,
  IRQSTATA: 0x32d,
  RSTIRQSTATA: 0x32e,
  CRC: 0x37f,
  AIGAIN: 0x380,
  AVGAIN: 0x381,
  AWGAIN: 0x382,
  AVARGAIN: 0x383,
  AIRMSOS: 0x386,
  VRMSOS: 0x388,
  AWATTOS: 0x389,
  AVAROS: 0x38a,
  BIGAIN: 0x38c,
  BWGAIN: 0x38e,
  BVARGAIN: 0x38f,
  BIRMSOS: 0x392,
  BWATTOS: 0x395,
  BVAROS: 0x396,
  LAST_RWDATA_32: 0x3ff,
  VERSION: 0x702,
  EX_REF: 0x800,
} as const;

export type Ade7953Register = keyof typeof ADE7953;

/** Register width in bits, from the address (data sheet, "ADE7953 Registers"). */
export function ade7953Width(address: number): 8 | 16 | 24 | 32 {
  if (address === ADE7953.VERSION || address === ADE7953.EX_REF) return 8;
  if (address < 0x100) return 8;
  if (address < 0x200) return 16;
  if (address < 0x300) return 24;
  return 32;
}

/** SPI/I2C read and write command bytes following the 16-bit address (data sheet, "SPI Interface"). */
export const ADE7953_READ = 0x80;
export const ADE7953_WRITE = 0x00;
/** Unlock key written to 0x0FE right before the write of 0x30 to 0x120 (data sheet Table 14 note). */
export const ADE7953_UNLOCK_KEY = 0xad;
export const ADE7953_RESERVED_120_OPTIMUM = 0x30;
/** LCYCMODE bit 6: energy registers read with reset (default 1). */
export const ADE7953_LCYCMODE_RSTREAD = 0x40;
/** IRQSTATA bits (data sheet Table 23): active energy A overflow, end of reset. */
export const ADE7953_IRQ_AEOFA = 1 << 3;
export const ADE7953_IRQ_RESET = 1 << 20;
/** CONFIG (0x102): bit 7 software reset; bit 8 CRC_ENABLE (Analog Devices no-OS ade7953.h,
 *  ADE7953_CRC_ENABLE_MSK = BIT(8)): the checksum register is computed only while it is set. The reset
 *  value 0x8004 (COMM_LOCK, HPFEN) leaves it clear. */
export const ADE7953_CONFIG_SWRST = 0x80;
export const ADE7953_CONFIG_CRC_ENABLE = 0x100;
export const ADE7953_CONFIG_DEFAULT = 0x8004;
/** CRC (0x37F) reset value (Tasmota xnrg_07_ade7953.ino register table: 0xFFFFFFFF): what it reads
 *  while CRC_ENABLE is clear — the same as a floating MISO line. */
export const ADE7953_CRC_RESET = 0xffffffff;
/** DISNOLOAD (0x001) bits (no-OS ade7953.h): 0 active, 1 reactive, 2 apparent no-load detection off. */
export const ADE7953_DISNOLOAD_ALL = 0x07;
/**
 * No-load threshold (data sheet Eq. 39): AP_NOLOAD = 65 536 − Y / 1.4, where the chip stops
 * accumulating below 1/Y of full-scale power; the reset value 0x00E419 = 65 536 − 10 000 / 1.4 is a
 * 1:10 000 dynamic range. Tasmota writes 29 196 ("half the default ... to measure lower powers") with
 * DISNOLOAD = 7 around the write ("required before setting thresholds"). So the threshold in watts is
 * fullScaleW / (1.4 × (65 536 − AP_NOLOAD)): a register is not in watts, and 0…65 535 spans
 * fullScaleW / 91 750 (about 0.27 W on the reference board) up to fullScaleW / 1.4.
 */
export const ADE7953_NOLOAD_BASE = 65536;
export const ADE7953_NOLOAD_DIVISOR = 1.4;
export const ADE7953_NOLOAD_RESET = 0x00e419;
/** Gain registers: 0x400000 is unity (data sheet, "Gain Calibration"). */
export const ADE7953_UNITY_GAIN = 0x400000;
/** Full-scale codes at full-scale analog inputs (0.5 V peak): VRMS/IRMS 9 032 007, AWATT 4 862 401. */
export const ADE7953_FULL_SCALE_RMS = 9032007;
export const ADE7953_FULL_SCALE_POWER = 4862401;
/** Energy accumulation at full-scale inputs: ~206.9 kHz of AENERGY LSBs (data sheet, "Active Energy Calculation"). */
export const ADE7953_FULL_SCALE_ENERGY_RATE = 206900;
/** PERIOD register clock: f = 223 750 / (PERIOD + 1) Hz (also ESPHome ade7953_base, Tasmota). */
export const ADE7953_PERIOD_CLOCK = 223750;
/**
 * PHCALx: sign-magnitude (sign in bit 9), one LSB = 1.117 µs of delay (1/895 kHz; data sheet "Phase
 * Calibration": 0.02° at 50 Hz) — a clock of its own, not the 223.75 kHz of PERIOD/ANGLE. Range ±383
 * (Tasmota ADE7953_PHCAL_DEFAULT "range -383 to 383"), ±7.7° at 50 Hz; Tasmota's default 200 for
 * current transformers is then a plausible 4.0° CT lag (at 4.47 µs it would be 16°).
 */
export const ADE7953_PHCAL_STEP_S = 1 / 895000;
export const ADE7953_PHCAL_MAX = 383;
