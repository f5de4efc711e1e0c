/**
 * The meter's secrets, as a security module would hold them. The device's private signing key never
 * leaves it: callers hand it a digest to sign.
 */
export interface KeyStore {
  /** OMS meter master key (AES-128, 16 bytes) shared with the gateway. */
  meterKey(): Uint8Array;
  /** Bench key (AES-128, 16 bytes) that authenticates privileged service commands. */
  benchKey(): Uint8Array;
  /** Device public key, ECDSA P-256, SEC1 compressed (33 bytes). */
  devicePublicKey(): Uint8Array;
  /** Signs a 32-byte SHA-256 digest with the device key: deterministic ECDSA P-256 (RFC 6979),
   *  64-byte r‖s, low-S. */
  signDigest(digest: Uint8Array): Uint8Array;
}
