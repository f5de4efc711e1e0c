/**
 * Simulated NOR flash for the desktop host and the tests. It enforces NOR rules (erase sets a sector to
 * 0xFF; a write may only clear bits — setting a 0 bit back to 1 is a FlashFault, where real silicon would
 * silently AND), counts erases per sector (wear), and injects power cuts before, inside or after any
 * write/erase call: inside a write, a prefix of the bytes lands and the next byte is half-programmed;
 * inside an erase, a prefix of the sector is erased and the rest keeps its old bytes. After a cut every
 * call throws PowerCut until `powerOn()`, as a dead device would do nothing at all.
 */
import { FlashFault, type Flash } from '../../modules/ports/flash.js';

/** The simulated supply failed. Deliberately not a MeterError: firmware must not catch and carry on. */
export class PowerCut extends Error {
  constructor(readonly opIndex: number, readonly phase: CutPhase) {
    super(`simulated power cut ${phase} flash operation #${opIndex}`);
    Object.defineProperty(this, 'name', { value: 'PowerCut', writable: true, configurable: true }); // frozen Error.prototype on Moddable
  }
}

export type CutPhase = 'before' | 'during' | 'after';

export interface CutPlan {
  /** Index of the write/erase call (0-based, counted over the flash's life) at which power fails. */
  opIndex: number;
  phase: CutPhase;
  /** For 'during': how far the operation got, 0..1 of its bytes (default 0.5). */
  progress?: number;
}

export interface SimFlashOptions {
  sectorSize?: number;
  sectorCount?: number;
  /** Start from this image (e.g. one saved from an earlier run); a copy is taken. */
  image?: Uint8Array;
}

export class SimFlash implements Flash {
  readonly sectorSize: number;
  readonly sectorCount: number;
  /** Erases per sector since creation. */
  readonly eraseCounts: Uint32Array;
  /** Write and erase calls made so far (the index a CutPlan refers to). */
  opCount = 0;
  writeCount = 0;
  private readonly mem: Uint8Array;
  private plan: CutPlan | undefined;
  private powered = true;

  constructor(options: SimFlashOptions = {}) {
    this.sectorSize = options.sectorSize ?? 4096;
    this.sectorCount = options.sectorCount ?? 16;
    const size = this.sectorSize * this.sectorCount;
    this.mem = new Uint8Array(size).fill(0xff);
    if (options.image) {
      if (options.image.length !== size) throw new FlashFault('image-size', `image is ${options.image.length} bytes, flash is ${size}`);
      this.mem.set(options.image);
    }
    this.eraseCounts = new Uint32Array(this.sectorCount);
  }

  get size(): number {
    return this.mem.length;
  }

  /** Schedules a power cut (replacing any earlier plan). */
  cutPower(plan: CutPlan): void {
    this.plan = plan;
  }

  /** Restores power after a cut; the contents are whatever the cut left. */
  powerOn(): void {
    this.powered = true;
    this.plan = undefined;
  }

  get isPowered(): boolean {
    return this.powered;
  }

  /** A copy of the whole array, e.g. to save it to a file or start another SimFlash from it. */
  image(): Uint8Array {
    return this.mem.slice();
  }

  read(offset: number, length: number): Uint8Array {
    this.checkPowered();
    this.checkRange(offset, length);
    return this.mem.slice(offset, offset + length);
  }

  write(offset: number, data: Uint8Array): void {
    this.checkPowered();
    this.checkRange(offset, data.length);
    for (let i = 0; i < data.length; i++) {
      const old = this.mem[offset + i];
      if ((old & data[i]) !== data[i]) {
        throw new FlashFault('nor-violation', `write at 0x${(offset + i).toString(16)} would set bits 0→1 (0x${old.toString(16)} → 0x${data[i].toString(16)}) without erase`, { offset: offset + i });
      }
    }
    const op = this.beginOp();
    if (op === 'during') {
      const n = Math.floor(data.length * (this.plan?.progress ?? 0.5));
      for (let i = 0; i < n; i++) this.mem[offset + i] &= data[i];
      // The byte being programmed when the supply failed: only its high bits made it.
      if (n < data.length) this.mem[offset + n] &= data[n] | 0x0f;
      this.die('during');
    }
    this.mem.set(data.map((b, i) => b & this.mem[offset + i]), offset);
    this.writeCount++;
    this.endOp();
  }

  erase(sector: number): void {
    this.checkPowered();
    if (!Number.isInteger(sector) || sector < 0 || sector >= this.sectorCount) {
      throw new FlashFault('range', `sector ${sector} outside 0..${this.sectorCount - 1}`, { sector });
    }
    const start = sector * this.sectorSize;
    const op = this.beginOp();
    this.eraseCounts[sector]++;
    if (op === 'during') {
      const n = Math.floor(this.sectorSize * (this.plan?.progress ?? 0.5));
      this.mem.fill(0xff, start, start + n);
      this.die('during');
    }
    this.mem.fill(0xff, start, start + this.sectorSize);
    this.endOp();
  }

  private beginOp(): CutPhase | undefined {
    const index = this.opCount++;
    const plan = this.plan;
    if (!plan || plan.opIndex !== index) return undefined;
    if (plan.phase === 'before') this.die('before');
    return plan.phase;
  }

  private endOp(): void {
    if (this.plan && this.plan.opIndex === this.opCount - 1 && this.plan.phase === 'after') this.die('after');
  }

  private die(phase: CutPhase): never {
    this.powered = false;
    throw new PowerCut(this.opCount - 1, phase);
  }

  private checkPowered(): void {
    if (!this.powered) throw new PowerCut(this.opCount, 'after');
  }

  private checkRange(offset: number, length: number): void {
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > this.mem.length) {
      throw new FlashFault('range', `range ${offset}+${length} outside 0..${this.mem.length}`, { offset, length });
    }
  }
}
