/**
 * CC1101 register settings for wireless M-Bus transmission in modes T1 and C1 (EN 13757-4 §7 / §8:
 * 868.95 MHz, 2-FSK, 100 kcps). Values follow TI application note SWRA234A "Wireless MBUS
 * Implementation with CC1101 and CC1110" (the register set also used by the esphome wmbus
 * components), with the TX-specific fields recomputed from the SWRS061 formulas for a 26 MHz crystal:
 *
 *   f_carrier = FXOSC / 2^16 · FREQ[23:0]                       0x216BD1 → 868.950104 MHz
 *   R_data    = (256 + DRATE_M) · 2^DRATE_E / 2^28 · FXOSC      E = 11, M = 248 → 99.976 kbaud
 *   f_dev     = FXOSC / 2^17 · (8 + DEVIATION_M) · 2^DEVIATION_E
 *               T1: 0x50 → 50.78 kHz (EN 13757-4 T1: 40…80 kHz, nominal 50)
 *               C1: 0x46 → 44.43 kHz (EN 13757-4 C1: nominal 45 kHz)
 *
 * The chip sends NUM_PREAMBLE bytes of 0xAA, then the 16-bit sync word SYNC1:SYNC0 = 0x54 0x3D, then
 * the FIFO. 0x543D ends in the T-mode sync "0000111101" and its leading "010101" extends the preamble
 * to 4·8 + 6 = 38 chips = 19 "01" pairs, the EN 13757-4 T1 minimum; for C mode 0x543D is the first
 * half of the sync word, the second half (0x54CD frame A, 0x543D frame B) is the first FIFO content
 * (SWRA234A §3.2). Packet length, PKTLEN and PKTCTRL0 are set per frame by the driver.
 */
import type { WmbusMode } from '../ports/radio.js';
import * as R from './cc1101-registers.js';

/** One register write: [address, value]. */
export type RegisterSetting = readonly [address: number, value: number];

/** Settings shared by both modes; PKTLEN/PKTCTRL0 are placeholders the driver overrides per frame. */
const COMMON: readonly RegisterSetting[] = [
  [R.IOCFG2, 0x02], // GDO2: TX FIFO at or above threshold (a host may use it instead of polling)
  [R.IOCFG1, 0x2e], // GDO1: high impedance (it is SO on the SPI bus)
  [R.IOCFG0, 0x06], // GDO0: asserts when the sync word is sent, deasserts at end of packet
  [R.FIFOTHR, 0x07], // TX FIFO threshold 33 bytes
  [R.SYNC1, 0x54],
  [R.SYNC0, 0x3d],
  [R.PKTLEN, 0xff],
  [R.PKTCTRL1, 0x00], // no address check, no status append
  [R.PKTCTRL0, 0x00], // normal FIFO mode, no whitening, no CRC, fixed length (set per frame)
  [R.ADDR, 0x00],
  [R.CHANNR, 0x00],
  [R.FSCTRL1, 0x08],
  [R.FSCTRL0, 0x00],
  [R.FREQ2, 0x21],
  [R.FREQ1, 0x6b],
  [R.FREQ0, 0xd1],
  [R.MDMCFG4, 0x5b], // CHANBW 325 kHz (RX), DRATE_E = 11
  [R.MDMCFG3, 0xf8], // DRATE_M = 248
  [R.MDMCFG2, 0x02], // DC filter on, 2-FSK, no Manchester, SYNC_MODE 2: 16-bit sync word
  [R.MDMCFG1, 0x22], // no FEC, NUM_PREAMBLE 2 → 4 bytes, CHANSPC_E 2
  [R.MDMCFG0, 0xf8],
  // DEVIATN is per mode (below)
  [R.MCSM2, 0x07],
  [R.MCSM1, 0x00], // after TX and RX: IDLE
  [R.MCSM0, 0x18], // FS_AUTOCAL 1: calibrate on IDLE → TX; PO_TIMEOUT 2
  [R.FOCCFG, 0x2e],
  [R.BSCFG, 0xbf],
  [R.AGCCTRL2, 0x43],
  [R.AGCCTRL1, 0x09],
  [R.AGCCTRL0, 0xb5],
  [R.WOREVT1, 0x87],
  [R.WOREVT0, 0x6b],
  [R.WORCTRL, 0xfb],
  [R.FREND1, 0xb6],
  [R.FREND0, 0x10], // PA_POWER 0: PATABLE[0] for the whole packet (2-FSK)
  [R.FSCAL3, 0xea],
  [R.FSCAL2, 0x2a],
  [R.FSCAL1, 0x00],
  [R.FSCAL0, 0x1f],
  [R.RCCTRL1, 0x41],
  [R.RCCTRL0, 0x00],
  [R.FSTEST, 0x59],
  [R.PTEST, 0x7f],
  [R.AGCTEST, 0x3f],
  [R.TEST2, 0x81],
  [R.TEST1, 0x35],
  [R.TEST0, 0x09],
];

const DEVIATN_BY_MODE: Readonly<Record<WmbusMode, number>> = { T1: 0x50, C1: 0x46 };

/** The full configuration register image (0x00..0x2E) for `mode`. */
export function wmbusRegisterImage(mode: WmbusMode): Uint8Array {
  const image = new Uint8Array(R.CONFIG_RESET_VALUES);
  for (const [address, value] of COMMON) image[address] = value;
  image[R.DEVIATN] = DEVIATN_BY_MODE[mode];
  return image;
}

/** PATABLE[0] ≈ +10 dBm at 868 MHz (SWRS061 table 39). */
export const PA_10DBM_868 = 0xc2;
