/**
 * The SML CRC-16 (SML 1.04 and IEC 62056-46): CRC-16/X-25 — polynomial 0x1021 reflected (0x8408),
 * initial value 0xFFFF, final XOR 0xFFFF; check value 0x906E for "123456789".
 *
 * Byte order as libsml computes and writes it (sml_crc16_calculate swaps the bytes, then the value
 * goes out high byte first): on the wire the CRC's low byte comes first. `crc16Sml` returns the
 * value in that swapped form, so `wire[0] = v >>> 8, wire[1] = v & 0xff` for both the message CRC
 * (an Unsigned16 field) and the transport CRC at the end of a file.
 */

import { crc16TableLsbFirst } from '../core/crc16-table.js';

// Built when the module loads (on the device: at link time, into flash); only read afterwards.
const TABLE = crc16TableLsbFirst(0x8408);

export const CRC_INIT = 0xffff;

/** Adds one byte to a running CRC register (start from CRC_INIT). */
export function crc16Update(crc: number, byte: number): number {
  return (crc >>> 8) ^ TABLE[(crc ^ byte) & 0xff];
}

/** Adds data[start, end) to a running CRC register (one call for a transport block). */
export function crc16Run(crc: number, data: Uint8Array, start: number, end: number): number {
  let c = crc;
  for (let i = start; i < end; i++) c = (c >>> 8) ^ TABLE[(c ^ data[i]) & 0xff];
  return c;
}

/** Final XOR and libsml's byte swap of a running CRC register. */
export function crc16Finish(crc: number): number {
  const v = crc ^ 0xffff;
  return ((v & 0xff) << 8) | (v >>> 8);
}

/** CRC of data[start, end), as libsml's sml_crc16_calculate returns it (bytes swapped). */
export function crc16Sml(data: Uint8Array, start = 0, end = data.length): number {
  return crc16Finish(crc16Run(CRC_INIT, data, start, end));
}
