import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { fromHex, toHex } from '../modules/core/bytes.js';
import { readExport, verifyExport } from '../modules/sealing/log-export.js';
import { ServiceClient } from '../modules/service/client.js';
import { TcpSerialClient } from '../hosts/sim/service-transport.js';
import { SimMeterKeys, keysForSeed, meterIdForSeed } from '../hosts/sim/sim-meter.js';
import { MAX_LINE } from '../tools/calibration-bench/rig-protocol.js';
import { TcpRig } from '../tools/calibration-bench/tcp-rig.js';
import { runInBoth } from './helpers/xs.js';
import { xsmeter } from './helpers/cli.js';
import { nobleCrypto } from '../hosts/sim/noble-crypto.js';

// Gates of 600 s as in calibration-bench.test.ts: ~15 simulated hours per calibration, a few s of wall.
const MIN_SECONDS = '600';
const SEED = 5;
const WHO = ['--bench-id', 'bench-7', '--operator', 'op'];

interface Sim {
  child: ChildProcess;
  service: string;
  rig: string;
  stderr: () => string;
  exit: Promise<number | null>;
}

/** Starts `xsmeter sim --listen 0 --rig 0` and reads the two URLs it prints. */
async function startSim(extra: string[] = [], seed = SEED): Promise<Sim> {
  const child = spawn(process.execPath, ['bin/xsmeter.js', 'sim', '--listen', '0', '--rig', '0', '--seed', String(seed), ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d) => (err += d));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const urls: Record<string, string> = {};
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`sim printed no URLs: ${err}`)), 10_000);
    lines.on('line', (l) => {
      const m = /^(service|rig) (tcp:\/\/127\.0\.0\.1:\d+)$/.exec(l);
      if (m) urls[m[1]] = m[2];
      if (urls.service && urls.rig) {
        clearTimeout(t);
        resolve();
      }
    });
    void exit.then(() => reject(new Error(`sim exited: ${err}`)));
  });
  return { child, service: urls.service, rig: urls.rig, stderr: () => err, exit };
}

/** The meter as its own service interface shows it: sealed, calibration bytes, the log verified
 *  against the device key derived from the seed (not one the bench or the rig handed out). */
async function meterState(sim: Sim, seed: number): Promise<{ sealed: boolean; bytes: string; log: ReturnType<typeof verifyExport> }> {
  const keys = new SimMeterKeys(keysForSeed(seed));
  const rig = await TcpRig.connect('127.0.0.1', Number(sim.rig.split(':').pop()));
  const port = await TcpSerialClient.connect('127.0.0.1', Number(sim.service.split(':').pop()));
  try {
    const client = new ServiceClient({ port, timing: rig.timing(), timeoutMs: 5000, pollMs: 10 });
    const id = await client.connect();
    const bytes = toHex(await client.readCalibration());
    return { sealed: id.sealed, bytes, log: verifyExport(nobleCrypto, readExport(await client.exportLog()), keys.devicePublicKey()) };
  } finally {
    await port.close();
    await rig.close();
  }
}

/** Runs the bench binary; `onLine` sees each stderr line as it comes and may signal the process;
 *  still running after `killAfterMs`, it is killed (a hang fails the test, signal SIGKILL). */
function benchRun(args: string[], onLine: (line: string, child: ChildProcess) => void, killAfterMs = 100_000): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/xsmeter.js', 'bench', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const killer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('close', () => clearTimeout(killer));
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => (stdout += d));
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (l) => {
      stderr += l + '\n';
      onLine(l, child);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

interface RigProxy {
  url: string;
  /** From now on no response reaches the bench (the requests still reach the rig): a rig that hangs.
   *  `keepMeterRunning`: the meter's time goes on (on a connection of the proxy's own), as a meter
   *  with its own clock does while the bench hardware hangs. */
  stall(keepMeterRunning: boolean): void;
  /** The first request from now on that `match`es is held back for `ms` (and the ones after it);
   *  `then` is called as it arrives: the bench is then waiting for the rig. */
  hold(match: (request: Record<string, unknown>) => boolean, ms: number, then: () => void): void;
  close(): void;
}

/** A rig channel in front of a real one (`upstream`), which a test can make hang or pause. */
async function rigProxy(upstream: string): Promise<RigProxy> {
  const port = Number(upstream.split(':').pop());
  let stalled = false;
  let held: { match: (request: Record<string, unknown>) => boolean; ms: number; then: () => void } | undefined;
  let pump: Socket | undefined;
  const sockets = new Set<Socket>();
  const server = createServer((c) => {
    const up = connect({ host: '127.0.0.1', port });
    sockets.add(c).add(up);
    // Requests go on in order, each after the one before (which a hold may delay).
    let forward = Promise.resolve();
    createInterface({ input: c }).on('line', (line) => {
      const h = held;
      if (h && h.match(JSON.parse(line) as Record<string, unknown>)) {
        held = undefined;
        h.then();
        forward = forward.then(() => new Promise((resolve) => setTimeout(resolve, h.ms)));
      }
      forward = forward.then(() => void up.write(line + '\n'));
    });
    up.on('data', (d) => {
      if (!stalled) c.write(d);
    });
    for (const s of [c, up]) s.on('error', () => undefined);
    c.on('close', () => up.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    url: `tcp://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    stall: (keepMeterRunning) => {
      stalled = true;
      if (!keepMeterRunning) return;
      const p = (pump = connect({ host: '127.0.0.1', port }));
      let id = 1_000_000;
      const step = () => void (p.destroyed || p.write(JSON.stringify({ id: id++, op: 'advance', ms: 100 }) + '\n'));
      p.on('connect', step);
      p.on('error', () => undefined);
      createInterface({ input: p }).on('line', () => setTimeout(step, 2));
    },
    hold: (match, ms, then) => {
      held = { match, ms, then };
    },
    close: () => {
      pump?.destroy();
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** Raw lines to the rig port; resolves with the parsed responses. */
function rawRig(url: string, payload: string, expect: number): Promise<Record<string, unknown>[]> {
  const port = Number(url.split(':').pop());
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    let buf = '';
    const t = setTimeout(() => reject(new Error(`only: ${buf}`)), 5000);
    s.on('data', (d) => {
      buf += d;
      const lines = buf.split('\n').filter(Boolean);
      if (lines.length >= expect) {
        clearTimeout(t);
        s.destroy();
        resolve(lines.map((l) => JSON.parse(l) as Record<string, unknown>));
      }
    });
    s.on('connect', () => s.write(payload));
    s.on('error', reject);
  });
}

describe('calibration bench over TCP (xsmeter sim --rig: the test bench in another process)', function () {
  this.timeout(60_000);
  let sim: Sim;

  before(async () => {
    const b = spawnSync(process.execPath, ['scripts/build.mjs'], { encoding: 'utf8' });
    assert.equal(b.status, 0, b.stderr);
    sim = await startSim();
  });
  after(() => {
    if (sim && sim.child.exitCode === null) sim.child.kill('SIGKILL');
  });

  it('identifies the simulated meter and its factory record', async () => {
    const rig = await TcpRig.connect('127.0.0.1', Number(sim.rig.split(':').pop()));
    try {
      const keys = new SimMeterKeys(keysForSeed(SEED));
      assert.equal(rig.identity.meterId, meterIdForSeed(SEED));
      assert.equal(rig.identity.chip, 'ade7953');
      assert.equal(rig.load.phases, 1);
      assert.equal(rig.identity.meterConstant, 1000);
      assert.deepEqual(rig.benchKey, fromHex(keys.toFile().benchKey));
      assert.deepEqual(rig.publicKey, keys.devicePublicKey());
    } finally {
      await rig.close();
    }
  });

  it('bad rig requests get a JSON error and change nothing', async () => {
    const long = `{"id":9,"op":"now","pad":"${'x'.repeat(MAX_LINE + 10)}"}`;
    const bad = [
      'not json',
      '[1,2]',
      '{"op":"now"}',
      '{"id":1,"op":"frobnicate"}',
      '{"id":2,"op":"advance","ms":0}',
      '{"id":3,"op":"advance","ms":60001}',
      '{"id":4,"op":"advance","ms":1.5}',
      '{"id":5,"op":"setLoad","load":{"voltage":230,"current":5,"phaseDeg":0},"phase":1}',
      '{"id":6,"op":"setLoad","load":{"voltage":230,"current":-1,"phaseDeg":0}}',
      '{"id":7,"op":"setLoad","load":{"voltage":230,"current":5}}',
      '{"id":8,"op":"setSwitch","level":2}',
      '{"id":10,"op":"now","extra":1}',
      long,
    ];
    const r = await rawRig(sim.rig, [...bad, '{"id":11,"op":"now"}', '{"id":12,"op":"readReference"}'].join('\n') + '\n', bad.length + 2);
    const codes = r.slice(0, bad.length).map((x) => [x.id, x.ok, (x.error as { code: string }).code]);
    assert.deepEqual(codes, [
      [null, false, 'bad-json'],
      [null, false, 'bad-request'],
      [null, false, 'bad-request'],
      [1, false, 'unknown-op'],
      [2, false, 'bad-request'],
      [3, false, 'bad-request'],
      [4, false, 'bad-request'],
      [5, false, 'bad-request'],
      [6, false, 'bad-request'],
      [7, false, 'bad-request'],
      [8, false, 'bad-request'],
      [10, false, 'bad-request'],
      [null, false, 'line-too-long'],
    ]);
    // Still serving, time did not move and no load was applied.
    assert.deepEqual(r[bad.length], { id: 11, ok: true, nowMs: 0 });
    assert.deepEqual(r[bad.length + 1], { id: 12, ok: true, nowMs: 0, activeWh: [0], voltage: [230], current: [0] });
  });

  it('the rig reference is the load model: energy = V·I·cos φ · t, pulses at the meter constant', async () => {
    const rig = await TcpRig.connect('127.0.0.1', Number(sim.rig.split(':').pop()));
    try {
      await rig.load.apply([{ voltage: 230, current: 4, phaseDeg: 60 }]);
      const t0 = rig.time.now();
      const e0 = rig.reference.latch().activeWh[0];
      let edges = 0;
      rig.pulses.start(() => edges++);
      await rig.time.wait(3_600_000); // 1 h in 60 s advances
      rig.pulses.stop();
      assert.equal(rig.time.now() - t0, 3_600_000);
      const wh = rig.reference.latch().activeWh[0] - e0;
      assert.ok(Math.abs(wh - 460) < 1e-6, `reference ${wh} Wh for 460 W over 1 h`);
      // 460 Wh at 1000 imp/kWh: 460 pulses (± the uncalibrated meter's error, board within ±10 %).
      assert.ok(edges > 400 && edges < 520, `${edges} pulses`);
      await rig.load.apply([{ voltage: 230, current: 0, phaseDeg: 0 }]);
    } finally {
      await rig.close();
    }
  });

  it('bench calibrate over TCP seals the meter; bench verify passes and changes nothing', async () => {
    const a = await xsmeter(['bench', 'calibrate', '--target', sim.service, '--rig', sim.rig, '--class', '0.5S', '--min-seconds', MIN_SECONDS, '--progress', 'none', ...WHO]);
    assert.equal(a.code, 0, a.stderr + a.stdout);
    assert.match(a.stdout, /before: .*outside the limits/);
    assert.match(a.stdout, /after: +worst .*all 36 within the limits/);
    assert.match(a.stdout, /log: verified, \d+ records, counter \d+, sealed digest matches the constants written/);
    assert.match(a.stdout, /\nSEALED\n$/);

    // Independently of the bench: the meter itself says sealed, and its exported log verifies
    // against the key derived from the seed (not the one the rig handed out), ending in a seal.
    const keys = new SimMeterKeys(keysForSeed(SEED));
    const rig = await TcpRig.connect('127.0.0.1', Number(sim.rig.split(':').pop()));
    const port = await TcpSerialClient.connect('127.0.0.1', Number(sim.service.split(':').pop()));
    let counter: number;
    try {
      const client = new ServiceClient({ port, timing: rig.timing(), benchKey: keys.benchKey(), crypto: nobleCrypto, timeoutMs: 5000, pollMs: 10 });
      const id = await client.connect();
      assert.equal(id.sealed, true);
      const v = verifyExport(nobleCrypto, readExport(await client.exportLog()), keys.devicePublicKey());
      assert.equal(v.ok, true);
      assert.deepEqual(v.entries.slice(-4).map((e) => e.type), ['unseal', 'calibration-change', 'calibration-change', 'seal']);
      counter = v.entries[v.entries.length - 1].counter;
    } finally {
      await port.close();
      await rig.close();
    }

    const b = await xsmeter(['bench', 'verify', '--target', sim.service, '--rig', sim.rig, '--class', '0.5S', '--min-seconds', MIN_SECONDS, '--progress', 'none', ...WHO]);
    assert.equal(b.code, 0, b.stderr + b.stdout);
    assert.match(b.stdout, /calibration and log unchanged\n/);
    assert.match(b.stdout, new RegExp(`log: verified, \\d+ records, counter ${counter}\\n`));
    assert.match(b.stdout, /\nPASS\n$/);
  });

  it('refuses a tcp target without a rig, and a rig that is not there, with one line', async () => {
    const a = await xsmeter(['bench', 'calibrate', '--target', sim.service, '--class', '0.5S']);
    assert.equal(a.code, 2);
    assert.match(a.stderr, /^xsmeter bench: tcp:\/\/127\.0\.0\.1:\d+: --rig tcp:\/\/HOST:PORT is needed/);
    const b = await xsmeter(['bench', 'verify', '--target', sim.service, '--rig', 'tcp://127.0.0.1:1', '--class', '0.5S', ...WHO]);
    assert.equal(b.code, 1);
    assert.equal(b.stderr.trim().split('\n').length, 1, b.stderr);
    assert.match(b.stderr, /--rig tcp:\/\/127\.0\.0\.1:1: cannot connect to the rig/);
  });

  it('exits cleanly on SIGTERM', async () => {
    sim.child.kill('SIGTERM');
    assert.equal(await sim.exit, 0);
    assert.match(sim.stderr(), /bench meter stopped after [\d.]+ h of bench time, sealed/);
  });
});

describe('the bench interrupted (the binary, a meter in another process)', function () {
  this.timeout(120_000);
  const sims: Sim[] = [];
  before(() => {
    const b = spawnSync(process.execPath, ['scripts/build.mjs'], { encoding: 'utf8' });
    assert.equal(b.status, 0, b.stderr);
  });
  after(() => {
    for (const s of sims) if (s.child.exitCode === null) s.child.kill('SIGKILL');
  });
  const args = (sim: Sim, extra: string[] = []) => ['calibrate', '--target', sim.service, '--rig', sim.rig, '--class', '0.5S', '--min-seconds', '300', '--progress', 'lines', ...WHO, ...extra];

  it('Ctrl-C after the first constants were written: the meter is back as found (sealed, factory constants), as its service interface shows', async () => {
    const sim = await startSim([], 6);
    sims.push(sim);
    const found = await meterState(sim, 6);
    assert.equal(found.sealed, true);
    let signalled = false;
    const r = await benchRun(args(sim), (line, child) => {
      // The rms gains are written right after this line; the stop takes effect at the next bench wait.
      if (!signalled && line.startsWith('[write] writing the rms gains')) {
        signalled = true;
        child.kill('SIGINT');
      }
    });
    assert.equal(signalled, true);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /\nxsmeter bench: interrupted \(SIGINT\); the meter is back as found: sealed, the constants it had \(read back\)\n$/);
    assert.match(r.stdout, /\nINTERRUPTED; the meter is back as found/);
    const now = await meterState(sim, 6);
    assert.equal(now.sealed, true);
    assert.equal(now.bytes, found.bytes);
    assert.equal(now.log.ok, true);
    // What the log says happened, each record naming the bench and its operator: unsealed, the rms
    // gains written, the found constants written back, sealed again with the digest sealed before.
    const added = now.log.entries.slice(found.log.entries.length);
    assert.deepEqual(added.map((e) => [e.type, e.who]), [
      ['unseal', 'bench-7/op'],
      ['calibration-change', 'bench-7/op'],
      ['calibration-change', 'bench-7/op'],
      ['seal', 'bench-7/op'],
    ]);
    assert.equal(toHex(added[2].newValue), found.bytes);
    const sealedBefore = found.log.entries.filter((e) => e.type === 'seal').pop();
    assert.equal(toHex(added[3].newValue), toHex(sealedBefore?.newValue as Uint8Array));
  });

  it('a lost link (the bench killed with SIGKILL) leaves the meter unsealed; the next calibrate says so, resumes and seals', async () => {
    const sim = await startSim([], 8);
    sims.push(sim);
    const found = await meterState(sim, 8);
    let killed = false;
    const r = await benchRun(args(sim), (line, child) => {
      if (!killed && line.startsWith('[energy 1/3]')) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    assert.equal(r.signal, 'SIGKILL');
    const left = await meterState(sim, 8);
    assert.equal(left.sealed, false);
    assert.notEqual(left.bytes, found.bytes);
    assert.deepEqual(left.log.entries.slice(found.log.entries.length).map((e) => e.type), ['unseal', 'calibration-change']);

    const again = await benchRun(args(sim).map((a) => (a === 'op' ? 'op2' : a)), () => undefined); // another operator
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /\nresumed: unsealed \S+ by bench-7\/op, not sealed since\n/);
    assert.match(again.stdout, /\nSEALED\n$/);
    const done = await meterState(sim, 8);
    assert.equal(done.sealed, true);
    assert.equal(done.log.ok, true);
    const last = done.log.entries[done.log.entries.length - 1];
    assert.deepEqual([last.type, last.who], ['seal', 'bench-7/op2']);
  });

  it('a rig that stops answering while the meter is measured as found: the run ends at its first time-out (not one per point), exit 1, one line; the meter was not changed', async () => {
    const sim = await startSim([], 10);
    sims.push(sim);
    const found = await meterState(sim, 10);
    const rig = await rigProxy(sim.rig);
    const t0 = performance.now();
    let stalled = false;
    const r = await benchRun(args(sim).map((a) => (a === sim.rig ? rig.url : a)), (line) => {
      if (!stalled && line.startsWith('[as-found 2/36]') && !line.endsWith('…')) {
        stalled = true;
        rig.stall(false);
      }
    });
    const seconds = (performance.now() - t0) / 1000;
    rig.close();
    assert.equal(stalled, true);
    assert.equal(r.code, 1, r.stderr);
    // One 10 s time-out; the 34 points left would have cost 10 s each.
    assert.ok(seconds < 30, `${seconds.toFixed(1)} s`);
    assert.doesNotMatch(r.stderr, /FAIL \(rig-timeout/);
    const last = r.stderr.trim().split('\n').filter((l) => l.startsWith('xsmeter'));
    assert.equal(last.length, 1, r.stderr);
    assert.equal(last[0], 'xsmeter bench: failed: rig-timeout: the rig stopped answering (no response within 10000 ms); the meter was not changed: left as found (sealed, the constants it had)');
    const now = await meterState(sim, 10);
    assert.equal(now.sealed, true);
    assert.equal(now.bytes, found.bytes);
    assert.equal(now.log.entries.length, found.log.entries.length);
  });

  it('a rig that stops answering after the meter was unsealed and written: the run ends at the first time-out, and the meter (its clock going on) is put back as found, sealed', async () => {
    const sim = await startSim([], 11);
    sims.push(sim);
    const found = await meterState(sim, 11);
    const rig = await rigProxy(sim.rig);
    const t0 = performance.now();
    let stalled = false;
    const r = await benchRun(args(sim).map((a) => (a === sim.rig ? rig.url : a)), (line) => {
      if (!stalled && line.startsWith('[write] writing the rms gains')) {
        stalled = true;
        rig.stall(true);
      }
    });
    const seconds = (performance.now() - t0) / 1000;
    rig.close();
    assert.equal(stalled, true);
    assert.equal(r.code, 1, r.stderr);
    assert.ok(seconds < 30, `${seconds.toFixed(1)} s`);
    assert.match(r.stderr, /\nxsmeter bench: failed: [^\n]*rig-timeout: the rig stopped answering \(no response within 10000 ms\); the meter is back as found: sealed, the constants it had \(read back\)\n$/);
    const now = await meterState(sim, 11);
    assert.equal(now.sealed, true);
    assert.equal(now.bytes, found.bytes);
    assert.equal(now.log.ok, true);
    assert.deepEqual(now.log.entries.slice(found.log.entries.length).map((e) => e.type), ['unseal', 'calibration-change', 'calibration-change', 'seal']);
  });

  /** The load switched off after the starting-current test: the bench's last wait is behind it. */
  const afterLastWait = () => {
    let starting = false;
    return (q: Record<string, unknown>): boolean => {
      const current = q.op === 'setLoad' ? (q.load as { current: number }).current : undefined;
      if (current !== undefined && current > 0 && current < 0.01) starting = true;
      return starting && current === 0;
    };
  };

  it('SIGTERM after the last bench wait, before the seal: interrupted (not sealed regardless), exit 1, the meter back as found', async () => {
    const sim = await startSim([], 12);
    sims.push(sim);
    const found = await meterState(sim, 12);
    const rig = await rigProxy(sim.rig);
    let bench: ChildProcess | undefined;
    let signalled = false;
    rig.hold(afterLastWait(), 1000, () => {
      signalled = true;
      bench?.kill('SIGTERM');
    });
    const r = await benchRun(args(sim).map((a) => (a === sim.rig ? rig.url : a)), (_line, child) => void (bench = child));
    rig.close();
    assert.equal(signalled, true);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /\n\[starting\] starting current 0\.005 A for \d+ s: \d+ pulse\(s\), at least 2: PASS\n/);
    assert.doesNotMatch(r.stderr, /\[seal\]/);
    assert.match(r.stderr, /\nxsmeter bench: interrupted \(SIGTERM\); the meter is back as found: sealed, the constants it had \(read back\)\n$/);
    assert.match(r.stdout, /\nINTERRUPTED; the meter is back as found: sealed, the constants it had \(read back\)\n$/);
    const now = await meterState(sim, 12);
    assert.equal(now.sealed, true);
    assert.equal(now.bytes, found.bytes);
    assert.deepEqual(now.log.entries.slice(found.log.entries.length).map((e) => e.type), ['unseal', 'calibration-change', 'calibration-change', 'calibration-change', 'seal']);
  });

  it('SIGTERM while the meter is measured as found (before the unseal): interrupted, and it says the meter was not changed, sealed as found — as its service interface shows', async () => {
    const sim = await startSim([], 13);
    sims.push(sim);
    const found = await meterState(sim, 13);
    const rig = await rigProxy(sim.rig);
    let bench: ChildProcess | undefined;
    // The second as-found point (0.25 A exported) being set up.
    rig.hold((q) => q.op === 'setLoad' && (q.load as { phaseDeg: number }).phaseDeg === 180, 1000, () => bench?.kill('SIGTERM'));
    const r = await benchRun(args(sim).map((a) => (a === sim.rig ? rig.url : a)), (_line, child) => void (bench = child));
    rig.close();
    assert.equal(r.code, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /\[unseal\]/);
    assert.match(r.stderr, /\nxsmeter bench: interrupted \(SIGTERM\); the meter was not changed: left as found \(sealed, the constants it had\)\n$/);
    assert.match(r.stdout, /\nINTERRUPTED; the meter was not changed: left as found \(sealed, the constants it had\)\n$/);
    const now = await meterState(sim, 13);
    assert.equal(now.sealed, true);
    assert.equal(now.bytes, found.bytes);
    assert.equal(now.log.entries.length, found.log.entries.length);
  });

  it('SIGTERM after the last bench wait of a verify: interrupted, exit 1 (no verdict)', async () => {
    const sim = await startSim([], 14);
    sims.push(sim);
    const rig = await rigProxy(sim.rig);
    let bench: ChildProcess | undefined;
    let signalled = false;
    rig.hold(afterLastWait(), 1000, () => {
      signalled = true;
      bench?.kill('SIGTERM');
    });
    const r = await benchRun(['verify', ...args(sim).slice(1)].map((a) => (a === sim.rig ? rig.url : a)), (_line, child) => void (bench = child));
    rig.close();
    assert.equal(signalled, true);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /\nxsmeter bench: interrupted \(SIGTERM\)\n$/);
    assert.match(r.stdout, /\nINTERRUPTED\n$/);
  });

  it('a bench key that does not authenticate is refused before anything changes (exit 2)', async () => {
    const sim = await startSim([], 9);
    sims.push(sim);
    const found = await meterState(sim, 9);
    const r = await xsmeter(['bench', ...args(sim), '--bench-key', '00'.repeat(16)]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /\nxsmeter bench: refused: the bench key does not authenticate with XSM\d{8}: unauthorised: .*\(the meter was not changed\)\n$/);
    const now = await meterState(sim, 9);
    assert.equal(now.sealed, true);
    assert.equal(now.bytes, found.bytes);
    assert.equal(now.log.entries.length, found.log.entries.length);
  });
});

describe('bench rig protocol (portable)', () => {
  it('rig-protocol.ts imports only portable modules', () => {
    const src = readFileSync('tools/calibration-bench/rig-protocol.ts', 'utf8');
    const imports = [...src.matchAll(/^import[^'"]*['"]([^'"]+)['"]/gm)].map((x) => x[1]);
    for (const i of imports) assert.ok(/^\.\.\/\.\.\/modules\/|^\.\/rig\.js$/.test(i), i);
    assert.doesNotMatch(src, /\b(process|Buffer|console|require|setImmediate|setTimeout|performance)\b[.(]/);
  });

  it('the dispatcher answers the same under XS as under Node, and its answers follow the load model', async () => {
    const { xs, node } = await runInBoth('test/xs/rig-protocol.xs.ts');
    assert.deepEqual(xs.lines, node.lines);
    const lines = node.lines;
    assert.match(lines[1], /"ok":false,"error":\{"code":"bad-json"/);
    assert.match(lines[2], /"id":2,"ok":false,"error":\{"code":"bad-request"/);
    assert.match(lines[3], /"id":3,"ok":false,"error":\{"code":"bad-request"/);
    // 2 min of L1 and L2 at 10 A PF 0.5 (1150 W each), L3 idle: 2 × 1150 W × 120 s = 76.67 Wh.
    const ref = JSON.parse(lines[9]) as { nowMs: number; activeWh: number[]; current: number[] };
    // 2 min after the meter started; its start-up began with the ATM90E32's 6 ms soft-reset wait.
    assert.equal(ref.nowMs, 6 + 120_000);
    assert.deepEqual(ref.current, [10, 10, 0]);
    for (const p of [0, 1]) assert.ok(Math.abs(ref.activeWh[p] - (1150 * 120) / 3600) < 1e-9, String(ref.activeWh[p]));
    assert.equal(ref.activeWh[2], 0);
    // ≈ 76.67 pulses at 1000 imp/kWh, every one reported by an advance, within the board's error.
    const pulses = JSON.parse(lines[10]) as { count: number };
    const edges = [7, 8].map((i) => Number(/"edges":(\d+)/.exec(lines[i])?.[1]));
    assert.equal(edges[0] + edges[1], pulses.count);
    assert.ok(pulses.count > 65 && pulses.count < 88, String(pulses.count));
    assert.match(lines[12], new RegExp(`^switch 1 rising ${pulses.count}$`));
  });
});
