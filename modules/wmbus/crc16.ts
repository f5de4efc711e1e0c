/**
 * CRC-16/EN-13757 (EN 13757-4 §"CRC", used in every format A/B block): polynomial 0x3D65, initial
 * value 0, no reflection, final XOR 0xFFFF. Transmitted high byte first. Table-driven, one table
 * of 256 entries built once (512 bytes), so a byte costs one lookup.
 */

import { crc16TableMsbFirst } from '../core/crc16-table.js';

// Built when the module loads (on the device: at link time, into flash); only read afterwards.
const TABLE = crc16TableMsbFirst(0x3d65);

/** CRC of data[start, end) (defaults: the whole array). */
export function crc16En13757(data: Uint8Array, start = 0, end = data.length): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[(crc >>> 8) ^ data[i]];
  return crc ^ 0xffff;
}

/** crc16En13757 of src[start, end), copying those bytes to dst from `at` on the way (a receiver
 *  strips a block's CRC in the same pass as it checks it). */
export function crc16En13757Copy(src: Uint8Array, start: number, end: number, dst: Uint8Array, at: number): number {
  let crc = 0;
  for (let i = start, o = at; i < end; i++, o++) {
    const b = src[i];
    dst[o] = b;
    crc = ((crc << 8) & 0xffff) ^ TABLE[(crc >>> 8) ^ b];
  }
  return crc ^ 0xffff;
}
