/**
 * EdgeCounter (modules/ports/bus.ts) over an ECMA-419 Digital input with `edge` and `onReadable`
 * (Moddable `embedded:io/digital` on ESP32: a GPIO interrupt delivered to the VM): the optical
 * interface's photo sensor, whose flashes are the customer PIN. The host passes the pin's onReadable
 * to `edge()`; edges closer than `minGapMs` to the previous one are one flash (a sensor's ringing).
 * Moddable coalesces edges that arrive before the VM runs the callback into one call, so flashes must
 * be further apart than that latency (torch flashes are hundreds of ms apart).
 * (The ESP32's PCNT unit, `embedded:io/pulsecount`, is set up for quadrature encoders by Moddable:
 * one signal without a control pin counts +1 and −1 per pulse.)
 */
import type { EdgeCounter } from '../../../modules/ports/bus.js';
import type { Clock } from '../../../modules/ports/clock.js';

export class DigitalEdgeCounter implements EdgeCounter {
  private count = 0;
  private last = -Infinity;

  constructor(
    private readonly clock: Pick<Clock, 'ticks'>,
    private readonly minGapMs = 30,
  ) {}

  /** One edge of the sensor's input (its onReadable). */
  edge(): void {
    const now = this.clock.ticks();
    if (now - this.last >= this.minGapMs) this.count++;
    this.last = now;
  }

  take(): number {
    const n = this.count;
    this.count = 0;
    return n;
  }
}
