/**
 * The simulated gateway (the smart meter gateway's wireless M-Bus receiver): decodes what went on
 * the air with the receiver in strict mode, the project's conformance checker for its own meters
 * (modules/wmbus-rx: PHY, CRC, AFL MAC, replay check per meter, decryption, records; anything not
 * conforming is a rejection), keeps the replay state (persistable JSON) and a table of each
 * meter's last values and status (decoded from the TPL status byte and the error-flags record,
 * modules/app/meter-status.ts). A frame that fails is counted by its error code, never dropped
 * silently.
 */
import { MeterError } from '../../modules/core/errors.js';
import { decodeErrorFlags, decodeStatusByte, type MeterStatus } from '../../modules/app/meter-status.js';
import type { WmbusMode } from '../../modules/ports/radio.js';
import { Receiver, type DecodedTelegram } from '../../modules/wmbus-rx/receiver.js';
import type { ReplayState } from '../../modules/wmbus-rx/replay.js';
import { nobleCrypto } from './noble-crypto.js';

/** The values of one decoded telegram the table shows. */
export interface MeterReading {
  importWh?: number;
  exportWh?: number;
  powerW?: number;
  clock?: string;
  /** The error-flags record, decoded. */
  flags?: MeterStatus;
}

export type Verdict = { ok: true; telegram: DecodedTelegram; reading: MeterReading; status: MeterStatus } | { ok: false; code: string; message: string; meterId?: string };

export interface GatewayRow {
  meterId: string;
  telegrams: number;
  rejected: number;
  lastCounter?: number;
  lastAccess?: number;
  reading?: MeterReading;
  status?: MeterStatus;
  /** 'ok' or the code of the last rejected frame. */
  verdict: string;
  lastWallMs?: number;
}

export interface GatewayStats {
  received: number;
  decoded: number;
  rejected: number;
  /** Rejections by error code. */
  byCode: Record<string, number>;
  /** Telegrams whose A+ or A- is below the same meter's previous decoded value (a register never
   *  goes down: lost energy), and of those the ones without the metrology-fault status (a silent loss). */
  registerDrops: number;
  unflaggedDrops: number;
}

/** What --state keeps of the gateway. */
export interface GatewayState {
  replay: ReplayState;
  rows: GatewayRow[];
}

/** `s` as one string: V8 keeps a concatenation as a rope (here four objects) until it is read
 *  character-wise, which flattens it in place; a gateway row keeps its last clock string. */
function flat(s: string): string {
  s.charCodeAt(0);
  return s;
}

/** `flagsOf` decodes the error-flags record (the gateway passes one that shares its results). */
export function readingOf(t: DecodedTelegram, flagsOf: (f: number) => MeterStatus = decodeErrorFlags): MeterReading {
  // What a meter of this project sends in every telegram, in its order (1.8.0, 2.8.0, 16.7.0, the
  // clock, the error flags): one literal. Added one by one, the fifth property went to a backing
  // store of its own (V8), and a row keeps its reading until the next telegram.
  const v = t.values;
  if (v.length === 5) {
    const a = v[0].value;
    const b = v[1].value;
    const c = v[2].value;
    const d = v[3].value;
    const e = v[4].value;
    if (
      v[0].obis === '1.8.0' && typeof a === 'number' &&
      v[1].obis === '2.8.0' && typeof b === 'number' &&
      v[2].obis === '16.7.0' && typeof c === 'number' &&
      v[3].obis === '0-0:1.0.0' && typeof d === 'string' &&
      v[4].obis === '0-0:97.97.0' && typeof e === 'number'
    ) {
      return { importWh: a, exportWh: b, powerW: c, clock: flat(d), flags: flagsOf(e) };
    }
  }
  const r: MeterReading = {};
  for (const v of t.values) {
    if (v.obis === '1.8.0' && typeof v.value === 'number') r.importWh = v.value;
    else if (v.obis === '2.8.0' && typeof v.value === 'number') r.exportWh = v.value;
    else if (v.obis === '16.7.0' && typeof v.value === 'number') r.powerW = v.value;
    else if (v.obis === '0-0:1.0.0' && typeof v.value === 'string') r.clock = flat(v.value);
    else if (v.obis === '0-0:97.97.0' && typeof v.value === 'number') r.flags = flagsOf(v.value);
  }
  return r;
}

interface MeterEntry {
  key: Uint8Array;
  /** rows.get(id), kept here once it exists (rows only grow; a row is never replaced). */
  row: GatewayRow | undefined;
}

/** Bytes of a block of setKey's keys (256 keys). */
const KEY_BLOCK = 4096;

export class SimGateway {
  readonly receiver: Receiver;
  readonly stats: GatewayStats = { received: 0, decoded: 0, rejected: 0, byCode: {}, registerDrops: 0, unflaggedDrops: 0 };
  readonly rows = new Map<string, GatewayRow>();
  /** Each meter's key and (once it has one) its row, by meter id: the receiver asks for the key
   *  with the id it just decoded, and the row of that id is then at hand (one lookup of a fleet-sized
   *  table per telegram, not two). A Map: the id is a new string each telegram, which a property
   *  lookup would first have to find in V8's string table. */
  private readonly meters = new Map<string, MeterEntry>();
  /** Decoded TPL status bytes and error-flags values (0-255) by value, made once and shared by every
   *  row and verdict (frozen): a fleet's meters send the same few, and a new pair of objects per
   *  telegram, kept by its row until the next, is old-generation garbage for V8 (and memory per meter). */
  private readonly statuses: (MeterStatus | undefined)[] = [];
  private readonly flagSets: (MeterStatus | undefined)[] = [];
  private readonly flagsOf = (f: number): MeterStatus => (isByte(f) ? (this.flagSets[f] ??= Object.freeze(decodeErrorFlags(f))) : decodeErrorFlags(f));
  /** The id the receiver last asked a key for, and its entry. */
  private askedId: string | undefined;
  private asked: MeterEntry | undefined;
  /** Where setKey's copies of 16-byte keys live, side by side: a view each, not an array each (a
   *  fleet's gateway holds one per meter; the receiver caches by the array, so views are kept). */
  private keyBlock = new Uint8Array(0);
  private keyBlockUsed = 0;

  /** The last clock text a row took: telegrams arrive in time order and a minute's carry the same
   *  text, so rows share one string rather than each keeping its telegram's (old-generation garbage
   *  in V8 when the next replaces it). */
  private lastClock = '';

  /** `cachedKeys`: master-key handles the receiver keeps (default: one per meter until releaseKeys). */
  constructor(options: { keys?: Record<string, Uint8Array>; state?: GatewayState; allowPlain?: boolean; cachedKeys?: number } = {}) {
    for (const [id, key] of Object.entries(options.keys ?? {})) this.meters.set(id, { key, row: undefined });
    this.receiver = new Receiver({
      crypto: nobleCrypto,
      keys: (m) => {
        const e = this.meters.get(m.id);
        this.askedId = m.id;
        this.asked = e;
        return e?.key;
      },
      state: options.state ? structuredCloneReplay(options.state.replay) : {},
      strict: true,
      allowPlain: options.allowPlain ?? true,
      // The simulation's meters use whatever mode the user chose (--mode 5 included): the gateway is
      // configured for them, as an SMGW is for the meters registered with it.
      allowUnauthenticated: true,
      // By default a handle per meter it has a key for, within an epoch (releaseKeys drops them
      // after it): a fleet's gateway serves every meter every 15 minutes, so a bounded cache (oldest
      // out) misses on every telegram once the fleet outgrows it. The runner bounds it when a meter
      // sends at most once an epoch: then a kept handle is never used again.
      maxCachedKeys: options.cachedKeys ?? Infinity,
    });
    for (const r of options.state?.rows ?? []) this.rows.set(r.meterId, { ...r });
  }

  /** Drops the receiver's key handles (the runner calls it after each epoch's telegrams): each
   *  meter's is made again for its next telegram. ~0.5 KB less per meter between epochs. */
  releaseKeys(): void {
    this.receiver.dropCachedKeys();
  }

  /** Adds or replaces a meter's key (by its 8-digit id). */
  setKey(meterId: string, key: Uint8Array): void {
    if (key.length !== 16) {
      this.putKey(meterId, key.slice());
      return;
    }
    if (this.keyBlockUsed + 16 > this.keyBlock.length) {
      this.keyBlock = new Uint8Array(KEY_BLOCK);
      this.keyBlockUsed = 0;
    }
    const k = this.keyBlock.subarray(this.keyBlockUsed, this.keyBlockUsed + 16);
    k.set(key);
    this.keyBlockUsed += 16;
    this.putKey(meterId, k);
  }

  private putKey(meterId: string, key: Uint8Array): void {
    const e = this.meters.get(meterId);
    if (e) e.key = key;
    else this.meters.set(meterId, { key, row: this.rows.get(meterId) });
  }

  private row(id: string): GatewayRow {
    // The meter the receiver just asked a key for, as a rule: its entry holds the row.
    const e = id === this.askedId ? this.asked : undefined;
    if (e?.row) return e.row;
    let r = this.rows.get(id);
    if (!r) {
      r = { meterId: id, telegrams: 0, rejected: 0, verdict: '-' };
      this.rows.set(id, r);
    }
    if (e) e.row = r;
    return r;
  }

  /** Receives one on-air PHY stream. `meterId` (if known to the caller) files a rejection under it. */
  receive(stream: Uint8Array, mode: WmbusMode, wallMs?: number, meterId?: string): Verdict {
    this.stats.received++;
    this.askedId = undefined;
    this.asked = undefined;
    let t: DecodedTelegram;
    try {
      t = this.receiver.receivePhy(stream, mode);
    } catch (e) {
      if (!(e instanceof MeterError)) throw e;
      this.stats.rejected++;
      this.stats.byCode[e.code] = (this.stats.byCode[e.code] ?? 0) + 1;
      if (meterId) {
        const r = this.row(meterId);
        r.rejected++;
        r.verdict = e.code;
      }
      return { ok: false, code: e.code, message: e.message, meterId };
    }
    this.stats.decoded++;
    const reading = readingOf(t, this.flagsOf);
    const b = t.status ?? 0; // strict: every telegram has a TPL header
    const status = isByte(b) ? (this.statuses[b] ??= Object.freeze(decodeStatusByte(b))) : decodeStatusByte(b);
    const r = this.row(t.meter.id);
    r.telegrams++;
    r.lastCounter = t.messageCounter;
    r.lastAccess = t.accessNumber;
    const was = r.reading; // the row's last reading (kept across runs with --state)
    if (was && ((was.importWh !== undefined && reading.importWh !== undefined && reading.importWh < was.importWh) || (was.exportWh !== undefined && reading.exportWh !== undefined && reading.exportWh < was.exportWh))) {
      this.stats.registerDrops++;
      if (!status.metrologyFault) this.stats.unflaggedDrops++;
    }
    this.keep(r, reading);
    r.status = status;
    r.verdict = 'ok';
    if (wallMs !== undefined) r.lastWallMs = wallMs;
    return { ok: true, telegram: t, reading, status };
  }

  /** Keeps `reading` as the row's: copied into the row's own when both have the five values a meter
   *  of this project sends (the verdict's reading dies young; the row's is not replaced by a new
   *  object every telegram), else the row takes it. */
  private keep(r: GatewayRow, reading: MeterReading): void {
    const clock = reading.clock;
    if (clock !== undefined) {
      if (clock === this.lastClock) reading.clock = this.lastClock;
      else this.lastClock = clock;
    }
    const k = r.reading;
    if (k && fullReading(k) && fullReading(reading)) {
      k.importWh = reading.importWh;
      k.exportWh = reading.exportWh;
      k.powerW = reading.powerW;
      k.clock = reading.clock;
      k.flags = reading.flags;
    } else r.reading = fullReading(reading) ? { ...reading } : reading;
  }

  state(): GatewayState {
    return { replay: structuredCloneReplay(this.receiver.state), rows: [...this.rows.values()].map((r) => ({ ...r })) };
  }
}

/** Whether `r` has the five values a meter of this project sends. */
function fullReading(r: MeterReading): boolean {
  return r.importWh !== undefined && r.exportWh !== undefined && r.powerW !== undefined && r.clock !== undefined && r.flags !== undefined;
}

function isByte(v: number): boolean {
  return (v & 0xff) === v;
}

function structuredCloneReplay(s: ReplayState): ReplayState {
  const out: ReplayState = {};
  for (const k of Object.keys(s)) out[k] = { ...s[k] };
  return out;
}
