import assert from 'node:assert/strict';
import { Ade7953 } from '../modules/metrology/ade7953.js';
import { Atm90e32 } from '../modules/metrology/atm90e32.js';
import { applyResidual, correctRms, estimateResidual, type EnergyPoint } from '../modules/metrology/calibrate.js';
import { defaultCalibration, parseCalibration, serializeCalibration, type Calibration } from '../modules/metrology/calibration.js';
import type { MetrologyDriver } from '../modules/metrology/readings.js';
import { PulseOutput } from '../modules/metrology/pulse-output.js';
import { Metering } from '../modules/metrology/metering.js';
import { ChipTestBed } from '../hosts/sim/chips/test-bed.js';
import { SimAde7953 } from '../hosts/sim/chips/sim-ade7953.js';
import { SimAtm90e32 } from '../hosts/sim/chips/sim-atm90e32.js';

const UN = 230;
const NO_LOAD_W = 0.6;
const PF = { '1': 0, '0.5L': 60, '0.8C': -36.87 } as const;

/** IEC 62053-21 (class 1, direct connected, Ib 10 A, Imax 60 A) and 62053-22 (class 0.5S, In 5 A,
 *  Imax 10 A): percentage error limits by current (fraction of Ib/In) and power factor. */
const CLASSES = [
  {
    name: 'class 1 (IEC 62053-21)',
    base: 10,
    imax: 60,
    start: 0.004,
    limit: (f: number, pf: keyof typeof PF) => (pf === '1' ? (f < 0.1 ? 1.5 : 1.0) : f < 0.2 ? 1.5 : 1.0),
    points: [0.05, 0.1, 0.2, 0.5, 1, 6],
  },
  {
    name: 'class 0.5S (IEC 62053-22)',
    base: 5,
    imax: 10,
    start: 0.001,
    limit: (f: number, pf: keyof typeof PF) => (pf === '1' ? (f < 0.05 ? 1.0 : 0.5) : f < 0.1 ? 1.0 : 0.6),
    points: [0.05, 0.1, 0.2, 0.5, 1, 2],
  },
];

type Kind = 'ade7953' | 'atm90e32';

function bench(kind: Kind) {
  const phases = kind === 'ade7953' ? 1 : 3;
  const rig = new ChipTestBed(phases, { voltage: UN, current: 0, phaseDeg: 0 });
  const chip = kind === 'ade7953' ? rig.attach(new SimAde7953({ load: rig.load })) : rig.attach(new SimAtm90e32({ load: rig.load }));
  const make = (cal: Calibration): MetrologyDriver =>
    kind === 'ade7953'
      ? new Ade7953({ spi: (chip as SimAde7953).spi, clock: rig.clock, calibration: cal })
      : new Atm90e32({ spi: (chip as SimAtm90e32).spi, clock: rig.clock, calibration: cal });
  return { rig, chip, make, phases };
}

/** Runs the load for `seconds`, returns measured and reference signed energy per phase. */
function measure(rig: ChipTestBed, driver: MetrologyDriver, seconds: number) {
  driver.sample();
  const ref0 = rig.load.importWh.map((x, p) => x - rig.load.exportWh[p]);
  const got = new Array(driver.phaseCount).fill(0);
  for (let t = 0; t < seconds; t += 10) {
    rig.advance(10_000);
    const s = driver.sample();
    assert.equal(s.fault, undefined);
    for (let p = 0; p < driver.phaseCount; p++) got[p] += s.importWh[p] - s.exportWh[p];
  }
  const ref = rig.load.importWh.map((x, p) => x - rig.load.exportWh[p] - ref0[p]);
  return { got, ref };
}

/** The bench procedure: rms at Ib, then energy at Ib PF 1, 5 % Ib PF 1 and Ib PF 0.5 inductive. */
function calibrate(kind: Kind): { cal: Calibration; b: ReturnType<typeof bench> } {
  const b = bench(kind);
  let cal = defaultCalibration(kind, b.phases, NO_LOAD_W);
  let driver = b.make(cal);
  driver.configure();
  b.rig.load.setAll({ current: 10, phaseDeg: 0 });
  b.rig.advance(1000);
  const s = driver.instantaneous();
  for (let p = 0; p < b.phases; p++) {
    cal = correctRms(cal, p, { referenceVolts: UN, measuredVolts: s.phases[kind === 'ade7953' ? 0 : p].voltage, referenceAmps: 10, measuredAmps: s.phases[p].current });
  }
  driver = b.make(cal);
  driver.configure();
  const points: EnergyPoint[][] = Array.from({ length: b.phases }, () => []);
  for (const [current, phaseDeg] of [[10, 0], [0.5, 0], [10, 60]]) {
    b.rig.load.setAll({ current, phaseDeg });
    const m = measure(b.rig, driver, 600);
    for (let p = 0; p < b.phases; p++) points[p].push({ voltage: UN, current, phaseDeg, seconds: 600, referenceWh: m.ref[p], measuredWh: m.got[p] });
  }
  for (let p = 0; p < b.phases; p++) cal = applyResidual(cal, p, estimateResidual(points[p]));
  return { cal, b };
}

/** Worst |error| / limit over the class's test points, import and export. */
function verify(kind: Kind, b: ReturnType<typeof bench>, cal: Calibration, cls: (typeof CLASSES)[number]) {
  const driver = b.make(cal);
  driver.configure();
  let worst = 0;
  const failures: string[] = [];
  for (const f of cls.points) {
    for (const pf of Object.keys(PF) as (keyof typeof PF)[]) {
      if (pf !== '1' && f < 0.1 && cls.name.startsWith('class 1')) continue; // not a class 1 test point
      for (const dir of [0, 180]) {
        b.rig.load.setAll({ current: f * cls.base, phaseDeg: PF[pf] + dir });
        const m = measure(b.rig, driver, 300);
        for (let p = 0; p < b.phases; p++) {
          const err = ((m.got[p] - m.ref[p]) / Math.abs(m.ref[p])) * 100;
          const ratio = Math.abs(err) / cls.limit(f, pf);
          worst = Math.max(worst, ratio);
          if (ratio > 1) failures.push(`${f}·I PF ${pf} ${dir ? 'export' : 'import'} phase ${p}: ${err.toFixed(3)} %`);
        }
      }
    }
  }
  return { worst, failures };
}

describe('metrology accuracy (IEC 62053-21/22) on the simulated meters', () => {
  for (const kind of ['ade7953', 'atm90e32'] as const) {
    describe(kind, () => {
      let calibrated: { cal: Calibration; b: ReturnType<typeof bench> };
      before(() => {
        calibrated = calibrate(kind);
      });

      for (const cls of CLASSES) {
        it(`calibrated: meets ${cls.name} at every test point, import and export`, () => {
          const { worst, failures } = verify(kind, calibrated.b, calibrated.cal, cls);
          assert.deepEqual(failures, []);
          assert.ok(worst < 1);
        });
      }

      it('uncalibrated (the simulator default errors): fails class 1', () => {
        const b = bench(kind);
        const { failures } = verify(kind, b, defaultCalibration(kind, b.phases, NO_LOAD_W), CLASSES[0]);
        assert.ok(failures.length > 0, 'an uncalibrated meter must not pass');
      });

      it('calibration survives unplugging: serialised, parsed and re-applied after a power cycle', () => {
        const bytes = serializeCalibration(calibrated.cal);
        const b = bench(kind);
        b.chip.reset(); // the chip loses its registers with power
        const again = parseCalibration(bytes);
        assert.deepEqual(again, calibrated.cal);
        const { failures } = verify(kind, b, again, CLASSES[1]);
        assert.deepEqual(failures, []);
      });

      it('no creep at no load (115 % Un, no current) and starts at the starting current', () => {
        const { cal } = calibrated;
        for (const cls of CLASSES) {
          const b = bench(kind);
          const pin = { rises: 0, level: 0, write(v: 0 | 1) { if (v && !this.level) this.rises++; this.level = v; } };
          const metering = new Metering({ driver: b.make(cal), clock: b.rig.clock, pulse: new PulseOutput({ pin, meterConstant: 10000 }) });
          metering.start();
          // creep: Δt = 600·10^6 / (k·m·Un·Imax) minutes (IEC 62053-21 8.3.2); run 10 × that
          const dtMin = 600e6 / (10000 * b.phases * UN * cls.imax);
          b.rig.load.setAll({ voltage: 1.15 * UN, current: 0 });
          for (let t = 0; t < dtMin * 60 * 10; t += 1) {
            b.rig.advance(1000);
            if (t % 10 === 0) metering.cycle();
            metering.tick();
          }
          assert.equal(pin.rises, 0, `${cls.name}: a pulse at no load`);
          assert.equal(metering.registers.sum(), 0, `${cls.name}: the register moved at no load`);
          // starting current, PF 1: it registers, and the first pulse comes within 1.5 × its nominal period
          const ist = cls.start * cls.base;
          b.rig.load.setAll({ voltage: UN, current: ist, phaseDeg: 0 });
          const periodS = 3600 / (UN * ist * b.phases * 10000 / 1000);
          for (let t = 0; t < periodS * 1.5; t += 1) {
            b.rig.advance(1000);
            metering.cycle();
            metering.tick();
            b.rig.advance(40);
            metering.tick();
          }
          assert.ok(pin.rises >= 1, `${cls.name}: no pulse at the starting current ${ist} A`);
        }
      });

      it('the uncalibrated offset would creep: anti-creep needs the calibration', () => {
        const b = bench(kind);
        const d = b.make(defaultCalibration(kind, b.phases, NO_LOAD_W));
        d.configure();
        b.rig.load.setAll({ current: 0 });
        b.rig.advance(3_600_000);
        const s = d.sample();
        assert.ok(s.importWh[0] > 1, 'the 1.5 W hardware offset accumulates when not calibrated out');
        assert.equal(s.fault, undefined);
      });
    });
  }

  it('calibration bytes are deterministic, CRC-checked and refuse out-of-range values', () => {
    const c = defaultCalibration('atm90e32', 3, 1);
    assert.deepEqual(serializeCalibration(c), serializeCalibration(parseCalibration(serializeCalibration(c))));
    const bytes = serializeCalibration(c);
    bytes[12] ^= 1;
    assert.throws(() => parseCalibration(bytes), (e: unknown) => (e as { code: string }).code === 'calibration-crc');
    assert.throws(() => parseCalibration(new Uint8Array(3)), (e: unknown) => (e as { code: string }).code === 'calibration-format');
    const v2 = serializeCalibration(c);
    v2[3] = 2;
    assert.throws(() => parseCalibration(v2), (e: unknown) => (e as { code: string }).code === 'calibration-version');
    // The residual gain lands where the chip applies it: AWGAIN (powerGain) on the ADE7953, Igain
    // (currentGain) on the ATM90E32; out of range either way.
    const field = (f: string) => (e: unknown) => (e as { code: string }).code === 'calibration-range' && (e as { details: { field: string } }).details.field === f;
    assert.throws(() => applyResidual(defaultCalibration('ade7953', 1, 1), 0, { gain: 0.4, phaseDeg: 0, offsetW: 0 }), field('powerGain'));
    assert.throws(() => applyResidual(c, 0, { gain: 0.4, phaseDeg: 0, offsetW: 0 }), field('currentGain'));
    const atm = applyResidual(c, 1, { gain: 1.01, phaseDeg: 0.2, offsetW: 0.5 });
    assert.deepEqual(atm.channels[1], { ...c.channels[1], currentGain: Math.round(1e6 / 1.01) / 1e6, phaseDeg: 0.2, powerOffsetW: -0.5 });
    assert.throws(() => estimateResidual([]), (e: unknown) => (e as { code: string }).code === 'calibration-data');
  });
});
