/** `xsmeter decode`: verifies and decodes received OMS telegrams, one per stdin line, to JSON lines. */
import { existsSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { MeterError } from '../../modules/core/errors.js';
import { fromHex } from '../../modules/core/bytes.js';
import { parseInputLine } from '../../modules/wmbus-rx/input.js';
import { Receiver, type DecodedTelegram } from '../../modules/wmbus-rx/receiver.js';
import type { ReplayState } from '../../modules/wmbus-rx/replay.js';
import { checkWritableFile, parseOptions, readJsonFile, stopSignal, usageError, type CliIo, type Command } from '../command.js';
import { parseKey } from './encode.js';
import { nobleCrypto } from '../../hosts/sim/noble-crypto.js';

const help = `usage: xsmeter decode --key HEX | --key ID:HEX [--key …] [options] < frames

Reads frames on stdin, one per line, checks them like a gateway (CRCs, AFL MAC, message counter
replay, decryption, 2F2F check, EN 13757-3 records) and prints one JSON object per line:
  {"line":1,"id":"12345678","manufacturer":"XSM",…,"counter":42,"mac":"ok","values":[{"obis":"1.8.0","unit":"Wh","value":123456,…}]}
or, for a frame that fails, {"line":2,"error":{"code":"mac-mismatch","message":"…","details":{…}}}.
Exit code 0 when every frame decoded, 1 when any failed, 2 for bad options or an unusable --state.
Ctrl-C or a closed stdout (| head) stops reading; the replay state of what was read is saved.

Input lines (blank lines and lines starting with # are skipped):
  hex        the frame as hex (spaces and a 0x prefix allowed). It is taken as format A with CRCs
             when its byte count is what its L field implies with CRCs (L + 1 + 2 per block), and as
             a frame without CRCs when the count is L + 1. Format B cannot be told from a CRC-less
             frame by its length: say --frame B.
  rtlwmbus   T1;1;1;2026-11-24 22:56:57.000;rssi;lqi;id;0x<frame without CRCs> (rtl-wmbus output, as
             wmbusmeters reads it); the two 1s are the receiver's CRC-ok flags.

Options:
  --key HEX        meter master key (32 hex digits) for every meter
  --key ID:HEX     key for the meter with that 8-digit id (repeatable)
  --frame auto|A|B|none
                   how to read hex lines (default auto, see above)
  --phy T1|C1      hex lines are on-air chip streams of that radio mode (as 'encode --format phy')
  --insecure       accept unencrypted (security mode 0) telegrams
  --state FILE     replay state (last message counter per meter): read if it exists, written back
`;

function telegramJson(line: number, t: DecodedTelegram): Record<string, unknown> {
  return {
    line,
    id: t.meter.id,
    manufacturer: t.meter.manufacturer,
    version: t.meter.version,
    deviceType: t.meter.deviceType,
    frameFormat: t.frameFormat,
    securityMode: t.securityMode,
    tpl: t.tpl,
    accessNumber: t.accessNumber,
    status: t.status,
    counter: t.messageCounter ?? null,
    mac: t.mac,
    values: t.values.map((v) => ({
      obis: v.obis ?? null,
      quantity: v.quantity,
      unit: v.unit,
      value: v.value,
      ...(v.tariff || v.storage || v.subunit || v.function !== 'instantaneous'
        ? { tariff: v.tariff, storage: v.storage, subunit: v.subunit, function: v.function }
        : {}),
      ...(v.invalid ? { invalid: true } : {}),
    })),
  };
}

function errorJson(line: number, e: unknown): Record<string, unknown> {
  if (e instanceof MeterError) return { line, error: { code: e.code, message: e.message, details: e.details } };
  throw e; // not a typed error: a bug, reported by the dispatcher as an internal error
}

/** The replay state file as the Receiver keeps it: { "XSM.12345678": { messageCounter?, accessNumber? } … }. */
function replayState(v: unknown, path: string): ReplayState {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw usageError(`${path}: not a replay state (a JSON object of meters)`);
  for (const [id, s] of Object.entries(v)) {
    if (typeof s !== 'object' || s === null || Array.isArray(s) || Object.values(s).some((x) => typeof x !== 'number')) {
      throw usageError(`${path}: meter "${id}" is not a replay entry (numbers only)`);
    }
  }
  return v as ReplayState;
}

export const decode: Command = {
  name: 'decode',
  summary: 'verify and decode OMS telegrams from stdin (hex or rtlwmbus lines) to JSON',
  help,
  async run(args: string[], io: CliIo): Promise<number> {
    const parsed = parseOptions(
      args,
      {
        key: { type: 'string', multiple: true },
        frame: { type: 'string' },
        phy: { type: 'string' },
        insecure: { type: 'boolean' },
        state: { type: 'string' },
      },
    );
    const o = parsed.values;
    const byId: Record<string, Uint8Array> = {};
    let fallback: Uint8Array | undefined;
    for (const k of o.key ?? []) {
      const m = /^(\d{8}):(.*)$/.exec(k);
      if (m) byId[m[1]] = parseKey(m[2], `--key ${m[1]}:`);
      else if (fallback) throw usageError('only one --key without an ID');
      else fallback = parseKey(k);
    }
    if (!fallback && Object.keys(byId).length === 0 && !o.insecure) throw usageError('give --key HEX or --key ID:HEX (or --insecure)');
    const frameOpt = o.frame ?? 'auto';
    if (!['auto', 'A', 'B', 'none'].includes(frameOpt)) throw usageError(`--frame must be auto, A, B or none, got "${frameOpt}"`);
    if (o.phy !== undefined && o.phy !== 'T1' && o.phy !== 'C1') throw usageError(`--phy must be T1 or C1, got "${o.phy}"`);
    let state: ReplayState = {};
    if (o.state) {
      if (existsSync(o.state)) state = replayState(readJsonFile(o.state), o.state);
      // Written at the end: find out now, not after the frames were read.
      checkWritableFile(o.state, '--state');
    }
    const receiver = new Receiver({ crypto: nobleCrypto, keys: (m) => byId[m.id] ?? fallback, state, allowPlain: !!o.insecure });
    let n = 0;
    let failed = 0;
    let frames = 0;
    const rl = createInterface({ input: io.stdin, crlfDelay: Infinity });
    // Ctrl-C or a closed stdout: stop reading; the replay state of the frames read is still saved.
    const stop = stopSignal(io);
    const close = () => rl.close();
    stop.addEventListener('abort', close, { once: true });
    for await (const text of rl) {
      n++;
      const line = text.trim();
      if (line === '' || line.startsWith('#')) continue;
      frames++;
      let out: Record<string, unknown>;
      try {
        let t: DecodedTelegram;
        if (o.phy === 'T1' || o.phy === 'C1') {
          let stream: Uint8Array;
          try {
            stream = fromHex(line.replace(/^0x/i, ''));
          } catch (e) {
            throw new MeterError('bad-input', (e as Error).message);
          }
          t = receiver.receivePhy(stream, o.phy);
        } else {
          const input = parseInputLine(line, frameOpt as 'auto' | 'A' | 'B' | 'none');
          t = receiver.receiveFrame(input.bytes, input.format);
        }
        out = telegramJson(n, t);
      } catch (e) {
        failed++;
        out = errorJson(n, e);
      }
      io.stdout(JSON.stringify(out) + '\n');
      // Lines already buffered arrive without a turn of the event loop: give a signal or a closed
      // stdout (EPIPE) the chance to be seen.
      if ((frames & 15) === 0) await new Promise((resolve) => setImmediate(resolve));
      if (stop.aborted) break;
    }
    stop.removeEventListener('abort', close);
    if (o.state) writeFileSync(o.state, JSON.stringify(receiver.state, null, 2) + '\n');
    if (failed > 0) {
      io.stderr(`xsmeter decode: ${failed} of ${frames} frames failed\n`);
      return 1;
    }
    return 0;
  },
};
