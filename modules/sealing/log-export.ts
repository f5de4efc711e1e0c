/**
 * Export formats of the calibration log, read back by the verifier (`xsmeter log verify`):
 *
 * JSON (self-describing): { format: "xsmeter-calibration-log", version: 1, algorithms, deviceId,
 * publicKey, records: [{ counter, time (ISO 8601), timeMs, event, parameter, old, new, who, prevHash,
 * signature, raw }], head: { count, lastHash, exportedAt, signature } }. `raw` (hex) is the record as
 * stored and is what is verified; the readable fields beside it must agree with it (a mismatch is a
 * fault), so nobody reads an edited value next to an intact signature.
 *
 * Binary: "XSCL" | u8 version 1 | 33-byte public key | u8 id length | device id | u32 count |
 * count × (u16 length | record) | u32 head count | u32+u32 exportedAt (ms, lo/hi) | 32 last hash |
 * 64 head signature. Integers little-endian.
 */
import { concat, equalConstantTime, fromHex, readU16LE, readU32LE, toHex, writeU16LE, writeU32LE } from '../core/bytes.js';
import { MeterError } from '../core/errors.js';
import { isoTime } from '../core/iso-time.js';
import type { LogExport } from './calibration-log.js';
import { LogVerifyError } from './errors.js';
import { HASH_SIZE, PUBLIC_KEY_SIZE, SIGNATURE_SIZE, asciiBytes, decodeRecord, type LogEntry } from './log-record.js';
import { verifyWithHead, type VerifyResult } from './log-verify.js';
import type { Crypto } from '../ports/crypto.js';

export const EXPORT_FORMAT = 'xsmeter-calibration-log';
const MAGIC: readonly number[] = Object.freeze([0x58, 0x53, 0x43, 0x4c]); // "XSCL"

/** The readable fields of a JSON record, as found in the file. */
export interface DescribedRecord {
  counter: number;
  time: string;
  timeMs: number;
  event: string;
  parameter: number;
  old: string;
  new: string;
  who: string;
  prevHash: string;
  signature: string;
}

/** An export read from a file; `described` holds the JSON records' readable fields. */
export interface ReadExport extends LogExport {
  described?: DescribedRecord[];
}

function describe(e: LogEntry): DescribedRecord {
  return {
    counter: e.counter,
    time: isoTime(e.time),
    timeMs: e.time,
    event: e.type,
    parameter: e.parameter,
    old: toHex(e.oldValue),
    new: toHex(e.newValue),
    who: e.who,
    prevHash: toHex(e.prevHash),
    signature: toHex(e.signature),
  };
}

export function exportToJson(exp: LogExport): string {
  const doc = {
    format: EXPORT_FORMAT,
    version: 1,
    algorithms: 'records chained by SHA-256 of the previous record; each signed with ECDSA P-256 (SHA-256 digest, r||s, low-S); verify with the device public key',
    deviceId: exp.deviceId,
    publicKey: toHex(exp.publicKey),
    records: exp.records.map((raw) => {
      let d: DescribedRecord | { undecodable: true };
      try {
        d = describe(decodeRecord(raw));
      } catch {
        d = { undecodable: true };
      }
      return { ...d, raw: toHex(raw) };
    }),
    head: { count: exp.head.count, lastHash: toHex(exp.head.lastHash), exportedAt: exp.head.exportedAt, signature: toHex(exp.head.signature) },
  };
  return JSON.stringify(doc, null, 2) + '\n';
}

function formatError(why: string, details: Record<string, string | number | boolean> = {}): LogVerifyError {
  return new LogVerifyError('format', `not a calibration log export: ${why}`, details);
}

/** A file that does not begin as an export (another file, an export of another version), told
 *  apart from an export damaged after its beginning: `details.notAnExport`. */
function notAnExport(why: string): LogVerifyError {
  return formatError(why, { notAnExport: true });
}

function hexField(o: Record<string, unknown>, key: string, where: string, size?: number): Uint8Array {
  const v = o[key];
  if (typeof v !== 'string') throw formatError(`${where}.${key} is not a hex string`);
  let b: Uint8Array;
  try {
    b = fromHex(v);
  } catch (e) {
    if (e instanceof MeterError) throw formatError(`${where}.${key} is not hex`);
    throw e;
  }
  if (size !== undefined && b.length !== size) throw formatError(`${where}.${key} must be ${size} bytes`);
  return b;
}

function intField(o: Record<string, unknown>, key: string, where: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw formatError(`${where}.${key} is not a non-negative integer`);
  return v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads a JSON export (structure only; `verifyExport` judges the content). */
export function exportFromJson(text: string): ReadExport {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw formatError('not JSON');
  }
  if (!isObject(doc) || doc.format !== EXPORT_FORMAT) throw notAnExport(`"format" is not "${EXPORT_FORMAT}"`);
  if (doc.version !== 1) throw notAnExport(`unsupported version ${String(doc.version)}`);
  if (typeof doc.deviceId !== 'string') throw formatError('deviceId is not a string');
  const publicKey = hexField(doc, 'publicKey', 'export', PUBLIC_KEY_SIZE);
  if (!Array.isArray(doc.records)) throw formatError('records is not an array');
  const records: Uint8Array[] = [];
  const described: DescribedRecord[] = [];
  doc.records.forEach((r: unknown, i: number) => {
    const where = `records[${i}]`;
    if (!isObject(r)) throw formatError(`${where} is not an object`, { record: i });
    records.push(hexField(r, 'raw', where));
    const str = (k: string) => (typeof r[k] === 'string' ? (r[k] as string) : '\u0000missing');
    const num = (k: string) => (typeof r[k] === 'number' ? (r[k] as number) : -1);
    described.push({
      counter: num('counter'),
      time: str('time'),
      timeMs: num('timeMs'),
      event: str('event'),
      parameter: num('parameter'),
      old: str('old'),
      new: str('new'),
      who: str('who'),
      prevHash: str('prevHash'),
      signature: str('signature'),
    });
  });
  if (!isObject(doc.head)) throw formatError('head is missing');
  const head = {
    count: intField(doc.head, 'count', 'head'),
    lastHash: hexField(doc.head, 'lastHash', 'head', HASH_SIZE),
    exportedAt: intField(doc.head, 'exportedAt', 'head'),
    signature: hexField(doc.head, 'signature', 'head', SIGNATURE_SIZE),
  };
  return { deviceId: doc.deviceId, publicKey, records, head, described };
}

export function exportToBinary(exp: LogExport): Uint8Array {
  const id = asciiBytes(exp.deviceId, 'device id');
  const parts: Uint8Array[] = [new Uint8Array([...MAGIC, 1]), exp.publicKey, new Uint8Array([id.length]), id];
  const n = new Uint8Array(4);
  writeU32LE(n, 0, exp.records.length);
  parts.push(n);
  for (const r of exp.records) {
    const len = new Uint8Array(2);
    writeU16LE(len, 0, r.length);
    parts.push(len, r);
  }
  const tail = new Uint8Array(12);
  writeU32LE(tail, 0, exp.head.count);
  writeU32LE(tail, 4, exp.head.exportedAt % 0x100000000);
  writeU32LE(tail, 8, Math.floor(exp.head.exportedAt / 0x100000000));
  parts.push(tail, exp.head.lastHash, exp.head.signature);
  return concat(...parts);
}

export function exportFromBinary(bytes: Uint8Array): ReadExport {
  let p = 0;
  const take = (n: number, what: string): Uint8Array => {
    if (p + n > bytes.length) throw formatError(`ends inside ${what}`, { offset: p });
    const out = bytes.slice(p, p + n);
    p += n;
    return out;
  };
  if (bytes.length < 5 || MAGIC.some((b, i) => bytes[i] !== b)) throw notAnExport(bytes.length === 0 ? 'empty' : 'no "XSCL" magic');
  const magic = take(5, 'the magic');
  if (magic[4] !== 1) throw notAnExport(`unsupported version ${magic[4]}`);
  const publicKey = take(PUBLIC_KEY_SIZE, 'the public key');
  const idBytes = take(take(1, 'the id length')[0], 'the device id');
  let deviceId = '';
  for (const c of idBytes) deviceId += String.fromCharCode(c);
  const count = readU32LE(take(4, 'the record count'), 0);
  const records: Uint8Array[] = [];
  for (let i = 0; i < count; i++) records.push(take(readU16LE(take(2, `record ${i}`), 0), `record ${i}`));
  const tail = take(12, 'the head');
  const lastHash = take(HASH_SIZE, 'the head');
  const signature = take(SIGNATURE_SIZE, 'the head');
  if (p !== bytes.length) throw formatError(`${bytes.length - p} bytes after the head`, { offset: p });
  const exportedAt = readU32LE(tail, 4) + readU32LE(tail, 8) * 0x100000000;
  return { deviceId, publicKey, records, head: { count: readU32LE(tail, 0), lastHash, exportedAt, signature } };
}

/** Reads either format (JSON starts with "{"). */
export function readExport(bytes: Uint8Array): ReadExport {
  let i = 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)) i++;
  if (bytes[i] !== 0x7b) return exportFromBinary(bytes);
  let text = '';
  for (let k = 0; k < bytes.length; k++) text += String.fromCharCode(bytes[k]);
  return exportFromJson(text);
}

function sameDescription(d: DescribedRecord, e: LogEntry): string | undefined {
  const want = describe(e);
  for (const k of Object.keys(want) as (keyof DescribedRecord)[]) {
    if (d[k] !== want[k]) return k;
  }
  return undefined;
}

/**
 * Verifies an export with the device public key given by the verifier (never the one in the file):
 * records, chain, signatures, the signed head, and that the readable JSON fields match the records.
 */
export function verifyExport(crypto: Crypto, exp: ReadExport, publicKey: Uint8Array): VerifyResult {
  if (!equalConstantTime(exp.publicKey, publicKey)) {
    return { ok: false, deviceId: '', entries: [], fault: { record: -1, code: 'device-key', reason: 'the export names another device public key than the one given' } };
  }
  const r = verifyWithHead(crypto, exp.records, exp.head, publicKey);
  if (r.entries.length > 0 && r.deviceId !== exp.deviceId) {
    return { ...r, ok: false, fault: { record: 0, code: 'field-mismatch', reason: `deviceId "${exp.deviceId}" differs from the log-init record's "${r.deviceId}"` } };
  }
  if (exp.described) {
    // Records before the first fault decoded; a readable field that disagrees is the earlier fault.
    for (let i = 0; i < r.entries.length; i++) {
      const d = exp.described[i];
      const field = d ? sameDescription(d, r.entries[i]) : 'record';
      if (field) {
        return { ...r, ok: false, entries: r.entries.slice(0, i), fault: { record: i, code: 'field-mismatch', reason: `record ${i}: "${field}" does not match the signed record` } };
      }
    }
  }
  return r;
}
