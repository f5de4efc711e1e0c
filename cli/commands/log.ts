/** `xsmeter log`: show, verify and export calibration logs (and make a simulated meter's log). */
import { lstatSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { equalConstantTime, fromHex, readU32LE, toHex } from '../../modules/core/bytes.js';
import { crc32 } from '../../modules/core/crc32.js';
import { MeterError } from '../../modules/core/errors.js';
import { isoTime } from '../../modules/core/iso-time.js';
import type { Level } from '../../modules/ports/bus.js';
import { CalibrationLog } from '../../modules/sealing/calibration-log.js';
import { exportToBinary, exportToJson, readExport, verifyExport, type ReadExport } from '../../modules/sealing/log-export.js';
import { decodeIdentity, decodeRecord, type LogEntry } from '../../modules/sealing/log-record.js';
import { LogVerifyError } from '../../modules/sealing/errors.js';
import type { VerifyResult } from '../../modules/sealing/log-verify.js';
import { SealGuard, UNSEAL_BAD_MAC, UNSEAL_STALE, UNSEAL_SWITCH_NOT_SET } from '../../modules/sealing/seal.js';
import { makeUnsealCommand } from '../../modules/sealing/unseal-command.js';
import { AppendLog } from '../../modules/storage/append-log.js';
import { StorageError } from '../../modules/storage/errors.js';
import { placePartition, storeMagic } from '../../modules/storage/flash-map.js';
import { FlashRegion } from '../../modules/storage/flash-region.js';
import { FRAME_OVERHEAD, SECTOR_HEADER_SIZE, committedFrameAt, damagedFrameAt, headerSeq, magicOf, scanSector } from '../../modules/storage/frame.js';
import { makeDirectory } from '../../hosts/sim/directory.js';
import { SimFlash } from '../../hosts/sim/sim-flash.js';
import { SimKeyStore, isSimKeysFile } from '../../hosts/sim/sim-key-store.js';
import { CliError, checkWritableFile, decimalInteger, escapeControls, parseOptions, readInputFile, readJsonFile, sameFile, usageError, type CliIo, type Command } from '../command.js';
import { nobleCrypto } from '../../hosts/sim/noble-crypto.js';
import { pubkeyOption } from '../pubkey-option.js';

const help = `usage: xsmeter log <show|verify|export|demo> …

  xsmeter log verify FILE --pubkey HEX
      Verifies an exported calibration log (JSON or binary) with the device public key (33 bytes,
      compressed, hex): record format, device binding, event counters, the SHA-256 chain, every
      ECDSA P-256 signature, the signed export head (count, last record) and, in JSON, that the
      readable fields match the signed records. Prints "ok" and a summary, or the first bad record
      and why. Exit code 0 only when everything verifies (1 also for another device's key, which
      the file cannot be told from); 2 when --pubkey is no P-256 point.
  xsmeter log show FILE [--pubkey HEX] [--json]
      Prints the records as a table (or JSON lines) and verifies them as above. Without --pubkey it
      checks against the key written in the file, which proves integrity but not origin (it says so).
  xsmeter log export --image FILE --keys FILE [--sector-size N] [--first-sector N] [--sectors N]
                     [--format json|bin] [--out FILE]
      Reads the log of a simulated meter from the image of its calibration partition (as 'log demo'
      and 'sim --state DIR' write it: calibration.bin) and exports it, with a head signed by the
      meter's key (from the simulator's key file). The log's sectors are where the flash map puts
      them (--first-sector and --sectors override). Default: JSON to stdout.
  xsmeter log demo --out DIR [--force]
      Makes a simulated meter (flash image, key file) with a short history: calibration, seal,
      refused write, refused unseal, authorised unseal, new constant, seal again; writes
      DIR/flash.bin, DIR/keys.json, DIR/log.json, DIR/log.bin and prints the public key. A DIR that
      already holds one of these (another meter's keys) is refused unless --force replaces them.
`;

const GEOMETRY = { sectorSize: 4096, sectorCount: 16 };
const LOG_MAGIC = storeMagic('calibrationLog');

/** The calibration log's sectors of a calibration partition: the flash map's, unless given. */
function logRegion(partition: SimFlash, first: unknown, sectors: unknown): FlashRegion {
  if (first === undefined && sectors === undefined) {
    let places: ReturnType<typeof placePartition>;
    try {
      places = placePartition('calibration', partition.sectorCount);
    } catch (e) {
      if (!(e instanceof MeterError)) throw e;
      throw usageError(`the image is not a calibration partition: ${e.message}`); // (too small for its stores)
    }
    const place = places.find((s) => s.store === 'calibrationLog')!;
    return new FlashRegion(partition, place.firstSector, place.sectorCount);
  }
  const firstSector = intOption(first, 'first-sector', 0);
  const count = intOption(sectors, 'sectors', partition.sectorCount - firstSector);
  // (An append log needs two sectors: one to compact into.)
  if (firstSector >= partition.sectorCount || count < 2 || firstSector + count > partition.sectorCount) {
    throw usageError(`--first-sector ${firstSector}${sectors === undefined ? '' : ` --sectors ${count}`} does not fit the image's sectors 0…${partition.sectorCount - 1} (a log takes at least 2)`);
  }
  return new FlashRegion(partition, firstSector, count);
}

/** An export read from `path`: a file that is no export is unusable input (exit 2); one damaged after its beginning is a log that does not verify (exit 1). */
function readExportFile(path: string): ReadExport {
  const bytes = readInputFile(path);
  try {
    return readExport(bytes);
  } catch (e) {
    if (!(e instanceof LogVerifyError)) throw e;
    throw new CliError(`${path}: ${e.message}`, e.details.notAnExport ? 2 : 1);
  }
}

function faultLine(r: VerifyResult, exp: ReadExport): string {
  const f = r.fault!;
  if (f.record < 0) return `FAULT in the export: ${f.code}: ${f.reason}`;
  let counter = '';
  try {
    counter = f.record < exp.records.length ? ` (counter ${decodeRecord(exp.records[f.record]).counter})` : '';
  } catch {
    // undecodable: the index names it
  }
  return `FAULT at record ${f.record}${counter}: ${f.code}: ${f.reason}`;
}

function summary(r: VerifyResult, exp: ReadExport): string {
  const last = r.entries[r.entries.length - 1];
  return `ok: ${r.entries.length} records of device ${r.deviceId}, event counter ${last.counter}, exported ${isoTime(exp.head.exportedAt)}`;
}

function describeValue(v: Uint8Array): string {
  return v.length === 0 ? '-' : toHex(v);
}

function row(e: LogEntry): string {
  let detail = `param ${e.parameter} ${describeValue(e.oldValue)} -> ${describeValue(e.newValue)}`;
  if (e.type === 'log-init') {
    const id = decodeIdentity(e.newValue);
    detail = `device ${id.deviceId} key ${toHex(id.publicKey)}`;
  } else if (e.type === 'seal') detail = `constants digest ${toHex(e.newValue)}`;
  else if (e.type === 'unseal' && e.newValue.length === 4) detail = `authorised (command for counter ${readU32LE(e.newValue, 0)})`;
  else if (e.type === 'tamper') detail = `sealed digest ${toHex(e.oldValue)} active ${toHex(e.newValue)}`;
  else if ((e.type === 'unseal-attempt' || e.type === 'auth-failure') && e.parameter === 0 && e.newValue.length === 1) {
    const f = e.newValue[0];
    const reasons = [f & UNSEAL_SWITCH_NOT_SET ? 'switch not set' : '', f & UNSEAL_STALE ? 'stale command' : '', f & UNSEAL_BAD_MAC ? 'bad MAC' : ''].filter(Boolean);
    detail = `unseal refused: ${reasons.join(', ')}`;
  } else if (e.type === 'auth-failure') detail = `write refused while sealed: param ${e.parameter} ${describeValue(e.oldValue)} -> ${describeValue(e.newValue)}`;
  return `${String(e.counter).padStart(6)}  ${isoTime(e.time)}  ${e.type.padEnd(18)}  ${e.who.padEnd(12)}  ${detail}`;
}

async function verifyCmd(args: string[], io: CliIo, show: boolean): Promise<number> {
  const { values, positionals } = parseOptions(args, { pubkey: { type: 'string' }, json: { type: 'boolean' } }, true);
  if (positionals.length !== 1) throw new CliError(`${show ? 'show' : 'verify'} takes one FILE`, 2);
  const given = pubkeyOption(values.pubkey as string | undefined);
  if (!show && !given) throw new CliError('verify needs --pubkey HEX (the device public key, from a trusted source)', 2);
  const exp = readExportFile(positionals[0]);
  // A key other than the one the file names fails verification (exit 1), whoever is wrong: the
  // file is what is being checked, so what it claims cannot tell a mistyped key from a forged log.
  const r = verifyExport(nobleCrypto, exp, given ?? exp.publicKey);
  if (show) {
    if (values.json) {
      for (const raw of exp.records) {
        try {
          const e = decodeRecord(raw);
          io.stdout(JSON.stringify({ counter: e.counter, time: isoTime(e.time), event: e.type, parameter: e.parameter, old: toHex(e.oldValue), new: toHex(e.newValue), who: e.who }) + '\n');
        } catch {
          io.stdout(JSON.stringify({ undecodable: toHex(raw) }) + '\n');
        }
      }
    } else {
      io.stdout(`counter  time                      event               who           details\n`);
      for (const raw of exp.records) {
        try {
          io.stdout(row(decodeRecord(raw)) + '\n');
        } catch (e) {
          if (!(e instanceof MeterError)) throw e;
          io.stdout(`     ?  (undecodable record: ${e.message})\n`);
        }
      }
    }
    if (!given) io.stderr('note: checked against the public key written in the file (integrity only); pass --pubkey to check origin\n');
  }
  if (!r.ok) {
    io.stderr(escapeControls(faultLine(r, exp)) + '\n'); // (its reason may quote the file)
    return 1;
  }
  (show ? io.stderr : io.stdout)(summary(r, exp) + '\n');
  return 0;
}

function intOption(v: unknown, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = decimalInteger(typeof v === 'string' ? v : undefined);
  if (!Number.isInteger(n) || n < 0) throw new CliError(`--${name} must be a non-negative integer`, 2);
  return n;
}

function readKeys(path: string): SimKeyStore {
  const file = readJsonFile(path);
  if (!isSimKeysFile(file)) throw usageError(`${path}: not a simulator key file (meterKey, benchKey: 32 hex digits; signingKey: 64)`);
  try {
    return SimKeyStore.fromFile(file);
  } catch (e) {
    throw usageError(`${path}: not a simulator key file (${(e as Error).message})`);
  }
}

async function exportCmd(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseOptions(args, {
    image: { type: 'string' },
    keys: { type: 'string' },
    'sector-size': { type: 'string' },
    'first-sector': { type: 'string' },
    sectors: { type: 'string' },
    format: { type: 'string' },
    out: { type: 'string' },
  }, true);
  if (positionals.length > 0 || !values.image || !values.keys) throw new CliError('export needs --image FILE and --keys FILE', 2);
  const format = (values.format as string | undefined) ?? 'json';
  if (format !== 'json' && format !== 'bin') throw new CliError('--format is json or bin', 2);
  if (format === 'bin' && !values.out) throw new CliError('--format bin needs --out FILE', 2);
  const image = readInputFile(values.image as string);
  const sectorSize = intOption(values['sector-size'], 'sector-size', GEOMETRY.sectorSize);
  if (sectorSize === 0 || image.length % sectorSize !== 0) throw usageError(`image of ${image.length} bytes is not a whole number of ${sectorSize}-byte sectors`);
  const partition = new SimFlash({ sectorSize, sectorCount: image.length / sectorSize, image });
  const flash = logRegion(partition, values['first-sector'], values.sectors);
  const keys = readKeys(values.keys as string);
  if (values.out) {
    for (const opt of ['image', 'keys'] as const) {
      if (sameFile(values.out as string, values[opt] as string)) throw usageError(`--out ${values.out as string} is the --${opt} file: the export would overwrite what it reads`);
    }
    checkWritableFile(values.out as string, '--out');
  }
  let store: AppendLog;
  try {
    store = AppendLog.open({ flash, magic: LOG_MAGIC });
  } catch (e) {
    // (A sector too small for one record: a size no log was written with, an option to correct.)
    if (e instanceof StorageError && e.code === 'geometry') throw usageError(`--sector-size ${sectorSize}: ${e.message}`);
    throw e;
  }
  const raws = store.readAll();
  const magic = magicOf(LOG_MAGIC);
  const mismatch = sectorSizeMismatch(flash, magic);
  if (mismatch) {
    throw usageError(`${values.image as string}: ${mismatch.evidence}: the log was written with ${mismatch.larger ? 'larger' : 'smaller'} sectors than --sector-size ${flash.sectorSize}, the export would miss records`);
  }
  const given = values['first-sector'] !== undefined || values.sectors !== undefined;
  const outside = regionMismatch(image, flash, magic, given);
  if (outside) throw usageError(`${values.image as string}: ${outside}`);
  // Every sector of a log's region is the log's or erased (a cut erase leaves at most one that is
  // neither): more, and the region is not the one the log was written with.
  const size = flash.sectorSize;
  const held = new Set(store.seqs());
  let foreign = 0;
  const damaged: string[] = [];
  const unread: string[] = [];
  for (let i = 0; i < flash.sectorCount; i++) {
    const body = flash.read(i * size, size);
    const scan = scanSector(body, magic);
    if (scan.seq < 0 && !scan.blank) {
      foreign++;
      // A cut erase leaves copies of records held elsewhere at most; a record held nowhere else
      // is one the export would leave out (a sector header damaged).
      const seqs = unheldRecords(body, held);
      if (seqs.length > 0) unread.push(`sector ${flash.firstSector + i}: ${seqs.length} ${seqs.length === 1 ? 'record' : 'records'}`);
    }
    // Where a sector's records end in bytes that are no record: a write cut by a power loss (its
    // commit byte still erased), or a committed record altered since, which the log reads as torn.
    if (scan.closed && damagedFrameAt(body, scan.end)) damaged.push(`sector ${flash.firstSector + i} byte ${scan.end}`);
  }
  if (damaged.length > 0) {
    throw new CliError(`${values.image as string}: a committed record is damaged (${damaged.join(', ')}: its CRC does not check): the export would leave it out`, 1);
  }
  if (unread.length > 0) {
    throw new CliError(`${values.image as string}: records the log does not hold lie in sectors without a valid log header (${unread.join(', ')}): the export would leave them out`, 1);
  }
  const notLogs = `${foreign} of the ${flash.sectorCount} sectors are neither the log's nor erased`;
  if (foreign > 1 && raws.length > 0) {
    throw new CliError(`${values.image as string}: ${notLogs}: not the sectors the log was written with, the export would miss records`, 1);
  }
  if (foreign === 1) io.stderr(`warning: ${notLogs} (an erase cut short: it holds no record the log lacks)\n`);
  if (raws.length === 0) throw usageError(`${values.image as string}: the image holds no calibration log (no "${LOG_MAGIC}" sectors at sectors ${flash.firstSector}..${flash.firstSector + flash.sectorCount - 1}: blank, another partition, or an older flash format)`);
  const { deviceId, publicKey } = logStart(raws[0], values.image as string);
  // Another meter's keys would sign a head the log's own key does not verify.
  if (!equalConstantTime(keys.devicePublicKey(), publicKey)) {
    throw usageError(`--keys ${values.keys as string} is not the key file of device ${deviceId}: its log was started by ${toHex(publicKey)}, the file's key is ${toHex(keys.devicePublicKey())}`);
  }
  const log = CalibrationLog.open({ flash, keys, crypto: nobleCrypto, clock: { ticks: () => Date.now(), now: () => Date.now() }, deviceId });
  if (log.fault) io.stderr(`warning: the stored log does not verify: record ${log.fault.record}: ${log.fault.code}: ${escapeControls(log.fault.reason)}\n`);
  const exp = log.export();
  const bytes = format === 'json' ? new TextEncoder().encode(exportToJson(exp)) : exportToBinary(exp);
  if (values.out) writeFileSync(values.out as string, bytes);
  else io.stdout(new TextDecoder().decode(bytes));
  return log.fault ? 1 : 0;
}

/**
 * Why the log in `flash` cannot have been written with its sector size, or undefined. The log's
 * writer begins every sector with a header and never lets a record cross a sector's end, so a header
 * inside a sector shows smaller sectors, and a record crossing a sector's end (or a sector beginning
 * with a record) larger ones: read with either, the log would lose the records beyond.
 */
function sectorSizeMismatch(flash: FlashRegion, magic: number): { evidence: string; larger: boolean } | undefined {
  const size = flash.sectorSize;
  const bytes = flash.read(0, size * flash.sectorCount);
  for (let i = 0; i < flash.sectorCount; i++) {
    const start = i * size;
    const sector = flash.firstSector + i;
    for (let p = start + 1; p + SECTOR_HEADER_SIZE <= start + size; p++) {
      if (bytes[p] === (magic & 0xff) && headerSeq(bytes.subarray(p, p + SECTOR_HEADER_SIZE), magic) >= 0) {
        return { evidence: `a log sector header at byte ${p - start} of sector ${sector}`, larger: false };
      }
    }
    const body = bytes.subarray(start, start + size);
    if (headerSeq(body, magic) < 0 && committedFrameAt(bytes, start) > 0) {
      return { evidence: `sector ${sector} begins with a record, not a header`, larger: true };
    }
    const scan = scanSector(body, magic);
    const length = scan.seq < 0 ? -1 : committedFrameAt(bytes, start + scan.end);
    if (length > 0 && scan.end + length + FRAME_OVERHEAD > size) {
      return { evidence: `the record at byte ${scan.end} of sector ${sector} runs past the sector's end`, larger: true };
    }
  }
  return undefined;
}

/**
 * Why the region is not the one the log was written with, or undefined: a sector of it that begins
 * with another store's header (valid, its CRC checking: no damage makes one), or a log sector outside
 * it. Either is the options' (or the image's) mistake, whatever the sectors hold; a log damaged in
 * place shows neither.
 */
function regionMismatch(image: Uint8Array, region: FlashRegion, magic: number, given: boolean): string | undefined {
  const size = region.sectorSize;
  const last = region.firstSector + region.sectorCount - 1;
  const range = given ? `--first-sector ${region.firstSector} --sectors ${region.sectorCount} (sectors ${region.firstSector}…${last})` : `the flash map's log sectors ${region.firstSector}…${last}`;
  for (let i = 0; i < image.length / size; i++) {
    const body = image.subarray(i * size, (i + 1) * size);
    const inside = i >= region.firstSector && i <= last;
    const other = inside ? otherStoreTag(body, magic) : undefined;
    if (other !== undefined) return `sector ${i} of ${range} holds another store ("${other}"), not the log: not the sectors the log was written with`;
    if (!inside && headerSeq(body, magic) >= 0) return `sector ${i}, outside ${range}, is a log sector: the log is not all within them, the export would miss records`;
  }
  return undefined;
}

/** The store tag of a valid sector header at the start of `body` naming another magic than `magic`. */
function otherStoreTag(body: Uint8Array, magic: number): string | undefined {
  const m = readU32LE(body, 0);
  if (m === magic || readU32LE(body, 8) !== crc32(body, 0, 8)) return undefined;
  const tag = String.fromCharCode(m & 0xff, (m >>> 8) & 0xff, (m >>> 16) & 0xff, m >>> 24);
  return /^[\x21-\x7e]{4}$/.test(tag) ? tag : undefined;
}

/**
 * The device the log's first record binds. The region holds every log sector of the image (checked
 * before), so a first record that is not the log-init record is a log whose start was lost: exit 1.
 */
function logStart(raw: Uint8Array, image: string): { deviceId: string; publicKey: Uint8Array } {
  let first: LogEntry;
  try {
    first = decodeRecord(raw);
  } catch (e) {
    if (!(e instanceof MeterError)) throw e;
    throw new CliError(`${image}: the log's first record cannot be read (${e.message}): the export cannot name the device`, 1);
  }
  if (first.type !== 'log-init') throw new CliError(`${image}: the log's first record is #${first.counter} (${first.type}), not its log-init record: the log's start is lost (its sector damaged or erased), the export cannot name the device`, 1);
  try {
    return decodeIdentity(first.newValue);
  } catch (e) {
    if (!(e instanceof MeterError)) throw e;
    throw new CliError(`${image}: the log's log-init record does not name the device (${e.message})`, 1);
  }
}

/** The seqs of committed records in a sector's bytes, at any offset, that `held` lacks. */
function unheldRecords(body: Uint8Array, held: ReadonlySet<number>): number[] {
  const seqs: number[] = [];
  for (let p = 0; p + FRAME_OVERHEAD < body.length; p++) {
    const length = committedFrameAt(body, p);
    if (length < 0) continue;
    const seq = readU32LE(body, p + 2);
    if (!held.has(seq)) seqs.push(seq);
    p += length + FRAME_OVERHEAD - 1;
  }
  return seqs;
}

/** What `log demo` writes into its DIR. */
const DEMO_FILES = ['flash.bin', 'keys.json', 'log.json', 'log.bin'] as const;

/** Whether anything is at `path`, a dangling link included. */
function pathExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e; // (a system error: one line naming the path)
  }
}

async function demoCmd(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseOptions(args, { out: { type: 'string' }, force: { type: 'boolean' } }, true);
  if (positionals.length > 0 || !values.out) throw new CliError('demo needs --out DIR', 2);
  const dir = values.out as string;
  makeDirectory(dir);
  // The files of a meter made before, its keys among them: replaced only when asked to (--force).
  const present = DEMO_FILES.filter((name) => pathExists(join(dir, name)));
  if (present.length > 0 && !values.force) {
    throw usageError(`--out ${dir} already holds ${present.join(', ')} (a meter made before): give a new or empty DIR, or --force to replace them`);
  }
  // (Without --force, exclusively: one made meanwhile is not replaced either.)
  const write = (name: (typeof DEMO_FILES)[number], data: string | Uint8Array) => writeFileSync(join(dir, name), data, { flag: values.force ? 'w' : 'wx' });
  const keys = SimKeyStore.generate();
  const partition = new SimFlash(GEOMETRY);
  const flash = logRegion(partition, undefined, undefined);
  let t = Date.now() - 3600_000;
  const clock = { ticks: () => t, now: () => (t += 61_000) };
  const log = CalibrationLog.open({ flash, keys, crypto: nobleCrypto, clock, deviceId: 'XSM-00000001' });
  const constants = new Map<number, Uint8Array>([[1, fromHex('4000')], [2, fromHex('4000')], [3, fromHex('0000')]]);
  let level: Level = 1;
  const guard = new SealGuard({
    log,
    keys,
    crypto: nobleCrypto,
    calibrationSwitch: { read: () => level },
    constants: { list: () => [...constants].map(([id, value]) => ({ id, value })), apply: (id, v) => void constants.set(id, v) },
  });
  guard.writeConstant(1, fromHex('40a2'), 'bench-01');
  guard.writeConstant(2, fromHex('3fd1'), 'bench-01');
  guard.seal('bench-01');
  const attempt = (f: () => void) => {
    try {
      f();
    } catch (e) {
      if (!(e instanceof MeterError)) throw e;
    }
  };
  attempt(() => guard.writeConstant(3, fromHex('0010'), 'service'));
  level = 0;
  attempt(() => guard.unseal(makeUnsealCommand(nobleCrypto, keys.benchKey(), guard.unsealChallenge()), 'service'));
  level = 1;
  guard.unseal(makeUnsealCommand(nobleCrypto, keys.benchKey(), guard.unsealChallenge()), 'bench-02');
  guard.writeConstant(3, fromHex('0010'), 'bench-02');
  guard.seal('bench-02');
  const exp = log.export();
  write('flash.bin', partition.image());
  write('keys.json', JSON.stringify(keys.toFile(), null, 2) + '\n');
  write('log.json', exportToJson(exp));
  write('log.bin', exportToBinary(exp));
  io.stdout(`${toHex(keys.devicePublicKey())}\n`);
  return 0;
}

export const log: Command = {
  name: 'log',
  summary: 'show, verify and export a signed calibration log (xsmeter log --help)',
  help,
  async run(args: string[], io: CliIo): Promise<number> {
    const [sub, ...rest] = args;
    switch (sub) {
      case 'verify':
        return verifyCmd(rest, io, false);
      case 'show':
        return verifyCmd(rest, io, true);
      case 'export':
        return exportCmd(rest, io);
      case 'demo':
        return demoCmd(rest, io);
      default:
        throw new CliError(sub ? `unknown log command "${sub}" (show, verify, export, demo)` : 'which log command? (show, verify, export, demo)', 2);
    }
  },
};
