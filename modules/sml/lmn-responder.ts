/**
 * The meter on the wired LMN (RS-485, SML over transport v1): answers the gateway's
 * SML_GetList.Req with the meter's registers, as one file of SML_PublicOpen.Res, SML_GetList.Res
 * (one per request accepted) and SML_PublicClose.Res; each response message carries the transaction
 * ID of the request message it answers (OpenRes and CloseRes generate one when the request had no
 * Open/Close), the gateway's clientId and reqFileId come back as sent.
 *
 * What is answered: a GetList.Req whose serverId is this meter's or omitted, and whose listName is
 * the current-values list (1-0:98.10.255*255) or omitted; the list has every reading (detail
 * included: the gateway is the authorised party the PIN rule protects the data for).
 * What is not: a request for another meter on the bus ('other-server') or another list
 * ('unknown-list'), a file without a GetList.Req ('no-get-list') — counted in `stats.ignored`; a
 * malformed file (bad CRC, escape, TL, structure, truncated, too long) — counted in `stats.errors`
 * by code, and nothing else happens. `poll()` never throws a MeterError and does bounded work: at
 * most `maxBytesPerPoll` bytes, the rest of a long read waits for the next poll (the port is not
 * read again until it is done), so a flooded line cannot stall metering.
 * An answer the port has no room for yet (`writable`: a UART shared with the optical push is still
 * sending its file) is held, and nothing more is read or answered meanwhile; one not sent within
 * `holdMs` is dropped (`stats.failed.busy`: the gateway has given up on it by then).
 */
import { equalConstantTime } from '../core/bytes.js';
import { MeterError } from '../core/errors.js';
import type { SerialPort } from '../ports/bus.js';
import type { Clock } from '../ports/clock.js';
import type { SmlGetListRequest, SmlMessage, SmlOpenRequest } from './messages.js';
import { SmlStreamDecoder, type SmlDecodeEvent, type SmlFile } from './stream-decoder.js';
import { SmlFileEncoder } from './transport.js';
import { LIST_NAME_CURRENT, ValListBuilder, type RegisterSource } from './val-list.js';

export interface LmnResponderOptions {
  /** The RS-485 port (the host drives the transceiver's direction). */
  port: SerialPort;
  clock: Pick<Clock, 'ticks'>;
  source: RegisterSource;
  serverId: Uint8Array;
  /** FLAG manufacturer code (default 'XSM'). */
  manufacturer?: string;
  /** Longest request file accepted (default 1024 bytes). */
  maxRequestBytes?: number;
  /** Bytes taken from the line per poll at most (default 2048: two seconds at 9600 baud). */
  maxBytesPerPoll?: number;
  /** Largest response payload (default 2048 bytes). */
  maxPayload?: number;
  /** How long an answer waits for room on the port before it is dropped (default 2000 ms). */
  holdMs?: number;  /** The entries to fill (default: its own). The push and the LMN of one meter may share one: each
   *  fills and encodes it in one go. */
  values?: ValListBuilder;
}

export interface LmnStats {
  /** Request files read. */
  requests: number;
  responses: number;
  /** Malformed request files by error code. */
  errors: Record<string, number>;
  /** Well-formed requests not for this meter, by reason. */
  ignored: Record<string, number>;
  /** Responses that could not be built (a reading SML cannot carry) or sent ('busy'), by error code. */
  failed: Record<string, number>;
}

const NO_EVENTS: readonly SmlDecodeEvent[] = Object.freeze([]);

function count(to: Record<string, number>, key: string): void {
  to[key] = (to[key] ?? 0) + 1;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return equalConstantTime(a, b);
}

export class LmnResponder {
  readonly stats: LmnStats = { requests: 0, responses: 0, errors: {}, ignored: {}, failed: {} };
  private readonly port: SerialPort;
  private readonly clock: Pick<Clock, 'ticks'>;
  private readonly source: RegisterSource;
  private readonly serverId: Uint8Array;
  private readonly listName = Uint8Array.from(LIST_NAME_CURRENT);
  private readonly decoder: SmlStreamDecoder;
  private readonly encoder: SmlFileEncoder;
  private readonly values: ValListBuilder;
  private readonly maxBytesPerPoll: number;
  private readonly holdMs: number;
  private backlog: Uint8Array | undefined;
  /** Decoded but not yet handled (behind a held answer), from `next` on. */
  private events: readonly SmlDecodeEvent[] = NO_EVENTS;
  private next = 0;
  /** An answer waiting for room on the port (a view of the encoder's buffer), since `heldAt`. */
  private held: Uint8Array | undefined;
  private heldAt = 0;
  private counter = 0;

  constructor(options: LmnResponderOptions) {
    this.port = options.port;
    this.clock = options.clock;
    this.source = options.source;
    this.serverId = options.serverId;
    this.decoder = new SmlStreamDecoder({ maxFileBytes: options.maxRequestBytes ?? 1024 });
    this.encoder = new SmlFileEncoder(options.maxPayload ?? 2048);
    this.values = options.values ?? new ValListBuilder({ serverId: options.serverId, manufacturer: options.manufacturer ?? 'XSM' });
    this.maxBytesPerPoll = options.maxBytesPerPoll ?? 2048;
    this.holdMs = options.holdMs ?? 2000;
  }

  /** Bytes received but not yet looked at (a long read is worked off over several polls). */
  get pending(): number {
    return this.backlog?.length ?? 0;
  }

  /** Work left for the next poll: unread bytes, or an answer waiting for room on the port. */
  get busy(): boolean {
    return this.backlog !== undefined || this.held !== undefined;
  }

  /** Reads the line and answers complete requests; call every tick. */
  poll(): void {
    if (this.held) {
      if (!this.send(this.held)) {
        if (this.clock.ticks() - this.heldAt < this.holdMs) return;
        count(this.stats.failed, 'busy');
      }
      this.held = undefined;
    }
    if (!this.handle()) return;
    let chunk = this.backlog ?? this.port.read();
    this.backlog = undefined;
    if (chunk.length > this.maxBytesPerPoll) {
      this.backlog = chunk.subarray(this.maxBytesPerPoll);
      chunk = chunk.subarray(0, this.maxBytesPerPoll);
    }
    if (chunk.length === 0) return;
    this.events = this.decoder.push(chunk);
    this.next = 0;
    this.handle();
  }

  /** Handles the decoded events in turn; false when an answer is held for room on the port. */
  private handle(): boolean {
    for (;;) {
      if (this.next >= this.events.length) {
        this.events = NO_EVENTS; // the decoded requests are not kept
        return true;
      }
      const e = this.events[this.next++];
      if (e.kind === 'error') {
        count(this.stats.errors, e.error.code);
        continue;
      }
      const answer = this.answer(e.file);
      if (answer && !this.send(answer)) {
        this.held = answer;
        this.heldAt = this.clock.ticks();
        return false;
      }
    }
  }

  /** Writes `bytes` when the port has room for all of them. */
  private send(bytes: Uint8Array): boolean {
    const room = this.port.writable;
    if (room !== undefined && room < bytes.length) return false;
    this.port.write(bytes);
    this.stats.responses++;
    return true;
  }

  /** The answer to a request file, or undefined (counted) when there is none. */
  private answer(file: SmlFile): Uint8Array | undefined {
    this.stats.requests++;
    let open: SmlMessage | undefined;
    let close: SmlMessage | undefined;
    const lists: SmlMessage[] = [];
    for (const m of file.messages) {
      if (m.body.kind === 'open-req') open ??= m;
      else if (m.body.kind === 'close-req') close ??= m;
      else if (m.body.kind === 'get-list-req') lists.push(m);
    }
    const openReq = open?.body as SmlOpenRequest | undefined;
    if (lists.length === 0) return void count(this.stats.ignored, 'no-get-list');
    if (openReq?.serverId !== undefined && !same(openReq.serverId, this.serverId)) return void count(this.stats.ignored, 'other-server');
    const accepted: SmlMessage[] = [];
    for (const m of lists) {
      const req = m.body as SmlGetListRequest;
      if (req.serverId !== undefined && !same(req.serverId, this.serverId)) count(this.stats.ignored, 'other-server');
      else if (req.listName !== undefined && !same(req.listName, this.listName)) count(this.stats.ignored, 'unknown-list');
      else accepted.push(m);
    }
    if (accepted.length === 0) return undefined;
    try {
      return this.respond(openReq, open, accepted, close);
    } catch (e) {
      if (!(e instanceof MeterError)) throw e;
      count(this.stats.failed, e.code);
      return undefined;
    }
  }

  private ownId(n: number): Uint8Array {
    const c = this.counter;
    return Uint8Array.of(c >>> 24, (c >>> 16) & 0xff, (c >>> 8) & 0xff, c & 0xff, n);
  }

  private respond(openReq: SmlOpenRequest | undefined, open: SmlMessage | undefined, lists: SmlMessage[], close: SmlMessage | undefined): Uint8Array {
    const enc = this.encoder;
    enc.begin();
    const reqFileId = openReq?.reqFileId ?? this.ownId(0).subarray(0, 4);
    enc.message({
      transactionId: open?.transactionId ?? this.ownId(1),
      body: { kind: 'open-res', clientId: openReq?.clientId, reqFileId, serverId: this.serverId },
    });
    const seconds = Math.floor(this.clock.ticks() / 1000) % 4294967296;
    for (const m of lists) {
      const req = m.body as SmlGetListRequest;
      enc.message({
        transactionId: m.transactionId,
        body: {
          kind: 'get-list-res',
          clientId: req.clientId,
          serverId: this.serverId,
          listName: this.listName,
          actSensorTime: { kind: 'secIndex', seconds },
          valList: this.values.build(this.source, true),
        },
      });
    }
    enc.message({ transactionId: close?.transactionId ?? this.ownId(3), body: { kind: 'close-res' } });
    this.counter = (this.counter + 1) >>> 0;
    return enc.finish();
  }
}
