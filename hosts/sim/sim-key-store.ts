/**
 * The simulator's key store: holds the meter key, the bench key and the device's ECDSA P-256 signing
 * key as handles of a crypto port (the desktop's noble one by default: RFC 6979 deterministic,
 * low-S), as a secure element would. It also keeps the raw keys, because a simulator writes them to
 * its key file (`toFile`). Handles are made on first use (a fleet of 100 000 meters uses its bench
 * keys never and its public keys rarely), and the public key is not kept: the signing key's handle
 * keeps it while it lives (the calibration log keeps its own). Portable (no Node API), so XS
 * entries can use it too.
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

/** Whether `v` is a key file of the shape SimKeysFile (each key its size in hex digits); what the
 *  key values are (a scalar out of range) the store checks when made. */
export function isSimKeysFile(v: unknown): v is SimKeysFile {
  const keys = v as Record<string, unknown> | null;
  const field = (name: string, digits: number) => typeof keys?.[name] === 'string' && new RegExp(`^[0-9a-f]{${digits}}$`, 'i').test(keys[name] as string);
  return typeof v === 'object' && v !== null && !Array.isArray(v) && field('meterKey', 32) && field('benchKey', 32) && field('signingKey', 64) && (keys?.publicKey === undefined || field('publicKey', 66));
}

/** Where each raw key lies in the store's one array (not an array per key: a fleet has 100 000). */
const METER = 0;
const BENCH = 16;
const SIGNING = 32;

/** Bytes as a one-byte string (one character a byte, flat: not a concatenation). */
function latin1(bytes: Uint8Array): string {
  return String.fromCharCode.apply(null, Array.from(bytes));
}

export class SimKeyStore implements KeyStore {
  /** The raw keys: meter (bytes 0–15), bench (16–31), signing (32–63), one byte a character of a
   *  string: 80 bytes in V8, where a typed array of them costs 264 (object, buffer object, data),
   *  and a fleet has 100 000. Keys are copied out of it into arrays that are wiped after use. (A
   *  string cannot be wiped: the simulator keeps these keys for good, and writes them to its key
   *  files, anyway; a replaced meter key's string is dropped.) */
  private raw: string;
  private meter: AesKey | undefined;
  private bench: AesKey | undefined;
  private signing: P256PrivateKey | undefined;

  constructor(
    keys: SimKeys,
    private readonly crypto: Crypto = nobleCrypto,
  ) {
    if (keys.meterKey.length !== 16 || keys.benchKey.length !== 16) throw new MeterError('bad-key', 'meter and bench keys must be 16 bytes (AES-128)');
    if (keys.signingKey.length !== 32 || !p256.utils.isValidSecretKey(keys.signingKey)) throw new MeterError('bad-key', 'signing key is not a valid P-256 private key');
    const raw = new Uint8Array(64);
    raw.set(keys.meterKey, METER);
    raw.set(keys.benchKey, BENCH);
    raw.set(keys.signingKey, SIGNING);
    this.raw = latin1(raw);
    raw.fill(0);
  }

  private signingKey(): P256PrivateKey {
    return (this.signing ??= this.handle(SIGNING, 32, (k) => this.crypto.p256PrivateKey(k)));
  }

  /** Raw bytes [at, at + n) (a new array). */
  private bytes(at: number, n: number): Uint8Array {
    const k = new Uint8Array(n);
    for (let i = 0; i < n; i++) k[i] = this.raw.charCodeAt(at + i);
    return k;
  }

  /** A handle made from a copy of the raw bytes [at, at + n), the copy wiped after. */
  private handle<T>(at: number, n: number, make: (key: Uint8Array) => T): T {
    const k = this.bytes(at, n);
    try {
      return make(k);
    } finally {
      k.fill(0);
    }
  }

  /** Fresh random keys (needs crypto.getRandomValues: Node, browsers; not plain XS). */
  static generate(): SimKeyStore {
    const rnd = (n: number) => crypto.getRandomValues(new Uint8Array(n));
    return new SimKeyStore({ meterKey: rnd(16), benchKey: rnd(16), signingKey: p256.utils.randomSecretKey() });
  }

  static fromFile(f: SimKeysFile, crypto?: Crypto): SimKeyStore {
    return new SimKeyStore({ meterKey: fromHex(f.meterKey), benchKey: fromHex(f.benchKey), signingKey: fromHex(f.signingKey) }, crypto);
  }

  toFile(): SimKeysFile {
    return { meterKey: toHex(this.bytes(METER, 16)), benchKey: toHex(this.bytes(BENCH, 16)), signingKey: toHex(this.bytes(SIGNING, 32)), publicKey: toHex(this.devicePublicKey()) };
  }

  /** A copy of the raw meter key (what a simulated gateway is given). */
  rawMeterKey(): Uint8Array {
    return this.bytes(METER, 16);
  }

  /** The store's own handle: callers use it and never wipe it. */
  meterKey(): AesKey {
    return (this.meter ??= this.handle(METER, 16, (k) => this.crypto.aesKey(k)));
  }

  /** Wipes and drops the key handles (the meter key's schedule and CMAC subkeys, the signing
   *  scalar): the next use makes them again. For a fleet, whose meters send a telegram every few
   *  minutes and sign only at their first boot. */
  releaseHandles(): void {
    this.meter?.wipe();
    this.meter = undefined;
    this.bench?.wipe();
    this.bench = undefined;
    this.signing?.wipe();
    this.signing = undefined;
  }

  /** Replaces the meter key (the service's install-meter-key). */
  installMeterKey(key: Uint8Array): void {
    if (key.length !== 16) throw new MeterError('bad-key', 'a meter key is 16 bytes (AES-128)');
    this.meter?.wipe();
    this.meter = undefined;
    const raw = this.bytes(0, 64);
    raw.set(key, METER);
    this.raw = latin1(raw);
    raw.fill(0);
  }

  benchKey(): AesKey {
    return (this.bench ??= this.handle(BENCH, 16, (k) => this.crypto.aesKey(k)));
  }

  /** Computed by the signing key's handle, which keeps it while it lives (a copy each call). */
  devicePublicKey(): Uint8Array {
    return this.crypto.p256PublicKey(this.signingKey());
  }

  signDigest(digest: Uint8Array): Uint8Array {
    if (digest.length !== 32) throw new MeterError('bad-digest', `signDigest takes a 32-byte SHA-256 digest, got ${digest.length} bytes`);
    const signature = new Uint8Array(64);
    this.crypto.p256Sign(this.signingKey(), digest, signature);
    return signature;
  }
}
