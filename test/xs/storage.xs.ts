// Portable run of the storage module (modules/storage) on simulated flash: a record ring and an
// append log through power cuts, the energy journal, and the flash map over the simulators'
// partitions. Printed lines are compared between XS and Node (test/storage-xs.test.ts), and the
// images' bytes by their CRC-32.
import { toHex } from '../../modules/core/bytes.js';
import { crc32 } from '../../modules/core/crc32.js';
import { EnergyJournal } from '../../modules/metrology/energy-journal.js';
import { AppendLog } from '../../modules/storage/append-log.js';
import { mapMeterFlash, placePartition } from '../../modules/storage/flash-map.js';
import { RecordRing } from '../../modules/storage/record-ring.js';
import { PowerCut, SimFlash } from '../../hosts/sim/sim-flash.js';

function payload(i: number, length: number): Uint8Array {
  const p = new Uint8Array(length);
  for (let k = 0; k < length; k++) p[k] = (i * 31 + k * 17 + 5) & 0xff;
  p[0] = i & 0xff;
  return p;
}

function cut(flash: SimFlash, f: () => void, ops: number, progress: number): string {
  flash.cutPower({ opIndex: flash.opCount + ops, phase: 'during', progress });
  try {
    f();
    return 'no-cut';
  } catch (e) {
    if (!(e instanceof PowerCut)) throw e;
    flash.powerOn();
    return 'cut';
  }
}

export function main(out: (line: string) => void): void {
  // Record ring: 40 saves of varying length on 3 sectors, then a cut inside a frame in a fresh sector.
  const rf = new SimFlash({ sectorSize: 128, sectorCount: 3 });
  let ring = new RecordRing({ flash: rf, magic: 'RING', maxPayload: 40 });
  for (let i = 1; i <= 40; i++) ring.save(payload(i, 1 + ((i * 7) % 40)));
  out(`ring saves ${ring.writes} erases ${ring.erases} image ${crc32(rf.image()).toString(16)}`);
  out(`ring tear ${cut(rf, () => ring.save(payload(41, 40)), 1, 0.5)}`);
  ring = new RecordRing({ flash: rf, magic: 'RING', maxPayload: 40 });
  let r = ring.load()!;
  out(`ring newest ${r.payload[0]} seq ${r.sequence} len ${r.payload.length}`);
  out(`ring cut-again ${cut(rf, () => ring.save(payload(42, 40)), 0, 0.3)}`);
  r = new RecordRing({ flash: rf, magic: 'RING', maxPayload: 40 }).load()!;
  out(`ring newest ${r.payload[0]} seq ${r.sequence} image ${crc32(rf.image()).toString(16)}`);

  // Append log: appends, a torn commit byte, recovery, appends until full (compaction on the way).
  const lf = new SimFlash({ sectorSize: 256, sectorCount: 4 });
  let log = AppendLog.open({ flash: lf, magic: 'LOGS' });
  for (let i = 0; i < 8; i++) log.append(payload(i, 14 + ((i * 5) % 20)));
  out(`log tear ${cut(lf, () => log.append(payload(8, 30)), 1, 0)}`);
  log = AppendLog.open({ flash: lf, magic: 'LOGS' });
  out(`log recovered ${log.count} next ${log.nextSeq} torn ${log.recovery.tornSectors.join(',')}`);
  let n = 9;
  for (;;) {
    try {
      log.append(payload(n, 14 + ((n * 5) % 20)));
      n++;
    } catch (e) {
      out(`log full at ${n}: ${(e as { code?: string }).code} records ${log.count} copied ${log.stats().recordsCopied}`);
      break;
    }
  }
  const again = AppendLog.open({ flash: new SimFlash({ sectorSize: 256, sectorCount: 4, image: lf.image() }), magic: 'LOGS' });
  out(`log reopened ${again.count} first ${toHex(again.read(again.seqs()[0]).subarray(0, 4))} image ${crc32(lf.image()).toString(16)}`);

  // The energy journal on the flash map's region of a 16-sector energy partition.
  const energy = new SimFlash({ sectorSize: 4096, sectorCount: 16 });
  const map = mapMeterFlash({ energy, calibration: new SimFlash({ sectorSize: 4096, sectorCount: 16 }) });
  const journal = new EnergyJournal({ ...map.energyJournal, registerCount: 6, phases: 3 });
  for (let i = 1; i <= 500; i++) journal.save([i * 1_000_003, i, i * 2, 0, 2 ** 40 + i, 7]);
  const j = new EnergyJournal({ ...map.energyJournal, registerCount: 6, phases: 3 }).load()!;
  out(`journal seq ${j.sequence} values ${j.values.join(',')} erases ${journal.erases} image ${crc32(energy.image()).toString(16)}`);
  for (const p of [...placePartition('energy', 16), ...placePartition('calibration', 32)]) out(`map ${p.partition} ${p.store} ${p.firstSector}+${p.sectorCount}`);
}
