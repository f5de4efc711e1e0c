/**
 * The receiving side of the wireless M-Bus telegram path:
 *   PHY stream (phy-decode.ts) or frame → CRC check per block (frame-parse.ts, EN 13757-4) → link
 *   layer C, M, A → optional ELL (CI 0x8C-0x8F; AES-128-CTR with its payload CRC) → optional AFL
 *   (CI 0x90: message counter and CMAC, OMS Vol. 2 §9.3.3) → transport layer (CI 0x7A short, 0x72
 *   long, 0x8A / 0x8B header without data, 0x78 no header) → replay check → decryption (mode 5 IV,
 *   mode 7 Kenc) and 2F2F check → EN 13757-3 records (records.ts) → named values (values.ts).
 *
 * Two modes:
 *  - lenient (default) reads what real meters send: every standard CI above, non-BCD
 *    identification numbers, reserved and manufacturer-specific records kept raw, partial
 *    encryption (records after the encrypted blocks are decoded and marked `encrypted: false`);
 *    every value says whether a verified MAC covers it (`authenticated`).
 *  - strict is the project's conformance checker (the simulated gateway uses it for its own
 *    meters): only CI 0x7A / 0x72 with an optional AFL and short ELL, BCD identification numbers,
 *    no data after the encrypted blocks, no record the standard reserves or leaves to the
 *    manufacturer.
 * In both, security mode 0 (and CI 0x78 without ELL encryption) needs `allowPlain`, and encryption
 * without a MAC (mode 5, ELL AES-CTR) needs `allowUnauthenticated` (or the meter's key entry
 * saying so): a key alone promises more than these modes deliver.
 *
 * The replay state follows what the security proves (replay.ts): mode 7 slots are keyed on the key
 * and the identification number that enters the KDF, so no unauthenticated header byte can select a
 * fresh slot. A frame that fails any check changes no state.
 *
 * Every error is a MeterError; once the link layer was read it carries `meterId` and
 * `manufacturer` in its details.
 */
import { concat, toHex } from '../core/bytes.js';
import { MeterError } from '../core/errors.js';
import type { AesKey, Crypto } from '../ports/crypto.js';
import type { WmbusMode } from '../ports/radio.js';
import { kdfMeterId, securityAddress, writeSecurityAddress } from '../oms-crypto/address.js';
import { CI_AFL, MAC_INPUT_MAX, macInputLength, parseAfl, verifyAflMacWith, type Afl } from '../oms-crypto/afl.js';
import { SecurityError } from '../oms-crypto/errors.js';
import { DC_ENC_METER, DC_MAC_METER, deriveKeyWith } from '../oms-crypto/kdf.js';
import { decryptMode5, mode5Iv } from '../oms-crypto/mode5.js';
import { checkDecrypted } from '../oms-crypto/payload.js';
import { decodeTplStatus, deviceTypeName, type TplStatus } from '../wmbus/device-type.js';
import { decodeDllHeader, dllHeaderStrictOk, SOFT_ADDRESS } from '../wmbus/dll.js';
import { CI_ELL_I, ellCounterBlock, ellPayloadCrcOk, isEllCi, parseEll, type Ell } from '../wmbus/ell.js';
import { BLOCK1_LENGTH, MAX_FRAME_LENGTH, MAX_L, type FrameFormat } from '../wmbus/frame.js';
import { FrameError, frameBodyLength, parseFrameInto, parseFrameWithoutCrc, type ParsedFrame } from '../wmbus/frame-parse.js';
import { phyDecode } from '../wmbus/phy-decode.js';
import { CI_TPL_LONG, CI_TPL_LONG_NO_DATA, CI_TPL_SHORT, CI_TPL_SHORT_NO_DATA, decodeTplHeader, encodeTplAddress, type TplHeader } from '../wmbus/tpl.js';
import { hex, hexOf } from './hex.js';
import { ReceiveError } from './receive-error.js';
import { parseRecords, RecordPool, type UnparsedData } from './records.js';
import { acceptCounters, checkAccessNumber, checkCounter, checkSession, legacyIndex, meterKey, type LegacyIndex, type ReplayState, type Slot } from './replay.js';
import { decodeValue, type DecodedValue, type ValueOptions } from './values.js';

export interface MeterIdentity {
  manufacturer: string;
  /** The identification number's 8 digits ('12345678'); lenient mode gives a non-BCD one as its
   *  8 hex digits, lower case ('004444dd'). */
  id: string;
  version: number;
  deviceType: number;
}

/** A meter's master key and what its owner allows for it. */
export interface MeterKeyEntry {
  key: Uint8Array;
  /** Accept this meter's mode-5 and ELL AES-CTR telegrams (encryption without a MAC). */
  allowUnauthenticated?: boolean;
}

/** The meter's master key (16 bytes, or an entry), or undefined when the meter is unknown. */
export type KeyLookup = (meter: MeterIdentity) => Uint8Array | MeterKeyEntry | undefined;

/** A KeyLookup from a table keyed by meter id ('12345678'), with an optional key for all others. */
export function keyTable(byId: Record<string, Uint8Array | MeterKeyEntry>, fallback?: Uint8Array | MeterKeyEntry): KeyLookup {
  return (m) => byId[m.id] ?? fallback;
}

export interface ReceiverOptions {
  keys: KeyLookup;
  crypto: Crypto;
  /** Replay state to continue from (persisted by the caller); a fresh one if absent. */
  state?: ReplayState;
  /** The conformance checker (see the file comment). */
  strict?: boolean;
  /** Accept unencrypted telegrams (security mode 0, CI 0x78); their values are unauthenticated. */
  allowPlain?: boolean;
  /** Accept encryption without a MAC (mode 5, ELL AES-CTR) for every meter; values unauthenticated. */
  allowUnauthenticated?: boolean;
  /** Master keys whose handles are kept (default 1024; the oldest goes first). A receiver that serves
   *  more meters than this expands a key schedule for every telegram: a gateway that knows its
   *  meters' keys sizes it to them. */
  maxCachedKeys?: number;
}

export type Encryption = 'none' | 'tpl-mode-5' | 'tpl-mode-7' | 'ell-aes-ctr';

export interface DecodedTelegram {
  /** Meter address: of the TPL long header when there is one, else of the link layer. */
  meter: MeterIdentity;
  /** The medium the meter's device type names (EN 13757-7 Table 12). */
  deviceTypeName: string;
  /** The link-layer address (C, M, A) as received. */
  link: MeterIdentity & { control: number };
  /** M field bit 15: the address is a soft address, unique only within its installation. */
  softAddress: boolean;
  frameFormat: FrameFormat | 'none';
  /** CI of the transport layer: 0x7A, 0x72, 0x8A, 0x8B or 0x78. */
  ci: number;
  ell?: Ell;
  /** TPL access number (CI 0x78 has none; the ELL's is in `ell`). */
  accessNumber?: number;
  /** TPL status byte and its meaning. */
  status?: number;
  statusDecoded?: TplStatus;
  securityMode: 0 | 5 | 7;
  encryption: Encryption;
  tpl: 'short' | 'long' | 'none';
  /** AFL message counter (mode 7). */
  messageCounter?: number;
  /** 'ok': AFL MAC verified; 'none': no MAC in this security mode. */
  mac: 'ok' | 'none';
  /** What of `meter` the MAC proves: a TPL long header is under the MAC ('all'); with a short
   *  header only the identification number is, through the key derivation ('id'); without a MAC
   *  nothing is ('none'). Manufacturer, version and device type of a short-header telegram are
   *  what the link layer says, and the medium-dependent OBIS codes follow the device type. */
  authenticatedAddress: 'all' | 'id' | 'none';
  /** The application data after decryption (2F2F check bytes and fillers included), hex. */
  applicationData: string;
  values: DecodedValue[];
  manufacturerData?: string;
  moreRecordsFollow?: boolean;
  /** Lenient mode: application data that could not be parsed, and why. */
  unparsed?: { offset: number; bytes: string; reason: string };
  /** Lenient mode: offsets (in the application data) of reserved DIF bytes skipped. */
  skippedDifs?: number[];
}

/** What openTpl gives: the application data, how much of it was encrypted, whether a MAC verified
 *  it, and the replay slot with the counter to record once the frame is accepted (acceptCounters
 *  reads the counter fields of this object: one object per telegram, not three). */
interface OpenedTpl {
  plain: Uint8Array;
  encryptedLength: number;
  macOk: boolean;
  slot?: Slot;
  messageCounter?: number;
  accessNumber?: number;
}

interface TailView {
  of: Uint8Array | undefined;
  start: number;
  view: Uint8Array | undefined;
}

interface CachedKey {
  /** The key bytes the handle was made from, as four little-endian words (a typed array per key
   *  costs more than the key). */
  w0: number;
  w1: number;
  w2: number;
  w3: number;
  handle: AesKey;
  fingerprint: string;
  /** The last mode-5/7 replay slot name made with this key, for the identification number whose
   *  4 wire bytes (LE word) are `slotId`: a key serves one meter, so its slot name is made once. */
  slotId: number;
  slotName: string;
  /** meterKey(manufacturer, id) of the meter whose security address has M `labelM` and the
   *  identification number `labelId` (LE words), likewise: numbers in this entry, compared without
   *  reading two more strings per telegram (the identity's strings follow from these bytes). */
  labelM: number;
  labelId: number;
  label: string;
}

/** CIs a meter sends that this receiver does not decode, by name (EN 13757-7 Table 2). */
function ciName(ci: number): string {
  if (ci === 0x79) return 'compact frame (needs the format signature of an earlier full frame)';
  if (ci === 0x7b || ci === 0x7c) return 'TPL with compact profile';
  if (ci === 0x7e || ci === 0x7f) return 'SML application layer';
  if (ci >= 0xa0 && ci <= 0xb7) return 'manufacturer specific';
  return 'not a transport layer this receiver reads';
}

/** Replay slot names and the key fingerprint: hex of up to 8 bytes. */
const FINGERPRINT_INPUT = new Uint8Array([0x78, 0x73, 0x6d, 0x65, 0x74, 0x65, 0x72, 0x20, 0x72, 0x65, 0x70, 0x6c, 0x61, 0x79, 0x00, 0x00]); // 'xsmeter replay'
const MAX_CACHED_KEYS = 1024;
/** The options the link and transport parsers take, made once. */
const LENIENT = Object.freeze({ lenient: true });
const NOT_LENIENT = Object.freeze({ lenient: false });
const STRICT_RECORDS = Object.freeze({ strict: true });
const LENIENT_RECORDS = Object.freeze({ strict: false });

/** Bytes o..o+3 of `b` as a little-endian 32-bit word. */
function word32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

function withMeter(e: unknown, meter: MeterIdentity | undefined): unknown {
  if (!meter || !(e instanceof MeterError) || e.details.meterId !== undefined) return e;
  const Ctor = e.constructor as new (code: string, message: string, details: Record<string, string | number | boolean>) => MeterError;
  return new Ctor(e.code, e.message, { ...e.details, meterId: meter.id, manufacturer: meter.manufacturer });
}

export class Receiver {
  readonly state: ReplayState;
  /** The replay slots the last accepted frame recorded (one, or two with an ELL session): what a
   *  caller persisting the state incrementally writes. Read it after an accepted frame only. */
  readonly acceptedSlots: string[] = [];
  private readonly keys: KeyLookup;
  private readonly crypto: Crypto;
  private readonly strict: boolean;
  private readonly allowPlain: boolean;
  private readonly allowUnauthenticated: boolean;
  /** Master key handles by the caller's key array (so a key schedule is expanded once). */
  private readonly cache = new Map<Uint8Array, CachedKey>();
  private readonly maxCachedKeys: number;
  /** The state's pre-slot entries, indexed on first need (replay.ts legacyIndex). */
  private legacyKeys: LegacyIndex | undefined;
  // Mode-7 scratch, made once per receiver: the KDF input, a derived key's raw bytes (wiped as soon
  // as the port has them), then the MAC tag; the MAC input; the all-zero IV.
  private readonly kdfInput = new Uint8Array(16);
  private readonly raw = new Uint8Array(16);
  private readonly macInput = new Uint8Array(MAC_INPUT_MAX);
  private readonly zeroIv = new Uint8Array(16);
  /** A short-header telegram's security address (M ‖ A of the link layer) and its identification
   *  number (bytes 2-5, what kdfMeterId gives), made once: every telegram needs them for a moment. */
  private readonly address = new Uint8Array(8);
  private readonly addressId = this.address.subarray(2, 6);
  /** Where the frame (PHY) and its body (CRCs stripped) of the telegram being decoded are kept:
   *  nothing keeps them past its decoding (the output holds strings, the plaintext its own array),
   *  and arrays of this size cost V8 a separate allocation each. Made on first use. */
  private frameScratch: Uint8Array | undefined;
  /** The frame view of frameScratch for a frame of n bytes, kept while frames keep their length. */
  private frameView: Uint8Array | undefined;
  private readonly frameSpace = (n: number): Uint8Array => {
    const view = this.frameView;
    if (view !== undefined && view.length === n) return view;
    const scratch = (this.frameScratch ??= new Uint8Array(MAX_FRAME_LENGTH));
    if (n > scratch.length) return new Uint8Array(n);
    return (this.frameView = scratch.subarray(0, n));
  };
  private bodyScratch: Uint8Array | undefined;
  /** The last body length's view of bodyScratch, and the frame's DLL bytes (L, C, M, A). */
  private bodyView: Uint8Array | undefined;
  private dllScratch: Uint8Array | undefined;
  /** Views of the body from the TPL (the payload) and from after the AFL (the MAC's message), and
   *  of the MAC input scratch of the last MAC input length: the same as the last telegram's while
   *  the body is the same view of its scratch and the layers start where they did (a fleet's
   *  telegrams), so they are made again only when that changes. */
  private readonly payloadTail: TailView = { of: undefined, start: -1, view: undefined };
  private readonly macTail: TailView = { of: undefined, start: -1, view: undefined };
  private macInputView: Uint8Array | undefined;
  /** A mode-7 telegram's plaintext, and the view of its last length: nothing keeps it past the
   *  decoding (the output holds its hex and the values, the records only their offsets). */
  private plainScratch: Uint8Array | undefined;
  private plainView: Uint8Array | undefined;
  /** The record objects of the telegram being decoded (parseRecords' pool). */
  private readonly records = new RecordPool();
  private valueOptions: ValueOptions | undefined;

  constructor(options: ReceiverOptions) {
    this.keys = options.keys;
    this.crypto = options.crypto;
    this.state = options.state ?? {};
    this.strict = !!options.strict;
    this.allowPlain = !!options.allowPlain;
    this.allowUnauthenticated = !!options.allowUnauthenticated;
    this.maxCachedKeys = options.maxCachedKeys ?? MAX_CACHED_KEYS;
  }

  private legacy(): LegacyIndex {
    return (this.legacyKeys ??= legacyIndex(this.state));
  }

  /** Wipes the master key handles this receiver holds. */
  close(): void {
    for (const c of this.cache.values()) forget(c);
    this.cache.clear();
  }

  /** A frame as on the link: format 'A' or 'B' with CRCs, or 'none' (format-A layout without CRCs). */
  receiveFrame(frame: Uint8Array, format: FrameFormat | 'none'): DecodedTelegram {
    if (format === 'none') return this.receiveWith(parseFrameWithoutCrc(frame, LENIENT), true);
    return this.receiveWith(parseFrameInto(frame, format, LENIENT, this.bodyFor(frame, format), (this.dllScratch ??= new Uint8Array(BLOCK1_LENGTH))), true);
  }

  /** The body scratch for `frame`: the view of the length its L announces, kept while frames keep
   *  that length (a fleet's are mostly one or two), else the whole scratch (parseFrameInto checks L). */
  private bodyFor(frame: Uint8Array, format: FrameFormat): Uint8Array {
    const scratch = (this.bodyScratch ??= new Uint8Array(MAX_L));
    const n = frame.length > 0 && (format === 'A' || format === 'B') ? frameBodyLength(frame[0], format) : -1;
    if (n <= 0 || n > scratch.length) return scratch;
    const view = this.bodyView;
    if (view !== undefined && view.length === n) return view;
    return (this.bodyView = scratch.subarray(0, n));
  }

  /** An on-air chip stream of mode T1 or C1 (preamble, sync word, coded frame). */
  receivePhy(stream: Uint8Array, mode: WmbusMode): DecodedTelegram {
    const { frame, format } = phyDecode(stream, mode, this.frameSpace);
    return this.receiveFrame(frame, format);
  }

  receiveParsed(parsed: ParsedFrame): DecodedTelegram {
    return this.receiveWith(parsed, false);
  }

  /** receiveParsed; `own`: the receiver parsed the frame itself (nothing else holds it). */
  private receiveWith(parsed: ParsedFrame, own: boolean): DecodedTelegram {
    // The link layer's header is the meter an error names until the TPL says otherwise.
    const meter: { current: MeterIdentity | undefined } = { current: parsed.header };
    try {
      const dll = parsed.dll;
      // BCD id, FLAG letters: decodeDllHeader raises the error when the quick check fails.
      if (this.strict && !(dll.length === 10 && dllHeaderStrictOk(dll, 1))) decodeDllHeader(dll.subarray(1));
      return this.decode(parsed, meter, own);
    } catch (e) {
      throw withMeter(e, meter.current);
    }
  }

  private decode(parsed: ParsedFrame, meterRef: { current: MeterIdentity | undefined }, own: boolean): DecodedTelegram {
    const strict = this.strict;
    const lenient = strict ? NOT_LENIENT : LENIENT;
    const dll = parsed.dll;
    const h = parsed.header;
    // The link identity: the parsed header itself when the receiver parsed the frame (the same five
    // fields in the same order, and no one else holds it), else a copy of the caller's.
    const link: MeterIdentity & { control: number } = own ? h : { control: h.control, manufacturer: h.manufacturer, id: h.id, version: h.version, deviceType: h.deviceType };
    if (parsed.body.length === 0) throw new ReceiveError('truncated', 'frame has no CI field', {});

    // Extended link layer (decrypted in place when it carries AES-CTR).
    const l = isEllCi(parsed.body[0]) ? this.readEll(parsed.body, dll, link) : undefined;
    const body = l ? l.body : parsed.body;
    let p = l ? l.next : 0;
    const ellSlot = l?.slot;

    // Authentication and fragmentation layer.
    let afl: Afl | undefined;
    let macStart = -1;
    if (body[p] === CI_AFL) {
      const r = parseAfl(body, p);
      afl = r.afl;
      p = r.next;
      macStart = p;
    }
    if (p >= body.length) throw new ReceiveError('truncated', 'no transport layer after the link layer headers', { offset: p });

    // Transport layer.
    const ci = body[p];
    let tpl: TplHeader | undefined;
    let payloadStart: number;
    if (ci === CI_TPL_SHORT || ci === CI_TPL_LONG || (!strict && (ci === CI_TPL_SHORT_NO_DATA || ci === CI_TPL_LONG_NO_DATA))) {
      const r = decodeTplHeader(body, p, lenient);
      tpl = r.header;
      payloadStart = r.next;
    } else if (ci === 0x78 && !strict) {
      payloadStart = p + 1;
    } else {
      throw new ReceiveError('unsupported-ci', `CI 0x${ci.toString(16)}: ${strict && ci === 0x78 ? 'strict mode needs a TPL header (0x7A, 0x72)' : ciName(ci)}`, { ci });
    }
    const meter = identity(tpl?.address ?? h);
    meterRef.current = meter;
    // CI 0x8A / 0x8B say no application data follows.
    const noData = ci === CI_TPL_SHORT_NO_DATA || ci === CI_TPL_LONG_NO_DATA;
    const payload = noData ? body.subarray(body.length) : this.tail(this.payloadTail, body, payloadStart);
    const mode = tpl ? tpl.config.mode : 0;
    if (afl && mode !== 7) throw new SecurityError('afl', `an AFL with a security mode ${mode} TPL is not OMS conformant`, {});

    const sec = this.openTpl(mode, tpl, afl, macStart < 0 ? payload : this.tail(this.macTail, body, macStart), payload, meter, dll, !!ellSlot);

    // The records into the receiver's pool: they are decoded into values right here.
    const app = parseRecords(sec.plain, strict ? STRICT_RECORDS : LENIENT_RECORDS, this.records);
    const records = app.records;
    // Sized once (pushing grew a new array's store to 17 elements at the first value).
    const values: DecodedValue[] = new Array<DecodedValue>(records.length);
    const valueOptions = this.valueOptionsFor(meter.deviceType);
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      const v = decodeValue(r, valueOptions);
      v.authenticated = sec.macOk;
      v.encrypted = !!ellSlot || r.offset < sec.encryptedLength;
      values[i] = v;
    }

    // Every check passed: now the frame counts.
    const accepted = this.acceptedSlots;
    accepted.length = 0;
    if (sec.slot) {
      acceptCounters(this.state, sec.slot, sec);
      accepted.push(sec.slot.name);
    }
    if (ellSlot) {
      acceptCounters(this.state, ellSlot, { sessionNumber: ((l?.ell as Ell).sessionNumber ?? 0) & 0x1fffffff });
      accepted.push(ellSlot.name);
    }

    const typeName = deviceTypeName(meter.deviceType);
    const softAddress = !!(((dll[3] << 8) | dll[2]) & SOFT_ADDRESS);
    const securityMode = mode === 5 || mode === 7 ? mode : 0;
    const encryption = mode === 7 ? 'tpl-mode-7' : mode === 5 ? 'tpl-mode-5' : ellSlot ? 'ell-aes-ctr' : 'none';
    const tplKind = tpl ? (tpl.address ? 'long' : 'short') : 'none';
    const mac = sec.macOk ? 'ok' : 'none';
    const authenticatedAddress = sec.macOk ? (tpl?.address ? 'all' : 'id') : 'none';
    const applicationData = hex(sec.plain);
    if (tpl && afl && !l?.ell && !app.manufacturerData && !app.moreRecordsFollow && !app.unparsed && !app.skipped) {
      // A mode-7 telegram as a fleet's meters send it: one literal, with the keys in the order of the
      // general case below (properties added to a literal go to backing stores of their own in V8,
      // here two allocations per telegram).
      return {
        meter,
        deviceTypeName: typeName,
        link,
        softAddress,
        frameFormat: parsed.format,
        ci,
        securityMode,
        encryption,
        tpl: tplKind,
        mac,
        authenticatedAddress,
        applicationData,
        values,
        accessNumber: tpl.accessNumber,
        status: tpl.status,
        statusDecoded: decodeTplStatus(tpl.status),
        messageCounter: afl.messageCounter,
      };
    }
    const out: DecodedTelegram = {
      meter,
      deviceTypeName: typeName,
      link,
      softAddress,
      frameFormat: parsed.format,
      ci,
      securityMode,
      encryption,
      tpl: tplKind,
      mac,
      authenticatedAddress,
      applicationData,
      values,
    };
    if (l?.ell) out.ell = l.ell;
    if (tpl) {
      out.accessNumber = tpl.accessNumber;
      out.status = tpl.status;
      out.statusDecoded = decodeTplStatus(tpl.status);
    }
    if (afl) out.messageCounter = afl.messageCounter;
    if (app.manufacturerData) out.manufacturerData = hex(app.manufacturerData);
    if (app.moreRecordsFollow) out.moreRecordsFollow = true;
    if (app.unparsed) out.unparsed = unparsedJson(app.unparsed);
    if (app.skipped) out.skippedDifs = app.skipped;
    return out;
  }

  /**
   * The ELL at the start of `body`, if there is one: its fields, the body with an AES-CTR payload
   * decrypted (its payload CRC checked, the session number checked against the replay state), the
   * offset of the layer after it, and the replay slot to record once the frame is accepted.
   */
  private readEll(body: Uint8Array, dll: Uint8Array, link: MeterIdentity): { ell?: Ell; body: Uint8Array; next: number; slot?: Slot } {
    if (this.strict && body[0] !== CI_ELL_I) {
      throw new ReceiveError('unsupported-ci', `CI 0x${body[0].toString(16)}: strict mode reads only the short ELL (0x8C)`, { ci: body[0] });
    }
    const { ell, next } = parseEll(body, 0, { lenient: !this.strict });
    if (ell.payloadOffset === undefined) return { ell, body, next };
    if (ell.encryption === 'reserved') {
      throw new SecurityError('unsupported-security-mode', `ELL session number announces encryption ${(ell.sessionNumber ?? 0) >>> 29} (only 0 and 1, AES-128-CTR, exist)`, {});
    }
    if (ell.encryption !== 'aes-128-ctr') {
      if (!ellPayloadCrcOk(body.subarray(next))) throw new FrameError('crc', 'ELL payload CRC mismatch', { block: 0 });
      return { ell, body, next: next + 2 };
    }
    const entry = this.keyFor(link);
    this.requireUnauthenticatedAllowed(entry, link, 'ELL AES-128-CTR');
    const key = this.cached(entry instanceof Uint8Array ? entry : entry.key);
    const plain = this.ctrDecrypt(key.handle, ellCounterBlock(dll, ell), body.subarray(next));
    if (!ellPayloadCrcOk(plain)) {
      throw new SecurityError('wrong-key', 'ELL payload CRC does not match after AES-CTR decryption: wrong key or corrupted frame', {});
    }
    // The counter block binds M and A (a changed byte garbles the payload and its CRC): the slot.
    const slot: Slot = { name: `${key.fingerprint}:ell:${toHex(dll.subarray(2, 10))}`, meter: meterKey(link.manufacturer, link.id), legacyId: link.id, legacyManufacturer: link.manufacturer };
    checkSession(this.state, slot, (ell.sessionNumber ?? 0) & 0x1fffffff, this.legacy());
    return { ell, body: concat(body.subarray(0, next), plain), next: next + 2, slot };
  }

  /**
   * The TPL security (EN 13757-7 / OMS Vol. 2 §9): mode 0 plain, mode 5 (AES-CBC, no MAC) or mode 7
   * (AFL MAC, KDF-A, AES-CBC). Returns the application data (decrypted blocks, then any plain data
   * after them), how much of it was encrypted, whether a MAC verified it, and what the replay state
   * records once the frame is accepted. `macMessage` is the TPL to the end (what the AFL MAC covers).
   */
  private openTpl(
    mode: number,
    tpl: TplHeader | undefined,
    afl: Afl | undefined,
    macMessage: Uint8Array,
    payload: Uint8Array,
    meter: MeterIdentity,
    dll: Uint8Array,
    ellEncrypted: boolean,
  ): OpenedTpl {
    if (mode === 0) {
      const label = meterKey(meter.manufacturer, meter.id);
      if (!ellEncrypted && !this.allowPlain) throw new SecurityError('insecure', `meter ${label} sent an unencrypted telegram`, { meter: label });
      if (!this.strict || !tpl || ellEncrypted) return { plain: payload, encryptedLength: 0, macOk: false };
      const slot: Slot = { name: `plain:${toHex(securityAddress(dll.subarray(2, 10), tpl.address ? encodeTplAddress(tpl.address) : undefined))}`, meter: label, legacyId: meter.id, legacyManufacturer: meter.manufacturer };
      checkAccessNumber(this.state, slot, tpl.accessNumber, this.legacy());
      return { plain: payload, encryptedLength: 0, macOk: false, slot, accessNumber: tpl.accessNumber };
    }
    const t = tpl as TplHeader;
    const entry = this.keyFor(meter);
    const n = t.config.encryptedBlocks;
    if (n === 0) throw new SecurityError('tpl', `security mode ${mode} with no encrypted blocks`, { mode });
    if (payload.length < n * 16) {
      throw new ReceiveError('truncated', `configuration field announces ${n} encrypted blocks, ${payload.length} bytes follow`, { blocks: n, length: payload.length });
    }
    if (this.strict && payload.length > n * 16) {
      throw new SecurityError('unencrypted-data', `${payload.length - n * 16} bytes follow the encrypted blocks unprotected`, { length: payload.length - n * 16 });
    }
    let address: Uint8Array;
    if (!t.address && dll.length === 10) {
      // securityAddress(M ‖ A) into the receiver's scratch: nothing keeps it past this telegram.
      address = this.address;
      writeSecurityAddress(dll, 2, undefined, 0, address, 0);
    } else {
      address = securityAddress(dll.subarray(2, 10), t.address ? encodeTplAddress(t.address) : undefined);
    }
    const key = this.cached(entry instanceof Uint8Array ? entry : entry.key);
    const label = this.label(key, meter, address);
    const cipher = payload.length === n * 16 ? payload : payload.subarray(0, n * 16);
    const encryptedLength = n * 16;
    if (mode === 5) {
      this.requireUnauthenticatedAllowed(entry, meter, 'security mode 5 (AES-CBC)');
      // Nothing in mode 5 is authenticated; the 2F2F check binds M (IV bytes 0-1), and a changed
      // version or device type garbles plaintext bytes the check does not see. So the slot is the
      // key and the identification number: who the meter is, not what it calls itself.
      const slot: Slot = { name: this.slotName(key, address, 2), meter: label, legacyId: meter.id, legacyManufacturer: meter.manufacturer };
      checkAccessNumber(this.state, slot, t.accessNumber, this.legacy());
      const decrypted = decryptMode5(this.crypto, key.handle, mode5Iv(address, t.accessNumber), cipher);
      checkDecrypted(decrypted, 5);
      return { plain: withTail(decrypted, payload, encryptedLength), encryptedLength, macOk: false, slot, accessNumber: t.accessNumber };
    }
    if (!afl) throw new SecurityError('missing-afl', 'security mode 7 telegram without AFL (no MAC, no counter)', {});
    if (t.config.kdfSelection !== 1) {
      throw new SecurityError('unsupported-kdf', `KDF selection ${t.config.kdfSelection ?? -1} is not KDF-A (1)`, { kdf: t.config.kdfSelection ?? -1 });
    }
    const id = address === this.address ? this.addressId : kdfMeterId(address);
    const counter = afl.messageCounter;
    const crypto = this.crypto;
    const kenc = deriveKeyWith(crypto, key.handle, DC_ENC_METER, counter, id, 0, this.kdfInput, this.raw);
    let kmac: AesKey | undefined;
    try {
      kmac = deriveKeyWith(crypto, key.handle, DC_MAC_METER, counter, id, 0, this.kdfInput, this.raw);
      verifyAflMacWith(crypto, kmac, afl, macMessage, this.macInputFor(macInputLength(macMessage.length, afl.messageLength, afl.keyInformation)), this.raw);
      // The MAC proves the key, the identification number in the KDF and the counter: the slot.
      const slot: Slot = { name: this.slotName(key, id, 0), meter: label, legacyId: meter.id };
      checkCounter(this.state, slot, counter, this.legacy());
      const decrypted = this.plainFor(cipher.length);
      crypto.aesCbcDecrypt(kenc, this.zeroIv, cipher, decrypted);
      checkDecrypted(decrypted, 7);
      return { plain: withTail(decrypted, payload, encryptedLength), encryptedLength, macOk: true, slot, messageCounter: counter };
    } finally {
      kenc.wipe();
      kmac?.wipe();
      this.raw.fill(0);
    }
  }

  /** body.subarray(start), the one `memo` holds when it is of the same body view and start. */
  private tail(memo: TailView, body: Uint8Array, start: number): Uint8Array {
    if (memo.of === body && memo.start === start && memo.view !== undefined) return memo.view;
    const view = body.subarray(start);
    if (body === this.bodyView) {
      memo.of = body;
      memo.start = start;
      memo.view = view;
    } else {
      memo.of = undefined;
      memo.view = undefined;
    }
    return view;
  }

  /** decodeValue's options for this receiver and `deviceType`: the last ones while the device type
   *  stays (a fleet's meters are of one type), not an object per telegram. */
  private valueOptionsFor(deviceType: number): ValueOptions {
    const o = this.valueOptions;
    if (o !== undefined && o.deviceType === deviceType) return o;
    return (this.valueOptions = Object.freeze({ strict: this.strict, deviceType }));
  }

  /** The plaintext scratch for `length` (n × 16 ≤ MAX_L) bytes: a view of exactly that length, kept
   *  while the length stays. */
  private plainFor(length: number): Uint8Array {
    const view = this.plainView;
    if (view !== undefined && view.length === length) return view;
    const scratch = (this.plainScratch ??= new Uint8Array(MAX_L));
    if (length > scratch.length) return new Uint8Array(length);
    return (this.plainView = scratch.subarray(0, length));
  }

  /** The MAC input scratch for an input of `length` bytes: a view of exactly that length when it
   *  fits (kept while the length stays), else the whole scratch (verifyAflMacWith then allocates). */
  private macInputFor(length: number): Uint8Array {
    const view = this.macInputView;
    if (view !== undefined && view.length === length) return view;
    if (length > this.macInput.length) return this.macInput;
    return (this.macInputView = this.macInput.subarray(0, length));
  }

  /** The meter's key: its bytes, or its entry. */
  private keyFor(meter: MeterIdentity): Uint8Array | MeterKeyEntry {
    const k = this.keys(meter);
    if (!k) {
      const label = meterKey(meter.manufacturer, meter.id);
      throw new ReceiveError('no-key', `no key for meter ${label}`, { meter: label });
    }
    return k;
  }

  private requireUnauthenticatedAllowed(entry: Uint8Array | MeterKeyEntry, meter: MeterIdentity, what: string): void {
    if (this.allowUnauthenticated || (!(entry instanceof Uint8Array) && entry.allowUnauthenticated)) return;
    const label = meterKey(meter.manufacturer, meter.id);
    throw new SecurityError('unauthenticated', `meter ${label} uses ${what}, encryption without a MAC; accept its unauthenticated values explicitly (allowUnauthenticated)`, { meter: label });
  }

  /** Wipes and drops every cached master-key handle (made again, a key expansion, on the next
   *  telegram of its meter): a fleet's gateway calls it between epochs, so it does not hold a
   *  handle per meter for the whole run. Replay state and keys are untouched. */
  dropCachedKeys(): void {
    for (const c of this.cache.values()) forget(c);
    this.cache.clear();
  }

  /** The handle and fingerprint of a master key, created once per key array. */
  private cached(raw: Uint8Array): CachedKey {
    const hit = this.cache.get(raw);
    if (hit && raw.length === 16 && hit.w0 === word32(raw, 0) && hit.w1 === word32(raw, 4) && hit.w2 === word32(raw, 8) && hit.w3 === word32(raw, 12)) return hit;
    if (hit) {
      forget(hit);
      this.cache.delete(raw);
    }
    const handle = this.crypto.aesKey(raw);
    // The tag in the derived-key scratch (free here; wiped after): a fleet's gateway makes every
    // meter's entry again after each epoch.
    const tag = this.raw;
    this.crypto.aesCmac(handle, FINGERPRINT_INPUT, tag);
    const fingerprint = hexOf(tag, 0, 8);
    tag.fill(0);
    const entry: CachedKey = { w0: word32(raw, 0), w1: word32(raw, 4), w2: word32(raw, 8), w3: word32(raw, 12), handle, fingerprint, slotId: -1, slotName: '', labelM: -1, labelId: -1, label: '' };
    if (this.cache.size >= this.maxCachedKeys) {
      const [oldest, old] = this.cache.entries().next().value as [Uint8Array, CachedKey];
      forget(old);
      this.cache.delete(oldest);
    }
    this.cache.set(raw, entry);
    return entry;
  }

  /** meterKey(meter): the label the key's meter goes by, made once while the meter's security
   *  address (M ‖ ID ‖ …, the bytes `meter` was decoded from) says the same. */
  private label(key: CachedKey, meter: MeterIdentity, address: Uint8Array): string {
    const m = address[0] | (address[1] << 8);
    const id = word32(address, 2);
    if (key.labelM !== m || key.labelId !== id) {
      key.label = meterKey(meter.manufacturer, meter.id);
      key.labelM = m;
      key.labelId = id;
    }
    return key.label;
  }

  /** The mode-5/7 replay slot name of `key` and the identification number at id[o, o+4). */
  private slotName(key: CachedKey, id: Uint8Array, o: number): string {
    const w = word32(id, o);
    if (key.slotId !== w) {
      key.slotName = `${key.fingerprint}:${hexOf(id, o, o + 4)}`;
      key.slotId = w;
    }
    return key.slotName;
  }

  /** AES-128-CTR (the ELL's): keystream E(K, counter block), the block counter in the last byte. */
  private ctrDecrypt(key: AesKey, counterBlock: Uint8Array, data: Uint8Array): Uint8Array {
    const out = new Uint8Array(data.length);
    const ctr = counterBlock.slice();
    const stream = new Uint8Array(16);
    for (let o = 0; o < data.length; o += 16) {
      this.crypto.aesEncryptBlock(key, ctr, stream);
      const n = Math.min(16, data.length - o);
      for (let i = 0; i < n; i++) out[o + i] = data[o + i] ^ stream[i];
      for (let i = 15; i >= 0; i--) {
        ctr[i] = (ctr[i] + 1) & 0xff;
        if (ctr[i] !== 0) break;
      }
    }
    stream.fill(0);
    return out;
  }
}

/** The decrypted blocks, then whatever plain data followed them in `payload`. */
function withTail(decrypted: Uint8Array, payload: Uint8Array, encryptedLength: number): Uint8Array {
  return payload.length > encryptedLength ? concat(decrypted, payload.subarray(encryptedLength)) : decrypted;
}

/** Wipes a cached key's handle and its copy of the key. */
function forget(c: CachedKey): void {
  c.handle.wipe();
  c.w0 = c.w1 = c.w2 = c.w3 = 0;
}

function unparsedJson(u: UnparsedData): { offset: number; bytes: string; reason: string } {
  return { offset: u.offset, bytes: toHex(u.bytes), reason: u.reason };
}

function identity(h: { manufacturer: string; id: string; version: number; deviceType: number }): MeterIdentity {
  return { manufacturer: h.manufacturer, id: h.id, version: h.version, deviceType: h.deviceType };
}
