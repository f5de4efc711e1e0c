/**
 * The firmware built by the Moddable SDK (8.2.3), as a user builds it from manifest.json:
 *  - the esp32 XS link step (xsc + xsl with the esp32 preload list and creation block: every module
 *    is preloaded, so a module that cannot be, or an import that does not resolve, fails here);
 *  - the desktop variant (main-desktop.ts: the same boot as the board, simulated ADE7953 and CC1101 in
 *    XS, the device's crypto) built with `mcconfig -d -m -p lin` and `xsmeterDay=24`, run headless in
 *    mcsim for a simulated day on virtual time, with the ESP32's creation block.
 * Its telegrams, registers and calibration log must be the Node run's of the same day byte for byte
 * (hosts/esp32/desktop-day.ts under Node, @noble crypto), the telegrams decode with our receiver, the
 * log verifies with `xsmeter log verify`, and the live heap stays flat and within the ESP32 budget.
 */
import assert from 'node:assert/strict';
import { createECDH } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { concatAll, fromHex } from '../modules/core/bytes.js';
import { Receiver, keyTable } from '../modules/wmbus-rx/receiver.js';
import { DAY_DONE, DesktopDay } from '../hosts/esp32/desktop-day.js';
import { DESKTOP_METER } from '../hosts/esp32/desktop-meter.js';
import { nobleCrypto } from '../hosts/sim/noble-crypto.js';
import { xsmeter } from './helpers/cli.js';
import { readWithSmartmeterObis } from './helpers/smartmeter-obis.js';
import { importGraph } from './helpers/import-walk.js';
import { aliasables, buildFirmware, describeWithModdable, heapProbes, runInMcsim, stackPeak, xslSummary, type BuildResult, type Instruments, type SimRun } from './helpers/moddable.js';

const HOURS = 24;
/** The creation block of manifest.json (the ESP32's). */
const ESP32_CREATION = (JSON.parse(readFileSync('manifest.json', 'utf8')) as { creation: { chunk: { initial: number }; heap: { initial: number } } }).creation;
/** ESP32 slots are 16 bytes (32-bit), lin's 32. */
const ESP32_SLOT = 16;
const LIN_SLOT = 32;

interface Flat {
  modules: Record<string, string | string[]>;
  preload: string[];
  creation: Record<string, unknown>;
}

describeWithModdable('Moddable SDK: the firmware of manifest.json', (sdk) => {
  let esp32: BuildResult;
  let desktop: BuildResult;
  let sim: SimRun;
  let node: string[];
  let work: string;

  before(async function () {
    this.timeout(15 * 60_000);
    ({ esp32, desktop } = await buildFirmware(sdk(), HOURS));
    // A fresh working directory: the desktop variant's flash partitions are files there (erased).
    work = mkdtempSync(join(tmpdir(), 'xsmeter-mcsim-'));
    const running = runInMcsim(sdk(), desktop.app!, DAY_DONE, 10 * 60_000, work);
    // The same day under Node meanwhile (mcsim is another process).
    node = [];
    const day = new DesktopDay({ crypto: nobleCrypto, hours: HOURS, out: (l) => node.push(l) });
    day.start();
    while (day.step(300_000));
    day.finish();
    sim = await running;
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** The day's own lines (no heap probes, which only the Moddable run prints). */
  const dayLines = () => sim.lines.filter((l) => !l.startsWith('heap ') && !/exception: throw!$/.test(l));

  describe('esp32 XS link (xsc + xsl, the esp32 preload list and creation block)', () => {
    it('links every module preloaded: no error, no hole', () => {
      const x = xslSummary(esp32.xsl);
      assert.ok(x, `xsl summary: ${esp32.xsl}`);
      assert.equal(x.holes, 0);
      assert.ok(x.instances > 1000 && x.keys > 1000);
    });

    it('the flattened manifest (mcconfig) maps and preloads every module the board entry imports, main included; lin has the esp32 creation block plus the simulated chips\' allowance', () => {
      const flat = JSON.parse(readFileSync(esp32.flatManifest!, 'utf8')) as Flat;
      const linFlat = JSON.parse(readFileSync(desktop.flatManifest!, 'utf8')) as Flat;
      const preload = new Set(flat.preload);
      const missing = [...importGraph('hosts/esp32/main.ts').modules].filter((m) => !(m in flat.modules) || !preload.has(m));
      assert.deepEqual(missing, []);
      assert.ok(preload.has('main') && preload.has('crypt') && preload.has('ec'));
      const linPreload = new Set(linFlat.preload);
      assert.deepEqual([...importGraph('hosts/esp32/main-desktop.ts').modules].filter((m) => !(m in linFlat.modules) || !linPreload.has(m)), []);
      // lin: the esp32 block plus the simulated chips' allowance (test/esp32-budget.test.ts bounds it).
      const manifest = JSON.parse(readFileSync('manifest.json', 'utf8')) as { creation: unknown; platforms: { lin: { creation: { chunk: { initial: number }; heap: { initial: number } } } } };
      const lin = manifest.platforms.lin.creation;
      assert.deepEqual(flat.creation.chunk, { initial: ESP32_CREATION.chunk.initial, incremental: 0 });
      assert.deepEqual(flat.creation.heap, { initial: ESP32_CREATION.heap.initial, incremental: 0 });
      assert.deepEqual(linFlat.creation, { ...flat.creation, chunk: { initial: lin.chunk.initial, incremental: 0 }, heap: { initial: lin.heap.initial, incremental: 0 } });
    });

    it('nothing of ours is aliasable: every preloaded table is frozen, so none is copied into RAM when written (xsl\'s aliasable objects are XS\'s own)', () => {
      const a = aliasables(readFileSync(esp32.xsC!, 'utf8'));
      const flat = JSON.parse(readFileSync(esp32.flatManifest!, 'utf8')) as Flat;
      // XS 8.2.3's own, which an app of one empty module links too (measured with the SDK): the two
      // global objects (the realm's and the program's), 13 internal objects of the realm and two
      // iterator prototypes. A table of ours that is not frozen shows here by the binding that holds it.
      const xsOwn = [...Array(2).fill('{AggregateError, Array, ArrayBuffer, Atomics}'), ...Array(13).fill('{0, 0}'), '{next, return}', '{next, return, Symbol.toStringTag}'];
      assert.deepEqual(a.instances.slice().sort(), xsOwn.sort());
      // The import.meta object XS makes for every module it loads: the preloaded ones and two of the SDK's.
      assert.deepEqual(a.importMetas.slice().sort(), [...flat.preload, 'embedded:provider/builtin', 'mc/config'].sort());
      // Aliasable bindings: XS does not mark a namespace import (`import * as R`) constant, though no
      // code can assign one (cc1101.ts and cc1101-wmbus.ts import the register map that way).
      const namespaceImports = [...importGraph('hosts/esp32/main.ts').modules].filter((m) => existsSync(`${m}.ts`) && /^import \* as /m.test(readFileSync(`${m}.ts`, 'utf8')));
      assert.equal(a.bindings, namespaceImports.length, namespaceImports.join(', '));
    });

    it('the linked archive (mc.xs.c) holds no @noble module', () => {
      const c = readFileSync(esp32.xsC!, 'utf8');
      assert.doesNotMatch(c, /noble/i);
      assert.match(c, /hosts\/esp32\/ports\/crypto/);
    });
  });

  describe('the desktop variant in mcsim: one simulated day', () => {
    it('runs to the end without an XS abort (memory full, stack overflow, unhandled exception)', () => {
      assert.equal(sim.abort, undefined, sim.abort);
      assert.equal(sim.lines[sim.lines.length - 1], DAY_DONE);
      assert.ok(sim.lines.includes('xsmeter: CC1101 ready (T1, 868.95 MHz)'), 'the board boot (boot.ts)');
    });

    it('prints exactly the lines of the same day under Node: boot, telegrams, registers, statistics, calibration log', () => {
      assert.deepEqual(dayLines(), node);
    });

    it('every telegram on the air is the Node run\'s, byte for byte; each decodes with our receiver (counter 1…96, MAC ok, A+ never falling)', () => {
      const air = dayLines().filter((l) => l.startsWith('telegram '));
      assert.deepEqual(air, node.filter((l) => l.startsWith('telegram ')));
      assert.equal(air.length, HOURS * 4, 'one telegram every 15 minutes');
      const rx = new Receiver({ keys: keyTable({ [DESKTOP_METER.meterId]: DESKTOP_METER.meterKey }), crypto: nobleCrypto });
      let last = -1;
      air.forEach((line, i) => {
        const t = rx.receivePhy(fromHex(line.slice(9)), 'T1');
        assert.equal(t.meter.id, DESKTOP_METER.meterId);
        assert.equal(t.securityMode, 7);
        assert.equal(t.mac, 'ok');
        assert.equal(t.messageCounter, i + 1);
        const imp = t.values.find((v) => v.obis === '1.8.0')!.value as number;
        assert.ok(imp >= last, `A+ ${imp} after ${last}`);
        last = imp;
      });
    });

    it('registers, energy and statistics are the Node run\'s; the meter measured the load model\'s energy within 0.1 %', () => {
      const tail = (lines: string[]) => lines.filter((l) => /^(register|energy|true|stats) /.test(l));
      assert.deepEqual(tail(dayLines()), tail(node));
      const reg = Number(/ ([\d.]+) Wh$/.exec(dayLines().find((l) => l.startsWith('register 1.8.0 '))!)![1]);
      const truth = Number(/^true wh import ([\d.]+)/.exec(dayLines().find((l) => l.startsWith('true wh'))!)![1]);
      assert.ok(truth > 1000, `a household draws something in a day: ${truth} Wh`);
      assert.ok(Math.abs(reg - truth) / truth < 0.001, `${reg} vs ${truth}`);
      // 86 400 one-second samples, and the one the stop makes before it saves.
      assert.match(dayLines().find((l) => l.startsWith('stats '))!, /^stats samples 86401 faults 0 telegrams 96 deferred 0 radioErrors 0 lastCounter 96$/);
    });

    it('the calibration log written and exported in mcsim (signed by the device crypto) is Node\'s byte for byte and verifies with `xsmeter log verify` against the key node:crypto derives', async function () {
      this.timeout(60_000);
      const log = (lines: string[]) => lines.filter((l) => l.startsWith('log ')).map((l) => l.slice(4)).join('');
      assert.equal(log(dayLines()), log(node));
      const ecdh = createECDH('prime256v1');
      ecdh.setPrivateKey(DESKTOP_METER.devicePrivateKey);
      const pubkey = ecdh.getPublicKey('hex', 'compressed');
      assert.ok(dayLines().includes(`device public key ${pubkey}`));
      const file = join(work, 'calibration-log.bin');
      writeFileSync(file, fromHex(log(dayLines())));
      const r = await xsmeter(['log', 'verify', file, '--pubkey', pubkey]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /ok: 3 records/);
      // A flipped bit in a signature is caught.
      const bad = fromHex(log(dayLines()));
      bad[bad.length - 70] ^= 1;
      writeFileSync(file, bad);
      assert.notEqual((await xsmeter(['log', 'verify', file, '--pubkey', pubkey])).code, 0);
    });

    it('SML on UART1 in mcsim: a push file every second; smartmeter-obis reads every hour\'s push and LMN answer; the power only at 12:00 (PIN flashed at 11:58) and always for the gateway', () => {
      const lines = dayLines();
      const counts = lines.filter((l) => l.startsWith('sml files ')).map((l) => Number(/^sml files (\d+)/.exec(l)![1]));
      assert.deepEqual(counts, counts.map((_, h) => (h + 1) * 3600 + 1));
      /** The files traced as `sml push|lmn LENGTH` and `sml hex …` lines. */
      const traced = (what: string) => {
        const out: Uint8Array[] = [];
        for (let i = 0; i < lines.length; i++) {
          const m = new RegExp(`^sml ${what} (\\d+)$`).exec(lines[i]);
          if (!m) continue;
          let hex = '';
          while (lines[i + 1]?.startsWith('sml hex ')) hex += lines[++i].slice(8);
          assert.equal(hex.length, Number(m[1]) * 2);
          out.push(fromHex(hex));
        }
        return out;
      };
      const push = readWithSmartmeterObis(concatAll(traced('push')));
      const lmn = readWithSmartmeterObis(concatAll(traced('lmn')));
      assert.equal(push.length, HOURS);
      assert.equal(lmn.length, HOURS);
      const power = (g: (typeof push)[number]) => 'values' in g && '1-0:16.7.0*255' in g.values;
      assert.deepEqual(push.map(power), push.map((_, h) => h + 1 === 12));
      assert.ok(lmn.every(power));
      const kwh = (g: (typeof push)[number]) => ((g as { values: Record<string, { value: number }> }).values['1-0:1.8.0*255'].value);
      for (let h = 0; h < HOURS; h++) {
        assert.ok(kwh(lmn[h]) <= kwh(push[h]) && (h === 0 || kwh(push[h - 1]) <= kwh(lmn[h])), `hour ${h + 1}: the answer at half past lies between the pushes on the hours`);
      }
      const reg = Number(/ ([\d.]+) Wh$/.exec(lines.find((l) => l.startsWith('register 1.8.0 '))!)![1]);
      assert.equal(Math.round(kwh(push[HOURS - 1]) * 1000), Math.floor(reg), 'the last push shows the final register, floored to Wh');
    });

    it('heap: the live heap after a collection is flat over the day; the meter\'s peak is at most 56 KB (chunks and 16-byte slots: 8 KB under the issue\'s 64 KB) and within the ESP32 creation block', () => {
      const h = heapProbes(sim.lines);
      const byLabel = (label: string) => h.find((x) => x.label === label)!;
      const hours = h.filter((x) => x.label.startsWith('hour '));
      assert.equal(hours.length, HOURS);
      const first = hours[0];
      for (const x of hours) {
        assert.ok(x.chunks <= first.chunks + 512 && x.slots <= first.slots + 8 * LIN_SLOT, `${x.label}: ${x.chunks} chunk bytes, ${x.slots} slot bytes after hour 1's ${first.chunks}, ${first.slots}`);
      }
      const board = byLabel('board');
      const start = byLabel('start');
      const peak = hours.reduce((a, x) => ({ chunks: Math.max(a.chunks, x.chunks), slots: Math.max(a.slots, x.slots) }), { chunks: byLabel('sealed').chunks, slots: byLabel('sealed').slots });
      const meterChunks = peak.chunks - board.chunks;
      const meterSlots = (peak.slots - board.slots) / LIN_SLOT;
      assert.ok(meterChunks + meterSlots * ESP32_SLOT <= 56 * 1024, `meter: ${meterChunks} chunk bytes + ${meterSlots} slots`);
      // The meter's live peak within the ESP32's own blocks, the simulated chips within lin's allowance.
      assert.ok(meterChunks <= ESP32_CREATION.chunk.initial && meterSlots <= ESP32_CREATION.heap.initial, `meter: ${meterChunks} chunk bytes, ${meterSlots} slots`);
      assert.ok(board.chunks - start.chunks <= 8192 && (board.slots - start.slots) / LIN_SLOT <= 768, 'the simulated board within the allowance');
    });

    it('instruments: collections flat over the day (no per-sample growth), the stack peak within three quarters of its block', () => {
      const h = heapProbes(sim.lines).filter((x) => x.label.startsWith('hour '));
      // Collections per simulated hour (each probe adds its own one). mcsim zeroes the count when it
      // samples its instruments: an hour with a sample inside is left out.
      const perHour = h.slice(1).map((x, i) => x.gc - h[i].gc - 1).filter((n) => n >= 0);
      assert.ok(perHour.length >= HOURS / 2 && perHour.every((n) => n > 0), `collections per hour: ${perHour.join(' ')}`);
      const half = perHour.length >> 1;
      const mean = (a: number[]) => a.reduce((x, n) => x + n, 0) / a.length;
      const firstHalf = mean(perHour.slice(0, half));
      const secondHalf = mean(perHour.slice(half));
      assert.ok(secondHalf < firstHalf * 1.25, `collections per hour ${firstHalf.toFixed(0)} then ${secondHalf.toFixed(0)}`);
      const samples: Instruments[] = sim.samples;
      assert.ok(samples.length >= 1, 'mcsim printed its instruments');
      const stack = stackPeak(sim);
      // A quarter of the block kept free: the board's boot is a frame or two shallower than this one.
      assert.ok(stack > 0 && stack <= 0.75 * samples[0]['Stack available'], `stack ${stack} of ${samples[0]['Stack available']} bytes`);
      assert.ok(samples.every((s) => s['Chunk used'] <= s['Chunk available'] && s['Slot used'] <= s['Slot available']));
    });
  });
});
