import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { promisify } from 'node:util';
import { fromHex, toHex } from '../modules/core/bytes.js';
import { OpticalPush } from '../modules/sml/optical-push.js';
import { serverIdOf } from '../modules/sml/server-id.js';
import { xsmeter } from './helpers/cli.js';
import { MemoryPort, join } from './helpers/sml.js';
import { readVectors } from './helpers/vectors.js';

const execFileP = promisify(execFile);
const V = readVectors<{ files: { name: string; hex: string }[] }>('sml.json');
const lines = (s: string): Record<string, unknown>[] =>
  s
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** Three push files of a meter whose A+ rises by 1 Wh a second; power shown (PIN entered). */
function pushStream(): Uint8Array {
  const port = new MemoryPort();
  let t = 0;
  let wh = 1_000_000;
  const push = new OpticalPush({
    port,
    clock: { ticks: () => t },
    source: { readings: () => [{ obis: '1.8.0', value: wh++ }, { obis: '2.8.0', value: 7 }, { obis: '16.7.0', value: -3600, scaler: -1 }], status: () => 4 },
    serverId: serverIdOf('XSM', 12345678),
    details: { visible: () => true },
  });
  for (; t < 3000; t += 1000) push.poll();
  return port.take();
}

describe('cli: xsmeter sml decode', function () {
  this.timeout(60_000);
  let dir: string;
  before(async () => {
    await execFileP(process.execPath, ['scripts/build.mjs']);
    dir = mkdtempSync(joinPath(tmpdir(), 'xsmeter-sml-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('decodes a real meter file from hex on stdin with the values its source expects', async () => {
    const r = await xsmeter(['sml', 'decode'], V.files[0].hex.replace(/(.{64})/g, '$1\n') + '\n');
    assert.equal(r.code, 0, r.stderr);
    const [f] = lines(r.stdout);
    assert.deepEqual(f.messages, ['open-res', 'get-list-res', 'close-res']);
    const values = f.values as Record<string, unknown>[];
    assert.deepEqual(values[0], { obis: '129-129:199.130.3*255', hex: '454d48', text: 'EMH' });
    assert.deepEqual(
      values.filter((v) => 'value' in v).map((v) => [v.obis, v.unit, v.value]),
      [
        ['1-0:1.8.1*255', 'Wh', 14796777.1],
        ['1-0:1.8.2*255', 'Wh', 2012.4],
        ['1-0:1.7.0*255', 'W', 11.2],
      ],
    );
  });

  it('reads a raw push stream from a file: one line per SML file, scaler applied', async () => {
    const path = joinPath(dir, 'push.bin');
    writeFileSync(path, pushStream());
    const r = await xsmeter(['sml', 'decode', path, '--format', 'raw']);
    assert.equal(r.code, 0, r.stderr);
    const out = lines(r.stdout);
    assert.deepEqual(out.map((o) => o.file), [1, 2, 3]);
    assert.equal(out[2].serverId, '0a0158534d0000bc614e');
    assert.equal(out[2].sensorTime, 2);
    assert.deepEqual(
      (out[2].values as Record<string, unknown>[]).slice(2),
      [
        { obis: '1-0:1.8.0*255', unit: 'Wh', value: 1000002, scaler: 0, status: 4 },
        { obis: '1-0:2.8.0*255', unit: 'Wh', value: 7, scaler: 0 },
        { obis: '1-0:16.7.0*255', unit: 'W', value: -360, scaler: -1 },
      ],
    );
  });

  it('reports bad CRCs, bad escapes and truncation as typed one-line errors, reads on, exits 1', async () => {
    const s = pushStream();
    const one = s.length / 3;
    const good = s.subarray(0, one);
    const crc = good.slice();
    crc[crc.length - 2] ^= 0x10;
    const esc = join(good.subarray(0, 24), fromHex('1b1b1b1b02020202'));
    const stream = join(fromHex('0000ff'), crc, good, esc, good, good.subarray(0, 50));
    const r = await xsmeter(['sml', 'decode', '-'], toHex(stream));
    assert.equal(r.code, 1);
    const out = lines(r.stdout);
    assert.deepEqual(
      out.map((o) => (o.error ? (o.error as { code: string }).code : 'ok')),
      ['crc', 'ok', 'escape', 'ok', 'truncated'],
    );
    assert.deepEqual(out.map((o) => o.offset), [3, 3 + one, 3 + 2 * one, 3 + 2 * one + 32, 3 + 3 * one + 32]);
    assert.match((out[0].error as { message: string }).message, /CRC/);
    assert.match(r.stderr, /^xsmeter sml: 3 bytes outside SML files skipped$/m);
    assert.match(r.stderr, /^xsmeter sml: 3 of 5 files failed$/m);
  });

  it('says when there is no SML at all, and refuses bad usage with exit code 2', async () => {
    const none = await xsmeter(['sml', 'decode', '--format', 'raw'], 'hello, not SML\n');
    assert.equal(none.code, 1);
    assert.match(none.stderr, /^xsmeter sml: no SML file in 15 bytes$/m);
    const cases: [string[], RegExp][] = [
      [['sml'], /which sml command/],
      [['sml', 'encode'], /unknown sml command "encode"/],
      [['sml', 'decode', '--format', 'base64'], /--format must be auto, raw or hex/],
      [['sml', 'decode', '--max-file', '5'], /--max-file must be an integer/],
      [['sml', 'decode', 'a', 'b'], /at most one FILE/],
      [['sml', 'decode', '--bogus'], /bogus/],
    ];
    for (const [args, re] of cases) {
      const r = await xsmeter(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, re);
      assert.equal(r.stderr.trim().split('\n').length, 1);
    }
    const missing = await xsmeter(['sml', 'decode', joinPath(dir, 'missing.bin')]);
    assert.equal(missing.code, 2, 'an unusable input file');
    assert.match(missing.stderr, /^xsmeter sml: cannot open .*missing\.bin: no such file or directory\n$/);
    const directory = await xsmeter(['sml', 'decode', dir]);
    assert.equal(directory.code, 2);
    assert.equal(directory.stderr, `xsmeter sml: cannot read ${dir}: is a directory\n`);
    const notHex = await xsmeter(['sml', 'decode', '--format', 'hex'], '1b1b zz');
    assert.equal(notHex.code, 2, 'unusable input');
    assert.equal(notHex.stderr, 'xsmeter sml: input is not hex: "z" (use --format raw for binary)\n');
    const stdinDirectory = spawnSync(process.execPath, ['bin/xsmeter.js', 'sml', 'decode'], { stdio: [openSync(dir, 'r'), 'pipe', 'pipe'], encoding: 'utf8' });
    assert.equal(stdinDirectory.status, 2);
    assert.equal(stdinDirectory.stderr, 'xsmeter sml: stdin is a directory\n');
    const h = await xsmeter(['sml', '--help']);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /^usage: xsmeter sml decode/);
  });
});

describe('cli: xsmeter sml decode on a serial line (bytes as they trickle in)', function () {
  this.timeout(60_000);
  /** The binary reading stdin we feed: `first`, a pause (a serial read returns what has come), the rest. */
  function trickle(first: Uint8Array, rest: Uint8Array): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const p = spawn(process.execPath, ['bin/xsmeter.js', 'sml', 'decode']);
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d));
    p.stderr.on('data', (d: Buffer) => (stderr += d));
    p.stdin.write(first);
    setTimeout(() => p.stdin.end(rest), 400);
    return new Promise((resolve) => p.on('close', (code) => resolve({ code, stdout, stderr })));
  }

  it('--format auto: a raw stream whose first read is one byte that looks like hex ("b") is still raw', async () => {
    const stream = pushStream();
    for (const first of [Uint8Array.of(0x62), stream.subarray(0, 1), stream.subarray(0, 8)]) {
      const rest = first.length === 1 && first[0] === 0x62 ? stream : stream.subarray(first.length);
      const r = await trickle(first, rest);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(lines(r.stdout).length, 3, toHex(first));
    }
  });

  it('stops at the first SIGTERM while no bytes come (an idle IR head), with its summary', async () => {
    const p = spawn(process.execPath, ['bin/xsmeter.js', 'sml', 'decode'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d));
    p.stderr.on('data', (d: Buffer) => (stderr += d));
    p.stdin.write(pushStream());
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const t0 = performance.now();
    p.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => p.on('close', resolve));
    assert.ok(performance.now() - t0 < 3000, 'stopped at once');
    assert.equal(code, 0, stderr);
    assert.equal(lines(stdout).length, 3);
    p.stdin.destroy();
  });
});

describe('cli: xsmeter sim --sml (the optical push of meter 0)', function () {
  this.timeout(120_000);
  let dir: string;
  before(async () => {
    await execFileP(process.execPath, ['scripts/build.mjs']);
    dir = mkdtempSync(joinPath(tmpdir(), 'xsmeter-simsml-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('`sim --sml - | sml decode`: a file a second on stdout, raw; the table and summary go to stderr', async () => {
    const { stdout, stderr } = await execFileP('sh', ['-c', 'node bin/xsmeter.js sim --meters 2 --duration 10m --sml - | node bin/xsmeter.js sml decode'], { maxBuffer: 1 << 26 });
    const out = lines(stdout);
    assert.equal(out.length, 601);
    assert.deepEqual(out.map((o) => o.sensorTime), out.map((_, i) => i));
    assert.ok(out.every((o) => !o.error && (o.values as { obis: string }[]).some((v) => v.obis === '1-0:1.8.0*255')));
    assert.match(stderr, /simulated 10 min .* of 2 meters/);
    assert.match(stderr, /A\+ kWh/);
  });

  it('a reader that stops early ends the run quietly (exit 0)', async () => {
    const r = await xsmeter(['sim', '--meters', '1', '--duration', '30d', '--sml', '-'], '', { closeStdoutAfter: 0 });
    assert.equal(r.code, 0, r.stderr);
  });

  it('refuses what cannot work, with exit code 2 and one line', async () => {
    const cases: [string[], RegExp][] = [
      [['--sml-pin', '1234'], /--sml-pin is for meter 0's optical interface: give --sml FILE/],
      [['--sml', '-', '--sml-pin', '12'], /--sml-pin must be four decimal digits/],
      [['--sml', '-', '--format', 'json'], /--sml - and --format json would both write to stdout/],
      [['--sml', '-', '--pin-at', '1h'], /--pin-at 1h: which digits\? give --sml-pin PIN, or 1h=DIGITS/],
      [['--sml', '-', '--pin-at', '1x=1234'], /--pin-at: "1x" is not a duration/],
      // README: 0.5 s between flashes, 4 s between digits, a 3 s pause ends a digit: 1234 is 15 s of
      // flashes and 3 s more. One after the run was never flashed; two at once made a wrong PIN.
      [['--sml', '-', '--sml-pin', '1234', '--pin-at', '2m'], /--pin-at 2m=1234: its last flash comes 135 s after the start, not within --duration 1 min$/m],
      [['--sml', '-', '--sml-pin', '1234', '--pin-at', '50s'], /--pin-at 50s=1234: its last flash comes 65 s after the start/],
      [['--sml', '-', '--sml-pin', '1234', '--pin-at', '0,17s=0000'], /--pin-at 0=1234 and 17s=0000 overlap: the first one's flashes, and the 3 s that end its last digit, last until 18 s after the start$/m],
      [['--tariffs', '06:00=2'], /--tariffs: tariff 1 is never switched to/],
      [['--tariffs', '25:00=1'], /--tariffs: "25:00=1" is not HH:MM=T/],
      [['--sml', joinPath(dir, 'no', 'such', 'dir', 'push.bin')], /--sml .*push\.bin: cannot write: no such file or directory/],
      [['--rig', '0', '--listen', '0', '--sml', '-'], /--sml does not apply to --rig/],
    ];
    for (const [args, re] of cases) {
      const r = await xsmeter(['sim', ...(args[0] === '--rig' ? [] : ['--duration', '1m']), ...args]);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, re);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  });

  it('--tariffs is a fleet setting: kept by a saved fleet, another value refused', async () => {
    const state = joinPath(dir, 'state');
    const first = await xsmeter(['sim', '--meters', '1', '--duration', '1h', '--tariffs', '06:00=1,22:00=2', '--state', state]);
    assert.equal(first.code, 0, first.stderr);
    const again = await xsmeter(['sim', '--duration', '1h', '--state', state, '--sml', joinPath(dir, 'p.bin')]);
    assert.equal(again.code, 0, again.stderr);
    const [f] = lines((await xsmeter(['sml', 'decode', joinPath(dir, 'p.bin')])).stdout);
    assert.deepEqual((f.values as { obis: string }[]).map((v) => v.obis).slice(2), ['1-0:1.8.0*255', '1-0:2.8.0*255', '1-0:1.8.1*255', '1-0:1.8.2*255', '1-0:2.8.1*255', '1-0:2.8.2*255']);
    const other = await xsmeter(['sim', '--duration', '1h', '--state', state, '--tariffs', '07:00=1,21:00=2']);
    assert.equal(other.code, 2);
    assert.match(other.stderr, /--tariffs 07:00=1,21:00=2 \(saved: --tariffs 06:00=1,22:00=2\)/);
  });
});
