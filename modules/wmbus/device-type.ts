/**
 * Names for the fields of the address and transport headers a receiver reports: the device type
 * (medium) byte of the A field / TPL long header (EN 13757-7:2018 Table 12, "device type
 * identification") and the TPL status byte (EN 13757-7:2018 Table 7: application status, power
 * low, permanent and temporary error; bits 5-7 manufacturer specific).
 */

const DEVICE_TYPES: Readonly<Record<number, string>> = Object.freeze({
  0x00: 'other',
  0x01: 'oil',
  0x02: 'electricity',
  0x03: 'gas',
  0x04: 'heat (outlet)',
  0x05: 'steam',
  0x06: 'warm water (30 °C to 90 °C)',
  0x07: 'water',
  0x08: 'heat cost allocator',
  0x09: 'compressed air',
  0x0a: 'cooling load meter (outlet)',
  0x0b: 'cooling load meter (inlet)',
  0x0c: 'heat (inlet)',
  0x0d: 'heat / cooling load meter',
  0x0e: 'bus / system component',
  0x0f: 'unknown medium',
  0x14: 'calorific value',
  0x15: 'hot water (90 °C and above)',
  0x16: 'cold water',
  0x17: 'dual register (hot / cold) water meter',
  0x18: 'pressure',
  0x19: 'A/D converter',
  0x1a: 'smoke detector',
  0x1b: 'room sensor',
  0x1c: 'gas detector',
  0x20: 'breaker (electricity)',
  0x21: 'valve (gas or water)',
  0x25: 'customer unit (display device)',
  0x28: 'waste water',
  0x29: 'garbage',
  0x31: 'communication controller',
  0x32: 'unidirectional repeater',
  0x33: 'bidirectional repeater',
  0x36: 'radio converter (system side)',
  0x37: 'radio converter (meter side)',
});

/** The medium a device type byte names, or 'reserved (0xNN)'. */
export function deviceTypeName(type: number): string {
  return DEVICE_TYPES[type] ?? `reserved (0x${type.toString(16).padStart(2, '0')})`;
}

export interface TplStatus {
  /** Bits 1-0. */
  application: 'no error' | 'busy' | 'error' | 'abnormal condition / alarm';
  powerLow: boolean;
  permanentError: boolean;
  temporaryError: boolean;
  /** Bits 7-5, manufacturer specific, as a number 0-7. */
  manufacturer: number;
}

const APPLICATION = ['no error', 'busy', 'error', 'abnormal condition / alarm'] as const;

export function decodeTplStatus(status: number): TplStatus {
  return {
    application: APPLICATION[status & 0x03],
    powerLow: !!(status & 0x04),
    permanentError: !!(status & 0x08),
    temporaryError: !!(status & 0x10),
    manufacturer: (status >> 5) & 0x07,
  };
}
