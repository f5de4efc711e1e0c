/**
 * The registers as SML valList entries, for the optical push and the LMN responder alike: the
 * meter's registers come through the narrow `RegisterSource` (the meter application implements it;
 * nothing here knows MeterApp), and `ValListBuilder` turns them into entries it keeps and updates in
 * place, so a file per second allocates no entries.
 *
 * Each list starts with the manufacturer (129-129:199.130.3*255, the FLAG code as text) and the
 * server ID (1-0:0.0.9*255), then the readings in the source's order: energy registers (x.8.y) in Wh
 * (DLMS unit 30), power (x.7.0) in W (27), voltages in V, currents in A (units.ts). Values go out as
 * SML Integers with the reading's scaler (default 0: whole Wh, whole W). The meter's status word
 * rides on 1-0:1.8.0, where German meters put theirs.
 */
import { SmlError } from './errors.js';
import type { SmlListEntry } from './messages.js';
import { obisBytes } from './obis.js';
import { unitOfRegister } from './units.js';

/** One register value as the meter hands it to SML. */
export interface SmlReading {
  /** OBIS code: '1.8.0' (1-0:1.8.0*255), '2.8.1', '16.7.0', or in full ('1-0:1.8.0*255'). */
  obis: string;
  /** An integer: the quantity is value × 10^scaler in the register's unit (Wh, W, V, A). */
  value: number | bigint;
  /** Power of ten (default 0). */
  scaler?: number;
}

/** The meter's registers as the SML interfaces read them. */
export interface RegisterSource {
  /** The registers now; called once per file. May return the same array each time, updated in place. */
  readings(): readonly SmlReading[];
  /** The meter's status word (its error flags, 0-0:97.97.0), sent as the status of 1-0:1.8.0. */
  status(): number;
}

/** 129-129:199.130.3*255: manufacturer (the valList's first entry on German meters). */
export const OBIS_MANUFACTURER = Object.freeze([0x81, 0x81, 0xc7, 0x82, 0x03, 0xff]);
/** 1-0:0.0.9*255: the server ID (device identification). */
export const OBIS_SERVER_ID = Object.freeze([0x01, 0x00, 0x00, 0x00, 0x09, 0xff]);
/** The list name German meters give their current-values list (1-0:98.10.255*255, 0100620AFFFF). */
export const LIST_NAME_CURRENT = Object.freeze([0x01, 0x00, 0x62, 0x0a, 0xff, 0xff]);

/** Registers the optical info interface shows without the PIN: energy totals and tariffs, A+ and A-
 *  (1-0:1.8.t, 1-0:2.8.t). Everything else — power above all — is detail. */
export function isPublicRegister(objName: Uint8Array): boolean {
  return objName[0] === 1 && objName[1] === 0 && (objName[2] === 1 || objName[2] === 2) && objName[3] === 8;
}

/** Flags of a register the builder keeps. */
const PUBLIC = 1;
/** 1-0:1.8.0: carries the status word. */
const STATUS = 2;

export interface ValListOptions {
  serverId: Uint8Array;
  /** FLAG manufacturer code, e.g. 'XSM'. */
  manufacturer: string;
  /** Distinct OBIS codes the source may ever name (default 32): bounds what the builder keeps. */
  maxRegisters?: number;
}

export class ValListBuilder {
  /** The list `build` fills: the same array every time. */
  readonly entries: SmlListEntry[] = [];
  private readonly fixed: readonly SmlListEntry[];
  /** The registers seen so far, in order: OBIS as the source names it, its entry, its flags. */
  private readonly names: string[] = [];
  private readonly kept: SmlListEntry[] = [];
  private readonly flags: Uint8Array;

  constructor(options: ValListOptions) {
    const text = new Uint8Array(options.manufacturer.length);
    for (let i = 0; i < text.length; i++) text[i] = options.manufacturer.charCodeAt(i) & 0xff;
    this.fixed = [
      { objName: Uint8Array.from(OBIS_MANUFACTURER), value: text },
      { objName: Uint8Array.from(OBIS_SERVER_ID), value: options.serverId },
    ];
    this.flags = new Uint8Array(options.maxRegisters ?? 32);
  }

  /** Where the register `obis` is kept; `hint` is where it was last time (sources keep their order). */
  private slot(obis: string, hint: number): number {
    const names = this.names;
    if (hint < names.length && names[hint] === obis) return hint;
    for (let i = 0; i < names.length; i++) if (names[i] === obis) return i;
    if (names.length >= this.flags.length) {
      throw new SmlError('range', `more than ${this.flags.length} distinct registers`, { obis, max: this.flags.length });
    }
    const objName = obisBytes(obis);
    const entry: SmlListEntry = { objName, value: 0, scaler: 0 };
    const unit = objName[0] === 1 ? unitOfRegister(objName[2], objName[3]) : undefined;
    if (unit !== undefined) entry.unit = unit;
    const status = objName[0] === 1 && objName[1] === 0 && objName[2] === 1 && objName[3] === 8 && objName[4] === 0 && objName[5] === 255;
    this.flags[names.length] = (isPublicRegister(objName) ? PUBLIC : 0) | (status ? STATUS : 0);
    this.kept.push(entry);
    names.push(obis);
    return names.length - 1;
  }

  /** The valList now: the fixed entries, then every reading (only public ones unless `detail`). */
  build(source: RegisterSource, detail: boolean): SmlListEntry[] {
    const list = this.entries;
    let n = 0;
    for (let i = 0; i < this.fixed.length; i++) list[n++] = this.fixed[i];
    const status = source.status();
    const readings = source.readings();
    for (let i = 0; i < readings.length; i++) {
      const r = readings[i];
      const k = this.slot(r.obis, i);
      const f = this.flags[k];
      if ((f & PUBLIC) === 0 && !detail) continue;
      const e = this.kept[k];
      e.value = r.value;
      e.scaler = r.scaler ?? 0;
      if (f & STATUS) e.status = status;
      list[n++] = e;
    }
    if (list.length !== n) list.length = n;
    return list;
  }
}
