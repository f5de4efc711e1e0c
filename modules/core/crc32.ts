/**
 * CRC-32 (ISO-HDLC / IEEE 802.3: reflected polynomial 0xEDB88320, init and final xor 0xFFFFFFFF;
 * check value of "123456789" is 0xCBF43926). Guards calibration bytes, energy journal records and
 * the log store's records.
 */
function makeTable(): Uint32Array {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
}

// Built when the module loads: on the device that is at link time (preload), so the table is in
// flash; a lazily filled module-level table would be written at run time into frozen flash.
const TABLE = makeTable();

/** CRC-32 of bytes[start, end). Four bytes a step: their little-endian word xored in, then four
 *  table steps (the byte-wise c = t[(c ^ b) & 0xff] ^ (c >>> 8), each byte xored in before its
 *  step by the word), then the remaining bytes one by one. The state is a signed 32-bit integer
 *  (-1, not 0xFFFFFFFF: an integer on XS and V8). */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  const t = TABLE;
  let c = -1;
  let i = start;
  for (const last = end - 3; i < last; i += 4) {
    c ^= bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    c = t[c & 0xff] ^ (c >>> 8);
    c = t[c & 0xff] ^ (c >>> 8);
    c = t[c & 0xff] ^ (c >>> 8);
    c = t[c & 0xff] ^ (c >>> 8);
  }
  for (; i < end; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
