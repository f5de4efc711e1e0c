/**
 * The meter's telegram counters: the AFL message counter (32 bit, OMS Vol. 2 §9.3: it enters the
 * key derivation of mode 7, so a value must never be used twice with the same master key) and the
 * TPL access number (8 bit, EN 13757-7 §7.4.2, increments per telegram and wraps).
 * Both survive a restart through a TelegramCounterStore. `next()` persists the values before it hands
 * them out: a power cut after the save but before the radio sends only skips values, never repeats
 * one. With `reserve` > 1 the store is written once per block of message counters (less flash
 * wear); a restart then skips the rest of the block.
 */
import { TelegramError } from '../wmbus/telegram-error.js';

/** Message counter and access number: as stored, the highest that may already have been used (0:
 *  none yet) and the last access number handed out; as handed out, the values for one telegram. */
export interface TelegramCounterState {
  messageCounter: number;
  accessNumber: number;
}

/** Where the counters live across restarts (flash, a preference store, a file in the simulator). */
export interface TelegramCounterStore {
  load(): TelegramCounterState | undefined;
  save(state: TelegramCounterState): void;
}

/** A store that forgets on restart: for tests and simulations only. */
export class MemoryTelegramCounterStore implements TelegramCounterStore {
  private state: TelegramCounterState | undefined;
  constructor(initial?: TelegramCounterState) {
    this.state = initial && { ...initial };
  }
  load(): TelegramCounterState | undefined {
    return this.state && { ...this.state };
  }
  save(state: TelegramCounterState): void {
    this.state = { ...state };
  }
}

const MAX_COUNTER = 0xffffffff;

export class TelegramCounters {
  private readonly store: TelegramCounterStore;
  private readonly reserve: number;
  private counter: number; // last message counter handed out
  private reservedUpTo: number; // highest counter persisted as possibly used
  private access: number;

  constructor(store: TelegramCounterStore, options: { reserve?: number } = {}) {
    this.store = store;
    this.reserve = options.reserve ?? 1;
    if (!Number.isInteger(this.reserve) || this.reserve < 1 || this.reserve > 0x10000) {
      throw new TelegramError('counter', `reserve ${this.reserve} must be an integer from 1 to 65536`);
    }
    const s = store.load();
    if (s !== undefined) {
      if (!Number.isInteger(s.messageCounter) || s.messageCounter < 0 || s.messageCounter > MAX_COUNTER) {
        throw new TelegramError('counter-store', `stored message counter ${s.messageCounter} is invalid`);
      }
      if (!Number.isInteger(s.accessNumber) || s.accessNumber < 0 || s.accessNumber > 255) {
        throw new TelegramError('counter-store', `stored access number ${s.accessNumber} is invalid`);
      }
    }
    // Everything up to the stored value may have been sent: continue after it.
    this.counter = s?.messageCounter ?? 0;
    this.reservedUpTo = this.counter;
    this.access = s?.accessNumber ?? 0;
  }

  /** Reserves, persists and returns the counters for the next telegram. */
  next(): TelegramCounterState {
    if (this.counter >= MAX_COUNTER) {
      throw new TelegramError('counter-exhausted', 'the 32-bit message counter is used up: the meter key must be replaced');
    }
    const messageCounter = this.counter + 1;
    const accessNumber = (this.access + 1) & 0xff;
    if (messageCounter > this.reservedUpTo) {
      const upTo = Math.min(MAX_COUNTER, this.counter + this.reserve);
      // Persist first: if this throws (storage failure) nothing is handed out.
      this.store.save({ messageCounter: upTo, accessNumber: (this.access + this.reserve) & 0xff });
      this.reservedUpTo = upTo;
    }
    this.counter = messageCounter;
    this.access = accessNumber;
    return { messageCounter, accessNumber };
  }
}
