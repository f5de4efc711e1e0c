/**
 * The SML server ID of an electricity meter: the manufacturer-independent meter number of DIN 43863-5
 * in its 10-byte binary form, as German meters send it in SML_PublicOpen.Res, SML_GetList.Res and
 * 1-0:0.0.9*255:
 *
 *   0A  01      3 bytes        1 byte              4 bytes
 *   id  sparte  manufacturer   fabrication block   serial number (big-endian)
 *   (0x0A: this 10-byte form; sparte 1: electricity; manufacturer: the FLAG code in ASCII, e.g. "XSM")
 *
 * (Older meters send 0x09 as the first byte; readers take the server ID as an opaque octet string.)
 */
import { SmlError } from './errors.js';

export function serverIdOf(manufacturer: string, serial: number, fabricationBlock = 0): Uint8Array {
  if (!/^[A-Z]{3}$/.test(manufacturer)) throw new SmlError('range', `manufacturer "${manufacturer}" must be three capital letters (FLAG code)`);
  if (!Number.isInteger(serial) || serial < 0 || serial > 0xffffffff) throw new SmlError('range', `serial ${serial} must fit 32 bits`);
  if (!Number.isInteger(fabricationBlock) || fabricationBlock < 0 || fabricationBlock > 255) {
    throw new SmlError('range', `fabrication block ${fabricationBlock} must be 0–255`);
  }
  const id = new Uint8Array(10);
  id[0] = 0x0a;
  id[1] = 0x01;
  for (let i = 0; i < 3; i++) id[2 + i] = manufacturer.charCodeAt(i);
  id[5] = fabricationBlock;
  id[6] = serial >>> 24;
  id[7] = (serial >>> 16) & 0xff;
  id[8] = (serial >>> 8) & 0xff;
  id[9] = serial & 0xff;
  return id;
}
