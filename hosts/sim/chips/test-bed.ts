/**
 * A test bed for the chip drivers: one simulated clock, one load model and the chips measuring it, advanced
 * together on simulated time (a day runs in well under a second).
 */
import { LoadModel, type PhaseLoad } from '../physics/load-model.js';
import { SimClock } from './front-end.js';

export interface Advancing {
  advance(ms: number): void;
}

export class ChipTestBed {
  readonly clock = new SimClock();
  readonly load: LoadModel;
  readonly chips: Advancing[] = [];

  constructor(phases: number, initial?: PhaseLoad) {
    this.load = new LoadModel(phases, initial);
    this.clock.onDelay = (ms) => this.advance(ms); // a firmware delay: the world moves on
  }

  attach<T extends Advancing>(chip: T): T {
    this.chips.push(chip);
    return chip;
  }

  /** Advances load, chips and clock by `ms`, in steps of at most `stepMs` (default: one step). */
  advance(ms: number, stepMs = ms): void {
    let left = ms;
    while (left > 0) {
      const dt = Math.min(left, stepMs);
      this.load.advance(dt);
      for (const c of this.chips) c.advance(dt);
      this.clock.advance(dt);
      left -= dt;
    }
  }
}
