/**
 * TI CC1101 register map, SPI header bits, command strobes and status fields (datasheet SWRS061I,
 * §10 "4-wire Serial Configuration and Data Interface", §29 "Configuration Registers", tables 41–44).
 * Shared by the driver (modules/radio/cc1101.ts) and the register-level simulator (hosts/sim).
 */

/** SPI header byte: bit 7 = read, bit 6 = burst, bits 5..0 = address (SWRS061 §10.1). */
export const HEADER_READ = 0x80;
export const HEADER_BURST = 0x40;

/** Configuration registers 0x00–0x2E (SWRS061 table 43). */
export const IOCFG2 = 0x00;
export const IOCFG1 = 0x01;
export const IOCFG0 = 0x02;
export const FIFOTHR = 0x03;
export const SYNC1 = 0x04;
export const SYNC0 = 0x05;
export const PKTLEN = 0x06;
export const PKTCTRL1 = 0x07;
export const PKTCTRL0 = 0x08;
export const ADDR = 0x09;
export const CHANNR = 0x0a;
export const FSCTRL1 = 0x0b;
export const FSCTRL0 = 0x0c;
export const FREQ2 = 0x0d;
export const FREQ1 = 0x0e;
export const FREQ0 = 0x0f;
export const MDMCFG4 = 0x10;
export const MDMCFG3 = 0x11;
export const MDMCFG2 = 0x12;
export const MDMCFG1 = 0x13;
export const MDMCFG0 = 0x14;
export const DEVIATN = 0x15;
export const MCSM2 = 0x16;
export const MCSM1 = 0x17;
export const MCSM0 = 0x18;
export const FOCCFG = 0x19;
export const BSCFG = 0x1a;
export const AGCCTRL2 = 0x1b;
export const AGCCTRL1 = 0x1c;
export const AGCCTRL0 = 0x1d;
export const WOREVT1 = 0x1e;
export const WOREVT0 = 0x1f;
export const WORCTRL = 0x20;
export const FREND1 = 0x21;
export const FREND0 = 0x22;
export const FSCAL3 = 0x23;
export const FSCAL2 = 0x24;
export const FSCAL1 = 0x25;
export const FSCAL0 = 0x26;
export const RCCTRL1 = 0x27;
export const RCCTRL0 = 0x28;
export const FSTEST = 0x29;
export const PTEST = 0x2a;
export const AGCTEST = 0x2b;
export const TEST2 = 0x2c;
export const TEST1 = 0x2d;
export const TEST0 = 0x2e;
/** Number of configuration registers (0x00..0x2E). */
export const CONFIG_REGISTER_COUNT = 0x2f;

/** Names of the configuration registers, indexed by address (for fault details and dumps). */
export const CONFIG_REGISTER_NAMES: readonly string[] = [
  'IOCFG2', 'IOCFG1', 'IOCFG0', 'FIFOTHR', 'SYNC1', 'SYNC0', 'PKTLEN', 'PKTCTRL1', 'PKTCTRL0', 'ADDR',
  'CHANNR', 'FSCTRL1', 'FSCTRL0', 'FREQ2', 'FREQ1', 'FREQ0', 'MDMCFG4', 'MDMCFG3', 'MDMCFG2', 'MDMCFG1',
  'MDMCFG0', 'DEVIATN', 'MCSM2', 'MCSM1', 'MCSM0', 'FOCCFG', 'BSCFG', 'AGCCTRL2', 'AGCCTRL1', 'AGCCTRL0',
  'WOREVT1', 'WOREVT0', 'WORCTRL', 'FREND1', 'FREND0', 'FSCAL3', 'FSCAL2', 'FSCAL1', 'FSCAL0', 'RCCTRL1',
  'RCCTRL0', 'FSTEST', 'PTEST', 'AGCTEST', 'TEST2', 'TEST1', 'TEST0',
];

/** Reset values of 0x00..0x2E (SWRS061 table 43, "Default" column). */
export const CONFIG_RESET_VALUES: readonly number[] = [
  0x29, 0x2e, 0x3f, 0x07, 0xd3, 0x91, 0xff, 0x04, 0x45, 0x00,
  0x00, 0x0f, 0x00, 0x1e, 0xc4, 0xec, 0x8c, 0x22, 0x02, 0x22,
  0xf8, 0x47, 0x07, 0x30, 0x04, 0x36, 0x6c, 0x03, 0x40, 0x91,
  0x87, 0x6b, 0xf8, 0x56, 0x10, 0xa9, 0x0a, 0x20, 0x0d, 0x41,
  0x00, 0x59, 0x7f, 0x3f, 0x88, 0x31, 0x0b,
];

/** Command strobes: header with burst bit clear, addresses 0x30–0x3D (SWRS061 table 42). */
export const SRES = 0x30;
export const SFSTXON = 0x31;
export const SXOFF = 0x32;
export const SCAL = 0x33;
export const SRX = 0x34;
export const STX = 0x35;
export const SIDLE = 0x36;
export const SWOR = 0x38;
export const SPWD = 0x39;
export const SFRX = 0x3a;
export const SFTX = 0x3b;
export const SWORRST = 0x3c;
export const SNOP = 0x3d;

/** Status registers: same addresses as the strobes, read with the burst bit set (SWRS061 table 44). */
export const PARTNUM = 0x30;
export const VERSION = 0x31;
export const FREQEST = 0x32;
export const LQI = 0x33;
export const RSSI = 0x34;
export const MARCSTATE = 0x35;
export const WORTIME1 = 0x36;
export const WORTIME0 = 0x37;
export const PKTSTATUS = 0x38;
export const VCO_VC_DAC = 0x39;
export const TXBYTES = 0x3a;
export const RXBYTES = 0x3b;
export const RCCTRL1_STATUS = 0x3c;
export const RCCTRL0_STATUS = 0x3d;

export const PATABLE = 0x3e;
/** TX FIFO on write, RX FIFO on read. */
export const FIFO = 0x3f;
export const FIFO_SIZE = 64;

/** PARTNUM of every CC1101. VERSION: 0x14 current silicon, 0x04 early silicon, 0x17 clones (RadioLib
 *  CC1101.h RADIOLIB_CC1101_VERSION_CURRENT/LEGACY/CLONE, all three accepted by RadioLib's begin()),
 *  0x07 the CC110L value-line part (TI chip_detect.c) that clone modules also report (a RadioLib
 *  patch in weather-station-decoder adds it). 0x08 (CC113L) cannot transmit and is refused. */
export const CC1101_PARTNUM = 0x00;
export const CC1101_VERSIONS: readonly number[] = [0x14, 0x04, 0x17, 0x07];

/** Chip status byte, returned on every header and every byte written (SWRS061 §10.1, table 23). */
export const STATUS_CHIP_RDYN = 0x80;
export const STATUS_STATE_SHIFT = 4;
export const STATUS_STATE_MASK = 0x70;
/** FIFO_BYTES_AVAILABLE: free TX FIFO bytes (write header) or RX FIFO bytes (read header), 15 = 15 or more. */
export const STATUS_FIFO_MASK = 0x0f;

/** The STATE field of the status byte. */
export const STATE_IDLE = 0;
export const STATE_RX = 1;
export const STATE_TX = 2;
export const STATE_FSTXON = 3;
export const STATE_CALIBRATE = 4;
export const STATE_SETTLING = 5;
export const STATE_RXFIFO_OVERFLOW = 6;
export const STATE_TXFIFO_UNDERFLOW = 7;

/** MARCSTATE values (SWRS061 table 45) that the TX path passes through. */
export const MARC_SLEEP = 0x00;
export const MARC_IDLE = 0x01;
export const MARC_MANCAL = 0x05;
export const MARC_STARTCAL = 0x08;
export const MARC_FS_LOCK = 0x0a;
export const MARC_ENDCAL = 0x0c;
export const MARC_RX = 0x0d;
export const MARC_FSTXON = 0x12;
export const MARC_TX = 0x13;
export const MARC_TX_END = 0x14;
export const MARC_TXFIFO_UNDERFLOW = 0x16;
/** Largest defined MARCSTATE value. */
export const MARC_MAX = 0x16;

/** TXBYTES: bit 7 TXFIFO_UNDERFLOW, bits 6..0 NUM_TXBYTES. */
export const TXBYTES_UNDERFLOW = 0x80;
export const TXBYTES_COUNT_MASK = 0x7f;

/** IOCFGx.GDOx_CFG values used (SWRS061 table 41) and the inversion bit 6. */
export const GDO_TX_FIFO_AT_THRESHOLD = 0x02; // asserts at or above the TX FIFO threshold, deasserts below
export const GDO_SYNC_SENT = 0x06; // asserts when the sync word is sent, deasserts at the end of the packet
export const GDO_HIGH_IMPEDANCE = 0x2e;
export const GDO_INVERT = 0x40;

/** FIFOTHR.FIFO_THR (bits 3..0) → TX FIFO threshold in bytes: 61 − 4 · FIFO_THR (SWRS061 FIFOTHR table). */
export function txFifoThreshold(fifothr: number): number {
  return 61 - 4 * (fifothr & 0x0f);
}

/** MDMCFG2.SYNC_MODE (bits 2..0) in TX: 1 or 2 send SYNC1:SYNC0 once, 3 twice (SWRS061 §15.2). */
export const SYNC_MODE_16 = 2;
export const SYNC_MODE_32 = 3;

/** PKTCTRL0.LENGTH_CONFIG (bits 1..0). */
export const LENGTH_FIXED = 0;
export const LENGTH_VARIABLE = 1;
export const LENGTH_INFINITE = 2;

/** MDMCFG1.NUM_PREAMBLE (bits 6..4) → preamble bytes sent in TX (SWRS061 table 43, MDMCFG1). */
export const PREAMBLE_BYTES: readonly number[] = [2, 3, 4, 6, 8, 12, 16, 24];

/** The crystal every CC1101 module for 868 MHz carries; the FREQ/MDMCFG/DEVIATN formulas scale with it. */
export const FXOSC_HZ = 26_000_000;
