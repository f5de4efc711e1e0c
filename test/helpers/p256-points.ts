/**
 * Compressed P-256 keys of the right form that are no point of the curve, found by @noble (not by
 * the code under test): the first x from 1 up with no point (both parities), and p itself (not a
 * field element).
 */
import { p256 } from '@noble/curves/nist.js';

const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;

const compressed = (x: bigint, prefix = '02') => prefix + x.toString(16).padStart(64, '0');

function onCurve(hex: string): boolean {
  try {
    p256.Point.fromHex(hex);
    return true;
  } catch {
    return false;
  }
}

export function keysNotOnP256(): string[] {
  let x = 1n;
  while (onCurve(compressed(x))) x++;
  const keys = [compressed(x), compressed(x, '03'), compressed(P)];
  for (const k of keys) if (onCurve(k)) throw new Error(`${k} is a P-256 point`);
  return keys;
}
