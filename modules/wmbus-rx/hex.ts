/**
 * Hex of bytes (lower case, as core/bytes.ts toHex) for what a receiver prints of every telegram
 * (the application data, each record): eight bytes per String.fromCharCode, and the last 1-7 in one
 * more, so a record (most are up to 8 bytes) is one flat string and a telegram's application data a
 * few pieces, instead of a chain of two-character concatenations (V8: several times faster, a
 * fraction of the garbage).
 */

/** The character code of a hex digit (lower case). */
function hexCode(n: number): number {
  return n < 10 ? 48 + n : 87 + n;
}

/** Hex of b[start, end). */
export function hexOf(b: Uint8Array, start: number, end: number): string {
  let s = '';
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const a0 = b[i];
    const a1 = b[i + 1];
    const a2 = b[i + 2];
    const a3 = b[i + 3];
    const a4 = b[i + 4];
    const a5 = b[i + 5];
    const a6 = b[i + 6];
    const a7 = b[i + 7];
    s += String.fromCharCode(
      hexCode(a0 >> 4), hexCode(a0 & 15), hexCode(a1 >> 4), hexCode(a1 & 15), hexCode(a2 >> 4), hexCode(a2 & 15), hexCode(a3 >> 4), hexCode(a3 & 15),
      hexCode(a4 >> 4), hexCode(a4 & 15), hexCode(a5 >> 4), hexCode(a5 & 15), hexCode(a6 >> 4), hexCode(a6 & 15), hexCode(a7 >> 4), hexCode(a7 & 15),
    );
  }
  const n = end - i;
  if (n === 0) return s;
  const a0 = b[i];
  if (n === 1) return s + String.fromCharCode(hexCode(a0 >> 4), hexCode(a0 & 15));
  const a1 = b[i + 1];
  if (n === 2) return s + String.fromCharCode(hexCode(a0 >> 4), hexCode(a0 & 15), hexCode(a1 >> 4), hexCode(a1 & 15));
  const a2 = b[i + 2];
  if (n === 3) return s + String.fromCharCode(hexCode(a0 >> 4), hexCode(a0 & 15), hexCode(a1 >> 4), hexCode(a1 & 15), hexCode(a2 >> 4), hexCode(a2 & 15));
  const a3 = b[i + 3];
  if (n === 4) {
    return s + String.fromCharCode(hexCode(a0 >> 4), hexCode(a0 & 15), hexCode(a1 >> 4), hexCode(a1 & 15), hexCode(a2 >> 4), hexCode(a2 & 15), hexCode(a3 >> 4), hexCode(a3 & 15));
  }
  const a4 = b[i + 4];
  if (n === 5) {
    return (
      s +
      String.fromCharCode(hexCode(a0 >> 4), hexCode(a0 & 15), hexCode(a1 >> 4), hexCode(a1 & 15), hexCode(a2 >> 4), hexCode(a2 & 15), hexCode(a3 >> 4), hexCode(a3 & 15), hexCode(a4 >> 4), hexCode(a4 & 15))
    );
  }
  const a5 = b[i + 5];
  if (n === 6) {
    return (
      s +
      String.fromCharCode(
        hexCode(a0 >> 4), hexCode(a0 & 15), hexCode(a1 >> 4), hexCode(a1 & 15), hexCode(a2 >> 4), hexCode(a2 & 15), hexCode(a3 >> 4), hexCode(a3 & 15),
        hexCode(a4 >> 4), hexCode(a4 & 15), hexCode(a5 >> 4), hexCode(a5 & 15),
      )
    );
  }
  const a6 = b[i + 6];
  return (
    s +
    String.fromCharCode(
      hexCode(a0 >> 4), hexCode(a0 & 15), hexCode(a1 >> 4), hexCode(a1 & 15), hexCode(a2 >> 4), hexCode(a2 & 15), hexCode(a3 >> 4), hexCode(a3 & 15),
      hexCode(a4 >> 4), hexCode(a4 & 15), hexCode(a5 >> 4), hexCode(a5 & 15), hexCode(a6 >> 4), hexCode(a6 & 15),
    )
  );
}

/** Hex of all of `b`. */
export function hex(b: Uint8Array): string {
  return hexOf(b, 0, b.length);
}
