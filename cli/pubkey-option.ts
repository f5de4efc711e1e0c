/** `--pubkey HEX`, the trusted device public key of `xsmeter log` and `xsmeter bench`. */
import { p256 } from '@noble/curves/nist.js';
import { fromHex } from '../modules/core/bytes.js';
import { isValidPublicKey } from '../modules/sealing/log-verify.js';
import { usageError } from './command.js';

/**
 * Whether a compressed key (isValidPublicKey's form) is a point of P-256 (@noble decodes it: an x
 * below p with a y on the curve). A key typed by hand that is no point is a malformed option, told
 * apart from a point that is another device's key. (Here, not in the device's modules: only a
 * hand-given key needs it; signature checks reject the rest.)
 */
export function isP256Point(publicKey: Uint8Array): boolean {
  if (!isValidPublicKey(publicKey)) return false;
  try {
    p256.Point.fromBytes(publicKey);
    return true;
  } catch {
    return false;
  }
}

/**
 * The key of a `--pubkey HEX` option, or undefined when it is not given. Not hex, not the compressed
 * form or no point of the curve: a usage error (exit 2), before any file or meter is touched.
 */
export function pubkeyOption(hex: string | undefined): Uint8Array | undefined {
  if (hex === undefined) return undefined;
  let key: Uint8Array;
  try {
    key = fromHex(hex);
  } catch {
    throw usageError('--pubkey is not hex');
  }
  if (!isValidPublicKey(key)) throw usageError('--pubkey is not a compressed P-256 public key (33 bytes, 02/03…)');
  if (!isP256Point(key)) throw usageError('--pubkey is not a P-256 point (no point of the curve has its x coordinate)');
  return key;
}
