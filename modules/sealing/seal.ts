/**
 * The seal that guards the calibration constants (MID Annex I 8.3/8.4, WELMEC 7.2 "software
 * protection"): two states, unsealed (factory, bench) and sealed. Constants are written only while
 * unsealed; leaving the sealed state takes the physical calibration switch *and* an unseal command
 * authenticated with the bench key over a fresh challenge (see unseal-command.ts). Every write, seal
 * and unseal attempt is logged before it takes effect, so a full or failing log refuses the change.
 * The state lives in the log itself (last seal / unseal record), so it survives power loss. At
 * start-up the active constants are compared with the digest the last seal recorded; a mismatch, or a
 * log that does not verify, raises the tamper status the telegrams carry; a log that does not verify
 * also counts as sealed (fail safe: its last seal record may be what was removed).
 *
 * Log records written here: calibration-change (parameter, old, new); seal (new = SHA-256 digest of
 * the constants, old = previous sealed digest); unseal (new = u32 counter of the command);
 * unseal-attempt (switch not set; new = [reason flags]); auth-failure (bad/stale MAC: new = [reason
 * flags]; or a write refused while sealed: parameter, old, attempted new); tamper (old = sealed digest,
 * new = active digest).
 */
import { concat, equalConstantTime, writeU16LE, writeU32LE } from '../core/bytes.js';
import type { DigitalInput } from '../ports/bus.js';
import { sha256Of, type Crypto } from '../ports/crypto.js';
import type { KeyStore } from '../ports/key-store.js';
import type { CalibrationLog } from './calibration-log.js';
import { LogFullError, SealError } from './errors.js';
import { MAX_VALUE_SIZE, asciiBytes, signedDigest, type LogEntry } from './log-record.js';
import { verifyDigest } from './log-verify.js';
import { UNSEAL_MAC_SIZE, makeUnsealCommand, type UnsealChallenge, type UnsealCommand } from './unseal-command.js';

/**
 * Who a log-init record names when the log had to be created on a meter already in service (its
 * other storage shows use): the old log was erased. Such a log counts as sealed and tampered until
 * an authorised unseal and a new seal.
 */
export const LOG_RECREATED_BY = 'log-recreated';

/** One calibration constant: a parameter id (1..65535) and its value, serialised by metrology. */
export interface CalibrationConstant {
  id: number;
  value: Uint8Array;
}

/** How the seal reads and applies calibration constants; metrology implements it. */
export interface CalibrationConstants {
  /** Every active constant. */
  list(): readonly CalibrationConstant[];
  /** Rejects a value metrology would not accept (throw a MeterError); called before anything is logged. */
  check?(id: number, value: Uint8Array): void;
  /** Makes a value active (and persists it). */
  apply(id: number, value: Uint8Array): void;
}

export interface SealGuardOptions {
  log: CalibrationLog;
  constants: CalibrationConstants;
  /** The physical calibration switch: 1 = set (bench position). */
  calibrationSwitch: DigitalInput;
  /** Holds the bench key. */
  keys: KeyStore;
  crypto: Crypto;
}

export interface SealStatus {
  sealed: boolean;
  /** The active constants differ from the sealed ones, or the log does not verify. */
  tamper: boolean;
  tamperReason?: string;
  /** Digest the last seal recorded (absent if never sealed). */
  sealedDigest?: Uint8Array;
  /** Event counter of the last log record. */
  counter: number;
  /** Parameters whose logged change start-up applied (power was lost between logging and applying). */
  reapplied?: number[];
}

/** Reason flags of a refused unseal attempt (the record's new value). */
export const UNSEAL_SWITCH_NOT_SET = 1;
export const UNSEAL_BAD_MAC = 2;
export const UNSEAL_STALE = 4;

/** SHA-256 over the constants sorted by id: u16 id ‖ u16 length ‖ value each (little-endian). */
export function constantsDigest(crypto: Crypto, list: readonly CalibrationConstant[]): Uint8Array {
  const sorted = [...list].sort((a, b) => a.id - b.id);
  const parts: Uint8Array[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const c = sorted[i];
    if (i > 0 && sorted[i - 1].id === c.id) throw new SealError('bad-constants', `parameter ${c.id} appears twice`, { parameter: c.id });
    const h = new Uint8Array(4);
    writeU16LE(h, 0, c.id);
    writeU16LE(h, 2, c.value.length);
    parts.push(h, c.value);
  }
  return sha256Of(crypto, concat(...parts));
}

/** Bytes as a string of one character each (kept compactly), and back. */
function textOf(b: Uint8Array): string {
  // In one call: a string built by += is a chain of pieces (V8), bigger than the bytes.
  return String.fromCharCode.apply(null, b as unknown as number[]);
}

function bytesOf(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}

export class SealGuard {
  private readonly log: CalibrationLog;
  private readonly constants: CalibrationConstants;
  private readonly calibrationSwitch: DigitalInput;
  private readonly keys: KeyStore;
  private readonly crypto: Crypto;
  private sealed = false;
  /** The digest the last seal recorded, one character per byte: 48 bytes of string where a
   *  Uint8Array kept for good costs 230 (its object, its buffer's, the bytes). */
  private sealedDigest: string | undefined;
  private tamperReason: string | undefined;
  /** The log was re-created on a meter in service and not sealed since. */
  private recreated = false;
  private reapplied: number[] | undefined;
  /** Active digest of the last tamper record since the last seal (not logged twice). */
  private loggedTamper: Uint8Array | undefined;
  /** The last logged value of each parameter (calibration-change records): made with the first
   *  (most meters log none after the factory, and an empty Map holds a table of 150 bytes). */
  private logged: Map<number, Uint8Array> | undefined;
  /** Why the status shows tamper although the flash checks now: a tamper record since the last seal, or
   *  a record the seal relies on whose signature does not verify (forged), ignored. */
  private tamperSinceSeal: string | undefined;
  // What the last start-up check found, as values (startupStatus() makes its status again): the log's
  // counter then (-1: no check completed), sealed or not, the sealed digest and the tamper reason;
  // the re-applied parameters are `reapplied`, which only the check sets.
  private startupCounter = -1;
  private startupSealed = false;
  private startupDigest: string | undefined;
  private startupReason: string | undefined;

  constructor(o: SealGuardOptions) {
    this.log = o.log;
    this.constants = o.constants;
    this.calibrationSwitch = o.calibrationSwitch;
    this.keys = o.keys;
    this.crypto = o.crypto;
    // The state comes from the last seal and what follows it; each record it relies on must carry the
    // device's signature (a record written onto the flash by anyone else is ignored and is tamper).
    // Checked back from the end, so a boot verifies the last seal and the few records after it.
    const entries = o.log.entries();
    const genuine = (e: LogEntry): boolean => verifyDigest(this.crypto, e.signature, signedDigest(this.crypto, e.raw), o.log.publicKey);
    let from = 0;
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i];
      if (e.type !== 'seal' && e.type !== 'log-init') continue;
      if (!genuine(e)) {
        this.tamperSinceSeal ??= `record #${e.counter} (${e.type}) does not carry the device's signature: ignored`;
        continue;
      }
      from = i;
      break;
    }
    for (let i = from; i < entries.length; i++) {
      const e = entries[i];
      if (i > from && e.type !== 'tamper' && !genuine(e)) {
        this.tamperSinceSeal ??= `record #${e.counter} (${e.type}) does not carry the device's signature: ignored`;
        continue;
      }
      if (e.type === 'log-init') {
        // Fail safe: the erased log may have held a seal.
        this.recreated = e.who === LOG_RECREATED_BY;
        if (this.recreated) this.sealed = true;
      } else if (e.type === 'seal') {
        this.sealed = true;
        this.sealedDigest = textOf(e.newValue);
        this.loggedTamper = undefined;
        this.recreated = false;
      } else if (e.type === 'unseal') {
        this.sealed = false;
      } else if (e.type === 'tamper') {
        this.loggedTamper = e.newValue;
        this.tamperSinceSeal ??= `tamper record #${e.counter} since the last seal`;
      } else if (e.type === 'calibration-change') {
        (this.logged ??= new Map()).set(e.parameter, e.newValue);
      }
    }
    // Fail safe: a log that does not verify may have lost its last seal record, so treat the meter
    // as sealed (an authorised unseal still works; the tamper status stays).
    if (o.log.fault) this.sealed = true;
  }

  /**
   * The start-up check: the log verifies (as far as open checked it); when unsealed, a change that was
   * logged but not applied (power lost in between) is applied; when sealed, the active constants
   * must match the last sealed digest. A mismatch is logged once (tamper record) and kept as the
   * tamper status until the meter is sealed again.
   */
  startupCheck(): SealStatus {
    this.tamperReason = undefined;
    this.reapplied = undefined;
    this.startupCounter = -1;
    if (this.log.fault) this.tamperReason = `calibration log fault at record ${this.log.fault.record}: ${this.log.fault.reason}`;
    else if (this.recreated) this.tamperReason = 'the calibration log was erased on a meter in service (re-created)';
    else if (this.tamperSinceSeal) this.tamperReason = this.tamperSinceSeal;
    if (!this.sealed && !this.log.fault && !this.recreated && this.logged) {
      // A change is logged before it is applied: power lost in between leaves it logged only. Finish it.
      const active = this.constants.list();
      for (const [id, value] of this.logged) {
        const now = active.find((c) => c.id === id)?.value;
        if (!now || !equalConstantTime(now, value)) {
          this.constants.apply(id, value);
          (this.reapplied ??= []).push(id);
        }
      }
    }
    if (this.sealed && this.sealedDigest !== undefined) {
      const active = constantsDigest(this.crypto, this.constants.list());
      const sealedDigest = bytesOf(this.sealedDigest);
      if (!equalConstantTime(active, sealedDigest)) {
        this.tamperReason = 'active calibration constants differ from the sealed ones';
        if (!this.loggedTamper || !equalConstantTime(this.loggedTamper, active)) {
          try {
            this.log.append({ type: 'tamper', oldValue: sealedDigest, newValue: active, who: 'startup' });
            this.loggedTamper = active;
          } catch (e) {
            if (!(e instanceof LogFullError)) throw e;
            this.tamperReason += ' (not logged: log full)';
          }
        }
      }
    }
    this.startupCounter = this.log.counter;
    this.startupSealed = this.sealed;
    this.startupDigest = this.sealedDigest;
    this.startupReason = this.tamperReason;
    return this.status();
  }

  /** What the last completed start-up check returned (a new object each time); undefined: none. */
  startupStatus(): SealStatus | undefined {
    if (this.startupCounter < 0) return undefined;
    const s: SealStatus = { sealed: this.startupSealed, tamper: this.startupReason !== undefined, counter: this.startupCounter };
    if (this.startupReason) s.tamperReason = this.startupReason;
    if (this.startupDigest !== undefined) s.sealedDigest = bytesOf(this.startupDigest);
    if (this.reapplied) s.reapplied = this.reapplied.slice();
    return s;
  }

  status(): SealStatus {
    const s: SealStatus = { sealed: this.sealed, tamper: this.tamperReason !== undefined, counter: this.log.counter };
    if (this.tamperReason) s.tamperReason = this.tamperReason;
    if (this.sealedDigest !== undefined) s.sealedDigest = bytesOf(this.sealedDigest);
    if (this.reapplied) s.reapplied = this.reapplied.slice();
    return s;
  }

  get isSealed(): boolean {
    return this.sealed;
  }

  /** status().tamper without making the status (every telegram asks). */
  get tampered(): boolean {
    return this.tamperReason !== undefined;
  }

  /**
   * Writes one calibration constant: allowed only while unsealed; logged (old and new value, who)
   * before it is applied. While sealed the attempt is logged as an auth-failure and refused.
   */
  writeConstant(id: number, value: Uint8Array, who: string): void {
    if (!Number.isInteger(id) || id < 1 || id > 0xffff) throw new SealError('bad-parameter', `parameter id ${id} outside 1..65535`, { parameter: id });
    if (value.length > MAX_VALUE_SIZE) throw new SealError('bad-parameter', `value of ${value.length} bytes exceeds ${MAX_VALUE_SIZE}`, { parameter: id });
    asciiBytes(who, 'who');
    const old = this.constants.list().find((c) => c.id === id)?.value ?? new Uint8Array(0);
    if (this.sealed) {
      this.log.append({ type: 'auth-failure', parameter: id, oldValue: old, newValue: value, who });
      throw new SealError('sealed', `parameter ${id} cannot be written: the meter is sealed`, { parameter: id });
    }
    this.constants.check?.(id, value);
    this.log.append({ type: 'calibration-change', parameter: id, oldValue: old, newValue: value, who });
    (this.logged ??= new Map()).set(id, value.slice());
    this.constants.apply(id, value);
  }

  /** Seals: logs the digest of the active constants; from now on they are read-only. */
  seal(who: string): Uint8Array {
    const digest = constantsDigest(this.crypto, this.constants.list());
    this.log.append({ type: 'seal', oldValue: this.sealedDigest === undefined ? new Uint8Array(0) : bytesOf(this.sealedDigest), newValue: digest, who });
    this.sealed = true;
    this.sealedDigest = textOf(digest);
    this.loggedTamper = undefined;
    this.recreated = false;
    this.tamperSinceSeal = undefined;
    this.tamperReason = this.log.fault ? this.tamperReason : undefined;
    return digest;
  }

  /** What the bench must authenticate to unseal now; it changes with every logged event. */
  unsealChallenge(): UnsealChallenge {
    return { deviceId: this.log.deviceId, counter: this.log.counter + 1, headHash: this.log.headHash };
  }

  /**
   * An authorised unseal: needs the calibration switch set and a command whose CMAC (bench key) covers
   * the current challenge. Every attempt is logged; a refused one throws SealError "unseal-refused"
   * with the reasons in `details`.
   */
  unseal(command: UnsealCommand, who: string): void {
    asciiBytes(who, 'who');
    const challenge = this.unsealChallenge();
    let flags = 0;
    if (this.calibrationSwitch.read() !== 1) flags |= UNSEAL_SWITCH_NOT_SET;
    if (command.counter !== challenge.counter) flags |= UNSEAL_STALE;
    else {
      const expected = makeUnsealCommand(this.crypto, this.keys.benchKey(), challenge).mac;
      if (command.mac.length !== UNSEAL_MAC_SIZE || !equalConstantTime(command.mac, expected)) flags |= UNSEAL_BAD_MAC;
    }
    const reason = new Uint8Array([flags]);
    if (flags === 0) {
      const n = new Uint8Array(4);
      writeU32LE(n, 0, challenge.counter);
      this.log.append({ type: 'unseal', newValue: n, who });
      this.sealed = false;
      return;
    }
    this.log.append({ type: flags & (UNSEAL_BAD_MAC | UNSEAL_STALE) ? 'auth-failure' : 'unseal-attempt', newValue: reason, who });
    throw new SealError('unseal-refused', `unseal refused:${flags & UNSEAL_SWITCH_NOT_SET ? ' calibration switch not set;' : ''}${flags & UNSEAL_STALE ? ' stale or replayed command;' : ''}${flags & UNSEAL_BAD_MAC ? ' bad MAC;' : ''}`.replace(/;$/, ''), {
      switchNotSet: (flags & UNSEAL_SWITCH_NOT_SET) !== 0,
      stale: (flags & UNSEAL_STALE) !== 0,
      badMac: (flags & UNSEAL_BAD_MAC) !== 0,
    });
  }
}
