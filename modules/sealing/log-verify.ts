/**
 * Verifies a calibration log from its first record with the device public key alone: record format,
 * the device binding of the first record, counters (+1 each), the SHA-256 chain and each record's
 * ECDSA P-256 signature (low-S, over the digest; BSI TR-03116-3), then the signed head of an export,
 * which pins the record count and last hash so that a truncated export is detected.
 */
import { concat, equalConstantTime, writeU32LE } from '../core/bytes.js';
import { MeterError } from '../core/errors.js';
import { sha256Of, type Crypto } from '../ports/crypto.js';
import {
  PUBLIC_KEY_SIZE,
  SIGNATURE_SIZE,
  asciiBytes,
  decodeIdentity,
  decodeRecord,
  genesisPrevHash,
  recordHash,
  signedDigest,
  type LogEntry,
} from './log-record.js';

/** The first fault found: `record` is the 0-based index of the bad record, or -1 for the export's
 *  own fields (device key, head). */
export interface LogFault {
  record: number;
  code: string;
  reason: string;
}

export interface VerifyResult {
  ok: boolean;
  deviceId: string;
  /** The records that verified, in order (all of them when ok). */
  entries: LogEntry[];
  fault?: LogFault;
}

/** What an export pins at the time it was made, signed by the device. */
export interface LogHead {
  count: number;
  lastHash: Uint8Array;
  exportedAt: number;
  signature: Uint8Array;
}

export interface VerifyOptions {
  /** Check each record's signature (default true). The device itself may check only the chain. */
  signatures?: boolean;
}

/** Checks an ECDSA P-256 signature over a 32-byte digest; false on any malformed input. */
export function verifyDigest(crypto: Crypto, signature: Uint8Array, digest: Uint8Array, publicKey: Uint8Array): boolean {
  return signature.length === SIGNATURE_SIZE && crypto.p256Verify(publicKey, digest, signature);
}

/** The digest a head signature covers. */
export function headDigest(crypto: Crypto, count: number, lastHash: Uint8Array, exportedAt: number): Uint8Array {
  const n = new Uint8Array(12);
  writeU32LE(n, 0, count);
  writeU32LE(n, 4, exportedAt % 0x100000000);
  writeU32LE(n, 8, Math.floor(exportedAt / 0x100000000));
  return sha256Of(crypto, concat(asciiBytes('xsmeter/log-head/v1', 'domain'), n, lastHash));
}

/** Whether `publicKey` has the form of a SEC1 compressed point (33 bytes, 02 or 03 first). That it
 *  lies on the curve is what every signature check then shows. */
export function isValidPublicKey(publicKey: Uint8Array): boolean {
  return publicKey.length === PUBLIC_KEY_SIZE && (publicKey[0] === 2 || publicKey[0] === 3);
}

/** Verifies stored records (the whole log, first record first). Never throws on bad data. */
export function verifyRecords(crypto: Crypto, records: readonly Uint8Array[], publicKey: Uint8Array, options: VerifyOptions = {}): VerifyResult {
  const signatures = options.signatures ?? true;
  const entries: LogEntry[] = [];
  let deviceId = '';
  const result = (record: number, code: string, reason: string): VerifyResult => ({ ok: false, deviceId, entries, fault: { record, code, reason } });
  if (!isValidPublicKey(publicKey)) return result(-1, 'bad-public-key', 'the public key is not a compressed P-256 point');
  if (records.length === 0) return result(0, 'empty', 'the log has no records (not even its log-init record)');
  let prev: LogEntry | undefined;
  for (let i = 0; i < records.length; i++) {
    let e: LogEntry;
    try {
      e = decodeRecord(records[i]);
    } catch (err) {
      if (err instanceof MeterError) return result(i, err.code, err.message);
      throw err;
    }
    if (i === 0) {
      if (e.type !== 'log-init' || e.counter !== 0) return result(0, 'genesis', `the first record is "${e.type}" #${e.counter}, not log-init #0`);
      let id: { deviceId: string; publicKey: Uint8Array };
      try {
        id = decodeIdentity(e.newValue);
      } catch (err) {
        if (err instanceof MeterError) return result(0, err.code, err.message);
        throw err;
      }
      if (!equalConstantTime(id.publicKey, publicKey)) return result(0, 'device-key', 'the log was started by another device key');
      if (!equalConstantTime(e.prevHash, genesisPrevHash(crypto, publicKey))) return result(0, 'chain', 'the first record is not bound to this device key');
      deviceId = id.deviceId;
    } else {
      if (e.type === 'log-init') return result(i, 'genesis', `a second log-init record at #${e.counter}`);
      if (e.counter !== prev!.counter + 1) return result(i, 'counter', `event counter ${e.counter} follows ${prev!.counter}`);
      if (!equalConstantTime(e.prevHash, recordHash(crypto, prev!.raw))) return result(i, 'chain', `record #${e.counter} does not chain to the record before it`);
    }
    if (signatures && !verifyDigest(crypto, e.signature, signedDigest(crypto, e.raw), publicKey)) {
      return result(i, 'signature', `record #${e.counter}: the signature does not verify with the device key`);
    }
    entries.push(e);
    prev = e;
  }
  return { ok: true, deviceId, entries };
}

/** Verifies records and the export head that pins their count and last hash. */
export function verifyWithHead(crypto: Crypto, records: readonly Uint8Array[], head: LogHead, publicKey: Uint8Array): VerifyResult {
  const r = verifyRecords(crypto, records, publicKey);
  if (!r.ok) return r;
  const fail = (code: string, reason: string): VerifyResult => ({ ...r, ok: false, fault: { record: -1, code, reason } });
  if (head.count !== records.length) {
    const at = Math.min(head.count, records.length);
    return { ...r, ok: false, fault: { record: at, code: 'count', reason: `the export's signed head says ${head.count} records, the file holds ${records.length}` } };
  }
  if (!equalConstantTime(head.lastHash, recordHash(crypto, records[records.length - 1]))) return fail('head-hash', 'the signed head does not name the last record');
  if (!verifyDigest(crypto, head.signature, headDigest(crypto, head.count, head.lastHash, head.exportedAt), publicKey)) {
    return fail('head-signature', 'the signature of the export head does not verify with the device key');
  }
  return r;
}
