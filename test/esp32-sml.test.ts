/**
 * The SML interfaces on the ESP32 host (hosts/esp32): UART1 shared by the RS-485 LMN and the optical
 * IR LED (ports/sml-uart.ts), the photo sensor's edges (ports/edge-counter.ts), wired by createPorts
 * and run by MeterApp on the desktop board.
 *
 * The UART is checked against a model of the hardware: a 128-byte transmit FIFO shifting bytes out at
 * 9600 baud (10 bits each), onWritable when it has room, the DE pin's level while each byte is on the
 * line. The wired meter is checked with smartmeter-obis and libsml as readers and the telegrams the
 * receiver decodes.
 */
import assert from 'node:assert/strict';
import { fromHex } from '../modules/core/bytes.js';
import { getListRequestFile } from '../modules/sml/requests.js';
import { Receiver, keyTable } from '../modules/wmbus-rx/receiver.js';
import { HostBoot } from '../hosts/esp32/boot.js';
import { createDesktopMeterBoard, DESKTOP_METER } from '../hosts/esp32/desktop-meter.js';
import type { HostTimer } from '../hosts/esp32/host.js';
import { BOARD_PINS } from '../hosts/esp32/pins.js';
import { DigitalEdgeCounter } from '../hosts/esp32/ports/edge-counter.js';
import type { Ecma419Serial } from '../hosts/esp32/ports/serial.js';
import { SmlUart } from '../hosts/esp32/ports/sml-uart.js';
import { nobleCrypto } from '../hosts/sim/noble-crypto.js';
import { libsmlReader, readWithLibsml } from './helpers/libsml.js';
import { readWithSmartmeterObis, type ObisReading } from './helpers/smartmeter-obis.js';
import { joinAll } from './helpers/sml.js';

const BYTE_MS = 10_000 / 9600;

/** An ESP32 UART's transmitter at 9600 baud: a 128-byte FIFO (write throws when it cannot take a
 *  piece, as Moddable's does), the shift register, and a record of every byte on the line with the
 *  DE level while it was sent. Time is in 0.1 ms steps. */
class UartModel implements Ecma419Serial {
  fifo: number[] = [];
  /** Bytes on the line: start and end time (ms), the byte, DE while it was sent. */
  line: { from: number; to: number; byte: number; de: number }[] = [];
  t = 0;
  de = 0;
  private shifting: { byte: number; from: number; de: number } | undefined;
  onWritable: ((room: number) => void) | undefined;
  rx: number[] = [];
  read(): ArrayBuffer | undefined {
    if (this.rx.length === 0) return undefined;
    return Uint8Array.from(this.rx.splice(0)).buffer;
  }
  write(data: ArrayBuffer): void {
    if (this.fifo.length + data.byteLength > 128) throw new Error('output full');
    this.fifo.push(...new Uint8Array(data));
  }
  /** Moves time on by 0.1 ms: bytes follow each other on the line without a gap, each 10 bit times. */
  step(): void {
    this.t = Math.round((this.t + 0.1) * 10) / 10;
    // DE must not change while a byte is on the line: such a byte is marked -1.
    if (this.shifting && this.shifting.de !== this.de) this.shifting.de = -1;
    while (this.shifting && this.t >= this.shifting.from + BYTE_MS - 1e-9) {
      const to = this.shifting.from + BYTE_MS;
      this.line.push({ ...this.shifting, to });
      this.shifting = this.fifo.length > 0 ? { byte: this.fifo.shift()!, from: to, de: this.de } : undefined;
    }
    if (!this.shifting && this.fifo.length > 0) this.shifting = { byte: this.fifo.shift()!, from: this.t, de: this.de };
    if (this.fifo.length < 64 && this.fifo.length + (this.shifting ? 1 : 0) < 128) this.onWritable?.(128 - this.fifo.length);
  }
}

/** Host timers on the model's time. */
class Timers {
  list: { next: number; every: number; cb: () => void; live: boolean }[] = [];
  constructor(private readonly uart: UartModel) {}
  repeat = (cb: () => void, every: number): HostTimer => {
    const t = { next: this.uart.t + every, every, cb, live: true };
    this.list.push(t);
    return { schedule: (d) => void (t.next = this.uart.t + d), clear: () => void (t.live = false) };
  };
  run(): void {
    for (const t of this.list) {
      if (t.live && t.next <= this.uart.t + 1e-9) {
        t.next += t.every;
        t.cb();
      }
    }
  }
}

function rig() {
  const uart = new UartModel();
  const timers = new Timers(uart);
  const deLevels: { t: number; v: number }[] = [];
  const sml = new SmlUart({
    serial: uart,
    driverEnable: { write: (v) => void (deLevels.push({ t: uart.t, v }), (uart.de = v)) },
    baud: 9600,
    clock: { ticks: () => uart.t },
    repeat: timers.repeat,
  });
  uart.onWritable = (room) => sml.flush(room);
  const run = (ms: number) => {
    for (const end = uart.t + ms; uart.t < end - 1e-9; ) {
      uart.step();
      timers.run();
    }
  };
  return { uart, sml, run, deLevels };
}

describe('ESP32 host: SML on UART1', () => {
  describe('the shared UART (a 128-byte FIFO at 9600 baud)', () => {
    it('an LMN answer goes out whole with DE high from before its first bit to after its last, then DE drops within 2 ms', () => {
      const { uart, sml, run, deLevels } = rig();
      const answer = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff);
      assert.equal(sml.lmn.writable, 1024);
      sml.lmn.write(answer);
      assert.equal(sml.optical.writable, 0, 'the LED waits while the bus is driven');
      run(400);
      assert.deepEqual(uart.line.map((b) => b.byte), [...answer]);
      assert.ok(uart.line.every((b) => b.de === 1), 'every byte with DE high for all its bits');
      const last = uart.line.at(-1)!.to;
      assert.ok(Math.abs(last - 300 * BYTE_MS) < 1, `the line was busy for ${last} ms`);
      const drop = deLevels.at(-1)!;
      assert.equal(drop.v, 0);
      assert.ok(drop.t >= last && drop.t - last <= 2, `DE dropped at ${drop.t} ms, last stop bit at ${last} ms`);
      assert.equal(sml.holder, undefined);
      assert.equal(sml.optical.writable, 1024);
    });

    it('the push and the LMN take turns: no byte of one goes out under the other\'s DE level, and nothing is lost', () => {
      const { uart, sml, run } = rig();
      const push = new Uint8Array(276).fill(0x11);
      const answer = new Uint8Array(216).fill(0x22);
      sml.optical.write(push);
      run(50);
      assert.equal(sml.lmn.writable, 0, 'the LMN answer waits for the push file');
      // The LMN asks every millisecond (the application ticks every 15 ms while it holds an answer).
      while (sml.lmn.writable === 0) run(1);
      assert.ok(uart.t >= 276 * BYTE_MS && uart.t <= 276 * BYTE_MS + 3, `free at ${uart.t} ms, once the push file has left the shift register`);
      sml.lmn.write(answer);
      sml.optical.write(push); // a caller that did not check: dropped whole, counted
      assert.equal(sml.dropped, 276);
      run(300);
      assert.deepEqual(uart.line.map((b) => [b.byte, b.de]), [...[...push].map((b) => [b, 0]), ...[...answer].map((b) => [b, 1])]);
      const gap = uart.line[276].from - uart.line[275].to;
      assert.ok(gap > 0 && gap <= 3, `the turn-around takes ${gap} ms`);
    });
  });

  it('the optical sensor counts one flash per edge burst and forgets nothing between polls', () => {
    let t = 0;
    const c = new DigitalEdgeCounter({ ticks: () => t });
    for (const at of [0, 5, 10, 500, 1000, 1001]) {
      t = at;
      c.edge();
    }
    assert.equal(c.take(), 3);
    assert.equal(c.take(), 0);
  });

  describe('the desktop board: MeterApp with the SML interfaces on UART1', function () {
    this.timeout(60_000);
    /** Every SML piece UART1 sent, with its DE level and the host tick. */
    const pieces: { bytes: Uint8Array; de: number; t: number }[] = [];
    let d: ReturnType<typeof createDesktopMeterBoard>;
    let bootedAt = 0;
    let pinLastFlash = 0;

    before(() => {
      d = createDesktopMeterBoard({ crypto: nobleCrypto, load: { voltage: 230, current: 6, phaseDeg: 20 } });
      d.board.onSml = (bytes, de) => pieces.push({ bytes, de, t: d.io.ticks() });
      const booted = new HostBoot(d.io, d.board.preferences).boot(() => {});
      assert.ok(booted);
      bootedAt = d.io.ticks();
      const step = (ms: number) => {
        for (let k = 0; k < ms; k += 100) {
          d.advanceMeasurand(100);
          d.advanceMs(100);
        }
      };
      step(60_000);
      // The customer flashes 2-4-0-5 (the board's PIN), 500 ms apart, 4 s between digits.
      for (const digit of DESKTOP_METER.customerPin) {
        for (let k = 0; k < (digit === '0' ? 10 : Number(digit)); k++) {
          d.board.edge(BOARD_PINS.sml.sensor);
          pinLastFlash = d.io.ticks();
          step(500);
        }
        step(3500);
      }
      step(60_000);
      // A gateway asks on the bus, twice.
      for (const id of [1, 2]) {
        d.board.smlIn.push(...getListRequestFile({ clientId: fromHex('475731'), reqFileId: Uint8Array.of(id) }));
        step(id === 1 ? 3000 : 900_000); // past the first telegram (at random in the first 15 minutes)
      }
    });

    /** The SML files UART1 sent with DE at `de`, and when each began (host ticks): the pieces joined,
     *  cut at the transport's start sequence (4-byte aligned). */
    const sent = (de: number): { files: Uint8Array[]; times: number[] } => {
      const mine = pieces.filter((x) => x.de === de);
      const stream = joinAll(mine.map((p) => p.bytes));
      const at: number[] = [];
      mine.forEach((p) => at.push(...new Array<number>(p.bytes.length).fill(p.t)));
      const starts: number[] = [];
      for (let i = 0; i + 8 <= stream.length; i += 4) {
        if (stream[i] === 0x1b && stream[i + 1] === 0x1b && stream[i + 2] === 0x1b && stream[i + 3] === 0x1b && stream[i + 4] === 1 && stream[i + 5] === 1 && stream[i + 6] === 1 && stream[i + 7] === 1) starts.push(i);
      }
      return { files: starts.map((o, k) => stream.subarray(o, starts[k + 1] ?? stream.length)), times: starts.map((o) => at[o]) };
    };
    const files = (de: number) => sent(de).files;

    it('pushes a file a second with DE low; smartmeter-obis reads each; the power only for 2 minutes after the PIN', () => {
      const push = files(0);
      const seconds = Math.floor((d.io.ticks() - bootedAt) / 1000) + 1;
      assert.ok(Math.abs(push.length - seconds) <= 1, `${push.length} files in ${seconds} s`);
      const smo = readWithSmartmeterObis(joinAll(push));
      assert.equal(smo.length, push.length);
      const pushTimes = sent(0).times;
      let last = -1;
      smo.forEach((g, i) => {
        assert.ok('values' in g, JSON.stringify(g));
        const v = g.values as Record<string, ObisReading>;
        const a = v['1-0:1.8.0*255'].value as number;
        assert.ok(a >= last);
        last = a;
        const shown = pushTimes[i] >= pinLastFlash + 3000 && pushTimes[i] < pinLastFlash + 3000 + 120_000;
        assert.equal('1-0:16.7.0*255' in v, shown, `file ${i} at ${pushTimes[i] - pinLastFlash} ms after the last flash`);
      });
      assert.equal(smo.filter((g) => 'values' in g && '1-0:16.7.0*255' in g.values).length, 120);
    });

    it('answers the gateway with DE high: both readers read the answers, power included, A+ between the pushes around them', async () => {
      const answers = files(1);
      assert.equal(answers.length, 2);
      const smo = readWithSmartmeterObis(joinAll(answers));
      const push = readWithSmartmeterObis(joinAll(files(0)));
      const pushTimes = sent(0).times;
      const answerTimes = sent(1).times;
      smo.forEach((g, i) => {
        assert.ok('values' in g);
        const a = g.values['1-0:1.8.0*255'].value as number;
        assert.ok((g.values['1-0:16.7.0*255'].value as number) > 1000, 'the gateway sees the power (about 1.3 kW)');
        let before = 0;
        while (before + 1 < pushTimes.length && pushTimes[before + 1] <= answerTimes[i]) before++;
        const at = (k: number) => ((push[k] as { values: Record<string, ObisReading> }).values['1-0:1.8.0*255'].value as number);
        assert.ok(at(before) <= a && a <= at(before + 1), `answer ${i}: ${a} kWh`);
      });
      const r = libsmlReader();
      if (!r.path) return; // the libsml tests elsewhere say why it is missing
      const lib = await readWithLibsml(r.path, joinAll(answers));
      assert.deepEqual(lib.map((f) => [f.crcOk, f.tags]), [[true, [0x0101, 0x0701, 0x0201]], [true, [0x0101, 0x0701, 0x0201]]]);
    });

    it('the telegrams go on as before: each decodes, and its A+ is one a push of its second showed', () => {
      const rx = new Receiver({ crypto: nobleCrypto, keys: keyTable({ [DESKTOP_METER.meterId]: DESKTOP_METER.meterKey }) });
      const air = d.board.radio.transmissions;
      assert.ok(air.length >= 1);
      const push = readWithSmartmeterObis(joinAll(files(0))).map((g) => Math.round(((g as { values: Record<string, ObisReading> }).values['1-0:1.8.0*255'].value as number) * 1000));
      for (const c of air) {
        const t = rx.receivePhy(c.bytes, 'T1');
        assert.equal(t.mac, 'ok');
        const a = t.values.find((v) => v.obis === '1.8.0')!.value as number;
        assert.ok(push.includes(a), `A+ ${a} Wh is what a push of the same second showed`);
      }
    });
  });
});
