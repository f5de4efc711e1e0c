/**
 * The meter's secrets, as a security module would hold them: keys are handed out as handles of the
 * crypto port (modules/ports/crypto.ts), never as bytes, and the device's private signing key never
 * leaves it: callers hand it a digest to sign.
 */
import type { AesKey } from './crypto.js';

export interface KeyStore {
  /** OMS meter master key (AES-128) shared with the gateway. */
  meterKey(): AesKey;
  /** Bench key (AES-128) that authenticates privileged service commands. */
  benchKey(): AesKey;
  /** Device public key, ECDSA P-256, SEC1 compressed (33 bytes). */
  devicePublicKey(): Uint8Array;
  /** Signs a 32-byte SHA-256 digest with the device key: ECDSA P-256, 64-byte r‖s, low-S. */
  signDigest(digest: Uint8Array): Uint8Array;
}
