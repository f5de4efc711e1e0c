import assert from 'node:assert/strict';
import { FlashFault } from '../modules/ports/flash.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { FileFlash } from '../hosts/sim/file-flash.js';
import { PowerCut, SectorPool, SimFlash } from '../hosts/sim/sim-flash.js';
import { SpillFile } from '../hosts/sim/spill-file.js';

describe('simulated NOR flash', () => {
  it('starts erased and erases a sector to 0xFF', () => {
    const f = new SimFlash({ sectorSize: 256, sectorCount: 4 });
    assert.ok(f.read(0, 1024).every((b) => b === 0xff));
    f.write(256, new Uint8Array([0x00, 0x12]));
    assert.deepEqual([...f.read(256, 2)], [0x00, 0x12]);
    f.erase(1);
    assert.deepEqual([...f.read(256, 2)], [0xff, 0xff]);
    assert.deepEqual([...f.eraseCounts], [0, 1, 0, 0]);
  });

  it('lets a write clear more bits but refuses to set a 0 bit back to 1', () => {
    const f = new SimFlash({ sectorSize: 256, sectorCount: 1 });
    f.write(10, new Uint8Array([0xf0]));
    f.write(10, new Uint8Array([0x30]));
    assert.equal(f.read(10, 1)[0], 0x30);
    assert.throws(() => f.write(10, new Uint8Array([0x31])), (e: unknown) => e instanceof FlashFault && e.code === 'nor-violation');
    assert.equal(f.read(10, 1)[0], 0x30, 'a refused write changes nothing');
  });

  it('refuses out-of-range calls with a typed fault', () => {
    const f = new SimFlash({ sectorSize: 256, sectorCount: 2 });
    assert.throws(() => f.read(500, 20), FlashFault);
    assert.throws(() => f.write(-1, new Uint8Array(1)), FlashFault);
    assert.throws(() => f.erase(2), FlashFault);
  });

  it('cuts power before, during and after an operation', () => {
    const data = new Uint8Array(64).fill(0x00);
    for (const [phase, expectZeros] of [['before', 0], ['during', 32], ['after', 64]] as const) {
      const f = new SimFlash({ sectorSize: 256, sectorCount: 1 });
      f.write(0, new Uint8Array([0xaa]));
      f.cutPower({ opIndex: 1, phase, progress: 0.5 });
      assert.throws(() => f.write(100, data), PowerCut);
      assert.throws(() => f.read(0, 1), PowerCut, 'a dead device does nothing');
      f.powerOn();
      const got = f.read(100, 64);
      assert.equal(got.filter((b) => b === 0).length, expectZeros, phase);
      if (phase === 'during') assert.equal(got[32], 0x0f, 'the byte in flight is half-programmed');
    }
  });

  it('leaves a sector partly erased when power fails inside an erase', () => {
    const f = new SimFlash({ sectorSize: 256, sectorCount: 1 });
    f.write(0, new Uint8Array(256));
    f.cutPower({ opIndex: 1, phase: 'during', progress: 0.25 });
    assert.throws(() => f.erase(0), PowerCut);
    f.powerOn();
    const got = f.read(0, 256);
    assert.ok(got.subarray(0, 64).every((b) => b === 0xff));
    assert.ok(got.subarray(64).every((b) => b === 0x00));
  });

  it('round-trips its image', () => {
    const f = new SimFlash({ sectorSize: 256, sectorCount: 2 });
    f.write(300, new Uint8Array([1, 2, 3]));
    const g = new SimFlash({ sectorSize: 256, sectorCount: 2, image: f.image() });
    assert.deepEqual(g.read(300, 3), f.read(300, 3));
  });
});

describe('simulated NOR flash: sparse sectors and their backing store', () => {
  /** A backing store in a Map (what a spill file or the --state image does). */
  /** The operations the property tests below share, on a 4 × 256-byte flash: erase a sector, evict,
   *  read a range. */
  type SharedOp = { op: 'erase'; sector: number } | { op: 'evict' } | { op: 'read'; at: number; n: number };
  const sharedOps = (maxRead: number) => [
    fc.record({ op: fc.constant('erase' as const), sector: fc.integer({ min: 0, max: 3 }) }),
    fc.record({ op: fc.constant('evict' as const) }),
    fc.record({ op: fc.constant('read' as const), at: fc.integer({ min: 0, max: 1023 }), n: fc.integer({ min: 0, max: maxRead }) }),
  ];
  /** Runs a shared operation on `f` and on `ref` (what the flash should hold); an erase puts the
   *  sector's append end (`ends`, when kept) back to 0; a read must give what `ref` holds. */
  function sharedOp(f: SimFlash, ref: Uint8Array, o: SharedOp, ends?: number[]): void {
    if (o.op === 'erase') {
      f.erase(o.sector);
      ref.fill(0xff, o.sector * 256, o.sector * 256 + 256);
      if (ends) ends[o.sector] = 0;
    } else if (o.op === 'evict') f.evictUntouched();
    else {
      const n = Math.min(o.n, 1024 - o.at);
      assert.deepEqual(f.read(o.at, n), ref.slice(o.at, o.at + n));
    }
  }

  /** A backing of sector-sized slots, as the spill file's: a store writes the first bytes of a slot,
   *  whose other bytes hold garbage (the flash must never rely on them). */
  function mapBacking(sectorSize = 256) {
    const kept = new Map<number, Uint8Array>();
    const slot = (sector: number) => {
      let b = kept.get(sector);
      if (!b) kept.set(sector, (b = new Uint8Array(sectorSize).fill(0x5a)));
      return b;
    };
    return {
      kept,
      store: (sector: number, bytes: Uint8Array) => void slot(sector).set(bytes),
      load: (sector: number, into: Uint8Array) => into.set(kept.get(sector) as Uint8Array),
      discard: (sector: number) => void kept.delete(sector),
    };
  }

  it('holds no memory for erased sectors and only the written prefix of the others', () => {
    const f = new SimFlash({ sectorSize: 4096, sectorCount: 16 });
    assert.equal(f.residentBytes, 0);
    f.write(4096 * 3, new Uint8Array(40));
    f.write(4096 * 7 + 300, new Uint8Array([1, 2, 3]));
    assert.equal(f.residentBytes, 64 + 320);
    f.erase(3);
    assert.equal(f.residentBytes, 320);
    assert.ok(f.read(4096 * 3, 4096).every((b) => b === 0xff));
  });

  it('evicted sectors come back unchanged; erasing one discards what the backing held', () => {
    const backing = mapBacking();
    const f = new SimFlash({ sectorSize: 256, sectorCount: 4, backing });
    f.write(10, new Uint8Array([0x12, 0x34]));
    f.write(300, new Uint8Array([0x56]));
    f.evictUntouched(); // both were just used: they stay
    assert.equal(backing.kept.size, 0);
    f.read(300, 1);
    f.evictUntouched(); // sector 0 was not used since: it goes
    assert.deepEqual([...backing.kept.keys()], [0]);
    assert.equal(f.residentBytes, 64);
    assert.deepEqual([...f.read(10, 2)], [0x12, 0x34]);
    assert.throws(() => f.write(10, new Uint8Array([0xff])), FlashFault, 'the NOR rule holds on a sector read back');
    f.evictUntouched();
    f.evictUntouched();
    assert.equal(f.residentBytes, 0);
    f.erase(0);
    assert.deepEqual([...backing.kept.keys()], [1]);
    assert.ok(f.read(0, 256).every((b) => b === 0xff));
  });

  it('reads, writes, erases and evictions in any order give what a plain array gives', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant('write' as const), at: fc.integer({ min: 0, max: 1023 }), data: fc.uint8Array({ minLength: 1, maxLength: 300 }) }),
            ...sharedOps(600),
          ),
          { maxLength: 60 },
        ),
        (ops) => {
          const f = new SimFlash({ sectorSize: 256, sectorCount: 4, backing: mapBacking() });
          const ref = new Uint8Array(1024).fill(0xff);
          for (const o of ops) {
            if (o.op === 'write') {
              const data = o.data.subarray(0, 1024 - o.at).map((b, i) => b & ref[o.at + i]); // only clears bits
              f.write(o.at, data);
              ref.set(data, o.at);
            } else sharedOp(f, ref, o);
          }
          assert.deepEqual(f.image(), ref);
        },
      ),
      { numRuns: 150 },
    );
  });

  for (const storeAt of [false, true]) {
    it(`with tails (sectors in use leave all but their tail${storeAt ? ', written in place' : ''}), any order of operations gives what a plain array gives`, () => {
      fc.assert(
        fc.property(
          fc.array(
            fc.oneof(
              fc.record({ op: fc.constant('write' as const), at: fc.integer({ min: 0, max: 1023 }), data: fc.uint8Array({ minLength: 1, maxLength: 300 }) }),
              fc.record({ op: fc.constant('append' as const), sector: fc.integer({ min: 0, max: 3 }), data: fc.uint8Array({ minLength: 1, maxLength: 40 }) }),
              ...sharedOps(600),
            ),
            { maxLength: 80 },
          ),
          (ops) => {
            const m = mapBacking();
            const backing = storeAt ? { ...m, storeAt: (sector: number, offset: number, bytes: Uint8Array) => void (m.kept.get(sector) as Uint8Array).set(bytes, offset) } : m;
            const f = new SimFlash({ sectorSize: 256, sectorCount: 4, backing, tails: true });
            const ref = new Uint8Array(1024).fill(0xff);
            const ends = [0, 0, 0, 0];
            const write = (at: number, raw: Uint8Array) => {
              const data = raw.subarray(0, 1024 - at).map((b, i) => b & ref[at + i]); // only clears bits
              f.write(at, data);
              ref.set(data, at);
            };
            for (const o of ops) {
              if (o.op === 'write') write(o.at, o.data);
              else if (o.op === 'append') {
                // As the stores write: after the last write to the sector.
                const at = o.sector * 256 + ends[o.sector];
                const n = Math.min(o.data.length, 256 - ends[o.sector]);
                if (n > 0) write(at, o.data.subarray(0, n));
                ends[o.sector] += n;
              } else sharedOp(f, ref, o, ends);
            }
            assert.deepEqual(f.image(), ref);
          },
        ),
        { numRuns: 200 },
      );
    });
  }

  for (const spill of [false, true]) {
    it(`refuses exactly the writes that set a 0 bit back to 1, whatever was appended, erased or evicted before${spill ? ' (a spill file behind)' : ''}`, () => {
      const file = spill ? SpillFile.open(256) : undefined;
      try {
        fc.assert(
          fc.property(
            fc.array(
              fc.oneof(
                fc.record({ op: fc.constant('write' as const), at: fc.integer({ min: 0, max: 1023 }), data: fc.uint8Array({ minLength: 1, maxLength: 40 }), clears: fc.boolean() }),
                fc.record({ op: fc.constant('append' as const), sector: fc.integer({ min: 0, max: 3 }), data: fc.uint8Array({ minLength: 1, maxLength: 40 }), back: fc.integer({ min: 0, max: 3 }) }),
                ...sharedOps(300),
              ),
              { maxLength: 80 },
            ),
            (ops) => {
              const backing = file ? file.backing(4) : mapBacking();
              const f = new SimFlash({ sectorSize: 256, sectorCount: 4, backing, tails: true });
              const ref = new Uint8Array(1024).fill(0xff);
              const ends = [0, 0, 0, 0];
              const write = (at: number, data: Uint8Array) => {
                const bad = data.some((d, i) => (ref[at + i] & d) !== d);
                if (bad) {
                  assert.throws(() => f.write(at, data), (e: unknown) => e instanceof FlashFault && e.code === 'nor-violation');
                  return;
                }
                f.write(at, data);
                ref.set(data, at);
              };
              for (const o of ops) {
                if (o.op === 'write') {
                  const raw = o.data.subarray(0, 1024 - o.at);
                  write(o.at, o.clears ? raw.map((b, i) => b & ref[o.at + i]) : raw);
                } else if (o.op === 'append') {
                  // After the last write to the sector, or a few bytes back into it (the commit byte).
                  const at = Math.max(0, ends[o.sector] - o.back);
                  const n = Math.min(o.data.length, 256 - at);
                  if (n > 0) write(o.sector * 256 + at, o.data.subarray(0, n));
                  ends[o.sector] = Math.max(ends[o.sector], at + n);
                } else sharedOp(f, ref, o, ends);
              }
              assert.deepEqual(f.image(), ref);
            },
          ),
          { numRuns: 300 },
        );
      } finally {
        file?.close();
      }
    });
  }

  it('a spill file combines the writes of adjacent slots and reads back what the flashes stored', () => {
    const file = SpillFile.open(256);
    assert.ok(file);
    try {
      // Two flashes of 4 sectors in one file, rung through as journals ring through their sectors.
      const flashes = [0, 1].map(() => new SimFlash({ sectorSize: 256, sectorCount: 4, backing: file.backing(4), tails: true }));
      const refs = flashes.map(() => new Uint8Array(1024).fill(0xff));
      const ends = flashes.map(() => [0, 0, 0, 0]);
      let x = 1;
      for (let step = 0; step < 400; step++) {
        const k = step % 2;
        const f = flashes[k];
        const sector = (step >> 4) % 4;
        const e = ends[k];
        if (e[sector] + 20 > 256) {
          f.erase(sector);
          refs[k].fill(0xff, sector * 256, sector * 256 + 256);
          e[sector] = 0;
        }
        const data = new Uint8Array(20).map(() => (x = (x * 1103515245 + 12345) >>> 0) >>> 24);
        f.write(sector * 256 + e[sector], data);
        refs[k].set(data, sector * 256 + e[sector]);
        e[sector] += 20;
        if (step % 7 === 6) for (const g of flashes) g.evictUntouched();
      }
      for (const g of flashes) g.evictUntouched();
      for (let k = 0; k < 2; k++) assert.deepEqual(flashes[k].image(), refs[k]);
    } finally {
      file.close();
    }
  });

  it('a spill file gives each sector its slot when it first leaves memory, the next free one: no holes', () => {
    const file = SpillFile.open(256);
    assert.ok(file);
    try {
      // Three flashes of 16 sectors, as a fleet's meters: each spills one or two sectors, interleaved.
      const flashes = [0, 1, 2].map(() => new SimFlash({ sectorSize: 256, sectorCount: 16, backing: file.backing(16), tails: true }));
      const refs = flashes.map(() => new Uint8Array(16 * 256).fill(0xff));
      const put = (k: number, sector: number, byte: number, at = 0) => {
        const data = new Uint8Array(100).fill(byte);
        flashes[k].write(sector * 256 + at, data);
        refs[k].set(data, sector * 256 + at);
      };
      put(2, 9, 0x21);
      put(0, 0, 0x10);
      for (const f of flashes) f.evictUntouched();
      assert.equal(file.slotsTaken, 2, 'two sectors spilled, two slots (blocks per flash took 32)');
      put(1, 15, 0x42);
      put(2, 10, 0x22);
      put(0, 0, 0x11, 100); // appended to a sector already spilled: its tail goes to the same slot
      for (const f of flashes) f.evictUntouched();
      assert.equal(file.slotsTaken, 4);
      for (let k = 0; k < 3; k++) assert.deepEqual(flashes[k].image(), refs[k], `flash ${k} reads back what was written`);
    } finally {
      file.close();
    }
  });

  it('with tails, a sector in use keeps only what was appended since the last eviction', () => {
    const f = new SimFlash({ sectorSize: 4096, sectorCount: 2, backing: mapBacking(4096), tails: true });
    f.write(0, new Uint8Array(2000));
    f.evictUntouched();
    assert.equal(f.residentBytes, 0);
    f.write(2000, new Uint8Array(10));
    assert.equal(f.residentBytes, 64);
    assert.throws(() => f.write(2005, new Uint8Array([0xff])), FlashFault, 'the NOR rule holds in the tail');
    assert.deepEqual([...f.read(1995, 20)], [...new Uint8Array(15), ...new Uint8Array(5).fill(0xff)]);
    f.evictUntouched();
    f.evictUntouched();
    assert.equal(f.residentBytes, 0);
    assert.ok(f.read(0, 2010).every((b) => b === 0));
  });

  it('evictLarger hands the backing exactly the sectors and tails that hold at least so many bytes', () => {
    const backing = mapBacking(4096);
    const f = new SimFlash({ sectorSize: 4096, sectorCount: 4, backing, tails: true, pool: new SectorPool() });
    const a = new Uint8Array(2000).map((_, i) => i & 0x7f);
    f.write(0, a); // sector 0: 2048 bytes in memory
    f.write(4096, new Uint8Array([1, 2, 3])); // sector 1: 64
    assert.equal(f.residentBytes, 2048 + 64);
    assert.equal(f.evictLarger(1024), 2048);
    assert.equal(f.residentBytes, 64, 'the small sector stays');
    assert.deepEqual([...backing.kept.keys()], [0]);
    assert.deepEqual(backing.kept.get(0)?.subarray(0, 2000), a, 'the backing holds what was written');
    const b = new Uint8Array(700).fill(0x11);
    f.write(2000, b); // a tail after what the backing holds: 704 bytes in memory
    assert.equal(f.residentBytes, 704 + 64);
    assert.equal(f.evictLarger(1024), 0, 'nothing holds 1024 bytes');
    assert.equal(f.evictLarger(512), 704);
    assert.equal(f.residentBytes, 64);
    assert.deepEqual(backing.kept.get(0)?.subarray(2000, 2700), b, 'the tail went after it');
    assert.equal(f.evictLarger(1), 64);
    assert.equal(f.residentBytes, 0);
    assert.deepEqual(f.read(0, 2700), new Uint8Array([...a, ...b]));
    assert.deepEqual([...f.read(4096, 4)], [1, 2, 3, 0xff]);
    assert.throws(() => f.write(2699, new Uint8Array([0x12])), FlashFault, 'the NOR rule holds on what came back');
  });

  it('flashes sharing a sector pool, evicted by size and by use in any order, give what plain arrays give', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            k: fc.integer({ min: 0, max: 1 }),
            o: fc.oneof(
              fc.record({ op: fc.constant('write' as const), at: fc.integer({ min: 0, max: 8191 }), data: fc.uint8Array({ minLength: 1, maxLength: 1500 }) }),
              fc.record({ op: fc.constant('append' as const), sector: fc.integer({ min: 0, max: 3 }), n: fc.integer({ min: 1, max: 300 }) }),
              fc.record({ op: fc.constant('evictLarger' as const), bytes: fc.integer({ min: 1, max: 2500 }) }),
              fc.record({ op: fc.constant('erase' as const), sector: fc.integer({ min: 0, max: 3 }) }),
              fc.record({ op: fc.constant('evict' as const) }),
              fc.record({ op: fc.constant('read' as const), at: fc.integer({ min: 0, max: 8191 }), n: fc.integer({ min: 0, max: 3000 }) }),
            ),
          }),
          { maxLength: 100 },
        ),
        (ops) => {
          const pool = new SectorPool();
          const flashes = [0, 1].map(() => new SimFlash({ sectorSize: 2048, sectorCount: 4, backing: mapBacking(2048), tails: true, pool }));
          const refs = flashes.map(() => new Uint8Array(8192).fill(0xff));
          const ends = flashes.map(() => [0, 0, 0, 0]);
          let x = 7;
          const write = (k: number, at: number, raw: Uint8Array) => {
            const data = raw.subarray(0, 8192 - at).map((b, i) => b & refs[k][at + i]); // only clears bits
            flashes[k].write(at, data);
            refs[k].set(data, at);
          };
          for (const { k, o } of ops) {
            const f = flashes[k];
            const ref = refs[k];
            if (o.op === 'write') write(k, o.at, o.data);
            else if (o.op === 'append') {
              const e = ends[k];
              const n = Math.min(o.n, 2048 - e[o.sector]);
              if (n > 0) write(k, o.sector * 2048 + e[o.sector], new Uint8Array(n).map(() => (x = (x * 1103515245 + 12345) >>> 0) >>> 24));
              e[o.sector] += n;
            } else if (o.op === 'evictLarger') {
              const before = f.residentBytes;
              const released = f.evictLarger(o.bytes);
              assert.equal(f.residentBytes, before - released);
              assert.equal(f.evictLarger(o.bytes), 0, 'no sector holds that many bytes any more');
            } else if (o.op === 'erase') {
              f.erase(o.sector);
              ref.fill(0xff, o.sector * 2048, o.sector * 2048 + 2048);
              ends[k][o.sector] = 0;
            } else if (o.op === 'evict') f.evictUntouched();
            else {
              const n = Math.min(o.n, 8192 - o.at);
              assert.deepEqual(f.read(o.at, n), ref.slice(o.at, o.at + n));
            }
          }
          for (let k = 0; k < 2; k++) assert.deepEqual(flashes[k].image(), refs[k]);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a file-backed flash with tails appends to its file and keeps only the tail', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xsmeter-flash-'));
    try {
      const path = join(dir, 'f.bin');
      const a = new FileFlash(path, { sectorSize: 256, sectorCount: 4 }, { tails: true });
      a.write(256, new Uint8Array(100).fill(7));
      a.evictUntouched();
      assert.equal(a.residentBytes, 0);
      a.write(356, new Uint8Array([1, 2, 3]));
      assert.equal(a.residentBytes, 64);
      a.evictUntouched();
      a.evictUntouched();
      assert.equal(a.residentBytes, 0);
      assert.deepEqual([...a.read(354, 6)], [7, 7, 1, 2, 3, 0xff]);
      a.close();
      const file = readFileSync(path);
      assert.deepEqual([...file.subarray(354, 360)], [7, 7, 1, 2, 3, 0xff]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a file-backed flash reads its file on first use and drops sectors at no cost', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xsmeter-flash-'));
    try {
      const path = join(dir, 'f.bin');
      const a = new FileFlash(path, { sectorSize: 256, sectorCount: 4 });
      a.write(260, new Uint8Array([1, 2, 3]));
      a.close();
      const b = new FileFlash(path, { sectorSize: 256, sectorCount: 4 });
      assert.equal(b.residentBytes, 0);
      assert.deepEqual([...b.read(260, 3)], [1, 2, 3]);
      b.write(600, new Uint8Array([9]));
      b.evictUntouched();
      b.evictUntouched();
      assert.equal(b.residentBytes, 0);
      assert.deepEqual([...b.read(600, 1)], [9]);
      b.close();
      const file = readFileSync(path);
      assert.equal(file.length, 1024);
      assert.deepEqual([...file.subarray(260, 263)], [1, 2, 3]);
      assert.equal(file[600], 9);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
