/**
 * The meter's side of the service interface: `ServiceServer` owns the serial port, decodes frames
 * (frame.ts), checks privileged requests (auth.ts), dispatches to a `ServiceTarget` — the narrow
 * interface the meter application implements — and writes one response per decoded request.
 *
 * Order of checks for a request: known type ('unknown-command') → for privileged commands: tag
 * ('unauthorised'), counter ('replayed') → body decodes ('malformed') → the server's own limits
 * ('out-of-range') → the counter is persisted → the target runs and may refuse ('sealed',
 * 'switch-off', 'out-of-range', 'busy', 'failed', 'malformed'). Nothing reaches a target method
 * before all of the server's checks pass, so a malformed or unauthenticated frame changes nothing.
 * A frame with a bad CRC or header gets no response (its SEQ cannot be trusted); the client times out.
 *
 * The meter's loop must never wait on this interface, so each `poll()` does bounded work whatever
 * arrives: it takes at most `maxBytesPerPoll` bytes from the port, answers at most
 * `maxRequestsPerPoll` requests and CRC-checks at most that many maximal frames' worth of bytes;
 * the rest waits for the next poll (in the port, whose buffer is bounded). Output is bounded too: a
 * reply is written only when the port has room for it (`SerialPort.writable`); otherwise it is
 * held and no further request is taken until it is written, so a client that does not read its
 * replies stops being read (flow control) and costs one reply of memory. With a clock, a partial
 * frame is given up after `idleResetMs` without a byte or `frameTimeoutMs` after it began, so a
 * sender that stops (or dribbles) mid-frame does not hold the line.
 *
 * Errors: a MeterError thrown by the target becomes a 'failed' response naming its code. Anything
 * else a target throws (a bug, or the simulator's PowerCut) propagates out of `poll()`: firmware
 * must not carry on after it.
 */
import { MeterError } from '../core/errors.js';
import type { SerialPort } from '../ports/bus.js';
import type { Clock } from '../ports/clock.js';
import type { Crypto } from '../ports/crypto.js';
import type { KeyStore } from '../ports/key-store.js';
import { AuthError, CommandAuthenticator, type ServiceCounterStore } from './auth.js';
import {
  DEFAULT_FRAME_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_PAYLOAD,
  FRAME_OVERHEAD,
  FrameDecoder,
  FrameError,
  checkMaxPayload,
  encodeFrame,
  type DecodeBudget,
  type DecodeEvent,
  type Frame,
} from './frame.js';
import {
  MAX_LOG_PAGE,
  RESPONSE_BIT,
  SERVICE_PROTOCOL_VERSION,
  decodeRequestBody,
  encodeRefusal,
  encodeReply,
  isPrivileged,
  kindOfType,
  type CommandKind,
  type EnergyRegister,
  type Identity,
  type Instantaneous,
  type LogPage,
  type Reply,
  type Request,
  type ResultOf,
  type UnsealChallenge,
  type UnsealCommand,
} from './messages.js';
import type { Reason, TargetRefusal } from './reasons.js';
import { WireError } from './wire.js';

/** What a target method returns: a result, or a refusal with its reason. */
export type TargetResult<T = undefined> = { ok: true; value: T } | { ok: false; reason: TargetRefusal; message?: string };

export function ok<T>(value: T): TargetResult<T> {
  return { ok: true, value };
}
export function done(): TargetResult {
  return { ok: true, value: undefined };
}
export function refuse(reason: TargetRefusal, message?: string): TargetResult<never> {
  return message === undefined ? { ok: false, reason } : { ok: false, reason, message };
}

/** What the target says about itself; the server adds the protocol version and the auth counter. */
export type TargetIdentity = Omit<Identity, 'protocol' | 'authCounter'>;

/**
 * The meter application as the service interface sees it. Read methods must not change state.
 * Methods are synchronous (the application's loop calls `poll()`); a refusal is returned, not thrown.
 */
export interface ServiceTarget {
  identify(): TargetIdentity;
  readRegisters(): TargetResult<EnergyRegister[]>;
  readInstantaneous(): TargetResult<Instantaneous>;
  /** A page of the calibration log export: `bytes` at most `length` long, starting at `offset`
   *  (an offset at or past the end: empty bytes, or refuse 'out-of-range'). */
  readLogPage(offset: number, length: number): TargetResult<LogPage>;
  /** The calibration constants, in metrology's own serialisation. */
  readCalibration(): TargetResult<Uint8Array>;
  /** `who` (write-calibration, seal, unseal, install-meter-key): the authenticated sender's own name
   *  for the calibration log (1–32 printable ASCII), undefined when the request carries none. */
  writeCalibration(bytes: Uint8Array, who?: string): TargetResult;
  seal(who?: string): TargetResult;
  /** What the bench must authenticate to unseal now (SealGuard.unsealChallenge()). */
  readUnsealChallenge(): TargetResult<UnsealChallenge>;
  /** SealGuard.unseal(command): refuse 'switch-off' if the calibration switch is not set,
   *  'unauthorised' / 'replayed' if the seal's own MAC or challenge counter does not verify. */
  unseal(command: UnsealCommand, who?: string): TargetResult;
  setTime(ms: number): TargetResult;
  /** The new OMS meter key, 16 bytes, already unwrapped and authenticated. */
  installMeterKey(key: Uint8Array, who?: string): TargetResult;
  pulseTest(on: boolean, count: number): TargetResult;
}

export interface ServiceServerOptions {
  port: SerialPort;
  target: ServiceTarget;
  /** Source of the bench key (read on each privileged request). */
  keys: Pick<KeyStore, 'benchKey'>;
  crypto: Crypto;
  /** Where the last accepted command counter is persisted. */
  counters: ServiceCounterStore;
  /** With a clock, a partial frame is abandoned once the line has been idle `idleResetMs` (default
   *  250 ms) or `frameTimeoutMs` after it began (default 2000 ms). */
  clock?: Pick<Clock, 'ticks'>;
  idleResetMs?: number;
  frameTimeoutMs?: number;
  maxPayload?: number;
  /** Requests answered by one poll() at most (default 4). */
  maxRequestsPerPoll?: number;
  /** Bytes taken from the port by one poll() at most (default one maximal frame: 1033). */
  maxBytesPerPoll?: number;
}

export interface ServiceStats {
  /** Frames decoded (valid CRC). */
  frames: number;
  /** Framing errors by code ('garbage', 'crc', 'header-check', 'too-long', 'abandoned'). */
  framing: Record<string, number>;
  /** Responses sent, by reason. */
  replies: Partial<Record<Reason, number>>;
  /** Polls that took no request because the last reply still had no room in the port (the client
   *  is not reading). */
  waits: number;
}

/** A server's bounds, from its options (one frozen object shared by every server on the defaults). */
interface ServiceLimits {
  readonly maxPayload: number;
  readonly idleResetMs: number;
  readonly frameTimeoutMs: number;
  readonly maxRequestsPerPoll: number;
  readonly maxBytesPerPoll: number;
  /** Enough to check every request a poll may answer, each of maximal length. */
  readonly checkBytesPerPoll: number;
}

function limitsOf(maxPayload: number, idleResetMs: number, frameTimeoutMs: number, maxRequestsPerPoll: number, maxBytesPerPoll: number | undefined): ServiceLimits {
  checkMaxPayload(maxPayload);
  const maxBytes = maxBytesPerPoll ?? maxPayload + FRAME_OVERHEAD;
  if (!Number.isInteger(maxRequestsPerPoll) || maxRequestsPerPoll < 1) throw new FrameError('range', `maxRequestsPerPoll ${maxRequestsPerPoll} must be a positive integer`, { field: 'maxRequestsPerPoll' });
  if (!Number.isInteger(maxBytes) || maxBytes < 1) throw new FrameError('range', `maxBytesPerPoll ${maxBytes} must be a positive integer`, { field: 'maxBytesPerPoll' });
  // (A decoder's maxFrameBytes per request.)
  return { maxPayload, idleResetMs, frameTimeoutMs, maxRequestsPerPoll, maxBytesPerPoll: maxBytes, checkBytesPerPoll: maxRequestsPerPoll * (maxPayload + FRAME_OVERHEAD) };
}

const DEFAULT_REQUESTS_PER_POLL = 4;
const DEFAULT_LIMITS: ServiceLimits = Object.freeze(limitsOf(DEFAULT_MAX_PAYLOAD, DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_FRAME_TIMEOUT_MS, DEFAULT_REQUESTS_PER_POLL, undefined));

/** Bytes a log-page response needs besides the page: reason 1, total 4, offset 4, length 2. */
const LOG_PAGE_OVERHEAD = 11;

const NOTHING = new Uint8Array(0);

export class ServiceServer {
  private readonly port: SerialPort;
  private readonly target: ServiceTarget;
  private readonly auth: CommandAuthenticator;
  /** Made when the first byte arrives (most meters' ports never receive one). */
  private decoder: FrameDecoder | undefined;
  /** The bounds from the options: most servers share DEFAULT_LIMITS. */
  private readonly limits: ServiceLimits;
  private readonly clock: Pick<Clock, 'ticks'> | undefined;
  /** Made when the first input or the first count needs them and reused (most meters' ports never
   *  receive a byte: they hold none): nothing is allocated per poll. */
  private counts: ServiceStats | undefined;
  private events: DecodeEvent[] | undefined;
  private budget: DecodeBudget | undefined;
  /** Bytes read from the port but not yet decoded (a budget ran out). */
  private rest: Uint8Array = NOTHING;
  /** A reply waiting for room in the port. */
  private held: Uint8Array | undefined;
  /** The last poll stopped on its budget with input possibly left in the port. */
  private more = false;

  constructor(options: ServiceServerOptions) {
    this.port = options.port;
    this.target = options.target;
    this.auth = new CommandAuthenticator(options.crypto, options.keys, options.counters);
    const o = options;
    this.limits =
      o.maxPayload === undefined && o.idleResetMs === undefined && o.frameTimeoutMs === undefined && o.maxRequestsPerPoll === undefined && o.maxBytesPerPoll === undefined
        ? DEFAULT_LIMITS
        : limitsOf(o.maxPayload ?? DEFAULT_MAX_PAYLOAD, o.idleResetMs ?? DEFAULT_IDLE_TIMEOUT_MS, o.frameTimeoutMs ?? DEFAULT_FRAME_TIMEOUT_MS, o.maxRequestsPerPoll ?? DEFAULT_REQUESTS_PER_POLL, o.maxBytesPerPoll);
    // (The decoder's timeouts start with its first byte: nothing to start before.)
    this.clock = options.clock;
  }

  /** Requests answered by one poll() at most. */
  get maxRequestsPerPoll(): number {
    return this.limits.maxRequestsPerPoll;
  }

  /** Bytes taken from the port by one poll() at most. */
  get maxBytesPerPoll(): number {
    return this.limits.maxBytesPerPoll;
  }

  get stats(): ServiceStats {
    return (this.counts ??= { frames: 0, framing: {}, replies: {}, waits: 0 });
  }

  /** Received bytes held back: a frame not yet complete, or input a poll's budget left for the next. */
  get pending(): number {
    return (this.decoder ? this.decoder.buffered : 0) + this.rest.length;
  }

  /** Work is waiting for the next poll (a frame arriving, input held back or possibly left in the
   *  port, a reply waiting for room): a host should tick again soon rather than sleep. */
  get busy(): boolean {
    return this.more || this.held !== undefined || this.pending > 0;
  }

  /** Reads what has arrived, within the per-poll budget, and answers the requests it completes;
   *  returns the number answered. */
  poll(): number {
    const now = this.clock ? this.clock.ticks() : 0;
    if (this.held) {
      if (!this.fits(this.held.length)) {
        this.stats.waits++;
        return 0;
      }
      this.port.write(this.held);
      this.held = undefined;
      // Input was not taken meanwhile: the sender's timeouts restart.
      this.decoder?.touch(now);
    }
    // This poll's budget, set when there is input to spend it on.
    let budget: DecodeBudget | undefined;
    const limits = this.limits;
    let handled = 0;
    let answered = 0;
    let taken = 0;
    this.more = false;
    while (handled < limits.maxRequestsPerPoll && this.held === undefined) {
      if (this.rest.length === 0) {
        if (taken >= limits.maxBytesPerPoll) {
          this.more = true;
          break;
        }
        const chunk = this.port.read(limits.maxBytesPerPoll - taken);
        if (chunk.length === 0 && !this.decoder?.unchecked) break;
        taken += chunk.length;
        this.rest = chunk;
      }
      budget ??= this.freshBudget();
      budget.frames = 1;
      const decoder = (this.decoder ??= new FrameDecoder({ maxPayload: limits.maxPayload, idleTimeoutMs: limits.idleResetMs, frameTimeoutMs: limits.frameTimeoutMs }));
      const used = decoder.feed(this.rest, this.events as DecodeEvent[], budget, now);
      this.rest = used >= this.rest.length ? NOTHING : this.rest.subarray(used);
      const frames = this.take();
      handled += frames.handled;
      answered += frames.answered;
      if (frames.handled === 0 && (this.rest.length > 0 || decoder.unchecked)) {
        // The CRC budget ran out on what is held: the rest waits for the next poll.
        this.more = true;
        break;
      }
    }
    if (handled >= limits.maxRequestsPerPoll) this.more = true;
    // (expire() gives up nothing when nothing is held.)
    if (this.clock && handled < limits.maxRequestsPerPoll && this.held === undefined && this.rest.length === 0 && !this.more && this.decoder && this.decoder.buffered > 0) {
      budget ??= this.freshBudget();
      budget.frames = 1;
      if (this.decoder.expire(now, this.events as DecodeEvent[], budget)) answered += this.take().answered;
    }
    return answered;
  }

  /** The budget of one poll, full (and the events list the decoder fills). */
  private freshBudget(): DecodeBudget {
    this.events ??= [];
    const budget = (this.budget ??= { frames: 0, checkBytes: 0 });
    budget.checkBytes = this.limits.checkBytesPerPoll;
    return budget;
  }

  private fits(n: number): boolean {
    const room = this.port.writable;
    return room === undefined || n <= room;
  }

  /** Handles the events of one decoder call (at most one frame): counts errors, answers the frame. */
  private take(): { handled: number; answered: number } {
    const events = this.events as DecodeEvent[];
    let handled = 0;
    let answered = 0;
    for (let i = 0; i < events.length; i++) {
      const ev = events[i];
      if (ev.kind === 'error') {
        this.stats.framing[ev.error.code] = (this.stats.framing[ev.error.code] ?? 0) + 1;
        continue;
      }
      this.stats.frames++;
      handled++;
      if (ev.frame.type & RESPONSE_BIT) continue; // a response (an echo or a crossed wire): never answer it
      const reply = this.respond(ev.frame);
      if (this.fits(reply.length)) this.port.write(reply);
      else this.held = reply;
      answered++;
    }
    events.length = 0;
    return { handled, answered };
  }

  private respond(frame: Frame): Uint8Array {
    const kind = kindOfType(frame.type);
    let payload: Uint8Array;
    if (kind === undefined) {
      payload = this.refusal('unknown-command', `unknown command type 0x${frame.type.toString(16)}`);
    } else {
      const reply = this.handle(kind, frame);
      payload = this.encode(kind, reply);
    }
    return encodeFrame({ type: frame.type | RESPONSE_BIT, seq: frame.seq, payload }, this.limits.maxPayload);
  }

  private refusal(reason: Exclude<Reason, 'ok'>, message: string): Uint8Array {
    this.stats.replies[reason] = (this.stats.replies[reason] ?? 0) + 1;
    return encodeRefusal(reason, message);
  }

  private encode<K extends CommandKind>(kind: K, reply: Reply<K>): Uint8Array {
    if (reply.reason !== 'ok') return this.refusal(reply.reason, reply.message);
    let payload: Uint8Array;
    try {
      payload = encodeReply(kind, reply);
    } catch (e) {
      if (e instanceof MeterError) return this.refusal('failed', `${kind} result does not encode: ${e.message}`);
      throw e;
    }
    if (payload.length > this.limits.maxPayload) return this.refusal('failed', `${kind} result of ${payload.length} bytes does not fit a frame`);
    this.stats.replies.ok = (this.stats.replies.ok ?? 0) + 1;
    return payload;
  }

  private handle(kind: CommandKind, frame: Frame): Reply<CommandKind> {
    try {
      let body = frame.payload;
      let counter = -1;
      if (isPrivileged(kind)) {
        const v = this.auth.verify(frame.type, frame.payload, this.target.identify().meterId);
        if (!v.ok) return { reason: v.reason, message: v.message };
        body = v.body;
        counter = v.counter;
      }
      let req: Request;
      try {
        req = decodeRequestBody(kind, body);
      } catch (e) {
        if (e instanceof WireError) return { reason: 'malformed', message: e.message };
        throw e;
      }
      let key: Uint8Array | undefined;
      if (req.kind === 'install-meter-key') {
        try {
          key = this.auth.unwrapKey(req.wrappedKey);
        } catch (e) {
          if (e instanceof AuthError && e.code === 'unwrap') return { reason: 'malformed', message: e.message };
          throw e;
        }
      }
      if (req.kind === 'read-log-page') {
        const max = Math.min(MAX_LOG_PAGE, this.limits.maxPayload - LOG_PAGE_OVERHEAD);
        if (req.length < 1 || req.length > max) {
          return { reason: 'out-of-range', message: `page length ${req.length} must be 1 to ${max}` };
        }
      }
      if (counter >= 0) this.auth.accept(counter);
      return this.dispatch(req, key);
    } catch (e) {
      if (e instanceof MeterError) return { reason: 'failed', message: `${e.code}: ${e.message}` };
      throw e;
    }
  }

  private dispatch(req: Request, key: Uint8Array | undefined): Reply<CommandKind> {
    const t = this.target;
    switch (req.kind) {
      case 'identify':
        return { reason: 'ok', value: { protocol: SERVICE_PROTOCOL_VERSION, ...t.identify(), authCounter: this.auth.lastCounter } };
      case 'read-registers':
        return reply(t.readRegisters());
      case 'read-instantaneous':
        return reply(t.readInstantaneous());
      case 'read-log-page': {
        const r = t.readLogPage(req.offset, req.length);
        if (r.ok && (r.value.offset !== req.offset || r.value.bytes.length > req.length)) {
          return { reason: 'failed', message: 'target returned a page other than the one asked for' };
        }
        return reply(r);
      }
      case 'read-calibration':
        return reply(t.readCalibration());
      case 'write-calibration':
        return reply(t.writeCalibration(req.bytes, req.who));
      case 'seal':
        return reply(t.seal(req.who));
      case 'read-unseal-challenge':
        return reply(t.readUnsealChallenge());
      case 'unseal':
        return reply(t.unseal(req.command, req.who));
      case 'set-time':
        return reply(t.setTime(req.ms));
      case 'install-meter-key':
        return reply(t.installMeterKey(key as Uint8Array, req.who));
      case 'pulse-test':
        return reply(t.pulseTest(req.on, req.count));
    }
  }
}

function reply<T extends ResultOf[CommandKind]>(r: TargetResult<T>): Reply<CommandKind> {
  if (r.ok) return { reason: 'ok', value: r.value } as Reply<CommandKind>;
  return { reason: r.reason, message: r.message ?? r.reason };
}

