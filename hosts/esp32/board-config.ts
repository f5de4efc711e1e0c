/**
 * The board's meter configuration, written once at the factory next to the keys in NVS (Moddable's
 * `preference`, namespace `xsmeter-board`): the meter id (8 digits, the wM-Bus A field), the
 * metrology chip fitted, and optionally the OMS security mode, the radio mode and the customer PIN of
 * the optical info interface (four digits the metering point operator gives the customer; without
 * one the optical push never shows the detail). `meterOptions`
 * turns it into the MeterApp options the host starts the application with. A missing or malformed
 * entry is a typed BoardConfigFault: a board never boots as some default meter.
 */
import type { MeterAppOptions } from '../../modules/app/meter-app.js';
import { MeterError } from '../../modules/core/errors.js';
import type { ChipKind } from '../../modules/metrology/calibration.js';
import type { WmbusMode } from '../../modules/ports/radio.js';

/** The board is not provisioned, or an entry has a bad value. */
export class BoardConfigFault extends MeterError {}

/** NVS namespace (ESP-IDF: at most 15 characters). */
export const BOARD_DOMAIN = 'xsmeter-board';

export interface BoardConfig {
  meterId: string;
  chip: ChipKind;
  security: 0 | 5 | 7;
  radioMode: WmbusMode;
  customerPin?: string;
}

/** What the board configuration needs of Moddable's `preference`. */
export interface BoardPreferences {
  get(domain: string, key: string): string | boolean | number | ArrayBuffer | undefined;
  set(domain: string, key: string, value: string | number): void;
}

function check(config: BoardConfig): BoardConfig {
  const bad = (key: string, value: unknown, want: string): never => {
    throw new BoardConfigFault('bad-config', `board ${key} ${JSON.stringify(value)} is not ${want}`, { key, value: String(value) });
  };
  if (typeof config.meterId !== 'string' || !/^\d{8}$/.test(config.meterId)) bad('meterId', config.meterId, '8 decimal digits');
  if (config.chip !== 'ade7953' && config.chip !== 'atm90e32') bad('chip', config.chip, 'ade7953 or atm90e32');
  if (config.security !== 0 && config.security !== 5 && config.security !== 7) bad('security', config.security, '0, 5 or 7');
  if (config.radioMode !== 'T1' && config.radioMode !== 'C1') bad('radioMode', config.radioMode, 'T1 or C1');
  if (config.customerPin !== undefined && (typeof config.customerPin !== 'string' || !/^\d{4}$/.test(config.customerPin))) bad('customerPin', config.customerPin, 'four decimal digits');
  return config;
}

/** Reads and checks the board configuration. */
export function readBoardConfig(prefs: BoardPreferences, domain = BOARD_DOMAIN): BoardConfig {
  const meterId = prefs.get(domain, 'meterId');
  const chip = prefs.get(domain, 'chip');
  if (meterId === undefined || chip === undefined) {
    throw new BoardConfigFault('missing-config', `board not provisioned: no ${meterId === undefined ? 'meterId' : 'chip'} in NVS namespace ${domain}`, {
      domain,
      key: meterId === undefined ? 'meterId' : 'chip',
    });
  }
  const config: BoardConfig = {
    meterId: meterId as string,
    chip: chip as ChipKind,
    security: (prefs.get(domain, 'security') ?? 7) as BoardConfig['security'],
    radioMode: (prefs.get(domain, 'radioMode') ?? 'T1') as WmbusMode,
  };
  const pin = prefs.get(domain, 'customerPin');
  if (pin !== undefined) config.customerPin = pin as string;
  return check(config);
}

/** Factory provisioning of the configuration (checked first). */
export function provisionBoard(prefs: BoardPreferences, config: BoardConfig, domain = BOARD_DOMAIN): void {
  check(config);
  prefs.set(domain, 'meterId', config.meterId);
  prefs.set(domain, 'chip', config.chip);
  prefs.set(domain, 'security', config.security);
  prefs.set(domain, 'radioMode', config.radioMode);
  if (config.customerPin !== undefined) prefs.set(domain, 'customerPin', config.customerPin);
}

/** The MeterApp options of this board; `installMeterKey` stores a new meter key where the key store reads it. */
export function meterOptions(config: BoardConfig, installMeterKey: (key: Uint8Array) => void): MeterAppOptions {
  return { chip: config.chip, meterId: config.meterId, security: config.security, radioMode: config.radioMode, customerPin: config.customerPin, installMeterKey };
}
