/**
 * What the bench checks before it touches a meter, with reads and one harmless authenticated command
 * only (nothing the calibration log records):
 *
 * 1. the meter answers (identify) and its calibration reads and parses;
 * 2. its calibration log exports, and its first record binds the device key the bench trusts (the
 *    --pubkey given or the rig's factory record): another key is a refusal naming both; then the log
 *    verifies against that key (a log that does not is a refusal: the meter is not touched);
 * 3. (calibrate) the bench key authenticates: a privileged pulse-test "off" (changes nothing while no
 *    pulse test runs; the meter checks its CMAC and counter like any privileged command);
 * 4. the meter clock against the bench clock (flagged, not refused);
 * 5. a session a previous run left unfinished (unsealed after an unseal, not sealed again: an
 *    interrupted run or a lost link): the constants sealed before it, from the log, are what the meter
 *    is restored to if this run does not end sealed. So the next run resumes an interrupted one.
 *
 * Portable: the service client, sealing and metrology modules.
 */
import { equalConstantTime, toHex } from '../../modules/core/bytes.js';
import { MeterError } from '../../modules/core/errors.js';
import { CALIBRATION_CONSTANT_ID } from '../../modules/app/calibration-constants.js';
import { CLOCK_VALID_AFTER_MS } from '../../modules/app/meter-status.js';
import { parseCalibration, type Calibration } from '../../modules/metrology/calibration.js';
import { readExport, verifyExport } from '../../modules/sealing/log-export.js';
import { decodeIdentity, decodeRecord, type LogEntry } from '../../modules/sealing/log-record.js';
import { constantsDigest } from '../../modules/sealing/seal.js';
import type { Crypto } from '../../modules/ports/crypto.js';
import type { ServiceClient } from '../../modules/service/client.js';
import type { Identity } from '../../modules/service/messages.js';
import type { BenchRig } from './rig.js';

/** Why the bench would not start: the meter ('meter', 'log') or the bench's own input ('pubkey', 'bench-key'). */
export type RefusalCause = 'meter' | 'log' | 'pubkey' | 'bench-key';

/** The bench refuses before touching the meter. */
export class Refusal extends Error {
  constructor(
    readonly kind: RefusalCause,
    readonly reason: string,
  ) {
    super(reason);
  }
}

export interface ClockCheck {
  meterMs: number;
  benchMs: number;
  /** Meter minus bench, s. */
  offsetS: number;
  toleranceS: number;
  /** The meter's clock is before 2020: never set. */
  notSet: boolean;
  ok: boolean;
}

/** An unseal by a previous run that was not followed by a seal. */
export interface UnfinishedSession {
  unsealedAt: number;
  by: string;
  /** Constant writes logged since. */
  writes: number;
}

export interface Preflight {
  identity: Identity;
  calibration: Calibration;
  bytes: Uint8Array;
  /** The device key the log's first record binds. */
  logKey: Uint8Array;
  entries: LogEntry[];
  clock?: ClockCheck;
  unfinished?: UnfinishedSession;
  /** The state to put the meter back into when a run does not end sealed. */
  asFound: { bytes: Uint8Array; sealed: boolean };
}

function text(e: unknown): string {
  if (e instanceof MeterError) return `${e.code}: ${e.message}`;
  throw e;
}

export function checkClock(meterMs: number, benchMs: number, toleranceS: number): ClockCheck {
  const offsetS = (meterMs - benchMs) / 1000;
  const notSet = meterMs < CLOCK_VALID_AFTER_MS;
  return { meterMs, benchMs, offsetS, toleranceS, notSet, ok: !notSet && Math.abs(offsetS) <= toleranceS };
}

/** The session an unsealed meter's log shows unfinished, and the constants sealed before it. */
function unfinishedSession(crypto: Crypto, entries: readonly LogEntry[], current: Uint8Array): { session: UnfinishedSession; sealedBytes: Uint8Array } | undefined {
  let lastSeal = -1;
  let lastUnseal = -1;
  entries.forEach((e, i) => {
    if (e.type === 'seal') lastSeal = i;
    if (e.type === 'unseal') lastUnseal = i;
  });
  if (lastSeal < 0 || lastUnseal < lastSeal) return undefined;
  const writes = entries.slice(lastUnseal).filter((e) => e.type === 'calibration-change' && e.parameter === CALIBRATION_CONSTANT_ID);
  const sealedBytes = writes.length ? writes[0].oldValue : current;
  // Only when those are the constants the seal covered (else nothing is known to restore).
  if (!equalConstantTime(constantsDigest(crypto, [{ id: CALIBRATION_CONSTANT_ID, value: sealedBytes }]), entries[lastSeal].newValue)) return undefined;
  const u = entries[lastUnseal];
  return { session: { unsealedAt: u.time, by: u.who, writes: writes.length }, sealedBytes };
}

export async function preflight(
  client: ServiceClient,
  rig: BenchRig,
  o: { crypto: Crypto; privileged: boolean; clockToleranceS: number; progress: (text: string) => void },
): Promise<Preflight> {
  o.progress('identifying the meter');
  let identity: Identity;
  try {
    identity = await client.connect();
  } catch (e) {
    throw new Refusal('meter', `no meter: ${text(e)}`);
  }
  const benchMs = rig.time.wallMs?.();
  let bytes: Uint8Array;
  let calibration: Calibration;
  try {
    bytes = await client.readCalibration();
    calibration = parseCalibration(bytes);
  } catch (e) {
    throw new Refusal('meter', `the meter's calibration cannot be read: ${text(e)}`);
  }

  o.progress('reading and verifying the calibration log');
  let exp;
  let logKey: Uint8Array;
  try {
    exp = readExport(await client.exportLog());
    logKey = decodeIdentity(decodeRecord(exp.records[0]).newValue).publicKey;
  } catch (e) {
    throw new Refusal('log', `the meter's calibration log cannot be read: ${text(e)}`);
  }
  const trusted = rig.publicKey;
  if (trusted && !equalConstantTime(trusted, logKey)) {
    throw new Refusal('pubkey', `the device key given (${toHex(trusted)}) is not this meter's: its calibration log binds ${toHex(logKey)}`);
  }
  const verified = verifyExport(o.crypto, exp, trusted ?? logKey);
  if (!verified.ok) {
    const f = verified.fault;
    throw new Refusal('log', `the meter's calibration log does not verify: ${f ? `record ${f.record}: ${f.code}: ${f.reason}` : 'unknown fault'}`);
  }

  if (o.privileged) {
    o.progress('checking the bench key (an authenticated pulse-test off)');
    try {
      await client.pulseTest(false, 0);
    } catch (e) {
      if (e instanceof MeterError && (e.code === 'unauthorised' || e.code === 'no-key')) {
        throw new Refusal('bench-key', `the bench key does not authenticate with ${identity.meterId}: ${text(e)}`);
      }
      throw new Refusal('meter', `the meter refused an authenticated command: ${text(e)}`);
    }
  }

  const clock = benchMs === undefined ? undefined : checkClock(identity.timeMs, benchMs, o.clockToleranceS);
  const found = identity.sealed ? undefined : unfinishedSession(o.crypto, verified.entries, bytes);
  return {
    identity,
    calibration,
    bytes,
    logKey,
    entries: verified.entries,
    clock,
    unfinished: found?.session,
    asFound: found ? { bytes: found.sealedBytes, sealed: true } : { bytes, sealed: identity.sealed },
  };
}
