/**
 * The simulator's key store: holds the meter key, the bench key and the device's ECDSA P-256 signing
 * key as handles of a crypto port (the desktop's noble one by default: RFC 6979 deterministic,
 * low-S), as a secure element would. It also keeps the raw keys, because a simulator writes them to
 * its key file (`toFile`). Portable (no Node API), so XS entries can use it too.
 */
import { p256 } from '@noble/curves/nist.js';
import { fromHex, toHex } from '../../modules/core/bytes.js';
import { MeterError } from '../../modules/core/errors.js';
import type { AesKey, Crypto, P256PrivateKey } from '../../modules/ports/crypto.js';
import type { KeyStore } from '../../modules/ports/key-store.js';
import { nobleCrypto } from './noble-crypto.js';

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
  private meter: AesKey;
  private readonly bench: AesKey;
  private readonly signing: P256PrivateKey;

  constructor(
    keys: SimKeys,
    private readonly crypto: Crypto = nobleCrypto,
  ) {
    if (keys.meterKey.length !== 16 || keys.benchKey.length !== 16) throw new MeterError('bad-key', 'meter and bench keys must be 16 bytes (AES-128)');
    if (keys.signingKey.length !== 32 || !p256.utils.isValidSecretKey(keys.signingKey)) throw new MeterError('bad-key', 'signing key is not a valid P-256 private key');
    this.keys = { meterKey: keys.meterKey.slice(), benchKey: keys.benchKey.slice(), signingKey: keys.signingKey.slice() };
    this.meter = crypto.aesKey(this.keys.meterKey);
    this.bench = crypto.aesKey(this.keys.benchKey);
    this.signing = crypto.p256PrivateKey(this.keys.signingKey);
    this.publicKey = crypto.p256PublicKey(this.signing);
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

  /** The store's own handle: callers use it and never wipe it. */
  meterKey(): AesKey {
    return this.meter;
  }

  /** Replaces the meter key (the service's install-meter-key). */
  installMeterKey(key: Uint8Array): void {
    if (key.length !== 16) throw new MeterError('bad-key', 'a meter key is 16 bytes (AES-128)');
    this.meter.wipe();
    this.keys.meterKey = key.slice();
    this.meter = this.crypto.aesKey(this.keys.meterKey);
  }

  benchKey(): AesKey {
    return this.bench;
  }

  devicePublicKey(): Uint8Array {
    return this.publicKey.slice();
  }

  signDigest(digest: Uint8Array): Uint8Array {
    if (digest.length !== 32) throw new MeterError('bad-digest', `signDigest takes a 32-byte SHA-256 digest, got ${digest.length} bytes`);
    const signature = new Uint8Array(64);
    this.crypto.p256Sign(this.signing, digest, signature);
    return signature;
  }
}
