/**
 * KeyStore (modules/ports/key-store.ts) over Moddable's `preference` module, which ESP32 keeps in
 * the NVS partition (enable NVS encryption with flash encryption in production so the keys are not
 * readable from a flash dump). Keys are provisioned once at the factory with `provision`; a missing
 * or malformed key is a typed KeyStoreFault, never a zero key. The device signing key is ECDSA P-256:
 * signDigest signs a 32-byte SHA-256 digest without hashing it again (RFC 6979, low-S), returning r‖s.
 */
import { p256 } from '@noble/curves/nist.js';
import { MeterError } from '../../../modules/core/errors.js';
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
  constructor(
    private readonly prefs: PreferenceStore,
    private readonly domain = KEY_DOMAIN,
  ) {}

  /** Writes the keys (factory provisioning); checks lengths and that the private key is a valid scalar. */
  static provision(prefs: PreferenceStore, keys: ProvisionedKeys, domain = KEY_DOMAIN): void {
    checkLength('meter key', keys.meterKey, 16);
    checkLength('bench key', keys.benchKey, 16);
    checkLength('device private key', keys.devicePrivateKey, 32);
    if (!p256.utils.isValidSecretKey(keys.devicePrivateKey)) {
      throw new KeyStoreFault('bad-key', 'the device private key is not a P-256 scalar in 1..n-1', { key: DEVICE_KEY });
    }
    prefs.set(domain, METER_KEY, keys.meterKey.slice().buffer);
    prefs.set(domain, BENCH_KEY, keys.benchKey.slice().buffer);
    prefs.set(domain, DEVICE_KEY, keys.devicePrivateKey.slice().buffer);
  }

  meterKey(): Uint8Array {
    return this.load(METER_KEY, 16);
  }

  /** Replaces the OMS meter key (the service's install-meter-key, authenticated by the bench key). */
  installMeterKey(key: Uint8Array): void {
    checkLength('meter key', key, 16);
    this.prefs.set(this.domain, METER_KEY, key.slice().buffer);
  }

  benchKey(): Uint8Array {
    return this.load(BENCH_KEY, 16);
  }

  devicePublicKey(): Uint8Array {
    return p256.getPublicKey(this.load(DEVICE_KEY, 32), true);
  }

  signDigest(digest: Uint8Array): Uint8Array {
    checkLength('digest', digest, 32);
    return p256.sign(digest, this.load(DEVICE_KEY, 32), { prehash: false, lowS: true });
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
