/**
 * THE on-flash format and torn-write rules of every store (append-log.ts, record-ring.ts).
 *
 * Sector header, written right after the sector's erase (12 bytes):
 *
 *   magic (4 ASCII bytes naming the store) | u32 sector sequence | u32 CRC-32 of those 8 bytes
 *
 * A sector whose header does not check, or names another store, is not the store's: it is free
 * (erased again before use), so a store never reads another store's records. After the header come
 * record frames, back to back, never spanning sectors:
 *
 *   u16 length | u32 record seq | payload (length bytes) | u32 CRC-32(length‖seq‖payload) | u8 commit
 *
 * Torn-write rules. A frame is written in one call with its commit byte erased (0xFF), then the
 * commit byte (0x00) in a second call, last. A record exists only when its CRC checks and its commit
 * byte is 0x00: a torn frame or a half-programmed commit byte is no record. A sector is closed for
 * appends at the first bytes that are neither a committed frame nor erased (a torn region), and when
 * the bytes after its last frame are not all 0xFF: nothing is ever written after a torn region, so
 * torn bytes can never be read as part of a later record. A committed frame found after a torn
 * region is flash altered in place (never a power cut): the scan keeps it and reports the offset;
 * but not one inside the torn frame when nothing follows that frame (all erased after the end its
 * length names): that is the last write torn, and its payload may hold bytes that look like a frame.
 * The search after a torn region checks CRCs over at most RESYNC_CRC_SECTORS sector sizes: crafted
 * bytes with a plausible frame at every offset must not stall a boot.
 * All little-endian; lengths 1…0xFFFE (0xFFFF is erased flash: the end of the sector's frames).
 */
import { readU16LE, readU32LE, writeU16LE, writeU32LE } from '../core/bytes.js';
import { crc32 } from '../core/crc32.js';
import type { Flash } from '../ports/flash.js';
import { StorageError } from './errors.js';

export const SECTOR_HEADER_SIZE = 12;
/** u16 length + u32 seq before the payload; u32 CRC + u8 commit after it. */
export const FRAME_OVERHEAD = 11;
export const COMMITTED = 0x00;
const ERASED_LENGTH = 0xffff;
/** CRC bytes the search after a torn region may check, in sector sizes: random damage needs a few
 *  (a plausible length, a 0x00 where its commit byte would be), crafted bytes one at every offset. */
const RESYNC_CRC_SECTORS = 4;

/** A store's magic: 4 printable ASCII characters, as the u32 (LE) the header carries. */
export function magicOf(tag: string): number {
  if (tag.length !== 4) throw new StorageError('geometry', `store magic "${tag}" is not 4 characters`, { magic: tag });
  let m = 0;
  for (let i = 0; i < 4; i++) {
    const c = tag.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) throw new StorageError('geometry', `store magic "${tag}" is not printable ASCII`, { magic: tag });
    m |= c << (8 * i);
  }
  return m >>> 0;
}

/** The largest payload one frame can carry in a sector of this size (< 1: no frame fits). */
export function maxPayloadOf(sectorSize: number): number {
  return Math.min(ERASED_LENGTH - 1, sectorSize - SECTOR_HEADER_SIZE - FRAME_OVERHEAD);
}

/** Whether a frame of `length` payload bytes fits at `end` of a sector. */
export function frameFits(sectorSize: number, end: number, length: number): boolean {
  return end + FRAME_OVERHEAD + length <= sectorSize;
}

/** The sector sequence of a header at the start of `body` naming `magic`, or -1 (not this store's). */
export function headerSeq(body: Uint8Array, magic: number): number {
  if (readU32LE(body, 0) !== magic || readU32LE(body, 8) !== crc32(body, 0, 8)) return -1;
  return readU32LE(body, 4);
}

/** Payload length of a committed frame at `p` of a sector image, or -1. */
export function committedFrameAt(body: Uint8Array, p: number): number {
  const length = plausibleLength(body, p);
  return length > 0 && readU32LE(body, p + 6 + length) === crc32(body, p, p + 6 + length) ? length : -1;
}

/** Whether the bytes at `p` are a frame that was committed (its commit byte 0x00, which is written
 *  only after the whole frame) whose CRC no longer checks: damaged in place, not torn by a power cut. */
export function damagedFrameAt(body: Uint8Array, p: number): boolean {
  return plausibleLength(body, p) > 0 && committedFrameAt(body, p) < 0;
}

/** The length at `p` when a frame of it fits the sector and its commit byte is 0x00 (its CRC not
 *  checked), or -1. */
function plausibleLength(body: Uint8Array, p: number): number {
  const length = readU16LE(body, p);
  const end = p + length + FRAME_OVERHEAD;
  return length === 0 || length === ERASED_LENGTH || end > body.length || body[end - 1] !== COMMITTED ? -1 : length;
}

/** A committed frame of a sector: its offset, payload length and record seq. */
export interface FrameLocation {
  offset: number;
  length: number;
  seq: number;
}

/** What one sector holds, by the rules above. */
export interface SectorScan {
  /** Sector sequence from the header; -1 when the sector is not the store's (free). */
  seq: number;
  /** Where the next frame would go. */
  end: number;
  /** No more appends here: a torn region, or bytes after the last frame not erased. */
  closed: boolean;
  /** The committed frames, in the order they lie. */
  frames: FrameLocation[];
  /** Offsets of bad frames followed by committed ones: flash altered in place, not a power cut. */
  corrupt: number[];
  /** Every byte erased (0xFF): usable without an erase. */
  blank: boolean;
}

/** Reads one sector image of a store by its magic. */
export function scanSector(body: Uint8Array, magic: number): SectorScan {
  const size = body.length;
  const scan: SectorScan = { seq: headerSeq(body, magic), end: SECTOR_HEADER_SIZE, closed: false, frames: [], corrupt: [], blank: false };
  if (scan.seq < 0) {
    scan.blank = allErased(body, 0);
    return scan;
  }
  let p = SECTOR_HEADER_SIZE;
  let budget = RESYNC_CRC_SECTORS * size;
  while (p + FRAME_OVERHEAD < size) {
    const declared = readU16LE(body, p);
    if (declared === ERASED_LENGTH) break;
    const length = committedFrameAt(body, p);
    if (length < 0) {
      // Not a committed frame: the sector is closed. After a torn write nothing valid follows; if a
      // committed frame does, the bytes were altered in place: read on, and report it. Within the
      // torn frame itself only when something follows it (else it is the last write, torn).
      scan.closed = true;
      const tornEnd = p + declared + FRAME_OVERHEAD;
      if (tornEnd <= size && allErased(body, tornEnd)) {
        // The last write, torn — unless its commit byte was written (only after the whole frame):
        // then its bytes changed in place since, which no power cut does.
        if (damagedFrameAt(body, p)) scan.corrupt.push(p);
        break;
      }
      let q = p + 1;
      for (; q + FRAME_OVERHEAD < size; q++) {
        const n = plausibleLength(body, q);
        if (n < 0) continue;
        if ((budget -= n + 6) < 0 || readU32LE(body, q + 6 + n) === crc32(body, q, q + 6 + n)) break;
      }
      if (budget < 0 || q + FRAME_OVERHEAD >= size) break;
      scan.corrupt.push(p);
      p = q;
      continue;
    }
    scan.frames.push({ offset: p, length, seq: readU32LE(body, p + 2) });
    p += length + FRAME_OVERHEAD;
  }
  scan.end = p;
  if (!scan.closed && !allErased(body, p)) scan.closed = true;
  return scan;
}

/** Whether body[from…] is all 0xFF. Whole words where the buffer allows: at boot every blank
 *  sector of every store is checked (the energy journal alone has 88 on the ESP32). */
export function allErased(body: Uint8Array, from: number): boolean {
  let i = from;
  while (i < body.length && ((body.byteOffset + i) & 3) !== 0) if (body[i++] !== 0xff) return false;
  const words = (body.length - i) >>> 2;
  if (words > 0) {
    // Signed words (0xFFFFFFFF is -1: an integer, not a double, on XS and V8), sixteen bytes a step.
    const w = new Int32Array(body.buffer, body.byteOffset + i, words);
    let k = 0;
    for (; k + 4 <= words; k += 4) if ((w[k] & w[k + 1] & w[k + 2] & w[k + 3]) !== -1) return false;
    for (; k < words; k++) if (w[k] !== -1) return false;
    i += words * 4;
  }
  for (; i < body.length; i++) if (body[i] !== 0xff) return false;
  return true;
}

/**
 * Writes headers and frames by the rules above into buffers it keeps: a store that knows its
 * largest record allocates nothing per write (the energy journal saves every Wh). One writer can
 * serve every store of a meter (each write is done before the next begins; MeterApp shares one):
 * it then grows to the longest frame, and cuts a new view only when the frame length changes.
 */
export class FrameWriter {
  private readonly header = new Uint8Array(SECTOR_HEADER_SIZE);
  private readonly commit = new Uint8Array([COMMITTED]);
  private buf: Uint8Array;
  /** `buf` cut to the last frame length written (Flash.write takes the whole array it is given);
   *  always a view of the current `buf` (grow() makes it `buf` itself). */
  private view: Uint8Array;
  /** The view of the length written before (also of the current `buf`): a meter's stores take
   *  turns (the journal's saves, a telegram's counters), so the view to cut is mostly the one
   *  before, kept rather than cut again per turn (a new view object each: V8 ~80 ns and garbage). */
  private previous: Uint8Array;
  /** `buf` from the payload's place in a frame on: where `payload()` has stores build a record, so
   *  `writeFrame` need not copy it (undefined: cut again on the next `payload()`). */
  private body: Uint8Array | undefined;

  constructor(maxPayload: number) {
    this.buf = new Uint8Array(maxPayload + FRAME_OVERHEAD);
    this.view = this.buf;
    this.previous = this.buf;
  }

  /**
   * A buffer of at least `n` bytes to build a payload in, shared by every store using this writer
   * (no buffer per store): its bytes are garbage, and valid only until the next call or frame
   * written. It lies in the frame buffer itself: a payload built there is not copied again.
   */
  payload(n: number): Uint8Array {
    if (this.buf.length < n + FRAME_OVERHEAD) this.grow(n + FRAME_OVERHEAD);
    if (!this.body) this.body = this.buf.subarray(6);
    return this.body;
  }

  /** Writes the header of a freshly erased (or blank) sector. */
  writeHeader(flash: Flash, sector: number, magic: number, seq: number): void {
    const h = this.header;
    writeU32LE(h, 0, magic);
    writeU32LE(h, 4, seq);
    writeU32LE(h, 8, crc32(h, 0, 8));
    flash.write(sector * flash.sectorSize, h);
  }

  /**
   * Writes a frame of `payload[0, length)` at byte `at` of the flash, then its commit byte; returns
   * the frame's size. Cut anywhere, it leaves either no record or the whole record.
   */
  writeFrame(flash: Flash, at: number, seq: number, payload: Uint8Array, length: number): number {
    const n = length + FRAME_OVERHEAD;
    if (this.buf.length < n) this.grow(n); // (a payload built in the old buffer is copied below)
    let f = this.view;
    if (f.length !== n) {
      const p = this.previous;
      this.previous = f;
      this.view = f = p.length === n ? p : this.buf.subarray(0, n);
    }
    writeU16LE(f, 0, length);
    writeU32LE(f, 2, seq);
    if (payload !== this.body) for (let i = 0; i < length; i++) f[6 + i] = payload[i];
    writeU32LE(f, 6 + length, crc32(f, 0, 6 + length));
    f[n - 1] = 0xff; // the commit byte stays erased until the frame is complete
    flash.write(at, f);
    flash.write(at + n - 1, this.commit);
    return n;
  }

  /** A larger frame buffer (its views are cut again when next needed). */
  private grow(n: number): void {
    this.buf = new Uint8Array(n);
    this.view = this.buf; // (views of the new buffer: writeFrame cuts them by length alone)
    this.previous = this.buf;
    this.body = undefined;
  }
}
