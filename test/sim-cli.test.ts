/**
 * `xsmeter sim` through the real binary (node bin/xsmeter.js after the build): restart from --state,
 * kill -9 at random moments, SIGTERM, the machine formats read back by the project's receiver and by
 * `xsmeter decode`, and a 100-meter day with its throughput (the 1000-meter day is `npm run bench app`).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { totalmem } from 'node:os';
import { fromHex } from '../modules/core/bytes.js';
import { parseInputLine } from '../modules/wmbus-rx/input.js';
import { Receiver, keyTable, type DecodedTelegram } from '../modules/wmbus-rx/receiver.js';
import { XorShift32 } from '../modules/app/telegram-schedule.js';
import { checksFailed, formatSummary } from '../cli/commands/sim.js';
import type { SimSummary } from '../hosts/sim/sim-runner.js';
import { ServiceClient } from '../modules/service/client.js';
import { TcpSerialClient, nodeTiming } from '../hosts/sim/service-transport.js';
import { nobleCrypto } from '../hosts/sim/noble-crypto.js';
import { tempDirs } from './helpers/temp-dirs.js';

const BIN = join(process.cwd(), 'bin', 'xsmeter.js');

function sim(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, 'sim', ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function keysOf(dir: string): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  for (const id of readdirSync(join(dir, 'meters'))) {
    out[id] = fromHex((JSON.parse(readFileSync(join(dir, 'meters', id, 'keys.json'), 'utf8')) as { meterKey: string }).meterKey);
  }
  return out;
}

/** Decodes hex lines with one receiver (replay check across all of them); returns the telegrams. */
function decodeAll(lines: string[], keys: Record<string, Uint8Array>): DecodedTelegram[] {
  const rx = new Receiver({ crypto: nobleCrypto, keys: keyTable(keys) });
  return lines.map((l, i) => {
    try {
      const f = parseInputLine(l);
      return rx.receiveFrame(f.bytes, f.format);
    } catch (e) {
      throw new Error(`line ${i + 1}: ${(e as Error).message}`);
    }
  });
}

function importOf(t: DecodedTelegram): number {
  return t.values.find((v) => v.obis === '1.8.0')?.value as number;
}

/** Runs the binary and kills it with SIGKILL after `ms`; returns the complete lines it printed. */
function runAndKill(args: string[], ms: number): Promise<{ lines: string[]; killed: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'sim', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      clearTimeout(timer);
      const lines = out.split('\n');
      lines.pop(); // an unterminated last line was cut by the kill: not sent as far as anyone knows
      resolve({ lines, killed: signal === 'SIGKILL' });
    });
  });
}

describe('xsmeter sim (the binary)', function () {
  const tmp = tempDirs('xsmeter-sim-');
  before(() => {
    execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'ignore' });
  });

  it('default run: a table and a summary, exit 0', () => {
    const r = sim(['--duration', '2h']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /meter\s+chip\s+A\+ kWh\s+A- kWh\s+power W\s+counter\s+status\s+gateway/);
    assert.match(r.stdout, /telegrams: (\d+) sent, \1 decoded, 0 rejected, 0 deferred by the duty cycle/);
    assert.match(r.stdout, /throughput: [\d ]+ telegrams\/s/);
    // The rate after the set-up leaves the set-up's CPU out: never below the rate with it, and the
    // set-up (keys, log, seal) costs some CPU a meter.
    const m = /([\d ]+) meter-days per CPU-minute \(\d+ threads?\), ([\d ]+) after the set-up \(([\d.]+) ms of CPU a meter\)/.exec(r.stdout);
    assert.ok(m, r.stdout);
    const num = (t: string) => Number(t.replace(/ /g, ''));
    assert.ok(num(m[2]) >= num(m[1]), m[0]);
    assert.ok(Number(m[3]) > 0, m[0]);
  });

  it('a restart from --state continues message counters and registers', () => {
    const dir = tmp();
    const a = sim(['--meters', '2', '--duration', '3h', '--interval', '10m', '--state', dir, '--format', 'hex']);
    assert.equal(a.code, 0, a.stderr);
    const b = sim(['--meters', '2', '--duration', '3h', '--interval', '10m', '--state', dir, '--format', 'hex']);
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stderr, /continued from the saved state/);
    const first = a.stdout.trim().split('\n');
    const second = b.stdout.trim().split('\n');
    const all = decodeAll([...first, ...second], keysOf(dir)); // throws on a reused counter
    const byMeter = new Map<string, DecodedTelegram[]>();
    for (const t of all) byMeter.set(t.meter.id, [...(byMeter.get(t.meter.id) ?? []), t]);
    assert.equal(byMeter.size, 2);
    for (const [id, ts] of byMeter) {
      assert.ok(ts.length >= 30, `${id}: ${ts.length} telegrams over 6 h`);
      for (let i = 1; i < ts.length; i++) {
        assert.ok((ts[i].messageCounter as number) > (ts[i - 1].messageCounter as number));
        assert.ok(importOf(ts[i]) >= importOf(ts[i - 1]), `${id}: A+ went back at telegram ${i}`);
      }
    }
    // The second run's clock continues from the first's end.
    const sim1 = JSON.parse(readFileSync(join(dir, 'sim.json'), 'utf8')) as { wallMs: number };
    assert.equal(sim1.wallMs, Date.UTC(2026, 0, 1, 6));
  });

  /** The energy journal's (sectors 0–7 of energy.bin) sector with the highest sector sequence. */
  function newestJournalSector(img: Buffer): number {
    let newest = -1;
    let seq = -1;
    for (let s = 0; s < 8; s++) {
      if (img.toString('latin1', s * 4096, s * 4096 + 4) === 'XSEJ' && img.readUInt32LE(s * 4096 + 4) > seq) [newest, seq] = [s, img.readUInt32LE(s * 4096 + 4)];
    }
    assert.ok(newest > 0, 'the journal has moved past its first sector');
    return newest;
  }

  /** A 6-hour run of 3 meters; then `damage` done to the second meter's flash images (in its
   *  directory); then 6 hours more. The second run, and the meter's telegrams before and after. */
  function damagedRun(damage: (meterDir: string) => void) {
    const dir = tmp();
    const args = ['--meters', '3', '--duration', '6h', '--state', dir, '--format', 'hex'];
    const a = sim(args);
    assert.equal(a.code, 0, a.stderr);
    const id = readdirSync(join(dir, 'meters')).sort()[1];
    damage(join(dir, 'meters', id));
    const b = sim(args);
    const keys = keysOf(dir);
    const before = decodeAll(a.stdout.trim().split('\n'), keys).filter((t) => t.meter.id.endsWith(id));
    const after = decodeAll(b.stdout.trim().split('\n'), keys).filter((t) => t.meter.id.endsWith(id));
    assert.ok(before.length > 0 && after.length > 0);
    return { b, before, after };
  }

  /** damagedRun: the journal's newest sector erased, and with `witnessToo` the meter witness
   *  (calibration sectors 14–15) too. */
  function newestJournalSectorErased(witnessToo: boolean) {
    return damagedRun((md) => {
      const file = join(md, 'energy.bin');
      const img = readFileSync(file);
      const newest = newestJournalSector(img);
      img.fill(0xff, newest * 4096, (newest + 1) * 4096);
      writeFileSync(file, img);
      if (witnessToo) {
        const cal = join(md, 'calibration.bin');
        const c = readFileSync(cal);
        assert.ok([14, 15].some((s) => c.toString('latin1', s * 4096, s * 4096 + 4) === 'XSMW'), 'the meter witness in sectors 14–15');
        c.fill(0xff, 14 * 4096, 16 * 4096);
        writeFileSync(cal, c);
      }
    });
  }
  // EN 13757-3 Table 6: bit 4 of the TPL status byte, temporary error (the meter's metrology fault).
  const temporaryError = (t: DecodedTelegram) => ((t.status ?? 0) & 0x10) !== 0;

  it("the energy journal's newest sector erased: the meter continues from the floor its witness wrote with the last telegram (nothing it sent is lost) and flags a metrology fault in every telegram after", () => {
    const { b, before, after } = newestJournalSectorErased(false);
    assert.equal(b.code, 0, b.stderr);
    assert.ok(importOf(after[0]) >= importOf(before.at(-1)!), `A+ ${importOf(before.at(-1)!)} Wh sent, then ${importOf(after[0])} Wh`);
    assert.deepEqual([...new Set(before.map(temporaryError))], [false], 'no fault before');
    assert.deepEqual([...new Set(after.map(temporaryError))], [true], 'the fault in every telegram after');
  });

  it('energy lost without the fault flag (the journal\'s newest sector and the witness erased: both partitions rolled back) fails the check: exit 1, named in the summary', () => {
    const { b, before, after } = newestJournalSectorErased(true);
    // Independent truth: what the meter sent before and after.
    const drop = importOf(after[0]) < importOf(before.at(-1)!);
    assert.ok(drop, `A+ ${importOf(before.at(-1)!)} Wh, then ${importOf(after[0])} Wh: the erase took energy away (else this test tests nothing)`);
    assert.equal(temporaryError(after[0]), false, 'a loss the meter cannot see');
    assert.equal(b.code, 1, b.stderr);
    assert.match(b.stderr, /check: .*1 telegrams with A\+ or A- below the meter's previous one \(1 without the metrology-fault flag\)/);
  });

  it("a bit flipped in the energy journal's newest record (committed, its CRC now wrong: no power cut does that) is damage: every telegram after the restart carries the metrology fault", () => {
    const { b, before, after } = damagedRun((md) => {
      const file = join(md, 'energy.bin');
      const img = readFileSync(file);
      // The newest sector's last committed frame: u16 length, u32 seq, payload, u32 CRC, commit byte
      // 0x00 (modules/storage/frame.ts), frames from byte 12.
      const newest = newestJournalSector(img);
      let last = -1;
      for (let p = newest * 4096 + 12; p + 11 < (newest + 1) * 4096; ) {
        const length = img.readUInt16LE(p);
        if (length === 0xffff || img[p + length + 10] !== 0x00) break;
        last = p;
        p += length + 11;
      }
      assert.ok(last > 0, 'a committed record in the newest sector');
      img[last + 6 + 4] ^= 0x01; // a bit of its first register
      writeFileSync(file, img);
    });
    assert.equal(b.code, 0, b.stderr);
    assert.deepEqual([...new Set(before.map(temporaryError))], [false], 'no fault before');
    assert.deepEqual([...new Set(after.map(temporaryError))], [true], 'the fault in every telegram after');
  });

  it('a state directory of the earlier flash format is refused with one line, nothing written', () => {
    const dir = tmp();
    const old = JSON.stringify({ format: 'xsmeter-sim-state', version: 1, wallMs: 0, config: {}, meters: [] });
    writeFileSync(join(dir, 'sim.json'), old);
    const r = sim(['--meters', '1', '--duration', '1h', '--state', dir]);
    assert.equal(r.code, 2, 'an unusable input file');
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^xsmeter sim: .* holds meters of an earlier flash format \(state version 1, this simulator reads 2\): start a new --state directory$/m);
    assert.equal(readFileSync(join(dir, 'sim.json'), 'utf8'), old);
    assert.deepEqual(readdirSync(dir), ['sim.json']);
  });

  it('kill -9 at random moments: no counter reused, no total lower than one already sent', async function () {
    this.timeout(120_000);
    const rng = new XorShift32(2026);
    for (const seed of [1, 2, 3]) {
      const dir = tmp();
      const args = ['--meters', '2', '--duration', '30d', '--interval', '2m', '--sample', '5s', '--seed', String(seed), '--state', dir, '--format', 'hex'];
      const lines: string[] = [];
      let kills = 0;
      for (let k = 0; k < 3; k++) {
        const r = await runAndKill(args, 400 + Math.floor(rng.next() * 1200));
        if (r.killed) kills++;
        lines.push(...r.lines);
      }
      assert.ok(kills >= 2, 'the runs were killed while running');
      const last = sim([...args.slice(0, 2), '--duration', '1h', ...args.slice(6)]);
      assert.equal(last.code, 0, last.stderr);
      lines.push(...last.stdout.trim().split('\n'));
      const all = decodeAll(lines, keysOf(dir)); // the gateway's replay check accepts every frame
      assert.ok(all.length > 20, `${all.length} telegrams`);
      const lastImport = new Map<string, number>();
      for (const t of all) {
        const v = importOf(t);
        assert.ok(v >= (lastImport.get(t.meter.id) ?? 0), `meter ${t.meter.id} reported ${v} Wh after ${lastImport.get(t.meter.id)} Wh`);
        lastImport.set(t.meter.id, v);
      }
    }
  });

  it('SIGTERM stops cleanly: state saved, summary printed, exit 0', async () => {
    const dir = tmp();
    const child = spawn(process.execPath, [BIN, 'sim', '--meters', '2', '--duration', '7d', '--speed', '3600', '--state', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    assert.equal(code, 0);
    assert.match(out, /interrupted after/);
    const saved = JSON.parse(readFileSync(join(dir, 'sim.json'), 'utf8')) as { wallMs: number };
    assert.ok(saved.wallMs > Date.UTC(2026, 0, 1, 0, 10), `saved at ${new Date(saved.wallMs).toISOString()}`);
    assert.ok(existsSync(join(dir, 'gateway.json')));
  });

  /** Runs `sim … --listen 0` with `args`, hands `use` a client port on meter 0's service line,
   *  then stops the run. */
  const withListening = async (args: string[], use: (port: TcpSerialClient) => Promise<void>) => {
    const child = spawn(process.execPath, [BIN, 'sim', ...args, '--listen', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let err = '';
        child.stderr.on('data', (d: Buffer) => {
          err += d.toString();
          const m = /tcp:\/\/127\.0\.0\.1:(\d+)/.exec(err);
          if (m) resolve(m[1]);
        });
        child.on('close', () => reject(new Error(`exited: ${err}`)));
      });
      const port = await TcpSerialClient.connect('127.0.0.1', Number(url));
      await use(port);
      await port.close();
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.on('close', r));
    }
  };

  it('--listen: a bench reaches meter 0 over TCP while the fleet runs', () =>
    withListening(['--meters', '2', '--duration', '1h', '--speed', 'realtime'], async (port) => {
      const c = new ServiceClient({ port, timing: nodeTiming, timeoutMs: 3000 });
      const id = await c.connect();
      assert.match(id.meterId, /^XSM\d{8}$/);
      assert.equal(id.sealed, true);
      const regs = await c.readRegisters();
      assert.ok(regs.some((r) => r.obis === '1.8.0'));
    }));

  it('--listen at 600 × real time: a request split across two TCP writes 15 ms apart is answered (the frame timeouts run on the line\'s time, not the meter\'s)', () =>
    withListening(['--meters', '1', '--duration', '30d', '--speed', '600'], async (port) => {
      // 15 ms of the line is 9 s of the meter's time: the meter's 250 ms idle reset gave the
      // first half up before the second arrived, and the client waited in vain.
      const write = port.write.bind(port);
      const split: typeof port.write = (bytes) => {
        const half = bytes.length >> 1;
        write(bytes.subarray(0, half));
        setTimeout(() => write(bytes.subarray(half)), 15);
      };
      port.write = split;
      const c = new ServiceClient({ port, timing: nodeTiming, timeoutMs: 3000 });
      const id = await c.connect();
      assert.match(id.meterId, /^XSM\d{8}$/);
      const regs = await c.readRegisters();
      assert.ok(regs.some((r) => r.obis === '1.8.0'));
    }));

  it('rtlwmbus and json lines: xsmeter decode reads them back to the same values', () => {
    const dir = tmp();
    const r = sim(['--meters', '1', '--duration', '1h', '--interval', '10m', '--state', dir, '--format', 'rtlwmbus']);
    assert.equal(r.code, 0, r.stderr);
    const [id, key] = Object.entries(keysOf(dir))[0];
    const keyHex = Buffer.from(key).toString('hex');
    const dec = spawnSync(process.execPath, [BIN, 'decode', '--key', `${id}:${keyHex}`], { input: r.stdout, encoding: 'utf8' });
    assert.equal(dec.status, 0, dec.stderr);
    const decoded = dec.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id?: string; meter?: { id: string } });
    assert.equal(decoded.length, r.stdout.trim().split('\n').length);
    const dir2 = tmp();
    const j = sim(['--meters', '1', '--duration', '1h', '--interval', '10m', '--state', dir2, '--format', 'json']);
    const lines = j.stdout.trim().split('\n').map((l) => JSON.parse(l) as { verdict: string; counter: number; values: Record<string, number> });
    assert.ok(lines.length >= 5 && lines.every((l) => l.verdict === 'ok' && typeof l.values['1.8.0'] === 'number'));
    assert.match(j.stderr, /throughput/);
  });

  it('100 meters × 1 day at max speed completes and prints its throughput', function () {
    this.timeout(120_000);
    const r = sim(['--meters', '100', '--duration', '1d']);
    assert.equal(r.code, 0, r.stderr);
    const m = /telegrams: (\d+) sent, (\d+) decoded, 0 rejected/.exec(r.stdout);
    assert.ok(m, r.stdout.slice(-500));
    assert.equal(m[1], m[2]);
    assert.ok(Number(m[1]) >= 9500, `${m[1]} telegrams`);
    assert.match(r.stdout, /throughput: [\d ]+ telegrams\/s/);
    assert.match(r.stdout, /× real time/);
  });

  it("the summary's peak memory is the process's: at least the peak /proc showed while it ran", async function () {
    if (!existsSync('/proc/self/status')) return this.skip();
    this.timeout(60_000);
    const child = spawn(process.execPath, [BIN, 'sim', '--meters', '200', '--duration', '6h', '--progress', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    let seenKb = 0;
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) seenKb = Math.max(seenKb, Number(m[1]));
      } catch {
        // exited between polls
      }
    }, 20);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearInterval(poll);
    assert.equal(code, 0);
    const m = /peak memory (\d+) MB resident/.exec(out);
    assert.ok(m, out.slice(-400));
    const reportedMb = Number(m[1]);
    assert.ok(seenKb > 20_000, `polled ${seenKb} kB`);
    assert.ok(reportedMb >= Math.floor((seenKb * 1024) / 1e6), `reported ${reportedMb} MB, /proc showed ${seenKb} kB`);
    assert.ok(reportedMb * 1e6 <= totalmem(), `reported ${reportedMb} MB`);
  });

  it('--sample longer than the chips allow at the meters\' rating is refused (one line, exit 2); up to it the registers keep the true energy', () => {
    // 13.8 kW a phase: an ADE7953's 24-bit registers reach half their range in 73.4 s, an ATM90E32's
    // 16-bit ones (1000 imp/kWh) in 85.5 s (the figures' physics: metrology-drivers.test.ts).
    for (const [args, limit] of [[['--sample', '15m'], '73.4 s'], [['--sample', '80s', '--chip', 'mixed'], '73.4 s'], [['--sample', '86s', '--chip', 'atm90e32'], '85.5 s']] as const) {
      const r = sim(['--meters', '2', '--duration', '1h', '--format', 'hex', ...args]);
      assert.equal(r.code, 2, args.join(' '));
      assert.equal(r.stdout, '');
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.ok(r.stderr.includes(`longer than the ${limit} in which`), r.stderr);
    }
    const dir = tmp();
    const ok = sim(['--meters', '2', '--chip', 'atm90e32', '--duration', '6h', '--sample', '85s', '--format', 'hex', '--progress', '0', '--state', dir]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /registers within 0\.0\d+ % of the simulated load's true energy/);
    // continued: the saved fleet's chip decides, not --chip's default
    const again = sim(['--duration', '1h', '--sample', '85s', '--format', 'hex', '--progress', '0', '--state', dir]);
    assert.equal(again.code, 0, again.stderr);
  });

  it('registers off the true energy by more than class 1 fail the run (exit 1) and the summary says FAILED', () => {
    // No option reaches this any more (--sample is bounded above): the summary of such a run.
    const base: SimSummary = {
      meters: 3, simulatedMs: 86_400_000, realMs: 1000, sent: 288, decoded: 288, rejected: 0, byCode: {}, deferred: 0, radioErrors: 0, metrologyFaults: 0,
      throughput: 288, factor: 86_400, interrupted: false, worstDeviation: 0.00001, gatewayMismatches: 0, registerDrops: 0, unflaggedDrops: 0, resumed: false,
      startWallMs: 0, endWallMs: 86_400_000, meterDaysPerCpuMinute: 180, setUpCpuMs: 10, meterDaysPerCpuMinuteAfterSetUp: 200, workers: 1, peakResidentBytes: 1e8,
    };
    for (const [worstDeviation, failed, text] of [
      [0.00001, false, "registers within 0.0010 % of the simulated load's true energy (class 1 allows 1 %)"],
      [0.01, false, "registers within 1.0 % of the simulated load's true energy (class 1 allows 1 %)"],
      [0.46, true, "registers 46 % off the simulated load's true energy: FAILED, class 1 allows 1 %"],
    ] as const) {
      const s = { ...base, worstDeviation };
      assert.equal(checksFailed(s), failed, String(worstDeviation));
      assert.ok(formatSummary(s).some((l) => l.includes(text)), formatSummary(s).join('\n'));
    }
  });

  it('bad options fail with one line and exit code 2', () => {
    for (const args of [['--meters', '0'], ['--duration', '1y'], ['--format', 'xml'], ['--chip', 'x'], ['--mode', '3']]) {
      const r = sim(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.equal(r.stderr.trim().split('\n').length, 1);
    }
  });
});
