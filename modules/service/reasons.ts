/**
 * Reason codes of the service interface: the first payload byte of every response. 'ok' is 0; the
 * others say why a request was refused. Codes are stable on the wire; never renumber one.
 */

export const REASONS = Object.freeze({
  ok: 0,
  /** The request's payload does not decode (length, field, trailing bytes, bad wrapped key). */
  malformed: 1,
  /** The type is not a command this meter knows. */
  'unknown-command': 2,
  /** A privileged request without authentication, or whose CMAC does not verify (wrong key, other meter). */
  unauthorised: 3,
  /** A privileged request whose counter is not above the last one accepted. */
  replayed: 4,
  /** The meter is sealed: legally relevant parameters cannot change. */
  sealed: 5,
  /** The physical calibration switch is not pressed (needed to unseal). */
  'switch-off': 6,
  /** A value is outside what the meter accepts (log offset, page length, time, calibration, a command counter too far ahead). */
  'out-of-range': 7,
  /** The meter cannot do it now; try again later. */
  busy: 8,
  /** The meter tried and failed (storage, internal error). */
  failed: 9,
} as const);

export type Reason = keyof typeof REASONS;
/** Reasons a ServiceTarget may give when it refuses ('unauthorised' and 'replayed' for the seal's own
 *  unseal challenge); 'unknown-command' is the server's alone. */
export type TargetRefusal = Exclude<Reason, 'ok' | 'unknown-command'>;

const BY_CODE: readonly (Reason | undefined)[] = Object.freeze(reasonsByCode());

function reasonsByCode(): Reason[] {
  const reasons: Reason[] = [];
  for (const name of Object.keys(REASONS) as Reason[]) reasons[REASONS[name]] = name;
  return reasons;
}

/** The reason with this code, or undefined for a code this version does not know. */
export function reasonOfCode(code: number): Reason | undefined {
  return BY_CODE[code];
}
