/**
 * The meter application on simulated meters (hosts/sim/sim-meter.ts), checked against independent
 * truth: the load model's exact energy integral, the strict receiver (modules/wmbus-rx) decoding what
 * went on the air, the airtime computed from the on-air chip stream length and the mode's chip rate,
 * and the sealing module's own verifier for the log the service interface exports.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeErrorFlags, decodeStatusByte } from '../modules/app/meter-status.js';
import { MeterApp, maxSamplePeriodMs } from '../modules/app/meter-app.js';
import { MeterError } from '../modules/core/errors.js';
import { RadioBudget } from '../modules/app/radio-budget.js';
import { TelegramSchedule, XorShift32 } from '../modules/app/telegram-schedule.js';
import { TariffSchedule } from '../modules/metrology/tariff.js';
import { fromHex, toHex } from '../modules/core/bytes.js';
import { defaultCalibration, makeCalibration, parseCalibration, serializeCalibration } from '../modules/metrology/calibration.js';
import { exportFromBinary, verifyExport } from '../modules/sealing/log-export.js';
import { mapMeterFlash, placePartition, type StoreName } from '../modules/storage/flash-map.js';
import { RecordRing } from '../modules/storage/record-ring.js';
import { ServiceClient, ServiceError } from '../modules/service/client.js';
import { T1_CHIP_RATE, C1_CHIP_RATE } from '../modules/wmbus/phy.js';
import { phyDecode } from '../modules/wmbus/phy-decode.js';
import { Receiver, keyTable, type DecodedTelegram } from '../modules/wmbus-rx/receiver.js';
import type { MeterApplication } from '../hosts/esp32/host.js';
import { SimGateway } from '../hosts/sim/gateway.js';
import { VirtualTiming } from '../hosts/sim/service-pipe.js';
import { TcpSerialClient, TcpSerialListener, nodeTiming } from '../hosts/sim/service-transport.js';
import { PowerCut, SimFlash } from '../hosts/sim/sim-flash.js';
import { DEFAULT_WALL_START, SimMeter, type AirFrame, type SimMeterOptions } from '../hosts/sim/sim-meter.js';
import { nobleCrypto } from '../hosts/sim/noble-crypto.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function receiverFor(...meters: SimMeter[]): Receiver {
  const keys: Record<string, Uint8Array> = {};
  for (const m of meters) keys[m.meterId] = fromHex(m.keys.toFile().meterKey);
  return new Receiver({ crypto: nobleCrypto, keys: keyTable(keys), allowPlain: true, allowUnauthenticated: true });
}

function value(t: DecodedTelegram, obis: string): number | string | null | undefined {
  return t.values.find((v) => v.obis === obis)?.value;
}

/** Where the flash map puts a store of the energy partition, in bytes of `f`. */
function energyBytes(f: SimFlash, store: StoreName): { first: number; end: number } {
  const p = placePartition('energy', f.sectorCount).find((s) => s.store === store)!;
  return { first: p.firstSector * f.sectorSize, end: (p.firstSector + p.sectorCount) * f.sectorSize };
}

function client(m: SimMeter): ServiceClient {
  return new ServiceClient({ port: m.bench, timing: new VirtualTiming(() => m.advance(10)), benchKey: m.keys.benchKey(), crypto: nobleCrypto });
}

describe('meter application on simulated meters', () => {
  it('satisfies the ESP32 host contract (MeterApplication)', () => {
    const app: MeterApplication = new MeterApp({ chip: 'ade7953', meterId: '12345678' });
    assert.ok(app.tickMs !== undefined && app.tickMs > 0 && app.tickMs <= 30, `tick ${app.tickMs} ms within the 30 ms pulse width`);
    assert.throws(() => new MeterApp({ chip: 'ade7953', meterId: '12345678', tickMs: 100 }), (e: Error) => (e as { code?: string }).code === 'meter-config');
  });

  it('refuses a sample period in which an energy register could wrap unseen at the rated power (a typed config error)', () => {
    // The figures (data sheets; their physics in metrology-drivers.test.ts): ATM90E32 at 1000 imp/kWh
    // 327.68 Wh a half range, ADE7953 on the reference board 2^23 / 206 900 s of its 25 kW full scale.
    for (const [chip, halfRangeWs] of [['atm90e32', 327.68 * 3600], ['ade7953', (2 ** 23 / 206_900) * 25_000]] as const) {
      for (const ratedPowerW of [undefined, 13_800, 5_000]) {
        const limitMs = maxSamplePeriodMs({ chip, ratedPowerW });
        assert.ok(Math.abs(limitMs - (halfRangeWs * 1000) / (ratedPowerW ?? 30_000)) < 1, `${chip} at ${ratedPowerW} W: ${limitMs} ms`);
        const app = new MeterApp({ chip, meterId: '12345678', ratedPowerW, samplePeriodMs: limitMs });
        assert.equal(app.maxSamplePeriodMs, limitMs);
        assert.throws(
          () => new MeterApp({ chip, meterId: '12345678', ratedPowerW, samplePeriodMs: limitMs + 1 }),
          (e) => e instanceof MeterError && e.code === 'meter-config' && /energy registers cannot wrap unseen/.test(e.message) && !e.message.includes('\n'),
        );
      }
    }
    for (const bad of [0, -1, NaN, 2e6]) {
      assert.throws(() => new MeterApp({ chip: 'ade7953', meterId: '12345678', ratedPowerW: bad }), (e) => e instanceof MeterError && e.code === 'meter-config');
    }
  });

  it("a simulated meter is rated 13.8 kW a phase (230 V × 60 A): up to 1.2 × that is metered, above it each sample is a metrology fault", () => {
    for (const chip of ['ade7953', 'atm90e32'] as const) {
      const m = new SimMeter({ chip, seed: 63, load: 'manual', initialLoad: { voltage: 230, current: 70, phaseDeg: 0 }, samplePeriodMs: 10_000 });
      m.advance(60_000);
      assert.equal(m.app.part.energy.faults, 0, `${chip} at 16.1 kW`);
      assert.ok(Math.abs(m.registers()['1.8.0'] - m.load.importWh.reduce((a, b) => a + b, 0)) < 1, `${chip}: ${m.registers()['1.8.0']} Wh`);
      m.setLoad({ current: 80 });
      m.advance(60_000);
      assert.ok(m.app.part.energy.faults >= 5, `${chip} at 18.4 kW: ${m.app.part.energy.faults} faults`);
    }
  });

  it("samples fall on the wall clock's grid of their period: an ADE7953 PV prosumer booted 30 s past the minute meters A+ and A- exactly", () => {
    // The simulated loads change on 5-minute slots. An ADE7953 has one signed energy register a
    // channel, so import and export within one sample net out: samples 30 s off the minute would
    // straddle each slot change and leave both registers short by what netted (~100 Wh a day here).
    for (const offsetMs of [0, 30_000, 12_345]) {
      const m = new SimMeter({ chip: 'ade7953', seed: 5, load: 'solar', samplePeriodMs: 60_000, wallStartMs: DEFAULT_WALL_START + offsetMs });
      m.advance(86_400_000);
      const last = m.app.part.energy.lastSample!;
      assert.equal((offsetMs + last.ticks) % 60_000, 0, `the last sample at ${offsetMs + last.ticks} ms past the minute grid`);
      m.app.stop();
      const truth = m.trueEnergy();
      assert.ok(truth.importWh > 1000 && truth.exportWh > 1000, 'both directions flowed');
      for (const [got, want, what] of [[m.registers()['1.8.0'], truth.importWh, 'A+'], [m.registers()['2.8.0'], truth.exportWh, 'A-']] as const) {
        assert.ok(Math.abs(got - want) < 0.1, `${what} booted ${offsetMs} ms past the minute: ${got} Wh, true ${want} Wh`);
      }
    }
  });

  it('after a stall of the host (no tick for 150 s), the next samples keep the grid', () => {
    const m = new SimMeter({ chip: 'ade7953', seed: 6, load: 'constant', samplePeriodMs: 60_000, wallStartMs: DEFAULT_WALL_START + 30_000 });
    m.advance(100_000);
    const stall = 150_000;
    // The world moves on; the application is not run meanwhile.
    m.load.advance(stall);
    m.chip.advance(stall);
    m.clock.advance(stall);
    const before = m.app.part.energy.samples;
    m.app.tick(); // late: the sample that was due
    assert.equal(m.app.part.energy.samples, before + 1);
    m.advance(200_000);
    const last = m.app.part.energy.lastSample!;
    assert.equal((30_000 + last.ticks) % 60_000, 0, `the last sample at ${30_000 + last.ticks} ms, off the minute grid`);
  });

  it('a set-time moves the samples onto the grid of the time set: an ADE7953 PV prosumer booted with an unset clock 30 s past the minute meters A+ and A- exactly', async () => {
    // Unset (1970): the samples keep the boot's grid, 30 s off the load's 5-minute slots (harmless in
    // the night's first hour: no export to net). The time set is the simulated world's plus whole
    // days, so its minute grid is the load's.
    const m = new SimMeter({ chip: 'ade7953', seed: 5, load: 'solar', samplePeriodMs: 60_000, wallStartMs: 30_000 });
    m.advance(HOUR);
    const c = client(m);
    await c.connect();
    await c.setTime(m.clock.now() + Date.UTC(2026, 0, 1));
    m.advance(DAY - HOUR);
    const wall = m.app.part.clock;
    const last = m.app.part.energy.lastSample!;
    assert.equal((last.ticks + wall.now() - wall.ticks()) % 60_000, 0, 'the last sample off the minute grid of the time set');
    m.app.stop();
    const truth = m.trueEnergy();
    assert.ok(truth.exportWh > 1000, 'the PV exported');
    for (const [got, want, what] of [[m.registers()['1.8.0'], truth.importWh, 'A+'], [m.registers()['2.8.0'], truth.exportWh, 'A-']] as const) {
      assert.ok(Math.abs(got - want) < 0.1, `${what}: ${got} Wh, true ${want} Wh`);
    }
  });

  describe('end to end: meter → air → gateway', () => {
    for (const [chip, load] of [
      ['ade7953', 'household'],
      ['atm90e32', 'solar'],
    ] as const) {
      it(`${chip}, ${load} load, one day: every telegram decodes to the meter's registers, which match the load model`, () => {
        const m = new SimMeter({ chip, load, seed: 11, samplePeriodMs: 10_000 });
        const rx = receiverFor(m);
        m.advance(DAY);
        assert.ok(m.air.length >= 95 && m.air.length <= 97, `${m.air.length} telegrams in a day at 15 min`);
        let lastImport = -1;
        for (const f of m.air) {
          const t = rx.receivePhy(f.stream, f.mode);
          assert.equal(t.meter.id, m.meterId);
          assert.equal(t.securityMode, 7);
          assert.equal(t.messageCounter, f.sent.messageCounter);
          // The frame the meter kept is still the one its chip stream carries, a day of telegrams
          // later (the streams are cut from shared buffers: no part may be handed out twice).
          assert.equal(toHex(f.sent.frame), toHex(phyDecode(f.stream, f.mode).frame));
          // What the gateway reads is what the meter's registers held when it sent (whole Wh).
          for (const r of f.sent.registers) {
            const got = t.values.find((v) => v.obis === (r.obis === 'clock' ? '0-0:1.0.0' : r.obis === 'status' ? '0-0:97.97.0' : r.obis));
            assert.ok(got, `${r.obis} decoded`);
            assert.equal(got.value, r.value, r.obis);
          }
          const imp = value(t, '1.8.0') as number;
          assert.ok(imp >= lastImport, 'A+ never goes back');
          lastImport = imp;
          assert.deepEqual(decodeStatusByte(t.status!), { tamper: false, metrologyFault: false, logFull: false, clockInvalid: false, deferred: false, counterResync: false });
        }
        // Registers against the physical truth: perfect front end, so far inside class 1 (±1 %).
        const truth = m.trueEnergy();
        const reg = m.registers();
        assert.ok(truth.importWh > 1000, `a day of household load imports ${truth.importWh} Wh`);
        assert.ok(Math.abs(reg['1.8.0'] - truth.importWh) <= 0.01 * truth.importWh + 1, `A+ ${reg['1.8.0']} vs truth ${truth.importWh}`);
        assert.ok(Math.abs(reg['2.8.0'] - truth.exportWh) <= 0.01 * truth.exportWh + 1, `A- ${reg['2.8.0']} vs truth ${truth.exportWh}`);
        if (load === 'solar') assert.ok(truth.exportWh > 500, `the PV array exports (${truth.exportWh} Wh)`);
        // The last telegram is at most one interval (plus jitter) behind the end of the day.
        const last = m.air[m.air.length - 1].sent.registers.find((r) => r.obis === '1.8.0')?.value as number;
        assert.ok(last <= truth.importWh + 1 && last >= reg['1.8.0'] - 3 * 3000 * 0.25, `last sent A+ ${last}`);
        // app.telegram (made from what the sender keeps of it) is the last telegram as handed to the radio.
        const sent = m.air[m.air.length - 1].sent;
        assert.deepEqual({ ...m.app.telegram!, frame: toHex(m.app.telegram!.frame) }, { ...sent, frame: toHex(sent.frame) });
      });
    }

    it('the CC1101 driver over the register-level simulator carries the same telegrams', () => {
      const m = new SimMeter({ seed: 12, radio: 'cc1101', load: 'constant', samplePeriodMs: 10_000, intervalMs: 60_000 });
      m.advance(HOUR);
      const rx = receiverFor(m);
      assert.ok(m.air.length >= 58, `${m.air.length} telegrams`);
      assert.equal(m.cc1101?.transmissions.every((c) => c.outcome === 'complete'), true);
      for (const f of m.air) assert.equal(rx.receivePhy(f.stream, f.mode).messageCounter, f.sent.messageCounter);
    });

    it('modes 5 and C1 / format B decode too; the pulse LED shows floor(register · C) pulses', () => {
      const m = new SimMeter({ seed: 13, security: 5, radioMode: 'C1', frameFormat: 'B', load: 'manual', initialLoad: { voltage: 230, current: 10, phaseDeg: 30 }, intervalMs: 60_000 });
      m.advance(10 * 60_000);
      const rx = receiverFor(m);
      for (const f of m.air) assert.equal(rx.receivePhy(f.stream, f.mode).securityMode, 5);
      const uwh = m.app.part.energy.metering.registers.uwh('import');
      assert.equal(m.pulseLed.rising, Math.floor((uwh * 1000) / 1e9), 'pulses = floor(E · 1000 imp/kWh)');
      const truthWh = (230 * 10 * Math.cos(Math.PI / 6) * 600) / 3600;
      assert.ok(Math.abs(m.trueEnergy().importWh - truthWh) < 1e-6);
      assert.ok(Math.abs(m.pulseLed.rising - truthWh) <= 2, `${m.pulseLed.rising} pulses for ${truthWh} Wh`);
    });

    it('the pulse LED keeps up at Imax on three phases (class 1, 3 × 60 A, 41.4 kW: 11.5 pulses/s at 1000 imp/kWh), and leaves no backlog for the next load', () => {
      const m = new SimMeter({ seed: 21, chip: 'atm90e32', load: 'manual', initialLoad: { voltage: 230, current: 60, phaseDeg: 0 }, intervalMs: HOUR });
      const window = (seconds: number): { pulses: number; truthWh: number } => {
        const p0 = m.pulseLed.rising;
        const t0 = m.trueEnergy();
        m.advance(seconds * 1000);
        const t1 = m.trueEnergy();
        return { pulses: m.pulseLed.rising - p0, truthWh: t1.importWh - t0.importWh - (t1.exportWh - t0.exportWh) };
      };
      m.advance(5000);
      const full = window(120);
      assert.ok(Math.abs(full.truthWh - (3 * 230 * 60 * 120) / 3600) < 1e-6);
      // one pulse per Wh; ±1 % covers the perfect board's register plus the edges' lag behind it
      assert.ok(Math.abs(full.pulses - full.truthWh) <= 0.01 * full.truthWh + 2, `${full.pulses} pulses for ${full.truthWh.toFixed(1)} Wh at 41.4 kW`);
      // then one phase at Ib: the pulses are this load's, not a queue left from the last one
      m.setLoad({ current: 0 });
      m.setLoad({ current: 10 }, 0);
      m.advance(5000);
      const one = window(600);
      assert.ok(Math.abs(one.pulses - one.truthWh) <= 0.01 * one.truthWh + 2, `${one.pulses} pulses for ${one.truthWh.toFixed(1)} Wh at 2.3 kW`);
    });
  });

  describe('set-time', () => {
    it('refuses a time before 2020 or from 2100 on: out-of-range, the clock and the log unchanged', async () => {
      const m = new SimMeter({ seed: 22, load: 'constant' });
      const c = client(m);
      await c.connect();
      await c.setTime(Date.UTC(2099, 11, 31, 23, 59));
      const before = await c.identify();
      const records = m.app.part.calibration.log.counter;
      for (const ms of [Date.UTC(2019, 11, 31, 23, 59), Date.UTC(2100, 0, 1), 8_640_000_000_000_001, 2 ** 53 - 1]) {
        const e = await c.setTime(ms).then(() => undefined, (err: unknown) => err);
        assert.ok(e instanceof ServiceError && e.code === 'out-of-range', `${ms}: ${String(e)}`);
      }
      const after = await c.identify();
      assert.ok(Math.abs(after.timeMs - before.timeMs) < 60_000, `${after.timeMs} vs ${before.timeMs}`);
      assert.equal(m.app.part.calibration.log.counter, records);
    });
  });

  describe('restarts and power cuts', () => {
    it('a graceful restart continues registers, message counter, access number and the service counter', async () => {
      const m = new SimMeter({ seed: 21, load: 'constant', samplePeriodMs: 10_000, intervalMs: 5 * 60_000 });
      const baseline = m.registers()['1.8.0'];
      const rx = receiverFor(m);
      m.advance(2 * HOUR + 4_321);
      const c = client(m);
      await c.connect();
      await c.setTime(Date.UTC(2026, 0, 1, 3));
      const authBefore = (await c.identify()).authCounter;
      assert.ok(authBefore > 0);
      // The stop reads the chip before saving: what it counted since the last sample (up to 10 s of
      // a constant load) is registered, so the registers meet the load's true energy.
      const gap = m.trueEnergy().importWh - (m.registers()['1.8.0'] - baseline);
      m.app.stop();
      const before = m.registers()['1.8.0'];
      assert.ok(gap > 0.01, `energy since the last sample: ${gap} Wh`);
      assert.ok(Math.abs(before - baseline - m.trueEnergy().importWh) < 1e-3, `registers ${before - baseline} Wh, the load ${m.trueEnergy().importWh} Wh`);
      const sentBefore = m.air.length;
      m.restart({ graceful: true });
      assert.equal(m.registers()['1.8.0'], before, 'registers restored exactly after a graceful stop');
      m.advance(2 * HOUR);
      const ids = m.air.map((f) => rx.receivePhy(f.stream, f.mode).messageCounter as number);
      for (let i = 1; i < ids.length; i++) assert.ok(ids[i] > ids[i - 1]);
      assert.ok(m.air.length > sentBefore);
      assert.equal((await client(m).identify()).authCounter, authBefore, 'service counter persisted');
    });

    it('a restart of a meter that never had a service command is no flash damage: no counter-resync, service counter 0', async () => {
      const m = new SimMeter({ seed: 22, load: 'constant', samplePeriodMs: 10_000, intervalMs: 5 * 60_000 });
      const rx = receiverFor(m);
      m.advance(HOUR);
      m.app.stop();
      const sentBefore = m.air.length;
      m.restart({ graceful: true });
      m.advance(HOUR);
      assert.ok(m.air.length > sentBefore);
      for (const f of m.air.slice(sentBefore)) {
        const t = rx.receivePhy(f.stream, f.mode);
        assert.equal(decodeStatusByte(t.status!).counterResync, false, 'TPL status: counter resync');
        assert.equal(decodeErrorFlags(value(t, '0-0:97.97.0') as number).counterResync, false, 'error flags: counter resync');
      }
      assert.equal((await client(m).identify()).authCounter, 0, 'the service counter did not jump');
    });

    it('power cuts at random flash operations lose at most one quantum plus one sample, never a counter', () => {
      const rng = new XorShift32(77);
      for (let round = 0; round < 12; round++) {
        const m = new SimMeter({ seed: 30 + round, load: 'manual', initialLoad: { voltage: 230, current: 20, phaseDeg: 0 }, samplePeriodMs: 2000, intervalMs: 60_000, jitter: 0.5 });
        const rx = receiverFor(m);
        m.advance(10 * 60_000 + Math.floor(rng.next() * 600_000));
        const flash = m.energyFlash; // it holds the energy journal and the counter record
        const cutAt = flash.opCount + 1 + Math.floor(rng.next() * 30);
        flash.cutPower({ opIndex: cutAt, phase: (['before', 'during', 'after'] as const)[Math.floor(rng.next() * 3)], progress: rng.next() });
        try {
          for (let i = 0; i < 100_000; i++) m.advance(1000);
          assert.fail('the power cut did not happen');
        } catch (e) {
          if (!(e instanceof PowerCut)) throw e;
        }
        const atCut = m.app.part.energy.metering.registers.uwh('import'); // what RAM held when the supply failed
        const sentBeforeCut = m.air.map((f) => f.sent);
        flash.powerOn();
        m.restart();
        const restored = m.app.part.energy.metering.registers.uwh('import');
        const quantum = 1e6; // 1 Wh
        const oneSample = 230 * 20 * 2 * (1e6 / 3600); // 2 s at 4.6 kW, µWh
        assert.ok(restored <= atCut + 1, 'never more than was measured');
        assert.ok(restored / 1e6 <= m.trueEnergy().importWh + 1e-3, 'never more than the load model delivered');
        assert.ok(atCut - restored <= quantum + oneSample, `lost ${(atCut - restored) / 1e6} Wh`);
        const lastSent = sentBeforeCut.length ? (sentBeforeCut[sentBeforeCut.length - 1].registers[0].value as number) : 0;
        assert.ok(restored / 1e6 >= lastSent, 'never below a value already sent');
        m.advance(5 * 60_000);
        // Every frame, before and after the cut, passes the gateway's replay check.
        for (const f of m.air) rx.receivePhy(f.stream, f.mode);
      }
    });
  });

  describe('radio duty cycle and jitter', () => {
    it('a 5 s interval would need > 0.1 %: airtime in every sliding hour stays ≤ 3.6 s, deferrals counted and flagged', () => {
      const m = new SimMeter({ seed: 41, load: 'constant', samplePeriodMs: 5000, intervalMs: 5000, jitter: 0.1 });
      m.advance(6 * HOUR);
      const rx = receiverFor(m);
      // Airtime from the chip stream on the air: bits / chip rate (T1: 100 kchip/s).
      const sends = m.air.map((f) => ({ at: f.sent.ticks, air: (f.stream.length * 8 * 1000) / T1_CHIP_RATE }));
      const wanted = (HOUR / 5000) * sends[0].air;
      assert.ok(wanted > 3600, `the schedule asks for ${wanted.toFixed(0)} ms per hour`);
      for (let i = 0; i < sends.length; i++) {
        let sum = 0;
        for (let j = i; j < sends.length && sends[j].at < sends[i].at + HOUR; j++) sum += sends[j].air;
        assert.ok(sum <= 3600 + 1e-6, `hour from ${sends[i].at} ms holds ${sum.toFixed(1)} ms of airtime`);
      }
      assert.ok(m.app.stats.deferred > 1000, `${m.app.stats.deferred} deferred`);
      // Steady state uses the budget (not just refusing): above 95 % of 3.6 s in the last hour.
      const lastHour = sends.filter((s) => s.at > 5 * HOUR).reduce((a, s) => a + s.air, 0);
      assert.ok(lastHour > 0.95 * 3600, `${lastHour} ms in the last hour`);
      const flagged = m.air.filter((f) => decodeErrorFlags(rx.receivePhy(f.stream, f.mode).values.find((v) => v.obis === '0-0:97.97.0')?.value as number).deferred);
      assert.ok(flagged.length > sends.length / 2, 'telegrams sent after a deferral carry the deferred flag');
    });

    it('a budget below one telegram (3.6 ms an hour, a T1 frame ~10 ms): nothing sent, every slot deferred, one typed fault, metering goes on', () => {
      const m = new SimMeter({ seed: 45, load: 'constant', samplePeriodMs: 5000, dutyCycle: 0.000001 });
      // Hour by hour, the registers follow the load model while no telegram goes on the air.
      for (let h = 1; h <= 3; h++) {
        m.advance(HOUR);
        const truth = m.trueEnergy().importWh;
        assert.ok(truth > 900 * h, `the load imported ${truth} Wh in ${h} h`);
        assert.ok(Math.abs(m.registers()['1.8.0'] - truth) <= 0.01 * truth + 1, `A+ ${m.registers()['1.8.0']} vs truth ${truth} after ${h} h`);
      }
      assert.equal(m.air.length, 0);
      assert.equal(m.app.stats.telegrams, 0);
      // One deferral a 15-minute slot (the first within the first interval): about 12 in 3 hours.
      assert.ok(m.app.stats.deferred >= 11 && m.app.stats.deferred <= 13, `${m.app.stats.deferred} slots deferred`);
      assert.equal(m.app.status().deferred, true);
      const fault = m.app.radioFault;
      assert.equal(fault?.code, 'radio-budget');
      assert.ok(fault!.details.airtimeMs as number > (fault!.details.limitMs as number), fault!.message);
      // Reported once: the same error, not one a slot.
      m.advance(HOUR);
      assert.equal(m.app.radioFault, fault);
    });

    /** The most airtime in any sliding hour of the on-air stream, by the wall clock (survives restarts). */
    function worstHourMs(air: AirFrame[]): number {
      const sends = air.map((f) => ({ at: f.wallMs, air: (f.stream.length * 8 * 1000) / T1_CHIP_RATE }));
      let worst = 0;
      for (let i = 0; i < sends.length; i++) {
        let sum = 0;
        for (let j = i; j < sends.length && sends[j].at < sends[i].at + HOUR; j++) sum += sends[j].air;
        worst = Math.max(worst, sum);
      }
      return worst;
    }

    for (const clockValid of [true, false]) {
      it(`the budget holds across restarts within the hour (clock ${clockValid ? 'valid' : 'invalid: an hour from boot'})`, () => {
        const m = new SimMeter({ seed: 43, load: 'constant', samplePeriodMs: 5000, intervalMs: 5000, jitter: 0.1, clockValid });
        // Saturate, then power-cycle (hard and graceful) several times inside the hour.
        m.advance(40 * 60_000);
        for (let k = 0; k < 5; k++) {
          m.restart({ graceful: k % 2 === 1 });
          m.advance(7 * 60_000);
        }
        m.advance(2 * HOUR);
        const worst = worstHourMs(m.air);
        assert.ok(worst <= 3600 + 1e-6, `an hour holds ${worst.toFixed(1)} ms of airtime`);
        // The budget is used again after the restarts (not just refused forever).
        const last = m.air.filter((f) => f.wallMs > m.wallMs - HOUR).reduce((a, f) => a + f.airtimeMs, 0);
        assert.ok(last > 0.9 * 3600, `${last.toFixed(0)} ms in the last hour`);
        for (const f of m.air) receiverFor(m).receivePhy(f.stream, f.mode);
      });
    }

    it('power cuts at each flash operation of the reserve step: no counter reused, budget kept', () => {
      const options: SimMeterOptions = { seed: 44, load: 'constant', samplePeriodMs: 5000, intervalMs: 5000, jitter: 0.1 };
      // Dry run on an identical meter: which operations write or erase the telegram counter record
      // (its sectors in the flash map), and what lies between two of them (the energy persist of the reserve step).
      const probe = new SimMeter({ ...options });
      probe.advance(HOUR);
      const f0 = probe.energyFlash;
      const counterOps: { index: number; erase: boolean }[] = [];
      const write = f0.write.bind(f0);
      const erase = f0.erase.bind(f0);
      const record = energyBytes(f0, 'telegramCounters');
      const inRecord = (offset: number): boolean => offset >= record.first && offset < record.end;
      f0.write = (offset, data) => {
        if (inRecord(offset)) counterOps.push({ index: f0.opCount, erase: false });
        write(offset, data);
      };
      f0.erase = (sector) => {
        if (inRecord(sector * f0.sectorSize)) counterOps.push({ index: f0.opCount, erase: true });
        erase(sector);
      };
      probe.advance(HOUR);
      const writes = counterOps.filter((o) => !o.erase).slice(0, 2);
      const eraseOp = counterOps.find((o) => o.erase);
      assert.ok(writes.length === 2 && eraseOp, 'the probe saw the counter record written and a sector erased');
      const targets = [eraseOp.index, eraseOp.index + 1];
      for (let i = writes[0].index; i <= writes[1].index; i++) targets.push(i); // a reserve with the energy persist between
      for (const opIndex of targets) {
        for (const phase of ['before', 'during', 'after'] as const) {
          const m = new SimMeter({ ...options });
          m.advance(HOUR);
          assert.ok(m.energyFlash.opCount <= opIndex);
          m.energyFlash.cutPower({ opIndex, phase, progress: 0.5 });
          try {
            m.advance(HOUR); // as the probe did: the same operations in the same order
            assert.fail('the power cut did not happen');
          } catch (e) {
            if (!(e instanceof PowerCut)) throw e;
            assert.equal(e.opIndex, opIndex);
          }
          m.energyFlash.powerOn();
          m.restart();
          m.advance(20 * 60_000);
          m.restart();
          m.advance(HOUR);
          const rx = new Receiver({ crypto: nobleCrypto, keys: keyTable({ [m.meterId]: fromHex(m.keys.toFile().meterKey) }) });
          const seen = new Set<number>();
          for (const f of m.air) {
            const mc = rx.receivePhy(f.stream, f.mode).messageCounter as number; // the replay check: strictly increasing
            assert.ok(!seen.has(mc));
            seen.add(mc);
          }
          const worst = worstHourMs(m.air);
          assert.ok(worst <= 3600 + 1e-6, `cut ${phase} op ${opIndex}: an hour holds ${worst.toFixed(1)} ms of airtime`);
        }
      }
    });

    it('C1 airtime follows its own chip rate', () => {
      const m = new SimMeter({ seed: 42, radioMode: 'C1', load: 'constant', intervalMs: 60_000 });
      m.advance(10 * 60_000);
      for (const f of m.air) assert.ok(Math.abs(f.airtimeMs - (f.stream.length * 8 * 1000) / C1_CHIP_RATE) < 1e-9);
    });

    it('the sliding window: a budget refuses what would exceed it and says when it fits', () => {
      const b = new RadioBudget();
      assert.equal(b.limitMs, 3600);
      for (let i = 0; i < 36; i++) b.record(i * 1000, 100);
      assert.equal(b.fits(40_000, 1), false);
      assert.equal(b.nextFit(40_000, 150), HOUR + 1000);
      assert.equal(b.fits(HOUR + 1000, 150), true);
    });

    it('the sliding window against a plain list of transmissions: records (those in place of one that left), restores, fits, nextFit, the window read back', () => {
      // The model: every transmission kept, those in the hour ending at t filtered out when asked.
      const op = fc.oneof(
        fc.record({ kind: fc.constant('record' as const), dt: fc.integer({ min: 0, max: 40 * 60_000 }), air: fc.integer({ min: 1, max: 1200 }) }),
        fc.record({ kind: fc.constant('restore' as const), dt: fc.integer({ min: 0, max: 20 * 60_000 }), back: fc.integer({ min: 0, max: 2 * HOUR }), air: fc.integer({ min: 0, max: 1200 }) }),
        fc.record({ kind: fc.constant('ask' as const), dt: fc.integer({ min: 0, max: 70 * 60_000 }), air: fc.integer({ min: 1, max: 3600 }) }),
      );
      fc.assert(
        fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
          const b = new RadioBudget();
          const kept: { start: number; air: number }[] = [];
          const inWindow = (t: number) => kept.filter((x) => x.start > t - HOUR).sort((x, y) => x.start - y.start);
          let t = 0;
          for (const o of ops) {
            t += o.dt;
            if (o.kind === 'record') {
              b.record(t, o.air);
              kept.push({ start: t, air: o.air });
            } else if (o.kind === 'restore') {
              const start = t - o.back;
              b.restore(start, o.air, t);
              if (start > t - HOUR && o.air > 0) kept.push({ start, air: o.air });
            } else {
              const w = inWindow(t);
              const used = w.reduce((sum, x) => sum + x.air, 0);
              assert.ok(Math.abs(b.usedMs(t) - used) < 1e-6);
              assert.equal(b.fits(t, o.air), used + o.air <= 3600 + 1e-9);
              // nextFit: the earliest time from t at which the hour holds o.air more.
              let fit = t;
              for (const x of w) if (inWindow(fit).reduce((sum, y) => sum + y.air, 0) + o.air > 3600 + 1e-9) fit = x.start + HOUR;
              assert.equal(b.nextFit(t, o.air), fit);
              assert.equal(b.count(t), w.length);
              assert.deepEqual(b.window(t), w.map((x) => ({ startMs: x.start, airtimeMs: x.air })));
              for (let i = 0; i < w.length; i++) assert.deepEqual([b.startAt(i), b.airtimeAt(i)], [w[i].start, w[i].air]);
            }
          }
        }),
        { numRuns: 300 },
      );
    });

    it('50 meters started together spread their telegrams (random first slot and jitter)', () => {
      const starts: number[][] = [];
      for (let i = 0; i < 50; i++) {
        const s = new TelegramSchedule({ intervalMs: 15 * 60_000, random: new XorShift32(1000 + i) });
        s.start(0);
        const t: number[] = [];
        for (let k = 0; k < 8; k++) {
          t.push(s.nextDue);
          s.advance(s.nextDue);
        }
        starts.push(t);
      }
      // First telegrams over the first interval: at least 40 distinct 10-s bins out of 90 (synchronised meters would give 1).
      const bins = new Set(starts.map((t) => Math.floor(t[0] / 10_000)));
      assert.ok(bins.size >= 35, `${bins.size} distinct 10-s bins`);
      // No pair moves in lockstep: the gap between two meters changes from one interval to the next.
      for (let i = 1; i < 50; i++) {
        const gaps = new Set(starts[i].map((t, k) => Math.round((t - starts[0][k]) / 1000)));
        assert.ok(gaps.size > 4, `meter ${i} keeps a fixed offset to meter 0`);
      }
      // The mean interval is exact (no drift): slot k ± half the jitter.
      for (const t of starts) assert.ok(Math.abs(t[7] - t[0] - 7 * 15 * 60_000) <= 0.2 * 15 * 60_000 + 1);
    });
  });

  describe('status bits reach the gateway', () => {
    function lastDecoded(m: SimMeter, rx: Receiver, from = 0): DecodedTelegram[] {
      return m.air.slice(from).map((f) => rx.receivePhy(f.stream, f.mode));
    }

    it('tamper: calibration bytes changed on flash behind the log (the sealed digest no longer matches)', () => {
      const m = new SimMeter({ seed: 51, load: 'constant', intervalMs: 60_000, samplePeriodMs: 10_000 });
      const rx = receiverFor(m);
      m.advance(5 * 60_000);
      assert.ok(lastDecoded(m, rx).every((t) => !decodeStatusByte(t.status!).tamper));
      // Someone writes new gains straight into the calibration record (its sectors in the flash map).
      const record = new RecordRing({ ...mapMeterFlash({ energy: m.energyFlash, calibration: m.calibrationFlash }).calibrationConstants, maxPayload: 128 });
      const cal = parseCalibration(m.app.part.calibration.serialized);
      record.save(serializeCalibration(makeCalibration({ ...cal, channels: cal.channels.map((c) => ({ ...c, powerGain: 1.05 })) })));
      m.restart();
      const n = m.air.length;
      m.advance(3 * 60_000);
      const after = lastDecoded(m, rx, n);
      assert.ok(after.length >= 2);
      for (const t of after) {
        assert.equal(decodeStatusByte(t.status!).tamper, true);
        assert.equal(t.status! & 3, 3, 'application status: alarm');
        assert.equal(decodeErrorFlags(value(t, '0-0:97.97.0') as number).tamper, true);
      }
      assert.equal(m.app.part.calibration.log.entries().at(-1)?.type, 'tamper', 'the tamper is logged');
    });

    it('tamper: the calibration log erased on a meter in service does not unseal it (no switch, no key)', () => {
      const m = new SimMeter({ seed: 52, load: 'constant', intervalMs: 60_000, samplePeriodMs: 10_000 });
      const rx = receiverFor(m);
      m.advance(5 * 60_000);
      assert.equal(m.app.part.calibration.sealed, true);
      // Someone erases the whole log flash: a blank log looks like a factory-new meter, unsealed.
      for (let s = 0; s < m.calibrationFlash.sectorCount; s++) m.calibrationFlash.erase(s);
      m.restart({ graceful: true });
      for (let boot = 0; boot < 2; boot++) {
        assert.equal(m.app.part.calibration.sealed, true, `boot ${boot}: still sealed`);
        assert.equal(m.app.part.calibration.startupStatus.tamper, true, `boot ${boot}: tamper`);
        assert.throws(() => m.app.part.calibration.writeCalibration(m.app.part.calibration.serialized, 'intruder'), (e: Error) => (e as { code?: string }).code === 'sealed');
        const n = m.air.length;
        m.advance(3 * 60_000);
        const after = lastDecoded(m, rx, n);
        assert.ok(after.length >= 2 && after.every((t) => decodeStatusByte(t.status!).tamper), 'telegrams carry tamper');
        m.restart({ graceful: true }); // and it stays so across restarts
      }
    });

    it('metrology fault: a stuck bus shows while it lasts and clears after', () => {
      const m = new SimMeter({ seed: 52, load: 'constant', intervalMs: 60_000, samplePeriodMs: 1000 });
      const rx = receiverFor(m);
      m.advance(3 * 60_000);
      m.setBusFault('all-ones');
      const n = m.air.length;
      m.advance(3 * 60_000);
      const during = lastDecoded(m, rx, n);
      assert.ok(during.length >= 2 && during.every((t) => decodeStatusByte(t.status!).metrologyFault));
      m.setBusFault('none');
      m.advance(2 * 60_000);
      const k = m.air.length;
      m.advance(3 * 60_000);
      assert.ok(lastDecoded(m, rx, k).every((t) => !decodeStatusByte(t.status!).metrologyFault));
    });

    it('log full: calibration changes until the log refuses; then every telegram says so', async () => {
      const calibrationFlash = new SimFlash({ sectorSize: 1024, sectorCount: 4 });
      const m = new SimMeter({ seed: 53, load: 'constant', intervalMs: 60_000, samplePeriodMs: 10_000, factorySeal: false, calibrationFlash });
      const rx = receiverFor(m);
      const c = client(m);
      await c.connect();
      let refused: ServiceError | undefined;
      for (let i = 1; i < 60 && !refused; i++) {
        const cal = makeCalibration({ ...defaultCalibration('ade7953', 1), channels: [{ voltageGain: 1, currentGain: 1, powerGain: 1 + i / 1000, phaseDeg: 0, powerOffsetW: 0, reactiveOffsetVar: 0 }] });
        try {
          await c.writeCalibration(serializeCalibration(cal));
        } catch (e) {
          if (!(e instanceof ServiceError)) throw e;
          refused = e;
        }
      }
      assert.ok(refused, 'the log filled');
      assert.equal(refused.code, 'failed');
      const n = m.air.length;
      m.advance(3 * 60_000);
      const after = lastDecoded(m, rx, n);
      assert.ok(after.length >= 2 && after.every((t) => decodeStatusByte(t.status!).logFull && decodeErrorFlags(value(t, '0-0:97.97.0') as number).logFull));
    });

    it('tariffs switch on the wall clock the bench set, not the uncorrected host clock', async () => {
      // Host clock unset (1970-01-01 00:00, in the 22:00–06:00 tariff 2); the bench sets 12:00 (tariff 1).
      const tariffs = new TariffSchedule({ tariffs: 2, switches: [{ at: '06:00', tariff: 1 }, { at: '22:00', tariff: 2 }] });
      const m = new SimMeter({ seed: 57, load: 'manual', initialLoad: { voltage: 230, current: 10, phaseDeg: 0 }, samplePeriodMs: 1000, clockValid: false, app: { tariffs } });
      m.advance(60_000);
      const t2 = m.trueEnergy().importWh; // measured before the set-time: host clock in tariff 2
      const c = client(m);
      await c.connect();
      await c.setTime(Date.UTC(2026, 5, 1, 12, 0));
      const atSet = m.trueEnergy().importWh;
      m.advance(HOUR);
      const r = m.registers();
      const lsb = 0.01; // chip counter quantisation and one sample at the boundaries
      assert.ok(Math.abs(r['1.8.1'] - (m.trueEnergy().importWh - atSet)) < 2.3 / 3.6 + lsb, `1.8.1 ${r['1.8.1']} Wh vs the hour after set-time ${m.trueEnergy().importWh - atSet} Wh`);
      assert.ok(Math.abs(r['1.8.2'] - t2) < (atSet - t2) + 2.3 / 3.6 + lsb, `1.8.2 ${r['1.8.2']} Wh vs the minute before ${t2} Wh`);
    });

    it('a restart with another register layout (2 tariffs instead of 1) keeps the energy: metrology fault, journal untouched, frozen totals', async () => {
      const m = new SimMeter({ seed: 58, load: 'manual', initialLoad: { voltage: 230, current: 10, phaseDeg: 0 }, intervalMs: 60_000, samplePeriodMs: 1000 });
      m.advance(30 * 60_000);
      m.restart({ graceful: true });
      const before = m.registers()['1.8.0'];
      assert.ok(before > 1000, `${before} Wh measured`);
      const journal = (f: SimFlash) => {
        const r = energyBytes(f, 'energyJournal');
        return f.read(r.first, r.end - r.first).slice();
      };
      const image = journal(m.energyFlash);
      const tariffs = new TariffSchedule({ tariffs: 2, switches: [{ at: '06:00', tariff: 1 }, { at: '22:00', tariff: 2 }] });
      const r = new SimMeter({ seed: 58, load: 'manual', initialLoad: { voltage: 230, current: 10, phaseDeg: 0 }, intervalMs: 60_000, samplePeriodMs: 1000, energyFlash: m.energyFlash, calibrationFlash: m.calibrationFlash, app: { tariffs } });
      const rx = receiverFor(r);
      r.advance(5 * 60_000);
      r.restart({ graceful: true });
      r.advance(3 * 60_000);
      const sent = r.air.map((f) => rx.receivePhy(f.stream, f.mode));
      assert.ok(sent.length >= 6);
      for (const t of sent) {
        assert.ok(decodeStatusByte(t.status!).metrologyFault && decodeErrorFlags(value(t, '0-0:97.97.0') as number).metrologyFault, 'fault in every telegram');
        assert.equal(value(t, '1.8.0'), Math.floor(before), '1.8.0 frozen at the stored total, never 0');
      }
      assert.deepEqual(journal(r.energyFlash), image, 'the journal was neither erased nor written');
      await assert.rejects(
        (async () => {
          const c = client(r);
          await c.connect();
          await c.readRegisters();
        })(),
        (e: ServiceError) => e.code === 'failed' && /layout-mismatch/.test(e.message),
      );
      // Back on the layout the records carry: the energy is all there and counts on.
      const back = new SimMeter({ seed: 58, load: 'manual', initialLoad: { voltage: 230, current: 10, phaseDeg: 0 }, intervalMs: 60_000, samplePeriodMs: 1000, energyFlash: m.energyFlash, calibrationFlash: m.calibrationFlash });
      assert.equal(back.registers()['1.8.0'], before);
      back.advance(60_000);
      assert.ok(back.registers()['1.8.0'] > before);
    });

    it('a restart with the same register count in another split (1 phase × 3 tariffs, then 3 phases × 1) refuses layout-mismatch, journal untouched', () => {
      const three = new TariffSchedule({ tariffs: 3, switches: [{ at: '06:00', tariff: 1 }, { at: '18:00', tariff: 2 }, { at: '22:00', tariff: 3 }] });
      const m = new SimMeter({ seed: 59, load: 'manual', initialLoad: { voltage: 230, current: 10, phaseDeg: 0 }, intervalMs: 60_000, samplePeriodMs: 1000, app: { tariffs: three } });
      m.advance(30 * 60_000);
      m.restart({ graceful: true });
      const before = m.registers()['1.8.0'];
      assert.ok(before > 1000, `${before} Wh measured`);
      const journal = (f: SimFlash) => {
        const r = energyBytes(f, 'energyJournal');
        return f.read(r.first, r.end - r.first).slice();
      };
      const image = journal(m.energyFlash);
      const r = new SimMeter({ seed: 59, chip: 'atm90e32', load: 'manual', initialLoad: { voltage: 230, current: 10, phaseDeg: 0 }, intervalMs: 60_000, samplePeriodMs: 1000, energyFlash: m.energyFlash, calibrationFlash: m.calibrationFlash });
      r.advance(3 * 60_000);
      const refused = r.app.part.energy.refused;
      assert.ok(refused && refused.code === 'layout-mismatch', 'refused');
      assert.equal(refused.details.storedRegisterCount, 6);
      assert.equal(refused.details.configuredRegisterCount, 6);
      assert.deepEqual([refused.details.storedPhases, refused.details.storedTariffs, refused.details.configuredPhases, refused.details.configuredTariffs], [1, 3, 3, 1]);
      assert.deepEqual(journal(r.energyFlash), image, 'the journal was neither erased nor written');
    });

    it('clock invalid until the bench sets the time; the clock record appears then', async () => {
      const m = new SimMeter({ seed: 54, load: 'constant', intervalMs: 60_000, samplePeriodMs: 10_000, clockValid: false });
      const rx = receiverFor(m);
      m.advance(3 * 60_000);
      const before = lastDecoded(m, rx);
      assert.ok(before.length >= 2 && before.every((t) => decodeStatusByte(t.status!).clockInvalid && value(t, '0-0:1.0.0') === undefined));
      await client(m).connect().then(() => undefined);
      const c = client(m);
      await c.connect();
      await c.setTime(Date.UTC(2026, 5, 1, 12, 0));
      const n = m.air.length;
      m.advance(3 * 60_000);
      const after = lastDecoded(m, rx, n);
      assert.ok(after.length >= 2);
      for (const t of after) {
        assert.equal(decodeStatusByte(t.status!).clockInvalid, false);
        assert.match(String(value(t, '0-0:1.0.0')), /^2026-06-01T12:0\d$/);
      }
    });
  });

  describe('service interface', () => {
    it('read-instantaneous reads the chip when asked; a bus it cannot trust is a one-line refusal', async () => {
      const m = new SimMeter({ seed: 62, load: 'manual', samplePeriodMs: 60_000 });
      m.setLoad({ voltage: 230, current: 5, phaseDeg: 0 });
      m.advance(120_000);
      const c = client(m);
      await c.connect();
      const samples = m.app.part.energy.samples;
      // between two samples a minute apart: the load as it is now, not as the last sample found it
      m.setLoad({ voltage: 233, current: 2, phaseDeg: 0 });
      const inst = await c.readInstantaneous();
      assert.equal(m.app.part.energy.samples, samples, 'no sample taken in between');
      assert.ok(Math.abs(inst.phases[0].voltageMv - 233_000) < 1000, `${inst.phases[0].voltageMv} mV`);
      assert.ok(Math.abs(inst.phases[0].currentMa - 2000) < 20, `${inst.phases[0].currentMa} mA`);
      assert.ok(Math.abs(inst.phases[0].activePowerMw - 466_000) < 5000, `${inst.phases[0].activePowerMw} mW`);
      m.setBusFault('all-ones');
      await assert.rejects(c.readInstantaneous(), (e: ServiceError) => e.code === 'failed' && /bus-garbage: ADE7953 configuration CRC/.test(e.message) && !e.message.includes('\n'));
      m.setBusFault('none');
      const again = await c.readInstantaneous();
      assert.ok(Math.abs(again.phases[0].currentMa - 2000) < 20, `${again.phases[0].currentMa} mA`);
    });

    it('reads match the meter; sealed writes are refused and logged; unseal, write, seal; the exported log verifies', async () => {
      const m = new SimMeter({ seed: 61, load: 'constant', samplePeriodMs: 1000 });
      m.advance(60_000);
      const c = client(m);
      const id = await c.connect();
      assert.equal(id.meterId, `XSM${m.meterId}`);
      assert.equal(id.sealed, true);
      const regs = await c.readRegisters();
      const obis = m.registers();
      for (const r of regs) assert.equal(r.wh, Math.floor(obis[r.obis]));
      const inst = await c.readInstantaneous();
      assert.ok(Math.abs(inst.phases[0].activePowerMw - 1_000_000) < 2000, `${inst.phases[0].activePowerMw} mW`);
      const cal = parseCalibration(await c.readCalibration());
      const newCal = serializeCalibration(makeCalibration({ ...cal, channels: cal.channels.map((ch) => ({ ...ch, powerGain: 1.02 })) }));
      await assert.rejects(c.writeCalibration(newCal), (e: ServiceError) => e.code === 'sealed');
      assert.equal(m.app.part.calibration.log.entries().at(-1)?.type, 'auth-failure');
      await assert.rejects(c.unseal(), (e: ServiceError) => e.code === 'switch-off');
      m.calibrationSwitch.level = 1;
      await c.unseal();
      await c.writeCalibration(newCal);
      assert.deepEqual(m.app.part.calibration.serialized, newCal);
      await c.seal();
      m.calibrationSwitch.level = 0;
      // The chip measures with the new gain: 2 % more energy than the truth from now on.
      const e0 = m.registers()['1.8.0'];
      const t0 = m.trueEnergy().importWh;
      m.advance(HOUR);
      const ratio = (m.registers()['1.8.0'] - e0) / (m.trueEnergy().importWh - t0);
      assert.ok(Math.abs(ratio - 1.02) < 0.002, `measured/true ${ratio}`);
      // The log export over the service verifies with the device key (sealing's verifier).
      const exp = exportFromBinary(await c.exportLog());
      const v = verifyExport(nobleCrypto, exp, m.keys.devicePublicKey());
      assert.equal(v.ok, true, JSON.stringify(v));
      assert.deepEqual(
        exp.records.length,
        m.app.part.calibration.log.counter + 1,
      );
      // After a restart the calibration is reapplied from flash and matches the sealed digest.
      m.restart();
      assert.equal(m.app.status().tamper, false);
      assert.deepEqual(m.app.part.calibration.serialized, newCal);
    });

    it('install-meter-key: logged, and the next telegrams use the new key', async () => {
      const m = new SimMeter({ seed: 62, load: 'constant', intervalMs: 60_000 });
      const gw = new SimGateway({ keys: { [m.meterId]: fromHex(m.keys.toFile().meterKey) } });
      m.advance(2 * 60_000);
      const c = client(m);
      await c.connect();
      const newKey = fromHex('00112233445566778899aabbccddeeff');
      await c.installMeterKey(newKey);
      assert.equal(m.app.part.calibration.log.entries().at(-1)?.type, 'key-change');
      const n = m.air.length;
      m.advance(3 * 60_000);
      for (const f of m.air.slice(0, n)) assert.equal(gw.receive(f.stream, f.mode).ok, true);
      const withOld = gw.receive(m.air[n].stream, m.air[n].mode);
      assert.equal(withOld.ok, false);
      gw.setKey(m.meterId, newKey);
      for (const f of m.air.slice(n + 1)) assert.equal(gw.receive(f.stream, f.mode).ok, true);
    });

    it('over TCP on 127.0.0.1', async () => {
      const listener = await TcpSerialListener.listen(0);
      const m = new SimMeter({ seed: 63, load: 'constant', service: listener });
      const timer = setInterval(() => m.advance(20), 5);
      try {
        const port = await TcpSerialClient.connect('127.0.0.1', listener.port);
        const c = new ServiceClient({ port, timing: nodeTiming, benchKey: m.keys.benchKey(), crypto: nobleCrypto, timeoutMs: 3000 });
        const id = await c.connect();
        assert.equal(id.meterId, `XSM${m.meterId}`);
        await c.setTime(Date.UTC(2026, 2, 3));
        assert.ok(Math.abs(m.app.part.clock.now() - Date.UTC(2026, 2, 3)) < 5000);
        await port.close();
      } finally {
        clearInterval(timer);
        await listener.close();
      }
    });
  });
});

export type { AirFrame, SimMeterOptions };
