/** `xsmeter sml decode`: reads an SML byte stream (raw or hex) and prints one JSON line per SML file. */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { toHex } from '../../modules/core/bytes.js';
import type { SmlGetListResponse, SmlListEntry, SmlMessage, SmlOpenResponse } from '../../modules/sml/messages.js';
import { obisText } from '../../modules/sml/obis.js';
import { scaledDecimal } from '../../modules/sml/scaled.js';
import { SmlStreamDecoder, type SmlDecodeEvent } from '../../modules/sml/stream-decoder.js';
import { unitSymbol } from '../../modules/sml/units.js';
import { CliError, checkStdin, decimalInteger, describeSystemError, isSystemError, parseOptions, stopSignal, usageError, type CliIo, type Command } from '../command.js';

const help = `usage: xsmeter sml decode [FILE | -] [--format auto|raw|hex] [--max-file BYTES]

Reads an SML stream (IEC 62056-5-3-8 / SML 1.04, transport v1: what an IR head on a meter's optical
port or an RS-485 adapter delivers) from FILE or stdin, as raw bytes or as hex text, and prints one
JSON object per SML file:
  {"file":1,"offset":0,"bytes":248,"messages":["open-res","get-list-res","close-res"],
   "serverId":"0a0158534d0000bc614e","sensorTime":7,
   "values":[{"obis":"1-0:1.8.0*255","unit":"Wh","value":123456,"scaler":0,"status":18},…]}
Numbers are the quantity with the scaler applied (exact decimals; a string where a JSON number
would round); octet strings are {"obis",…,"hex":"…","text":"…"} (text when printable).
A file that fails gives {"file":2,"offset":248,"error":{"code":"crc","message":"…"}}; codes:
crc and message-crc (CRC-16), escape (bad escape or fill bytes), truncated, tl (bad type-length
field), structure (not the SML message it claims), too-long. Bytes between files are skipped and
counted on stderr; decoding resumes at the next start sequence.
Exit code 0 when every file decoded, 1 when any failed or none was found, 2 for bad usage or a file
that cannot be read.

Options:
  --format auto|raw|hex  how to read the input (default auto: hex when it is hex digits and
                         whitespace only)
  --max-file BYTES       longest SML file accepted (default 8192)
`;

const HEX_TEXT = /^[0-9a-fA-F\s]*$/;
/** Bytes --format auto looks at before it takes an input of hex digits and whitespace as hex. */
const AUTO_BYTES = 64;

/** Hex text to bytes across chunk boundaries (whitespace anywhere, an odd digit carried over). */
class HexStream {
  private carry = -1;
  push(text: string): Uint8Array {
    const out = new Uint8Array(Math.ceil(text.length / 2) + 1);
    let n = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) continue;
      const v = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
      if (v < 0) throw usageError(`input is not hex: ${JSON.stringify(text[i])} (use --format raw for binary)`);
      if (this.carry < 0) this.carry = v;
      else {
        out[n++] = (this.carry << 4) | v;
        this.carry = -1;
      }
    }
    return out.subarray(0, n);
  }
  get odd(): boolean {
    return this.carry >= 0;
  }
}

function quantity(raw: bigint, scaler: number): number | string {
  const s = scaledDecimal(raw, scaler);
  const n = Number(s);
  return String(n) === s ? n : s;
}

function printable(b: Uint8Array): string | undefined {
  for (const c of b) if (c < 0x20 || c > 0x7e) return undefined;
  return new TextDecoder().decode(b);
}

function valueJson(e: SmlListEntry): Record<string, unknown> {
  const o: Record<string, unknown> = { obis: obisText(e.objName) };
  if (e.unit !== undefined) o.unit = unitSymbol(e.unit) ?? e.unit;
  if (e.value instanceof Uint8Array) {
    o.hex = toHex(e.value);
    const text = printable(e.value);
    if (text !== undefined && e.value.length > 0) o.text = text;
  } else if (typeof e.value === 'boolean') o.value = e.value;
  else {
    o.value = quantity(BigInt(e.value), e.scaler ?? 0);
    if (e.scaler !== undefined) o.scaler = e.scaler;
  }
  if (e.status !== undefined) o.status = quantity(BigInt(e.status), 0);
  if (e.valTime !== undefined) o.valTime = e.valTime.seconds;
  return o;
}

function fileJson(n: number, offset: number, bytes: number, messages: SmlMessage[]): Record<string, unknown> {
  const out: Record<string, unknown> = { file: n, offset, bytes, messages: messages.map((m) => (m.body.kind === 'other' ? `0x${m.body.tag.toString(16).padStart(4, '0')}` : m.body.kind)) };
  const open = messages.find((m) => m.body.kind === 'open-res')?.body as SmlOpenResponse | undefined;
  const lists = messages.filter((m) => m.body.kind === 'get-list-res').map((m) => m.body as SmlGetListResponse);
  const serverId = open?.serverId ?? lists[0]?.serverId;
  if (serverId) out.serverId = toHex(serverId);
  const time = lists[0]?.actSensorTime;
  if (time) out.sensorTime = time.seconds;
  if (lists.length > 0) out.values = lists.flatMap((l) => l.valList.map(valueJson));
  return out;
}

async function decodeCmd(args: string[], io: CliIo): Promise<number> {
  const { values: o, positionals } = parseOptions(args, { format: { type: 'string' }, 'max-file': { type: 'string' } }, true);
  if (positionals.length > 1) throw usageError('decode takes at most one FILE');
  const format = o.format ?? 'auto';
  if (!['auto', 'raw', 'hex'].includes(format)) throw usageError(`--format must be auto, raw or hex, got "${format}"`);
  const maxFile = o['max-file'] === undefined ? 8192 : decimalInteger(o['max-file']);
  if (!Number.isInteger(maxFile) || maxFile < 32 || maxFile > 1 << 20) throw usageError(`--max-file must be an integer from 32 to 1048576, got "${o['max-file']}"`);
  const path = positionals[0];
  if (path === undefined || path === '-') checkStdin(io);
  const input: AsyncIterable<Buffer | string> = path === undefined || path === '-' ? io.stdin : createReadStream(path);
  const decoder = new SmlStreamDecoder({ maxFileBytes: maxFile });
  let mode = format === 'auto' ? undefined : (format as 'raw' | 'hex');
  const hex = new HexStream();
  let files = 0;
  let failed = 0;
  let total = 0;
  const emit = (events: readonly SmlDecodeEvent[]) => {
    for (const e of events) {
      files++;
      if (e.kind === 'file') io.stdout(JSON.stringify(fileJson(files, e.file.offset, e.file.length, e.file.messages)) + '\n');
      else {
        failed++;
        const offset = e.error.details.offset;
        io.stdout(JSON.stringify({ file: files, ...(offset !== undefined ? { offset } : {}), error: { code: e.error.code, message: e.error.message } }) + '\n');
      }
    }
  };
  const feed = (bytes: Buffer): void => {
    const data = mode === 'hex' ? hex.push(bytes.toString('latin1')) : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
    total += data.length;
    emit(decoder.push(data));
  };
  // --format auto decides on the first AUTO_BYTES (or all, if fewer): an IR head's serial reads
  // often return a byte or two, and one SML byte in ten is a hex digit or whitespace.
  let head = Buffer.alloc(0);
  // Ctrl-C or a closed stdout stops reading, also while no bytes come (an idle IR head).
  const stop = stopSignal(io);
  const onStop = (): void => void (input as Readable).destroy?.();
  stop.addEventListener('abort', onStop, { once: true });
  try {
    for await (const chunk of input) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
      if (bytes.length === 0) continue;
      if (mode === undefined) {
        head = Buffer.concat([head, bytes]);
        if (!HEX_TEXT.test(head.toString('latin1'))) mode = 'raw';
        else if (head.length >= AUTO_BYTES) mode = 'hex';
        else continue;
        feed(head);
      } else feed(bytes);
      if (stop.aborted) break;
    }
  } catch (e) {
    if (!(stop.aborted && (e as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE')) {
      if (!isSystemError(e)) throw e;
      // (Node's text names the path twice; its read error of a directory not at all)
      const { message, exitCode } = describeSystemError(e.path === undefined ? Object.assign(e, { path }) : e);
      throw new CliError(message, exitCode);
    }
  } finally {
    stop.removeEventListener('abort', onStop);
  }
  if (mode === undefined && head.length > 0) {
    mode = 'hex'; // (fewer than AUTO_BYTES, all hex digits and whitespace)
    feed(head);
  }
  // A stop (Ctrl-C, | head) cut the stream here, not its writer: a file it was in is no failure.
  if (!stop.aborted) emit(decoder.end());
  // Nobody reads the output any more: end quietly, with what was decoded until then.
  if (stop.reason === 'EPIPE') return failed > 0 ? 1 : 0;
  if (hex.odd) io.stderr('xsmeter sml: the hex input ends in half a byte (ignored)\n');
  if (decoder.skipped > 0) io.stderr(`xsmeter sml: ${decoder.skipped} bytes outside SML files skipped\n`);
  if (files === 0) {
    io.stderr(`xsmeter sml: no SML file in ${total} bytes\n`);
    return 1;
  }
  if (failed > 0) {
    io.stderr(`xsmeter sml: ${failed} of ${files} files failed\n`);
    return 1;
  }
  return 0;
}

export const sml: Command = {
  name: 'sml',
  summary: 'decode an SML stream (optical port or LMN, raw or hex) to JSON (xsmeter sml --help)',
  help,
  async run(args: string[], io: CliIo): Promise<number> {
    const [sub, ...rest] = args;
    if (sub === 'decode') return decodeCmd(rest, io);
    throw usageError(sub ? `unknown sml command "${sub}" (decode)` : 'which sml command? (decode)');
  },
};
