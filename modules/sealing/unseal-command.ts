/**
 * The authenticated unseal command: AES-CMAC (NIST SP 800-38B / RFC 4493) with the bench key over a
 * challenge the meter states — its device id, the event counter the attempt will be logged under and
 * the hash of its last log record. Every attempt is logged, which moves counter and hash on, so a
 * command verifies once at most: a replayed one is stale. Used by the meter (verify) and the bench
 * (make).
 */
import { concat, writeU32LE } from '../core/bytes.js';
import { cmacOf, type AesKey, type Crypto } from '../ports/crypto.js';
import { SealError } from './errors.js';
import { asciiBytes } from './log-record.js';

export interface UnsealChallenge {
  deviceId: string;
  /** The event counter the attempt will get in the log. */
  counter: number;
  /** SHA-256 of the meter's last log record. */
  headHash: Uint8Array;
}

export interface UnsealCommand {
  counter: number;
  /** AES-CMAC tag, 16 bytes. */
  mac: Uint8Array;
}

export const UNSEAL_MAC_SIZE = 16;

/** The bytes the bench key authenticates. */
export function unsealMessage(c: UnsealChallenge): Uint8Array {
  if (!Number.isInteger(c.counter) || c.counter < 0 || c.counter > 0xffffffff) throw new SealError('bad-command', `counter ${c.counter} outside 0..2^32-1`);
  const n = new Uint8Array(4);
  writeU32LE(n, 0, c.counter);
  const id = asciiBytes(c.deviceId, 'device id');
  return concat(asciiBytes('xsmeter/unseal/v1', 'domain'), new Uint8Array([id.length]), id, n, c.headHash);
}

/** Bench side: the command that unseals the meter which stated `challenge`. */
export function makeUnsealCommand(crypto: Crypto, benchKey: AesKey, challenge: UnsealChallenge): UnsealCommand {
  return { counter: challenge.counter, mac: cmacOf(crypto, benchKey, unsealMessage(challenge)) };
}
