import assert from 'node:assert/strict';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { crc32 } from '../modules/core/crc32.js';
import { LogFullError, LogStoreError } from '../modules/sealing/errors.js';
import { FRAME_OVERHEAD, LogStore, SECTOR_HEADER_SIZE } from '../modules/sealing/log-store.js';
import { PowerCut, SimFlash, type CutPhase, type CutPlan } from '../hosts/sim/sim-flash.js';

const ascii = (s: string) => new TextEncoder().encode(s);

/** A payload that names its position, of a length varying with it (so frames pack unevenly). */
function payloadFor(n: number): Uint8Array {
  const p = new Uint8Array(14 + ((n * 7) % 23));
  for (let i = 0; i < p.length; i++) p[i] = (n * 31 + i * 17 + 5) & 0xff;
  p[0] = n & 0xff;
  return p;
}

describe('log store: CRC-32', () => {
  it('matches the catalogue check value and node:zlib', () => {
    assert.equal(crc32(ascii('123456789')), 0xcbf43926);
    for (const n of [0, 1, 7, 64, 300]) {
      const data = payloadFor(n).subarray(0, n % 30);
      assert.equal(crc32(data), zlibCrc32(data));
    }
  });
});

describe('log store', () => {
  it('appends, reads back in order and recovers the same records after a restart', () => {
    const flash = new SimFlash({ sectorSize: 256, sectorCount: 4 });
    const store = LogStore.open(flash);
    const written = [0, 1, 2, 3, 4, 5, 6, 7, 8].map(payloadFor);
    written.forEach((p, i) => assert.equal(store.append(p), i));
    const again = LogStore.open(new SimFlash({ sectorSize: 256, sectorCount: 4, image: flash.image() }));
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
    const store = LogStore.open(flash);
    const documented = (sectorCount - 1) * Math.floor((sectorSize - SECTOR_HEADER_SIZE) / (len + FRAME_OVERHEAD));
    const rec = (i: number) => payloadFor(i).slice(0, len);
    for (let i = 0; i < documented; i++) store.append(rec(i));
    assert.throws(() => store.append(rec(documented)), (e: unknown) => e instanceof LogFullError && e.code === 'log-full');
    const again = LogStore.open(new SimFlash({ sectorSize, sectorCount, image: flash.image() }));
    assert.equal(again.count, documented);
    assert.deepEqual(again.readAll(), Array.from({ length: documented }, (_, i) => rec(i)));
    assert.throws(() => again.append(rec(documented)), LogFullError);
  });

  it('refuses empty and oversized records and bad geometry with typed errors', () => {
    const flash = new SimFlash({ sectorSize: 128, sectorCount: 4 });
    const store = LogStore.open(flash);
    assert.throws(() => store.append(new Uint8Array(0)), (e: unknown) => e instanceof LogStoreError && e.code === 'record-size');
    assert.throws(() => store.append(new Uint8Array(store.maxPayload + 1)), LogStoreError);
    assert.equal(store.append(new Uint8Array(store.maxPayload)), 0);
    assert.throws(() => LogStore.open(flash, { firstSector: 3, sectorCount: 2 }), (e: unknown) => e instanceof LogStoreError && e.code === 'geometry');
  });

  it('keeps to its partition of the flash', () => {
    const flash = new SimFlash({ sectorSize: 128, sectorCount: 6 });
    flash.write(0, new Uint8Array(128)); // someone else's data in sector 0
    const store = LogStore.open(flash, { firstSector: 2, sectorCount: 3 });
    for (let i = 0; i < 6; i++) store.append(payloadFor(i));
    const img = flash.image();
    assert.ok(img.subarray(0, 128).every((b) => b === 0) && img.subarray(128, 256).every((b) => b === 0xff));
    assert.ok(img.subarray(5 * 128).every((b) => b === 0xff));
  });

  it('reads past a record altered in place and reports the loss (not mistaken for a torn write)', () => {
    const flash = new SimFlash({ sectorSize: 256, sectorCount: 3 });
    const store = LogStore.open(flash);
    for (let i = 0; i < 4; i++) store.append(payloadFor(i));
    const img = flash.image();
    const at = SECTOR_HEADER_SIZE + payloadFor(0).length + FRAME_OVERHEAD + 8; // inside record 1's payload
    assert.notEqual(img[at], 0);
    img[at] &= img[at] - 1; // clear one bit, as a write without erase can
    const again = LogStore.open(new SimFlash({ sectorSize: 256, sectorCount: 3, image: img }));
    assert.deepEqual(again.seqs(), [0, 2, 3]);
    assert.deepEqual(again.recovery.gaps, [1]);
    assert.deepEqual(again.recovery.corrupt, [{ sector: 0, offset: SECTOR_HEADER_SIZE + payloadFor(0).length + FRAME_OVERHEAD }]);
    assert.equal(again.append(payloadFor(4)), 4, 'appends continue, in another sector');
  });

  it('ignores a torn record, closes its sector and reclaims the space by compaction', () => {
    const flash = new SimFlash({ sectorSize: 128, sectorCount: 3 });
    let store = LogStore.open(flash);
    store.append(payloadFor(0));
    flash.cutPower({ opIndex: flash.opCount, phase: 'during', progress: 0.5 }); // the frame write
    assert.throws(() => store.append(payloadFor(1)), PowerCut);
    flash.powerOn();
    store = LogStore.open(flash);
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
    const again = LogStore.open(new SimFlash({ sectorSize: 128, sectorCount: 3, image: flash.image() }));
    assert.deepEqual(again.readAll(), written);
    assert.ok(flash.eraseCounts[0] >= 1, 'the torn sector was erased by compaction');
    // Without compaction only sector 1 (plus the reserve) would hold records after the torn one.
    const perSector = Math.floor((128 - SECTOR_HEADER_SIZE) / (payloadFor(2).length + FRAME_OVERHEAD));
    assert.ok(written.length > 1 + perSector, `compaction gave room: ${written.length} records`);
  });
});

// ---------------------------------------------------------------------------------------------
// Power-cut sweep: a scripted run of appends (with four torn appends of its own, so that space is
// wasted and compaction must run), cut at every write/erase call index in every phase.

type Step = { kind: 'append'; n: number } | { kind: 'compact'; n: number } | { kind: 'torn'; n: number; opOffset: number; phase: CutPhase; progress: number };

const GEOMETRY = { sectorSize: 128, sectorCount: 8 };
const TORN: Record<number, { opOffset: number; phase: CutPhase; progress: number }> = {
  3: { opOffset: 0, phase: 'during', progress: 0.6 }, // inside a frame write
  6: { opOffset: 1, phase: 'during', progress: 0.5 }, // inside a commit-byte write
  9: { opOffset: 0, phase: 'during', progress: 0.2 },
  12: { opOffset: 1, phase: 'before', progress: 0 }, // frame written, commit byte not
};
const SCRIPT: Step[] = Array.from({ length: 20 }, (_, n) =>
  TORN[n] ? { kind: 'torn' as const, n, ...TORN[n] } : n === 14 ? { kind: 'compact' as const, n } : { kind: 'append' as const, n },
);

interface Model {
  records: Map<number, Uint8Array>;
  /** The record being appended when power failed: it may or may not have committed. */
  inFlight?: Uint8Array;
  nextSeqBefore: number;
}

/** After a restart: committed records intact, nothing spurious, counter not back. Returns the store. */
function checkRecovered(flash: SimFlash, model: Model, label: string): LogStore {
  flash.powerOn();
  const store = LogStore.open(flash);
  for (const [seq, payload] of model.records) assert.deepEqual(store.read(seq), payload, `${label}: record ${seq} intact`);
  for (const seq of store.seqs()) {
    if (model.records.has(seq)) continue;
    assert.ok(model.inFlight && seq === model.nextSeqBefore, `${label}: unexpected record ${seq}`);
    assert.deepEqual(store.read(seq), model.inFlight, `${label}: the in-flight record, if committed, is whole`);
    model.records.set(seq, model.inFlight);
  }
  assert.deepEqual(store.recovery.gaps, [], `${label}: no gap`);
  assert.deepEqual(store.recovery.corrupt, [], `${label}: a power cut is not taken for corruption`);
  assert.ok(store.nextSeq >= model.nextSeqBefore, `${label}: counter did not go back`);
  assert.equal(store.nextSeq, store.count === 0 ? 0 : Math.max(...store.seqs()) + 1);
  model.inFlight = undefined;
  model.nextSeqBefore = store.nextSeq;
  return store;
}

/** Runs the script with an optional sweep cut; returns ops used and whether the sweep cut fired. */
function runScript(sweep: CutPlan | undefined): { ops: number; fired: boolean; copied: number } {
  const flash = new SimFlash(GEOMETRY);
  let store = LogStore.open(flash);
  const model: Model = { records: new Map(), nextSeqBefore: 0 };
  let fired = false;
  let copied = 0;
  const label = sweep ? `cut ${sweep.phase}@${sweep.opIndex}/${sweep.progress}` : 'baseline';
  for (const step of SCRIPT) {
    const own = step.kind === 'torn' ? { opIndex: flash.opCount + step.opOffset, phase: step.phase, progress: step.progress } : undefined;
    if (sweep && !fired && (!own || sweep.opIndex <= own.opIndex)) flash.cutPower(sweep);
    else if (own) flash.cutPower(own);
    const payload = payloadFor(step.n);
    try {
      if (step.kind === 'compact') {
        assert.ok(store.compact() || fired || sweep, `${label}: the scripted compaction reclaims a sector`);
        continue;
      }
      const seq = store.append(payload);
      assert.equal(seq, model.nextSeqBefore, `${label}: seq follows`);
      model.records.set(seq, payload);
      model.nextSeqBefore = seq + 1;
      assert.ok(step.kind === 'append' || fired || (sweep && sweep.opIndex < flash.opCount), `${label}: scripted cut did not happen`);
    } catch (e) {
      if (!(e instanceof PowerCut)) throw e;
      const bySweep = sweep !== undefined && !fired && e.opIndex === sweep.opIndex;
      if (bySweep) fired = true;
      model.inFlight = step.kind === 'compact' ? undefined : payload;
      copied += store.stats().recordsCopied;
      store = checkRecovered(flash, model, label);
      if (bySweep) {
        // Appends continue after the restart, and survive another restart.
        for (let k = 0; k < 2; k++) {
          const p = payloadFor(100 + k);
          try {
            model.records.set(store.append(p), p);
          } catch (e2) {
            throw new Error(`${label}: append ${k} after restart: ${String(e2)} ${JSON.stringify(store.stats())} ${JSON.stringify(store.recovery)}`);
          }
        }
        model.nextSeqBefore = store.nextSeq;
        checkRecovered(flash, model, label + ' (second restart)');
        return { ops: flash.opCount, fired, copied };
      }
    }
  }
  copied += store.stats().recordsCopied;
  checkRecovered(new SimFlash({ ...GEOMETRY, image: flash.image() }), model, label + ' (end)');
  return { ops: flash.opCount, fired, copied };
}

describe('log store: power-cut sweep', () => {
  it('survives a cut before, during and after every flash call of a run with compactions', function () {
    const baseline = runScript(undefined);
    assert.ok(baseline.copied >= 3, `the script makes the store compact (${baseline.copied} records copied)`);
    assert.ok(baseline.ops > 40, `script uses ${baseline.ops} flash calls`);
    let cuts = 0;
    for (let op = 0; op < baseline.ops; op++) {
      const plans: CutPlan[] = [
        { opIndex: op, phase: 'before' },
        { opIndex: op, phase: 'during', progress: 0 },
        { opIndex: op, phase: 'during', progress: 0.3 },
        { opIndex: op, phase: 'during', progress: 0.9 },
        { opIndex: op, phase: 'after' },
      ];
      for (const plan of plans) {
        const r = runScript(plan);
        assert.ok(r.fired, `cut ${plan.phase}@${op} fired`);
        cuts++;
      }
    }
    assert.equal(cuts, baseline.ops * 5);
    this.test!.title += ` (${cuts} cut points over ${baseline.ops} flash calls)`;
  });
});

describe('log store: random runs (property)', () => {
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
        let store = LogStore.open(flash);
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
            store = LogStore.open(flash);
            if (payload && store.nextSeq > before) committed.set(before, payload);
            assert.ok(store.nextSeq >= before, 'counter did not go back');
          }
          assert.deepEqual(store.seqs(), [...committed.keys()]);
          for (const [seq, p] of committed) assert.deepEqual(store.read(seq), p);
        }
        flash.powerOn();
        const again = LogStore.open(new SimFlash({ sectorSize: 128, sectorCount: sectors, image: flash.image() }));
        assert.deepEqual(again.readAll(), [...committed.values()]);
        assert.deepEqual(again.recovery.corrupt, []);
      }),
      { numRuns: 300 },
    );
  });
});
