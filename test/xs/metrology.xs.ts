// Portable run of the metering core against the bundled chip simulators: both drivers, an hour of
// simulated load with wraps and a chip reset, pulses, the journal on simulated flash, calibration bytes.
import { toHex } from '../../modules/core/bytes.js';
import { Ade7953 } from '../../modules/metrology/ade7953.js';
import { Atm90e32 } from '../../modules/metrology/atm90e32.js';
import { applyResidual, estimateResidual } from '../../modules/metrology/calibrate.js';
import { defaultCalibration, parseCalibration, serializeCalibration } from '../../modules/metrology/calibration.js';
import { EnergyJournal } from '../../modules/metrology/energy-journal.js';
import { Metering } from '../../modules/metrology/metering.js';
import { PulseOutput } from '../../modules/metrology/pulse-output.js';
import { TariffSchedule } from '../../modules/metrology/tariff.js';
import { ChipTestBed } from '../../hosts/sim/chips/test-bed.js';
import { SimAde7953 } from '../../hosts/sim/chips/sim-ade7953.js';
import { SimAtm90e32 } from '../../hosts/sim/chips/sim-atm90e32.js';
import { SimFlash } from '../../hosts/sim/sim-flash.js';

export function main(out: (line: string) => void): void {
  for (const kind of ['ade7953', 'atm90e32'] as const) {
    const phases = kind === 'ade7953' ? 2 : 3;
    const rig = new ChipTestBed(phases);
    const chip = kind === 'ade7953' ? rig.attach(new SimAde7953({ load: rig.load })) : rig.attach(new SimAtm90e32({ load: rig.load }));
    const cal = defaultCalibration(kind, phases, 1);
    const driver = kind === 'ade7953' ? new Ade7953({ spi: (chip as SimAde7953).spi, clock: rig.clock, calibration: cal }) : new Atm90e32({ spi: (chip as SimAtm90e32).spi, clock: rig.clock, calibration: cal });
    let rises = 0;
    let level = 0;
    const pin = { write(v: 0 | 1) { if (v && !level) rises++; level = v; } };
    const flash = new SimFlash({ sectorSize: 1024, sectorCount: 4 });
    const m = new Metering({
      driver,
      clock: rig.clock,
      tariffs: new TariffSchedule({ tariffs: 2, switches: [{ at: '00:30', tariff: 2 }] }),
      pulse: new PulseOutput({ pin, meterConstant: 1000 }),
      store: new EnergyJournal({ flash, registerCount: phases * 2 * 2 }),
    });
    m.start();
    for (let i = 0; i < 360; i++) {
      rig.load.set(0, { current: 40, phaseDeg: i < 180 ? 10 : 190 });
      rig.load.set(1, { current: 20, phaseDeg: 170 });
      if (i === 200) chip.reset();
      rig.advance(i % 60 === 59 ? 120_000 : 10_000);
      const s = m.cycle();
      for (let k = 0; k < 80; k++) {
        rig.clock.advance(0);
        m.tick();
        rig.advance(0);
      }
      if (s.fault) out(`fault ${s.fault.code}`);
      if (s.chipReset) out(`chip reset at cycle ${i}`);
    }
    const o = m.obis();
    out(`${kind} ${Object.keys(o).sort().map((k) => `${k}=${o[k].toFixed(4)}`).join(' ')}`);
    out(`${kind} truth import ${rig.load.importWh.map((x) => x.toFixed(2)).join(',')} export ${rig.load.exportWh.map((x) => x.toFixed(2)).join(',')}`);
    out(`${kind} journal ${new EnergyJournal({ flash, registerCount: phases * 4 }).load()?.sequence} pulses-due ${rises >= 0}`);
    const s = driver.instantaneous();
    out(`${kind} V ${s.phases[0].voltage.toFixed(2)} I ${s.phases[0].current.toFixed(3)} P ${s.phases[0].activePower.toFixed(1)} f ${s.frequency.toFixed(2)} total ${m.lastSample!.totalActivePower.toFixed(1)}`);
    const bytes = serializeCalibration(applyResidual(cal, 0, estimateResidual([
      { voltage: 230, current: 10, phaseDeg: 0, seconds: 600, referenceWh: 383.3333, measuredWh: 377.5 },
      { voltage: 230, current: 0.5, phaseDeg: 0, seconds: 600, referenceWh: 19.1667, measuredWh: 19.1 },
      { voltage: 230, current: 10, phaseDeg: 60, seconds: 600, referenceWh: 191.6667, measuredWh: 186.2 },
    ])));
    out(`${kind} calibration ${toHex(bytes)} ${JSON.stringify(parseCalibration(bytes).channels[0])}`);
  }
}
