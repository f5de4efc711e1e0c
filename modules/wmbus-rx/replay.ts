/**
 * Replay protection per meter (OMS Vol. 2 §9.3: the receiver shall reject a message counter that
 * does not increase). The state is a plain object the caller can persist (JSON) and hand back.
 * Mode 7 is checked on the AFL message counter (strictly increasing). Modes 5 and 0 carry no message
 * counter, only the 8-bit access number, which wraps: a frame is rejected when its access number
 * equals the last one or lies up to 127 behind it (mod 256); this is as far as mode 5 allows.
 * The two checks are kept apart: mode 7 frames record only their message counter.
 */
import { ReceiveError } from './receive-error.js';

export interface MeterReplayEntry {
  /** Highest AFL message counter accepted (mode 7). */
  messageCounter?: number;
  /** Last access number accepted (modes 5 and 0). */
  accessNumber?: number;
}

/** Keyed by meterKey(): 'MFT.12345678'. */
export type ReplayState = Record<string, MeterReplayEntry>;

export function meterKey(manufacturer: string, id: string): string {
  return `${manufacturer}.${id}`;
}

export function checkCounter(state: ReplayState, meter: string, messageCounter: number): void {
  const last = state[meter]?.messageCounter;
  if (last !== undefined && messageCounter <= last) {
    throw new ReceiveError(
      'counter-replay',
      `message counter ${messageCounter} of meter ${meter} does not increase (last accepted ${last})`,
      { meter, counter: messageCounter, last },
    );
  }
}

export function checkAccessNumber(state: ReplayState, meter: string, accessNumber: number): void {
  const last = state[meter]?.accessNumber;
  if (last === undefined) return;
  const ahead = (accessNumber - last) & 0xff;
  if (ahead === 0 || ahead >= 128) {
    throw new ReceiveError(
      'counter-replay',
      `access number ${accessNumber} of meter ${meter} does not advance (last accepted ${last})`,
      { meter, accessNumber, last },
    );
  }
}

export function acceptCounters(
  state: ReplayState,
  meter: string,
  values: { messageCounter?: number; accessNumber?: number },
): void {
  const entry: MeterReplayEntry = { ...(state[meter] ?? {}) };
  if (values.messageCounter !== undefined) entry.messageCounter = values.messageCounter;
  if (values.accessNumber !== undefined) entry.accessNumber = values.accessNumber;
  state[meter] = entry;
}
