/**
 * EN 13757-4 frame formats A and B: the link-layer frame from the L field to the last CRC.
 *
 * Format A: block 1 = L, C, M(2), A(6) (10 bytes) + CRC; then blocks of 16 bytes + CRC, the last one
 *   shorter. L counts every byte after itself except the CRCs.
 * Format B: block 1 (L, C, M, A: 10 bytes) and block 2 (CI + up to 115 bytes) share one CRC at the
 *   end of block 2, so block 1+2 is at most 126 bytes + CRC (L <= 127); a longer frame adds block 3
 *   (up to 126 bytes) with its own CRC. L counts every byte after itself including the CRCs.
 * CRC-16/EN-13757 (crc16.ts), high byte first. Layout cross-checked with rtl_433
 * src/devices/m_bus.c (BLOCK1A_SIZE 12, BLOCK2B_SIZE 118, BLOCK1_2B_SIZE 128) and the IMST iM871A
 * user manual §3.1.3 (format B block 2: CI + 115 bytes + CRC; block 3: L-129 bytes + CRC).
 */
import { crc16En13757 } from './crc16.js';
import { encodeDllHeader, type DllHeader } from './dll.js';
import { FrameError } from './link-errors.js';

export { FrameError };

export type FrameFormat = 'A' | 'B';

/** Largest L (one byte). */
export const MAX_L = 255;
/** Bytes of the DLL part counted by L: C, M(2), A(6). */
const DLL_AFTER_L = 9;
/** Format A: data bytes in block 1 (L..A) and in each following full block. */
export const BLOCK1_LENGTH = 10;
export const BLOCK_A_LENGTH = 16;
/** Format B: data bytes (L..) in block 1 + block 2 together, and the most block 3 can hold. */
export const BLOCK12_B_LENGTH = 126;
/** Largest body (CI onwards) per format: A 255-9; B 255-9-2 CRCs. */
export const MAX_BODY_A = MAX_L - DLL_AFTER_L;
export const MAX_BODY_B = MAX_L - DLL_AFTER_L - 4;

/**
 * The whole frame size in bytes (L to last CRC) announced by `l`, or FrameError 'length' when no
 * frame of that format can carry that L (no CI field, or a format B block 3 with no data byte).
 */
export function frameLengthFromL(l: number, format: FrameFormat): number {
  if (format === 'A') {
    if (l < DLL_AFTER_L + 1) throw lTooSmall(l, format, DLL_AFTER_L + 1);
    return 1 + l + 2 * (1 + Math.ceil((l - DLL_AFTER_L) / BLOCK_A_LENGTH));
  }
  if (l < DLL_AFTER_L + 1 + 2) throw lTooSmall(l, format, DLL_AFTER_L + 3);
  // L = 128 or 129 would put 0 or -1 data bytes in block 3.
  if (l > BLOCK12_B_LENGTH + 1 && l < BLOCK12_B_LENGTH + 4) {
    throw new FrameError('length', `L=${l} is impossible in format B (block 3 would hold no data)`, { l, format });
  }
  return l + 1;
}

function lTooSmall(l: number, format: FrameFormat, min: number): FrameError {
  return new FrameError('length', `L=${l} is too small for a format ${format} frame (minimum ${min})`, { l, format, min });
}

/** Writes the CRC of out[start, end) at out[end], out[end+1] (high byte first). */
function putCrc(out: Uint8Array, start: number, end: number): void {
  const crc = crc16En13757(out, start, end);
  out[end] = crc >>> 8;
  out[end + 1] = crc & 0xff;
}

/** The largest frame (format A, L = 255: 256 bytes and 17 CRCs): a buffer for finishFrame. */
export const MAX_FRAME_LENGTH = 1 + MAX_L + 2 * (1 + Math.ceil(MAX_BODY_A / BLOCK_A_LENGTH));

/** Where finishFrame expects the body (CI onwards): after L, C, M, A and, in format A, block 1's CRC. */
export function frameBodyOffset(format: FrameFormat): number {
  return format === 'A' ? BLOCK1_LENGTH + 2 : BLOCK1_LENGTH;
}

function checkFormat(format: FrameFormat): void {
  if (format !== 'A' && format !== 'B') {
    throw new FrameError('format', `frame format must be 'A' or 'B', got ${JSON.stringify(format)}`, { format: String(format) });
  }
}

/** FrameError 'too-long' when a body of `length` bytes does not fit a format's frame. */
export function checkFrameBody(length: number, format: FrameFormat): void {
  const max = format === 'A' ? MAX_BODY_A : MAX_BODY_B;
  if (length > max) {
    throw new FrameError('too-long', `a ${length}-byte body exceeds format ${format}'s maximum of ${max}`, { format, length, max });
  }
}

/**
 * `body` is the CI field and everything after it. Returns the whole frame from L to the last CRC,
 * L set for the format. FrameError 'empty-body' / 'too-long' when the body does not fit.
 */
export function buildFrame(header: DllHeader, body: Uint8Array, format: FrameFormat): Uint8Array {
  checkFormat(format);
  if (!(body instanceof Uint8Array) || body.length === 0) {
    throw new FrameError('empty-body', 'the frame body must hold at least the CI field', { format });
  }
  checkFrameBody(body.length, format);
  const dll = encodeDllHeader(header);
  const out = new Uint8Array(format === 'A' ? frameLengthFromL(DLL_AFTER_L + body.length, 'A') : frameLengthB(body.length));
  out.set(body, frameBodyOffset(format));
  finishFrame(out, dll, body.length, format);
  return out;
}

function frameLengthB(bodyLength: number): number {
  return 1 + DLL_AFTER_L + bodyLength + 2 + (bodyLength > BLOCK12_B_LENGTH - BLOCK1_LENGTH ? 2 : 0);
}

/**
 * Makes a frame in place (no allocation: a telegram builder writes its body straight into its frame
 * buffer): `out` holds the body (`bodyLength` bytes, CI onwards) at frameBodyOffset(format); this
 * writes L and `dll` (C, M, A: 9 bytes), moves the blocks apart and puts in their CRCs. Returns the
 * frame's length. Same errors as buildFrame.
 */
export function finishFrame(out: Uint8Array, dll: Uint8Array, bodyLength: number, format: FrameFormat): number {
  checkFormat(format);
  if (bodyLength <= 0) throw new FrameError('empty-body', 'the frame body must hold at least the CI field', { format });
  checkFrameBody(bodyLength, format);
  const at = frameBodyOffset(format);
  if (format === 'A') {
    const l = DLL_AFTER_L + bodyLength;
    const blocks = Math.ceil(bodyLength / BLOCK_A_LENGTH);
    // Last block first: each moves 2 bytes further per CRC before it, onto bytes already moved.
    for (let k = blocks - 1; k > 0; k--) {
      const from = at + k * BLOCK_A_LENGTH;
      out.copyWithin(from + 2 * k, from, at + Math.min((k + 1) * BLOCK_A_LENGTH, bodyLength));
    }
    out[0] = l;
    out.set(dll, 1);
    putCrc(out, 0, BLOCK1_LENGTH);
    for (let k = 0; k < blocks; k++) {
      const start = at + k * (BLOCK_A_LENGTH + 2);
      putCrc(out, start, start + Math.min(BLOCK_A_LENGTH, bodyLength - k * BLOCK_A_LENGTH));
    }
    return frameLengthFromL(l, 'A');
  }
  const in12 = Math.min(bodyLength, BLOCK12_B_LENGTH - BLOCK1_LENGTH);
  const rest = bodyLength - in12;
  const l = DLL_AFTER_L + bodyLength + 2 + (rest > 0 ? 2 : 0);
  const crc1 = BLOCK1_LENGTH + in12;
  if (rest > 0) out.copyWithin(crc1 + 2, crc1, at + bodyLength);
  out[0] = l;
  out.set(dll, 1);
  putCrc(out, 0, crc1);
  if (rest > 0) putCrc(out, crc1 + 2, l + 1 - 2);
  return l + 1;
}
