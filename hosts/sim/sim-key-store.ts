/**
 * The simulator's key store: holds the meter key, the bench key and the device's ECDSA P-256 signing
 * key in memory and signs digests with @noble/curves (RFC 6979 deterministic, low-S), as a secure
 * element would. Portable (no Node API), so XS entries can use it too.
 */
import { p256 } from '@noble/curves/nist.js';
import { fromHex, toHex } from '../../modules/core/bytes.js';
import { MeterError } from '../../modules/core/errors.js';
import type { KeyStore } from '../../modules/ports/key-store.js';

export interface SimKeys {
  meterKey: Uint8Array;
  benchKey: Uint8Array;
  /** ECDSA P-256 private scalar, 32 bytes. */
  signingKey: Uint8Array;
}

/** The keys as a JSON-friendly object (hex), e.g. for a simulator's key file. */
export interface SimKeysFile {
  meterKey: string;
  benchKey: string;
  signingKey: string;
  publicKey?: string;
}

export class SimKeyStore implements KeyStore {
  private readonly keys: SimKeys;
  private readonly publicKey: Uint8Array;

  constructor(keys: SimKeys) {
    if (keys.meterKey.length !== 16 || keys.benchKey.length !== 16) throw new MeterError('bad-key', 'meter and bench keys must be 16 bytes (AES-128)');
    if (keys.signingKey.length !== 32 || !p256.utils.isValidSecretKey(keys.signingKey)) throw new MeterError('bad-key', 'signing key is not a valid P-256 private key');
    this.keys = { meterKey: keys.meterKey.slice(), benchKey: keys.benchKey.slice(), signingKey: keys.signingKey.slice() };
    this.publicKey = p256.getPublicKey(this.keys.signingKey, true);
  }

  /** Fresh random keys (needs crypto.getRandomValues: Node, browsers; not plain XS). */
  static generate(): SimKeyStore {
    const rnd = (n: number) => crypto.getRandomValues(new Uint8Array(n));
    return new SimKeyStore({ meterKey: rnd(16), benchKey: rnd(16), signingKey: p256.utils.randomSecretKey() });
  }

  static fromFile(f: SimKeysFile): SimKeyStore {
    return new SimKeyStore({ meterKey: fromHex(f.meterKey), benchKey: fromHex(f.benchKey), signingKey: fromHex(f.signingKey) });
  }

  toFile(): SimKeysFile {
    return { meterKey: toHex(this.keys.meterKey), benchKey: toHex(this.keys.benchKey), signingKey: toHex(this.keys.signingKey), publicKey: toHex(this.publicKey) };
  }

  meterKey(): Uint8Array {
    return this.keys.meterKey.slice();
  }

  benchKey(): Uint8Array {
    return this.keys.benchKey.slice();
  }

  devicePublicKey(): Uint8Array {
    return this.publicKey.slice();
  }

  signDigest(digest: Uint8Array): Uint8Array {
    if (digest.length !== 32) throw new MeterError('bad-digest', `signDigest takes a 32-byte SHA-256 digest, got ${digest.length} bytes`);
    return p256.sign(digest, this.keys.signingKey, { prehash: false, lowS: true });
  }
}
