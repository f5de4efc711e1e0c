/**
 * SML transport v1, receiver side: takes a byte stream in chunks of any size (an IR head, a serial
 * line, a file) and returns the files it completes, or typed errors for the ones it could not read.
 *
 * A file is read on its grid as libsml's sml_transport_read reads it: after a start sequence
 * 1b1b1b1b 01010101, in 4-byte blocks counted from the start; only a block 1b1b1b1b is an escape,
 * and the block after it decides — 1a NN CC CC is the end (NN fill bytes, CRC CC CC). Where libsml
 * takes only the end, this reader also reads 1b1b1b1b again as a literal 1b1b1b1b of the payload
 * (transport v1's escaped escape) and 01010101 as a new start (the file so far is truncated);
 * anything else is a bad escape. A start sequence is found wherever it begins, also right after
 * more than four 1b bytes. Then the CRC (crc16.ts, over the start through NN), the fill bytes (NN ≤ 3, all
 * 00) and the messages (message-reader.ts). Bytes 1b1b1b1b 01010101 off the file's 4-byte grid are
 * payload (an octet string may hold them; the sender escapes aligned blocks only).
 *
 * Resynchronisation: outside a file, bytes are skipped up to the next start sequence (counted in
 * `skipped`, not an error: an IR head sees whatever the line carried before it was plugged in).
 * Inside a file, a start sequence off its grid may also be a line that lost bytes: the next file then
 * begins off the grid, and its end never comes aligned. So such a start is followed as a candidate, a
 * second file read on its own grid from there (at most one per grid, four files at once), while the
 * first goes on; the first decides:
 *  - it reaches its end (a file, or a CRC, fill or message error): the candidates were its payload;
 *  - it breaks without an end (a bad escape, too long): the earliest candidate is the file read on;
 *  - a candidate reaches its end first with a right CRC: the line lost bytes. The first file is
 *    reported truncated and the candidate's file is read (so a line that loses bytes costs the one
 *    file, not every file up to the size limit). A complete, CRC-right transport file carried off
 *    the grid inside another file's octet string is read as that inner file (libsml reads the outer).
 * A candidate that fails on its own is dropped without an event: it was payload or is part of the
 * loss the first file reports. Memory: one buffer of `maxFileBytes` while files are read on their
 * grid, a buffer per candidate grid once one has been needed; the work is linear in the bytes pushed
 * (each byte is read by at most four files).
 */
import { CRC_INIT, crc16Finish, crc16Run, crc16Update } from './crc16.js';
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

// What a FileReader's byte() says.
/** The file goes on. */
const READING = 0;
/** The file reached its end sequence: `event` is the file, or its CRC, fill or message error. */
const ENDED = 1;
/** The file broke without an end (a bad escape, too long): `event` is the error. */
const BROKEN = 2;
/** A start sequence on the file's grid: `event` is its truncation, and a new file begins here. */
const RESTART = 3;

/** One file read on its own 4-byte grid, from its start sequence. */
class FileReader {
  readonly payload: Uint8Array;
  /** Offset of the file's start sequence in the stream. */
  start = 0;
  /** Bytes of the file on the line so far, start sequence included. */
  bytes = 0;
  event: SmlDecodeEvent | undefined;
  private readonly block = new Uint8Array(4);
  private len = 0;
  private crc = CRC_INIT;
  private blockPos = 0;
  private escaped = false;

  constructor(private readonly maxFileBytes: number) {
    this.payload = new Uint8Array(maxFileBytes);
  }

  /** A file whose start sequence's last byte is at stream offset `at`. */
  begin(at: number): void {
    this.start = at - 7;
    this.bytes = 8;
    this.len = 0;
    this.blockPos = 0;
    this.escaped = false;
    this.event = undefined;
    let crc = CRC_INIT;
    for (let k = 0; k < 4; k++) crc = crc16Update(crc, ESC);
    for (let k = 0; k < 4; k++) crc = crc16Update(crc, START_MARK);
    this.crc = crc;
  }

  /** Reads the file's next byte: READING, or how the file ended (`event` says what it was). */
  byte(b: number): number {
    if (++this.bytes > this.maxFileBytes) {
      return this.error(BROKEN, new SmlError('too-long', `the file at byte ${this.start} is longer than ${this.maxFileBytes} bytes`, { offset: this.start, max: this.maxFileBytes }));
    }
    const p = this.blockPos;
    const blk = this.block;
    blk[p] = b;
    if (p < 3) {
      this.blockPos = p + 1;
      return READING;
    }
    this.blockPos = 0;
    // The CRC a block at a time; of the end block only 1a NN (the CRC itself follows).
    this.crc = crc16Run(this.crc, blk, 0, this.escaped && blk[0] === END_MARK ? 2 : 4);
    const esc = blk[0] === ESC && blk[1] === ESC && blk[2] === ESC && blk[3] === ESC;
    if (!this.escaped) {
      if (esc) this.escaped = true;
      else this.append(blk);
      return READING;
    }
    this.escaped = false;
    if (esc) {
      this.append(blk);
      return READING;
    }
    if (blk[0] === START_MARK && blk[1] === START_MARK && blk[2] === START_MARK && blk[3] === START_MARK) {
      return this.error(RESTART, new SmlTruncatedError('truncated', `a new start sequence inside the file at byte ${this.start}: its end never came`, { offset: this.start, bytes: this.bytes - 8 }));
    }
    if (blk[0] === END_MARK) return this.finish(blk[1], (blk[2] << 8) | blk[3]);
    return this.error(BROKEN, new SmlEscapeError('escape', `unknown escape sequence 1b1b1b1b ${hex(blk)} in the file at byte ${this.start}`, { offset: this.start, sequence: hex(blk) }));
  }

  private error(outcome: number, error: SmlError): number {
    this.event = { kind: 'error', error };
    return outcome;
  }

  private append(blk: Uint8Array): void {
    // The payload never outgrows the file's bytes on the line, which `bytes` already bounds.
    this.payload.set(blk, this.len);
    this.len += 4;
  }

  private finish(fill: number, crc: number): number {
    const computed = crc16Finish(this.crc);
    if (crc !== computed) {
      return this.error(ENDED, new SmlCrcError('crc', `file at byte ${this.start}: CRC ${hex16(crc)} does not match ${hex16(computed)}`, { offset: this.start, received: crc, computed }));
    }
    let fillOk = fill <= 3 && fill <= this.len;
    for (let i = this.len - fill; fillOk && i < this.len; i++) fillOk = this.payload[i] === 0;
    if (!fillOk) {
      return this.error(ENDED, new SmlEscapeError('escape', `file at byte ${this.start}: the end sequence counts ${fill} fill bytes that are not there`, { offset: this.start, fill }));
    }
    try {
      const messages = readMessages(this.payload, 0, this.len - fill);
      this.event = { kind: 'file', file: { messages, offset: this.start, length: this.bytes } };
      return ENDED;
    } catch (e) {
      if (!(e instanceof SmlError)) throw e;
      return this.error(ENDED, e);
    }
  }
}

export class SmlStreamDecoder {
  readonly maxFileBytes: number;
  /** Bytes outside any file, skipped while looking for a start sequence. */
  skipped = 0;
  /** Files read, and errors reported, so far. */
  files = 0;
  errors = 0;

  /** The files being read, by start: [0] the file, the others candidates begun off its grid. */
  private readonly lanes: FileReader[] = [];
  /** Readers not in use (the first is made now; a candidate's when first needed). */
  private readonly spare: FileReader[] = [];
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
    this.spare.push(new FileReader(this.maxFileBytes));
  }

  /** True while a file has begun and not yet ended. */
  get inside(): boolean {
    return this.lanes.length > 0;
  }

  /** Feeds bytes; returns the files and errors they complete, in stream order. */
  push(chunk: Uint8Array): readonly SmlDecodeEvent[] {
    this.events = undefined;
    const lanes = this.lanes;
    const base = this.streamPos;
    const n = chunk.length;
    for (let i = 0; i < n; i++) {
      const b = chunk[i];
      const m = this.match;
      const next = b === (m < 4 ? ESC : START_MARK) ? m + 1 : b === ESC ? (m === 4 ? 4 : 1) : 0;
      this.match = next;
      // The usual case inline, one call a byte: one file read, no start sequence ending here.
      if (next !== 8 && lanes.length === 1) {
        const outcome = lanes[0].byte(b);
        if (outcome !== READING) this.settleFirst(outcome, base + i);
      } else this.byte(b, base + i);
    }
    this.streamPos = base + n;
    const out = this.events ?? NO_EVENTS;
    this.events = undefined;
    return out;
  }

  /** The stream has ended: a file still open is truncated. */
  end(): readonly SmlDecodeEvent[] {
    this.events = undefined;
    if (this.lanes.length > 0) {
      const f = this.lanes[0];
      this.emit({ kind: 'error', error: new SmlTruncatedError('truncated', `the stream ended inside the file at byte ${f.start} (${f.bytes} bytes, no end sequence)`, { offset: f.start, bytes: f.bytes }) });
      this.closeAll();
      this.match = 0;
    }
    this.skipped += this.huntRun;
    this.huntRun = 0;
    const out = this.events ?? NO_EVENTS;
    this.events = undefined;
    return out;
  }

  private emit(e: SmlDecodeEvent): void {
    if (e.kind === 'file') this.files++;
    else this.errors++;
    (this.events ??= []).push(e);
  }

  /** A new file (lane) whose start sequence's last byte is at `at`, after those being read. */
  private open(at: number): void {
    const r = this.spare.pop() ?? new FileReader(this.maxFileBytes);
    r.begin(at);
    this.lanes.push(r);
  }

  private drop(i: number): void {
    this.spare.push(this.lanes[i]);
    this.lanes.splice(i, 1);
  }

  private closeAll(): void {
    while (this.lanes.length > 0) this.drop(this.lanes.length - 1);
    this.huntRun = 0;
  }

  /** The first file ended at byte `at` (`outcome` says how): its event, then what is read on. */
  private settleFirst(outcome: number, at: number): void {
    const lanes = this.lanes;
    const first = lanes[0];
    this.emit(first.event as SmlDecodeEvent);
    if (outcome === ENDED) {
      // A file with its end: what began inside it off its grid was payload.
      this.closeAll();
      this.match = 0;
    } else if (outcome === RESTART) {
      while (lanes.length > 1) this.drop(lanes.length - 1);
      first.begin(at);
      this.match = 0;
    } else {
      this.drop(0);
      if (lanes.length === 0) this.huntRun = 0;
    }
  }

  /** A byte (the stream's `at`, its start-sequence match counted) while hunting, with candidates,
   *  or at the end of a start sequence. */
  private byte(b: number, at: number): void {
    const lanes = this.lanes;
    if (lanes.length === 0) {
      this.huntRun++;
      if (this.match === 8) {
        this.match = 0;
        this.skipped += Math.max(0, this.huntRun - 8);
        this.huntRun = 0;
        this.open(at);
      }
      return;
    }
    let restarted: FileReader | undefined;
    for (let i = 0; i < lanes.length; ) {
      const lane = lanes[i];
      const outcome = lane.byte(b);
      if (outcome === READING) {
        i++;
        continue;
      }
      if (i === 0) {
        this.settleFirst(outcome, at);
        // Ended or begun again: done with this byte. Broken: the earliest candidate, if any, is the
        // file now, and reads this byte as the first.
        if (outcome !== BROKEN) return;
        continue;
      }
      const event = lane.event as SmlDecodeEvent;
      if (outcome === ENDED && event.kind === 'file') {
        // An intact file off the first one's grid: the line lost bytes inside the first.
        const first = lanes[0];
        this.emit({ kind: 'error', error: new SmlTruncatedError('truncated', `the file at byte ${first.start} has no end: bytes were lost (an intact file began at byte ${lane.start}, off its 4-byte grid)`, { offset: first.start, bytes: lane.start - first.start }) });
        this.emit(event);
        if (restarted) this.spare.push(restarted);
        this.closeAll();
        this.match = 0;
        return;
      }
      if (outcome === RESTART) {
        // A start on this candidate's grid: it begins there again, after the others (by start).
        lanes.splice(i, 1);
        restarted = lane;
        continue;
      }
      this.drop(i);
    }
    if (restarted) {
      restarted.begin(at);
      lanes.push(restarted);
      this.match = 0;
    }
    if (this.match !== 8) return;
    this.match = 0;
    if (lanes.length === 0) {
      this.open(at);
      return;
    }
    // A start sequence on no open file's grid: a candidate (as the header says).
    const s = at - 7;
    for (let i = 0; i < lanes.length; i++) if (((s - lanes[i].start) & 3) === 0) return;
    this.open(at);
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
