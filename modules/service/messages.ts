/**
 * The service interface's commands: request and result types and their binary encodings (the
 * PAYLOAD of a frame, see frame.ts). Integers are little-endian and fixed-width (energy in Wh and
 * times in ms since 1970 UTC as u64), strings UTF-8 with a one-byte length, byte strings with a
 * two-byte length. Calibration constants and the calibration log are opaque bytes here: metrology
 * and sealing own their formats. The log is read in pages (offset, length ≤ MAX_LOG_PAGE).
 *
 * A response payload is: reason (u8, reasons.ts) ‖ result body if the reason is 'ok', else a
 * human-readable message (string). Privileged requests wrap their body in the authentication
 * envelope of auth.ts; the bodies below are what is inside it.
 *
 * The requests the calibration log records (write-calibration, seal, unseal, install-meter-key) may
 * end with `who` (string, 1–32 printable ASCII: the bench and the operator, e.g. "bench-07/j.weber"),
 * which the log names as the cause; without it the meter names "service". Being inside the
 * envelope, it is covered by the command's CMAC like the rest of the body: a bench key holder says
 * who it is, and nobody can change that on the way.
 */
import { ByteReader, ByteWriter, WireError } from './wire.js';
import { REASONS, reasonOfCode, type Reason } from './reasons.js';
import type { UnsealChallenge, UnsealCommand } from '../sealing/unseal-command.js';

export type { UnsealChallenge, UnsealCommand };

export const SERVICE_PROTOCOL_VERSION = 1;
/** Response type = request type | RESPONSE_BIT. */
export const RESPONSE_BIT = 0x80;
/** Largest log page one request may ask for (fits a frame of the default maximum payload). */
export const MAX_LOG_PAGE = 512;
/** Bytes of an AES-128 meter key wrapped with RFC 3394 (16 + 8). */
export const WRAPPED_KEY_LENGTH = 24;
/** The seal's unseal CMAC (UNSEAL_MAC_SIZE of modules/sealing/unseal-command.ts). */
export const UNSEAL_MAC_LENGTH = 16;

export const COMMANDS = {
  identify: { type: 0x01, privileged: false },
  'read-registers': { type: 0x02, privileged: false },
  'read-instantaneous': { type: 0x03, privileged: false },
  'read-log-page': { type: 0x04, privileged: false },
  'read-calibration': { type: 0x05, privileged: false },
  'read-unseal-challenge': { type: 0x06, privileged: false },
  'write-calibration': { type: 0x10, privileged: true },
  seal: { type: 0x11, privileged: true },
  unseal: { type: 0x12, privileged: true },
  'set-time': { type: 0x13, privileged: true },
  'install-meter-key': { type: 0x14, privileged: true },
  'pulse-test': { type: 0x15, privileged: true },
} as const;

export type CommandKind = keyof typeof COMMANDS;

const KIND_BY_TYPE: CommandKind[] = [];
for (const k of Object.keys(COMMANDS) as CommandKind[]) KIND_BY_TYPE[COMMANDS[k].type] = k;

/** The command with this request type, or undefined. */
export function kindOfType(type: number): CommandKind | undefined {
  return KIND_BY_TYPE[type];
}

export function isPrivileged(kind: CommandKind): boolean {
  return COMMANDS[kind].privileged;
}

/** Longest `who` a logged request may carry (the calibration log's MAX_TEXT_SIZE). */
export const MAX_WHO_LENGTH = 32;

export type Request =
  | { kind: 'identify' }
  | { kind: 'read-registers' }
  | { kind: 'read-instantaneous' }
  | { kind: 'read-log-page'; offset: number; length: number }
  | { kind: 'read-calibration' }
  | { kind: 'write-calibration'; bytes: Uint8Array; who?: string }
  | { kind: 'seal'; who?: string }
  /** Carries the seal's own authenticated unseal command (modules/sealing/unseal-command.ts). */
  | { kind: 'unseal'; command: UnsealCommand; who?: string }
  | { kind: 'read-unseal-challenge' }
  | { kind: 'set-time'; ms: number }
  /** `wrappedKey`: the new meter key wrapped (RFC 3394) under the key-wrap key of auth.ts. */
  | { kind: 'install-meter-key'; wrappedKey: Uint8Array; who?: string }
  /** `count`: pulses to emit at the test rate; 0 with `on` = until switched off. */
  | { kind: 'pulse-test'; on: boolean; count: number };

export interface Identity {
  protocol: number;
  /** The meter's identity as used in the authentication (e.g. 'XSM12345678'). */
  meterId: string;
  manufacturer: string;
  model: string;
  firmware: string;
  sealed: boolean;
  /** The meter's wall clock, ms since 1970-01-01T00:00:00Z. */
  timeMs: number;
  /** The last privileged-command counter the meter accepted (0: none). */
  authCounter: number;
}

export interface EnergyRegister {
  /** OBIS code as in modules/wmbus-tx/registers.ts, e.g. '1.8.0', '2.8.1'. */
  obis: string;
  wh: number;
}

export interface PhaseValues {
  voltageMv: number;
  currentMa: number;
  /** Signed: import positive. */
  activePowerMw: number;
  reactivePowerMvar: number;
}

export interface Instantaneous {
  timeMs: number;
  frequencyMilliHz: number;
  /** One to three phases. */
  phases: PhaseValues[];
}

export interface LogPage {
  /** Length of the whole log export in bytes. */
  total: number;
  offset: number;
  bytes: Uint8Array;
}

/** What each command returns when it succeeds. */
export interface ResultOf {
  identify: Identity;
  'read-registers': EnergyRegister[];
  'read-instantaneous': Instantaneous;
  'read-log-page': LogPage;
  'read-calibration': Uint8Array;
  'read-unseal-challenge': UnsealChallenge;
  'write-calibration': undefined;
  seal: undefined;
  unseal: undefined;
  'set-time': undefined;
  'install-meter-key': undefined;
  'pulse-test': undefined;
}

export type Refused = { reason: Exclude<Reason, 'ok'>; message: string };
export type Reply<K extends CommandKind> = { reason: 'ok'; value: ResultOf[K] } | Refused;

function malformed(what: string, e: unknown): never {
  if (e instanceof WireError) throw e;
  throw new WireError('malformed', `${what}: ${String(e)}`);
}

// ---- request bodies -------------------------------------------------------------------------

/** Throws WireError unless `who` is 1–MAX_WHO_LENGTH printable ASCII characters. */
export function checkWho(who: string): string {
  if (typeof who !== 'string' || who.length < 1 || who.length > MAX_WHO_LENGTH) {
    throw new WireError('malformed', `who must be 1 to ${MAX_WHO_LENGTH} characters`, { field: 'who' });
  }
  for (let i = 0; i < who.length; i++) {
    const c = who.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) throw new WireError('malformed', 'who must be printable ASCII', { field: 'who', index: i });
  }
  return who;
}

function withWho(w: ByteWriter, who: string | undefined): Uint8Array {
  return who === undefined ? w.bytes() : w.str(checkWho(who), 'who').bytes();
}

/** The optional trailing `who` of a logged request. */
function readWho(r: ByteReader): string | undefined {
  return r.remaining > 0 ? checkWho(r.str('who')) : undefined;
}

export function encodeRequestBody(req: Request): Uint8Array {
  const w = new ByteWriter();
  switch (req.kind) {
    case 'read-log-page':
      return w.u32(req.offset, 'offset').u16(req.length, 'length').bytes();
    case 'write-calibration':
      return withWho(w.blob(req.bytes, 'calibration'), req.who);
    case 'seal':
      return withWho(w, req.who);
    case 'set-time':
      return w.u64(req.ms, 'time').bytes();
    case 'install-meter-key':
      if (!(req.wrappedKey instanceof Uint8Array) || req.wrappedKey.length !== WRAPPED_KEY_LENGTH) {
        throw new WireError('range', `wrapped key must be ${WRAPPED_KEY_LENGTH} bytes`, { field: 'wrappedKey' });
      }
      return withWho(w.raw(req.wrappedKey), req.who);
    case 'pulse-test':
      return w.bool(req.on, 'on').u32(req.count, 'count').bytes();
    case 'unseal':
      if (!(req.command.mac instanceof Uint8Array) || req.command.mac.length !== UNSEAL_MAC_LENGTH) {
        throw new WireError('range', `unseal MAC must be ${UNSEAL_MAC_LENGTH} bytes`, { field: 'mac' });
      }
      return withWho(w.u32(req.command.counter, 'unseal counter').raw(req.command.mac), req.who);
    default:
      return w.bytes();
  }
}

/** Decodes a request body; a WireError('malformed') if it does not decode exactly. */
export function decodeRequestBody(kind: CommandKind, body: Uint8Array): Request {
  const r = new ByteReader(body);
  let req: Request;
  switch (kind) {
    case 'read-log-page':
      req = { kind, offset: r.u32('offset'), length: r.u16('length') };
      break;
    case 'write-calibration':
      req = { kind, bytes: r.blob('calibration'), who: readWho(r) };
      break;
    case 'seal':
      req = { kind, who: readWho(r) };
      break;
    case 'set-time':
      req = { kind, ms: r.u64('time') };
      break;
    case 'install-meter-key':
      req = { kind, wrappedKey: r.raw(WRAPPED_KEY_LENGTH, 'wrapped key'), who: readWho(r) };
      break;
    case 'pulse-test':
      req = { kind, on: r.bool('on'), count: r.u32('count') };
      break;
    case 'unseal':
      req = { kind, command: { counter: r.u32('unseal counter'), mac: r.raw(UNSEAL_MAC_LENGTH, 'unseal MAC') }, who: readWho(r) };
      break;
    default:
      req = { kind };
  }
  r.end(kind);
  if ('who' in req && req.who === undefined) delete req.who;
  return req;
}

// ---- results ----------------------------------------------------------------------------------

function encodeResult<K extends CommandKind>(kind: K, value: ResultOf[K]): Uint8Array {
  const w = new ByteWriter();
  switch (kind) {
    case 'identify': {
      const v = value as Identity;
      w.u8(v.protocol, 'protocol').str(v.meterId, 'meterId').str(v.manufacturer, 'manufacturer');
      w.str(v.model, 'model').str(v.firmware, 'firmware').bool(v.sealed, 'sealed');
      return w.u64(v.timeMs, 'timeMs').u32(v.authCounter, 'authCounter').bytes();
    }
    case 'read-registers': {
      const v = value as EnergyRegister[];
      w.u8(v.length, 'register count');
      for (const reg of v) w.str(reg.obis, 'obis').u64(reg.wh, `${reg.obis} Wh`);
      return w.bytes();
    }
    case 'read-instantaneous': {
      const v = value as Instantaneous;
      if (v.phases.length < 1 || v.phases.length > 3) {
        throw new WireError('range', `${v.phases.length} phases: must be 1 to 3`, { field: 'phases' });
      }
      w.u64(v.timeMs, 'timeMs').u32(v.frequencyMilliHz, 'frequencyMilliHz').u8(v.phases.length, 'phases');
      for (const p of v.phases) {
        w.u32(p.voltageMv, 'voltageMv').i32(p.currentMa, 'currentMa');
        w.i32(p.activePowerMw, 'activePowerMw').i32(p.reactivePowerMvar, 'reactivePowerMvar');
      }
      return w.bytes();
    }
    case 'read-log-page': {
      const v = value as LogPage;
      return w.u32(v.total, 'total').u32(v.offset, 'offset').blob(v.bytes, 'page').bytes();
    }
    case 'read-calibration':
      return w.blob(value as Uint8Array, 'calibration').bytes();
    case 'read-unseal-challenge': {
      const v = value as UnsealChallenge;
      return w.str(v.deviceId, 'deviceId').u32(v.counter, 'counter').blob(v.headHash, 'headHash').bytes();
    }
    default:
      return w.bytes();
  }
}

function decodeResult<K extends CommandKind>(kind: K, r: ByteReader): ResultOf[K] {
  switch (kind) {
    case 'identify': {
      const v: Identity = {
        protocol: r.u8('protocol'),
        meterId: r.str('meterId'),
        manufacturer: r.str('manufacturer'),
        model: r.str('model'),
        firmware: r.str('firmware'),
        sealed: r.bool('sealed'),
        timeMs: r.u64('timeMs'),
        authCounter: r.u32('authCounter'),
      };
      return v as ResultOf[K];
    }
    case 'read-registers': {
      const n = r.u8('register count');
      const v: EnergyRegister[] = [];
      for (let i = 0; i < n; i++) v.push({ obis: r.str('obis'), wh: r.u64('Wh') });
      return v as ResultOf[K];
    }
    case 'read-instantaneous': {
      const timeMs = r.u64('timeMs');
      const frequencyMilliHz = r.u32('frequencyMilliHz');
      const n = r.u8('phases');
      if (n < 1 || n > 3) throw new WireError('malformed', `${n} phases: must be 1 to 3`, { field: 'phases' });
      const phases: PhaseValues[] = [];
      for (let i = 0; i < n; i++) {
        phases.push({
          voltageMv: r.u32('voltageMv'),
          currentMa: r.i32('currentMa'),
          activePowerMw: r.i32('activePowerMw'),
          reactivePowerMvar: r.i32('reactivePowerMvar'),
        });
      }
      return { timeMs, frequencyMilliHz, phases } as ResultOf[K];
    }
    case 'read-log-page': {
      const v: LogPage = { total: r.u32('total'), offset: r.u32('offset'), bytes: r.blob('page') };
      return v as ResultOf[K];
    }
    case 'read-calibration':
      return r.blob('calibration') as ResultOf[K];
    case 'read-unseal-challenge': {
      const v: UnsealChallenge = { deviceId: r.str('deviceId'), counter: r.u32('counter'), headHash: r.blob('headHash') };
      return v as ResultOf[K];
    }
    default:
      return undefined as ResultOf[K];
  }
}

// ---- responses --------------------------------------------------------------------------------

/** A response payload: the reason code, then the result (ok) or the refusal message. */
export function encodeReply<K extends CommandKind>(kind: K, reply: Reply<K>): Uint8Array {
  if (reply.reason === 'ok') {
    const body = encodeResult(kind, reply.value);
    const out = new Uint8Array(1 + body.length);
    out.set(body, 1);
    return out;
  }
  return encodeRefusal(reply.reason, reply.message);
}

/** A refusal payload (also for requests whose command is unknown). Long messages are cut. */
export function encodeRefusal(reason: Exclude<Reason, 'ok'>, message: string): Uint8Array {
  return new ByteWriter().u8(REASONS[reason], 'reason').str(messageText(message), 'message').bytes();
}

/** At most 255 bytes of UTF-8, whole code points, lone surrogates replaced by '?'. */
function messageText(s: string): string {
  let out = '';
  let n = 0;
  for (const ch of String(s)) {
    const cp = ch.codePointAt(0) ?? 0x3f;
    const c = cp >= 0xd800 && cp <= 0xdfff ? '?' : ch;
    const len = cp < 0x80 || c === '?' ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (n + len > 255) break;
    out += c;
    n += len;
  }
  return out;
}

/** Decodes a response payload for a request of `kind`; WireError('malformed') if it does not. */
export function decodeReply<K extends CommandKind>(kind: K, payload: Uint8Array): Reply<K> {
  const r = new ByteReader(payload);
  const code = r.u8('reason');
  const reason = reasonOfCode(code);
  if (reason === undefined) throw new WireError('malformed', `unknown reason code ${code}`, { code });
  let reply: Reply<K>;
  try {
    reply = reason === 'ok' ? { reason, value: decodeResult(kind, r) } : { reason, message: r.str('message') };
  } catch (e) {
    malformed(`${kind} response`, e);
  }
  r.end(`${kind} response`);
  return reply;
}
