/**
 * The telegram builder: registers → EN 13757-3 records → TPL (EN 13757-7) → OMS security (mode 5,
 * or mode 7 with its AFL) → link layer frame with CRCs (EN 13757-4, frame.ts).
 *   mode 0:  DLL ‖ TPL ‖ records                         (plain; tests and --insecure only)
 *   mode 5:  DLL ‖ TPL ‖ AES-CBC(K, IV(M, A, ACC), 2F2F ‖ records ‖ 2F…)
 *   mode 7:  DLL ‖ AFL(MCR, CMAC(Kmac)) ‖ TPL(+ext) ‖ AES-CBC(Kenc, 0, 2F2F ‖ records ‖ 2F…)
 * An optional short ELL (CI 0x8C: CC, ACC) may precede the AFL, as in OMS Vol. 2 Annex N.2.2.
 */
import { writeSecurityAddress } from '../oms-crypto/address.js';
import { DC_ENC_METER, DC_MAC_METER, deriveKeyWith } from '../oms-crypto/kdf.js';
import { AT_CMAC_8, CI_AFL, FCL_MACP, FCL_MCLP, FCL_MCRP, MAC_LENGTH, MCL_MCRP } from '../oms-crypto/afl.js';
import { encryptedBlocks, FILLER } from '../oms-crypto/payload.js';
import type { AesKey, Crypto } from '../ports/crypto.js';
import { writeU16LE, writeU32LE } from '../core/bytes.js';
import { DLL_HEADER_LENGTH, encodeDllHeader, type DllHeader } from '../wmbus/dll.js';
import { checkFrameBody, finishFrame, frameBodyOffset, MAX_FRAME_LENGTH, type FrameFormat } from '../wmbus/frame.js';
import { RegisterEncoder, type Register } from './registers.js';
import { CI_TPL_LONG, CI_TPL_SHORT, configFieldBits, encodeTplAddress, KDF_A, tplByte, type SecurityMode, type TplAddress } from '../wmbus/tpl.js';
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

/** The AFL of a single-fragment profile-B message: 90 0F FCL(2) MCL MCR(4) MAC(8). */
const AFL_LENGTH = 2 + 2 + 1 + 4 + MAC_LENGTH;
/** Most header bytes before the records: short ELL, AFL, long TPL header with the mode-7 extension. */
const MAX_HEADERS = 3 + AFL_LENGTH + 14;
/** The frame buffer: the largest frame, and room for the largest body (15 AES blocks) where the frame
 *  formats put it before finishFrame spreads the blocks. */
const BUFFER_LENGTH = Math.max(MAX_FRAME_LENGTH, frameBodyOffset('A') + MAX_HEADERS + 15 * 16);

/**
 * Builds telegrams into buffers made once (a meter keeps one builder): the records are written in
 * place where the frame carries them, encrypted in place, and the frame's blocks and CRCs made in the
 * same buffer; derived keys live only inside build() and their raw bytes in a scratch wiped there.
 * Per telegram it allocates only the crypto port's handles of Kenc and Kmac (mode 7) and a few
 * typed-array views the port's calls need.
 */
export class TelegramBuilder {
  // All in one ArrayBuffer (fewer objects on the device's heap): the frame, then the scratch.
  private readonly buf: Uint8Array;
  /** The encoded C, M, A of the last header, and what it was encoded from. */
  private readonly dll: Uint8Array;
  private dllControl = -1;
  private dllManufacturer = '';
  private dllId = '';
  private dllVersion = -1;
  private dllDeviceType = -1;
  /** Security address ‖ access number × 8 (the mode-5 IV; the mode-7 KDF reads the ID in it). */
  private readonly iv: Uint8Array;
  private readonly zeroIv: Uint8Array;
  private readonly kdfInput: Uint8Array;
  /** A derived key's raw bytes (wiped as soon as the port has them), then the AFL's CMAC. */
  private readonly raw: Uint8Array;
  private readonly encoder = new RegisterEncoder();

  constructor() {
    const all = new ArrayBuffer(BUFFER_LENGTH + 4 * 16 + DLL_HEADER_LENGTH);
    let at = 0;
    const take = (n: number): Uint8Array => {
      const view = new Uint8Array(all, at, n);
      at += n;
      return view;
    };
    this.buf = take(BUFFER_LENGTH);
    this.iv = take(16);
    this.zeroIv = take(16);
    this.kdfInput = take(16);
    this.raw = take(16);
    this.dll = take(DLL_HEADER_LENGTH);
  }

  /**
   * The whole frame, L to the last CRC. A view into this builder's buffer: the next build() overwrites
   * it, so a caller that keeps the frame copies it.
   */
  build(o: TelegramOptions): Uint8Array {
    const format = o.format ?? 'A';
    const n = this.writeBody(o, format);
    return this.buf.subarray(0, finishFrame(this.buf, this.dll, n, format));
  }

  /** build()'s frame as a new array of its own (for a caller that keeps it), copied straight out of
   *  the buffer (no view made in between). */
  buildCopy(o: TelegramOptions): Uint8Array {
    const format = o.format ?? 'A';
    const n = this.writeBody(o, format);
    return this.buf.slice(0, finishFrame(this.buf, this.dll, n, format));
  }

  /** The link-layer body (everything from the first CI field on, what a frame wraps), a new array. */
  body(o: TelegramOptions): Uint8Array {
    const at = frameBodyOffset('A');
    return this.buf.slice(at, at + this.writeBody(o, 'A'));
  }

  private encodeDll(h: DllHeader): void {
    if (h.control === this.dllControl && h.manufacturer === this.dllManufacturer && h.id === this.dllId && h.version === this.dllVersion && h.deviceType === this.dllDeviceType) return;
    this.dll.set(encodeDllHeader(h));
    this.dllControl = h.control;
    this.dllManufacturer = h.manufacturer;
    this.dllId = h.id;
    this.dllVersion = h.version;
    this.dllDeviceType = h.deviceType;
  }

  /** Writes the body at frameBodyOffset(format); returns its length. */
  private writeBody(o: TelegramOptions, format: FrameFormat): number {
    if ((o.registers === undefined) === (o.records === undefined)) {
      throw new TelegramError('telegram', 'give exactly one of registers and records');
    }
    if (o.tpl !== undefined && o.tpl !== 'short' && o.tpl !== 'long') {
      throw new TelegramError('telegram', `tpl must be 'short' or 'long', got ${String(o.tpl)}`);
    }
    const buf = this.buf;
    const mode: SecurityMode = o.security.mode;
    if (mode !== 0 && mode !== 5 && mode !== 7) {
      throw new TelegramError('unsupported-security-mode', `security mode ${String(mode)} is not supported`);
    }
    this.encodeDll(o.header);
    const long = o.tpl === 'long';
    const acc = o.counters.accessNumber;
    const start = frameBodyOffset(format);
    const ellAt = start;
    const aflAt = ellAt + (o.ellCommunicationControl === undefined ? 0 : 3);
    const tplAt = aflAt + (mode === 7 ? AFL_LENGTH : 0);
    const tplLength = (long ? 13 : 5) + (mode === 7 ? 1 : 0);
    const payloadAt = tplAt + tplLength;
    const recordsAt = payloadAt + (mode === 0 ? 0 : 2);

    // The application data, in place.
    let recordsEnd = o.registers ? this.encoder.encodeInto(o.registers, buf, recordsAt, buf.length) : -1;
    if (recordsEnd < 0) {
      // Given pre-encoded, or too many registers to be sure they fit: the records as an array.
      const records = o.records ?? this.encoder.encode(o.registers ?? []);
      if (mode !== 0) encryptedBlocks(records.length);
      if (recordsAt + records.length > buf.length) checkFrameBody(recordsAt + records.length - start, format);
      buf.set(records, recordsAt);
      recordsEnd = recordsAt + records.length;
    }
    let end = recordsEnd;
    let blocks = 0;
    if (mode !== 0) {
      blocks = encryptedBlocks(recordsEnd - recordsAt);
      end = payloadAt + blocks * 16;
      buf[payloadAt] = FILLER;
      buf[payloadAt + 1] = FILLER;
      buf.fill(FILLER, recordsEnd, end);
    }

    // The TPL header.
    const flags = o.flags;
    const cf = configFieldBits(mode, blocks, !!flags?.bidirectional, !!flags?.accessibility, !!flags?.synchronous, 0);
    let p = tplAt;
    buf[p++] = long ? CI_TPL_LONG : CI_TPL_SHORT;
    if (long) {
      if (o.tplAddress) buf.set(encodeTplAddress(o.tplAddress), p);
      else {
        // The link layer's address in TPL order: ID (4), M (2), version, device type.
        const dll = this.dll;
        for (let i = 0; i < 4; i++) buf[p + i] = dll[3 + i];
        buf[p + 4] = dll[1];
        buf[p + 5] = dll[2];
        buf[p + 6] = dll[7];
        buf[p + 7] = dll[8];
      }
      p += 8;
    }
    buf[p++] = tplByte('accessNumber', acc);
    buf[p++] = tplByte('status', o.status ?? 0);
    buf[p++] = cf & 0xff;
    buf[p++] = cf >> 8;
    if (mode === 7) buf[p++] = KDF_A << 4; // key id 0
    if (o.ellCommunicationControl !== undefined) {
      buf[ellAt] = CI_ELL_SHORT;
      buf[ellAt + 1] = o.ellCommunicationControl & 0xff;
      buf[ellAt + 2] = acc & 0xff;
    }
    if (o.security.mode === 0) return end - start;

    const { crypto, key } = o.security;
    const iv = this.iv;
    writeSecurityAddress(this.dll, 1, long ? buf : undefined, tplAt + 1, iv, 0);
    const payload = buf.subarray(payloadAt, end);
    if (o.security.mode === 5) {
      iv.fill(acc & 0xff, 8, 16);
      crypto.aesCbcEncrypt(key, iv, payload, payload);
      return end - start;
    }
    const counter = o.counters.messageCounter;
    if (counter === undefined) throw new TelegramError('counter', 'security mode 7 needs a message counter');
    this.encryptMode7(crypto, key, counter, payload, aflAt, end);
    return end - start;
  }

  /** Mode 7: Kenc and Kmac for `counter` (KDF-A, the ID from the security address in `iv`), the
   *  payload encrypted in place, and the AFL with the CMAC of MCL ‖ MCR ‖ TPL onwards. */
  private encryptMode7(crypto: Crypto, master: AesKey, counter: number, payload: Uint8Array, aflAt: number, end: number): void {
    const buf = this.buf;
    const kenc = deriveKeyWith(crypto, master, DC_ENC_METER, counter, this.iv, 2, this.kdfInput, this.raw);
    let kmac: AesKey | undefined;
    try {
      kmac = deriveKeyWith(crypto, master, DC_MAC_METER, counter, this.iv, 2, this.kdfInput, this.raw);
      crypto.aesCbcEncrypt(kenc, this.zeroIv, payload, payload);
      // The MAC input MCL ‖ MCR ‖ TPL… is made contiguous in the 5 bytes just before the TPL (the
      // MAC field's tail, overwritten by the MAC below): no copy of the message.
      const mcl = MCL_MCRP | AT_CMAC_8;
      const macAt = aflAt + 9;
      const inputAt = macAt + MAC_LENGTH - 5;
      buf[inputAt] = mcl;
      writeU32LE(buf, inputAt + 1, counter);
      crypto.aesCmac(kmac, buf.subarray(inputAt, end), this.raw);
      buf[aflAt] = CI_AFL;
      buf[aflAt + 1] = AFL_LENGTH - 2;
      writeU16LE(buf, aflAt + 2, FCL_MCLP | FCL_MCRP | FCL_MACP); // fragment 0, last fragment
      buf[aflAt + 4] = mcl;
      writeU32LE(buf, aflAt + 5, counter);
      for (let i = 0; i < MAC_LENGTH; i++) buf[macAt + i] = this.raw[i];
    } finally {
      kenc.wipe();
      kmac?.wipe();
      this.raw.fill(0);
    }
  }
}

/** The link-layer body: everything from the first CI field on (what buildFrame wraps). */
export function buildTelegramBody(o: TelegramOptions): Uint8Array {
  return new TelegramBuilder().body(o);
}

/** The whole frame, L to the last CRC, ready for phyEncode or a transceiver (a new array; a meter
 *  keeps a TelegramBuilder). */
export function buildTelegram(o: TelegramOptions): Uint8Array {
  return new TelegramBuilder().buildCopy(o);
}
