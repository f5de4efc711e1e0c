/**
 * One record of the calibration log (legal metrology event log, WELMEC 7.2 / MID Annex I 8.3): its
 * fields, its binary encoding, and the digests that chain and sign it (SHA-256; ECDSA P-256 per
 * BSI TR-03116-3). All integers little-endian.
 *
 *   u8  version (1)          u8  event type        u32 event counter      u32+u32 time (ms, lo/hi)
 *   u16 parameter id         u8  who length, who (ASCII, the bench id)
 *   u16 old length, old      u16 new length, new   (opaque serialised values)
 *   32  SHA-256 of the previous record (whole, signature included)
 *   64  ECDSA P-256 signature r‖s (low-S) over SHA-256 of everything before it
 *
 * The first record ("log-init", counter 0) binds the device: its new value is the device id and the
 * device public key, and its previous-hash is SHA-256("xsmeter/calibration-log/v1" ‖ public key).
 */
import { concat, readU16LE, readU32LE, writeU16LE, writeU32LE } from '../core/bytes.js';
import { LogVerifyError } from './errors.js';
import { sha256Of, type Crypto } from '../ports/crypto.js';

export const RECORD_VERSION = 1;
export const HASH_SIZE = 32;
export const SIGNATURE_SIZE = 64;
export const PUBLIC_KEY_SIZE = 33;
/** Largest old/new value a record carries (opaque calibration constants are small). */
export const MAX_VALUE_SIZE = 128;
export const MAX_TEXT_SIZE = 32;

/** Event types and their codes on flash (stable). */
export const EVENT_TYPES = Object.freeze([
  'log-init',
  'calibration-change',
  'seal',
  'unseal-attempt',
  'unseal',
  'firmware-update',
  'key-change',
  'auth-failure',
  'tamper',
] as const);
export type EventType = (typeof EVENT_TYPES)[number];

export interface LogEvent {
  type: EventType;
  /** Legally relevant parameter the event concerns (0 when none). */
  parameter: number;
  oldValue: Uint8Array;
  newValue: Uint8Array;
  /** Who caused it: the bench id (printable ASCII, up to 32 characters). */
  who: string;
}

export interface LogEntry extends LogEvent {
  counter: number;
  /** Milliseconds since 1970-01-01 UTC, from the meter's clock. */
  time: number;
  prevHash: Uint8Array;
  signature: Uint8Array;
  /** The record as stored. */
  raw: Uint8Array;
}

const DOMAIN = 'xsmeter/calibration-log/v1';

export function asciiBytes(text: string, what: string): Uint8Array {
  if (text.length > MAX_TEXT_SIZE) throw new LogVerifyError('bad-text', `${what} longer than ${MAX_TEXT_SIZE} characters`, { field: what });
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) throw new LogVerifyError('bad-text', `${what} must be printable ASCII`, { field: what, index: i });
    out[i] = c;
  }
  return out;
}

function asciiText(bytes: Uint8Array, what: string): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] < 0x20 || bytes[i] > 0x7e) throw new LogVerifyError('decode', `${what} is not printable ASCII`, { field: what });
    s += String.fromCharCode(bytes[i]);
  }
  return s;
}

/** The previous-hash of the first record: binds the chain to the device key. */
export function genesisPrevHash(crypto: Crypto, publicKey: Uint8Array): Uint8Array {
  return sha256Of(crypto, concat(asciiBytes(DOMAIN, 'domain'), publicKey));
}

/** The new value of the log-init record: u8 id length, id, 33-byte public key. */
export function encodeIdentity(deviceId: string, publicKey: Uint8Array): Uint8Array {
  const id = asciiBytes(deviceId, 'device id');
  return concat(new Uint8Array([id.length]), id, publicKey);
}

export function decodeIdentity(value: Uint8Array): { deviceId: string; publicKey: Uint8Array } {
  const n = value[0];
  if (value.length !== 1 + n + PUBLIC_KEY_SIZE) throw new LogVerifyError('genesis', 'log-init record does not hold a device id and a 33-byte public key');
  return { deviceId: asciiText(value.subarray(1, 1 + n), 'device id'), publicKey: value.slice(1 + n) };
}

/** Encodes everything a record's signature covers (all but the signature). */
export function encodeUnsigned(e: Omit<LogEntry, 'signature' | 'raw'>): Uint8Array {
  const code = EVENT_TYPES.indexOf(e.type);
  if (code < 0) throw new LogVerifyError('bad-event', `unknown event type "${e.type}"`, { type: String(e.type) });
  for (const [name, v] of [['old value', e.oldValue], ['new value', e.newValue]] as const) {
    if (v.length > MAX_VALUE_SIZE) throw new LogVerifyError('bad-event', `${name} of ${v.length} bytes exceeds ${MAX_VALUE_SIZE}`, { field: name, length: v.length });
  }
  if (!Number.isInteger(e.parameter) || e.parameter < 0 || e.parameter > 0xffff) throw new LogVerifyError('bad-event', `parameter id ${e.parameter} outside 0..65535`, { parameter: e.parameter });
  if (!Number.isInteger(e.time) || e.time < 0 || e.time > Number.MAX_SAFE_INTEGER) throw new LogVerifyError('bad-event', `time ${e.time} is not a valid millisecond count`);
  if (!Number.isInteger(e.counter) || e.counter < 0 || e.counter > 0xffffffff) throw new LogVerifyError('bad-event', `counter ${e.counter} outside 0..2^32-1`);
  if (e.prevHash.length !== HASH_SIZE) throw new LogVerifyError('bad-event', 'previous hash must be 32 bytes');
  const who = asciiBytes(e.who, 'who');
  const head = new Uint8Array(17);
  head[0] = RECORD_VERSION;
  head[1] = code;
  writeU32LE(head, 2, e.counter);
  writeU32LE(head, 6, e.time % 0x100000000);
  writeU32LE(head, 10, Math.floor(e.time / 0x100000000));
  writeU16LE(head, 14, e.parameter);
  head[16] = who.length;
  const lens = new Uint8Array(4);
  writeU16LE(lens, 0, e.oldValue.length);
  writeU16LE(lens, 2, e.newValue.length);
  return concat(head, who, lens.subarray(0, 2), e.oldValue, lens.subarray(2, 4), e.newValue, e.prevHash);
}

/** Decodes a stored record; any malformation is a LogVerifyError "decode". Checks no signature. */
export function decodeRecord(raw: Uint8Array): LogEntry {
  const fail = (why: string): never => {
    throw new LogVerifyError('decode', `malformed record: ${why}`, { length: raw.length });
  };
  if (raw.length < 17) fail('shorter than its fixed header');
  if (raw[0] !== RECORD_VERSION) throw new LogVerifyError('version', `record version ${raw[0]} (expected ${RECORD_VERSION})`, { version: raw[0] });
  const type = EVENT_TYPES[raw[1]];
  if (type === undefined) fail(`unknown event type code ${raw[1]}`);
  const counter = readU32LE(raw, 2);
  const time = readU32LE(raw, 6) + readU32LE(raw, 10) * 0x100000000;
  if (time > Number.MAX_SAFE_INTEGER) fail('time out of range');
  const parameter = readU16LE(raw, 14);
  let p = 16;
  const take = (n: number): Uint8Array => {
    if (p + n > raw.length) fail('a length runs past its end');
    const out = raw.slice(p, p + n);
    p += n;
    return out;
  };
  const whoLen = take(1)[0];
  if (whoLen > MAX_TEXT_SIZE) fail('who too long');
  const who = asciiText(take(whoLen), 'who');
  const oldLen = readU16LE(take(2), 0);
  if (oldLen > MAX_VALUE_SIZE) fail('old value too long');
  const oldValue = take(oldLen);
  const newLen = readU16LE(take(2), 0);
  if (newLen > MAX_VALUE_SIZE) fail('new value too long');
  const newValue = take(newLen);
  const prevHash = take(HASH_SIZE);
  const signature = take(SIGNATURE_SIZE);
  if (p !== raw.length) fail(`${raw.length - p} bytes after the signature`);
  return { type, counter, time, parameter, who, oldValue, newValue, prevHash, signature, raw: raw.slice() };
}

/** The digest the device signs: SHA-256 of the record without its signature. */
export function signedDigest(crypto: Crypto, raw: Uint8Array): Uint8Array {
  return sha256Of(crypto, raw.subarray(0, raw.length - SIGNATURE_SIZE));
}

/** The hash the next record chains to: SHA-256 of the whole record. */
export function recordHash(crypto: Crypto, raw: Uint8Array): Uint8Array {
  return sha256Of(crypto, raw);
}
