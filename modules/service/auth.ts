/**
 * Authentication of privileged service commands (calibration, seal, time, key, pulse test) with the
 * bench key: AES-CMAC (RFC 4493), full 16-byte tag, over
 *
 *   0x53 0x01 ‖ TYPE ‖ COUNTER (u32 LE) ‖ len(meterId) (u8) ‖ meterId (UTF-8) ‖ BODY
 *
 * The two leading bytes separate this use of the bench key from any other; the meter id makes a
 * command signed for meter A useless on meter B; the counter must be above the last one the meter
 * accepted and at most MAX_COUNTER_STEP above it (kept in an ServiceCounterStore and persisted
 * before the command runs, so a power cut can
 * only waste a counter, never let one be used twice). On the wire a privileged request's payload is
 * COUNTER ‖ BODY ‖ TAG. The tag is not truncated: a serial link has the bytes to spare.
 *
 * A new meter key travels wrapped (RFC 3394 AES key wrap, 24 bytes) under a key-wrap key derived
 * from the bench key: KW = CMAC(benchKey, 0x00 ‖ "xsmeter service key wrap"); no MAC input can start
 * with 0x00, so no MAC ever equals KW.
 */
import { equalConstantTime, readU32LE, writeU32LE } from '../core/bytes.js';
import { MeterError } from '../core/errors.js';
import { cmacOf, type AesKey, type Crypto } from '../ports/crypto.js';
import type { KeyStore } from '../ports/key-store.js';
import { unwrapKey128, wrapKey128 } from './key-wrap.js';
import { utf8Encode } from './wire.js';

export const AUTH_TAG_LENGTH = 16;
/** Bytes a privileged request adds to its body: counter (4) and tag (16). */
export const AUTH_OVERHEAD = 4 + AUTH_TAG_LENGTH;
export const MAX_COUNTER = 0xffffffff;
/** How far above the last accepted counter a command may jump (2^24). One command with a counter
 *  near 2^32 would otherwise use the counter up, and every privileged command after it (unseal,
 *  calibration, time, key) would be refused as replayed for good: it is refused 'out-of-range'. */
export const MAX_COUNTER_STEP = 0x1000000;
const DOMAIN: readonly number[] = Object.freeze([0x53, 0x01]);
const WRAP_LABEL = new Uint8Array([0x00, ...utf8Encode('xsmeter service key wrap')]);

/** Authentication cannot be computed or checked: bad key length ('key-length'), counter store
 *  content ('counter'), a wrapped key that does not unwrap ('unwrap'). */
export class AuthError extends MeterError {}

/** Where the last accepted counter lives across restarts (flash, preferences, a file). */
export interface ServiceCounterStore {
  /** The last accepted counter; 0 if none yet. */
  load(): number;
  save(counter: number): void;
}

/** A store that forgets on restart: for tests and simulations only. */
export class MemoryServiceCounterStore implements ServiceCounterStore {
  saves = 0;
  constructor(private value = 0) {}
  load(): number {
    return this.value;
  }
  save(counter: number): void {
    this.value = counter;
    this.saves++;
  }
}

function checkKey(key: Uint8Array, what: string): void {
  if (!(key instanceof Uint8Array) || key.length !== 16) {
    throw new AuthError('key-length', `${what} must be 16 bytes (AES-128), got ${key?.length ?? 'none'}`, { what });
  }
}

function checkCounter(counter: number): void {
  if (!Number.isInteger(counter) || counter < 0 || counter > MAX_COUNTER) {
    throw new AuthError('counter', `counter ${counter} is not a 32-bit unsigned integer`, { counter: String(counter) });
  }
}

/** The bytes the CMAC covers. */
export function macInput(type: number, counter: number, meterId: string, body: Uint8Array): Uint8Array {
  checkCounter(counter);
  const id = utf8Encode(meterId);
  if (id.length > 255) throw new AuthError('meter-id', 'meter id longer than 255 bytes');
  const out = new Uint8Array(DOMAIN.length + 1 + 4 + 1 + id.length + body.length);
  out.set(DOMAIN, 0);
  out[2] = type & 0xff;
  writeU32LE(out, 3, counter);
  out[7] = id.length;
  out.set(id, 8);
  out.set(body, 8 + id.length);
  return out;
}

export function commandTag(crypto: Crypto, benchKey: AesKey, type: number, counter: number, meterId: string, body: Uint8Array): Uint8Array {
  return cmacOf(crypto, benchKey, macInput(type, counter, meterId, body));
}

/** The payload of a privileged request: counter ‖ body ‖ tag. */
export function sealCommand(crypto: Crypto, benchKey: AesKey, type: number, counter: number, meterId: string, body: Uint8Array): Uint8Array {
  const tag = commandTag(crypto, benchKey, type, counter, meterId, body);
  const out = new Uint8Array(AUTH_OVERHEAD + body.length);
  writeU32LE(out, 0, counter);
  out.set(body, 4);
  out.set(tag, 4 + body.length);
  return out;
}

export interface Envelope {
  counter: number;
  body: Uint8Array;
  tag: Uint8Array;
}

/** Splits a privileged payload; undefined if it is too short to carry counter and tag. */
export function openEnvelope(payload: Uint8Array): Envelope | undefined {
  if (payload.length < AUTH_OVERHEAD) return undefined;
  const end = payload.length - AUTH_TAG_LENGTH;
  return { counter: readU32LE(payload, 0), body: payload.slice(4, end), tag: payload.slice(end) };
}

/** Runs `use` with the key-wrap key derived from the bench key, wiped afterwards. */
function withKeyWrapKey<T>(crypto: Crypto, benchKey: AesKey, use: (kw: AesKey) => T): T {
  const raw = cmacOf(crypto, benchKey, WRAP_LABEL);
  const kw = crypto.aesKey(raw);
  raw.fill(0);
  try {
    return use(kw);
  } finally {
    kw.wipe();
  }
}

/** Wraps a new 16-byte meter key for 'install-meter-key' (RFC 3394, 24 bytes). */
export function wrapMeterKey(crypto: Crypto, benchKey: AesKey, meterKey: Uint8Array): Uint8Array {
  checkKey(meterKey, 'meter key');
  return withKeyWrapKey(crypto, benchKey, (kw) => wrapKey128(crypto, kw, meterKey));
}

/** Unwraps and checks (RFC 3394 integrity value) a wrapped meter key; AuthError('unwrap') if bad. */
export function unwrapMeterKey(crypto: Crypto, benchKey: AesKey, wrapped: Uint8Array): Uint8Array {
  const key = withKeyWrapKey(crypto, benchKey, (kw) => unwrapKey128(crypto, kw, wrapped));
  if (!key) throw new AuthError('unwrap', 'wrapped meter key does not unwrap under the bench key', { length: wrapped.length });
  return key;
}

export type AuthOutcome =
  | { ok: true; counter: number; body: Uint8Array }
  | { ok: false; reason: 'unauthorised' | 'replayed' | 'out-of-range'; message: string };

/** The meter's side: checks a privileged request and keeps the last accepted counter. */
export class CommandAuthenticator {
  private last: number;

  constructor(
    private readonly crypto: Crypto,
    private readonly keys: Pick<KeyStore, 'benchKey'>,
    private readonly store: ServiceCounterStore,
  ) {
    const c = store.load();
    checkCounter(c);
    this.last = c;
  }

  get lastCounter(): number {
    return this.last;
  }

  /** Checks tag and counter; changes nothing. */
  verify(type: number, payload: Uint8Array, meterId: string): AuthOutcome {
    const env = openEnvelope(payload);
    if (env === undefined) {
      return { ok: false, reason: 'unauthorised', message: `no authentication: payload of ${payload.length} bytes, needs ${AUTH_OVERHEAD}+` };
    }
    const tag = commandTag(this.crypto, this.keys.benchKey(), type, env.counter, meterId, env.body);
    if (!equalConstantTime(tag, env.tag)) return { ok: false, reason: 'unauthorised', message: 'command MAC does not verify' };
    if (env.counter <= this.last) {
      return { ok: false, reason: 'replayed', message: `counter ${env.counter} is not above the last accepted ${this.last}` };
    }
    if (env.counter - this.last > MAX_COUNTER_STEP) {
      return { ok: false, reason: 'out-of-range', message: `counter ${env.counter} is more than ${MAX_COUNTER_STEP} above the last accepted ${this.last}` };
    }
    return { ok: true, counter: env.counter, body: env.body };
  }

  /** Records `counter` as used (persisted first); call right before the command runs. */
  accept(counter: number): void {
    checkCounter(counter);
    if (counter <= this.last) throw new AuthError('counter', `counter ${counter} is not above ${this.last}`);
    this.store.save(counter);
    this.last = counter;
  }

  unwrapKey(wrapped: Uint8Array): Uint8Array {
    return unwrapMeterKey(this.crypto, this.keys.benchKey(), wrapped);
  }
}
