/**
 * CRC-16/CCITT-FALSE (CRC catalogue name CRC-16/IBM-3740): polynomial 0x1021, initial value
 * 0xFFFF, no reflection, no final XOR; check value 0x29B1. It guards the service-interface frames.
 *
 * Why not reuse crc16En13757 (poly 0x3D65): that polynomial's period is only 151 bits, so two bit
 * errors 151 bits apart go undetected; it was chosen for wM-Bus blocks of at most 16 bytes. Service
 * frames carry up to ~1 KB (log pages), where 0x1021 (period 32767 bits, divisible by x+1) still
 * detects every 1-, 2- and 3-bit error and every odd number of bit errors.
 */

import { crc16TableMsbFirst } from '../core/crc16-table.js';

// Built when the module loads (on the device: at link time, into flash); only read afterwards.
const TABLE = crc16TableMsbFirst(0x1021);

/** CRC of data[start, end) (defaults: the whole array). */
export function crc16Ccitt(data: Uint8Array, start = 0, end = data.length): number {
  let crc = 0xffff;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[(crc >>> 8) ^ data[i]];
  return crc;
}
