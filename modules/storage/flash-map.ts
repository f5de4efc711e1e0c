/**
 * The meter's flash map: the one place that says which partition and sectors hold what, and under
 * which magic each store's sector headers are written (frame.ts).
 *
 * Energy partition (ESP32 `xsenergy`, 384 KB = 96 sectors of 4 KiB: the journal's 88 sectors wear out
 * in ~19 years on a 3-phase, 4-tariff meter at 1 kW and q = 1 Wh, energy-journal.ts; the simulators: 16): the energy journal gets what the four record
 * rings at the end leave — telegram counters, service auth counter,
 * calibration constants, log witness — 2 sectors each. Calibration partition (ESP32 `xscal`, 128 KB
 * = 32 sectors; the simulators: 16): the calibration log, then the meter witness's 2 sectors at the
 * end. The witness records are the cross-checks between the two partitions (each
 * partition keeps a record of the other's state); their writers live with their users.
 * A partition too small for its stores is a StorageError 'partition-too-small' naming the store that
 * does not fit.
 */
import type { Flash } from '../ports/flash.js';
import { StorageError } from './errors.js';
import { FlashRegion } from './flash-region.js';

export type PartitionName = 'energy' | 'calibration';

export type StoreName = 'energyJournal' | 'telegramCounters' | 'serviceAuthCounter' | 'calibrationConstants' | 'logWitness' | 'calibrationLog' | 'meterWitness';

export interface StorePlan {
  readonly store: StoreName;
  readonly partition: PartitionName;
  readonly kind: 'record-ring' | 'append-log';
  /** 4 ASCII characters in the store's sector headers. */
  readonly magic: string;
  /** Sectors it gets; 0: what the partition's fixed stores leave, at least `minSectors`. */
  readonly sectors: number;
  readonly minSectors: number;
  /** What it holds, as a reader would say it. */
  readonly holds: string;
}

function plan(store: StoreName, partition: PartitionName, kind: StorePlan['kind'], magic: string, sectors: number, holds: string): StorePlan {
  return Object.freeze({ store, partition, kind, magic, sectors, minSectors: 2, holds });
}

/** In partition order: each partition's stores lie in this order from its sector 0. */
export const FLASH_MAP: readonly StorePlan[] = Object.freeze([
  plan('energyJournal', 'energy', 'record-ring', 'XSEJ', 0, 'energy registers (A+ / A- per phase and tariff, whole µWh)'),
  plan('telegramCounters', 'energy', 'record-ring', 'XSTC', 2, 'telegram message counter, access number, last hour of radio airtime'),
  plan('serviceAuthCounter', 'energy', 'record-ring', 'XSAC', 2, 'last accepted service command counter'),
  plan('calibrationConstants', 'energy', 'record-ring', 'XSCC', 2, 'active calibration (metrology serialisation)'),
  plan('logWitness', 'energy', 'record-ring', 'XSLW', 2, 'log witness: the calibration log\'s record count and newest hash'),
  plan('calibrationLog', 'calibration', 'append-log', 'XSCL', 0, 'signed, hash-chained calibration log'),
  plan('meterWitness', 'calibration', 'record-ring', 'XSMW', 2, 'meter witness: message counter reservation, energy floor, damage flags'),
]);

/** Where a store lies in its partition. */
export interface StorePlacement {
  readonly store: StoreName;
  readonly partition: PartitionName;
  readonly firstSector: number;
  readonly sectorCount: number;
}

/** A store's own flash and magic, ready for `new RecordRing({ ...region, maxPayload })` or `AppendLog.open(region)`. */
export interface StoreRegion {
  readonly flash: Flash;
  readonly magic: string;
}

export type MeterFlashMap = { readonly [K in StoreName]: StoreRegion };

/** The magic of a store in the map. */
export function storeMagic(store: StoreName): string {
  for (const p of FLASH_MAP) if (p.store === store) return p.magic;
  throw new StorageError('geometry', `no store "${String(store)}" in the flash map`, { store: String(store) });
}

/** Where the stores of one partition of `sectors` sectors lie; StorageError 'partition-too-small' if they do not fit. */
export function placePartition(partition: PartitionName, sectors: number): StorePlacement[] {
  const out: StorePlacement[] = [];
  const stores = FLASH_MAP.filter((p) => p.partition === partition);
  let fixed = 0;
  for (const p of stores) fixed += p.sectors;
  let at = 0;
  for (const p of stores) {
    const count = p.sectors > 0 ? p.sectors : sectors - fixed;
    if (count < p.minSectors || at + count > sectors) {
      const others = stores.filter((q) => q !== p && q.sectors > 0).map((q) => q.store);
      throw new StorageError(
        'partition-too-small',
        `the ${partition} partition has ${sectors} sectors: the ${p.store} needs at least ${p.minSectors}${p.sectors > 0 ? '' : ` besides the ${fixed} of ${others.join(', ')}`}`,
        { partition, store: p.store, sectors, needed: fixed + (p.sectors > 0 ? 0 : p.minSectors) },
      );
    }
    out.push({ store: p.store, partition, firstSector: at, sectorCount: count });
    at += count;
  }
  return out;
}

/** Cuts the two partitions into the stores' regions. */
export function mapMeterFlash(partitions: { readonly energy: Flash; readonly calibration: Flash }): MeterFlashMap {
  const placed = placePartition('energy', partitions.energy.sectorCount).concat(placePartition('calibration', partitions.calibration.sectorCount));
  const map: Partial<Record<StoreName, StoreRegion>> = {};
  for (const s of placed) {
    map[s.store] = { flash: new FlashRegion(partitions[s.partition], s.firstSector, s.sectorCount), magic: storeMagic(s.store) };
  }
  return map as MeterFlashMap;
}
