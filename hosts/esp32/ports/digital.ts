/**
 * DigitalOutput / DigitalInput (modules/ports/bus.ts) over ECMA-419 Digital instances (Moddable
 * `embedded:io/digital`), with the polarity of the board folded in: the pulse LED may be wired
 * active-low and the calibration switch pulls its input low when closed.
 */
import type { DigitalInput, DigitalOutput, Level } from '../../../modules/ports/bus.js';

/** What the adapters use of `embedded:io/digital`. */
export interface Ecma419Digital {
  read(): 0 | 1;
  write(value: 0 | 1): void;
}

export class PinOutput implements DigitalOutput {
  constructor(
    private readonly pin: Pick<Ecma419Digital, 'write'>,
    private readonly activeLow = false,
  ) {}

  write(value: Level): void {
    this.pin.write(this.activeLow ? ((value ^ 1) as Level) : value);
  }
}

export class PinInput implements DigitalInput {
  constructor(
    private readonly pin: Pick<Ecma419Digital, 'read'>,
    private readonly activeLow = false,
  ) {}

  read(): Level {
    const v = this.pin.read();
    return this.activeLow ? ((v ^ 1) as Level) : v;
  }
}
