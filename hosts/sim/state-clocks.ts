/**
 * The simulated time of each meter of a --state directory, kept with its flash: DIR/clocks.bin holds
 * one little-endian float64 per meter (its place in DIR/sim.json's list), the meter's wall-clock time
 * at its latest flash write. The simulator writes it through *before* each flash write goes to the
 * image files (hosts/sim/file-flash.ts `beforeWrite`), so the stored time is never older than what
 * the images hold: after a kill -9 a meter continues from the moment of its last write — the energy
 * it had not yet saved is measured again (it was never stored), and nothing it stored is lived
 * twice. A kill is a power cut and nothing else. A clean stop stamps every meter's time.
 * 0 (a slot never written, or a state from before this file) means "the time in sim.json".
 */
import { closeSync, existsSync, openSync, readSync, writeSync } from 'node:fs';

export class StateClocks {
  private fd: number | undefined;
  private readonly slot = new Float64Array(1);
  private readonly bytes = new Uint8Array(this.slot.buffer);

  /** Opens (or creates, all 0) the clock file of `meters` meters. */
  constructor(readonly path: string, meters: number) {
    this.fd = openSync(path, existsSync(path) ? 'r+' : 'w+');
    const have = new Uint8Array(8);
    const n = readSync(this.fd, have, 0, 8, (meters - 1) * 8);
    if (n < 8) writeSync(this.fd, new Uint8Array(8), 0, 8, (meters - 1) * 8); // extends with zeros
  }

  /** The stored time of meter `index` (0: none). */
  read(index: number): number {
    if (this.fd === undefined) return 0;
    this.bytes.fill(0);
    readSync(this.fd, this.bytes, 0, 8, index * 8);
    const v = this.slot[0];
    return Number.isFinite(v) && v > 0 ? v : 0;
  }

  /** Stores the time of meter `index`. */
  write(index: number, wallMs: number): void {
    if (this.fd === undefined) return;
    this.slot[0] = wallMs;
    writeSync(this.fd, this.bytes, 0, 8, index * 8);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
