/**
 * The 256-entry lookup tables of table-driven CRC-16s, one per polynomial and bit order: the wM-Bus
 * block CRC and the service frames' CRC shift high bit first, the SML CRC (X-25) low bit first. A
 * CRC module builds its table once, when it loads (on the device: at link time, into flash).
 */

/** Table for a CRC that shifts high bit first (`poly` as written, e.g. 0x1021). */
export function crc16TableMsbFirst(poly: number): Uint16Array {
  const t = new Uint16Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n << 8;
    for (let k = 0; k < 8; k++) c = c & 0x8000 ? ((c << 1) ^ poly) & 0xffff : (c << 1) & 0xffff;
    t[n] = c;
  }
  return t;
}

/** Table for a CRC that shifts low bit first (`reflectedPoly`, e.g. 0x8408 for 0x1021). */
export function crc16TableLsbFirst(reflectedPoly: number): Uint16Array {
  const t = new Uint16Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ reflectedPoly : c >>> 1;
    t[n] = c;
  }
  return t;
}
