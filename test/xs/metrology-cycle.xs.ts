// One thousand metrology cycles per chip (read registers, update readings and energy, pulses) on the
// bundled simulators, for the XS metering count of benchmarks/metrology.bench.ts. Includes the simulator.
import { Ade7953 } from '../../modules/metrology/ade7953.js';
import { Atm90e32 } from '../../modules/metrology/atm90e32.js';
import { defaultCalibration } from '../../modules/metrology/calibration.js';
import { Metering } from '../../modules/metrology/metering.js';
import { PulseOutput } from '../../modules/metrology/pulse-output.js';
import { ChipTestBed } from '../../hosts/sim/chips/test-bed.js';
import { SimAde7953 } from '../../hosts/sim/chips/sim-ade7953.js';
import { SimAtm90e32 } from '../../hosts/sim/chips/sim-atm90e32.js';

export const CYCLES = 1000;

export function setup(kind: 'ade7953' | 'atm90e32'): { m: Metering; rig: ChipTestBed } {
  const phases = kind === 'ade7953' ? 1 : 3;
  const rig = new ChipTestBed(phases, { voltage: 230, current: 12, phaseDeg: 20 });
  const chip = kind === 'ade7953' ? rig.attach(new SimAde7953({ load: rig.load })) : rig.attach(new SimAtm90e32({ load: rig.load }));
  const cal = defaultCalibration(kind, phases, 1);
  const driver = kind === 'ade7953' ? new Ade7953({ spi: (chip as SimAde7953).spi, clock: rig.clock, calibration: cal }) : new Atm90e32({ spi: (chip as SimAtm90e32).spi, clock: rig.clock, calibration: cal });
  const m = new Metering({ driver, clock: rig.clock, pulse: new PulseOutput({ pin: { write() {} }, meterConstant: 10000 }) });
  m.start();
  return { m, rig };
}

export function cycles(m: Metering, rig: ChipTestBed, n: number): void {
  for (let i = 0; i < n; i++) {
    rig.advance(1000);
    m.cycle();
    m.tick();
  }
}

const kind = (globalThis as { METROLOGY_CHIP?: 'ade7953' | 'atm90e32' }).METROLOGY_CHIP;

export function main(out: (line: string) => void): void {
  const { m, rig } = setup(kind ?? 'ade7953');
  cycles(m, rig, CYCLES);
  out(m.obis()['1.8.0'].toFixed(3));
}
