/**
 * KeyStore (modules/ports/key-store.ts) over Moddable's `preference` module, which ESP32 keeps in
 * the NVS partition (enable NVS encryption with flash encryption in production so the keys are not
 * readable from a flash dump). Keys are provisioned once at the factory with `provision`; a missing
 * or malformed key is a typed KeyStoreFault, never a zero key. Keys are loaded into handles of the
 * device's crypto port on first use and kept there (the raw bytes read from NVS are wiped). The
 * device signing key is ECDSA P-256: signDigest signs a 32-byte SHA-256 digest without hashing it
 * again (low-S), returning r‖s.
 */
import { MeterError } from '../../../modules/core/errors.js';
import type { AesKey, Crypto, P256PrivateKey } from '../../../modules/ports/crypto.js';
import type { KeyStore } from '../../../modules/ports/key-store.js';

/** A key is missing, has the wrong length, or a digest to sign is not 32 bytes. */
export class KeyStoreFault extends MeterError {}

/** What the key store uses of Moddable's `preference` module. */
export interface PreferenceStore {
  get(domain: string, key: string): string | boolean | number | ArrayBuffer | undefined;
  set(domain: string, key: string, value: ArrayBuffer): void;
}

/** NVS namespace and key names (ESP-IDF limits both to 15 characters). */
export const KEY_DOMAIN = 'xsmeter-keys';
const METER_KEY = 'meter';
const BENCH_KEY = 'bench';
const DEVICE_KEY = 'device';

export interface ProvisionedKeys {
  meterKey: Uint8Array;
  benchKey: Uint8Array;
  /** P-256 private scalar, 32 bytes big-endian. */
  devicePrivateKey: Uint8Array;
}

export class PreferenceKeyStore implements KeyStore {
  private meter: AesKey | undefined;
  private bench: AesKey | undefined;
  private device: P256PrivateKey | undefined;

  constructor(
    private readonly prefs: PreferenceStore,
    private readonly crypto: Crypto,
    private readonly domain = KEY_DOMAIN,
  ) {}

  /** Writes the keys (factory provisioning); checks lengths and that the private key is a valid scalar. */
  static provision(prefs: PreferenceStore, crypto: Crypto, keys: ProvisionedKeys, domain = KEY_DOMAIN): void {
    checkLength('meter key', keys.meterKey, 16);
    checkLength('bench key', keys.benchKey, 16);
    checkLength('device private key', keys.devicePrivateKey, 32);
    try {
      crypto.p256PrivateKey(keys.devicePrivateKey).wipe();
    } catch (e) {
      if (!(e instanceof MeterError)) throw e;
      throw new KeyStoreFault('bad-key', 'the device private key is not a P-256 scalar in 1..n-1', { key: DEVICE_KEY });
    }
    prefs.set(domain, METER_KEY, keys.meterKey.slice().buffer);
    prefs.set(domain, BENCH_KEY, keys.benchKey.slice().buffer);
    prefs.set(domain, DEVICE_KEY, keys.devicePrivateKey.slice().buffer);
  }

  /** The store's own handle: callers use it and never wipe it. */
  meterKey(): AesKey {
    if (!this.meter) this.meter = this.aesKey(METER_KEY);
    return this.meter;
  }

  /** Replaces the OMS meter key (the service's install-meter-key, authenticated by the bench key). */
  installMeterKey(key: Uint8Array): void {
    checkLength('meter key', key, 16);
    this.prefs.set(this.domain, METER_KEY, key.slice().buffer);
    this.meter?.wipe();
    this.meter = undefined;
  }

  benchKey(): AesKey {
    if (!this.bench) this.bench = this.aesKey(BENCH_KEY);
    return this.bench;
  }

  devicePublicKey(): Uint8Array {
    return this.crypto.p256PublicKey(this.deviceKey());
  }

  signDigest(digest: Uint8Array): Uint8Array {
    checkLength('digest', digest, 32);
    const signature = new Uint8Array(64);
    this.crypto.p256Sign(this.deviceKey(), digest, signature);
    return signature;
  }

  private aesKey(name: string): AesKey {
    const raw = this.load(name, 16);
    try {
      return this.crypto.aesKey(raw);
    } finally {
      raw.fill(0);
    }
  }

  private deviceKey(): P256PrivateKey {
    if (!this.device) {
      const raw = this.load(DEVICE_KEY, 32);
      try {
        this.device = this.crypto.p256PrivateKey(raw);
      } finally {
        raw.fill(0);
      }
    }
    return this.device;
  }

  private load(key: string, length: number): Uint8Array {
    const v = this.prefs.get(this.domain, key);
    if (!(v instanceof ArrayBuffer)) {
      throw new KeyStoreFault('missing-key', `no ${key} key in NVS namespace ${this.domain}: provision the device`, {
        key,
        domain: this.domain,
      });
    }
    const bytes = new Uint8Array(v);
    checkLength(`${key} key`, bytes, length);
    return bytes;
  }
}

function checkLength(what: string, bytes: Uint8Array, length: number): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new KeyStoreFault('bad-key', `${what} must be ${length} bytes, got ${bytes?.length}`, {
      what,
      length: bytes?.length ?? -1,
      expected: length,
    });
  }
}
