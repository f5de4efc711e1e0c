/**
 * The SML parts of the meter application (MeterApp on simulated ports, SimMeter): which parts a meter
 * gets from its ports and options, the tick schedule they ask for, the customer PIN, and the LMN port
 * under bad requests — which never change what the meter measures or sends: a twin meter (same seed,
 * same load) without the gateway's junk puts the same telegrams on the air, byte for byte.
 */
import assert from 'node:assert/strict';
import { concat, fromHex } from '../modules/core/bytes.js';
import { MeterApp } from '../modules/app/meter-app.js';
import { MeterError } from '../modules/core/errors.js';
import { getListRequestFile } from '../modules/sml/requests.js';
import { serverIdOf } from '../modules/sml/server-id.js';
import { SimMeter } from '../hosts/sim/sim-meter.js';
import { MemoryPort, decodeAll } from './helpers/sml.js';

const GATEWAY = fromHex('475731');
const hasPower = (file: Uint8Array) => {
  const { events } = decodeAll(file);
  return events.some((e) => e.kind === 'file' && e.file.messages.some((m) => m.body.kind === 'get-list-res' && m.body.valList.some((v) => v.objName[2] === 16 && v.objName[3] === 7)));
};

describe('SML in the meter application', function () {
  this.timeout(60_000);

  it('a meter without the SML ports has none of the SML parts and keeps its tick schedule', () => {
    const m = new SimMeter({ seed: 2, samplePeriodMs: 60_000 });
    const p = m.app.part;
    assert.equal(p.opticalPush ?? p.pinEntry ?? p.lmn ?? p.smlReadout, undefined);
    m.advance(120_500);
    assert.ok(m.app.nextTickDelay() > 1000, `${m.app.nextTickDelay()} ms`);
  });

  it('the optical push wakes the application every second, whatever the sample period', () => {
    const port = new MemoryPort();
    const m = new SimMeter({ seed: 2, samplePeriodMs: 60_000, sml: { optical: port } });
    m.advance(600_000);
    assert.equal(m.app.part.opticalPush!.stats.files, 601); // at boot, then every second
    assert.equal(port.written.length, 601);
    assert.ok(m.app.nextTickDelay() <= 1000);
    assert.equal(m.app.part.pinEntry, undefined, 'no PIN provisioned: no PIN entry');
  });

  it('the register source refreshes one list in place: the same array and entries every second', () => {
    const m = new SimMeter({ seed: 2, sml: { optical: new MemoryPort() } });
    const src = m.app.part.smlReadout!;
    const a = src.readings();
    const entries = [...a];
    m.advance(5000);
    const b = src.readings();
    assert.equal(a, b);
    assert.deepEqual(entries.map((e, i) => e === b[i]), entries.map(() => true));
    assert.deepEqual(b.map((r) => r.obis), ['1.8.0', '2.8.0', '16.7.0']);
  });

  it('flashes without a provisioned PIN show nothing; a PIN that is not four digits is refused at construction', () => {
    const port = new MemoryPort();
    const m = new SimMeter({ seed: 4, load: 'constant', sml: { optical: port, flashes: [{ afterMs: 1000, digits: '1234' }] } });
    m.advance(60_000);
    assert.ok(port.written.length > 50 && port.written.every((f) => !hasPower(f)));
    assert.throws(() => new MeterApp({ chip: 'ade7953', meterId: '12345678', customerPin: '12a4' }), (e) => e instanceof MeterError && e.code === 'meter-config');
  });

  it('the customer PIN through the light sensor: power hidden before, shown for 2 minutes after, hidden again', () => {
    const port = new MemoryPort();
    const m = new SimMeter({ seed: 4, load: 'constant', sml: { optical: port, pin: '1212' } });
    // Flashes 10 s from now; 14, 14.5 s; 18.5 s; 22.5, 23 s (4 s from a digit's last flash to the
    // next digit): the PIN is complete 3 s after the last flash, the power shown from 26 s to 146 s.
    m.light!.flashPin('1212', m.wallMs + 10_000);
    const boot = m.clock.ticks();
    const seen: { s: number; power: boolean }[] = [];
    for (let k = 0; k < 200; k++) {
      m.advance(1000);
      for (const f of port.written) seen.push({ s: (m.clock.ticks() - boot) / 1000, power: hasPower(f) });
      port.written.length = 0;
    }
    const shown = seen.filter((x) => x.power).map((x) => x.s);
    assert.equal(shown.length, 120);
    assert.deepEqual([shown[0], shown.at(-1)], [26, 145]);
    assert.deepEqual(m.app.part.pinEntry!.stats, { unlocks: 1, wrong: 0, lockouts: 0 });
  });

  describe('LMN under bad requests', () => {
    function twin(withLmn: boolean) {
      return new SimMeter({ seed: 9, load: 'solar', intervalMs: 120_000, sml: withLmn ? { lmn: true, optical: new MemoryPort() } : undefined });
    }

    it('malformed, wrong-CRC, foreign and flooding requests get no answer and a count; metering and telegrams are untouched; the next good request is answered', () => {
      const m = twin(true);
      const plain = twin(false);
      const serverId = serverIdOf('XSM', Number(m.meterId));
      const good = getListRequestFile({ clientId: GATEWAY, reqFileId: fromHex('0001'), serverId });
      const crc = good.slice();
      crc[crc.length - 1] ^= 0x55;
      const inside = good.slice();
      inside[24] ^= 0x01;
      const bad = [
        crc,
        inside,
        good.subarray(0, 40), // cut off: ends as truncated when the next start arrives
        getListRequestFile({ clientId: GATEWAY, reqFileId: fromHex('0002'), serverId: serverIdOf('XSM', 1) }),
        getListRequestFile({ clientId: GATEWAY, reqFileId: fromHex('0003'), serverId, listName: fromHex('0100620affee') }),
        concat(fromHex('1b1b1b1b01010101'), new Uint8Array(900).fill(0x1b)), // a start, then escaped data past the 512 bytes a request may have
        new Uint8Array(20_000).fill(0xaa), // more than the meter's receive buffer: overrun
      ];
      for (let i = 0; i < bad.length; i++) {
        m.lmnGateway!.write(bad[i]);
        m.advance(60_000);
        plain.advance(60_000);
      }
      assert.equal(m.lmnGateway!.read().length, 0, 'no answer to any of them');
      const lmn = m.app.part.lmn!;
      assert.deepEqual(lmn.stats.ignored, { 'other-server': 1, 'unknown-list': 1 });
      assert.equal(lmn.stats.responses, 0);
      assert.deepEqual(lmn.stats.errors, { crc: 2, truncated: 1, 'too-long': 1 });
      m.lmnGateway!.write(good);
      m.advance(1000);
      plain.advance(1000);
      const { events } = decodeAll(m.lmnGateway!.read());
      assert.deepEqual(events.map((e) => e.kind), ['file']);
      assert.equal(lmn.stats.responses, 1);
      // Same meter without the line: the same frames at the same times, the same registers.
      assert.ok(m.air.length >= 3);
      assert.deepEqual(m.air.map((f) => [f.wallMs, [...f.sent.frame]]), plain.air.map((f) => [f.wallMs, [...f.sent.frame]]));
      assert.deepEqual(m.registers(), plain.registers());
      assert.equal(m.app.part.opticalPush!.stats.files, 7 * 60 + 1 + 1, 'a push every second throughout (and one at boot)');
    });
  });
});
