/**
 * SML transport v1, receiver side: takes a byte stream in chunks of any size (an IR head, a serial
 * line, a file) and returns the files it completes, or typed errors for the ones it could not read.
 *
 * The stream is read as libsml reads it: after a start sequence 1b1b1b1b 01010101, in 4-byte blocks
 * counted from the start; a block 1b1b1b1b is an escape whose meaning is the next block — 1b1b1b1b
 * again (a literal 1b1b1b1b of the payload), 01010101 (a new start: the file so far is truncated),
 * 1a NN CC CC (the end: NN fill bytes, CRC CC CC), anything else a bad escape. Then the CRC (crc16.ts,
 * over the start through NN), the fill bytes (NN ≤ 3, all 00) and the messages (message-reader.ts).
 *
 * Resynchronisation: outside a file, bytes are skipped up to the next start sequence (counted in
 * `skipped`, not an error: an IR head sees whatever the line carried before it was plugged in).
 * Inside a file, a start sequence at any offset ends the file as truncated and begins the next one:
 * when a line loses bytes, the next start lands off the file's 4-byte grid, and waiting for an end
 * that will never come aligned would lose every following file up to the size limit. (SML escapes
 * only aligned sequences, so an octet string could in theory carry 1b1b1b1b01010101 across a block
 * boundary; no meter's data does, and this decoder then reads that file as truncated.)
 * Memory is one buffer of `maxFileBytes`; the work is linear in the bytes pushed.
 */
import { CRC_INIT, crc16Finish, crc16Update } from './crc16.js';
import { SmlCrcError, SmlError, SmlEscapeError, SmlTruncatedError } from './errors.js';
import type { SmlMessage } from './messages.js';
import { readMessages } from './message-reader.js';
import { END_MARK, ESC, START_MARK } from './transport.js';

export interface SmlFile {
  messages: SmlMessage[];
  /** Offset of the file's start sequence in the stream (bytes pushed before it). */
  offset: number;
  /** Bytes of the file on the line, start sequence to CRC. */
  length: number;
}

export type SmlDecodeEvent = { kind: 'file'; file: SmlFile } | { kind: 'error'; error: SmlError };

export interface SmlStreamDecoderOptions {
  /** Longest file accepted, in bytes on the line (default 8192, libsml's buffer is 8096). */
  maxFileBytes?: number;
}

const NO_EVENTS: readonly SmlDecodeEvent[] = Object.freeze([]);

export class SmlStreamDecoder {
  readonly maxFileBytes: number;
  /** Bytes outside any file, skipped while looking for a start sequence. */
  skipped = 0;
  /** Files read, and errors reported, so far. */
  files = 0;
  errors = 0;

  private readonly payload: Uint8Array;
  private readonly block = new Uint8Array(4);
  private len = 0;
  private inFile = false;
  private fileStart = 0;
  private fileBytes = 0;
  private crc = CRC_INIT;
  private blockPos = 0;
  private escaped = false;
  /** How many bytes of the start sequence end at the last byte seen (KMP state, 0–8). */
  private match = 0;
  /** Bytes seen since the last file ended or failed, while not in a file. */
  private huntRun = 0;
  private streamPos = 0;
  private events: SmlDecodeEvent[] | undefined;

  constructor(options: SmlStreamDecoderOptions = {}) {
    this.maxFileBytes = options.maxFileBytes ?? 8192;
    if (!Number.isInteger(this.maxFileBytes) || this.maxFileBytes < 32) {
      throw new SmlError('range', `maxFileBytes ${this.maxFileBytes} must be an integer of at least 32`);
    }
    this.payload = new Uint8Array(this.maxFileBytes);
  }

  /** True while a file has begun and not yet ended. */
  get inside(): boolean {
    return this.inFile;
  }

  /** Feeds bytes; returns the files and errors they complete, in stream order. */
  push(chunk: Uint8Array): readonly SmlDecodeEvent[] {
    this.events = undefined;
    for (let i = 0; i < chunk.length; i++) this.byte(chunk[i]);
    const out = this.events ?? NO_EVENTS;
    this.events = undefined;
    return out;
  }

  /** The stream has ended: a file still open is truncated. */
  end(): readonly SmlDecodeEvent[] {
    this.events = undefined;
    if (this.inFile) {
      this.fail(new SmlTruncatedError('truncated', `the stream ended inside the file at byte ${this.fileStart} (${this.fileBytes} bytes, no end sequence)`, { offset: this.fileStart, bytes: this.fileBytes }));
      this.match = 0;
    }
    this.skipped += this.huntRun;
    this.huntRun = 0;
    const out = this.events ?? NO_EVENTS;
    this.events = undefined;
    return out;
  }

  private emit(e: SmlDecodeEvent): void {
    (this.events ??= []).push(e);
  }

  private fail(error: SmlError): void {
    this.errors++;
    this.inFile = false;
    this.huntRun = 0;
    this.emit({ kind: 'error', error });
  }

  /** A file whose start sequence's last byte is at stream offset `at`. */
  private begin(at: number): void {
    this.inFile = true;
    this.fileStart = at - 7;
    this.fileBytes = 8;
    this.len = 0;
    this.blockPos = 0;
    this.escaped = false;
    this.match = 0;
    let crc = CRC_INIT;
    for (let k = 0; k < 4; k++) crc = crc16Update(crc, ESC);
    for (let k = 0; k < 4; k++) crc = crc16Update(crc, START_MARK);
    this.crc = crc;
  }

  private byte(b: number): void {
    const at = this.streamPos++;
    const m = this.match;
    if (b === (m < 4 ? ESC : START_MARK)) this.match = m + 1;
    else this.match = b === ESC ? (m === 4 ? 4 : 1) : 0;

    if (!this.inFile) {
      this.huntRun++;
      if (this.match === 8) {
        this.skipped += Math.max(0, this.huntRun - 8);
        this.huntRun = 0;
        this.begin(at);
      }
      return;
    }
    this.fileBytes++;
    if (this.match === 8) {
      this.match = 0;
      if ((this.fileBytes - 8) % 4 !== 0) {
        this.fail(new SmlTruncatedError('truncated', `a start sequence inside the file at byte ${this.fileStart}, off its 4-byte grid: bytes were lost`, { offset: this.fileStart, bytes: this.fileBytes - 8 }));
        this.begin(at);
        return;
      }
    }
    if (this.fileBytes > this.maxFileBytes) {
      this.fail(new SmlError('too-long', `the file at byte ${this.fileStart} is longer than ${this.maxFileBytes} bytes`, { offset: this.fileStart, max: this.maxFileBytes }));
      return;
    }
    const p = this.blockPos;
    const blk = this.block;
    blk[p] = b;
    this.blockPos = p + 1;
    if (!(this.escaped && p >= 2 && blk[0] === END_MARK)) this.crc = crc16Update(this.crc, b);
    if (p < 3) return;
    this.blockPos = 0;
    const esc = blk[0] === ESC && blk[1] === ESC && blk[2] === ESC && blk[3] === ESC;
    if (!this.escaped) {
      if (esc) this.escaped = true;
      else this.append(blk);
      return;
    }
    this.escaped = false;
    if (esc) {
      this.append(blk);
    } else if (blk[0] === START_MARK && blk[1] === START_MARK && blk[2] === START_MARK && blk[3] === START_MARK) {
      this.fail(new SmlTruncatedError('truncated', `a new start sequence inside the file at byte ${this.fileStart}: its end never came`, { offset: this.fileStart, bytes: this.fileBytes - 8 }));
      this.begin(at);
    } else if (blk[0] === END_MARK) {
      this.finish(blk[1], (blk[2] << 8) | blk[3]);
    } else {
      this.fail(new SmlEscapeError('escape', `unknown escape sequence 1b1b1b1b ${hex(blk)} in the file at byte ${this.fileStart}`, { offset: this.fileStart, sequence: hex(blk) }));
    }
  }

  private append(blk: Uint8Array): void {
    // The payload never outgrows the file's bytes on the line, which fileBytes already bounds.
    this.payload.set(blk, this.len);
    this.len += 4;
  }

  private finish(fill: number, crc: number): void {
    this.inFile = false;
    this.huntRun = 0;
    this.match = 0;
    const computed = crc16Finish(this.crc);
    if (crc !== computed) {
      this.fail(new SmlCrcError('crc', `file at byte ${this.fileStart}: CRC ${hex16(crc)} does not match ${hex16(computed)}`, { offset: this.fileStart, received: crc, computed }));
      return;
    }
    let fillOk = fill <= 3 && fill <= this.len;
    for (let i = this.len - fill; fillOk && i < this.len; i++) fillOk = this.payload[i] === 0;
    if (!fillOk) {
      this.fail(new SmlEscapeError('escape', `file at byte ${this.fileStart}: the end sequence counts ${fill} fill bytes that are not there`, { offset: this.fileStart, fill }));
      return;
    }
    try {
      const messages = readMessages(this.payload, 0, this.len - fill);
      this.files++;
      this.emit({ kind: 'file', file: { messages, offset: this.fileStart, length: this.fileBytes } });
    } catch (e) {
      if (!(e instanceof SmlError)) throw e;
      this.fail(e);
    }
  }
}

function hex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += (b[i] < 16 ? '0' : '') + b[i].toString(16);
  return s;
}

function hex16(v: number): string {
  return v.toString(16).padStart(4, '0');
}
