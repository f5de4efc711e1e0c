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
 * What goes on the air before the FIFO data: the CC1101's preamble is fixed at 10101010 (0xAA; SWRS061
 * §15.2 "The preamble pattern is an alternating sequence of ones and zeros (10101010…)"), which is
 * the (01) pairs of EN 13757-4 out of phase by one chip: the sync word starts an even number of chips
 * after a byte boundary (T1's 0000111101 is the last 10 chips of 0x543D; C1's 0x543D54CD starts on
 * one), so the pairs in phase are bytes 0x55. So the chip sends its shortest preamble (2 bytes,
 * NUM_PREAMBLE 0) and then a sync register of 0x5555 sent twice (SYNC_MODE 3): 32 chips of (01) in
 * phase; the FIFO starts with the mode's sync word 0x543D (T1: its 010101 makes 16 + 3 = 19 pairs
 * before 0000111101, the T1 minimum; C1: 16 pairs before 0x543D54CD). TI's own FAQ on custom
 * preamble/sync patterns uses the sync register the same way. On air: AA AA 55 55 55 55 54 3D …,
 * which modules/wmbus-tx phyEncode models, and which rtl-wmbus's 22-chip correlation
 * (0101010101010000111101) finds; after 4 × 0xAA directly before 0x543D it would find 6 errors.
 * A FIFO of a multiple of 256 bytes cannot end on PKTLEN (SWRS061: "must be different from 0"):
 * the driver then sends the sync register once (SYNC_MODE 2) and puts 0x55 0x55 in the FIFO —
 * the same chips on the air, two more FIFO bytes.
 *
 * The TX FIFO is refilled on GDO2 (IOCFG2 = 0x02: high at or above the TX FIFO threshold): with
 * FIFO_THR = 1 the threshold is 57 bytes, so when GDO2 falls at most 56 bytes are queued — 4.48 ms of
 * air at 100 kcps to write the next 8 — and at least 8 are free.
 */
import type { WmbusMode } from '../ports/radio.js';
import * as R from './cc1101-registers.js';

/** FIFOTHR.FIFO_THR: TX threshold 61 − 4 · 1 = 57 bytes. */
const FIFO_THR = 1;
/** GDO2 falls when fewer than this many bytes are queued. */
export const TX_FIFO_THRESHOLD = R.txFifoThreshold(FIFO_THR);
/** Bytes written per refill: when GDO2 is low at most TX_FIFO_THRESHOLD − 1 bytes are queued, so this many fit. */
export const REFILL_BYTES = R.FIFO_SIZE - (TX_FIFO_THRESHOLD - 1);
/** Written ahead of the FIFO data, with SYNC_MODE 2, when the FIFO length is a multiple of 256: the
 *  second copy of the sync register that SYNC_MODE 3 would have sent. */
export const SYNC_REGISTER_COPY: Uint8Array = Uint8Array.of(0x55, 0x55);

/** One register write: [address, value]. */
export type RegisterSetting = readonly [address: number, value: number];

/** Settings shared by both modes; PKTLEN/PKTCTRL0 are placeholders the driver overrides per frame. */
const COMMON: readonly RegisterSetting[] = [
  [R.IOCFG2, R.GDO_TX_FIFO_AT_THRESHOLD], // GDO2: TX FIFO at or above the threshold (the refill signal)
  [R.IOCFG1, R.GDO_HIGH_IMPEDANCE], // GDO1: high impedance (it is SO on the SPI bus)
  [R.IOCFG0, R.GDO_SYNC_SENT], // GDO0: asserts when the sync word is sent, deasserts at end of packet
  [R.FIFOTHR, FIFO_THR], // TX FIFO threshold 57 bytes
  [R.SYNC1, 0x55], // sync register: 16 chips of (01), sent twice
  [R.SYNC0, 0x55],
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
  [R.MDMCFG2, R.SYNC_MODE_32], // DC filter on, 2-FSK, no Manchester, SYNC_MODE 3: SYNC1:SYNC0 twice
  [R.MDMCFG1, 0x02], // no FEC, NUM_PREAMBLE 0 → 2 bytes, CHANSPC_E 2
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
