/**
 * The optical info interface (the "INFO" port of German modern meters, IEC 62056-21 optics at 9600
 * baud 8N1): one SML file pushed every `periodMs` (1 s), read by IR heads through libsml, vzlogger,
 * Tasmota or smartmeter-obis. Each file is
 *
 *   SML_PublicOpen.Res   reqFileId = push counter, serverId
 *   SML_GetList.Res      serverId, listName 1-0:98.10.255*255, actSensorTime = secIndex (clock ticks
 *                        in s), valList: manufacturer, server ID, then the registers (val-list.ts)
 *   SML_PublicClose.Res
 *
 * The valList holds the billing registers (A+ 1.8.0 with the status word, A- 2.8.0, tariffs 1.8.t /
 * 2.8.t where the source has them); current power (16.7.0) and any other detail only while `details`
 * says so — the customer's PIN (pin-entry.ts). Transaction IDs are the push counter and the message
 * number, so every message of the stream has its own.
 *
 * `poll()` never throws a MeterError: a reading SML cannot carry skips that file and is counted in
 * `stats.errors` by code; a file the port has no room for now (`writable`: the line is busy, e.g. a
 * UART shared with the LMN is answering the gateway) is not sent and counted in `stats.busy` — the
 * next second brings a fresh one. Buffers, messages and entries are built once and reused.
 */
import { MeterError } from '../core/errors.js';
import type { SerialPort } from '../ports/bus.js';
import type { Clock } from '../ports/clock.js';
import type { SmlGetListResponse, SmlMessage, SmlOpenResponse } from './messages.js';
import { SmlFileEncoder } from './transport.js';
import { LIST_NAME_CURRENT, ValListBuilder, type RegisterSource } from './val-list.js';

/** Whether the detail may be shown now (PinEntry implements it). */
export interface DetailGate {
  visible(): boolean;
}

export interface OpticalPushOptions {
  /** The optical port, 9600 baud 8N1 (the host configures the UART). */
  port: SerialPort;
  clock: Pick<Clock, 'ticks'>;
  source: RegisterSource;
  /** SML server ID (server-id.ts). */
  serverId: Uint8Array;
  /** FLAG manufacturer code (default 'XSM'). */
  manufacturer?: string;
  /** Without it the push never shows detail. */
  details?: DetailGate;
  /** Default 1000 ms. */
  periodMs?: number;
  /** Largest payload of one file (default 1024 bytes; at 9600 baud about 900 bytes fit in a second). */
  maxPayload?: number;  /** The entries to fill (default: its own). The push and the LMN of one meter may share one: each
   *  fills and encodes it in one go. */
  values?: ValListBuilder;
}

export interface OpticalPushStats {
  files: number;
  /** Files that carried the detail (PIN entered). */
  detailFiles: number;
  bytes: number;
  /** Files not sent, by error code. */
  errors: Record<string, number>;
  /** Files not sent because the port had no room for them. */
  busy: number;
}

export class OpticalPush {
  readonly stats: OpticalPushStats = { files: 0, detailFiles: 0, bytes: 0, errors: {}, busy: 0 };
  private readonly port: SerialPort;
  private readonly clock: Pick<Clock, 'ticks'>;
  private readonly source: RegisterSource;
  private readonly details: DetailGate | undefined;
  private readonly periodMs: number;
  private readonly encoder: SmlFileEncoder;
  private readonly values: ValListBuilder;
  private readonly transactionId = new Uint8Array(5);
  private readonly reqFileId = new Uint8Array(4);
  private readonly open: SmlMessage;
  private readonly list: SmlMessage;
  private readonly close: SmlMessage;
  private readonly sensorTime = { kind: 'secIndex' as const, seconds: 0 };
  private counter = 0;
  private due = -Infinity;
  /** Whether the file last built carries the detail. */
  private detail = false;

  constructor(options: OpticalPushOptions) {
    this.port = options.port;
    this.clock = options.clock;
    this.source = options.source;
    this.details = options.details;
    this.periodMs = options.periodMs ?? 1000;
    this.encoder = new SmlFileEncoder(options.maxPayload ?? 1024);
    this.values = options.values ?? new ValListBuilder({ serverId: options.serverId, manufacturer: options.manufacturer ?? 'XSM' });
    const openBody: SmlOpenResponse = { kind: 'open-res', reqFileId: this.reqFileId, serverId: options.serverId };
    const listBody: SmlGetListResponse = {
      kind: 'get-list-res',
      serverId: options.serverId,
      listName: Uint8Array.from(LIST_NAME_CURRENT),
      actSensorTime: this.sensorTime,
      valList: this.values.entries,
    };
    this.open = { transactionId: this.transactionId, body: openBody };
    this.list = { transactionId: this.transactionId, body: listBody };
    this.close = { transactionId: this.transactionId, body: { kind: 'close-res' } };
  }

  /** The first file is due at `nowTicks` (without it: at the first poll); later ones every period after. */
  start(nowTicks: number): void {
    this.due = nowTicks;
  }

  /** Pushes a file when one is due; call every tick. */
  poll(): void {
    const now = this.clock.ticks();
    if (now < this.due) return;
    // Keep the cadence; after a stall, start again from now rather than catching up in a burst.
    this.due = now - this.due >= this.periodMs ? now + this.periodMs : this.due + this.periodMs;
    let file: Uint8Array;
    try {
      file = this.build(now);
    } catch (e) {
      if (!(e instanceof MeterError)) throw e;
      this.stats.errors[e.code] = (this.stats.errors[e.code] ?? 0) + 1;
      return;
    }
    const room = this.port.writable;
    if (room !== undefined && room < file.length) {
      this.stats.busy++;
      return;
    }
    this.port.write(file);
    this.sent(file);
  }

  /** Ticks at which the next file is due. */
  nextWake(): number {
    return this.due;
  }

  /** Builds the next file (a view of the encoder's buffer, valid until the next one) and counts it. */
  encode(nowTicks: number): Uint8Array {
    const file = this.build(nowTicks);
    this.sent(file);
    return file;
  }

  private sent(file: Uint8Array): void {
    this.stats.files++;
    if (this.detail) this.stats.detailFiles++;
    this.stats.bytes += file.length;
  }

  /** The next file; the push counter moves on whether or not it is sent. */
  private build(nowTicks: number): Uint8Array {
    const detail = this.details !== undefined && this.details.visible();
    this.detail = detail;
    this.values.build(this.source, detail);
    this.sensorTime.seconds = Math.floor(nowTicks / 1000) % 4294967296;
    const c = this.counter;
    const id = this.reqFileId;
    id[0] = c >>> 24;
    id[1] = (c >>> 16) & 0xff;
    id[2] = (c >>> 8) & 0xff;
    id[3] = c & 0xff;
    this.transactionId.set(id);
    const enc = this.encoder;
    enc.begin();
    this.transactionId[4] = 1;
    enc.message(this.open);
    this.transactionId[4] = 2;
    enc.message(this.list);
    this.transactionId[4] = 3;
    enc.message(this.close);
    const file = enc.finish();
    this.counter = (c + 1) >>> 0;
    return file;
  }
}
