/**
 * Replay protection (OMS Vol. 2 §9.3: the receiver shall reject a message counter that does not
 * increase). The state is a plain object the caller persists (JSON) and hands back.
 *
 * What a slot is keyed on is what the telegram's security actually binds, never a byte an attacker
 * may change freely (issue: the DLL M field of a short-TPL mode-7 telegram is neither under the MAC
 * nor in the key derivation, so a slot keyed on it gave every altered copy a fresh counter):
 *  - mode 7: the master key (its fingerprint) and the 4-byte identification number that enters the
 *    KDF. The AFL MAC proves exactly these and the counter; every other header byte is either under
 *    the MAC already or proves nothing, so it must not select a slot.
 *  - mode 5 (no MAC): the key and the identification number. Nothing is authenticated; the IV is
 *    M ‖ A ‖ ACC and CBC carries an IV change byte for byte into the first plaintext block, of which
 *    the 2F2F check sees only the bytes M lands on; a changed version or device type must therefore
 *    not make a new slot. Checked on the 8-bit access number: a frame is rejected when its access
 *    number equals the last or lies up to 127 behind it (mod 256), as far as mode 5 allows.
 *  - ELL AES-CTR (no MAC): the key and the M ‖ A in the counter block, checked on the session
 *    number (which is in the counter block too, and must change with every telegram).
 *  - plain telegrams (strict mode only): M ‖ A, checked on the access number.
 * Slot names: '<key fingerprint>:<hex>' ('plain:<hex>' without a key).
 *
 * State written before this scheme is keyed 'MFT.12345678'; such an entry still bounds the new
 * slot of the same identification number (the highest counter of any manufacturer for mode 7,
 * that exact M and ID for the others), so an upgrade never reopens a window.
 */
import { ReceiveError } from './receive-error.js';

export interface MeterReplayEntry {
  /** Highest AFL message counter accepted (mode 7). */
  messageCounter?: number;
  /** Last access number accepted (mode 5, plain). */
  accessNumber?: number;
  /** Highest ELL session number accepted (ELL AES-CTR). */
  sessionNumber?: number;
  /** The meter last seen in this slot ('MFT.12345678'), for people reading the state file. */
  meter?: string;
}

export type ReplayState = Record<string, MeterReplayEntry>;

/** The label a meter goes by in messages and in state written before slots ('XSM.12345678'). */
export function meterKey(manufacturer: string, id: string): string {
  return `${manufacturer}.${id}`;
}

/** A pre-slot state key ('XSM.12345678'). Made where it is used: a module-level RegExp would be an
 *  object that is not frozen. */
function legacyKeyPattern(): RegExp {
  return /^[@A-Z[\\\]^_]{3}\.([0-9a-f]{8})$/;
}

/**
 * The pre-slot entries of a state by identification number. Only a state file written before slots
 * holds such entries, and accepting a frame never adds one, so a receiver indexes its state once
 * instead of scanning every entry for each meter's first frame (quadratic in a fleet of 100 000).
 */
export type LegacyIndex = Map<string, string[]>;

export function legacyIndex(state: ReplayState): LegacyIndex {
  const index: LegacyIndex = new Map();
  const legacyKey = legacyKeyPattern();
  for (const k of Object.keys(state)) {
    const m = legacyKey.exec(k);
    if (!m) continue;
    const keys = index.get(m[1]);
    if (keys) keys.push(k);
    else index.set(m[1], [k]);
  }
  return index;
}

/** The highest value of `field` among pre-slot entries for identification number `id` (and
 *  manufacturer `manufacturer` when given); `index` (legacyIndex) spares the scan of the state. */
function legacy(state: ReplayState, field: keyof MeterReplayEntry, id: string, manufacturer?: string, index?: LegacyIndex): number | undefined {
  const legacyKey = legacyKeyPattern();
  let best: number | undefined;
  for (const k of index ? (index.get(id) ?? []) : Object.keys(state)) {
    const m = legacyKey.exec(k);
    if (!m || m[1] !== id || (manufacturer !== undefined && !k.startsWith(manufacturer + '.'))) continue;
    const v = state[k][field];
    if (typeof v === 'number' && (best === undefined || v > best)) best = v;
  }
  return best;
}

export interface Slot {
  name: string;
  /** For messages and the state file. */
  meter: string;
  /** Pre-slot entries that bound this slot: their identification number, and manufacturer if exact. */
  legacyId: string;
  legacyManufacturer?: string;
}

function last(state: ReplayState, slot: Slot, field: 'messageCounter' | 'accessNumber' | 'sessionNumber', index?: LegacyIndex): number | undefined {
  const v = state[slot.name]?.[field];
  if (v !== undefined) return v;
  return legacy(state, field, slot.legacyId, field === 'messageCounter' ? undefined : slot.legacyManufacturer, index);
}

function replayed(slot: Slot, what: string, value: number, lastValue: number): ReceiveError {
  return new ReceiveError('counter-replay', `${what} ${value} of meter ${slot.meter} does not advance (last accepted ${lastValue})`, {
    meter: slot.meter,
    slot: slot.name,
    [what === 'message counter' ? 'counter' : what === 'access number' ? 'accessNumber' : 'sessionNumber']: value,
    last: lastValue,
  });
}

/** Mode 7: the AFL message counter must be above the last accepted one. */
export function checkCounter(state: ReplayState, slot: Slot, messageCounter: number, index?: LegacyIndex): void {
  const l = last(state, slot, 'messageCounter', index);
  if (l !== undefined && messageCounter <= l) throw replayed(slot, 'message counter', messageCounter, l);
}

/** Mode 5 and plain: the access number must advance by 1..127 (mod 256). */
export function checkAccessNumber(state: ReplayState, slot: Slot, accessNumber: number, index?: LegacyIndex): void {
  const l = last(state, slot, 'accessNumber', index);
  if (l === undefined) return;
  const ahead = (accessNumber - l) & 0xff;
  if (ahead === 0 || ahead >= 128) throw replayed(slot, 'access number', accessNumber, l);
}

/** ELL AES-CTR: the session number (without its encryption bits) must increase. */
export function checkSession(state: ReplayState, slot: Slot, sessionNumber: number, index?: LegacyIndex): void {
  const l = last(state, slot, 'sessionNumber', index);
  if (l !== undefined && sessionNumber <= l) throw replayed(slot, 'session number', sessionNumber, l);
}

/** Records an accepted frame (after every check passed). */
export function acceptCounters(
  state: ReplayState,
  slot: Slot,
  values: { messageCounter?: number; accessNumber?: number; sessionNumber?: number },
): void {
  // A plain entry is updated where it is (a copy would have the same fields in the same order, and
  // cost an object and a second store into the state's dictionary per frame); anything else a
  // state file may hold is copied as before.
  const old: unknown = state[slot.name];
  const inPlace = typeof old === 'object' && old !== null && Object.getPrototypeOf(old) === Object.prototype && Object.isExtensible(old);
  const entry: MeterReplayEntry = inPlace ? (old as MeterReplayEntry) : { ...((old as MeterReplayEntry | undefined) ?? {}) };
  if (values.messageCounter !== undefined) entry.messageCounter = values.messageCounter;
  if (values.accessNumber !== undefined) entry.accessNumber = values.accessNumber;
  if (values.sessionNumber !== undefined) entry.sessionNumber = values.sessionNumber;
  // The same label kept as it is: a receiver that makes it again per frame would leave the old one
  // as garbage in a long-lived entry.
  if (entry.meter !== slot.meter) entry.meter = slot.meter;
  if (!inPlace) state[slot.name] = entry;
}
