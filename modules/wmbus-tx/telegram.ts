/**
 * The telegram builder: registers → EN 13757-3 records → TPL (EN 13757-7) → OMS security (mode 5,
 * or mode 7 with its AFL) → link layer frame with CRCs (EN 13757-4, frame.ts).
 *   mode 0:  DLL ‖ TPL ‖ records                         (plain; tests and --insecure only)
 *   mode 5:  DLL ‖ TPL ‖ AES-CBC(K, IV(M, A, ACC), 2F2F ‖ records ‖ 2F…)
 *   mode 7:  DLL ‖ AFL(MCR, CMAC(Kmac)) ‖ TPL(+ext) ‖ AES-CBC(Kenc, 0, 2F2F ‖ records ‖ 2F…)
 * An optional short ELL (CI 0x8C: CC, ACC) may precede the AFL, as in OMS Vol. 2 Annex N.2.2.
 */
import { concat } from '../core/bytes.js';
import { kdfMeterId, securityAddress } from '../oms-crypto/address.js';
import { deriveMeterKeys } from '../oms-crypto/kdf.js';
import { encodeAfl } from '../oms-crypto/afl.js';
import { encryptMode5, mode5Iv } from '../oms-crypto/mode5.js';
import { encryptMode7 } from '../oms-crypto/mode7.js';
import { padForEncryption } from '../oms-crypto/payload.js';
import type { AesKey, Crypto } from '../ports/crypto.js';
import { encodeDllHeader, type DllHeader } from '../wmbus/dll.js';
import { buildFrame, type FrameFormat } from '../wmbus/frame.js';
import { encodeRegisters, type Register } from './registers.js';
import { encodeTplAddress, encodeTplHeader, type SecurityMode, type TplAddress, type TplHeader } from '../wmbus/tpl.js';
import { TelegramError } from '../wmbus/telegram-error.js';

export const CI_ELL_SHORT = 0x8c;

/** Plain, or encrypted with the meter's master key (a crypto-port handle, not wiped here). */
export type TelegramSecurity = { mode: 0 } | { mode: 5 | 7; key: AesKey; crypto: Crypto };

export interface TelegramOptions {
  /** Link layer C, M, A. */
  header: DllHeader;
  /** The registers to send (OBIS codes and values); or `records`, already encoded. */
  registers?: readonly Register[];
  /** EN 13757-3 application data, pre-encoded (for data records outside the register list). */
  records?: Uint8Array;
  security: TelegramSecurity;
  /** 'short' (CI 0x7A, default) or 'long' (CI 0x72, the TPL repeats the meter address). */
  tpl?: 'short' | 'long';
  /** Address for a long TPL; defaults to the link-layer meter address. */
  tplAddress?: TplAddress;
  /** EN 13757-4 frame format (default 'A'). */
  format?: FrameFormat;
  /** TPL status byte (EN 13757-7 Table 7), default 0. */
  status?: number;
  /** From TelegramCounters.next(); mode 7 needs messageCounter. */
  counters: { accessNumber: number; messageCounter?: number };
  /** Configuration field flags (default all false). */
  flags?: { bidirectional?: boolean; accessibility?: boolean; synchronous?: boolean };
  /** Put a short ELL (CI 0x8C) with this communication control byte before the AFL/TPL. */
  ellCommunicationControl?: number;
}

function applicationData(o: TelegramOptions): Uint8Array {
  if ((o.registers === undefined) === (o.records === undefined)) {
    throw new TelegramError('telegram', 'give exactly one of registers and records');
  }
  return o.records ?? encodeRegisters(o.registers ?? []);
}

/** The link-layer body: everything from the first CI field on (what buildFrame wraps). */
export function buildTelegramBody(o: TelegramOptions): Uint8Array {
  const mode: SecurityMode = o.security.mode;
  const data = applicationData(o);
  const address: TplAddress | undefined =
    o.tpl === 'long'
      ? (o.tplAddress ?? {
          manufacturer: o.header.manufacturer,
          id: o.header.id,
          version: o.header.version,
          deviceType: o.header.deviceType,
        })
      : undefined;
  if (o.tpl !== undefined && o.tpl !== 'short' && o.tpl !== 'long') {
    throw new TelegramError('telegram', `tpl must be 'short' or 'long', got ${String(o.tpl)}`);
  }
  const flags = o.flags ?? {};
  const tplHeader = (encryptedBlocks: number): Uint8Array => {
    const h: TplHeader = {
      accessNumber: o.counters.accessNumber,
      status: o.status ?? 0,
      config: {
        mode,
        encryptedBlocks,
        bidirectional: !!flags.bidirectional,
        accessibility: !!flags.accessibility,
        synchronous: !!flags.synchronous,
        lowBits: 0,
      },
    };
    if (address) h.address = address;
    return encodeTplHeader(h);
  };
  const ell =
    o.ellCommunicationControl === undefined
      ? new Uint8Array(0)
      : new Uint8Array([CI_ELL_SHORT, o.ellCommunicationControl & 0xff, o.counters.accessNumber & 0xff]);

  if (o.security.mode === 0) return concat(ell, tplHeader(0), data);

  const padded = padForEncryption(data);
  const blocks = padded.length / 16;
  const { crypto, key } = o.security;
  const secAddress = securityAddress(encodeDllHeader(o.header).subarray(1, 9), address ? encodeTplAddress(address) : undefined);
  if (o.security.mode === 5) {
    const cipher = encryptMode5(crypto, key, mode5Iv(secAddress, o.counters.accessNumber), padded);
    return concat(ell, tplHeader(blocks), cipher);
  }
  if (o.security.mode === 7) {
    const counter = o.counters.messageCounter;
    if (counter === undefined) throw new TelegramError('counter', 'security mode 7 needs a message counter');
    const { kenc, kmac } = deriveMeterKeys(crypto, key, counter, kdfMeterId(secAddress));
    try {
      const tpl = concat(tplHeader(blocks), encryptMode7(crypto, kenc, padded));
      return concat(ell, encodeAfl(crypto, kmac, counter, tpl), tpl);
    } finally {
      kenc.wipe();
      kmac.wipe();
    }
  }
  throw new TelegramError('unsupported-security-mode', `security mode ${String((o.security as { mode: unknown }).mode)} is not supported`);
}

/** The whole frame, L to the last CRC, ready for phyEncode or a transceiver. */
export function buildTelegram(o: TelegramOptions): Uint8Array {
  return buildFrame(o.header, buildTelegramBody(o), o.format ?? 'A');
}
