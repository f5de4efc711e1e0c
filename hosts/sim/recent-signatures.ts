/**
 * The last few signatures a desktop crypto provider made, as (public key, digest, signature)
 * triples: verifying one of those exact triples is true without the two scalar multiplications —
 * what the curve arithmetic would say (ECDSA is correct) — so a simulated meter that checks at boot
 * the record it signed a moment before (every factory set-up: the seal guard checks the log-init
 * record) does not pay for it twice. Anything else is verified in full by the provider. A ring in
 * one array, compared as bytes (no hex strings per signature and verification).
 */
const KEPT = 16;
const BYTES = 33 + 32 + 64;

export class RecentSignatures {
  private readonly ring = new Uint8Array(KEPT * BYTES);
  private count = 0;
  private next = 0;

  /** `publicKey`: SEC1 compressed (33 bytes); `digest` 32, `signature` 64. */
  remember(publicKey: Uint8Array, digest: Uint8Array, signature: Uint8Array): void {
    const o = this.next * BYTES;
    this.ring.set(publicKey, o);
    this.ring.set(digest, o + 33);
    this.ring.set(signature, o + 65);
    this.next = (this.next + 1) % KEPT;
    if (this.count < KEPT) this.count++;
  }

  /** Whether this exact triple was remembered (a key given uncompressed or of another length: no). */
  has(publicKey: Uint8Array, digest: Uint8Array, signature: Uint8Array): boolean {
    if (publicKey.length !== 33 || digest.length !== 32 || signature.length !== 64) return false;
    const r = this.ring;
    for (let e = 0; e < this.count; e++) {
      const o = e * BYTES;
      let i = 0;
      while (i < 33 && r[o + i] === publicKey[i]) i++;
      if (i < 33) continue;
      while (i < 65 && r[o + i] === digest[i - 33]) i++;
      if (i < 65) continue;
      while (i < BYTES && r[o + i] === signature[i - 65]) i++;
      if (i === BYTES) return true;
    }
    return false;
  }
}
