import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fromHex } from '../modules/core/bytes.js';
import type { MeterError } from '../modules/core/errors.js';
import { readExport, verifyExport } from '../modules/sealing/log-export.js';
import { ServiceClient } from '../modules/service/client.js';
import { SerialDevice } from '../hosts/sim/serial-device.js';
import { openTarget, parseTarget } from '../hosts/sim/service-transport.js';
import { SimMeterKeys, keysForSeed, meterIdForSeed } from '../hosts/sim/sim-meter.js';
import { TcpRig } from '../tools/calibration-bench/tcp-rig.js';
import { remoteTiming } from '../cli/commands/bench.js';
import { xsmeter } from './helpers/cli.js';
import { nobleCrypto } from '../hosts/sim/noble-crypto.js';

// A pty pair from python3 stands in for a USB-serial adapter: the bench opens the slave
// (/dev/pts/N) as a serial device; the bridge relays the master to the simulated meter's TCP port.
const SEED = 7;
const BRIDGE = 'test/helpers/pty-bridge.py';

/** A child that prints "key value" lines; resolves once every key in `want` has been printed. */
async function startPrinting(cmd: string, args: string[], want: string[]): Promise<{ child: ChildProcess; values: Record<string, string>; stderr: () => string }> {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d) => (err += d));
  const values: Record<string, string> = {};
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${cmd} printed no ${want.join(', ')}: ${err}`)), 10_000);
    lines.on('line', (l) => {
      const m = /^(\S+) (\S+)$/.exec(l);
      if (m) values[m[1]] = m[2];
      if (want.every((k) => values[k])) {
        clearTimeout(t);
        resolve();
      }
    });
    child.once('exit', () => reject(new Error(`${cmd} exited: ${err}`)));
  });
  return { child, values, stderr: () => err };
}

function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

const refused = (code: string) => (e: MeterError) => e.code === code;

/** Why python3 cannot make a pty here, or undefined when it can. */
function noPty(): string | undefined {
  const py = spawnSync('python3', ['-c', 'import os, pty; os.close(os.openpty()[0])'], { encoding: 'utf8' });
  return py.status === 0 ? undefined : (py.error?.message ?? py.stderr.trim().split('\n').pop());
}

describe('serial device transport (hosts/sim/serial-device.ts)', function () {
  this.timeout(30_000);
  const tmp = mkdtempSync(join(tmpdir(), 'xsmeter-serial-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  before(() => {
    const b = spawnSync(process.execPath, ['scripts/build.mjs'], { encoding: 'utf8' });
    assert.equal(b.status, 0, b.stderr);
  });

  it('refuses what is not a serial device with typed errors', async () => {
    await assert.rejects(SerialDevice.open(join(tmp, 'ttyNONE')), refused('no-device'));
    await assert.rejects(openTarget(parseTarget('/dev/ttyXSMETER-NONE')), refused('no-device'));
    const file = join(tmp, 'regular');
    writeFileSync(file, 'not a tty');
    await assert.rejects(SerialDevice.open(file), refused('not-a-tty'));
    await assert.rejects(SerialDevice.open(tmp), refused('not-a-tty'));
    // A character device that is not a terminal: termios cannot set it raw.
    await assert.rejects(SerialDevice.open('/dev/null'), refused('not-a-tty'));
    await assert.rejects(SerialDevice.open('/dev/null', { baud: 12345 }), refused('bad-baud'));
  });

  describe('over a pty bridged to the simulated meter (python3 pty)', function () {
    let sim: Awaited<ReturnType<typeof startPrinting>> | undefined;
    let bridge: Awaited<ReturnType<typeof startPrinting>> | undefined;
    let pty = '';

    before(async function () {
      const why = noPty();
      if (why) {
        console.log(`      skipped: python3 with os.openpty() is not available (${why})`);
        this.skip();
      }
      sim = await startPrinting(process.execPath, ['bin/xsmeter.js', 'sim', '--listen', '0', '--rig', '0', '--seed', String(SEED)], ['service', 'rig']);
      bridge = await startPrinting('python3', [BRIDGE, 'connect', '127.0.0.1', sim.values.service.split(':').pop() as string], ['pty']);
      pty = bridge.values.pty;
    });
    after(async () => {
      await stop(bridge?.child);
      await stop(sim?.child);
    });

    it('identifies the meter and reads its registers through /dev/pts/N', async () => {
      assert.match(pty, /^\/dev\/pts\/\d+$/);
      const sttyBefore = spawnSync('stty', ['-F', pty, '-a'], { encoding: 'utf8' }).stdout;
      assert.match(sttyBefore, /(^|\s)icanon\s/, 'a fresh pty is cooked');
      const rig = await TcpRig.connect('127.0.0.1', Number((sim?.values.rig as string).split(':').pop()));
      const port = (await openTarget(parseTarget(pty), { baud: 9600 })) as SerialDevice;
      try {
        // stty set the line raw, without echo, at the requested rate.
        const stty = spawnSync('stty', ['-F', pty, '-a'], { encoding: 'utf8' }).stdout;
        assert.match(stty, /speed 9600 baud/);
        assert.match(stty, /(^|\s)-icanon\s/);
        assert.match(stty, /(^|\s)-echo\s/);
        const client = new ServiceClient({ port, timing: remoteTiming(rig), timeoutMs: 5000, pollMs: 10 });
        const id = await client.identify();
        assert.equal(id.meterId, `XSM${meterIdForSeed(SEED)}`);
        assert.equal(id.sealed, true);
        const regs = await client.readRegisters();
        assert.ok(regs.length > 0);
        for (const r of regs) assert.equal(r.wh, 0, `${r.obis}: a meter fresh from the factory has counted nothing`);
      } finally {
        await port.close();
        await rig.close();
      }
      assert.equal(port.open, false);
      port.write(new Uint8Array([1, 2, 3])); // after close: dropped, no throw
    });

    it('xsmeter bench calibrate --target /dev/pts/N seals the meter; its log verifies against the seed key', async () => {
      const r = await xsmeter(['bench', 'calibrate', '--target', pty, '--rig', sim?.values.rig as string, '--class', '0.5S', '--min-seconds', '600', '--progress', 'none', '--bench-id', 'bench-1', '--operator', 'op']);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.match(r.stdout, /after: +worst .*all 36 within the limits/);
      assert.match(r.stdout, /\nSEALED\n$/);
      const keys = new SimMeterKeys(keysForSeed(SEED));
      const rig = await TcpRig.connect('127.0.0.1', Number((sim?.values.rig as string).split(':').pop()));
      const port = await SerialDevice.open(pty);
      try {
        const client = new ServiceClient({ port, timing: remoteTiming(rig), benchKey: keys.benchKey(), crypto: nobleCrypto, timeoutMs: 5000, pollMs: 10 });
        assert.equal((await client.connect()).sealed, true);
        const v = verifyExport(nobleCrypto, readExport(await client.exportLog()), keys.devicePublicKey());
        assert.equal(v.ok, true);
        assert.equal(v.entries[v.entries.length - 1].type, 'seal');
      } finally {
        await port.close();
        await rig.close();
      }
    });

    it('xsmeter bench: a missing device and a bad --baud are one-line errors; the rig rule holds', async () => {
      const rigUrl = sim?.values.rig as string;
      const a = await xsmeter(['bench', 'verify', '--target', '/dev/ttyXSMETER-NONE', '--rig', rigUrl, '--class', '0.5S', '--bench-id', 'bench-1', '--operator', 'op']);
      assert.equal(a.code, 2);
      assert.equal(a.stderr, 'xsmeter bench: /dev/ttyXSMETER-NONE: no such device\n');
      const b = await xsmeter(['bench', 'verify', '--target', pty, '--class', '0.5S']);
      assert.equal(b.code, 2);
      assert.match(b.stderr, /^xsmeter bench: \/dev\/pts\/\d+: --rig tcp:\/\/HOST:PORT is needed[^\n]*\n$/);
      const c = await xsmeter(['bench', 'verify', '--target', pty, '--rig', rigUrl, '--baud', '12345', '--class', '0.5S']);
      assert.equal(c.code, 2);
      assert.match(c.stderr, /^xsmeter bench: --baud 12345 is not a serial line speed[^\n]*\n$/);
      const d = await xsmeter(['bench', 'verify', '--target', 'sim', '--baud', '9600', '--class', '0.5S']);
      assert.equal(d.code, 2);
      assert.match(d.stderr, /--baud is only for --target \/dev\/ttyX/);
    });
  });
  describe('xsmeter sim --serial: the meter on a serial device too (two ptys, python3)', function () {
    const children: ChildProcess[] = [];
    let ptyBench = '';
    let rigUrl = '';
    let sim: Awaited<ReturnType<typeof startPrinting>> | undefined;

    before(async function () {
      const why = noPty();
      if (why) {
        console.log(`      skipped: python3 with os.openpty() is not available (${why})`);
        this.skip();
      }
      // bench → /dev/pts/A → bridge A → TCP → bridge B → /dev/pts/B → meter.
      const meterSide = await startPrinting('python3', [BRIDGE, 'listen'], ['pty', 'tcp']);
      children.push(meterSide.child);
      sim = await startPrinting(process.execPath, ['bin/xsmeter.js', 'sim', '--serial', meterSide.values.pty, '--baud', '57600', '--rig', '0', '--seed', String(SEED + 1)], ['service', 'rig']);
      children.push(sim.child);
      assert.equal(sim.values.service, meterSide.values.pty);
      rigUrl = sim.values.rig;
      const benchSide = await startPrinting('python3', [BRIDGE, 'connect', '127.0.0.1', meterSide.values.tcp], ['pty']);
      children.push(benchSide.child);
      ptyBench = benchSide.values.pty;
      assert.match(spawnSync('stty', ['-F', meterSide.values.pty, '-a'], { encoding: 'utf8' }).stdout, /speed 57600 baud/);
    });
    after(async () => {
      for (const c of children.reverse()) await stop(c);
    });

    it('bench calibrate over serial on both ends seals the meter; the sim exits cleanly on SIGTERM', async () => {
      const r = await xsmeter(['bench', 'calibrate', '--target', ptyBench, '--rig', rigUrl, '--class', '0.5S', '--min-seconds', '600', '--progress', 'none', '--bench-id', 'bench-1', '--operator', 'op']);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.match(r.stdout, new RegExp(`^meter XSM${meterIdForSeed(SEED + 1)} `));
      assert.match(r.stdout, /\nSEALED\n$/);
      const exit = new Promise<number | null>((resolve) => sim?.child.once('exit', (code) => resolve(code)));
      sim?.child.kill('SIGTERM');
      assert.equal(await exit, 0);
      assert.match(sim?.stderr() ?? '', /bench meter stopped after [\d.]+ h of bench time, sealed/);
    });

    it('xsmeter sim refuses a missing device, --serial with --listen, and --baud without --serial, with one line', async () => {
      const cases: [string[], RegExp, number][] = [
        [['sim', '--serial', '/dev/ttyXSMETER-NONE', '--rig', '0'], /^xsmeter sim: \/dev\/ttyXSMETER-NONE: no such device\n$/, 2],
        [['sim', '--serial', ptyBench, '--listen', '0', '--rig', '0'], /^xsmeter sim: --serial and --listen are two places/, 2],
        [['sim', '--listen', '0', '--baud', '9600', '--rig', '0'], /^xsmeter sim: --baud is only for --serial PATH\n$/, 2],
      ];
      for (const [args, re, code] of cases) {
        const r = await xsmeter(args);
        assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, re);
      }
    });
  });
});
