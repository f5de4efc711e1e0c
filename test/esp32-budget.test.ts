import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fromHex } from '../modules/core/bytes.js';
import { Receiver, keyTable } from '../modules/wmbus-rx/receiver.js';
import { runInBoth, type XsRun } from './helpers/xs.js';
import { MeterApp } from '../modules/app/meter-app.js';
import { MeterError } from '../modules/core/errors.js';
import { BoardConfigFault, meterOptions, provisionBoard, readBoardConfig } from '../hosts/esp32/board-config.js';
import { createDesktopBoard } from '../hosts/esp32/desktop-io.js';
import { createPorts, runApplication } from '../hosts/esp32/host.js';
import { PreferenceKeyStore } from '../hosts/esp32/ports/key-store.js';
import { perfectHardware } from '../hosts/sim/chips/front-end.js';
import { SimAde7953 } from '../hosts/sim/chips/sim-ade7953.js';
import { LoadModel } from '../hosts/sim/physics/load-model.js';
import { nobleCrypto } from '../hosts/sim/noble-crypto.js';
import { ecb } from './helpers/node-oms.js';

// The day-run entry (test/xs/esp32-day.xs.ts) prints this meter's frames; its meter key is fixed there.
const METER_ID = '31415926';
const METER_KEY = '000102030405060708090a0b0c0d0e0f';

describe('ESP32 budget: the meter application under XS', function () {
  this.timeout(120_000);
  let xs: XsRun;
  let node: XsRun;

  before(async () => {
    ({ xs, node } = await runInBoth('test/xs/esp32-day.xs.ts'));
  });

  it('three simulated hours under XS give the same registers, stats and frames (hex) as under Node', () => {
    assert.ok(xs.lines.length > 20);
    assert.deepEqual(xs.lines, node.lines);
  });

  it('the registers follow the load model and every frame on the air decodes to what the meter sent', () => {
    const reg = (obis: string) => Number(/ ([\d.]+) Wh$/.exec(node.lines.find((l) => l.startsWith(`register ${obis} `))!)![1]);
    const truth = /^true Wh import ([\d.]+) export ([\d.]+)$/.exec(node.lines.find((l) => l.startsWith('true Wh'))!)!;
    const trueImport = Number(truth[1]);
    assert.ok(trueImport > 100, `a household draws something in 3 h (${trueImport} Wh)`);
    // Perfect simulated front end: the meter reads the load model's energy to well within class 1.
    assert.ok(Math.abs(reg('1.8.0') - trueImport) / trueImport < 0.005, `${reg('1.8.0')} vs ${trueImport}`);
    // 1000 imp/kWh: pulses = floor(register).
    assert.equal(Number(/^pulses (\d+)$/.exec(node.lines.find((l) => l.startsWith('pulses'))!)![1]), Math.floor(reg('1.8.0')));

    const frames = node.lines.filter((l) => l.startsWith('frame '));
    assert.equal(frames.length, 12, 'one telegram every 15 min for 3 h');
    const keys = keyTable({ [METER_ID]: fromHex(METER_KEY) });
    const rx = new Receiver({ crypto: nobleCrypto, keys });
    const rxFrames = new Receiver({ crypto: nobleCrypto, keys }); // its own replay state: it sees each telegram once too
    let last = -1;
    frames.forEach((line, i) => {
      const [, counter, , frameHex, , airHex] = line.split(' ');
      const t = rx.receivePhy(fromHex(airHex), 'T1');
      assert.equal(t.meter.id, METER_ID);
      assert.equal(t.securityMode, 7);
      assert.equal(t.mac, 'ok');
      assert.equal(t.messageCounter, Number(counter));
      assert.equal(t.messageCounter, i + 1);
      assert.deepEqual(rxFrames.receiveFrame(fromHex(frameHex), 'A').values, t.values, 'the CC1101 sent the frame the application built');
      const imp = t.values.find((v) => v.obis === '1.8.0')!.value as number;
      assert.ok(imp >= last && imp <= reg('1.8.0'), 'A+ never goes back and never exceeds the register');
      last = imp;
    });
  });
});

describe('ESP32 host: the meter application on the board wiring', () => {
  it('starts MeterApp with the provisioned meter id and chip; telegrams go through the host adapters and the CC1101 to a receiver', () => {
    // 230 V, 10 A, PF 1 on the ADE7953 channel A, behind the metrology chip select of the board.
    const load = new LoadModel(1, { voltage: 230, current: 10, phaseDeg: 0 });
    const chip = new SimAde7953({ load, errors: perfectHardware(2), seed: 3 });
    const { board, io, advanceMs } = createDesktopBoard(undefined, { crypto: nobleCrypto, metrology: chip.spi });
    const meterKey = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
    PreferenceKeyStore.provision(board.preferences, io.crypto, { meterKey, benchKey: new Uint8Array(16).fill(2), devicePrivateKey: new Uint8Array(32).fill(3) });
    assert.throws(() => readBoardConfig(board.preferences), (e) => e instanceof BoardConfigFault && e.code === 'missing-config');
    assert.throws(
      () => provisionBoard(board.preferences, { meterId: '1234567', chip: 'ade7953', security: 7, radioMode: 'T1' }),
      (e) => e instanceof BoardConfigFault && e.code === 'bad-config' && e.details.key === 'meterId',
    );
    provisionBoard(board.preferences, { meterId: '27182818', chip: 'ade7953', security: 7, radioMode: 'T1' });

    const wiring = createPorts(io);
    const app = new MeterApp(meterOptions(readBoardConfig(board.preferences), (k) => wiring.keyStore.installMeterKey(k)));
    const host = runApplication(app, wiring.ports, io);
    for (let t = 0; t < 31 * 60_000; t += 100) {
      load.advance(100);
      chip.advance(100);
      advanceMs(100);
    }
    host.stop();
    assert.equal(app.stats.metrologyFaults, 0);
    assert.ok(app.stats.samples >= 31 * 60 - 1);
    // 2.3 kW for 31 min = 1188.3 Wh (perfect front end: within 0.5 %).
    const wh = app.part.energy.metering.obis()['1.8.0'];
    assert.ok(Math.abs(wh - load.totalImportWh()) / load.totalImportWh() < 0.005, `${wh} Wh vs ${load.totalImportWh()}`);
    assert.ok(board.radio.transmissions.length >= 2, `${board.radio.transmissions.length} telegrams in 31 min`);
    const rx = new Receiver({ crypto: nobleCrypto, keys: keyTable({ '27182818': meterKey }) });
    let last = 0;
    for (const c of board.radio.transmissions) {
      const t = rx.receivePhy(c.bytes, 'T1');
      assert.equal(t.meter.id, '27182818');
      assert.equal(t.mac, 'ok');
      const imp = t.values.find((v) => v.obis === '1.8.0')!.value as number;
      assert.ok(imp > last && imp <= wh);
      last = imp;
    }
    // stop() persisted the energy on the xsenergy partition through the flash adapter: a reboot restores it.
    const again = new MeterApp(meterOptions(readBoardConfig(board.preferences), () => {}));
    again.start(wiring.ports);
    assert.equal(again.part.energy.metering.registers.uwh('import'), app.part.energy.metering.registers.uwh('import'));
    // install-meter-key lands where the key store reads it; a bad length is a typed fault.
    wiring.keyStore.installMeterKey(new Uint8Array(16).fill(9));
    const block = new Uint8Array(16);
    nobleCrypto.aesEncryptBlock(wiring.ports.keys.meterKey(), new Uint8Array(16), block);
    assert.deepEqual(block, ecb(new Uint8Array(16).fill(9), new Uint8Array(16)), 'the installed key encrypts as AES-128 with key 09…09 (node:crypto)');
    assert.throws(() => wiring.keyStore.installMeterKey(new Uint8Array(15)), (e) => e instanceof MeterError && e.code === 'bad-key');
  });
});

describe('ESP32 manifest: the creation block', () => {
  type Creation = { static?: number; chunk: { initial: number; incremental?: number }; heap: { initial: number; incremental?: number }; stack?: number };
  const manifest = JSON.parse(readFileSync('manifest.json', 'utf8')) as { creation: Creation; platforms: Record<string, { creation?: Creation }> };

  it('gives XS fixed blocks (no growth) that fit the ESP32 with room (≤ 96 KB with 16-byte slots); the mcsim day-run shows the meter in them (test/moddable-desktop.test.ts)', () => {
    const c = manifest.creation;
    assert.equal(c.static, 0);
    assert.equal(c.chunk.incremental, 0);
    assert.equal(c.heap.incremental, 0);
    const bytes = c.chunk.initial + 16 * c.heap.initial + 16 * c.stack!;
    assert.ok(bytes <= 96 * 1024, `${bytes} bytes`);
  });

  it('on the desktop simulator: the same block plus at most 8 KB of chunks and 768 slots for the simulated chips, the CC1101 and the load', () => {
    const c = manifest.creation;
    for (const p of ['lin', 'mac']) {
      const d = manifest.platforms[p].creation!;
      assert.ok(d.chunk.initial >= c.chunk.initial && d.chunk.initial - c.chunk.initial <= 8192, p);
      assert.ok(d.heap.initial >= c.heap.initial && d.heap.initial - c.heap.initial <= 768, p);
      assert.equal(d.stack, undefined, `${p}: the same stack`);
    }
  });
});
