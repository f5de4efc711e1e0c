import assert from 'node:assert/strict';
import { Receiver, keyTable } from '../modules/wmbus-rx/receiver.js';
import { ServiceClient } from '../modules/service/client.js';
import type { SerialPort } from '../modules/ports/bus.js';
import { MeterApp } from '../modules/app/meter-app.js';
import { HostBoot } from '../hosts/esp32/boot.js';
import { meterOptions, readBoardConfig } from '../hosts/esp32/board-config.js';
import { createDesktopMeterBoard, DESKTOP_METER, type DesktopMeterBoard } from '../hosts/esp32/desktop-meter.js';
import { createPorts, MAX_SLEEP_MS, runApplication, type HostIo } from '../hosts/esp32/host.js';
import { BOARD_PINS } from '../hosts/esp32/pins.js';
import { nobleCrypto } from '../hosts/sim/noble-crypto.js';

/** The desktop board's io with every timer firing recorded: when, and the pulse pin after it. */
function observed(d: DesktopMeterBoard): { io: HostIo; ticks: number[]; pin: Array<0 | 1> } {
  const ticks: number[] = [];
  const pin: Array<0 | 1> = [];
  const io: HostIo = {
    ...d.io,
    repeat(callback, ms) {
      return d.io.repeat(() => {
        callback();
        ticks.push(d.io.ticks());
        pin.push(d.board.pins.get(BOARD_PINS.pulseLed) ?? 0);
      }, ms);
    },
  };
  return { io, ticks, pin };
}

/** Host time and the simulated load move on together. */
function advance(d: DesktopMeterBoard, ms: number, step = 100): void {
  for (let t = 0; t < ms; t += step) {
    d.advanceMeasurand(step);
    d.advanceMs(step);
  }
}

/** ServiceClient over the desktop board's serial line; `hold` sends the second half of each request
 *  `afterReadMs` after the meter read the first half. */
function benchClient(d: DesktopMeterBoard, hold?: { afterReadMs: number }): { client: ServiceClient; lastByteAt: () => number } {
  let held: number[] = [];
  let releaseAt = Infinity;
  let lastByteAt = -1;
  const port: SerialPort = {
    write(bytes) {
      const split = hold ? bytes.length >> 1 : bytes.length;
      d.board.serialIn.push(...bytes.subarray(0, split));
      held = [...bytes.subarray(split)];
      releaseAt = Infinity;
      lastByteAt = d.io.ticks();
    },
    read: () => Uint8Array.from(d.board.serialOut.splice(0)),
  };
  const timing = {
    ticks: () => d.io.ticks(),
    async sleep(ms: number) {
      if (held.length && releaseAt === Infinity && d.board.serialIn.length === 0) releaseAt = d.io.ticks() + hold!.afterReadMs;
      if (d.io.ticks() >= releaseAt) {
        d.board.serialIn.push(...held);
        held = [];
        releaseAt = Infinity;
        lastByteAt = d.io.ticks();
      }
      d.advanceMeasurand(ms);
      d.advanceMs(ms);
    },
  };
  return { client: new ServiceClient({ port, timing, timeoutMs: 3000, pollMs: 1 }), lastByteAt: () => lastByteAt };
}

describe('ESP32 host: ticks only when the meter application has work', () => {
  it('the desktop entry boots MeterApp; the host sleeps between samples, pulses stay exact, telegrams decode', () => {
    // 230 V × 10 A = 2.3 kW: 0.64 pulses/s at 1000 imp/kWh.
    const d = createDesktopMeterBoard({ crypto: nobleCrypto, load: { voltage: 230, current: 10, phaseDeg: 0 } });
    const { io, ticks, pin } = observed(d);
    const log: string[] = [];
    const booted = new HostBoot(io, d.board.preferences).boot((l) => log.push(l));
    assert.ok(booted);
    assert.deepEqual(log, ['xsmeter: CC1101 ready (T1, 868.95 MHz)', `xsmeter: meter XSM${DESKTOP_METER.meterId} started`]);
    const { app, host } = booted;
    const seconds = 20 * 60;
    advance(d, seconds * 1000);
    host.stop();

    // A fixed 15 ms tick is 66.7 per second; now about one per sample plus a few per pulse.
    const pulses = app.part.pulse.completed;
    assert.ok(ticks.length < seconds * 1.1 + pulses * 6, `${ticks.length} ticks in ${seconds} s with ${pulses} pulses`);
    assert.ok(ticks.length > seconds, 'at least one tick per 1 s sample');
    for (let i = 1; i < ticks.length; i++) assert.ok(ticks[i] - ticks[i - 1] <= MAX_SLEEP_MS, `gap ${ticks[i] - ticks[i - 1]} ms at ${ticks[i]}`);

    // The pulse pin: every pulse seen high for at least the 30 ms width, low at least as long between.
    let rising = 0;
    let edgeAt = -Infinity;
    for (let i = 1; i < pin.length; i++) {
      if (pin[i] === pin[i - 1]) continue;
      assert.ok(ticks[i] - edgeAt >= 30, `${pin[i - 1] ? 'high' : 'low'} for ${ticks[i] - edgeAt} ms at ${ticks[i]}`);
      edgeAt = ticks[i];
      if (pin[i] === 1) rising++;
    }
    const wh = app.part.energy.metering.obis()['1.8.0'];
    const truth = d.load.totalImportWh();
    assert.ok(Math.abs(wh - truth) / truth < 0.005, `${wh} Wh vs ${truth} Wh`);
    assert.equal(rising, Math.floor(wh));
    assert.equal(pulses, rising);

    const rx = new Receiver({ crypto: nobleCrypto, keys: keyTable({ [DESKTOP_METER.meterId]: DESKTOP_METER.meterKey }) });
    assert.ok(d.board.radio.transmissions.length >= 1);
    for (const c of d.board.radio.transmissions) {
      const t = rx.receivePhy(c.bytes, 'T1');
      assert.equal(t.mac, 'ok');
      assert.ok((t.values.find((v) => v.obis === '1.8.0')!.value as number) <= wh);
    }
  });

  it('a service request wakes the sleeping host at once (onReadable)', async () => {
    const d = createDesktopMeterBoard({ crypto: nobleCrypto });
    const booted = new HostBoot(d.io, d.board.preferences).boot(() => {});
    advance(d, 5_300); // mid-way between two samples: the host sleeps
    const { client, lastByteAt } = benchClient(d);
    for (let i = 0; i < 3; i++) {
      const ident = await client.identify();
      assert.equal(ident.meterId, booted!.app.deviceId);
      assert.ok(d.io.ticks() - lastByteAt() <= 2, `answered ${d.io.ticks() - lastByteAt()} ms after the request`);
      advance(d, 1_234, 1_234);
    }
    booted!.host.stop();
  });

  it('without onReadable a request is served within the longest sleep; a partial frame keeps the fine tick', async () => {
    const d = createDesktopMeterBoard({ crypto: nobleCrypto });
    const wiring = createPorts(d.io);
    const app = new MeterApp(meterOptions(readBoardConfig(d.board.preferences), () => {}));
    const host = runApplication(app, wiring.ports, d.io); // no wake source
    advance(d, 5_300);
    const { client } = benchClient(d);
    const t0 = d.io.ticks();
    await client.identify();
    assert.ok(d.io.ticks() - t0 <= MAX_SLEEP_MS + 2, `${d.io.ticks() - t0} ms`);
    // Half a request, the rest 100 ms after the meter read it: meanwhile the host ticks every tickMs.
    advance(d, 2_300);
    const split = benchClient(d, { afterReadMs: 100 });
    const ident = await split.client.identify();
    assert.equal(ident.meterId, app.deviceId);
    assert.ok(d.io.ticks() - split.lastByteAt() <= app.tickMs + 2, `answered ${d.io.ticks() - split.lastByteAt()} ms after the last byte`);
    host.stop();
  });
});
