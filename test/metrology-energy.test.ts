import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Ade7953 } from '../modules/metrology/ade7953.js';
import { defaultCalibration } from '../modules/metrology/calibration.js';
import { EnergyJournal } from '../modules/metrology/energy-journal.js';
import { EnergyRegisters } from '../modules/metrology/energy-registers.js';
import { EnergyConfigError } from '../modules/metrology/errors.js';
import { StorageError } from '../modules/storage/errors.js';
import { storeMagic } from '../modules/storage/flash-map.js';
import { RecordRing } from '../modules/storage/record-ring.js';
import { Metering } from '../modules/metrology/metering.js';
import { PulseOutput } from '../modules/metrology/pulse-output.js';
import { TariffSchedule } from '../modules/metrology/tariff.js';
import { perfectHardware } from '../hosts/sim/chips/front-end.js';
import { ChipTestBed } from '../hosts/sim/chips/test-bed.js';
import { SimAde7953 } from '../hosts/sim/chips/sim-ade7953.js';
import { PowerCut, SimFlash } from '../hosts/sim/sim-flash.js';

class Pin {
  level: 0 | 1 = 0;
  rises = 0;
  write(v: 0 | 1) {
    if (v === 1 && this.level === 0) this.rises++;
    this.level = v;
  }
}

/** A simulated single-phase meter whose MCU can lose power and boot again on the same flash. */
class Meter {
  rig = new ChipTestBed(1);
  chip = this.rig.attach(new SimAde7953({ load: this.rig.load, errors: perfectHardware(2) }));
  flash = new SimFlash({ sectorSize: 512, sectorCount: 4 });
  pin = new Pin();
  metering!: Metering;
  constructor(readonly quantumWh = 1) {
    this.boot();
  }
  boot() {
    const driver = new Ade7953({ spi: this.chip.spi, clock: this.rig.clock, calibration: defaultCalibration('ade7953', 1, 0.5) });
    this.metering = new Metering({
      driver,
      clock: this.rig.clock,
      store: new EnergyJournal({ flash: this.flash, registerCount: 2 }),
      pulse: new PulseOutput({ pin: this.pin, meterConstant: 10000, widthMs: 30 }),
      pulseSource: 'import',
      quantumWh: this.quantumWh,
    });
    this.metering.start();
  }
  /** Mains off: the MCU and the chip lose power; then back on. */
  powerCycle() {
    this.flash.powerOn();
    this.chip.reset();
    this.boot();
  }
  total() {
    return this.metering.registers.uwh('import') / 1e6 + this.metering.registers.uwh('export') / 1e6;
  }
}

describe('metrology energy registers, pulses and persistence', () => {
  it('keeps sub-µWh remainders: a million tiny deltas sum exactly', () => {
    const r = new EnergyRegisters(1, 1);
    for (let i = 0; i < 1_000_000; i++) r.add([0.0000003], [0], 1);
    // 0.0000003 as a double is a hair below 3e-7: the exact sum is just under 300 000 µWh.
    assert.ok(Math.abs(r.uwh('import') - 300_000) <= 1);
    // With a delta exact in binary (2^-22 Wh = 15625/65536 µWh) the sum is exact: floor(10^6 · 15625 / 65536).
    const e = new EnergyRegisters(1, 1);
    for (let i = 0; i < 1_000_000; i++) e.add([2 ** -22], [0], 1);
    assert.equal(e.uwh('import'), Number((10n ** 6n * 15625n) / 65536n));
  });

  it('routes energy to tariffs by the schedule and keeps OBIS totals consistent', () => {
    const sched = new TariffSchedule({ tariffs: 2, switches: [{ at: '06:00', tariff: 1 }, { at: '22:00', tariff: 2 }], utcOffsetMinutes: 60 });
    assert.equal(sched.tariffAt(Date.UTC(2026, 0, 1, 4, 59)), 2); // 05:59 local
    assert.equal(sched.tariffAt(Date.UTC(2026, 0, 1, 5, 0)), 1);
    assert.equal(sched.tariffAt(Date.UTC(2026, 0, 1, 21, 0)), 2);
    const r = new EnergyRegisters(3, 2);
    r.add([1, 2, 3], [0, 0.5, 0], 1);
    r.add([1, 0, 0], [4, 0, 0], 2);
    const o = r.obis();
    assert.equal(o['1.8.0'], 7);
    assert.equal(o['1.8.1'], 6);
    assert.equal(o['1.8.2'], 1);
    assert.equal(o['2.8.0'], 4.5);
    assert.equal(o['21.8.0'], 2);
    assert.equal(o['42.8.0'], 0.5);
    assert.throws(() => new TariffSchedule({ tariffs: 2, switches: [{ at: '25:00', tariff: 1 }] }), EnergyConfigError);
    assert.throws(() => r.add([1], [0], 3), EnergyConfigError);
  });

  it('pulse count equals floor(register · C) over any sequence of deltas, bursts queued', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 50, noNaN: true }), { maxLength: 300 }), fc.integer({ min: 1, max: 100000 }), (deltas, c) => {
        const pin = new Pin();
        const p = new PulseOutput({ pin, meterConstant: c, widthMs: 30 });
        const r = new EnergyRegisters(1, 1);
        p.start(0);
        let t = 0;
        for (const d of deltas) {
          r.add([d], [0], 1);
          p.update(r.uwh('import'));
          for (let k = 0; k < 3; k++) p.tick((t += 30));
        }
        while (p.pending > 0 || pin.level) p.tick((t += 30));
        const want = Number((BigInt(r.uwh('import')) * BigInt(c)) / 10n ** 9n); // exact, independent of pulsesIn
        assert.equal(p.completed, want);
        assert.equal(pin.rises, want);
      }),
      { numRuns: 60 },
    );
  });

  it('journal: a power cut at any flash operation keeps the newest complete record', () => {
    const values = (i: number) => [i * 1000, i * 7];
    for (let cutAt = 0; cutAt < 60; cutAt++) {
      for (const phase of ['before', 'during', 'after'] as const) {
        const flash = new SimFlash({ sectorSize: 128, sectorCount: 3 }); // 4 records per sector: many erases
        let j = new EnergyJournal({ flash, registerCount: 2 });
        flash.cutPower({ opIndex: cutAt, phase, progress: 0.4 });
        let saved = 0;
        try {
          for (let i = 1; i <= 40; i++) {
            j.save(values(i));
            saved = i;
          }
        } catch (e) {
          assert.ok(e instanceof PowerCut);
        }
        flash.powerOn();
        j = new EnergyJournal({ flash, registerCount: 2 });
        const rec = j.load();
        const got = rec ? rec.values[0] / 1000 : 0;
        assert.ok(got === saved || got === saved + 1, `cut ${phase} op ${cutAt}: restored ${got}, last completed ${saved}`);
        if (rec) assert.deepEqual(rec.values, values(got));
        j.save(values(got + 1)); // and it keeps working
        assert.deepEqual(new EnergyJournal({ flash, registerCount: 2 }).load()!.values, values(got + 1));
      }
    }
  });

  it('journal refuses to go backwards and bad layouts', () => {
    const j = new EnergyJournal({ flash: new SimFlash({ sectorSize: 256, sectorCount: 2 }), registerCount: 2 });
    j.save([10, 10]);
    assert.throws(() => j.save([9, 11]), (e: unknown) => e instanceof EnergyConfigError && e.code === 'store-monotonic');
    assert.throws(() => new EnergyJournal({ flash: new SimFlash({ sectorSize: 256, sectorCount: 1 }), registerCount: 2 }), (e: unknown) => e instanceof StorageError && e.code === 'geometry');
  });

  it('journal: records of another register layout are never erased or overwritten — start-up refuses layout-mismatch', () => {
    // 1 phase, 1 tariff (2 registers) saved 1000 Wh; the meter restarts configured for 2 tariffs (4 registers).
    for (const [stored, configured] of [[2, 4], [4, 2], [6, 2], [2, 6]] as const) {
      const flash = new SimFlash({ sectorSize: 256, sectorCount: 3 });
      const old = new EnergyJournal({ flash, registerCount: stored });
      const values = (i: number) => Array.from({ length: stored }, (_, k) => (k % 2 ? 7 : 1e6 * (k + 1)) * i);
      for (let i = 1; i <= 20; i++) old.save(values(i)); // spans every sector (and wraps)
      const image = flash.read(0, 3 * 256).slice();
      const j = new EnergyJournal({ flash, registerCount: configured });
      const mismatch = (e: unknown) =>
        e instanceof EnergyConfigError &&
        e.code === 'layout-mismatch' &&
        e.details.storedRegisterCount === stored &&
        e.details.configuredRegisterCount === configured &&
        e.details.storedRecordSize === 4 + 8 * stored &&
        e.details.configuredRecordSize === 4 + 8 * configured &&
        e.details.storedImportUwh === values(20).filter((_, k) => k % 2 === 0).reduce((a, b) => a + b, 0) &&
        e.details.storedExportUwh === 7 * 20 * (stored / 2);
      assert.throws(() => j.load(), mismatch, `${stored} → ${configured}`);
      // Saving over it is refused too (no erase, no write), before and after a failed load.
      assert.throws(() => new EnergyJournal({ flash, registerCount: configured }).save(new Array(configured).fill(1)), mismatch);
      assert.throws(() => j.save(new Array(configured).fill(1)), mismatch);
      assert.deepEqual(flash.read(0, 3 * 256), image, 'flash untouched');
      // The old layout still reads the newest record: nothing was lost.
      assert.deepEqual(new EnergyJournal({ flash, registerCount: stored }).load()!.values, values(20));
    }
  });

  it('journal: a few records of another layout refuse too; bytes that are no valid record of any layout do not', () => {
    const flash = new SimFlash({ sectorSize: 128, sectorCount: 3 }); // 4 records of 2 registers per sector
    const old = new EnergyJournal({ flash, registerCount: 2 });
    for (let i = 1; i <= 3; i++) old.save([i * 1000, i]);
    assert.throws(() => new EnergyJournal({ flash, registerCount: 4 }).load(), (e: unknown) => e instanceof EnergyConfigError && e.code === 'layout-mismatch');
    // Non-record bytes (no valid record of any layout) are not energy: the journal starts empty and may erase them.
    const junk = new SimFlash({ sectorSize: 128, sectorCount: 3 });
    junk.write(0, new Uint8Array([0x45, 0x4a, 1, 2, 0, 0, 0, 0, 1, 2, 3, 4]));
    const j = new EnergyJournal({ flash: junk, registerCount: 4 });
    assert.equal(j.load(), undefined);
    j.save([1, 2, 3, 4]);
    assert.deepEqual(new EnergyJournal({ flash: junk, registerCount: 4 }).load()!.values, [1, 2, 3, 4]);
  });

  it('journal: a newest record in a format this firmware does not read refuses too (totals unknown: 0), nothing erased', () => {
    const flash = new SimFlash({ sectorSize: 128, sectorCount: 3 });
    new EnergyJournal({ flash, registerCount: 2 }).save([5000, 1]);
    // A later firmware's record under the journal's magic: format 2.
    new RecordRing({ flash, magic: storeMagic('energyJournal'), maxPayload: 20 }).save(Uint8Array.from([2, 1, 1, 0, 9, 9, 9, 9]));
    const image = flash.image();
    const unreadable = (e: unknown) => e instanceof EnergyConfigError && e.code === 'layout-mismatch' && e.details.storedRegisterCount === 0 && e.details.storedRecordSize === 8 && e.details.storedImportUwh === 0;
    const j = new EnergyJournal({ flash, registerCount: 2 });
    assert.throws(() => j.load(), unreadable);
    assert.throws(() => j.save([6000, 1]), unreadable);
    assert.deepEqual(flash.image(), image, 'flash untouched');
  });

  it('journal: the same register count in another split (1 phase × 3 tariffs vs 3 × 1) is a layout-mismatch too', () => {
    for (const [stored, configured] of [[[1, 3], [3, 1]], [[3, 1], [1, 3]], [[1, 2], [2, 1]]] as const) {
      const count = stored[0] * stored[1] * 2;
      const flash = new SimFlash({ sectorSize: 256, sectorCount: 3 });
      const old = new EnergyJournal({ flash, registerCount: count, phases: stored[0] });
      const values = (i: number) => Array.from({ length: count }, (_, k) => (k % 2 ? 7 : 1e6 * (k + 1)) * i);
      for (let i = 1; i <= 20; i++) old.save(values(i)); // spans every sector (and wraps)
      const image = flash.read(0, 3 * 256).slice();
      const mismatch = (e: unknown) =>
        e instanceof EnergyConfigError &&
        e.code === 'layout-mismatch' &&
        e.details.storedRegisterCount === count &&
        e.details.configuredRegisterCount === count &&
        e.details.storedPhases === stored[0] &&
        e.details.storedTariffs === stored[1] &&
        e.details.configuredPhases === configured[0] &&
        e.details.configuredTariffs === configured[1] &&
        e.details.storedImportUwh === values(20).filter((_, k) => k % 2 === 0).reduce((a, b) => a + b, 0);
      const j = new EnergyJournal({ flash, registerCount: count, phases: configured[0] });
      assert.throws(() => j.load(), mismatch, `${stored} → ${configured}`);
      assert.throws(() => j.save(new Array(count).fill(1)), mismatch);
      assert.throws(() => new EnergyJournal({ flash, registerCount: count, phases: configured[0] }).save(new Array(count).fill(1)), mismatch);
      assert.deepEqual(flash.read(0, 3 * 256), image, 'flash untouched');
      assert.deepEqual(new EnergyJournal({ flash, registerCount: count, phases: stored[0] }).load()!.values, values(20));
    }
    // A split that does not divide the register count is a configuration error.
    assert.throws(() => new EnergyJournal({ flash: new SimFlash({ sectorSize: 256, sectorCount: 2 }), registerCount: 6, phases: 2 }), (e: unknown) => e instanceof EnergyConfigError && e.code === 'store-config');
  });

  it('old-firmware failure: energy since the last save lost at a power cut — here at most one quantum', () => {
    const m = new Meter(1);
    m.rig.load.set(0, { current: 10, phaseDeg: 0 });
    for (let i = 0; i < 3600; i++) {
      m.rig.advance(1000);
      m.metering.cycle();
    }
    const before = m.total();
    m.powerCycle();
    const after = m.total();
    assert.ok(after <= before, 'never more than measured');
    assert.ok(before - after < 1, `lost ${before - after} Wh`);
    close(before, m.rig.load.importWh[0], 1e-3);
  });

  it('old-firmware failures: a total higher after a power loss, or jumping backwards — never', () => {
    const m = new Meter(1);
    let prev = 0;
    m.rig.load.set(0, { current: 25, phaseDeg: 0 });
    for (let k = 0; k < 30; k++) {
      for (let i = 0; i < 60; i++) {
        m.rig.advance(1000);
        m.metering.cycle();
        assert.ok(m.total() >= prev, 'monotonic while running');
        prev = m.total();
      }
      m.flash.cutPower({ opIndex: m.flash.opCount + (k % 3), phase: (['before', 'during', 'after'] as const)[k % 3] });
      m.rig.advance(1000);
      const measured = m.total() + m.rig.load.activePower(0) / 3600; // this cycle's energy included
      try {
        m.metering.cycle();
        m.metering.persist();
      } catch (e) {
        assert.ok(e instanceof PowerCut);
      }
      m.powerCycle();
      assert.ok(m.total() <= measured + 1e-6, 'not higher after the power loss');
      assert.ok(measured - m.total() < 1 + 25 * 230 / 3600 + 1e-6, 'loss within a quantum plus the interrupted cycle');
      prev = Math.min(prev, m.total());
    }
  });

  it('pulses never drift from the register across power cycles', () => {
    const m = new Meter(1);
    m.rig.load.set(0, { current: 10, phaseDeg: 0 }); // 2.3 kW: 6.4 pulses/s, within the pin's 16/s
    let pulses = 0;
    for (let k = 0; k < 5; k++) {
      const startUwh = m.metering.registers.uwh('import');
      const p0 = m.pin.rises;
      for (let i = 0; i < 600; i++) {
        for (let t = 0; t < 1000; t += 25) {
          m.rig.advance(25);
          m.metering.tick();
        }
        m.metering.cycle();
      }
      for (let t = 0; t < 10000; t += 30) {
        m.rig.clock.advance(30);
        m.metering.tick();
      }
      const endUwh = m.metering.registers.uwh('import');
      assert.equal(m.pin.rises - p0, Math.floor(endUwh / 1e5) - Math.floor(startUwh / 1e5), 'pulses = register steps of 0.1 Wh (C = 10000)');
      pulses += m.pin.rises - p0;
      m.powerCycle();
    }
    assert.ok(pulses > 15000, `${pulses} pulses`);
  });

  it('property: load steps, sampling jitter, missed samples (wraps) and power cuts never lose or invent more than a quantum', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            // No load, or at least 20 mA (≥ 2.3 W at PF 0.5): below the 0.5 W no-load threshold the meter
            // rightly counts nothing (anti-creep, tested on its own), which is not a loss.
            current: fc.oneof(fc.constant(0), fc.double({ min: 0.02, max: 60, noNaN: true })),
            phaseDeg: fc.constantFrom(0, 30, 60, -37, 180, 150, 210),
            intervalMs: fc.oneof(fc.integer({ min: 200, max: 3000 }), fc.constant(400_000)),
            cut: fc.option(fc.record({ op: fc.nat(3), phase: fc.constantFrom('before' as const, 'during' as const, 'after' as const) }), { freq: 6 }),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        (steps) => {
          const m = new Meter(1);
          let lostAllowance = 0; // energy of interrupted cycles (not measured by a completed cycle)
          let lastTruth = 0;
          for (const s of steps) {
            m.rig.load.set(0, { current: s.current, phaseDeg: s.phaseDeg });
            m.rig.advance(s.intervalMs);
            const truth = m.rig.load.importWh[0] + m.rig.load.exportWh[0];
            if (s.cut) {
              m.flash.cutPower({ opIndex: m.flash.opCount + s.cut.op, phase: s.cut.phase });
              try {
                m.metering.cycle();
                m.metering.persist();
              } catch (e) {
                if (!(e instanceof PowerCut)) throw e;
              }
              lostAllowance += truth - lastTruth;
              m.powerCycle();
              const measuredBefore = truth - lostAllowance;
              assert.ok(m.total() <= truth + 1e-6, `invented: ${m.total()} > ${truth}`);
              assert.ok(measuredBefore - m.total() < 1 + 1e-6, `lost more than a quantum: ${measuredBefore} vs ${m.total()}`);
              lostAllowance = truth - m.total();
            } else {
              m.metering.cycle();
              const lsb = 1e-3;
              assert.ok(Math.abs(m.total() - (truth - lostAllowance)) < lsb, `running total ${m.total()} vs ${truth - lostAllowance}`);
            }
            lastTruth = truth;
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});

function close(got: number, want: number, tol: number) {
  assert.ok(Math.abs(got - want) <= tol, `got ${got}, want ${want} ± ${tol}`);
}
