/**
 * Extended link layer, ELL (EN 13757-4:2019 §13.2; CI values EN 13757-7 Table 2):
 *   0x8C ELL I    CC, ACC
 *   0x8D ELL II   CC, ACC, SN (4), payload CRC (2)
 *   0x8E ELL III  CC, ACC, M2 (2), A2 (6)
 *   0x8F ELL IV   CC, ACC, M2 (2), A2 (6), SN (4), payload CRC (2)
 * SN: session bits 3-0, time bits 28-4, encryption bits 31-29 (0 none, 1 AES-128-CTR). With
 * AES-CTR everything from the payload CRC to the end of the frame is encrypted under the meter key
 * with the counter block M ‖ A (of the link layer) ‖ CC (hop and repeated-access bits cleared, as a
 * repeater may change them) ‖ SN ‖ FN (2, 0) ‖ BC (1, block counter from 0). The payload CRC
 * (CRC-16/EN-13757, low byte first) covers the payload after it and is the only integrity check
 * this layer has: it tells a right key from a wrong one, it does not authenticate.
 * Layout and IV as wmbusmeters reads them (src/wmbus.cc parseELL, src/wmbus_utils.cc
 * decrypt_ELL_AES_CTR), checked against its Kamstrup test telegram (test/vectors/wmbus-real.json).
 */
import { crc16En13757 } from './crc16.js';
import type { DllDecodeOptions } from './dll.js';
import { FrameError } from './link-errors.js';
import { decodeTplAddress, type TplAddress } from './tpl.js';

export const CI_ELL_I = 0x8c;
export const CI_ELL_II = 0x8d;
export const CI_ELL_III = 0x8e;
export const CI_ELL_IV = 0x8f;

/** ELL communication control bits a repeater may change: hop count (H) and repeated access (R). */
const CC_NOT_IN_IV = 0x10 | 0x02;

export interface Ell {
  ci: number;
  communicationControl: number;
  accessNumber: number;
  /** ELL III / IV: the address of the communication partner (M2, A2). */
  partner?: TplAddress;
  /** ELL II / IV: the session number field, and what it says about encryption. */
  sessionNumber?: number;
  encryption?: 'none' | 'aes-128-ctr' | 'reserved';
  /** Offset (in the body) of the payload CRC (ELL II / IV): encrypted from here with AES-CTR. */
  payloadOffset?: number;
}

export function isEllCi(ci: number): boolean {
  return ci >= CI_ELL_I && ci <= CI_ELL_IV;
}

/** Parses the ELL at `offset`; `next` is where the layer after it starts (ELL II / IV: the payload CRC). */
export function parseEll(body: Uint8Array, offset: number, options: DllDecodeOptions = {}): { ell: Ell; next: number } {
  const ci = body[offset];
  const withAddress = ci === CI_ELL_III || ci === CI_ELL_IV;
  const withSession = ci === CI_ELL_II || ci === CI_ELL_IV;
  const length = 3 + (withAddress ? 8 : 0) + (withSession ? 6 : 0);
  if (!isEllCi(ci)) throw new FrameError('ell', `CI 0x${ci.toString(16)} is not an extended link layer`, { ci, offset });
  if (offset + length > body.length) {
    throw new FrameError('truncated', `ELL (CI 0x${ci.toString(16)}) needs ${length} bytes at offset ${offset}`, { ci, offset });
  }
  const ell: Ell = { ci, communicationControl: body[offset + 1], accessNumber: body[offset + 2] };
  let p = offset + 3;
  if (withAddress) {
    // M2 (2) ‖ ID (4) ‖ version ‖ type, reordered to the TPL long header's ID ‖ M ‖ version ‖ type.
    const reordered = new Uint8Array(8);
    reordered.set(body.subarray(p + 2, p + 6), 0);
    reordered.set(body.subarray(p, p + 2), 4);
    reordered.set(body.subarray(p + 6, p + 8), 6);
    ell.partner = decodeTplAddress(reordered, options);
    p += 8;
  }
  if (withSession) {
    const sn = (body[p] | (body[p + 1] << 8) | (body[p + 2] << 16) | (body[p + 3] << 24)) >>> 0;
    ell.sessionNumber = sn;
    const enc = sn >>> 29;
    ell.encryption = enc === 0 ? 'none' : enc === 1 ? 'aes-128-ctr' : 'reserved';
    p += 4;
    ell.payloadOffset = p;
  }
  return { ell, next: p };
}

/** The AES-CTR initial counter block of an ELL II / IV (see the file comment). */
export function ellCounterBlock(dll: Uint8Array, ell: Ell): Uint8Array {
  const iv = new Uint8Array(16);
  iv.set(dll.subarray(2, 10), 0); // M (2) ‖ A (6) from the raw L, C, M, A
  iv[8] = ell.communicationControl & ~CC_NOT_IN_IV;
  const sn = ell.sessionNumber ?? 0;
  iv[9] = sn & 0xff;
  iv[10] = (sn >>> 8) & 0xff;
  iv[11] = (sn >>> 16) & 0xff;
  iv[12] = (sn >>> 24) & 0xff;
  return iv; // FN and BC 0
}

/** Whether `payload` (the 2-byte payload CRC, low byte first, then what it covers) checks out. */
export function ellPayloadCrcOk(payload: Uint8Array): boolean {
  if (payload.length < 2) return false;
  const want = payload[0] | (payload[1] << 8);
  return crc16En13757(payload, 2) === want;
}
