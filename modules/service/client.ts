/**
 * The bench's side of the service interface: `ServiceClient` builds requests, signs privileged ones
 * with the bench key and the next counter (auth.ts), writes them to any SerialPort-like duplex,
 * and waits for the response with the same SEQ and type. A refusal becomes a ServiceError whose
 * code is the reason ('sealed', 'replayed', …); no answer within the time-out is code 'timeout'.
 *
 * Portable: waiting goes through `ClientTiming` (a clock and a sleep), which each transport
 * provides — real timers over TCP, a virtual clock that runs the server's poll() in memory.
 * Requests are sent one at a time, in call order.
 */
import { MeterError } from '../core/errors.js';
import type { SerialPort } from '../ports/bus.js';
import type { AesKey, Crypto } from '../ports/crypto.js';
import { MAX_COUNTER, sealCommand, wrapMeterKey } from './auth.js';
import { DEFAULT_MAX_PAYLOAD, FrameDecoder, encodeFrame, type Frame } from './frame.js';
import {
  COMMANDS,
  MAX_LOG_PAGE,
  checkWho,
  RESPONSE_BIT,
  decodeReply,
  encodeRequestBody,
  type CommandKind,
  type EnergyRegister,
  type Identity,
  type Instantaneous,
  type LogPage,
  type Request,
  type ResultOf,
} from './messages.js';
import { WireError } from './wire.js';
import { makeUnsealCommand, type UnsealChallenge } from '../sealing/unseal-command.js';

/** A request failed. `code`: the meter's refusal reason ('malformed', 'unknown-command',
 *  'unauthorised', 'replayed', 'sealed', 'switch-off', 'out-of-range', 'busy', 'failed'), or the
 *  client's own: 'timeout', 'bad-response', 'no-key', 'no-meter-id', 'counter-exhausted'. */
export class ServiceError extends MeterError {}

export interface ClientTiming {
  /** Monotonic milliseconds. */
  ticks(): number;
  /** Resolves after about `ms`; the client calls it while it waits for a response. */
  sleep(ms: number): Promise<void>;
}

export interface ServiceClientOptions {
  port: SerialPort;
  timing: ClientTiming;
  /** Needed for privileged commands: the bench key as a handle of `crypto`. */
  benchKey?: AesKey;
  crypto?: Crypto;
  /** The meter's id (the MAC covers it); `connect()` learns it from identify. */
  meterId?: string;
  /** The last command counter used; the next privileged request uses one more. */
  counter?: number;
  /** Per request (default 1000 ms). */
  timeoutMs?: number;
  /** Interval between reads while waiting (default 2 ms). */
  pollMs?: number;
  /** Sent with every request the calibration log records, which names it as the cause (1–32
   *  printable ASCII, e.g. "bench-07/j.weber"; messages.ts). Without it the meter names "service". */
  who?: string;
  maxPayload?: number;
}

/** The largest log export the client reads: a meter's calibration log partition is far smaller
 *  (128 KB on the ESP32 board). */
export const MAX_LOG_EXPORT = 16 * 1024 * 1024;

export class ServiceClient {
  private readonly port: SerialPort;
  private readonly timing: ClientTiming;
  private readonly benchKey: AesKey | undefined;
  private readonly crypto: Crypto | undefined;
  private readonly timeoutMs: number;
  private readonly pollMs: number;
  private readonly maxPayload: number;
  private readonly who: string | undefined;
  private readonly decoder: FrameDecoder;
  private id: string | undefined;
  private last: number;
  private seq = 0;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: ServiceClientOptions) {
    this.port = options.port;
    this.timing = options.timing;
    this.benchKey = options.benchKey;
    this.crypto = options.crypto;
    this.id = options.meterId;
    this.last = options.counter ?? 0;
    this.timeoutMs = options.timeoutMs ?? 1000;
    this.pollMs = options.pollMs ?? 2;
    this.maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
    this.who = options.who === undefined ? undefined : checkWho(options.who);
    this.decoder = new FrameDecoder({ maxPayload: this.maxPayload });
  }

  /** The last command counter used (persist it on the bench to survive a restart). */
  get counter(): number {
    return this.last;
  }
  get meterId(): string | undefined {
    return this.id;
  }

  /** Identifies the meter, adopts its id, and moves the counter past the meter's last accepted. */
  async connect(): Promise<Identity> {
    const ident = await this.identify();
    this.id = ident.meterId;
    if (ident.authCounter > this.last) this.last = ident.authCounter;
    return ident;
  }

  identify(): Promise<Identity> {
    return this.request({ kind: 'identify' });
  }
  readRegisters(): Promise<EnergyRegister[]> {
    return this.request({ kind: 'read-registers' });
  }
  readInstantaneous(): Promise<Instantaneous> {
    return this.request({ kind: 'read-instantaneous' });
  }
  readLogPage(offset: number, length: number): Promise<LogPage> {
    return this.request({ kind: 'read-log-page', offset, length });
  }
  /** The whole calibration log export, read page by page. */
  async exportLog(pageSize = MAX_LOG_PAGE): Promise<Uint8Array> {
    const first = await this.readLogPage(0, pageSize);
    // The meter's word, checked before it sizes an allocation (a reply may say 4 GiB).
    if (first.total > MAX_LOG_EXPORT) throw new ServiceError('bad-response', `the meter announces a log export of ${first.total} bytes, more than ${MAX_LOG_EXPORT}`);
    const out = new Uint8Array(first.total);
    let offset = 0;
    let page = first;
    for (;;) {
      if (page.total !== first.total || page.offset !== offset || offset + page.bytes.length > first.total) {
        throw new ServiceError('bad-response', `log page at ${offset} inconsistent (total ${page.total}, ${page.bytes.length} bytes)`);
      }
      out.set(page.bytes, offset);
      offset += page.bytes.length;
      if (offset >= first.total) return out;
      if (page.bytes.length === 0) throw new ServiceError('bad-response', `empty log page at ${offset} before the end ${first.total}`);
      page = await this.readLogPage(offset, pageSize);
    }
  }
  readCalibration(): Promise<Uint8Array> {
    return this.request({ kind: 'read-calibration' });
  }
  writeCalibration(bytes: Uint8Array): Promise<void> {
    return this.request({ kind: 'write-calibration', bytes, who: this.who });
  }
  seal(): Promise<void> {
    return this.request({ kind: 'seal', who: this.who });
  }
  readUnsealChallenge(): Promise<UnsealChallenge> {
    return this.request({ kind: 'read-unseal-challenge' });
  }
  /** Reads the seal's challenge and answers it with the bench key (the switch must be set). */
  async unseal(): Promise<void> {
    const challenge = await this.readUnsealChallenge();
    const { crypto, key } = this.key();
    const command = makeUnsealCommand(crypto, key, challenge);
    return this.request({ kind: 'unseal', command, who: this.who });
  }
  setTime(ms: number): Promise<void> {
    return this.request({ kind: 'set-time', ms });
  }
  /** Sends the new 16-byte meter key wrapped under the bench key. */
  installMeterKey(key: Uint8Array): Promise<void> {
    const auth = this.key();
    return this.request({ kind: 'install-meter-key', wrappedKey: wrapMeterKey(auth.crypto, auth.key, key), who: this.who });
  }
  pulseTest(on: boolean, count = 0): Promise<void> {
    return this.request({ kind: 'pulse-test', on, count });
  }

  /** Sends one request; resolves with its result or rejects with a ServiceError. */
  request<K extends CommandKind>(req: Request & { kind: K }): Promise<ResultOf[K]> {
    return this.serialised(async () => {
      const type = COMMANDS[req.kind].type;
      let payload = encodeRequestBody(req);
      if (COMMANDS[req.kind].privileged) {
        const { crypto, key } = this.key();
        if (this.id === undefined) throw new ServiceError('no-meter-id', 'meter id unknown: call connect() or pass meterId');
        if (this.last >= MAX_COUNTER) throw new ServiceError('counter-exhausted', 'command counter exhausted');
        this.last++;
        payload = sealCommand(crypto, key, type, this.last, this.id, payload);
      }
      const resp = await this.exchangeNow(type, payload);
      let reply;
      try {
        reply = decodeReply(req.kind, resp.payload);
      } catch (e) {
        if (e instanceof WireError) throw new ServiceError('bad-response', `${req.kind}: ${e.message}`, { command: req.kind });
        throw e;
      }
      if (reply.reason !== 'ok') {
        throw new ServiceError(reply.reason, `${req.kind} refused: ${reply.reason}: ${reply.message}`, {
          command: req.kind,
          reason: reply.reason,
          message: reply.message,
        });
      }
      return reply.value as ResultOf[K];
    });
  }

  /** Sends a raw request frame and returns the matching response frame (tests, diagnostics). */
  exchange(type: number, payload: Uint8Array): Promise<Frame> {
    return this.serialised(() => this.exchangeNow(type, payload));
  }

  private key(): { crypto: Crypto; key: AesKey } {
    if (!this.benchKey || !this.crypto) throw new ServiceError('no-key', 'a privileged command needs the bench key');
    return { crypto: this.crypto, key: this.benchKey };
  }

  private serialised<T>(op: () => Promise<T>): Promise<T> {
    const run = this.queue.then(op, op);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async exchangeNow(type: number, payload: Uint8Array): Promise<Frame> {
    const seq = this.seq;
    this.seq = (this.seq + 1) & 0xff;
    this.decoder.push(this.port.read()); // drop anything stale before asking
    this.port.write(encodeFrame({ type, seq, payload }, this.maxPayload));
    const start = this.timing.ticks();
    for (;;) {
      for (const ev of this.decoder.push(this.port.read())) {
        if (ev.kind === 'frame' && ev.frame.seq === seq && ev.frame.type === (type | RESPONSE_BIT)) return ev.frame;
      }
      if (this.timing.ticks() - start >= this.timeoutMs) {
        throw new ServiceError('timeout', `no response to type 0x${type.toString(16)} within ${this.timeoutMs} ms`, { type, seq });
      }
      await this.timing.sleep(this.pollMs);
    }
  }
}
