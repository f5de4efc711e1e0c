/**
 * The simulator's SML, read by two independent readers: libsml (C, Debian libsml-dev; skipped with the
 * reason where it is missing) and smartmeter-obis (ioBroker's reader, on open-sml).
 *
 * The optical push comes from the binary as a user runs it: `xsmeter sim --sml FILE` for one day of a
 * PV prosumer (import and export) with two tariffs (06:00–22:00 tariff 1, night tariff 2), the
 * customer PIN flashed at 12:00 and a wrong one at 15:00, the telegrams as JSON lines the simulated
 * gateway decoded. Truth: the gateway-decoded telegrams (the registers at each telegram), the tariff
 * schedule, the push cadence and the PIN rule as documented (`xsmeter sim --help`, pin-entry.ts).
 *
 * The LMN: a gateway asks the meter application (SimMeter: MeterApp on simulated ports) on its RS-485
 * line at the instant of each telegram; both readers read the answers, which must carry the telegram's
 * registers and power.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromHex, toHex } from '../modules/core/bytes.js';
import { getListRequestFile } from '../modules/sml/requests.js';
import { TariffSchedule } from '../modules/metrology/tariff.js';
import { Receiver, keyTable } from '../modules/wmbus-rx/receiver.js';
import { DEFAULT_WALL_START, SimMeter } from '../hosts/sim/sim-meter.js';
import { nobleCrypto } from '../hosts/sim/noble-crypto.js';
import { xsmeter } from './helpers/cli.js';
import { libsmlReader, readWithLibsml, type LibsmlFile } from './helpers/libsml.js';
import { readWithSmartmeterObis, type ObisReading } from './helpers/smartmeter-obis.js';
import { decodeAll, handFramedCloseRes, joinAll } from './helpers/sml.js';

const ENERGY = ['1.8.0', '2.8.0', '1.8.1', '1.8.2', '2.8.1', '2.8.2'];
const ALL = [...ENERGY, '16.7.0'];
const full = (obis: string) => `1-0:${obis}*255`;
const DAY_S = 86_400;
const PIN = '2405';

/** When the push shows the detail after `digits` flashed from `startS` (s after boot), as documented:
 *  d flashes for digit d (ten for 0) 0.5 s apart, 4 s from a digit's last flash to the next digit's
 *  first; the PIN entry ends a digit 3 s after its last flash and shows the detail for 2 minutes. */
function detailWindow(digits: string, startS: number): [number, number] {
  let t = startS;
  let last = t;
  for (const c of digits) {
    const n = c === '0' ? 10 : Number(c);
    for (let k = 0; k < n; k++, t += 0.5) last = t;
    t = last + 4;
  }
  return [last + 3, last + 3 + 120];
}

/** The SML files of a push stream: each starts with the transport's start sequence at a 4-byte boundary. */
function splitFiles(stream: Uint8Array): Uint8Array[] {
  const starts: number[] = [];
  for (let i = 0; i + 8 <= stream.length; i += 4) {
    if (stream[i] === 0x1b && stream[i + 1] === 0x1b && stream[i + 2] === 0x1b && stream[i + 3] === 0x1b && stream[i + 4] === 1 && stream[i + 5] === 1 && stream[i + 6] === 1 && stream[i + 7] === 1) starts.push(i);
  }
  return starts.map((s, k) => stream.subarray(s, k + 1 < starts.length ? starts[k + 1] : stream.length));
}

/** The error-flags word as documented (README, meter-status.ts): bit 0 tamper, 1 metrology fault,
 *  2 log full, 3 clock invalid, 4 deferred, 5 counter resync. */
function errorFlags(f: Record<string, boolean>): number {
  return ['tamper', 'metrologyFault', 'logFull', 'clockInvalid', 'deferred', 'counterResync'].reduce((w, k, bit) => w | (f[k] ? 1 << bit : 0), 0);
}

interface Telegram {
  /** Seconds since the meter booted (the run's start). */
  s: number;
  values: Record<string, number>;
  flags: Record<string, boolean>;
}

describe('SML of xsmeter sim --sml, read by independent readers (libsml, smartmeter-obis)', function () {
  this.timeout(300_000);
  let dir: string;
  let files: Uint8Array[];
  let telegrams: Telegram[];
  let stderr: string;
  const shown = detailWindow(PIN, 12 * 3600);
  const isDetail = (s: number) => s >= shown[0] && s < shown[1];
  const tariffs = new TariffSchedule({ tariffs: 2, switches: [{ at: '06:00', tariff: 1 }, { at: '22:00', tariff: 2 }] });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'xsmeter-sml-'));
    const file = join(dir, 'push.bin');
    const r = await xsmeter(['sim', '--meters', '1', '--load', 'solar', '--seed', '3', '--duration', '1d', '--tariffs', '06:00=1,22:00=2', '--sml', file, '--sml-pin', PIN, '--pin-at', '12h,15h=2406', '--format', 'json']);
    assert.equal(r.code, 0, r.stderr);
    stderr = r.stderr;
    files = splitFiles(new Uint8Array(readFileSync(file)));
    telegrams = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { time: string; values: Record<string, number>; flags: Record<string, boolean> })
      .map((t) => ({ s: (Date.parse(t.time) - DEFAULT_WALL_START) / 1000, values: t.values, flags: t.flags }));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the binary pushed a file every second of the day, at boot and at the end included; the gateway decoded every telegram', () => {
    assert.equal(files.length, DAY_S + 1);
    assert.equal(telegrams.length, 96);
    assert.match(stderr, /96 sent, 96 decoded, 0 rejected/);
  });

  describe('libsml', () => {
    let lib: LibsmlFile[];
    before(async function () {
      const r = libsmlReader();
      if (!r.path) {
        console.log(`      skipped: ${r.skip}`);
        this.skip();
      }
      lib = await readWithLibsml(r.path!, joinAll(files));
    });

    it('reads every file: CRC right, Open/GetList/Close, manufacturer, server ID, Wh and W with scaler 0; power only in the PIN window', () => {
      assert.equal(lib.length, DAY_S + 1);
      const serverId = lib[0].values[1].value as { hex: string };
      assert.match(serverId.hex, /^0a0158534d/, 'DIN 43863-5 server ID of manufacturer XSM');
      lib.forEach((f, s) => {
        const want = isDetail(s) ? ALL : ENERGY;
        assert.ok(f.crcOk, `file ${s}`);
        assert.equal(f.length, files[s].length);
        assert.deepEqual(f.tags, [0x0101, 0x0701, 0x0201]);
        assert.deepEqual(f.values.map((v) => v.obis), ['129-129:199.130.3*255', '1-0:0.0.9*255', ...want.map(full)], `file ${s}`);
        assert.deepEqual(f.values[0].value, { hex: toHex(new TextEncoder().encode('XSM')) });
        assert.deepEqual(f.values[1].value, serverId);
        for (const v of f.values.slice(2)) {
          assert.equal(v.unit, v.obis === full('16.7.0') ? 27 : 30);
          assert.equal(v.scaler, 0);
        }
        assert.equal(f.values[2].status, 0n, 'the status word rides on 1.8.0: no error all day');
      });
    });

    it('the PIN rule: hidden before, shown for 2 minutes after the right PIN, hidden again; the wrong PIN at 15:00 shows nothing', () => {
      const detail = lib.map((f, s) => (f.values.some((v) => v.obis === full('16.7.0')) ? s : -1)).filter((s) => s >= 0);
      assert.equal(detail.length, 120);
      assert.equal(detail[0], Math.ceil(shown[0]));
      assert.equal(detail.at(-1), Math.ceil(shown[1]) - 1);
    });

    it('the registers never fall, tariffs follow the schedule (1.8.1 by day, 1.8.2 by night), totals are their sums (each floored to Wh)', () => {
      const val = (f: LibsmlFile, o: string) => Number(f.values.find((v) => v.obis === full(o))!.value as bigint);
      for (let s = 1; s <= DAY_S; s++) {
        const a = lib[s - 1];
        const b = lib[s];
        for (const o of ENERGY) assert.ok(val(b, o) >= val(a, o), `${o} at ${s} s`);
        // Energy of second s-1…s went to the tariff in force then (the sample at s; none moves on the switch second).
        const t = tariffs.tariffAt(DEFAULT_WALL_START + s * 1000 - 1);
        const other = t === 1 ? 2 : 1;
        if (tariffs.tariffAt(DEFAULT_WALL_START + s * 1000) === t) {
          assert.equal(val(b, `1.8.${other}`), val(a, `1.8.${other}`), `1.8.${other} moved at ${s} s`);
          assert.equal(val(b, `2.8.${other}`), val(a, `2.8.${other}`), `2.8.${other} moved at ${s} s`);
        }
        assert.ok(Math.abs(val(b, '1.8.1') + val(b, '1.8.2') - val(b, '1.8.0')) <= 1);
        assert.ok(Math.abs(val(b, '2.8.1') + val(b, '2.8.2') - val(b, '2.8.0')) <= 1);
      }
      const end = lib[DAY_S];
      for (const o of ['1.8.1', '1.8.2', '2.8.1']) assert.ok(val(end, o) > 500, `${o}: ${val(end, o)} Wh`);
    });

    it('at each telegram, the file pushed in the same second carries the registers the gateway decoded', () => {
      for (const t of telegrams) {
        const f = lib[Math.floor(t.s)];
        for (const o of ENERGY) assert.equal(Number(f.values.find((v) => v.obis === full(o))!.value as bigint), t.values[o], `${o} at ${t.s} s`);
        assert.equal(Number(f.values[2].status), errorFlags(t.flags));
      }
    });
  });

  describe('smartmeter-obis', () => {
    /** Every 60th file, the PIN window and the files of the telegrams' seconds. */
    let picked: number[];
    let smo: ReturnType<typeof readWithSmartmeterObis>;
    before(() => {
      const set = new Set<number>();
      for (let s = 0; s < DAY_S; s += 60) set.add(s);
      for (let s = Math.floor(shown[0]) - 2; s < shown[1] + 2; s++) set.add(s);
      for (const t of telegrams) set.add(Math.floor(t.s));
      picked = [...set].sort((a, b) => a - b);
      smo = readWithSmartmeterObis(joinAll(picked.map((s) => files[s])));
    });

    it('reads the files in kWh and W with the PIN rule, A+ never falling', () => {
      assert.equal(smo.length, picked.length);
      let last = -1;
      smo.forEach((g, i) => {
        assert.ok('values' in g, JSON.stringify(g));
        const s = picked[i];
        assert.deepEqual(Object.keys(g.values), ['129-129:199.130.3*255', '1-0:0.0.9*255', ...(isDetail(s) ? ALL : ENERGY).map(full)], `file ${s}`);
        assert.equal(g.values['129-129:199.130.3*255'].value, 'XSM');
        for (const o of ENERGY) assert.equal(g.values[full(o)].unit, 'kWh');
        if (isDetail(s)) assert.equal(g.values[full('16.7.0')].unit, 'W');
        const a = g.values[full('1.8.0')].value as number;
        assert.ok(a >= last);
        last = a;
      });
    });

    it('at each telegram, the file of the same second carries the registers the gateway decoded', () => {
      for (const t of telegrams) {
        const g = smo[picked.indexOf(Math.floor(t.s))] as { values: Record<string, ObisReading> };
        for (const o of ENERGY) assert.equal(Math.round((g.values[full(o)].value as number) * 1000), t.values[o], `${o} at ${t.s} s`);
      }
    });
  });
});

describe('SML on the LMN of the meter application, read by independent readers', function () {
  this.timeout(120_000);
  const GATEWAY = fromHex('475731');

  /** Two hours of a two-tariff prosumer; at each telegram the gateway asks on the RS-485 line. */
  function exchange() {
    const tariffs = new TariffSchedule({ tariffs: 2, switches: [{ at: '06:00', tariff: 1 }, { at: '22:00', tariff: 2 }] });
    let m: SimMeter | undefined;
    const asked: { frame: Uint8Array; request: Uint8Array }[] = [];
    m = new SimMeter({
      seed: 5,
      load: 'solar',
      intervalMs: 600_000,
      wallStartMs: DEFAULT_WALL_START + 5.5 * 3_600_000, // 05:30: the tariff switch at 06:00 falls inside
      app: { tariffs },
      sml: { lmn: true },
      onAir: (f) => {
        // Written while the telegram goes out: the meter reads it in the same tick, after the telegram.
        const request = getListRequestFile({ clientId: GATEWAY, reqFileId: Uint8Array.of(asked.length), serverId: asked.length % 2 ? undefined : serverId() });
        m!.lmnGateway!.write(request);
        asked.push({ frame: f.sent.frame, request });
      },
    });
    const serverId = () => {
      const id = new Uint8Array(10);
      id.set([0x0a, 0x01, 0x58, 0x53, 0x4d, 0x00]);
      new DataView(id.buffer).setUint32(6, Number(m!.meterId));
      return id;
    };
    m.advance(2 * 3_600_000);
    const answers = m.lmnGateway!.read();
    const rx = new Receiver({ crypto: nobleCrypto, keys: keyTable({ [m.meterId]: fromHex(m.keys.toFile().meterKey) }) });
    const decoded = asked.map((a) => {
      const v: Record<string, number> = {};
      for (const x of rx.receiveFrame(a.frame, 'A').values) if (x.obis && typeof x.value === 'number') v[x.obis] = x.value;
      return v;
    });
    return { m, asked, answers, decoded };
  }

  let x: ReturnType<typeof exchange>;
  before(() => (x = exchange()));

  it('smartmeter-obis reads an answer to every request, with the registers and power of the telegram of that instant', () => {
    assert.ok(x.asked.length >= 11, `${x.asked.length} telegrams in 2 h`);
    const smo = readWithSmartmeterObis(x.answers);
    assert.equal(smo.length, x.asked.length);
    smo.forEach((g, i) => {
      assert.ok('values' in g);
      for (const o of ENERGY) assert.equal(Math.round((g.values[full(o)].value as number) * 1000), x.decoded[i][o], `${o}, request ${i}`);
      assert.deepEqual(g.values[full('16.7.0')], { value: x.decoded[i]['16.7.0'], unit: 'W' });
    });
    assert.ok(x.decoded.at(-1)!['1.8.1'] > 0 && x.decoded.at(-1)!['1.8.2'] > 0, 'both tariffs moved');
    assert.deepEqual(x.m.app.part.lmn!.stats, { requests: x.asked.length, responses: x.asked.length, errors: {}, ignored: {}, failed: {} });
  });

  it('libsml reads the answers (CRC, Open/GetList/Close, the registers) and the gateway’s requests', async function () {
    const r = libsmlReader();
    if (!r.path) {
      console.log(`      skipped: ${r.skip}`);
      this.skip();
    }
    const lib = await readWithLibsml(r.path!, x.answers);
    assert.equal(lib.length, x.asked.length);
    lib.forEach((f, i) => {
      assert.ok(f.crcOk);
      assert.deepEqual(f.tags, [0x0101, 0x0701, 0x0201]);
      assert.deepEqual(
        f.values.slice(2).map((v) => [v.obis, Number(v.value as bigint)]),
        ALL.map((o) => [full(o), x.decoded[i][o]]),
      );
    });
    const req = await readWithLibsml(r.path!, joinAll(x.asked.map((a) => a.request)));
    assert.deepEqual(req.map((f) => [f.crcOk, f.tags]), x.asked.map(() => [true, [0x0100, 0x0700, 0x0200]]));
  });
});

describe('the 4-byte grid of SML transport v1: libsml and the stream decoder', () => {
  it('a start sequence off the grid inside an octet string is payload to both (files framed by hand)', async function () {
    const r = libsmlReader();
    if (!r.path) {
      console.log(`      skipped: ${r.skip}`);
      this.skip();
    }
    // Signatures whose 1b1b1b1b 01010101 lies 1, 2 and 3 bytes off the grid (the signature starts at offset 21).
    const signatures = [0, 1, 2].map((before) => Uint8Array.from([...new Array<number>(before).fill(0xaa), 0x1b, 0x1b, 0x1b, 0x1b, 1, 1, 1, 1, 0x55]));
    const framed = signatures.map(handFramedCloseRes);
    const stream = joinAll(framed);
    const lib = await readWithLibsml(r.path!, stream);
    assert.deepEqual(
      lib.map((f) => [f.length, f.crcOk, f.tags]),
      framed.map((f) => [f.length, true, [0x0201]]),
    );
    const { events } = decodeAll(stream);
    assert.deepEqual(
      events.map((e) => (e.kind === 'file' ? [e.file.length, toHex((e.file.messages[0].body as { globalSignature: Uint8Array }).globalSignature)] : e.error.code)),
      framed.map((f, i) => [f.length, toHex(signatures[i])]),
    );
  });
});
