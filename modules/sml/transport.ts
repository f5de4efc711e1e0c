/**
 * SML transport protocol version 1 (SML 1.04 §5; what libsml's sml_transport_write sends), encoder side:
 *
 *   1b1b1b1b 01010101   start
 *   payload             the messages, padded with 00 to a multiple of 4 bytes; every 4-byte-aligned
 *                       block that equals 1b1b1b1b is sent twice (the escape of the escape)
 *   1b1b1b1b 1a NN      end; NN = number of 00 fill bytes
 *   CC CC               CRC-16 (crc16.ts) over everything from the start sequence through NN
 *
 * `SmlFileEncoder` keeps its buffers: a meter pushing a file every second allocates nothing per file
 * but the returned view.
 */
import { crc16Sml } from './crc16.js';
import type { SmlMessage } from './messages.js';
import { writeMessage } from './message-writer.js';
import { SmlWriter } from './writer.js';

export const ESC = 0x1b;
export const START_MARK = 0x01;
export const END_MARK = 0x1a;

/** Bytes a framed file takes at most for a payload of `payloadLength` bytes (every block escaped). */
export function maxFileLength(payloadLength: number): number {
  return 8 + Math.ceil(payloadLength / 4) * 8 + 8;
}

/** Frames payload[0, length) as one transport file into `out` from offset 0; returns the file's length. */
export function frameFile(payload: Uint8Array, length: number, out: Uint8Array): number {
  let o = 0;
  for (let i = 0; i < 4; i++) out[o++] = ESC;
  for (let i = 0; i < 4; i++) out[o++] = START_MARK;
  let i = 0;
  for (; i + 4 <= length; i += 4) {
    const b0 = payload[i];
    const b1 = payload[i + 1];
    const b2 = payload[i + 2];
    const b3 = payload[i + 3];
    if (b0 === ESC && b1 === ESC && b2 === ESC && b3 === ESC) {
      for (let k = 0; k < 4; k++) out[o++] = ESC;
    }
    out[o++] = b0;
    out[o++] = b1;
    out[o++] = b2;
    out[o++] = b3;
  }
  const pad = (4 - (length & 3)) & 3;
  for (; i < length; i++) out[o++] = payload[i];
  for (let k = 0; k < pad; k++) out[o++] = 0;
  for (let k = 0; k < 4; k++) out[o++] = ESC;
  out[o++] = END_MARK;
  out[o++] = pad;
  const crc = crc16Sml(out, 0, o);
  out[o++] = crc >>> 8;
  out[o++] = crc & 0xff;
  return o;
}

/** Builds files message by message into reused buffers. */
export class SmlFileEncoder {
  readonly writer: SmlWriter;
  private readonly out: Uint8Array;

  /** `maxPayload`: the largest payload (all messages of one file) in bytes. */
  constructor(maxPayload = 1024) {
    this.writer = new SmlWriter(maxPayload);
    this.out = new Uint8Array(maxFileLength(maxPayload));
  }

  /** Starts a new file (discards what the writer held). */
  begin(): SmlWriter {
    this.writer.reset();
    return this.writer;
  }

  message(msg: SmlMessage): void {
    writeMessage(this.writer, msg);
  }

  /** The framed file: a view of the encoder's buffer, valid until the next `finish`. */
  finish(): Uint8Array {
    return this.out.subarray(0, frameFile(this.writer.buf, this.writer.pos, this.out));
  }
}

/** One file of `messages`, in a new array (for requests, tools and tests; the meter uses SmlFileEncoder). */
export function encodeSmlFile(messages: readonly SmlMessage[], maxPayload = 4096): Uint8Array {
  const enc = new SmlFileEncoder(maxPayload);
  enc.begin();
  for (const m of messages) enc.message(m);
  return enc.finish().slice();
}
