/** `xsmeter decode`: verifies and decodes received wireless M-Bus telegrams, one per stdin line, to JSON lines. */
import { closeSync, existsSync, fdatasyncSync, fsyncSync, ftruncateSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { MeterError } from '../../modules/core/errors.js';
import { fromHex } from '../../modules/core/bytes.js';
import { parseInputLine, type InputFrame } from '../../modules/wmbus-rx/input.js';
import { Receiver, type DecodedTelegram, type KeyLookup, type MeterKeyEntry } from '../../modules/wmbus-rx/receiver.js';
import type { DecodedValue } from '../../modules/wmbus-rx/values.js';
import type { MeterReplayEntry, ReplayState } from '../../modules/wmbus-rx/replay.js';
import type { FrameFormat } from '../../modules/wmbus/frame.js';
import { nobleCrypto } from '../../hosts/sim/noble-crypto.js';
import { CliError, checkStdin, checkWritableFile, isSystemError, parseOptions, readInputFile, readJsonFile, stopSignal, systemReason, usageError, type CliIo, type Command } from '../command.js';
import { inputLines } from '../input-lines.js';
import { lockPath } from '../../hosts/sim/directory.js';
import { parseKey } from './encode.js';

const help = `usage: xsmeter decode (--key HEX | --key ID:HEX … | --keys FILE | --insecure) [options] < frames

Reads frames on stdin, one per line, checks them like a gateway (CRCs, ELL, AFL MAC, replay,
decryption, 2F2F check, EN 13757-3 records) and prints one JSON object per line:
  {"line":1,"id":"12345678","manufacturer":"XSM","version":1,"deviceType":2,"media":"electricity",
   "accessNumber":7,"status":{"byte":0,"application":"no error",…},"securityMode":7,"counter":42,
   "mac":"ok","values":[{"obis":"1.8.0","quantity":"energy","unit":"Wh","value":123456,
   "storage":0,"tariff":0,"subunit":0,"function":"instantaneous","authenticated":true,…}]}
or, for a frame that fails, {"line":2,"id":"…","manufacturer":"…","error":{"code":"mac-mismatch",
"message":"…","details":{…}}} (id and manufacturer whenever the link layer could be read).
A value the meter marks as not available is null with a "reason"; records this decoder cannot
interpret (reserved or manufacturer-specific codes) are kept as hex with a "reason".
Exit code 0 when every frame decoded, 1 when any failed, 2 for bad options or an unusable --keys or
--state file. Ctrl-C or a closed stdout (| head) stops reading; the replay state covers the frames
whose lines were written.

Input lines (blank lines and lines starting with # are skipped):
  hex        the frame as hex (spaces and a 0x prefix allowed). It is taken as format A with CRCs
             when its byte count is what its L field implies with CRCs (L + 1 + 2 per block), and as
             a frame without CRCs when the count is L + 1. Format B cannot be told from a CRC-less
             frame by its length: say --frame B.
  rtlwmbus   T1;1;1;2026-11-24 22:56:57.000;rssi;lqi;id;0x<frame without CRCs>, or the shorter
             C1;1;1;2026-11-24 22:56:57.000;rssi;0;0x<frame> (rtl-wmbus output, as wmbusmeters
             reads it); the two 1s are the receiver's CRC-ok flags. The timestamp and RSSI are
             passed through to the output.

Options:
  --key HEX        meter master key (32 hex digits) for every meter
  --key ID:HEX     key for the meter with that 8-digit id (repeatable)
  --keys FILE      keys from a JSON file: {"12345678": "<32 hex digits>", "KAM.76348799": "…",
                   "*": "…" (any other meter), "87654321": {"key": "…", "allowUnauthenticated": true}}
                   A "MFT.ID" entry wins over an "ID" entry, which wins over "*".
  --allow-unauthenticated
                   accept encryption without a MAC (TPL security mode 5, ELL AES-CTR) for every
                   meter; its values say "authenticated": false. Per meter: "allowUnauthenticated"
                   in --keys. Without it such telegrams are refused: a key alone suggests a
                   protection these modes do not give.
  --insecure       accept unencrypted telegrams (security mode 0, CI 0x78)
  --strict         the conformance checker: refuse anything EN 13757 / OMS do not allow (non-BCD
                   ids, CIs other than 0x7A / 0x72 with AFL and short ELL, data after the encrypted
                   blocks, reserved or manufacturer-specific records, plain-text VIFs)
  --frame auto|A|B|none
                   how to read hex lines (default auto, see above)
  --phy T1|C1      hex lines are on-air chip streams of that radio mode (as 'encode --format phy')
  --state FILE     replay state: read if it exists; every accepted frame's counters are appended
                   to FILE.journal and flushed once its line is written to stdout (a line lost to a
                   full disk leaves its frame to be decoded again), so replay protection survives a
                   restart or a crash; FILE is rewritten atomically from time to time and at the end
`;

interface KeyFileEntry {
  key: string;
  allowUnauthenticated?: boolean;
}

/** Reads a --keys file: { "ID" | "MFT.ID" | "*": "HEX" | { key, allowUnauthenticated } }. */
function readKeyFile(path: string): Record<string, MeterKeyEntry> {
  const raw = readJsonFile(path);
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw usageError(`--keys ${path}: expected a JSON object of meter id → key`);
  const out: Record<string, MeterKeyEntry> = {};
  for (const [name, v] of Object.entries(raw as Record<string, unknown>)) {
    if (name !== '*' && !/^([@A-Z[\\\]^_]{3}\.)?[0-9a-fA-F]{8}$/.test(name)) {
      throw usageError(`--keys ${path}: "${name}" is not a meter id (12345678, MFT.12345678 or *)`);
    }
    const e = (typeof v === 'string' ? { key: v } : v) as KeyFileEntry | null;
    if (!e || typeof e !== 'object' || typeof e.key !== 'string') throw usageError(`--keys ${path}: entry "${name}" needs a key`);
    if (e.allowUnauthenticated !== undefined && typeof e.allowUnauthenticated !== 'boolean') {
      throw usageError(`--keys ${path}: entry "${name}": allowUnauthenticated must be true or false`);
    }
    out[name.toLowerCase().replace(/^([a-z@[\\\]^_]{3})\./, (m) => m.toUpperCase())] = {
      key: parseKey(e.key, `--keys ${path}: entry "${name}"`),
      allowUnauthenticated: !!e.allowUnauthenticated,
    };
  }
  return out;
}

function valueJson(v: DecodedValue): Record<string, unknown> {
  const o: Record<string, unknown> = { obis: v.obis ?? null, quantity: v.quantity };
  if (v.description) o.description = v.description;
  o.unit = v.unit;
  o.value = v.value;
  if (v.reason) o.reason = v.reason;
  o.storage = v.storage;
  o.tariff = v.tariff;
  o.subunit = v.subunit;
  o.function = v.function;
  if (v.error) o.error = v.error;
  o.authenticated = v.authenticated;
  o.encrypted = v.encrypted;
  return o;
}

/** One telegram as the JSON object `decode` prints (the bench measures this same function). */
export function telegramJson(line: number, t: DecodedTelegram, input?: InputFrame): Record<string, unknown> {
  const o: Record<string, unknown> = { line };
  if (input?.timestamp !== undefined) o.timestamp = input.timestamp;
  if (input?.rssi !== undefined) o.rssi = input.rssi;
  o.id = t.meter.id;
  o.manufacturer = t.meter.manufacturer;
  o.version = t.meter.version;
  o.deviceType = t.meter.deviceType;
  o.media = t.deviceTypeName;
  if (t.softAddress) o.softAddress = true;
  if (t.link.id !== t.meter.id || t.link.manufacturer !== t.meter.manufacturer) {
    o.link = { id: t.link.id, manufacturer: t.link.manufacturer, version: t.link.version, deviceType: t.link.deviceType };
  }
  o.frameFormat = t.frameFormat;
  o.tpl = t.tpl;
  o.accessNumber = t.accessNumber ?? t.ell?.accessNumber ?? null;
  o.status = t.status === undefined ? null : { byte: t.status, ...t.statusDecoded };
  o.securityMode = t.securityMode;
  o.encryption = t.encryption;
  o.counter = t.messageCounter ?? null;
  o.mac = t.mac;
  o.authenticatedAddress = t.authenticatedAddress;
  o.values = t.values.map(valueJson);
  if (t.manufacturerData) o.manufacturerData = t.manufacturerData;
  if (t.moreRecordsFollow) o.moreRecordsFollow = true;
  if (t.unparsed) o.unparsed = t.unparsed;
  if (t.skippedDifs) o.skippedDifs = t.skippedDifs;
  return o;
}

function errorJson(line: number, e: unknown, input?: InputFrame): Record<string, unknown> {
  if (!(e instanceof MeterError)) throw e; // not a typed error: a bug, reported by the dispatcher as an internal error
  const o: Record<string, unknown> = { line };
  if (input?.timestamp !== undefined) o.timestamp = input.timestamp;
  if (input?.rssi !== undefined) o.rssi = input.rssi;
  if (e.details.meterId !== undefined) {
    o.id = e.details.meterId;
    o.manufacturer = e.details.manufacturer;
  }
  o.error = { code: e.code, message: e.message, details: e.details };
  return o;
}

export interface LineOptions {
  frame: 'auto' | FrameFormat | 'none';
  phy?: 'T1' | 'C1';
}

/**
 * One input line through the receiver to one output JSON line (with its newline), or undefined for
 * a blank or comment line; `ok` says whether the frame decoded.
 */
export function decodeLine(receiver: Receiver, n: number, text: string, options: LineOptions): { json: string; ok: boolean } | undefined {
  const line = text.trim();
  if (line === '' || line.startsWith('#')) return undefined;
  let input: InputFrame | undefined;
  try {
    let t: DecodedTelegram;
    if (options.phy) {
      let stream: Uint8Array;
      try {
        stream = fromHex(line.replace(/^0x/i, ''));
      } catch (e) {
        throw new MeterError('bad-input', (e as Error).message);
      }
      t = receiver.receivePhy(stream, options.phy);
    } else {
      input = parseInputLine(line, options.frame);
      t = receiver.receiveFrame(input.bytes, input.format);
    }
    return { json: JSON.stringify(telegramJson(n, t, input)) + '\n', ok: true };
  } catch (e) {
    return { json: JSON.stringify(errorJson(n, e, input)) + '\n', ok: false };
  }
}

/** The longest input line read: a frame's hex with spaces and an rtlwmbus line's fields are far
 *  shorter (an L field of 255 with CRCs is 1 KB of hex). */
const MAX_LINE = 65_536;

function tooLongLine(n: number, length: number): { json: string; ok: false } {
  const e = new MeterError('bad-input', `a line of ${length} characters: longer than any frame (at most ${MAX_LINE})`, { length });
  return { json: JSON.stringify(errorJson(n, e)) + '\n', ok: false };
}

/** The replay entry's counters and their fields' ranges: AFL message counter (32 bits), access number
 *  (8 bits), ELL session number (29 bits). */
const COUNTER_MAX: Record<string, number> = { messageCounter: 0xffff_ffff, accessNumber: 0xff, sessionNumber: 0x1fff_ffff };

/** `v` as replay entries by slot, or a usage error naming `where` (a file, or a journal line; the
 *  simulator's gateway.json keeps the same state). */
export function replayEntries(v: unknown, where: string): ReplayState {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw usageError(`${where}: not a replay state (a JSON object of meters)`);
  for (const [slot, e] of Object.entries(v)) {
    const ok = typeof e === 'object' && e !== null && !Array.isArray(e) && Object.entries(e).every(([k, x]) => (k === 'meter' ? typeof x === 'string' : typeof x === 'number'));
    if (!ok) throw usageError(`${where}: "${slot}" is not a replay entry (counters as numbers)`);
    // Each counter within its field (a counter past it would refuse every frame of the meter for good).
    for (const [k, x] of Object.entries(e as Record<string, unknown>)) {
      const max = COUNTER_MAX[k];
      if (k !== 'meter' && !(max !== undefined && Number.isInteger(x) && (x as number) >= 0 && (x as number) <= max)) {
        throw usageError(`${where}: "${slot}".${k} ${JSON.stringify(x)} is not ${max === undefined ? 'a replay counter (messageCounter, accessNumber, sessionNumber)' : `an integer from 0 to ${max}`}`);
      }
    }
  }
  return v as ReplayState;
}

/** A file's text (at most MAX_INPUT_FILE: /dev/zero is no state), or undefined if there is none. */
function readText(path: string): string | undefined {
  return existsSync(path) ? new TextDecoder().decode(readInputFile(path)) : undefined;
}

/** Flushes the directory holding `path` (its entries: a file made or renamed there). */
function syncDirectory(path: string): void {
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/** The journal grows to the snapshot's size, but at least this, before the snapshot is written anew. */
const JOURNAL_MIN_BYTES = 1 << 20;

/**
 * The replay state on disk, written in time with the frames and not in proportion to the fleet:
 *  - FILE, a snapshot: a JSON object of replay slots (one a line), as the receiver keeps them;
 *  - FILE.journal: the entries each accepted frame changed, one JSON line a frame, appended and
 *    flushed (fdatasync) once the frame's line is on stdout.
 * Loading applies the journal's lines to the snapshot in order. A last line without its newline is
 * an append a crash cut short: its frame's line was written and its state not, the window a crash
 * between the two always had; it is dropped (and cut off before the next append). When the journal
 * has grown to the snapshot's size, and at the end of the run, the snapshot is written anew
 * (temporary file, fsync, rename, fsync of the directory) and only then the journal emptied: a crash
 * between the two leaves a journal whose entries the new snapshot holds already (the last append
 * was the state the snapshot was made from), so applying it again changes nothing. Rewriting the
 * whole state for every frame took 0.68 s a frame at 600 000 entries.
 */
class ReplayStateFile {
  readonly state: ReplayState;
  private readonly journal: string;
  private fd: number | undefined;
  /** Bytes of complete lines in the journal, and where the last one ends (a torn tail after it). */
  private journalBytes = 0;
  private journalExists = false;
  private snapshotBytes = 0;

  constructor(readonly path: string) {
    this.journal = `${path}.journal`;
    const text = readText(path);
    let state: ReplayState = {};
    if (text !== undefined) {
      let v: unknown;
      try {
        v = JSON.parse(text);
      } catch (e) {
        throw usageError(`${path}: not valid JSON (${(e as Error).message})`);
      }
      state = replayEntries(v, path);
      this.snapshotBytes = Buffer.byteLength(text);
    }
    const log = readText(this.journal);
    if (log !== undefined) {
      this.journalExists = true;
      const complete = log.lastIndexOf('\n') + 1;
      const lines = log.slice(0, complete).split('\n');
      for (let n = 0; n < lines.length - 1; n++) {
        let v: unknown;
        try {
          v = JSON.parse(lines[n]);
        } catch {
          throw usageError(`${this.journal}: line ${n + 1} is not valid JSON (a replay journal has one object a line)`);
        }
        for (const [slot, e] of Object.entries(replayEntries(v, `${this.journal}: line ${n + 1}`))) {
          // defineProperty: a slot named __proto__ stays a slot.
          Object.defineProperty(state, slot, { value: e, enumerable: true, writable: true, configurable: true });
        }
      }
      this.journalBytes = Buffer.byteLength(log.slice(0, complete));
    }
    this.state = state;
  }

  /** Appends the entries of `slots` (the frame just accepted) and flushes them. */
  record(slots: readonly string[]): void {
    let line = '{';
    for (let i = 0; i < slots.length; i++) line += `${i ? ',' : ''}${JSON.stringify(slots[i])}:${JSON.stringify(this.state[slots[i]] as MeterReplayEntry)}`;
    line += '}\n';
    this.guard(() => {
      if (this.fd === undefined) {
        const made = !this.journalExists;
        this.fd = openSync(this.journal, 'a', 0o600);
        this.journalExists = true;
        // A torn last line (a crash mid-append) is cut off, so this line is not glued to it.
        ftruncateSync(this.fd, this.journalBytes);
        // A new journal's name on disk too: else a power cut could lose the file with its lines.
        if (made) syncDirectory(this.path);
      }
      writeSync(this.fd, line);
      fdatasyncSync(this.fd);
    });
    this.journalBytes += Buffer.byteLength(line);
    if (this.journalBytes >= Math.max(JOURNAL_MIN_BYTES, this.snapshotBytes)) this.compact();
  }

  /** The end of the run: the snapshot holds everything, the journal is gone. With `lineLost` (the
   *  last accepted frame's line did not reach stdout) the state in memory holds that frame, which
   *  must be decoded again: snapshot and journal stay as they are, for the next run to apply. */
  close(lineLost = false): void {
    if (lineLost) {
      this.guard(() => {
        if (this.fd !== undefined) closeSync(this.fd);
      });
      this.fd = undefined;
      return;
    }
    if (this.journalExists) {
      this.compact();
      this.guard(() => {
        if (this.fd !== undefined) closeSync(this.fd);
        this.fd = undefined;
        unlinkSync(this.journal);
      });
      this.journalExists = false;
    }
  }

  /** Writes the snapshot so that a kill at any moment leaves the old or the new file, never half;
   *  then empties the journal. */
  private compact(): void {
    const slots = Object.keys(this.state);
    const parts = new Array<string>(slots.length);
    for (let i = 0; i < slots.length; i++) parts[i] = `${JSON.stringify(slots[i])}:${JSON.stringify(this.state[slots[i]])}`;
    const text = slots.length === 0 ? '{}\n' : `{\n${parts.join(',\n')}\n}\n`;
    const tmp = `${this.path}.tmp-${process.pid}`;
    this.guard(() => {
      const fd = openSync(tmp, 'w', 0o600);
      try {
        writeSync(fd, text);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.path);
      // The rename on disk before the journal is emptied: else a power cut could keep neither.
      syncDirectory(this.path);
      if (this.fd !== undefined) {
        ftruncateSync(this.fd, 0);
        fdatasyncSync(this.fd);
      } else if (this.journalExists) {
        // A journal from an earlier run, not opened in this one: emptied the same way.
        const fd = openSync(this.journal, 'r+');
        try {
          ftruncateSync(fd, 0);
          fdatasyncSync(fd);
        } finally {
          closeSync(fd);
        }
      }
    });
    this.journalBytes = 0;
    this.snapshotBytes = Buffer.byteLength(text);
  }

  private guard(write: () => void): void {
    try {
      write();
    } catch (e) {
      if (!isSystemError(e)) throw e;
      // The frame's line was written: it is decoded again next run (its counter not saved).
      throw new CliError(`cannot save the replay state (--state ${this.path}): ${systemReason(e)}`, 2);
    }
  }
}

export const decode: Command = {
  name: 'decode',
  summary: 'verify and decode wireless M-Bus telegrams from stdin (hex or rtlwmbus lines) to JSON',
  help,
  async run(args: string[], io: CliIo): Promise<number> {
    const parsed = parseOptions(
      args,
      {
        key: { type: 'string', multiple: true },
        keys: { type: 'string' },
        frame: { type: 'string' },
        phy: { type: 'string' },
        insecure: { type: 'boolean' },
        'allow-unauthenticated': { type: 'boolean' },
        strict: { type: 'boolean' },
        state: { type: 'string' },
      },
    );
    const o = parsed.values;
    const table: Record<string, MeterKeyEntry> = o.keys ? readKeyFile(o.keys) : {};
    const given = new Set<string>();
    for (const k of o.key ?? []) {
      const m = /^(\d{8}):(.*)$/.exec(k);
      // One key a meter: a --key for an entry of the --keys file would replace it without a word.
      const inFile = (name: string) => o.keys !== undefined && table[name] !== undefined && !given.has(name);
      if (m) {
        if (given.has(m[1])) throw usageError(`two --key options for meter ${m[1]}`);
        if (inFile(m[1])) throw usageError(`--key ${m[1]}:…: --keys ${o.keys} has a key for meter ${m[1]} too: give it once`);
        given.add(m[1]);
        table[m[1]] = { key: parseKey(m[2], `--key ${m[1]}:`) };
      } else if (given.has('*')) throw usageError('only one --key without an ID');
      else if (inFile('*')) throw usageError(`--key without an ID: --keys ${o.keys} has a key for any meter ("*") too: give it once`);
      else {
        given.add('*');
        table['*'] = { key: parseKey(k) };
      }
    }
    if (Object.keys(table).length === 0 && !o.insecure) throw usageError('give --key HEX, --key ID:HEX or --keys FILE (or --insecure)');
    const keys: KeyLookup = (m) => table[`${m.manufacturer}.${m.id}`] ?? table[m.id] ?? table['*'];
    const frame = o.frame ?? 'auto';
    if (frame !== 'auto' && frame !== 'A' && frame !== 'B' && frame !== 'none') throw usageError(`--frame must be auto, A, B or none, got "${frame}"`);
    if (o.phy !== undefined && o.phy !== 'T1' && o.phy !== 'C1') throw usageError(`--phy must be T1 or C1, got "${o.phy}"`);
    // A chip stream says its own frame format (the sync word): --frame would be ignored.
    if (o.phy !== undefined && o.frame !== undefined) throw usageError(`--frame is for hex frames; a --phy ${o.phy} stream's sync word gives its format: drop --frame`);
    checkStdin(io);
    const statePath = o.state;
    if (statePath === '') throw usageError('--state needs a file name');
    // Written after every accepted frame: found out now, not after the first frame.
    if (statePath) checkWritableFile(statePath, '--state');
    // One decoder at a time on a state file: two would each write back their own counters, and the
    // last to write would lower the other's (replays then accepted).
    const lock = statePath === undefined ? undefined : lockPath(`${statePath}.lock`);
    if (lock && 'heldBy' in lock) throw usageError(`${statePath} is in use by process ${lock.heldBy} (another xsmeter decode): wait for it, or stop it`);
    try {
      return await decodeInput(io, { keys, strict: !!o.strict, insecure: !!o.insecure, allowUnauthenticated: !!o['allow-unauthenticated'] }, { frame, phy: o.phy }, statePath);
    } finally {
      lock?.release();
    }
  },
};

/** Decodes stdin's lines to stdout with the receiver so configured, keeping the replay state in `statePath`. */
async function decodeInput(io: CliIo, o: { keys: KeyLookup; strict: boolean; insecure: boolean; allowUnauthenticated: boolean }, lineOptions: LineOptions, statePath: string | undefined): Promise<number> {
  const store = statePath === undefined ? undefined : new ReplayStateFile(statePath);
  const receiver = new Receiver({ crypto: nobleCrypto, keys: o.keys, state: store?.state ?? {}, strict: o.strict, allowPlain: o.insecure, allowUnauthenticated: o.allowUnauthenticated });
  // Ctrl-C or a closed stdout: stop reading (the state of each frame written is saved already).
  const stop = stopSignal(io);
  let n = 0;
  let failed = 0;
  let frames = 0;
  let lineLost = false;
  try {
    for await (const text of inputLines(io.stdin, MAX_LINE, stop)) {
      n++;
      const r = typeof text === 'string' ? decodeLine(receiver, n, text, lineOptions) : tooLongLine(n, text.tooLong);
      if (!r) continue;
      frames++;
      if (!r.ok) failed++;
      if (r.ok && store) {
        // The replay state covers the frames whose line reached stdout: one whose line was lost
        // (a full disk) is decoded again on the next run, not refused as a replay of itself.
        if (!io.stdoutWritten) io.stdout(r.json);
        else if (!(await io.stdoutWritten(r.json))) {
          lineLost = true;
          break;
        }
        if (receiver.acceptedSlots.length > 0) store.record(receiver.acceptedSlots);
      } else io.stdout(r.json);
      // Lines already buffered arrive without a turn of the event loop: give a signal or a closed
      // stdout (EPIPE) the chance to be seen.
      if ((frames & 15) === 0) await new Promise((resolve) => setImmediate(resolve));
      if (stop.aborted) break;
    }
  } finally {
    receiver.close();
  }
  store?.close(lineLost);
  if (failed > 0) {
    io.stderr(`xsmeter decode: ${failed} of ${frames} frames failed\n`);
    return 1;
  }
  return 0;
}

