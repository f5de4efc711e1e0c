import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromHex, toHex } from '../modules/core/bytes.js';
import { CALIBRATION_CONSTANT_ID } from '../modules/app/calibration-constants.js';
import { parseCalibration } from '../modules/metrology/calibration.js';
import { exportToBinary, readExport, verifyExport } from '../modules/sealing/log-export.js';
import { constantsDigest } from '../modules/sealing/seal.js';
import { ServiceClient } from '../modules/service/client.js';
import { TcpSerialClient, TcpSerialListener, nodeTiming } from '../hosts/sim/service-transport.js';
import type { SimMeter } from '../hosts/sim/sim-meter.js';
import { main } from '../cli/main.js';
import { runInBoth } from './helpers/xs.js';
import { accuracyClass, errorPercent, testPoints, type AccuracyClass } from '../tools/calibration-bench/accuracy-class.js';
import { gatedRun } from '../tools/calibration-bench/measure.js';
import { calibrate, verify, type BenchResult } from '../tools/calibration-bench/procedure.js';
import { reportHtml } from '../tools/calibration-bench/report-html.js';
import type { BenchRig, PhaseLoad } from '../tools/calibration-bench/rig.js';
import { SimBenchRig, benchSimMeter, hardwareErrors, type ErrorSpec } from '../tools/calibration-bench/sim-rig.js';
import { nobleCrypto } from '../hosts/sim/noble-crypto.js';

// 600 s gates: resolution ≤ 1/600 (0.17 %) per point with the meter's 1 s energy updates — enough
// against the 0.5S limits and keeps a simulated calibration (~15 h) under a second of wall time.
const MIN_SECONDS = 600;
const C05S = accuracyClass('0.5S') as AccuracyClass;

/** The meter's own register against the load model's exact integral over `seconds` at `load`:
 *  physical truth, independent of the bench's pulses and gate. */
function registerError(m: SimMeter, load: PhaseLoad, seconds: number): number {
  m.setLoad(load);
  m.advance(5000);
  const reg0 = m.app.part.energy.metering.registers.uwh('import') - m.app.part.energy.metering.registers.uwh('export');
  const t0 = m.trueEnergy();
  m.advance(seconds * 1000);
  const reg1 = m.app.part.energy.metering.registers.uwh('import') - m.app.part.energy.metering.registers.uwh('export');
  const t1 = m.trueEnergy();
  const truth = t1.importWh - t0.importWh - (t1.exportWh - t0.exportWh);
  return errorPercent((reg1 - reg0) / 1e6, truth);
}

function logOf(m: SimMeter) {
  const exp = readExport(exportToBinary(m.app.part.calibration.log.export()));
  return { exp, verified: verifyExport(nobleCrypto, exp, m.keys.devicePublicKey()) };
}

async function calibrated(chip: 'ade7953' | 'atm90e32', seed: number, errors: ErrorSpec = 'random') {
  const m = benchSimMeter({ chip, seed, errors });
  const rig = new SimBenchRig(m);
  const r = await calibrate(rig.client(), rig, { cls: C05S, meterConstant: 1000, minSeconds: MIN_SECONDS, crypto: nobleCrypto });
  return { m, rig, r };
}

function assertSealedAndAccurate(m: SimMeter, r: BenchResult, chip: 'ade7953' | 'atm90e32', seed: number): void {
  assert.equal(r.status, 'sealed', r.reason);
  assert.equal(m.app.part.calibration.sealed, true);
  assert.ok(r.before.some((p) => !p.pass), 'the board errors must make the uncalibrated meter miss 0.5S somewhere');
  assert.deepEqual(r.after.filter((p) => !p.pass).map((p) => p.label), []);
  // The meter holds what the bench wrote last, and the seal covers exactly that.
  const final = r.written[r.written.length - 1];
  assert.equal(final.step, 'final');
  assert.equal(toHex(m.app.part.calibration.serialized), final.bytesHex);
  const { exp, verified } = logOf(m);
  assert.equal(verified.ok, true);
  const last = verified.entries[verified.entries.length - 1];
  assert.equal(last.type, 'seal');
  assert.equal(toHex(last.newValue), toHex(constantsDigest(nobleCrypto, [{ id: CALIBRATION_CONSTANT_ID, value: m.app.part.calibration.serialized }])));
  assert.deepEqual(verified.entries.slice(-4).map((e) => e.type), ['unseal', 'calibration-change', 'calibration-change', 'seal']);
  assert.equal(r.log?.ok, true);
  assert.equal(r.log?.originChecked, true);
  assert.equal(r.log?.sealMatchesWritten, true);
  assert.equal(r.log?.records, exp.records.length);
  // The phase correction found equals the sensor's lag (the chip simulator's truth).
  const hw = hardwareErrors(chip, 'random', seed);
  const cal = parseCalibration(fromHex(final.bytesHex));
  for (let ch = 0; ch < cal.channels.length; ch++) {
    assert.ok(Math.abs(cal.channels[ch].phaseDeg - hw.phaseErrorDeg[ch]) < 0.1, `phase of element ${ch + 1}: ${cal.channels[ch].phaseDeg} vs lag ${hw.phaseErrorDeg[ch]}`);
  }
  if (chip === 'atm90e32') {
    // What the chip scales: energy through Igain (currentGain), no power-only gain; PQGain and Phi
    // (0x47…0x4C, formats unconfirmed) stay 0 on the chip.
    assert.ok(cal.channels.every((c) => c.powerGain === 1), 'powerGain stays 1 on the ATM90E32');
    for (const reg of [0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c]) assert.equal(m.chip.peek(reg), 0, `register 0x${reg.toString(16)}`);
  }
  // Independent of the bench's pulse chain: the register against the load integral.
  for (const [current, phaseDeg, limit] of [[5, 0, 0.5], [0.25, 0, 0.5], [5, 60, 0.6], [1, -36.87, 0.6], [10, 180, 0.5]] as const) {
    const e = registerError(m, { voltage: 230, current, phaseDeg }, 1800);
    assert.ok(Math.abs(e) < limit, `${current} A at ${phaseDeg}°: register error ${e.toFixed(3)} %`);
  }
}

describe('calibration bench (xsmeter bench)', function () {
  describe('accuracy classes and the pulse-gated measurement', () => {
    it('test points: IEC 62053-22 class 0.5S currents, PFs, directions, limits; single elements for polyphase meters', () => {
      const one = testPoints(C05S, 1);
      assert.equal(one.length, 6 * 3 * 2);
      assert.deepEqual([...new Set(one.map((p) => p.current))], [0.25, 0.5, 1, 2.5, 5, 10]);
      // Table 4 of IEC 62053-22: 0.05 In PF 1 → 0.5 %; 0.05 In PF 0.5L → 1.0 %; 0.1 In…Imax PF 0.5L/0.8C → 0.6 %.
      const limit = (id: string) => one.find((p) => p.id === id)?.limitPct;
      assert.equal(limit('I0.05-PF1-import'), 0.5);
      assert.equal(limit('I0.05-PF0.5L-export'), 1.0);
      assert.equal(limit('I0.1-PF0.8C-import'), 0.6);
      assert.equal(limit('I2-PF1-export'), 0.5);
      assert.equal(one.find((p) => p.id === 'I1-PF0.5L-export')?.phaseDeg, 240);
      const three = testPoints(C05S, 3);
      assert.equal(three.length, 36 + 3 * 2);
      assert.deepEqual(three.filter((p) => p.element === 1).map((p) => [p.pf, p.limitPct]), [['1', 0.6], ['0.5L', 1.0]]);
      // Class 1 (IEC 62053-21) has no PF 0.5L / 0.8C point below 0.1 Ib.
      const c1 = testPoints(accuracyClass('1') as AccuracyClass, 1);
      assert.equal(c1.filter((p) => p.fraction === 0.05).length, 2);
      assert.equal(accuracyClass('0.7'), undefined);
    });

    it('a gated run of a meter with a known +1 % error and 1 s energy updates measures +1 % within 1 s / gate', async () => {
      // A model meter: its register integrates 1.01 × the true power, updated once a second; pulses at C = 1000.
      let t = 0;
      let trueWh = 0;
      let regWh = 0;
      let pulses = 0;
      let onEdge: ((at: number) => void) | undefined;
      let power = 0;
      const rig: BenchRig = {
        load: { phases: 1, apply: async (l) => void (power = l[0].voltage * l[0].current * Math.cos((l[0].phaseDeg * Math.PI) / 180)) },
        reference: { latch: () => ({ atMs: t, activeWh: [trueWh] }), rms: async () => ({ voltage: [230], current: [0] }) },
        pulses: { start: (f) => void (onEdge = f), stop: () => void (onEdge = undefined) },
        time: {
          now: () => t,
          wait: async (ms) => {
            for (let k = 0; k < ms; k += 250) {
              t += 250;
              trueWh += (power * 0.25) / 3600;
              if (t % 1000 === 0) {
                regWh += (1.01 * power * 1) / 3600;
                while (Math.floor(regWh) > pulses) {
                  pulses++;
                  onEdge?.(t);
                }
              }
            }
          },
        },
        calibrationSwitch: { set: async () => undefined },
      };
      for (const [current, minSeconds] of [[1, 500], [0.25, 2000], [10, 300]] as const) {
        const g = await gatedRun(rig, [{ voltage: 230, current, phaseDeg: 0 }], { meterConstant: 1000, minSeconds, minPulses: 5 });
        const err = errorPercent(g.meterWh, g.referenceWh[0]);
        assert.ok(g.seconds >= minSeconds);
        assert.ok(Math.abs(err - 1) <= (100 * 1.01) / g.seconds + 1e-9, `${current} A: ${err} % over ${g.seconds} s`);
      }
      // A silent meter: a typed failure, not a hang.
      const silent = { ...rig, pulses: { start: () => undefined, stop: () => undefined } };
      await assert.rejects(gatedRun(silent, [{ voltage: 230, current: 1, phaseDeg: 0 }], { meterConstant: 1000, minSeconds: 100, minPulses: 5 }), (e: unknown) => (e as { code: string }).code === 'no-pulses');
    });
  });

  describe('calibrate', () => {
    const sealed: { m: SimMeter; rig: SimBenchRig; r: BenchResult }[] = [];
    /** A meter sealed by an earlier test (or now, when run alone with --grep). */
    async function sealedMeter(i: number) {
      while (sealed.length <= i) sealed.push(await calibrated('ade7953', 30 + sealed.length));
      return sealed[i];
    }

    for (const seed of [2, 5, 11]) {
      it(`ADE7953 with random board errors (seed ${seed}): calibrated to 0.5S, sealed, log verifies`, async () => {
        const c = await calibrated('ade7953', seed);
        assertSealedAndAccurate(c.m, c.r, 'ade7953', seed);
        sealed.push(c);
      });
    }

    it('ATM90E32 (three elements) with random board errors: calibrated to 0.5S incl. single-element points, sealed', async () => {
      const c = await calibrated('atm90e32', 3);
      assert.equal(c.r.after.filter((p) => p.element !== undefined).length, 6);
      assertSealedAndAccurate(c.m, c.r, 'atm90e32', 3);
    });

    it('a sensor lag beyond the ±5° phase range: failed, not sealed, and the log shows the unseal and the rms step only', async () => {
      const { m, r } = await calibrated('ade7953', 6, 'out-of-range');
      assert.equal(r.status, 'failed');
      assert.match(r.reason ?? '', /outside the adjustable range/);
      assert.match(r.reason ?? '', /phaseDeg/);
      assert.equal(r.sealed, false);
      assert.equal(m.app.part.calibration.sealed, false);
      assert.equal(r.after.length, 0);
      assert.deepEqual(r.written.map((w) => w.step), ['rms']);
      const { verified } = logOf(m);
      assert.equal(verified.ok, true);
      assert.deepEqual(verified.entries.map((e) => e.type), ['log-init', 'seal', 'unseal', 'calibration-change']);
      assert.equal(r.log?.ok, true);
      assert.equal(r.log?.sealMatchesWritten, undefined);
      assert.equal(m.calibrationSwitch.level, 0, 'the bench releases the switch');
    });

    it('a current sensor 45 % low (gain beyond 1.5): refused at the rms step, nothing written', async () => {
      const { m, r } = await calibrated('ade7953', 7, { currentGainError: [-0.45], noiseW: 0.05 });
      assert.equal(r.status, 'failed');
      assert.match(r.reason ?? '', /rms correction of element 1 is outside the adjustable range: calibration-range: calibration currentGain/);
      assert.equal(m.app.part.calibration.sealed, false);
      assert.deepEqual(r.written, []);
      assert.deepEqual(logOf(m).verified.entries.map((e) => e.type), ['log-init', 'seal', 'unseal']);
      assert.equal(toHex(m.app.part.calibration.serialized), r.asFoundBytesHex);
    });

    it('verify re-measures a sealed meter and changes nothing', async () => {
      const { m, rig } = await sealedMeter(0);
      const bytes = toHex(m.app.part.calibration.serialized);
      const counter = m.app.part.calibration.log.counter;
      const r = await verify(rig.client(), rig, { cls: C05S, meterConstant: 1000, minSeconds: MIN_SECONDS, crypto: nobleCrypto });
      assert.equal(r.status, 'pass', r.reason);
      assert.equal(r.unchanged, true);
      assert.equal(r.after.length, 36);
      assert.equal(m.app.part.calibration.log.counter, counter);
      assert.equal(toHex(m.app.part.calibration.serialized), bytes);
      assert.equal(m.app.part.calibration.sealed, true);
      assert.deepEqual(r.written, []);
    });

    it('verify fails an uncalibrated meter (the default board) and still writes nothing', async () => {
      const m = benchSimMeter({ seed: 8, errors: 'default' });
      const rig = new SimBenchRig(m);
      const counter = m.app.part.calibration.log.counter;
      const r = await verify(rig.client(), rig, { cls: C05S, meterConstant: 1000, minSeconds: 300, crypto: nobleCrypto });
      assert.equal(r.status, 'fail');
      assert.match(r.reason ?? '', /points outside the class 0.5S limits/);
      assert.equal(m.app.part.calibration.log.counter, counter);
      assert.equal(r.unchanged, true);
    });

    it('the report: self-contained HTML with the identity, every point, the SVG plots, the constants and the log result', async () => {
      const { r } = await sealedMeter(1);
      const html = reportHtml(r, { generatedAt: Date.UTC(2026, 0, 2), wallMs: 1234 });
      assert.match(html, /^<!doctype html>/);
      assert.ok(html.includes(r.identity?.meterId as string));
      assert.ok(html.includes(r.identity?.firmware as string));
      for (const p of r.after) assert.ok(html.includes(p.label), p.label);
      const svgs = html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
      assert.equal(svgs.length, 2);
      // One marker per balanced point in each plot (before and after), and the limit band.
      for (const svg of svgs) {
        assert.equal((svg.match(/<(circle|rect x=)[^>]*><title>/g) ?? []).length, 36);
        assert.match(svg, /<polygon [^>]*><title>class 0.5S limit, PF 1/);
      }
      assert.ok(html.includes(r.written[1].bytesHex));
      assert.ok(html.includes(r.sealedDigestHex as string));
      assert.match(html, /Verified: 6 records/);
      assert.doesNotMatch(html, /<script|\b(src|href)=/);
    });
  });

  describe('over TCP (the simulated meter behind a TcpSerialListener)', () => {
    it('calibrates and seals through the TCP service link', async () => {
      const listener = await TcpSerialListener.listen(0);
      const m = benchSimMeter({ seed: 12, errors: 'random', service: listener });
      const rig = new SimBenchRig(m);
      // The meter's own loop while the bench waits on the socket: time moves, the application polls.
      const pump = setInterval(() => {
        m.advance(20);
        m.tick();
      }, 2);
      const port = await TcpSerialClient.connect('127.0.0.1', listener.port);
      try {
        const client = new ServiceClient({ port, timing: nodeTiming, benchKey: m.keys.benchKey(), crypto: nobleCrypto, timeoutMs: 3000 });
        const r = await calibrate(client, rig, { cls: C05S, meterConstant: 1000, minSeconds: MIN_SECONDS, crypto: nobleCrypto });
        assert.equal(r.status, 'sealed', r.reason);
        assert.equal(m.app.part.calibration.sealed, true);
        assert.equal(r.log?.sealMatchesWritten, true);
      } finally {
        clearInterval(pump);
        await port.close();
        await listener.close();
      }
    });
  });

  describe('portable (a bench controller can run the procedure)', () => {
    it('the procedure, rig interfaces, classes and report import only portable modules', () => {
      for (const f of ['accuracy-class', 'rig', 'measure', 'procedure', 'report-html']) {
        const src = readFileSync(join('tools/calibration-bench', `${f}.ts`), 'utf8');
        const imports = [...src.matchAll(/^import[^'"]*['"]([^'"]+)['"]/gm)].map((x) => x[1]);
        for (const i of imports) assert.ok(/^\.\.\/\.\.\/modules\/|^\.\/(accuracy-class|rig|measure|procedure)\.js$/.test(i), `${f}.ts imports ${i}`);
        assert.doesNotMatch(src, /\b(process|Buffer|console|require|setImmediate|performance)\b[.(]/, f);
      }
    });

    it('a whole calibration of a simulated meter under XS prints the same as under Node', async () => {
      const { xs, node } = await runInBoth('test/xs/calibration-bench.xs.ts');
      assert.deepEqual(xs.lines, node.lines);
      assert.ok(xs.lines.some((l) => l.startsWith('status sealed')), xs.lines.slice(-5).join('\n'));
      assert.ok(xs.meter > 0);
    });
  });

  describe('xsmeter bench (CLI)', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'xsmeter-bench-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    async function xsmeter(args: string[]) {
      let stdout = '';
      let stderr = '';
      const code = await main(args, { stdin: process.stdin, stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) });
      return { code, stdout, stderr };
    }

    it('calibrate --target sim seals, writes the report, and verify of the saved meter passes', async () => {
      const state = join(dir, 'meter');
      const report = join(dir, 'report.html');
      const a = await xsmeter(['bench', 'calibrate', '--target', 'sim', '--class', '0.5S', '--seed', '21', '--min-seconds', String(MIN_SECONDS), '--state', state, '--report', report, '--progress', 'lines']);
      assert.equal(a.code, 0, a.stderr);
      assert.match(a.stdout, /\nSEALED\n$/);
      assert.match(a.stdout, /after: +worst .*all 36 within the limits/);
      assert.match(a.stderr, /\[after 36\/36\] 2 × In \(10 A\) PF 0.8C export: [+-]0\.\d{3} % \(limit ±0.6 %\) ok/);
      const html = readFileSync(report, 'utf8');
      assert.match(html, /SEALED: all points within the class limits/);
      const v = await xsmeter(['bench', 'verify', '--target', 'sim', '--class', '0.5S', '--min-seconds', String(MIN_SECONDS), '--state', state, '--progress', 'none']);
      assert.equal(v.code, 0, v.stderr);
      assert.match(v.stdout, /calibration and log unchanged\n/);
      assert.match(v.stdout, /\nPASS\n$/);
    });

    it('out-of-range board: exit 1 with one line "failed, not sealed: …"', async () => {
      const r = await xsmeter(['bench', 'calibrate', '--target', 'sim', '--class', '0.5S', '--errors', 'out-of-range', '--min-seconds', '300', '--progress', 'none']);
      assert.equal(r.code, 1);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1);
      assert.match(lines[0], /^xsmeter bench: failed, not sealed: element 1: the correction is outside the adjustable range/);
      assert.match(r.stdout, /FAILED, not sealed/);
    });

    it('refuses targets it cannot drive, and bad options, with one line', async () => {
      // A meter saved before the storage module's flash format (its meter.json has no flashFormat).
      const old = join(dir, 'old-meter');
      mkdirSync(old, { recursive: true });
      writeFileSync(join(old, 'meter.json'), JSON.stringify({ chip: 'ade7953', seed: 1, meterConstant: 1000, hardware: {}, wallMs: 0 }));
      const cases: [string[], RegExp, number][] = [
        [['bench', 'verify', '--target', 'sim', '--class', '0.5S', '--state', old], /^xsmeter bench: the meter in .*old-meter was saved in an earlier flash format: start a new --state directory$/m, 1],
        [['bench', 'calibrate', '--target', '/dev/ttyUSB0', '--class', '0.5S'], /^xsmeter bench: \/dev\/ttyUSB0: --rig tcp:\/\/HOST:PORT is needed/, 2],
        [['bench', 'calibrate', '--target', 'tcp://127.0.0.1:5999', '--class', '0.5S'], /^xsmeter bench: tcp:\/\/127.0.0.1:5999: --rig tcp:\/\/HOST:PORT is needed/, 2],
        [['bench', 'calibrate', '--target', 'sim', '--class', '0.5S', '--rig', 'tcp://127.0.0.1:1'], /--rig is only for --target tcp/, 2],
        [['bench', 'calibrate', '--target', 'sim', '--class', '0.7'], /unknown class "0.7"/, 2],
        [['bench', 'calibrate', '--target', 'sim'], /--class is required/, 2],
        [['bench', 'calibrate', '--target', 'tcp://h:1', '--class', '1', '--chip', 'ade7953'], /--chip is only for --target sim/, 2],
        [['bench', 'calibrate', '--target', 'sim', '--class', '1', '--errors', '{"phase":1}'], /--errors: "phase" is not one of/, 2],
        [['bench', 'frobnicate'], /expected calibrate or verify/, 2],
      ];
      for (const [args, re, code] of cases) {
        const r = await xsmeter(args);
        assert.equal(r.code, code, args.join(' '));
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
        assert.match(r.stderr, re);
      }
    });
  });
});
