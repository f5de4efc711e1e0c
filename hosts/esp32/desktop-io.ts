/**
 * HostIo for Moddable's desktop simulator (`mcconfig -d -m -p lin|mac`) and for Node tests: the same
 * host wiring as on the board, with the register-level CC1101 simulator behind the radio's chip
 * select, simulated NOR flash partitions (hosts/sim/sim-flash.ts, or `devices.openFlash`, e.g. the
 * file-backed partitions of file-flash.ts), an in-memory preference store, in-memory pins, the
 * service port and the SML UART (what it sends goes to the optical port or the RS-485 bus by the DE
 * pin's level; `edge(pin)` is a falling edge on an input, e.g. a flash at the optical sensor), and the
 * crypto port the caller gives (the device's in the simulator, @noble in Node tests). A metrology chip simulator (hosts/sim/chips) can be bound to the metrology chip select
 * with `devices.metrology`; without one that select answers with a typed 'no-device' fault.
 */
import { MeterError } from '../../modules/core/errors.js';
import type { SpiPort } from '../../modules/ports/bus.js';
import { Cc1101Sim } from '../sim/cc1101-sim.js';
import { SimFlash } from '../sim/sim-flash.js';
import type { DigitalOpenOptions, HostIo, SerialOpenOptions, SpiOpenOptions } from './host.js';
import { BOARD_PINS, PARTITIONS, type PinTable } from './pins.js';
import type { Ecma419Digital } from './ports/digital.js';
import type { ModdableFlashPartition } from './ports/flash.js';
import type { PreferenceStore } from './ports/key-store.js';
import type { Crypto } from '../../modules/ports/crypto.js';

/** An IO request the desktop host cannot serve (no simulated device behind it). */
export class DesktopIoFault extends MeterError {}

/** Moddable's flash API over a SimFlash (ArrayBuffers in and out, blockSize/byteLength). */
export class SimFlashPartition implements ModdableFlashPartition {
  constructor(readonly flash: SimFlash) {}
  get byteLength(): number {
    return this.flash.sectorSize * this.flash.sectorCount;
  }
  get blockSize(): number {
    return this.flash.sectorSize;
  }
  read(offset: number, byteLength: number): ArrayBuffer {
    return this.flash.read(offset, byteLength).slice().buffer as ArrayBuffer;
  }
  write(offset: number, byteLength: number, buffer: ArrayBuffer): void {
    this.flash.write(offset, new Uint8Array(buffer, 0, byteLength));
  }
  erase(sector: number): void {
    this.flash.erase(sector);
  }
}

export class MemoryPreferences implements PreferenceStore {
  private readonly values = new Map<string, string | boolean | number | ArrayBuffer>();
  get(domain: string, key: string): string | boolean | number | ArrayBuffer | undefined {
    const v = this.values.get(`${domain}\u0000${key}`);
    return v instanceof ArrayBuffer ? v.slice(0) : v;
  }
  set(domain: string, key: string, value: string | boolean | number | ArrayBuffer): void {
    this.values.set(`${domain}\u0000${key}`, value instanceof ArrayBuffer ? value.slice(0) : value);
  }
}

/** The simulated board: what the desktop host's IO is connected to. */
export interface DesktopBoard {
  radio: Cc1101Sim;
  /** The device on the metrology chip select, if one is bound. */
  metrology: SpiPort | undefined;
  /** The simulated partitions (empty when `devices.openFlash` provides them). */
  flashes: Record<string, SimFlash>;
  preferences: MemoryPreferences;
  /** Level of each digital pin (outputs as written, inputs as the test or UI sets them). */
  pins: Map<number, 0 | 1>;
  /** Bytes the service port wrote, and bytes waiting to be read by it. */
  serialOut: number[];
  serialIn: number[];
  /** What the SML UART sends (in the pieces its FIFO takes), with the DE pin's level: 0 the optical
   *  port's IR LED, 1 the RS-485 bus. Without it only counted in `smlBytes`. */
  onSml?: (bytes: Uint8Array, driverEnable: 0 | 1) => void;
  smlBytes: { optical: number; lmn: number };
  /** Bytes on the RS-485 bus waiting to be read by the meter. */
  smlIn: number[];
  /** A falling edge on input `pin` (its onReadable is called, as the GPIO interrupt would). */
  edge(pin: number): void;
  /** Every SPI/Digital/Serial construction, in order (pin claims). */
  opened: string[];
}

/** What the simulated board is made of besides the radio: the crypto port, simulated devices
 *  behind chip selects other than the radio's, and optionally the flash partitions. */
export interface DesktopDevices {
  crypto: Crypto;
  /** E.g. the `spi` of a SimAde7953 or SimAtm90e32. */
  metrology?: SpiPort;
  /** Opens a partition by name; without it, SimFlash partitions in memory (board.flashes). */
  openFlash?: (partition: string) => ModdableFlashPartition;
}

/** The desktop board's partitions: sized as the board's (partitions.csv: xsenergy 384 KB, xscal 128 KB). */
export const DESKTOP_PARTITION_SECTORS: Readonly<Record<string, number>> = Object.freeze({ [PARTITIONS.energy]: 96, [PARTITIONS.calibration]: 32 });

/** The simulated host: its IO, the time it runs on, and `nextDue`, the ms until a timer fires next. */
export interface DesktopHost {
  board: DesktopBoard;
  io: HostIo;
  advanceMs: (ms: number) => void;
  nextDue: () => number | undefined;
}

export function createDesktopBoard(pins: PinTable = BOARD_PINS, devices: DesktopDevices): DesktopHost {
  const flashes: Record<string, SimFlash> = {};
  if (!devices.openFlash) {
    for (const name in DESKTOP_PARTITION_SECTORS) flashes[name] = new SimFlash({ sectorSize: 4096, sectorCount: DESKTOP_PARTITION_SECTORS[name] });
  }
  const board: DesktopBoard = {
    radio: new Cc1101Sim({ spiHz: pins.radio.hz }),
    metrology: devices.metrology,
    flashes,
    preferences: new MemoryPreferences(),
    pins: new Map(),
    serialOut: [],
    serialIn: [],
    smlBytes: { optical: 0, lmn: 0 },
    smlIn: [],
    edge(pin) {
      board.pins.set(pin, 0);
      edges.get(pin)?.();
    },
    opened: [],
  };
  const edges = new Map<number, () => void>();
  let ms = 0;
  const timers: Array<{ every: number; next: number; callback: () => void; live: boolean }> = [];

  class SPI {
    private readonly device: SpiPort | undefined;
    constructor(readonly options: SpiOpenOptions) {
      board.opened.push(`spi select ${options.select}`);
      this.device = options.select === pins.radio.select ? board.radio : options.select === pins.metrology.select ? board.metrology : undefined;
    }
    private chip(): SpiPort {
      if (!this.device) {
        throw new DesktopIoFault('no-device', `no simulated device on SPI chip select ${this.options.select}`, {
          select: this.options.select,
        });
      }
      return this.device;
    }
    transfer(buffer: ArrayBuffer): void {
      this.chip().transfer(new Uint8Array(buffer));
    }
    write(buffer: ArrayBuffer): void {
      this.chip().write(new Uint8Array(buffer));
    }
    read(buffer: ArrayBuffer): void {
      this.chip().read(new Uint8Array(buffer));
    }
    flush(deselect?: boolean): void {
      this.chip().flush(deselect);
    }
  }

  class Digital implements Ecma419Digital {
    static readonly Input = 0;
    static readonly Output = 8;
    static readonly InputPullUp = 1;
    static readonly Rising = 1;
    static readonly Falling = 2;
    constructor(private readonly options: DigitalOpenOptions) {
      board.opened.push(`digital ${options.pin}`);
      if (options.mode === Digital.InputPullUp && !board.pins.has(options.pin)) board.pins.set(options.pin, 1);
      if (options.onReadable && options.edge === Digital.Falling) edges.set(options.pin, options.onReadable);
    }
    read(): 0 | 1 {
      // The radio's GDO2 is the CC1101 simulator's pin; the others are the board's levels.
      if (this.options.pin === pins.radio.gdo2) return board.radio.gdo2.read();
      return board.pins.get(this.options.pin) ?? 0;
    }
    write(value: 0 | 1): void {
      board.pins.set(this.options.pin, value);
    }
  }

  /** Each UART's input and onReadable, signalled once when the input gets bytes (by advanceMs). */
  const uarts: { input: number[]; onReadable: (() => void) | undefined; signalled: boolean }[] = [];

  class Serial {
    private readonly uart: (typeof uarts)[number];
    private readonly sml: boolean;
    constructor(options: SerialOpenOptions) {
      board.opened.push(`serial ${options.port}`);
      this.sml = options.port === pins.sml.port;
      this.uart = { input: this.sml ? board.smlIn : board.serialIn, onReadable: options.onReadable, signalled: false };
      uarts.push(this.uart);
    }
    read(): ArrayBuffer | undefined {
      const u = this.uart;
      u.signalled = false;
      if (u.input.length === 0) return undefined;
      return Uint8Array.from(u.input.splice(0)).buffer;
    }
    write(data: ArrayBuffer): void {
      if (!this.sml) {
        board.serialOut.push(...new Uint8Array(data));
        return;
      }
      const de = board.pins.get(pins.sml.driverEnable) === 1 ? 1 : 0;
      board.smlBytes[de ? 'lmn' : 'optical'] += data.byteLength;
      board.onSml?.(new Uint8Array(data), de);
    }
  }

  const io: HostIo = {
    SPI,
    Digital,
    Serial,
    openFlash(partition) {
      if (devices.openFlash) return devices.openFlash(partition);
      const f = board.flashes[partition];
      if (!f) throw new DesktopIoFault('no-partition', `no partition named ${partition}`, { partition });
      return new SimFlashPartition(f);
    },
    preference: board.preferences,
    crypto: devices.crypto,
    ticks: () => ms,
    now: () => Date.UTC(2026, 0, 1) + ms,
    delay(d) {
      ms += d; // blocking: host time passes, no timer fires meanwhile
    },
    repeat(callback, every) {
      const t = { every, next: ms + every, callback, live: true };
      timers.push(t);
      return {
        schedule(delay) {
          t.next = ms + delay;
        },
        clear() {
          t.live = false;
        },
      };
    },
  };

  /** Moves simulated host time on, firing due timers in order (the radio simulator keeps its own time).
   *  Bytes put in serialIn or smlIn are signalled (onReadable) at the start of the advance. */
  function advanceMs(delta: number): void {
    const end = ms + delta;
    for (;;) {
      for (let i = 0; i < uarts.length; i++) {
        const u = uarts[i];
        if (!u.signalled && u.onReadable && u.input.length > 0) {
          u.signalled = true;
          u.onReadable();
        }
      }
      let due: (typeof timers)[number] | undefined;
      for (const t of timers) if (t.live && t.next <= end && (!due || t.next < due.next)) due = t;
      if (!due) break;
      ms = due.next;
      due.next += due.every;
      due.callback();
    }
    ms = end;
  }

  function nextDue(): number | undefined {
    let next: number | undefined;
    for (let i = 0; i < timers.length; i++) {
      const t = timers[i];
      if (t.live && (next === undefined || t.next < next)) next = t.next;
    }
    return next === undefined ? undefined : Math.max(0, next - ms);
  }

  return { board, io, advanceMs, nextDue };
}
