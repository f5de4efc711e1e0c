/**
 * Wiring of the ESP32 host, independent of where the IO classes come from: `createPorts` turns a set
 * of ECMA-419 constructors, a flash opener, a preference store and a tick source into the ports of
 * modules/ports (plus the CC1101 radio and the SML interfaces on UART1), following a pin table;
 * `runApplication` starts a MeterApplication on them with one timer, rescheduled after each tick when
 * the application says when it next has work (`nextTickDelay`), and woken early when the service
 * port or the LMN has bytes or the optical sensor sees a flash. main.ts binds it to Moddable's real
 * modules; tests bind it to fakes and to the register-level simulators.
 */
import type { MeterPorts } from '../../modules/app/meter-app.js';
import type { SpiPort } from '../../modules/ports/bus.js';
import { Cc1101 } from '../../modules/radio/cc1101.js';
import { BOARD_PINS, PARTITIONS, type PinTable } from './pins.js';
import { HostClock } from './ports/clock.js';
import { PinInput, PinOutput, type Ecma419Digital } from './ports/digital.js';
import { DigitalEdgeCounter } from './ports/edge-counter.js';
import { SmlUart } from './ports/sml-uart.js';
import { PartitionFlash, type ModdableFlashPartition } from './ports/flash.js';
import { PreferenceKeyStore, type PreferenceStore } from './ports/key-store.js';
import { Ecma419SerialPort, type Ecma419Serial } from './ports/serial.js';
import { Ecma419SpiPort, type Ecma419Spi } from './ports/spi.js';
import type { Crypto } from '../../modules/ports/crypto.js';
import type { HostTimer } from './host-timer.js';

export type { HostTimer } from './host-timer.js';

/**
 * The contract between the host and the meter application (modules/app MeterApp, started by
 * main.ts): the host constructs every port from the board's pin table and hands them over once; the
 * application never touches Moddable or ECMA-419 APIs itself, so the same application runs on the
 * desktop simulator with simulated ports.
 */
export type HostPorts = MeterPorts;

/** What the meter application must provide to be started by `startHost`. */
export interface MeterApplication {
  /** Called once, with every port, before the first tick. */
  start(ports: HostPorts): void;
  /** Called every `tickMs` milliseconds from the host's timer (sampling, energy, pulses, telegrams). */
  tick(): void;
  /** Tick period in milliseconds (the host uses 100 when absent). */
  readonly tickMs?: number;
  /** Milliseconds until the application next has work (asked after every tick; the host sleeps
   *  that long, at most 1 s, or until the service port or UART1 has bytes or the optical sensor a
   *  flash). Without it: every tickMs. */
  nextTickDelay?(): number;
  /** Called when the host stops the application (e.g. before an OTA restart): persist state here. */
  stop?(): void;
}

/** The constructor options the host passes (a subset of ECMA-419's). */
export interface SpiOpenOptions {
  clock: number;
  out: number;
  in: number;
  select: number;
  hz: number;
  mode: 0 | 1 | 2 | 3;
  port: number;
}
export interface DigitalOpenOptions {
  pin: number;
  mode: number;
  /** Digital.Rising or Digital.Falling: call onReadable on that edge (a GPIO interrupt). */
  edge?: number;
  onReadable?: () => void;
}
export interface SerialOpenOptions {
  port: number;
  transmit: number;
  receive: number;
  baud: number;
  format: 'buffer';
  /** ECMA-419: called when bytes arrived (the host wakes its tick timer). */
  onReadable?: () => void;
  /** ECMA-419: called with the bytes the transmit FIFO takes now (the port sends what it queued). */
  onWritable?: (bytes: number) => void;
}


/** Where the host's IO comes from: Moddable's modules on the device, fakes or simulators in tests. */
export interface HostIo {
  SPI: new (options: SpiOpenOptions) => Ecma419Spi;
  Digital: {
    new (options: DigitalOpenOptions): Ecma419Digital;
    readonly Input: number;
    readonly Output: number;
    readonly InputPullUp: number;
    readonly Falling: number;
  };
  Serial: new (options: SerialOpenOptions) => Ecma419Serial;
  openFlash(partition: string): ModdableFlashPartition;
  preference: PreferenceStore;
  /** The crypto port of this host (the device's native crypto on ESP32). */
  crypto: Crypto;
  /** Raw millisecond tick counter (may wrap at 2^32). */
  ticks(): number;
  /** Wall clock, ms since 1970. */
  now(): number;
  /** Blocks for `ms` milliseconds (Moddable `Timer.delay`). */
  delay(ms: number): void;
  /** Calls `callback` every `ms` until cleared or rescheduled. */
  repeat(callback: () => void, ms: number): HostTimer;
}

/** Ports plus the concrete radio driver (for the host's own checks). */
export interface HostWiring {
  ports: HostPorts;
  radio: Cc1101;
  radioSpi: SpiPort;
  /** The key store of `ports.keys`, with its install-meter-key. */
  keyStore: PreferenceKeyStore;
  /** UART1 shared by the LMN and the optical push (its DE, its line owner). */
  smlUart: SmlUart;
  /** Called by the service port's and the LMN's onReadable and the optical sensor's edges;
   *  runApplication sets it to wake its timer. */
  serviceWake: HostWake;
}

/** Where the service port's (and the SML interfaces') onReadable goes (set while an application runs). */
export interface HostWake {
  listener: (() => void) | undefined;
}

export function createPorts(io: HostIo, pins: PinTable = BOARD_PINS): HostWiring {
  const bus = { clock: pins.spi.clock, out: pins.spi.out, in: pins.spi.in, port: pins.spi.port };
  const metrologySpi = new Ecma419SpiPort(
    new io.SPI({ ...bus, select: pins.metrology.select, hz: pins.metrology.hz, mode: pins.metrology.mode }),
  );
  const radioSpi = new Ecma419SpiPort(new io.SPI({ ...bus, select: pins.radio.select, hz: pins.radio.hz, mode: 0 }));
  const radio = new Cc1101({ spi: radioSpi, gdo2: new PinInput(new io.Digital({ pin: pins.radio.gdo2, mode: io.Digital.Input })) });
  const keyStore = new PreferenceKeyStore(io.preference, io.crypto);
  const serviceWake: HostWake = { listener: undefined };
  const pulseLed = new PinOutput(new io.Digital({ pin: pins.pulseLed, mode: io.Digital.Output }));
  const calibrationSwitch = new PinInput(new io.Digital({ pin: pins.calibrationSwitch, mode: io.Digital.InputPullUp }), true);
  const service: Ecma419SerialPort = new Ecma419SerialPort(
    new io.Serial({
      port: pins.service.port,
      transmit: pins.service.transmit,
      receive: pins.service.receive,
      baud: pins.service.baud,
      format: 'buffer',
      onReadable: () => serviceWake.listener?.(),
      onWritable: (bytes) => service.flush(bytes),
    }),
  );
  const clock = new HostClock(io.ticks, io.now, io.delay);
  // SML: UART1 for the LMN and the optical push, DE on a GPIO, the photo sensor's falling edges.
  const opticalSensor = new DigitalEdgeCounter(clock);
  new io.Digital({
    pin: pins.sml.sensor,
    mode: io.Digital.Input,
    edge: io.Digital.Falling,
    onReadable: () => {
      opticalSensor.edge();
      serviceWake.listener?.();
    },
  });
  const smlUart: SmlUart = new SmlUart({
    serial: new io.Serial({
      port: pins.sml.port,
      transmit: pins.sml.transmit,
      receive: pins.sml.receive,
      baud: pins.sml.baud,
      format: 'buffer',
      onReadable: () => serviceWake.listener?.(),
      onWritable: (bytes) => smlUart.flush(bytes),
    }),
    driverEnable: new PinOutput(new io.Digital({ pin: pins.sml.driverEnable, mode: io.Digital.Output })),
    baud: pins.sml.baud,
    clock,
    repeat: io.repeat,
  });
  const ports: HostPorts = {
    metrologySpi,
    pulseLed,
    calibrationSwitch,
    service,
    energyFlash: new PartitionFlash(io.openFlash(PARTITIONS.energy), PARTITIONS.energy),
    calibrationFlash: new PartitionFlash(io.openFlash(PARTITIONS.calibration), PARTITIONS.calibration),
    keys: keyStore,
    crypto: io.crypto,
    clock,
    radio,
    optical: smlUart.optical,
    opticalSensor,
    lmn: smlUart.lmn,
  };
  return { ports, radio, radioSpi, keyStore, smlUart, serviceWake };
}

/** A started application; `stop()` cancels the tick timer and calls the application's stop(). */
export interface RunningHost {
  readonly ports: HostPorts;
  stop(): void;
}

export const DEFAULT_TICK_MS = 100;
/** Longest sleep between ticks: the service port is polled at least this often even without
 *  onReadable, and the 32-bit tick counter is read far more often than it wraps (HostClock). */
export const MAX_SLEEP_MS = 1000;

/** Starts `app` on `ports`: start(ports) once, then tick() on a timer. An application with
 *  `nextTickDelay` is ticked again after that many ms (at most MAX_SLEEP_MS), and at once when
 *  `wake` fires (the service port's onReadable); one without is ticked every app.tickMs. The clock
 *  is read every tick, which keeps its 32-bit wrap-around tracking valid. */
export function runApplication(app: MeterApplication, ports: HostPorts, io: Pick<HostIo, 'repeat'>, wake?: HostWake): RunningHost {
  app.start(ports);
  const adaptive = app.nextTickDelay !== undefined;
  const timer = io.repeat(() => {
    ports.clock.ticks();
    app.tick();
    if (adaptive) {
      const delay = app.nextTickDelay!();
      timer.schedule(delay > MAX_SLEEP_MS ? MAX_SLEEP_MS : delay > 0 ? delay : 0);
    }
  }, app.tickMs ?? DEFAULT_TICK_MS);
  if (adaptive && wake) wake.listener = () => timer.schedule(0);
  let stopped = false;
  return {
    ports,
    stop() {
      if (stopped) return;
      stopped = true;
      timer.clear();
      if (wake) wake.listener = undefined;
      app.stop?.();
    },
  };
}
