import assert from 'node:assert/strict';
import { fromHex } from '../modules/core/bytes.js';
import { Receiver, keyTable } from '../modules/wmbus-rx/receiver.js';
import { runInBoth, type XsRun } from './helpers/xs.js';

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
    const rx = new Receiver({ keys });
    const rxFrames = new Receiver({ keys }); // its own replay state: it sees each telegram once too
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
