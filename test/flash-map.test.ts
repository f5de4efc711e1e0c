/**
 * The flash map (modules/storage/flash-map.ts) against its documentation and the partitions it is
 * laid over: the README's table, the ESP32 partition table (hosts/esp32/partitions.csv) and the
 * simulators' flashes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { MeterApp } from '../modules/app/meter-app.js';
import { StorageError } from '../modules/storage/errors.js';
import { FLASH_MAP, mapMeterFlash, placePartition, type PartitionName, type StoreName } from '../modules/storage/flash-map.js';
import { RecordRing } from '../modules/storage/record-ring.js';
import { AppendLog } from '../modules/storage/append-log.js';
import { nobleCrypto } from '../hosts/sim/noble-crypto.js';
import { createDesktopBoard } from '../hosts/esp32/desktop-io.js';
import { PARTITIONS } from '../hosts/esp32/pins.js';
import { SimFlash } from '../hosts/sim/sim-flash.js';
import { SimMeter } from '../hosts/sim/sim-meter.js';

const NAMES: Record<string, StoreName> = {
  'energy journal': 'energyJournal',
  'telegram counters': 'telegramCounters',
  'service auth counter': 'serviceAuthCounter',
  'calibration constants': 'calibrationConstants',
  'log witness': 'logWitness',
  'calibration log': 'calibrationLog',
  'meter witness': 'meterWitness',
};

interface Row {
  partition: PartitionName;
  esp32: [number, number];
  sim: [number, number];
  store: StoreName;
  kind: string;
  magic: string;
}

/** The README's flash map table, row by row. */
function readmeRows(): Row[] {
  const text = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const at = text.indexOf('| partition | sectors: ESP32');
  assert.ok(at > 0, 'the README has the flash map table');
  const rows: Row[] = [];
  for (const line of text.slice(at).split('\n').slice(2)) {
    if (!line.startsWith('|')) break;
    const c = line.split('|').slice(1, -1).map((x) => x.trim());
    const range = (r: string): [number, number] => {
      const [a, b] = r.split('–').map(Number);
      return [a, b - a + 1];
    };
    rows.push({ partition: c[0] as PartitionName, esp32: range(c[1]), sim: range(c[2]), store: NAMES[c[3]], kind: c[4].replace(' ', '-'), magic: c[5].replace(/`/g, '') });
  }
  return rows;
}

/** Sectors of the ESP32 data partitions, from the partition table (4096-byte sectors). */
function esp32Sectors(): Record<PartitionName, number> {
  const csv = readFileSync(new URL('../hosts/esp32/partitions.csv', import.meta.url), 'utf8');
  const size = (name: string) => {
    const line = csv.split('\n').find((l) => l.startsWith(name + ','));
    assert.ok(line, `partition ${name} in partitions.csv`);
    return Number(line.split(',')[4].trim()) / 4096;
  };
  return { energy: size(PARTITIONS.energy), calibration: size(PARTITIONS.calibration) };
}

describe('flash map', () => {
  it('is the README table: the ESP32 partitions (xsenergy 384 KB, xscal 128 KB) and the simulators’ (16 + 16 sectors)', () => {
    const esp = esp32Sectors();
    assert.deepEqual(esp, { energy: 96, calibration: 32 });
    const m = new SimMeter({ seed: 1, load: 'constant' });
    const sim = { energy: m.energyFlash.sectorCount, calibration: m.calibrationFlash.sectorCount };
    assert.deepEqual(sim, { energy: 16, calibration: 16 });
    const rows = readmeRows();
    assert.equal(rows.length, FLASH_MAP.length);
    const place = (sizes: Record<PartitionName, number>) => [...placePartition('energy', sizes.energy), ...placePartition('calibration', sizes.calibration)];
    const onEsp = place(esp);
    const onSim = place(sim);
    rows.forEach((r, i) => {
      const plan = FLASH_MAP[i];
      assert.deepEqual([r.store, r.partition, r.kind, r.magic], [plan.store, plan.partition, plan.kind, plan.magic], `row ${i}`);
      assert.deepEqual([onEsp[i].store, onEsp[i].firstSector, onEsp[i].sectorCount], [r.store, ...r.esp32], `${r.store} on the ESP32`);
      assert.deepEqual([onSim[i].store, onSim[i].firstSector, onSim[i].sectorCount], [r.store, ...r.sim], `${r.store} in the simulator`);
    });
    // Every record ring has 2 sectors; the journal and the log get the rest: each partition is covered once.
    for (const [partition, n] of Object.entries(esp) as [PartitionName, number][]) {
      const stores = onEsp.filter((s) => s.partition === partition);
      assert.equal(stores.reduce((a, s) => a + s.sectorCount, 0), n);
      stores.forEach((s, k) => assert.equal(s.firstSector, k === 0 ? 0 : stores[k - 1].firstSector + stores[k - 1].sectorCount));
    }
    // The desktop ESP32 board simulates the same partition sizes.
    const { board } = createDesktopBoard(undefined, { crypto: nobleCrypto });
    assert.equal(board.flashes[PARTITIONS.energy].sectorCount, esp.energy);
    assert.equal(board.flashes[PARTITIONS.calibration].sectorCount, esp.calibration);
  });

  it('each store writes only its own sectors', () => {
    const energy = new SimFlash({ sectorSize: 4096, sectorCount: 16 });
    const calibration = new SimFlash({ sectorSize: 4096, sectorCount: 32 });
    const map = mapMeterFlash({ energy, calibration });
    for (const plan of FLASH_MAP) {
      const before = { energy: energy.image(), calibration: calibration.image() };
      const region = map[plan.store];
      if (plan.kind === 'record-ring') new RecordRing({ ...region, maxPayload: 16 }).save(new Uint8Array(16).fill(7));
      else AppendLog.open(region).append(new Uint8Array(16).fill(7));
      const place = placePartition(plan.partition, plan.partition === 'energy' ? 16 : 32).find((s) => s.store === plan.store)!;
      for (const p of ['energy', 'calibration'] as const) {
        const img = (p === 'energy' ? energy : calibration).image();
        for (let s = 0; s < img.length / 4096; s++) {
          const changed = img.subarray(s * 4096, (s + 1) * 4096).some((b, k) => b !== before[p][s * 4096 + k]);
          const own = p === plan.partition && s >= place.firstSector && s < place.firstSector + place.sectorCount;
          if (!own) assert.equal(changed, false, `${plan.store} wrote ${p} sector ${s}`);
        }
      }
    }
  });

  it('a partition too small is a typed error naming the store that does not fit; the meter refuses to start with it', () => {
    const tooSmall = (partition: PartitionName, store: StoreName) => (e: unknown) =>
      e instanceof StorageError && e.code === 'partition-too-small' && e.details.partition === partition && e.details.store === store && !e.message.includes('\n');
    assert.throws(() => placePartition('energy', 9), tooSmall('energy', 'energyJournal'));
    assert.throws(() => placePartition('calibration', 3), tooSmall('calibration', 'calibrationLog'));
    assert.equal(placePartition('energy', 10)[0].sectorCount, 2);
    const m = new SimMeter({ seed: 2, load: 'constant' });
    const app = new MeterApp({ chip: 'ade7953', meterId: '12345678' });
    assert.throws(() => app.start({ ...m.ports, energyFlash: new SimFlash({ sectorSize: 4096, sectorCount: 9 }) }), tooSmall('energy', 'energyJournal'));
  });
});
