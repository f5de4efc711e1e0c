/** Shared by the SML tests: streams, byte patching and comparison of messages as encoded and decoded. */
import { concat, concatAll } from '../../modules/core/bytes.js';
import { crc16Sml } from '../../modules/sml/crc16.js';
import type { SmlListEntry, SmlMessage } from '../../modules/sml/messages.js';
import { SmlStreamDecoder, type SmlDecodeEvent } from '../../modules/sml/stream-decoder.js';
import { frameFile, maxFileLength } from '../../modules/sml/transport.js';
import type { EdgeCounter, SerialPort } from '../../modules/ports/bus.js';

/** Decodes a whole stream in chunks of `chunk` bytes (default: all at once), end included. */
export function decodeAll(stream: Uint8Array, chunk = stream.length || 1, maxFileBytes?: number): { events: SmlDecodeEvent[]; decoder: SmlStreamDecoder } {
  const decoder = new SmlStreamDecoder(maxFileBytes === undefined ? {} : { maxFileBytes });
  const events: SmlDecodeEvent[] = [];
  for (let i = 0; i < stream.length; i += chunk) events.push(...decoder.push(stream.subarray(i, i + chunk)));
  events.push(...decoder.end());
  return { events, decoder };
}

/** The payload (messages and fill bytes) of a framed file without escapes, and the fill count. */
export function payloadOf(file: Uint8Array): { payload: Uint8Array; fill: number } {
  return { payload: file.subarray(8, file.length - 8), fill: file[file.length - 3] };
}

/** Frames a payload again (new file CRC). */
export function reframe(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(maxFileLength(payload.length));
  return out.slice(0, frameFile(payload, payload.length, out));
}

/** A copy of a one-message payload (no fill) with its bytes changed and the message CRC made right again. */
export function patchMessage(payload: Uint8Array, patch: (p: Uint8Array) => void): Uint8Array {
  const p = payload.slice();
  patch(p);
  const crc = crc16Sml(p, 0, p.length - 4);
  p[p.length - 3] = crc >>> 8;
  p[p.length - 2] = crc & 0xff;
  return p;
}

export function join(...parts: Uint8Array[]): Uint8Array {
  return concatAll(parts);
}

/** Concatenates any number of parts (no spread: a day of files is 86 400 of them). */
export const joinAll = concatAll;

/** Light pulses on the optical port's sensor, as a test flashes them (the host counts edges). */
export class Flashes implements EdgeCounter {
  n = 0;
  take(): number {
    const n = this.n;
    this.n = 0;
    return n;
  }
}

const big = (v: number | bigint): bigint => (typeof v === 'bigint' ? v : BigInt(v));

function entry(e: SmlListEntry): Record<string, unknown> {
  const o: Record<string, unknown> = { objName: [...e.objName], value: typeof e.value === 'number' || typeof e.value === 'bigint' ? big(e.value) : e.value instanceof Uint8Array ? [...e.value] : e.value };
  if (e.status !== undefined) o.status = big(e.status);
  if (e.valTime !== undefined) o.valTime = { ...e.valTime };
  if (e.unit !== undefined) o.unit = e.unit;
  if (e.scaler !== undefined) o.scaler = e.scaler;
  if (e.valueSignature !== undefined) o.valueSignature = [...e.valueSignature];
  return o;
}

/** A message as plain data: numbers as the decoder gives them (bigint values), absent fields absent. */
export function plain(m: SmlMessage): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m.body)) {
    if (v === undefined) continue;
    if (k === 'valList') body[k] = (v as SmlListEntry[]).map(entry);
    else body[k] = v instanceof Uint8Array ? [...v] : typeof v === 'object' ? { ...v } : v;
  }
  return { transactionId: [...m.transactionId], groupNo: m.groupNo ?? 0, abortOnError: m.abortOnError ?? 0, body };
}

/** A SerialPort that records what is written and hands out what a test queued. */
export class MemoryPort implements SerialPort {
  readonly written: Uint8Array[] = [];
  private inbox: Uint8Array[] = [];
  write(bytes: Uint8Array): void {
    this.written.push(bytes.slice());
  }
  read(): Uint8Array {
    const r = concat(...this.inbox);
    this.inbox = [];
    return r;
  }
  deliver(bytes: Uint8Array): void {
    this.inbox.push(bytes.slice());
  }
  /** Everything written so far, as one stream; clears it. */
  take(): Uint8Array {
    const r = concat(...this.written);
    this.written.length = 0;
    return r;
  }
}

/** CRC-16/X-25 bit by bit from its catalogue definition (reflected polynomial 0x8408, init and xorout
 *  ffff; check value 906e for "123456789"), independent of modules/sml/crc16.ts. */
export function crcX25(bytes: Uint8Array): number {
  let crc = 0xffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x8408 : crc >>> 1;
  }
  return crc ^ 0xffff;
}

/**
 * A one-message file built by hand, bytes as SML 1.04 lays them out, not with the module's encoder:
 * SML_PublicClose.Res (tag 0201) whose globalSignature is `signature`, transaction id 01, the message
 * CRC and the transport frame (start, 00 fill to the 4-byte grid, end, file CRC) with crcX25, both
 * CRCs low byte first as libsml writes them. The signature must hold no 1b1b1b1b on the 4-byte grid
 * (this builder does not escape). Its first byte is at stream offset 21.
 */
export function handFramedCloseRes(signature: Uint8Array): Uint8Array {
  if (signature.length > 14) throw new Error('a one-byte TL field holds up to 14 bytes');
  const head = [0x76, 0x02, 0x01, 0x62, 0x00, 0x62, 0x00, 0x72, 0x63, 0x02, 0x01, 0x71, signature.length + 1, ...signature];
  const msgCrc = crcX25(Uint8Array.from(head));
  const message = [...head, 0x63, msgCrc & 0xff, msgCrc >>> 8, 0x00];
  const fill = (4 - (message.length % 4)) % 4;
  const body = [0x1b, 0x1b, 0x1b, 0x1b, 1, 1, 1, 1, ...message, ...new Array<number>(fill).fill(0), 0x1b, 0x1b, 0x1b, 0x1b, 0x1a, fill];
  const fileCrc = crcX25(Uint8Array.from(body));
  return Uint8Array.from([...body, fileCrc & 0xff, fileCrc >>> 8]);
}
