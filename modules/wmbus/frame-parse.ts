/**
 * Receiver side of the EN 13757-4 link layer: checks a frame's L field against its byte count,
 * verifies every block CRC (CRC-16/EN-13757) of format A or B and strips them, then decodes the
 * C, M, A fields. Strict: any disagreement is a FrameError naming what failed; a CRC failure names
 * the 1-based block whose CRC did not match (in format B the first CRC ends block 2 and covers
 * blocks 1 and 2, so it is reported as block 2).
 */
import { crc16En13757, crc16En13757Copy } from './crc16.js';
import { decodeDllHeader, decodeDllHeaderAt, type DllDecodeOptions, type DllHeader } from './dll.js';
import {
  BLOCK1_LENGTH,
  BLOCK12_B_LENGTH,
  BLOCK_A_LENGTH,
  frameLengthFromL,
  type FrameFormat,
} from './frame.js';
import { FrameError } from './link-errors.js';

export { FrameError };
export type { FrameFormat };

export interface ParsedFrame {
  /** 'none': input had no CRCs (format-A layout, L = length - 1). */
  format: FrameFormat | 'none';
  /** The 10 raw bytes L, C, M(2), A(6) — mode 5 IV uses M and A from here. */
  dll: Uint8Array;
  header: DllHeader;
  /** CI field onwards, CRCs removed. */
  body: Uint8Array;
}

function checkCrc(frame: Uint8Array, start: number, end: number, block: number): void {
  crcMatches(frame, end, block, crc16En13757(frame, start, end));
}

/** A block's CRC `calc` against the two bytes at frame[end]. */
function crcMatches(frame: Uint8Array, end: number, block: number, calc: number): void {
  const got = (frame[end] << 8) | frame[end + 1];
  if (calc !== got) {
    throw new FrameError('crc', `CRC mismatch in block ${block}`, {
      block,
      expected: calc,
      received: got,
      offset: end,
    });
  }
}

function checkLength(frame: Uint8Array, format: FrameFormat): number {
  if (!(frame instanceof Uint8Array) || frame.length === 0) {
    throw new FrameError('truncated', 'empty frame', { length: 0, expected: -1 });
  }
  const expected = frameLengthFromL(frame[0], format);
  if (frame.length < expected) {
    throw new FrameError('truncated', `L=${frame[0]} announces ${expected} bytes (format ${format}), got ${frame.length}`, {
      l: frame[0],
      format,
      expected,
      length: frame.length,
    });
  }
  if (frame.length > expected) {
    throw new FrameError('length', `L=${frame[0]} announces ${expected} bytes (format ${format}), got ${frame.length}`, {
      l: frame[0],
      format,
      expected,
      length: frame.length,
    });
  }
  return expected;
}

/**
 * Verifies every block CRC; FrameError code 'crc' with details.block (1-based) on mismatch,
 * 'truncated' / 'length' when L and the byte count disagree or L is impossible.
 */
export function parseFrame(frame: Uint8Array, format: FrameFormat, options: DllDecodeOptions = {}): ParsedFrame {
  return parseFrameInto(frame, format, options, undefined);
}

/** Bytes of the body (CI onwards, CRCs removed) of a frame of format A or B whose L is `l` (a
 *  possible L: checkLength's). */
export function frameBodyLength(l: number, format: FrameFormat): number {
  return l - 9 - (format === 'B' ? (l > BLOCK12_B_LENGTH + 1 ? 4 : 2) : 0);
}

/**
 * parseFrame with the body in `scratch` when it fits (scratch itself when it is exactly as long, else
 * a view of its start) and the DLL bytes in `dllScratch` (when BLOCK1_LENGTH long): a receiver that
 * decodes telegram after telegram keeps neither past its decoding, so it need not allocate them.
 */
export function parseFrameInto(frame: Uint8Array, format: FrameFormat, options: DllDecodeOptions, scratch: Uint8Array | undefined, dllScratch?: Uint8Array): ParsedFrame {
  if (format !== 'A' && format !== 'B') {
    throw new FrameError('format', `frame format must be 'A' or 'B', got ${JSON.stringify(format)}`, { format: String(format) });
  }
  const total = checkLength(frame, format);
  const l = frame[0];
  const bodyLength = frameBodyLength(l, format);
  const body = scratch && scratch.length >= bodyLength ? (scratch.length === bodyLength ? scratch : scratch.subarray(0, bodyLength)) : new Uint8Array(bodyLength);
  if (format === 'A') {
    checkCrc(frame, 0, BLOCK1_LENGTH, 1);
    let o = BLOCK1_LENGTH + 2;
    let b = 0;
    for (let block = 2; o < total; block++) {
      const n = Math.min(BLOCK_A_LENGTH, total - o - 2);
      // Checked and copied in one pass (a block that fails leaves only `body`, unreturned, written).
      crcMatches(frame, o + n, block, crc16En13757Copy(frame, o, o + n, body, b));
      b += n;
      o += n + 2;
    }
  } else {
    const crc1 = Math.min(total - 2, BLOCK12_B_LENGTH);
    checkCrc(frame, 0, crc1, 2);
    for (let i = BLOCK1_LENGTH; i < crc1; i++) body[i - BLOCK1_LENGTH] = frame[i];
    if (total > BLOCK12_B_LENGTH + 2) {
      crcMatches(frame, total - 2, 3, crc16En13757Copy(frame, crc1 + 2, total - 2, body, crc1 - BLOCK1_LENGTH));
    }
  }
  let dll: Uint8Array;
  if (dllScratch && dllScratch.length === BLOCK1_LENGTH) {
    dll = dllScratch;
    for (let i = 0; i < BLOCK1_LENGTH; i++) dll[i] = frame[i];
  } else {
    dll = frame.slice(0, BLOCK1_LENGTH);
  }
  return { format, dll, header: decodeDllHeaderAt(dll, 1, !!options.lenient), body };
}

/** Format-A layout without CRCs (what many tools print): L must equal length - 1. */
export function parseFrameWithoutCrc(bytes: Uint8Array, options: DllDecodeOptions = {}): ParsedFrame {
  if (!(bytes instanceof Uint8Array) || bytes.length < BLOCK1_LENGTH + 1) {
    throw new FrameError('truncated', `a frame without CRCs needs at least ${BLOCK1_LENGTH + 1} bytes (L..CI), got ${bytes?.length}`, {
      length: bytes?.length ?? -1,
      expected: BLOCK1_LENGTH + 1,
    });
  }
  if (bytes[0] !== bytes.length - 1) {
    throw new FrameError(bytes[0] > bytes.length - 1 ? 'truncated' : 'length', `L=${bytes[0]} but ${bytes.length - 1} bytes follow it`, {
      l: bytes[0],
      expected: bytes[0] + 1,
      length: bytes.length,
    });
  }
  const dll = bytes.slice(0, BLOCK1_LENGTH);
  return { format: 'none', dll, header: decodeDllHeaderAt(dll, 1, !!options.lenient), body: bytes.slice(BLOCK1_LENGTH) };
}
