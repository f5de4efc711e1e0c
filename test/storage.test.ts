import assert from 'node:assert/strict';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { crc32 } from '../modules/core/crc32.js';
import { AppendLog } from '../modules/storage/append-log.js';
import { LogFullError, StorageError } from '../modules/storage/errors.js';
import { FlashRegion } from '../modules/storage/flash-region.js';
import { FRAME_OVERHEAD, SECTOR_HEADER_SIZE, magicOf, scanSector } from '../modules/storage/frame.js';
import { RecordRing } from '../modules/storage/record-ring.js';
import { EnergyJournal } from '../modules/metrology/energy-journal.js';
import { AUTH_RECORD_SIZE, ServiceCounterRecord, TELEGRAM_RECORD_SIZE, TelegramCounterRecord, type AirtimeHistory } from '../modules/app/counter-records.js';
import { MetrologyConstants, CALIBRATION_CONSTANT_ID } from '../modules/app/calibration-constants.js';
import { defaultCalibration, makeCalibration, serializeCalibration } from '../modules/metrology/calibration.js';
import { FlashFault } from '../modules/ports/flash.js';
import { PowerCut, SimFlash } from '../hosts/sim/sim-flash.js';
import { sweepPowerCuts, type SweepSubject } from './helpers/power-cut-sweep.js';

const ascii = (s: string) => new TextEncoder().encode(s);

/** The documented frame, built independently: u16 length | u32 seq | payload | CRC-32 (zlib) | 00. */
function frameBytes(seq: number, payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(payload.length + 11);
  const dv = new DataView(f.buffer);
  dv.setUint16(0, payload.length, true);
  dv.setUint32(2, seq, true);
  f.set(payload, 6);
  dv.setUint32(6 + payload.length, zlibCrc32(f.subarray(0, 6 + payload.length)), true);
  f[f.length - 1] = 0x00;
  return f;
}

/** The documented sector header: 4 ASCII magic | u32 sector seq | CRC-32 (zlib) of those 8 bytes. */
function headerBytes(magic: string, seq: number): Uint8Array {
  const h = new Uint8Array(12);
  h.set(ascii(magic));
  new DataView(h.buffer).setUint32(4, seq, true);
  new DataView(h.buffer).setUint32(8, zlibCrc32(h.subarray(0, 8)), true);
  return h;
}

/** A payload that names its step, of a length varying with it; never two alike. */
function payloadFor(i: number, max = 40): Uint8Array {
  const p = new Uint8Array(2 + ((i * 7) % (max - 1)));
  for (let k = 0; k < p.length; k++) p[k] = (i * 31 + k * 17 + 5) & 0xff;
  p[0] = i & 0xff;
  p[1] = i >> 8;
  return p;
}
const stepOf = (p: Uint8Array) => p[0] | (p[1] << 8);

describe('storage: the frame and sector header format', () => {
  it('crc32 equals zlib\'s CRC-32 over every range of a buffer (word steps and byte tails alike), check value 0xCBF43926', () => {
    assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
    const b = new Uint8Array(96);
    let x = 0x2545f491;
    for (let i = 0; i < b.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      b[i] = x & 0xff;
    }
    for (let start = 0; start < 9; start++) {
      for (let end = start; end <= b.length; end++) assert.equal(crc32(b, start, end), zlibCrc32(b.subarray(start, end)), `${start}..${end}`);
    }
    assert.equal(crc32(b), zlibCrc32(b));
    assert.equal(crc32(new Uint8Array(64).fill(0xff)), zlibCrc32(new Uint8Array(64).fill(0xff)));
  });

  it('a record ring writes exactly the documented header and frame bytes, commit byte last', () => {
    const flash = new SimFlash({ sectorSize: 256, sectorCount: 2 });
    const writes: Uint8Array[] = [];
    const write = flash.write.bind(flash);
    flash.write = (offset, data) => {
      writes.push(data.slice());
      write(offset, data);
    };
    const ring = new RecordRing({ flash, magic: 'TEST', maxPayload: 16 });
    assert.equal(ring.save(Uint8Array.from([1, 2, 3])), 1);
    const img = flash.image();
    const want = new Uint8Array(512).fill(0xff);
    want.set(headerBytes('TEST', 0), 0);
    want.set(frameBytes(1, Uint8Array.from([1, 2, 3])), 12);
    assert.deepEqual(img, want);
    // Three writes: the header, the frame with its commit byte still erased, then the commit byte.
    assert.equal(writes.length, 3);
    assert.deepEqual(writes[1], Uint8Array.from([...frameBytes(1, Uint8Array.from([1, 2, 3])).subarray(0, 13), 0xff]));
    assert.deepEqual(writes[2], Uint8Array.from([0]));
  });

  it('an append log writes the same frames (seq from 0) under its own magic', () => {
    const flash = new SimFlash({ sectorSize: 256, sectorCount: 2 });
    const log = AppendLog.open({ flash, magic: 'LOG1' });
    log.append(ascii('first'));
    log.append(ascii('second'));
    const img = flash.image();
    assert.deepEqual(img.subarray(0, 12), headerBytes('LOG1', 0));
    const f0 = frameBytes(0, ascii('first'));
    const f1 = frameBytes(1, ascii('second'));
    assert.deepEqual(img.subarray(12, 12 + f0.length), f0);
    assert.deepEqual(img.subarray(12 + f0.length, 12 + f0.length + f1.length), f1);
    assert.ok(img.subarray(12 + f0.length + f1.length).every((b) => b === 0xff));
  });

  it('a store never reads another store’s sectors: the magic names the store', () => {
    const flash = new SimFlash({ sectorSize: 256, sectorCount: 2 });
    new RecordRing({ flash, magic: 'AAAA', maxPayload: 8 }).save(Uint8Array.from([7]));
    assert.equal(new RecordRing({ flash, magic: 'BBBB', maxPayload: 8 }).load(), undefined);
    assert.equal(AppendLog.open({ flash, magic: 'AAAB' }).count, 0);
    assert.deepEqual(new RecordRing({ flash, magic: 'AAAA', maxPayload: 8 }).load()?.payload, Uint8Array.from([7]));
  });

  it('stray programmed bytes after the last frame (erased length, bits set further on) close the sector', () => {
    // Real NOR flash cut inside a write may leave any bits programmed, also past an erased-looking
    // length field: nothing is written after them.
    const flash = new SimFlash({ sectorSize: 256, sectorCount: 2 });
    new RecordRing({ flash, magic: 'RING', maxPayload: 8 }).save(Uint8Array.from([1]));
    const end = 12 + 1 + 11;
    flash.write(end + 5, Uint8Array.from([0x7f]));
    const ring = new RecordRing({ flash, magic: 'RING', maxPayload: 8 });
    assert.deepEqual(ring.load()?.payload, Uint8Array.from([1]));
    ring.save(Uint8Array.from([2]));
    assert.deepEqual(flash.read(256, 12), headerBytes('RING', 1), 'the next record went to the next sector');
    assert.deepEqual(flash.read(end, 11), Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff]), 'nothing written after the stray bytes');
    assert.deepEqual(new RecordRing({ flash, magic: 'RING', maxPayload: 8 }).load()?.payload, Uint8Array.from([2]));
    const log = new SimFlash({ sectorSize: 256, sectorCount: 3 });
    AppendLog.open({ flash: log, magic: 'LOGS' }).append(Uint8Array.from([1]));
    log.write(end + 5, Uint8Array.from([0x7f]));
    assert.deepEqual(AppendLog.open({ flash: log, magic: 'LOGS' }).recovery.tornSectors, [0]);
  });

  it('a frame cut before its commit byte whose payload holds a committed frame: that is no record (log and ring)', () => {
    // The most common torn state (frame written, commit byte not) with a payload a user chose.
    const inner = frameBytes(99, ascii('EVIL'));
    const payload = Uint8Array.from([0xaa, ...inner, 0xcc]);
    const decode = (p: Uint8Array) => new TextDecoder().decode(p);
    const log = new SimFlash({ sectorSize: 256, sectorCount: 3 });
    AppendLog.open({ flash: log, magic: 'CLOG' }).append(ascii('genuine record 0'));
    log.cutPower({ opIndex: log.opCount + 1, phase: 'before' }); // the frame's write, not its commit byte
    assert.throws(() => AppendLog.open({ flash: log, magic: 'CLOG' }).append(payload), PowerCut);
    log.powerOn();
    const reopened = AppendLog.open({ flash: log, magic: 'CLOG' });
    assert.deepEqual(reopened.readAll().map(decode), ['genuine record 0']);
    assert.deepEqual(reopened.recovery.corrupt, []);
    const ring = new SimFlash({ sectorSize: 256, sectorCount: 2 });
    new RecordRing({ flash: ring, magic: 'RING', maxPayload: 32 }).save(ascii('previous good'));
    ring.cutPower({ opIndex: ring.opCount + 1, phase: 'before' });
    assert.throws(() => new RecordRing({ flash: ring, magic: 'RING', maxPayload: 32 }).save(payload), PowerCut);
    ring.powerOn();
    const loaded = new RecordRing({ flash: ring, magic: 'RING', maxPayload: 32 }).load();
    assert.deepEqual(loaded && { text: decode(loaded.payload), sequence: loaded.sequence }, { text: 'previous good', sequence: 1 });
  });

  it('a frame altered in place with committed frames after it: those are still read, and the offset reported', () => {
    const flash = new SimFlash({ sectorSize: 256, sectorCount: 3 });
    const log = AppendLog.open({ flash, magic: 'CLOG' });
    for (const t of ['one', 'two', 'three']) log.append(ascii(t));
    flash.write(12 + 6, Uint8Array.from([0x00])); // 'o' of "one" → bits cleared: its CRC fails
    const reopened = AppendLog.open({ flash, magic: 'CLOG' });
    assert.deepEqual(reopened.readAll().map((p) => new TextDecoder().decode(p)), ['two', 'three']);
    assert.deepEqual(reopened.recovery.corrupt, [{ sector: 0, offset: 12 }]);
  });

  it('crafted bytes with a plausible frame at every offset: the search checks CRCs over at most four sector sizes', () => {
    // (An operation count, not a time: every byte the scan reads goes through the proxy.)
    const size = 4096;
    const body = new Uint8Array(size);
    body.set(headerBytes('CLOG', 1));
    for (let i = 12; i + 1 < size; i += 2) body[i + 1] = 0x08; // u16 0x0800 at every even offset, 0x00 where its commit byte would be
    let reads = 0;
    const counted = new Proxy(body, {
      get(target, key) {
        if (typeof key === 'string' && /^\d+$/.test(key)) reads++;
        const v = Reflect.get(target, key, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const scan = scanSector(counted, magicOf('CLOG'));
    assert.deepEqual({ frames: scan.frames.length, closed: scan.closed }, { frames: 0, closed: true });
    assert.ok(reads < 6 * size, `${reads} bytes read for a ${size}-byte sector`);
    assert.ok(reads > 4 * size, `${reads}: the search ran until its bound`);
  });

  it('bad magics, geometries and record sizes are typed StorageErrors', () => {
    const flash = new SimFlash({ sectorSize: 128, sectorCount: 4 });
    const code = (c: string) => (e: unknown) => e instanceof StorageError && e.code === c;
    assert.throws(() => new RecordRing({ flash, magic: 'TOOLONG', maxPayload: 8 }), code('geometry'));
    assert.throws(() => new RecordRing({ flash, magic: 'a\u00e9bc', maxPayload: 8 }), code('geometry'));
    assert.throws(() => new RecordRing({ flash: new FlashRegion(flash, 0, 1), magic: 'RING', maxPayload: 8 }), code('geometry'));
    assert.throws(() => new RecordRing({ flash, magic: 'RING', maxPayload: 128 - 12 - 11 + 1 }), code('geometry'));
    assert.throws(() => AppendLog.open({ flash: new FlashRegion(flash, 3, 1), magic: 'LOGS' }), code('geometry'));
    const ring = new RecordRing({ flash, magic: 'RING', maxPayload: 8 });
    assert.throws(() => ring.save(new Uint8Array(9)), code('record-size'));
    assert.throws(() => ring.save(new Uint8Array(0)), code('record-size'));
    const log = AppendLog.open({ flash, magic: 'LOGS' });
    assert.throws(() => log.append(new Uint8Array(0)), code('record-size'));
    assert.throws(() => log.append(new Uint8Array(log.maxPayload + 1)), code('record-size'));
    assert.throws(() => log.read(5), code('no-record'));
  });
});

describe('storage: flash region', () => {
  it('maps offsets and sectors onto its range of the parent and refuses anything outside it', () => {
    const parent = new SimFlash({ sectorSize: 64, sectorCount: 6 });
    const r = new FlashRegion(parent, 2, 3);
    assert.equal(r.sectorCount, 3);
    assert.equal(r.sectorSize, 64);
    r.write(5, Uint8Array.from([1, 2]));
    assert.deepEqual(parent.read(2 * 64 + 5, 2), Uint8Array.from([1, 2]));
    assert.deepEqual(r.read(5, 2), Uint8Array.from([1, 2]));
    r.erase(0);
    assert.deepEqual([...parent.eraseCounts], [0, 0, 1, 0, 0, 0]);
    const range = (e: unknown) => e instanceof FlashFault && e.code === 'range';
    assert.throws(() => r.read(3 * 64 - 1, 2), range);
    assert.throws(() => r.write(-1, Uint8Array.from([0])), range);
    assert.throws(() => r.erase(3), range);
    assert.throws(() => new FlashRegion(parent, 4, 3), (e: unknown) => e instanceof StorageError && e.code === 'geometry');
    // A region of a region: sector 0 of the inner one is sector 3 of the parent.
    new FlashRegion(r, 1, 2).erase(0);
    assert.equal(parent.eraseCounts[3], 1);
  });

  it('an append log keeps to its region of the flash', () => {
    const flash = new SimFlash({ sectorSize: 128, sectorCount: 6 });
    flash.write(0, new Uint8Array(128)); // someone else's data in sector 0
    const log = AppendLog.open({ flash: new FlashRegion(flash, 2, 3), magic: 'LOGS' });
    for (let i = 0; i < 6; i++) log.append(payloadFor(i));
    const img = flash.image();
    assert.ok(img.subarray(0, 128).every((b) => b === 0) && img.subarray(128, 256).every((b) => b === 0xff));
    assert.ok(img.subarray(5 * 128).every((b) => b === 0xff));
  });
});

describe('storage: record ring', () => {
  it('the newest record wins across restarts; one erase per sector filled, only of the next sector', () => {
    const flash = new SimFlash({ sectorSize: 128, sectorCount: 3 });
    const ring = new RecordRing({ flash, magic: 'RING', maxPayload: 20 });
    assert.equal(ring.recordsPerSector, Math.floor((128 - SECTOR_HEADER_SIZE) / (20 + FRAME_OVERHEAD)));
    assert.equal(ring.load(), undefined);
    const saves = 40;
    for (let i = 1; i <= saves; i++) {
      const p = payloadFor(i, 20);
      assert.equal(ring.save(p), i);
      assert.deepEqual(new RecordRing({ flash: new SimFlash({ sectorSize: 128, sectorCount: 3, image: flash.image() }), magic: 'RING', maxPayload: 20 }).load(), { sequence: i, payload: p });
    }
    // Wear accounting against the simulated flash's own counters: blank sectors are not erased.
    const erases = flash.eraseCounts.reduce((a, b) => a + b, 0);
    assert.equal(ring.erases, erases);
    assert.equal(ring.writes, saves);
    const headers = erases + 3;
    assert.equal(flash.writeCount, 2 * saves + headers, 'two writes per record, one per sector opened');
    assert.ok(Math.max(...flash.eraseCounts) - Math.min(...flash.eraseCounts) <= 1, `wear spread evenly: ${[...flash.eraseCounts]}`);
  });

  it('a forged sector header with sequence 2^32 − 1 (CRC right): later saves still win after a restart', () => {
    const flash = new SimFlash({ sectorSize: 256, sectorCount: 2 });
    new RecordRing({ flash, magic: 'RING', maxPayload: 8 }).save(ascii('OLD'));
    flash.erase(0);
    flash.write(0, headerBytes('RING', 0xffffffff));
    flash.write(12, frameBytes(1, ascii('OLD')));
    const decode = (r: { payload: Uint8Array } | undefined) => (r ? new TextDecoder().decode(r.payload) : undefined);
    const ring = new RecordRing({ flash, magic: 'RING', maxPayload: 8 });
    assert.equal(decode(ring.load()), 'OLD');
    for (let i = 1; i <= 40; i++) {
      ring.save(ascii(`NEW${i}`));
      assert.equal(decode(new RecordRing({ flash, magic: 'RING', maxPayload: 8 }).load()), `NEW${i}`, `after NEW${i}`);
    }
  });

  it('save allocates no frame per record: the same buffers reach the flash every time', () => {
    const flash = new SimFlash({ sectorSize: 256, sectorCount: 2 });
    const seen = new Set<Uint8Array>();
    const write = flash.write.bind(flash);
    flash.write = (offset, data) => {
      seen.add(data);
      write(offset, data);
    };
    const ring = new RecordRing({ flash, magic: 'RING', maxPayload: 20 });
    const payload = new Uint8Array(20);
    for (let i = 0; i < 100; i++) {
      payload[0] = i;
      ring.save(payload);
    }
    assert.equal(seen.size, 3, 'the header, the frame and the commit byte buffers');
  });

  it('never erases the newest record’s sector: a torn write in a freshly erased sector, then a cut in each later step', () => {
    // Sector 0 holds the newest record and is full; the save after it opens sector 1 and is torn.
    // Then every flash call of the next save is cut in turn: the erase of sector 1 (it holds no
    // committed record), its header, the frame, the commit byte. Sector 0 is never erased and the
    // value read is always the newest committed one or the one being written.
    const geometry = { sectorSize: 128, sectorCount: 2 };
    const per = Math.floor((128 - 12) / (20 + 11));
    const fill = (flash: SimFlash) => {
      const ring = new RecordRing({ flash, magic: 'RING', maxPayload: 20 });
      for (let i = 1; i <= per; i++) ring.save(payloadFor(i, 20));
      return ring;
    };
    for (const tear of [0, 0.25, 0.5, 0.9]) {
      for (let op = 0; op < 4; op++) {
        for (const phase of ['before', 'during', 'after'] as const) {
          const flash = new SimFlash(geometry);
          const ring = fill(flash);
          const firstSectorErases = flash.eraseCounts[0];
          // Sector 1 is blank: header, frame (torn), commit.
          flash.cutPower({ opIndex: flash.opCount + 1, phase: 'during', progress: tear });
          assert.throws(() => ring.save(payloadFor(100, 20)), PowerCut);
          flash.powerOn();
          const again = new RecordRing({ flash, magic: 'RING', maxPayload: 20 });
          assert.deepEqual(again.load()?.payload, payloadFor(per, 20), 'the torn record is no record');
          // The next save: erase sector 1, header, frame, commit byte — cut at its op-th call.
          flash.cutPower({ opIndex: flash.opCount + op, phase, progress: 0.5 });
          let landed = false;
          try {
            again.save(payloadFor(101, 20));
            landed = true;
          } catch (e) {
            assert.ok(e instanceof PowerCut);
          }
          flash.powerOn();
          const got = new RecordRing({ flash, magic: 'RING', maxPayload: 20 }).load()!;
          const label = `tear ${tear}, cut ${phase} at call ${op}`;
          assert.ok(stepOf(got.payload) === per || stepOf(got.payload) === 101, `${label}: read ${stepOf(got.payload)}`);
          assert.deepEqual(got.payload, payloadFor(stepOf(got.payload), 20), `${label}: whole`);
          if (landed) assert.equal(stepOf(got.payload), 101);
          assert.equal(flash.eraseCounts[0], firstSectorErases, `${label}: sector 0 never erased`);
        }
      }
    }
  });
});

describe('storage: append log', () => {
  it('full: log-full, nothing overwritten, a typed StorageError', () => {
    const flash = new SimFlash({ sectorSize: 128, sectorCount: 3 });
    const log = AppendLog.open({ flash, magic: 'LOGS' });
    const per = Math.floor((128 - 12) / (20 + 11));
    const record = (i: number) => new Uint8Array(20).fill(i);
    for (let i = 0; i < 2 * per; i++) log.append(record(i));
    assert.throws(() => log.append(new Uint8Array(20)), (e: unknown) => e instanceof LogFullError && e instanceof StorageError && e.code === 'log-full');
    assert.deepEqual(AppendLog.open({ flash, magic: 'LOGS' }).readAll(), Array.from({ length: 2 * per }, (_, i) => record(i)));
  });
});

// ---------------------------------------------------------------------------------------------
// The power-cut sweeps (test/helpers/power-cut-sweep.ts): every store, the same cuts.

function ringSubject(sectorCount: number): SweepSubject<RecordRing> {
  return {
    geometry: { sectorSize: 128, sectorCount },
    steps: 14,
    open: (flash) => {
      const ring = new RecordRing({ flash, magic: 'RING', maxPayload: 40 });
      ring.load();
      return ring;
    },
    step: (ring, i) => void ring.save(payloadFor(i)),
    check(ring, committed, inFlight, label) {
      const r = new RecordRing({ flash: ring.flash, magic: 'RING', maxPayload: 40 }).load();
      const last = committed.length > 0 ? committed[committed.length - 1] : undefined;
      if (!r) {
        assert.equal(last, undefined, `${label}: lost record ${last}`);
        return false;
      }
      const step = stepOf(r.payload);
      assert.deepEqual(r.payload, payloadFor(step), `${label}: no garbage`);
      assert.ok(step === last || step === inFlight, `${label}: read step ${step}, last committed ${last}, in flight ${inFlight}`);
      const landed = inFlight !== undefined && step === inFlight;
      assert.equal(r.sequence, committed.length + (landed ? 1 : 0), `${label}: sequence counts committed saves`);
      return landed;
    },
  };
}

/** A log payload that names its step, 14…36 bytes (so frames pack unevenly). */
function logPayload(n: number): Uint8Array {
  const p = new Uint8Array(14 + ((n * 7) % 23));
  for (let i = 0; i < p.length; i++) p[i] = (n * 31 + i * 17 + 5) & 0xff;
  p[0] = n & 0xff;
  return p;
}

/**
 * The append log's script (formerly test/log-store.test.ts's sweep): 20 steps on 8 sectors of 128
 * bytes, four of them torn by the script itself (inside a frame, inside a commit byte, a frame
 * written without its commit byte) so that space is wasted and compaction must run, step 14 an
 * explicit compaction.
 */
function logSubject(): SweepSubject<AppendLog> & { copied: number } {
  return {
    copied: 0,
    geometry: { sectorSize: 128, sectorCount: 8 },
    steps: 20,
    tears: {
      3: { opOffset: 0, phase: 'during', progress: 0.6 }, // inside a frame write
      6: { opOffset: 1, phase: 'during', progress: 0.5 }, // inside a commit-byte write
      9: { opOffset: 0, phase: 'during', progress: 0.2 },
      12: { opOffset: 1, phase: 'before' }, // frame written, commit byte not
    },
    open: (flash) => AppendLog.open({ flash, magic: 'LOGS' }),
    step(log, i) {
      const before = log.stats().recordsCopied;
      try {
        if (i === 14) {
          log.compact();
          return false;
        }
        log.append(logPayload(i));
        return true;
      } catch (e) {
        if (e instanceof LogFullError) return false;
        throw e;
      } finally {
        this.copied += log.stats().recordsCopied - before;
      }
    },
    check(log, committed, inFlight, label) {
      const seqs = log.seqs();
      const records = committed.filter((s) => s !== 14);
      assert.ok(seqs.length === records.length || (inFlight !== undefined && inFlight !== 14 && seqs.length === records.length + 1), `${label}: ${seqs.length} records for ${records.length} committed`);
      assert.deepEqual(seqs, seqs.map((_, k) => k), `${label}: seqs 0…n−1`);
      records.forEach((step, k) => assert.deepEqual(log.read(k), logPayload(step), `${label}: record ${k} intact`));
      const landed = seqs.length > records.length;
      if (landed) assert.deepEqual(log.read(seqs.length - 1), logPayload(inFlight!), `${label}: the in-flight record whole`);
      assert.equal(log.nextSeq, seqs.length, `${label}: next seq follows`);
      assert.deepEqual(log.recovery.corrupt, [], `${label}: a cut is not taken for corruption`);
      assert.deepEqual(log.recovery.gaps, [], `${label}: no gap`);
      return landed;
    },
  };
}

const journalValues = (i: number) => [i * 1000 + 1, i * 7, i * 3, 0];

function journalSubject(): SweepSubject<SimFlash> {
  return {
    geometry: { sectorSize: 128, sectorCount: 3 }, // 3 records of 4 registers per sector
    steps: 14,
    open: (flash) => flash,
    step: (flash, i) => new EnergyJournal({ flash, registerCount: 4 }).save(journalValues(i)),
    check(flash, committed, inFlight, label) {
      const r = new EnergyJournal({ flash, registerCount: 4 }).load();
      const last = committed.at(-1);
      if (!r) {
        assert.equal(last, undefined, `${label}: lost`);
        return false;
      }
      const step = (r.values[0] - 1) / 1000;
      assert.deepEqual(r.values, journalValues(step), `${label}: whole record`);
      assert.ok(step === last || step === inFlight, `${label}: restored ${step}, last committed ${last}`);
      return inFlight !== undefined && step === inFlight;
    },
  };
}

interface Counters {
  telegram: TelegramCounterRecord;
  service: ServiceCounterRecord;
}

interface CounterPair {
  flash: SimFlash;
  counters: Counters;
}

function countersOn(flash: SimFlash): Counters {
  return {
    telegram: new TelegramCounterRecord(new RecordRing({ flash: new FlashRegion(flash, 0, 2), magic: 'XSTC', maxPayload: TELEGRAM_RECORD_SIZE })),
    service: new ServiceCounterRecord(new RecordRing({ flash: new FlashRegion(flash, 2, 2), magic: 'XSAC', maxPayload: AUTH_RECORD_SIZE }), false),
  };
}

const airtimeOf = (i: number): AirtimeHistory => ({ wall: i % 3 === 0, baseMs: 1_790_000_000_000 + i, entries: Array.from({ length: i % 13 }, (_, k) => ({ ageMs: 1000 * k, airtimeMs: 10 + k + i })) });

function countersSubject(): SweepSubject<CounterPair> {
  // Even steps reserve telegram counter i + 1 (with an airtime history), odd steps accept service counter i + 1.
  return {
    geometry: { sectorSize: 512, sectorCount: 4 },
    steps: 24,
    open: (flash) => ({ flash, counters: countersOn(flash) }),
    step: ({ counters }, i) => {
      if (i % 2 === 0) counters.telegram.save({ messageCounter: i + 1, accessNumber: (i + 1) & 0xff }, airtimeOf(i));
      else counters.service.save(i + 1);
    },
    check({ flash }, committed, inFlight, label) {
      const c = countersOn(flash);
      const lastOf = (parity: number) => committed.filter((s) => s % 2 === parity).at(-1);
      const flight = (parity: number) => (inFlight !== undefined && inFlight % 2 === parity ? inFlight : undefined);
      let landed = false;
      const t = c.telegram.counters;
      const tStep = t ? t.messageCounter - 1 : undefined;
      assert.ok(tStep === lastOf(0) || (tStep !== undefined && tStep === flight(0)), `${label}: telegram counter of step ${tStep}, last committed ${lastOf(0)}`);
      if (tStep !== undefined) {
        assert.equal(t!.accessNumber, (tStep + 1) & 0xff);
        const h = airtimeOf(tStep);
        assert.equal(c.telegram.airtime?.entries.length, h.entries.length, `${label}: the airtime saved with it`);
        assert.equal(c.telegram.airtime?.wall, h.wall);
        if (tStep === flight(0)) landed = true;
      }
      const a = c.service.load();
      const aStep = a === 0 ? undefined : a - 1;
      assert.ok(aStep === lastOf(1) || (aStep !== undefined && aStep === flight(1)), `${label}: auth counter of step ${aStep}, last committed ${lastOf(1)}`);
      if (aStep !== undefined && aStep === flight(1)) landed = true;
      return landed;
    },
  };
}

const calibrationBytes = (i: number) =>
  serializeCalibration(makeCalibration({ ...defaultCalibration('ade7953', 1), channels: [{ voltageGain: 1, currentGain: 1, powerGain: 1 + (i + 1) / 1000, phaseDeg: 0, powerOffsetW: 0, reactiveOffsetVar: 0 }] }));

function constantsSubject(): SweepSubject<SimFlash> {
  const on = (flash: SimFlash) => new MetrologyConstants(new RecordRing({ flash, magic: 'XSCC', maxPayload: 128 }), 'ade7953', 1);
  const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, k) => x === b[k]);
  return {
    geometry: { sectorSize: 512, sectorCount: 2 },
    steps: 12,
    open: (flash) => flash,
    step: (flash, i) => on(flash).apply(CALIBRATION_CONSTANT_ID, calibrationBytes(i)),
    check(flash, committed, inFlight, label) {
      const c = on(flash);
      assert.equal(c.loadError, undefined, `${label}: the stored calibration parses`);
      const last = committed.at(-1);
      const landed = inFlight !== undefined && same(c.serialized, calibrationBytes(inFlight));
      if (landed) return true;
      const want = last === undefined ? serializeCalibration(defaultCalibration('ade7953', 1)) : calibrationBytes(last);
      assert.deepEqual(c.serialized, want, `${label}: the last applied calibration (step ${last})`);
      return false;
    },
  };
}

describe('storage: power-cut sweeps (one helper, every store)', () => {
  it('record ring, 3 sectors, records of varying length; every first cut followed by a second', function () {
    const r = sweepPowerCuts(ringSubject(3), { secondCuts: 3 });
    this.test!.title += ` (${r.cutPoints} cut points over ${r.operations} flash calls, ${r.secondCutPoints} second cuts)`;
    assert.ok(r.operations > 30 && r.secondCutPoints > r.cutPoints);
  });

  it('record ring, 2 sectors: every first cut followed by a second', function () {
    const r = sweepPowerCuts(ringSubject(2), { secondCuts: 4 });
    this.test!.title += ` (${r.cutPoints} cut points over ${r.operations} flash calls, ${r.secondCutPoints} second cuts)`;
  });

  it('append log: every committed record kept, the one in flight at most extra, seqs never reused', function () {
    const subject = logSubject();
    const r = sweepPowerCuts(subject, { secondCuts: 1 });
    this.test!.title += ` (${r.cutPoints} cut points over ${r.operations} flash calls, ${r.secondCutPoints} second cuts; ${subject.copied} records copied by compaction)`;
    assert.ok(subject.copied > 100, 'the waste the cuts leave makes the log compact');
  });

  it('energy journal: the newest committed registers or the ones being saved, never older, never garbage', function () {
    const r = sweepPowerCuts(journalSubject(), { secondCuts: 2 });
    this.test!.title += ` (${r.cutPoints} cut points over ${r.operations} flash calls, ${r.secondCutPoints} second cuts)`;
  });

  it('telegram and service auth counters: neither goes back, the airtime travels with its counter', function () {
    const r = sweepPowerCuts(countersSubject(), { secondCuts: 1 });
    this.test!.title += ` (${r.cutPoints} cut points over ${r.operations} flash calls, ${r.secondCutPoints} second cuts)`;
  });

  it('calibration constants: the last applied calibration or the one being applied, always parseable', function () {
    const r = sweepPowerCuts(constantsSubject(), { secondCuts: 1 });
    this.test!.title += ` (${r.cutPoints} cut points over ${r.operations} flash calls, ${r.secondCutPoints} second cuts)`;
  });
});
