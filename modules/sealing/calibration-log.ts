/**
 * The calibration log of the meter (legal metrology event log, WELMEC 7.2 / MID): every change to a
 * legally relevant parameter and every seal event, for the life of the meter, hash-chained and signed
 * by the device key (through the KeyStore port; deterministic ECDSA P-256), stored in a power-loss
 * safe AppendLog on flash (modules/storage; the flash map's calibration log region). The event
 * counter is the record's position: it never goes back, since a record once committed is never lost.
 * A full log refuses new events (LogFullError "log-full"), so a change that must be logged is refused
 * rather than made unlogged; nothing is ever overwritten.
 *
 * At open the log checks what it relies on: the chain from the device-bound first record, the
 * signature of the newest record (which, through the chain, vouches for every record before it), and
 * the witness (log-witness.ts: how many records were committed, and the newest one's hash). A fault is
 * kept in `fault`, and one the flash alone would not show again after the next append (a record
 * missing or replaced, a missing witness) is also logged as a tamper record, so the seal's tamper
 * status holds until the next authorised seal.
 */
import { concat } from '../core/bytes.js';
import type { Clock } from '../ports/clock.js';
import { sha256Of, type Crypto } from '../ports/crypto.js';
import type { Flash } from '../ports/flash.js';
import type { KeyStore } from '../ports/key-store.js';
import { AppendLog, type AppendLogStats } from '../storage/append-log.js';
import type { FrameWriter } from '../storage/frame.js';
import { LogFullError } from '../storage/errors.js';
import { storeMagic } from '../storage/flash-map.js';
import type { SectorTables } from '../storage/record-ring.js';
import { LogVerifyError } from './errors.js';
import {
  SIGNATURE_SIZE,
  decodeRecord,
  encodeIdentity,
  encodeUnsigned,
  genesisPrevHash,
  recordHash,
  signedDigest,
  type EventType,
  type LogEntry,
} from './log-record.js';
import { headDigest, verifyDigest, verifyRecords, type LogFault, type LogHead } from './log-verify.js';
import type { LogWitness, LogWitnessState } from './log-witness.js';

export interface CalibrationLogOptions {
  /** The log's own flash, all of it (the flash map's calibration log region). */
  flash: Flash;
  /** Sector header magic (default: the flash map's calibration log). */
  magic?: string;
  keys: KeyStore;
  crypto: Crypto;
  clock: Clock;
  /** The meter's identity (e.g. manufacturer + serial), printable ASCII, ≤ 32 characters. */
  deviceId: string;
  /** Who the log-init record names (default "factory"). */
  initBy?: string;
  /** Also check every signature at open, not only the chain and the newest record's (slow on a long
   *  log; default false). */
  verifySignatures?: boolean;
  /** The log's witness in the other partition (log-witness.ts); without one a dropped newest record
   *  cannot be told from a torn write (tools reading a single image). */
  witness?: LogWitness;
  /** AppendLogOptions.writer. */
  writer?: FrameWriter;
  /** AppendLogOptions.tables. */
  tables?: SectorTables;
  /** AppendLogOptions.seen: whether the log's flash held anything when opened (before a log-init). */
  seen?: { used: boolean };
}

/** What a caller records; the log adds counter, time, chain and signature. */
export interface NewEvent {
  type: Exclude<EventType, 'log-init'>;
  parameter?: number;
  oldValue?: Uint8Array;
  newValue?: Uint8Array;
  who: string;
}

/** A log as exported: the records as stored plus a head the device signed when exporting. */
export interface LogExport {
  deviceId: string;
  publicKey: Uint8Array;
  records: Uint8Array[];
  head: LogHead;
}

const EMPTY = new Uint8Array(0);
/** Bytes of a record hash (SHA-256). */
const HEAD_HASH_SIZE = 32;

/** Fault codes of the newest record or the witness: appending a record would make them invisible. */
const HIDDEN_BY_APPEND: readonly string[] = Object.freeze(['signature', 'witness-lost', 'head-mismatch', 'records-lost', 'records-unwitnessed']);

export class CalibrationLog {
  readonly store: AppendLog;
  readonly deviceId: string;
  /** A fault found in the stored log at open (tampered or corrupted flash); the seal reports tamper. */
  readonly fault: LogFault | undefined;
  private readonly keys: KeyStore;
  private readonly crypto: Crypto;
  private readonly clock: Clock;
  private readonly witness: LogWitness | undefined;
  /** The public key but its first byte, then the last record's SHA-256 (what the next record chains
   *  to): one array, not the last record kept whole nor two arrays, and for a compressed P-256 key
   *  32 + 32 bytes, which V8 keeps on its heap (a typed array above 64 bytes gets a buffer of its
   *  own). Only read by index, set() and slice(): a view of it would move it into a buffer. */
  private readonly keyAndHead: Uint8Array;
  /** The public key's first byte (a compressed key's parity). */
  private readonly keyPrefix: number;
  private lastCounter: number;

  private constructor(o: CalibrationLogOptions, store: AppendLog, last: { raw: Uint8Array; counter: number } | undefined, fault: LogFault | undefined) {
    this.store = store;
    this.keys = o.keys;
    this.crypto = o.crypto;
    this.clock = o.clock;
    this.witness = o.witness;
    this.deviceId = o.deviceId;
    const publicKey = o.keys.devicePublicKey();
    this.keyAndHead = new Uint8Array(publicKey.length - 1 + HEAD_HASH_SIZE);
    for (let i = 1; i < publicKey.length; i++) this.keyAndHead[i - 1] = publicKey[i];
    this.keyPrefix = publicKey[0];
    this.fault = fault;
    const init = last ?? this.write({ type: 'log-init', who: o.initBy ?? 'factory', newValue: encodeIdentity(o.deviceId, publicKey) }, 0, genesisPrevHash(o.crypto, publicKey));
    if (last) this.setHead(last.raw); // (a new log-init record set it when written)
    this.lastCounter = init.counter;
  }

  /** Opens (recovers) the log on flash; a blank store gets its log-init record, binding the device. */
  static open(o: CalibrationLogOptions): CalibrationLog {
    encodeIdentity(o.deviceId, o.keys.devicePublicKey()); // validates the id before anything is written
    const store = AppendLog.open({ flash: o.flash, magic: o.magic ?? storeMagic('calibrationLog'), writer: o.writer, tables: o.tables, seen: o.seen });
    const raws = store.readAll();
    const witnessed = o.witness?.load();
    if (raws.length === 0) {
      const log = new CalibrationLog(o, store, undefined, undefined);
      if (witnessed && witnessed.count > 0) log.logTamper(`records-lost: the witness counts ${witnessed.count} records, the log was blank`);
      return log;
    }
    const publicKey = o.keys.devicePublicKey();
    const check = verifyRecords(o.crypto, raws, publicKey, { signatures: o.verifySignatures ?? false });
    let fault = check.fault;
    if (!fault && check.deviceId !== o.deviceId) {
      fault = { record: 0, code: 'device-id', reason: `the log belongs to device "${check.deviceId}", not "${o.deviceId}"` };
    }
    const newest = raws.length - 1;
    if (!fault && !verifyDigest(o.crypto, decodeRecord(raws[newest]).signature, signedDigest(o.crypto, raws[newest]), publicKey)) {
      fault = { record: newest, code: 'signature', reason: `the newest record does not verify with the device key` };
    }
    fault ??= o.witness ? checkWitness(o.crypto, raws, witnessed) : undefined;
    // Faults the next append would hide from the flash are logged: the status holds until a new seal.
    const hidden = fault !== undefined && HIDDEN_BY_APPEND.includes(fault.code);
    // Carry on after a fault (the meter must keep running and report it), chaining to what is stored.
    // The counter goes on from the highest one stored or the position, whichever is larger, so a
    // forged or corrupted record with a low counter cannot make the counter go back.
    const raw = raws[raws.length - 1];
    let counter = raws.length - 1;
    if (fault) {
      for (const r of raws) {
        try {
          counter = Math.max(counter, decodeRecord(r).counter);
        } catch {
          // undecodable: counts by its position only
        }
      }
    } else counter = decodeRecord(raw).counter;
    const log = new CalibrationLog(o, store, { raw, counter }, fault);
    if (hidden && fault) log.logTamper(`${fault.code}: ${fault.reason}`);
    else if (o.witness && witnessed?.count !== raws.length) log.saveWitness(); // one ahead after a cut: catch up
    return log;
  }

  /** Logs a fault of the stored log that the next append would hide (best effort: a full log keeps
   *  only the `fault`). */
  private logTamper(reason: string): void {
    try {
      const text = reason.slice(0, 120);
      const bytes = new Uint8Array(text.length);
      for (let i = 0; i < text.length; i++) bytes[i] = Math.min(0x7e, Math.max(0x20, text.charCodeAt(i)));
      this.append({ type: 'tamper', newValue: bytes, who: 'startup' });
    } catch (e) {
      if (!(e instanceof LogFullError)) throw e;
    }
  }

  private setHead(raw: Uint8Array): void {
    this.keyAndHead.set(recordHash(this.crypto, raw), this.keyAndHead.length - HEAD_HASH_SIZE);
  }

  private saveWitness(): void {
    // (The store's count: one record a write, as the log counted them itself before.)
    this.witness?.save({ count: this.store.count, headHash: this.headHash });
  }

  /** The event counter of the last record (0: only the log-init record). */
  get counter(): number {
    return this.lastCounter;
  }

  /** The device's public key (SEC1 compressed, as the key store gave it at open; a copy). */
  get publicKey(): Uint8Array {
    const n = this.keyAndHead.length - HEAD_HASH_SIZE;
    const key = new Uint8Array(n + 1);
    key[0] = this.keyPrefix;
    for (let i = 0; i < n; i++) key[i + 1] = this.keyAndHead[i];
    return key;
  }

  /** SHA-256 of the last record: what the next record chains to. */
  get headHash(): Uint8Array {
    return this.keyAndHead.slice(this.keyAndHead.length - HEAD_HASH_SIZE);
  }

  stats(): AppendLogStats {
    return this.store.stats();
  }

  /** Records one event: signs it, commits it to flash, returns it. LogFullError when full. */
  append(event: NewEvent): LogEntry {
    if ((event.type as EventType) === 'log-init') throw new LogVerifyError('bad-event', 'log-init is written only when a log is created');
    if (this.lastCounter >= 0xffffffff) throw new LogFullError('log-full', 'the 32-bit event counter is used up', { counter: this.lastCounter });
    const entry = this.write(event, this.lastCounter + 1, this.headHash);
    this.setHead(entry.raw);
    this.lastCounter = entry.counter;
    this.saveWitness();
    return entry;
  }

  /** Every record, decoded, in order (read from flash). */
  entries(): LogEntry[] {
    return this.store.readAll().map(decodeRecord);
  }

  rawRecords(): Uint8Array[] {
    return this.store.readAll();
  }

  /** The log with a head signed now, pinning its count and last record. */
  export(): LogExport {
    const records = this.rawRecords();
    const lastHash = recordHash(this.crypto, records[records.length - 1]);
    const exportedAt = this.now();
    const signature = this.keys.signDigest(headDigest(this.crypto, records.length, lastHash, exportedAt));
    return { deviceId: this.deviceId, publicKey: this.publicKey, records, head: { count: records.length, lastHash, exportedAt, signature } };
  }

  private now(): number {
    const t = Math.floor(this.clock.now());
    return Number.isFinite(t) && t > 0 ? t : 0;
  }

  private write(event: { type: EventType; parameter?: number; oldValue?: Uint8Array; newValue?: Uint8Array; who: string }, counter: number, prevHash: Uint8Array): LogEntry {
    const unsigned = encodeUnsigned({
      type: event.type,
      parameter: event.parameter ?? 0,
      oldValue: event.oldValue ?? EMPTY,
      newValue: event.newValue ?? EMPTY,
      who: event.who,
      counter,
      time: this.now(),
      prevHash,
    });
    const signature = this.keys.signDigest(sha256Of(this.crypto, unsigned));
    if (signature.length !== SIGNATURE_SIZE) throw new LogVerifyError('bad-signature', `key store returned a ${signature.length}-byte signature`);
    const raw = concat(unsigned, signature);
    this.store.append(raw);
    if (counter === 0) {
      this.setHead(raw);
      this.saveWitness();
    }
    return decodeRecord(raw);
  }
}

/**
 * What the witness says of the stored records: in step, or one behind (a power cut between a
 * record's commit and the witness save). Anything else is a fault: records missing, the newest one
 * replaced, records the witness never saw, or no witness at all for a log beyond its first record.
 */
function checkWitness(crypto: Crypto, raws: readonly Uint8Array[], w: LogWitnessState | undefined): LogFault | undefined {
  const n = raws.length;
  if (!w) return n > 1 ? { record: -1, code: 'witness-lost', reason: `no witness record for a log of ${n} records: dropped records could not be seen` } : undefined;
  const equal = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
  if (w.count === n) {
    return equal(recordHash(crypto, raws[n - 1]), w.headHash) ? undefined : { record: n - 1, code: 'head-mismatch', reason: `the newest record is not the one the witness saw` };
  }
  if (w.count === n - 1) {
    return equal(decodeRecord(raws[n - 1]).prevHash, w.headHash) ? undefined : { record: n - 1, code: 'head-mismatch', reason: `the newest record does not follow the one the witness saw` };
  }
  if (w.count > n) return { record: n, code: 'records-lost', reason: `the witness counts ${w.count} committed records, the log holds ${n}` };
  return { record: w.count, code: 'records-unwitnessed', reason: `the log holds ${n} records, the witness saw ${w.count}` };
}
