/** `--pubkey HEX`, the trusted device public key of `xsmeter log` and `xsmeter bench`. */
import { fromHex } from '../modules/core/bytes.js';
import { isValidPublicKey } from '../modules/sealing/log-verify.js';
import { usageError } from './command.js';

/** P-256's field prime and curve constant b (SEC 2 §2.4.2; a = −3). */
const P256_P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const P256_B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;

/**
 * Whether a compressed key (isValidPublicKey's form) is a point of P-256: its x is below p and
 * x³ − 3x + b is a square mod p (Euler's criterion), so a y exists. A key typed by hand that is no
 * point is a malformed option, told apart from a point that is another device's key. (Here, not in
 * the device's modules: only a hand-given key needs it; signature checks reject the rest.)
 */
export function isP256Point(publicKey: Uint8Array): boolean {
  if (!isValidPublicKey(publicKey)) return false;
  let x = 0n;
  for (let i = 1; i < publicKey.length; i++) x = (x << 8n) | BigInt(publicKey[i]);
  if (x >= P256_P) return false;
  const rhs = (((((x * x) % P256_P) * x) % P256_P) - 3n * x + P256_B) % P256_P;
  return powMod(rhs < 0n ? rhs + P256_P : rhs, (P256_P - 1n) / 2n, P256_P) === 1n;
}

function powMod(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
  }
  return result;
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
