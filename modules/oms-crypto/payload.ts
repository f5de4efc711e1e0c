/**
 * The plaintext an OMS security mode encrypts (OMS Vol. 2 §9.2 / EN 13757-7 §7.2): it starts with
 * the two check bytes 2F 2F and is filled up to a whole number of AES blocks with 2F (the idle
 * filler DIF of EN 13757-3). After decryption the 2F 2F prefix is what tells a right key from a
 * wrong one in mode 5 (mode 7 has the MAC first).
 */
import { SecurityError } from './errors.js';

export const FILLER = 0x2f;
/** Most blocks the 4-bit N of the configuration field can announce (EN 13757-7, Table 19/20). */
export const MAX_ENCRYPTED_BLOCKS = 15;

/** 2F 2F ‖ records ‖ 2F… up to a multiple of 16 bytes. */
export function padForEncryption(records: Uint8Array): Uint8Array {
  const out = new Uint8Array(encryptedBlocks(records.length) * 16).fill(FILLER);
  out.set(records, 2);
  return out;
}

/** AES blocks that 2F 2F and `recordsLength` bytes of records fill; a typed error above the 15 N can announce. */
export function encryptedBlocks(recordsLength: number): number {
  const blocks = Math.ceil((recordsLength + 2) / 16);
  if (blocks > MAX_ENCRYPTED_BLOCKS) {
    throw new SecurityError(
      'payload-too-long',
      `${recordsLength} bytes of records need ${blocks} AES blocks; the configuration field allows ${MAX_ENCRYPTED_BLOCKS}`,
      { length: recordsLength, blocks },
    );
  }
  return blocks;
}

/** Throws 'wrong-key' unless the decrypted data begins with 2F 2F. */
export function checkDecrypted(plain: Uint8Array, mode: number): void {
  if (plain.length < 2 || plain[0] !== FILLER || plain[1] !== FILLER) {
    throw new SecurityError(
      'wrong-key',
      `decrypted data does not start with 2F2F (security mode ${mode}): wrong key or corrupted ciphertext`,
      { mode, first: plain.length >= 2 ? (plain[0] << 8) | plain[1] : -1 },
    );
  }
}
