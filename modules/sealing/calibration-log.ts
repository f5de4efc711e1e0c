/**
 * The calibration log of the meter (legal metrology event log, WELMEC 7.2 / MID): every change to a
 * legally relevant parameter and every seal event, for the life of the meter, hash-chained and signed
 * by the device key (through the KeyStore port; deterministic ECDSA P-256), stored in a power-loss
 * safe LogStore on flash. The event counter is the record's position: it never goes back, since a
 * record once committed is never lost. A full log refuses new events (LogFullError "log-full"), so a
 * change that must be logged is refused rather than made unlogged; nothing is ever overwritten.
 */
import { concat } from '../core/bytes.js';
import type { Clock } from '../ports/clock.js';
import { sha256Of, type Crypto } from '../ports/crypto.js';
import type { Flash } from '../ports/flash.js';
import type { KeyStore } from '../ports/key-store.js';
import { LogFullError, LogVerifyError } from './errors.js';
import { LogStore, type LogStoreOptions, type LogStoreStats } from './log-store.js';
import {
  SIGNATURE_SIZE,
  decodeRecord,
  encodeIdentity,
  encodeUnsigned,
  genesisPrevHash,
  recordHash,
  type EventType,
  type LogEntry,
} from './log-record.js';
import { headDigest, verifyRecords, type LogFault, type LogHead } from './log-verify.js';

export interface CalibrationLogOptions {
  flash: Flash;
  /** The log's partition of the flash (default: all of it). */
  partition?: LogStoreOptions;
  keys: KeyStore;
  crypto: Crypto;
  clock: Clock;
  /** The meter's identity (e.g. manufacturer + serial), printable ASCII, ≤ 32 characters. */
  deviceId: string;
  /** Who the log-init record names (default "factory"). */
  initBy?: string;
  /** Also check every signature at open, not only the chain (slow on a long log; default false). */
  verifySignatures?: boolean;
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

export class CalibrationLog {
  readonly store: LogStore;
  readonly deviceId: string;
  readonly publicKey: Uint8Array;
  /** A fault found in the stored log at open (tampered or corrupted flash); the seal reports tamper. */
  readonly fault: LogFault | undefined;
  private readonly keys: KeyStore;
  private readonly crypto: Crypto;
  private readonly clock: Clock;
  private lastRaw: Uint8Array;
  private lastCounter: number;

  private constructor(o: CalibrationLogOptions, store: LogStore, last: { raw: Uint8Array; counter: number } | undefined, fault: LogFault | undefined) {
    this.store = store;
    this.keys = o.keys;
    this.crypto = o.crypto;
    this.clock = o.clock;
    this.deviceId = o.deviceId;
    this.publicKey = o.keys.devicePublicKey();
    this.fault = fault;
    const init = last ?? this.write({ type: 'log-init', who: o.initBy ?? 'factory', newValue: encodeIdentity(o.deviceId, this.publicKey) }, 0, genesisPrevHash(o.crypto, this.publicKey));
    this.lastRaw = init.raw;
    this.lastCounter = init.counter;
  }

  /** Opens (recovers) the log on flash; a blank store gets its log-init record, binding the device. */
  static open(o: CalibrationLogOptions): CalibrationLog {
    encodeIdentity(o.deviceId, o.keys.devicePublicKey()); // validates the id before anything is written
    const store = LogStore.open(o.flash, o.partition);
    const raws = store.readAll();
    if (raws.length === 0) return new CalibrationLog(o, store, undefined, undefined);
    const check = verifyRecords(o.crypto, raws, o.keys.devicePublicKey(), { signatures: o.verifySignatures ?? false });
    let fault = check.fault;
    if (!fault && check.deviceId !== o.deviceId) {
      fault = { record: 0, code: 'device-id', reason: `the log belongs to device "${check.deviceId}", not "${o.deviceId}"` };
    }
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
    return new CalibrationLog(o, store, { raw, counter }, fault);
  }

  /** The event counter of the last record (0: only the log-init record). */
  get counter(): number {
    return this.lastCounter;
  }

  /** SHA-256 of the last record: what the next record chains to. */
  get headHash(): Uint8Array {
    return recordHash(this.crypto, this.lastRaw);
  }

  stats(): LogStoreStats {
    return this.store.stats();
  }

  /** Records one event: signs it, commits it to flash, returns it. LogFullError when full. */
  append(event: NewEvent): LogEntry {
    if ((event.type as EventType) === 'log-init') throw new LogVerifyError('bad-event', 'log-init is written only when a log is created');
    if (this.lastCounter >= 0xffffffff) throw new LogFullError('log-full', 'the 32-bit event counter is used up', { counter: this.lastCounter });
    const entry = this.write(event, this.lastCounter + 1, this.headHash);
    this.lastRaw = entry.raw;
    this.lastCounter = entry.counter;
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
    return { deviceId: this.deviceId, publicKey: this.publicKey.slice(), records, head: { count: records.length, lastHash, exportedAt, signature } };
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
    return decodeRecord(raw);
  }
}
