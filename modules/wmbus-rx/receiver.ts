/**
 * The receiving side of the OMS telegram path, and the project's conformance checker:
 *   PHY stream (phy.ts) or frame → CRC check per block (frame.ts, EN 13757-4) → optional short ELL
 *   (CI 0x8C) → AFL (CI 0x90): MAC verification with Kmac (OMS Vol. 2 §9.3.3) → TPL header
 *   (CI 0x7A / 0x72) → replay check per meter → decryption (mode 5 IV / mode 7 Kenc) → 2F2F check
 *   → EN 13757-3 records → named values with OBIS codes, units and scaled values.
 * Strict: mode 7 without AFL, an AFL without mode 7, encrypted modes with N = 0 or with data after
 * the encrypted blocks, an unknown CI, VIF or VIFE, and plain (mode 0) telegrams unless allowed
 * are all typed errors.
 */
import { toHex } from '../core/bytes.js';
import type { AesKey, Crypto } from '../ports/crypto.js';
import type { WmbusMode } from '../ports/radio.js';
import { kdfMeterId, securityAddress } from '../oms-crypto/address.js';
import { parseAfl, verifyAflMac, type Afl } from '../oms-crypto/afl.js';
import { SecurityError } from '../oms-crypto/errors.js';
import { deriveMeterKeys } from '../oms-crypto/kdf.js';
import { decryptMode5, mode5Iv } from '../oms-crypto/mode5.js';
import { decryptMode7 } from '../oms-crypto/mode7.js';
import { checkDecrypted } from '../oms-crypto/payload.js';
import type { FrameFormat } from '../wmbus/frame.js';
import { decodeTplHeader, encodeTplAddress } from '../wmbus/tpl.js';
import { parseFrame, parseFrameWithoutCrc, type ParsedFrame } from '../wmbus/frame-parse.js';
import { phyDecode } from '../wmbus/phy-decode.js';
import { ReceiveError } from './receive-error.js';
import { parseRecords } from './records.js';
import { acceptCounters, checkAccessNumber, checkCounter, meterKey, type ReplayState } from './replay.js';
import { decodeValue, type DecodedValue } from './values.js';

export interface MeterIdentity {
  manufacturer: string;
  id: string;
  version: number;
  deviceType: number;
}

/** Returns the meter's master key (16 bytes), or undefined when the meter is unknown. */
export type KeyLookup = (meter: MeterIdentity) => Uint8Array | undefined;

/** A KeyLookup from a table keyed by meter id ('12345678'), with an optional key for all others. */
export function keyTable(byId: Record<string, Uint8Array>, fallback?: Uint8Array): KeyLookup {
  return (m) => byId[m.id] ?? fallback;
}

export interface ReceiverOptions {
  keys: KeyLookup;
  crypto: Crypto;
  /** Replay state to continue from (persisted by the caller); a fresh one if absent. */
  state?: ReplayState;
  /** Accept security mode 0 (plain) telegrams: simulations and tests only. */
  allowPlain?: boolean;
}

export interface DecodedTelegram {
  /** Meter address: of the TPL long header when there is one, else of the link layer. */
  meter: MeterIdentity;
  /** The link-layer address (C, M, A) as received. */
  link: MeterIdentity & { control: number };
  frameFormat: FrameFormat | 'none';
  accessNumber: number;
  status: number;
  securityMode: 0 | 5 | 7;
  tpl: 'short' | 'long';
  /** AFL message counter (mode 7). */
  messageCounter?: number;
  /** 'ok': AFL MAC verified; 'none': no MAC in this security mode. */
  mac: 'ok' | 'none';
  /** The decrypted application data, records only (2F2F check bytes and fillers included). */
  applicationData: string;
  values: DecodedValue[];
  manufacturerData?: string;
}

export const CI_ELL_SHORT = 0x8c;
const CI_AFL = 0x90;

export class Receiver {
  readonly state: ReplayState;
  private readonly keys: KeyLookup;
  private readonly crypto: Crypto;
  private readonly allowPlain: boolean;

  constructor(options: ReceiverOptions) {
    this.keys = options.keys;
    this.crypto = options.crypto;
    this.state = options.state ?? {};
    this.allowPlain = !!options.allowPlain;
  }

  /** A frame as on the link: format 'A' or 'B' with CRCs, or 'none' (format-A layout without CRCs). */
  receiveFrame(frame: Uint8Array, format: FrameFormat | 'none'): DecodedTelegram {
    const parsed = format === 'none' ? parseFrameWithoutCrc(frame) : parseFrame(frame, format);
    return this.receiveParsed(parsed);
  }

  /** An on-air chip stream of mode T1 or C1 (preamble, sync word, coded frame). */
  receivePhy(stream: Uint8Array, mode: WmbusMode): DecodedTelegram {
    const { frame, format } = phyDecode(stream, mode);
    return this.receiveFrame(frame, format);
  }

  receiveParsed(parsed: ParsedFrame): DecodedTelegram {
    const body = parsed.body;
    const link = { control: parsed.header.control, ...identity(parsed.header) };
    let p = 0;
    if (body.length === 0) throw new ReceiveError('truncated', 'frame has no CI field', {});
    if (body[p] === CI_ELL_SHORT) {
      if (body.length < 3) throw new ReceiveError('truncated', 'short ELL truncated', { offset: p });
      p += 3; // CI, CC, ACC (EN 13757-4 §13.2, not covered by the AFL MAC)
    }
    let afl: Afl | undefined;
    let macStart = -1;
    if (body[p] === CI_AFL) {
      const r = parseAfl(body, p);
      afl = r.afl;
      p = r.next;
      macStart = p;
    }
    if (p >= body.length) throw new ReceiveError('truncated', 'no TPL after the link layer headers', { offset: p });
    const { header: tpl, next: payloadStart } = decodeTplHeader(body, p);
    const meter = tpl.address ? identity(tpl.address) : identity(parsed.header);
    const mkey = meterKey(meter.manufacturer, meter.id);
    const mode = tpl.config.mode;
    const payload = body.subarray(payloadStart);

    let plain: Uint8Array;
    if (mode === 0) {
      if (afl) throw new SecurityError('afl', 'an AFL with a security mode 0 TPL is not OMS conformant', {});
      if (!this.allowPlain) {
        throw new SecurityError('insecure', `meter ${mkey} sent an unencrypted (mode 0) telegram`, { meter: mkey });
      }
      checkAccessNumber(this.state, mkey, tpl.accessNumber);
      plain = payload;
      acceptCounters(this.state, mkey, { accessNumber: tpl.accessNumber });
    } else {
      const raw = this.keys(meter);
      if (!raw) throw new ReceiveError('no-key', `no key for meter ${mkey}`, { meter: mkey });
      const n = tpl.config.encryptedBlocks;
      if (n === 0) throw new SecurityError('tpl', `security mode ${mode} with no encrypted blocks`, { mode });
      if (payload.length < n * 16) {
        throw new ReceiveError('truncated', `configuration field announces ${n} encrypted blocks, ${payload.length} bytes follow`, {
          blocks: n,
          length: payload.length,
        });
      }
      if (payload.length > n * 16) {
        throw new SecurityError('unencrypted-data', `${payload.length - n * 16} bytes follow the encrypted blocks unprotected`, {
          length: payload.length - n * 16,
        });
      }
      const address = securityAddress(parsed.dll.subarray(2, 10), tpl.address ? encodeTplAddress(tpl.address) : undefined);
      const key = this.crypto.aesKey(raw);
      try {
        plain = this.decrypt(key, address, mode, afl, body.subarray(macStart), tpl, payload, mkey);
      } finally {
        key.wipe();
      }
    }
    const app = parseRecords(plain);
    const out: DecodedTelegram = {
      meter,
      link,
      frameFormat: parsed.format,
      accessNumber: tpl.accessNumber,
      status: tpl.status,
      securityMode: mode,
      tpl: tpl.address ? 'long' : 'short',
      mac: afl ? 'ok' : 'none',
      applicationData: toHex(plain),
      values: app.records.map(decodeValue),
    };
    if (afl) out.messageCounter = afl.messageCounter;
    if (app.manufacturerData) out.manufacturerData = toHex(app.manufacturerData);
    return out;
  }

  /** Mode 5 or 7: checks the counter against the replay state, verifies (mode 7), decrypts, checks 2F2F. */
  private decrypt(key: AesKey, address: Uint8Array, mode: 5 | 7, afl: Afl | undefined, macMessage: Uint8Array, tpl: { accessNumber: number; config: { kdfSelection?: number } }, payload: Uint8Array, mkey: string): Uint8Array {
    const crypto = this.crypto;
    if (mode === 5) {
      if (afl) throw new SecurityError('afl', 'an AFL with a security mode 5 TPL is not supported', {});
      checkAccessNumber(this.state, mkey, tpl.accessNumber);
      const plain = decryptMode5(crypto, key, mode5Iv(address, tpl.accessNumber), payload);
      checkDecrypted(plain, 5);
      acceptCounters(this.state, mkey, { accessNumber: tpl.accessNumber });
      return plain;
    }
    if (!afl) throw new SecurityError('missing-afl', 'security mode 7 telegram without AFL (no MAC, no counter)', {});
    if (tpl.config.kdfSelection !== 1) {
      throw new SecurityError('unsupported-kdf', `KDF selection ${tpl.config.kdfSelection ?? -1} is not KDF-A (1)`, {
        kdf: tpl.config.kdfSelection ?? -1,
      });
    }
    const { kenc, kmac } = deriveMeterKeys(crypto, key, afl.messageCounter, kdfMeterId(address));
    try {
      verifyAflMac(crypto, kmac, afl, macMessage);
      checkCounter(this.state, mkey, afl.messageCounter);
      const plain = decryptMode7(crypto, kenc, payload);
      checkDecrypted(plain, 7);
      acceptCounters(this.state, mkey, { messageCounter: afl.messageCounter });
      return plain;
    } finally {
      kenc.wipe();
      kmac.wipe();
    }
  }
}

function identity(h: { manufacturer: string; id: string; version: number; deviceType: number }): MeterIdentity {
  return { manufacturer: h.manufacturer, id: h.id, version: h.version, deviceType: h.deviceType };
}

