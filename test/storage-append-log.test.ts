import assert from 'node:assert/strict';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { crc32 } from '../modules/core/crc32.js';
import { AppendLog } from '../modules/storage/append-log.js';
import { LogFullError, StorageError } from '../modules/storage/errors.js';
import { FRAME_OVERHEAD, SECTOR_HEADER_SIZE } from '../modules/storage/frame.js';
import { PowerCut, SimFlash, type CutPhase } from '../hosts/sim/sim-flash.js';

/** Opens the append log on all of `flash` (the power-cut sweep is in storage.test.ts). */
const openLog = (flash: SimFlash) => AppendLog.open({ flash, magic: 'LOGS' });

const ascii = (s: string) => new TextEncoder().encode(s);

/** A payload that names its position, of a length varying with it (so frames pack unevenly). */
function payloadFor(n: number): Uint8Array {
  const p = new Uint8Array(14 + ((n * 7) % 23));
  for (let i = 0; i < p.length; i++) p[i] = (n * 31 + i * 17 + 5) & 0xff;
  p[0] = n & 0xff;
  return p;
}

describe('append log: CRC-32', () => {
  it('matches the catalogue check value and node:zlib', () => {
    assert.equal(crc32(ascii('123456789')), 0xcbf43926);
    for (const n of [0, 1, 7, 64, 300]) {
      const data = payloadFor(n).subarray(0, n % 30);
      assert.equal(crc32(data), zlibCrc32(data));
    }
  });
});

describe('append log', () => {
  it('appends, reads back in order and recovers the same records after a restart', () => {
    const flash = new SimFlash({ sectorSize: 256, sectorCount: 4 });
    const store = openLog(flash);
    const written = [0, 1, 2, 3, 4, 5, 6, 7, 8].map(payloadFor);
    written.forEach((p, i) => assert.equal(store.append(p), i));
    const again = openLog(new SimFlash({ sectorSize: 256, sectorCount: 4, image: flash.image() }));
    assert.deepEqual(again.readAll(), written);
    assert.equal(again.nextSeq, written.length);
    assert.deepEqual(again.recovery, { tornSectors: [], duplicates: 0, gaps: [], corrupt: [] });
    assert.equal(again.append(payloadFor(9)), 9);
  });

  it('holds exactly the documented capacity, then refuses with log-full and loses nothing', () => {
    const sectorSize = 128;
    const sectorCount = 5;
    const len = 20;
    const flash = new SimFlash({ sectorSize, sectorCount });
    const store = openLog(flash);
    const documented = (sectorCount - 1) * Math.floor((sectorSize - SECTOR_HEADER_SIZE) / (len + FRAME_OVERHEAD));
    const rec = (i: number) => payloadFor(i).slice(0, len);
    for (let i = 0; i < documented; i++) store.append(rec(i));
    assert.throws(() => store.append(rec(documented)), (e: unknown) => e instanceof LogFullError && e.code === 'log-full');
    const again = openLog(new SimFlash({ sectorSize, sectorCount, image: flash.image() }));
    assert.equal(again.count, documented);
    assert.deepEqual(again.readAll(), Array.from({ length: documented }, (_, i) => rec(i)));
    assert.throws(() => again.append(rec(documented)), LogFullError);
  });

  it('refuses empty and oversized records and bad geometry with typed errors', () => {
    const flash = new SimFlash({ sectorSize: 128, sectorCount: 4 });
    const store = openLog(flash);
    assert.throws(() => store.append(new Uint8Array(0)), (e: unknown) => e instanceof StorageError && e.code === 'record-size');
    assert.throws(() => store.append(new Uint8Array(store.maxPayload + 1)), StorageError);
    assert.equal(store.append(new Uint8Array(store.maxPayload)), 0);
    assert.throws(() => openLog(new SimFlash({ sectorSize: 128, sectorCount: 1 })), (e: unknown) => e instanceof StorageError && e.code === 'geometry');
  });

  it('reads past a record altered in place and reports the loss (not mistaken for a torn write)', () => {
    const flash = new SimFlash({ sectorSize: 256, sectorCount: 3 });
    const store = openLog(flash);
    for (let i = 0; i < 4; i++) store.append(payloadFor(i));
    const img = flash.image();
    const at = SECTOR_HEADER_SIZE + payloadFor(0).length + FRAME_OVERHEAD + 8; // inside record 1's payload
    assert.notEqual(img[at], 0);
    img[at] &= img[at] - 1; // clear one bit, as a write without erase can
    const again = openLog(new SimFlash({ sectorSize: 256, sectorCount: 3, image: img }));
    assert.deepEqual(again.seqs(), [0, 2, 3]);
    assert.deepEqual(again.recovery.gaps, [1]);
    assert.deepEqual(again.recovery.corrupt, [{ sector: 0, offset: SECTOR_HEADER_SIZE + payloadFor(0).length + FRAME_OVERHEAD }]);
    assert.equal(again.append(payloadFor(4)), 4, 'appends continue, in another sector');
  });

  it('ignores a torn record, closes its sector and reclaims the space by compaction', () => {
    const flash = new SimFlash({ sectorSize: 128, sectorCount: 3 });
    let store = openLog(flash);
    store.append(payloadFor(0));
    flash.cutPower({ opIndex: flash.opCount, phase: 'during', progress: 0.5 }); // the frame write
    assert.throws(() => store.append(payloadFor(1)), PowerCut);
    flash.powerOn();
    store = openLog(flash);
    assert.deepEqual(store.readAll(), [payloadFor(0)]);
    assert.deepEqual(store.recovery.tornSectors, [0]);
    // Fill: the closed sector's space comes back through compaction, nothing is lost.
    const written = [payloadFor(0)];
    for (let i = 2; ; i++) {
      try {
        store.append(payloadFor(i));
        written.push(payloadFor(i));
      } catch (e) {
        assert.ok(e instanceof LogFullError);
        break;
      }
    }
    const again = openLog(new SimFlash({ sectorSize: 128, sectorCount: 3, image: flash.image() }));
    assert.deepEqual(again.readAll(), written);
    assert.ok(flash.eraseCounts[0] >= 1, 'the torn sector was erased by compaction');
    // Without compaction only sector 1 (plus the reserve) would hold records after the torn one.
    const perSector = Math.floor((128 - SECTOR_HEADER_SIZE) / (payloadFor(2).length + FRAME_OVERHEAD));
    assert.ok(written.length > 1 + perSector, `compaction gave room: ${written.length} records`);
  });
});

describe('append log: random runs (property)', () => {
  it('after any cut in any random run of appends and compactions, committed records survive in order', async () => {
    const fc = (await import('fast-check')).default;
    const op = fc.oneof(
      fc.record({ kind: fc.constant('append' as const), size: fc.integer({ min: 1, max: 60 }) }),
      fc.record({ kind: fc.constant('compact' as const) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.integer({ min: 0, max: 3 }), phase: fc.constantFrom<CutPhase>('before', 'during', 'after'), progress: fc.double({ min: 0, max: 1, noNaN: true }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 40 }), fc.integer({ min: 2, max: 5 }), (ops, sectors) => {
        const flash = new SimFlash({ sectorSize: 128, sectorCount: sectors });
        let store = openLog(flash);
        const committed = new Map<number, Uint8Array>();
        let n = 0;
        for (const o of ops) {
          if (o.kind === 'cut') {
            flash.cutPower({ opIndex: flash.opCount + o.at, phase: o.phase, progress: o.progress });
            continue;
          }
          const payload = o.kind === 'append' ? payloadFor(n++).slice(0, o.size) : undefined;
          const before = store.nextSeq;
          try {
            if (payload) committed.set(store.append(payload), payload);
            else store.compact();
          } catch (e) {
            if (e instanceof LogFullError) continue;
            if (!(e instanceof PowerCut)) throw e;
            flash.powerOn();
            store = openLog(flash);
            if (payload && store.nextSeq > before) committed.set(before, payload);
            assert.ok(store.nextSeq >= before, 'counter did not go back');
          }
          assert.deepEqual(store.seqs(), [...committed.keys()]);
          for (const [seq, p] of committed) assert.deepEqual(store.read(seq), p);
        }
        flash.powerOn();
        const again = openLog(new SimFlash({ sectorSize: 128, sectorCount: sectors, image: flash.image() }));
        assert.deepEqual(again.readAll(), [...committed.values()]);
        assert.deepEqual(again.recovery.corrupt, []);
      }),
      { numRuns: 300 },
    );
  });
});
