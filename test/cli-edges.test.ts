/**
 * The `xsmeter` binary at the edges, as users meet them: a reader that closes the pipe early
 * (`| head`), paths that cannot be written, state and key files that are not JSON or not what they
 * should be, missing files, and the exit codes (0 ok, 1 the work failed, 2 bad usage or input) being
 * the same in every command. Every case runs the real binary (test/helpers/cli.ts) and checks that
 * the failure is one line naming the path and the reason, never a stack trace.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, openSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keysNotOnP256 } from './helpers/p256-points.js';
import { fromHex, toHex } from '../modules/core/bytes.js';
import { buildTelegram } from '../modules/wmbus-tx/telegram.js';
import { nobleCrypto } from '../hosts/sim/noble-crypto.js';
import { SimFlash } from '../hosts/sim/sim-flash.js';
import { CalibrationLog } from '../modules/sealing/calibration-log.js';
import { FlashRegion } from '../modules/storage/flash-region.js';
import { KEYS_A, KEYS_B, TestClock } from './helpers/sealing-fixtures.js';
import { startXsmeter, stopWithin, xsmeter, type CliRun } from './helpers/cli.js';

const KEY = '000102030405060708090a0b0c0d0e0f';

/** One line on stderr, "xsmeter CMD: …", matching `re`; no stack trace. */
function oneLine(r: CliRun, cmd: string, re: RegExp): void {
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], new RegExp(`^xsmeter${cmd ? ` ${cmd}` : ''}: `));
  assert.match(lines[0], re);
  assert.doesNotMatch(r.stderr, /\n\s+at |internal error/);
}

describe('xsmeter at the edges (the binary)', function () {
  this.timeout(60_000);
  let dir: string;
  let frames: string[];
  before(() => {
    execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'ignore' });
    dir = mkdtempSync(join(tmpdir(), 'xsmeter-edges-'));
    // Input frames (the encoder in-process; `encode` itself is run below).
    frames = Array.from({ length: 200 }, (_, i) =>
      toHex(
        buildTelegram({
          header: { control: 0x44, manufacturer: 'XSM', id: '12345678', version: 1, deviceType: 2 },
          registers: [{ obis: '1.8.0', value: (i + 1) * 10 }],
          security: { mode: 7, key: nobleCrypto.aesKey(fromHex(KEY)), crypto: nobleCrypto },
          counters: { accessNumber: (i + 1) & 0xff, messageCounter: i + 1 },
        }),
      ),
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('--version prints the package version, exit 0', async () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    for (const args of [['--version'], ['sim', '--version']]) {
      const r = await xsmeter(args);
      assert.equal(r.code, 0);
      assert.equal(r.stdout, `xsmeter ${pkg.version}\n`);
    }
    // encode's own --version N (the A field's version byte, EN 13757-4) is not the program's.
    const r = await xsmeter(['encode', '--id', '12345678', '--key', KEY, '--counter', '1', '--set', '1.8.0=1', '--version', '53']);
    assert.equal(r.code, 0, r.stderr);
    // L, C, M (2 bytes), id (4 bytes, 78563412), then the version byte: 53 = 0x35.
    assert.match(r.stdout, /^[0-9a-f]{8}78563412(..)/);
    assert.equal(r.stdout.slice(16, 18), '35');
  });

  it('stdout on a full device (/dev/full): one line, exit 1, in every command', function () {
    if (!existsSync('/dev/full')) this.skip();
    const cases: [string, string[], string][] = [
      ['', ['--version'], ''],
      ['decode', ['decode', '--help'], ''],
      ['decode', ['decode', '--key', KEY], frames.slice(0, 20).join('\n') + '\n'],
      ['sim', ['sim', '--meters', '2', '--duration', '2h', '--format', 'hex', '--progress', '0'], ''],
    ];
    for (const [cmd, args, input] of cases) {
      const full = openSync('/dev/full', 'w');
      try {
        const r = spawnSync(process.execPath, ['bin/xsmeter.js', ...args], { input, stdio: ['pipe', full, 'pipe'], encoding: 'utf8', timeout: 60_000 });
        assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
        oneLine({ code: r.status ?? -1, stdout: '', stderr: r.stderr }, cmd, /cannot write stdout: no space left on device$/);
      } finally {
        closeSync(full);
      }
    }
  });

  it('sim --sml FILE on a full device: one line naming the file, exit 1; the --state saved continues', async function () {
    if (!existsSync('/dev/full')) this.skip();
    const state = join(dir, 'sml-full');
    const r = await xsmeter(['sim', '--meters', '1', '--duration', '1h', '--format', 'hex', '--progress', '0', '--sml', '/dev/full', '--state', state], '', { killAfterMs: 30_000 });
    assert.equal(r.code, 1, r.stderr);
    oneLine(r, 'sim', /^xsmeter sim: cannot write \/dev\/full: no space left on device$/);
    const again = await xsmeter(['sim', '--duration', '1h', '--format', 'hex', '--state', state]);
    assert.equal(again.code, 0, again.stderr);
  });

  it('decode: a line longer than any frame is one error line and reading goes on; a directory as stdin is exit 2', async () => {
    const r = await xsmeter(['decode', '--key', KEY], '0'.repeat(200_000) + '\n' + frames[0] + '\r\n' + frames[1]);
    assert.equal(r.code, 1, r.stderr);
    const out = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { line: number; counter?: number; error?: { code: string; message: string } });
    assert.deepEqual(out.map((o) => [o.line, o.counter ?? o.error?.code]), [[1, 'bad-input'], [2, 1], [3, 2]]);
    assert.match(out[0].error!.message, /a line of 200000 characters: longer than any frame \(at most 65536\)/);
    const d = spawnSync(process.execPath, ['bin/xsmeter.js', 'decode', '--key', KEY], { stdio: [openSync(dir, 'r'), 'pipe', 'pipe'], encoding: 'utf8' });
    assert.equal(d.status, 2);
    oneLine({ code: d.status ?? -1, stdout: '', stderr: d.stderr }, 'decode', /stdin is a directory$/);
  });

  it('decode --state: one decoder at a time (FILE.lock); counters beyond their fields refused, exit 2', async () => {
    const state = join(dir, 'locked-replay.json');
    // This test's own process stands for a decoder that holds the file.
    writeFileSync(`${state}.lock`, `${process.pid}\n`);
    let r = await xsmeter(['decode', '--key', KEY, '--state', state], frames[0] + '\n');
    assert.equal(r.code, 2, r.stderr);
    oneLine(r, 'decode', new RegExp(`${state} is in use by process ${process.pid} \\(another xsmeter decode\\)`));
    assert.equal(r.stdout, '');
    rmSync(`${state}.lock`);
    for (const [entry, re] of [
      ['{"messageCounter": 1e400}', /"s"\.messageCounter null is not an integer from 0 to 4294967295/],
      ['{"messageCounter": 4294967296}', /messageCounter 4294967296 is not an integer from 0 to 4294967295/],
      ['{"accessNumber": -5}', /accessNumber -5 is not an integer from 0 to 255/],
      ['{"sessionNumber": 0.5}', /sessionNumber 0\.5 is not an integer/],
      ['{"counter": 3}', /counter 3 is not a replay counter/],
    ] as [string, RegExp][]) {
      writeFileSync(state, `{"s": ${entry}}`);
      r = await xsmeter(['decode', '--key', KEY, '--state', state], frames[0] + '\n');
      assert.equal(r.code, 2, entry);
      oneLine(r, 'decode', re);
    }
    assert.equal(existsSync(`${state}.lock`), false, 'released');
  });

  it('decode --state with stdout on a full device: the frames whose lines were lost are decoded again next time', async function () {
    if (!existsSync('/dev/full')) this.skip();
    const state = join(dir, 'full-replay.json');
    const input = frames.slice(0, 40).join('\n') + '\n';
    const full = openSync('/dev/full', 'w');
    try {
      const r = spawnSync(process.execPath, ['bin/xsmeter.js', 'decode', '--key', KEY, '--state', state], { input, stdio: ['pipe', full, 'pipe'], encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 1, r.stderr);
      oneLine({ code: r.status ?? -1, stdout: '', stderr: r.stderr }, 'decode', /cannot write stdout: no space left on device$/);
    } finally {
      closeSync(full);
    }
    // Not one line reached a reader, so no counter may be in the replay state: all 40 decode now.
    const again = await xsmeter(['decode', '--key', KEY, '--state', state], input);
    assert.equal(again.code, 0, again.stderr);
    const lines = again.stdout.trim().split('\n').map((l) => JSON.parse(l) as { counter?: number; error?: unknown });
    assert.deepEqual(
      lines.map((l) => l.counter),
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
    // …and now that they were written, they are replays.
    const third = await xsmeter(['decode', '--key', KEY, '--state', state], frames[39] + '\n');
    assert.equal(third.code, 1);
    assert.match(third.stdout, /"code":"counter-replay"/);
  });

  describe('a reader that stops early (| head): quiet, exit 0', () => {
    it('sim --format hex | head -2: stops the run early, saves its state, prints nothing else', async () => {
      const state = join(dir, 'head-sim');
      const r = await xsmeter(['sim', '--format', 'hex', '--duration', '365d', '--state', state], '', { closeStdoutAfter: 2 });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.equal(r.stdout.trim().split('\n').length, 2);
      // It stopped because nobody reads, not at the end of the year: the saved clock is early.
      const saved = JSON.parse(readFileSync(join(state, 'sim.json'), 'utf8')) as { wallMs: number };
      assert.ok(saved.wallMs < Date.UTC(2026, 0, 31), new Date(saved.wallMs).toISOString());
      // …and the state it saved continues.
      const again = await xsmeter(['sim', '--duration', '1h', '--state', state, '--format', 'hex']);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stderr, /continued from the saved state/);
    });

    it('sim (table) | head -1 and sim --format json | head -1', async () => {
      for (const args of [['sim', '--duration', '2h'], ['sim', '--duration', '30d', '--format', 'json']]) {
        const r = await xsmeter(args, '', { closeStdoutAfter: 1 });
        assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
        assert.equal(r.stderr, '', args.join(' '));
      }
    });

    it('decode | head -1 on 200 frames: stops reading, still saves the replay state of what it read', async () => {
      const state = join(dir, 'head-replay.json');
      const r = await xsmeter(['decode', '--key', KEY, '--state', state], frames.join('\n') + '\n', { closeStdoutAfter: 1 });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      // The next run: the frames whose lines were written are refused as replays, the rest decode
      // (the one whose line met the closed pipe too: its state was not kept).
      const again = await xsmeter(['decode', '--key', KEY, '--state', state], frames.join('\n') + '\n');
      const verdicts = again.stdout
        .trim()
        .split('\n')
        .map((l) => ((JSON.parse(l) as { error?: { code: string } }).error?.code ?? 'ok'));
      const replays = verdicts.filter((v) => v === 'counter-replay').length;
      assert.ok(replays >= 1 && replays < 200, `${replays} replays`);
      assert.deepEqual(verdicts, [...Array<string>(replays).fill('counter-replay'), ...Array<string>(200 - replays).fill('ok')]);
    });

    it('sml decode | head -1 on a day of pushes: the file it was in when stopped is no failure, exit 0, nothing on stderr', async () => {
      const push = join(dir, 'head-push.bin');
      assert.equal((await xsmeter(['sim', '--meters', '1', '--duration', '1h', '--sml', push])).code, 0);
      const r = await xsmeter(['sml', 'decode', push], '', { closeStdoutAfter: 1 });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.match(r.stdout, /^\{"file":1,"offset":0,/);
    });

    it('encode, log show and bench with stdout already closed', async () => {
      const demo = join(dir, 'head-log');
      const pub = (await xsmeter(['log', 'demo', '--out', demo])).stdout.trim();
      const cases = [
        ['encode', '--id', '12345678', '--key', KEY, '--counter', '1', '--set', '1.8.0=1'],
        ['log', 'show', join(demo, 'log.json'), '--pubkey', pub],
        ['log', 'demo', '--out', join(dir, 'head-log2')],
        ['bench', 'verify', '--target', 'sim', '--class', '1', '--min-seconds', '60', '--errors', 'perfect', '--progress', 'none', '--bench-id', 'B1', '--operator', 'op'],
      ];
      for (const args of cases) {
        const r = await xsmeter(args, '', { closeStdoutAfter: 0 });
        assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
        assert.doesNotMatch(r.stderr, /\n\s+at |EPIPE|internal error/, args.join(' '));
      }
    });
  });

  describe('files that cannot be written or read: one line naming the path and the reason, exit 2', () => {
    it('sim --state: a file where a directory is expected, a path under a file', async () => {
      const file = join(dir, 'plain-file');
      writeFileSync(file, 'x');
      let r = await xsmeter(['sim', '--duration', '1h', '--state', file]);
      assert.equal(r.code, 2);
      oneLine(r, 'sim', new RegExp(`cannot create directory ${file}: a part of the path is not a directory`));
      r = await xsmeter(['sim', '--duration', '1h', '--state', join(file, 'sub')]);
      assert.equal(r.code, 2);
      oneLine(r, 'sim', /a part of the path is not a directory/);
    });

    it('--state and --out under /proc (a parent that cannot hold a child): one line at once, not a spin', async function () {
      // Node's recursive mkdir loops for ever there (ENOENT for the child, EEXIST for /proc).
      if (!existsSync('/proc/self')) this.skip();
      const bench = ['bench', 'verify', '--target', 'sim', '--class', '1', '--min-seconds', '60', '--errors', 'perfect', '--progress', 'none', '--bench-id', 'B1', '--operator', 'op'];
      const cases: [string, string[]][] = [
        ['sim', ['sim', '--duration', '1h', '--state', '/proc/xsmeter-test/fleet']],
        ['log', ['log', 'demo', '--out', '/proc/xsmeter-test/log']],
        ['bench', [...bench, '--state', '/proc/xsmeter-test/meter']],
      ];
      for (const [cmd, args] of cases) {
        const r = await xsmeter(args, '', { killAfterMs: 20_000 });
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        oneLine(r, cmd, /cannot create directory \/proc\/xsmeter-test: no such file or directory/);
      }
    });

    it('decode --state: a directory, a missing directory; checked before any frame is read', async () => {
      let r = await xsmeter(['decode', '--key', KEY, '--state', dir], frames[0] + '\n');
      assert.equal(r.code, 2);
      oneLine(r, 'decode', new RegExp(`--state ${dir}: cannot write: is a directory`));
      assert.equal(r.stdout, '');
      r = await xsmeter(['decode', '--key', KEY, '--state', join(dir, 'no', 'such', 'state.json')], frames[0] + '\n');
      assert.equal(r.code, 2);
      oneLine(r, 'decode', /state\.json: cannot write: no such file or directory/);
      assert.equal(r.stdout, '');
    });

    it('log export --out and log demo --out into a directory that is not there or not a directory', async () => {
      const demo = join(dir, 'out-log');
      await xsmeter(['log', 'demo', '--out', demo]);
      let r = await xsmeter(['log', 'export', '--image', join(demo, 'flash.bin'), '--keys', join(demo, 'keys.json'), '--out', join(dir, 'missing', 'log.json')]);
      assert.equal(r.code, 2);
      oneLine(r, 'log', /--out .*missing\/log\.json: cannot write: no such file or directory/);
      r = await xsmeter(['log', 'export', '--image', join(demo, 'flash.bin'), '--keys', join(demo, 'keys.json'), '--out', demo]);
      assert.equal(r.code, 2);
      oneLine(r, 'log', /cannot write: is a directory/);
      // Its own input (by name, or through a link) is not overwritten.
      const image = readFileSync(join(demo, 'flash.bin'));
      const keysText = readFileSync(join(demo, 'keys.json'), 'utf8');
      symlinkSync(join(demo, 'flash.bin'), join(dir, 'image-link.bin'));
      for (const [out, opt] of [[join(demo, 'flash.bin'), 'image'], [join(demo, 'keys.json'), 'keys'], [join(dir, 'image-link.bin'), 'image']]) {
        r = await xsmeter(['log', 'export', '--image', join(demo, 'flash.bin'), '--keys', join(demo, 'keys.json'), '--out', out]);
        assert.equal(r.code, 2, out);
        oneLine(r, 'log', new RegExp(`--out ${out} is the --${opt} file: the export would overwrite what it reads`));
      }
      assert.deepEqual(readFileSync(join(demo, 'flash.bin')), image);
      assert.equal(readFileSync(join(demo, 'keys.json'), 'utf8'), keysText);
      const file = join(dir, 'a-file');
      writeFileSync(file, '');
      r = await xsmeter(['log', 'demo', '--out', file]);
      assert.equal(r.code, 2);
      oneLine(r, 'log', new RegExp(`${file}`));
    });

    it('bench conditions out of range, two --key options for one meter: exit 2 before any work', async () => {
      const bench = ['bench', 'verify', '--target', 'sim', '--class', '1', '--bench-id', 'B1', '--operator', 'op', '--progress', 'none'];
      for (const [extra, re] of [
        [['--temperature', '9999'], /--temperature must be a number from -40 to 85/],
        [['--humidity', '101'], /--humidity must be a number from 0 to 100/],
        [['--frequency', '5'], /--frequency must be a number from 45 to 65/],
      ] as [string[], RegExp][]) {
        const r = await xsmeter([...bench, ...extra]);
        assert.equal(r.code, 2, `${extra.join(' ')}: ${r.stderr}`);
        oneLine(r, 'bench', re);
        assert.equal(r.stdout, '');
      }
      const config = join(dir, 'hot-bench.json');
      const example = JSON.parse(readFileSync('tools/calibration-bench/bench.example.json', 'utf8')) as { conditions?: Record<string, number> };
      // Named as the file's other fields are: the file and the field (was "--bench-config: conditions.…").
      for (const [field, value, range] of [['temperatureC', 300, '-40 to 85'], ['humidityPct', -1, '0 to 100'], ['frequencyHz', 70, '45 to 65']] as const) {
        writeFileSync(config, JSON.stringify({ ...example, conditions: { ...example.conditions, [field]: value } }));
        const r = await xsmeter([...bench, '--bench-config', config]);
        assert.equal(r.code, 2, r.stderr);
        oneLine(r, 'bench', new RegExp(`^xsmeter bench: ${config}: "conditions\\.${field}" must be from ${range}, got ${value}$`));
      }
      const r = await xsmeter(['decode', '--key', `12345678:${KEY}`, '--key', `12345678:${KEY}`], frames[0] + '\n');
      assert.equal(r.code, 2);
      oneLine(r, 'decode', /two --key options for meter 12345678/);
    });

    it('bench --pubkey of the right form that is no P-256 point: exit 2, "not a P-256 point", before the meter is made (was refused by the meter as another key)', async () => {
      const state = join(dir, 'no-point-meter');
      for (const key of keysNotOnP256()) {
        const r = await xsmeter(['bench', 'calibrate', '--target', 'sim', '--class', '1', '--bench-id', 'B1', '--operator', 'op', '--progress', 'none', '--state', state, '--pubkey', key]);
        assert.equal(r.code, 2, `${key}: ${r.stderr}`);
        assert.equal(r.stderr, 'xsmeter bench: --pubkey is not a P-256 point (no point of the curve has its x coordinate)\n');
        assert.equal(r.stdout, '');
        assert.equal(existsSync(state), false, 'no meter made');
      }
    });

    it('log export: a committed record damaged in place is refused (exit 1, naming where); a write cut before its commit byte is no record, exit 0', async () => {
      const demo = join(dir, 'damaged-log');
      assert.equal((await xsmeter(['log', 'demo', '--out', demo])).code, 0);
      const image = readFileSync(join(demo, 'flash.bin'));
      // The log's first sector is appended from its start; its last byte written is the newest
      // record's commit byte (0x00), written after the whole frame.
      let end = 4096;
      while (end > 0 && image[end - 1] === 0xff) end--;
      assert.equal(image[end - 1], 0x00);
      const all = JSON.parse((await xsmeter(['log', 'export', '--image', join(demo, 'flash.bin'), '--keys', join(demo, 'keys.json')])).stdout) as { records: unknown[] };
      const variant = join(dir, 'damaged.bin');
      const exportOf = (change: (b: Buffer) => void) => {
        const b = Buffer.from(image);
        change(b);
        writeFileSync(variant, b);
        return xsmeter(['log', 'export', '--image', variant, '--keys', join(demo, 'keys.json')]);
      };
      // A bit of its payload flipped: committed, then altered (a flash cell, a writer).
      let r = await exportOf((b) => (b[end - 60] ^= 0x01));
      assert.equal(r.code, 1, r.stderr);
      oneLine(r, 'log', /damaged\.bin: a committed record is damaged \(sector 0 byte \d+: its CRC does not check\): the export would leave it out/);
      assert.equal(r.stdout, '');
      // Cut before its commit byte (a power loss during the append): the log never had it.
      r = await exportOf((b) => (b[end - 1] = 0xff));
      assert.equal(r.code, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { records: unknown[] }).records.length, all.records.length - 1);
    });

    it('log export: sector options outside the image, an empty image: exit 2 (they were exit 1, failures of the work)', async () => {
      const demo = join(dir, 'sectors-log');
      assert.equal((await xsmeter(['log', 'demo', '--out', demo])).code, 0);
      const base = ['log', 'export', '--image', join(demo, 'flash.bin'), '--keys', join(demo, 'keys.json')];
      for (const [extra, re] of [
        [['--first-sector', '100'], /--first-sector 100 does not fit the image's sectors 0…15/],
        [['--sectors', '1'], /--first-sector 0 --sectors 1 does not fit .* \(a log takes at least 2\)/],
        [['--sectors', '1000000'], /--sectors 1000000 does not fit/],
        [['--first-sector', '1e3'], /--first-sector must be a non-negative integer/],
        // Sectors too small for one record: no log was written with them (was exit 1, a "geometry" failure).
        [['--sector-size', '1'], /--sector-size 1: sector size 1 is too small for a record/],
        [['--sector-size', '16'], /--sector-size 16: sector size 16 is too small for a record/],
      ] as [string[], RegExp][]) {
        const r = await xsmeter([...base, ...extra]);
        assert.equal(r.code, 2, `${extra.join(' ')}: ${r.stderr}`);
        oneLine(r, 'log', re);
      }
      let r = await xsmeter(['log', 'export', '--image', '/dev/null', '--keys', join(demo, 'keys.json')]);
      assert.equal(r.code, 2, r.stderr);
      oneLine(r, 'log', /the image is not a calibration partition/);
      // Smaller sectors than the demo's 4096 bytes cut its records (9, 1.4 KB in its first sector):
      // refused as the wrong option, exit 2. 1024 was a warning, then a signed head over 6 records.
      for (const size of ['512', '1024']) {
        r = await xsmeter([...base, '--sector-size', size]);
        assert.equal(r.code, 2, r.stderr);
        oneLine(r, 'log', new RegExp(`the record at byte \\d+ of sector 0 runs past the sector's end: the log was written with larger sectors than --sector-size ${size}, the export would miss records`));
        assert.equal(r.stdout, '');
      }
    });

    it('log export: --first-sector/--sectors that leave out a log sector or take in another store are exit 2 (were exit 1, or a signed export of part of the log); a log whose first sector was erased stays exit 1', async () => {
      // A log of three sectors (80 records), where the flash map puts it (sectors 0…13 of 16).
      const keys = KEYS_A;
      const partition = new SimFlash({ sectorSize: 4096, sectorCount: 16 });
      const log = CalibrationLog.open({ flash: new FlashRegion(partition, 0, 14), keys, crypto: nobleCrypto, clock: new TestClock(), deviceId: 'XSM-00000009' });
      for (let i = 0; i < 80; i++) log.append({ type: 'calibration-change', parameter: 1, oldValue: new Uint8Array([i]), newValue: new Uint8Array([i + 1]), who: 'bench-1' });
      const image = partition.image();
      // Its sectors, read from the bytes: "XSCL" headers at the start of sectors 0, 1 and 2 only.
      const headed = Array.from({ length: 16 }, (_, i) => Buffer.from(image.subarray(i * 4096, i * 4096 + 4)).toString('latin1')).flatMap((m, i) => (m === 'XSCL' ? [i] : []));
      assert.deepEqual(headed, [0, 1, 2]);
      const multi = join(dir, 'multi-sector-log');
      mkdirSync(multi);
      writeFileSync(join(multi, 'flash.bin'), image);
      writeFileSync(join(multi, 'keys.json'), JSON.stringify(keys.toFile()));
      const exportOf = (img: string, keyFile: string, extra: string[]) => xsmeter(['log', 'export', '--image', img, '--keys', keyFile, ...extra]);
      const cases: [string[], RegExp][] = [
        // Its first sector left out (was exit 1: "genesis: log-init record does not hold …").
        [['--first-sector', '1'], /flash\.bin: sector 0, outside --first-sector 1 --sectors 15 \(sectors 1…15\), is a log sector: the log is not all within them, the export would miss records$/],
        [['--first-sector', '2', '--sectors', '3'], /flash\.bin: sector 0, outside --first-sector 2 --sectors 3 \(sectors 2…4\), is a log sector/],
        // Its last sector left out (was exit 0: a signed export of the records of sectors 0 and 1 only).
        [['--first-sector', '0', '--sectors', '2'], /flash\.bin: sector 2, outside --first-sector 0 --sectors 2 \(sectors 0…1\), is a log sector: the log is not all within them, the export would miss records$/],
      ];
      for (const [extra, re] of cases) {
        const r = await exportOf(join(multi, 'flash.bin'), join(multi, 'keys.json'), extra);
        assert.equal(r.code, 2, `${extra.join(' ')}: ${r.stderr}`);
        oneLine(r, 'log', re);
        assert.equal(r.stdout, '');
      }
      // The whole log, as the flash map places it, or given: all 81 records.
      for (const extra of [[], ['--first-sector', '0', '--sectors', '3']]) {
        const r = await exportOf(join(multi, 'flash.bin'), join(multi, 'keys.json'), extra);
        assert.equal(r.code, 0, r.stderr);
        assert.equal((JSON.parse(r.stdout) as { records: unknown[] }).records.length, 81);
      }
      // Its first sector erased: the log's start is lost, whatever the options (exit 1, the work failed).
      const erased = Buffer.from(image);
      erased.fill(0xff, 0, 4096);
      writeFileSync(join(multi, 'erased.bin'), erased);
      for (const extra of [[], ['--first-sector', '0', '--sectors', '14']]) {
        const r = await exportOf(join(multi, 'erased.bin'), join(multi, 'keys.json'), extra);
        assert.equal(r.code, 1, r.stderr);
        oneLine(r, 'log', /erased\.bin: the log's first record is #\d+ \(calibration-change\), not its log-init record: the log's start is lost/);
      }
      // A simulated meter's calibration partition: the meter witness's sectors follow the log's.
      const state = join(dir, 'witness-sim');
      assert.equal((await xsmeter(['sim', '--meters', '1', '--duration', '1h', '--format', 'hex', '--state', state])).code, 0);
      const meter = join(state, 'meters', readdirSync(join(state, 'meters'))[0]);
      const partitionImage = readFileSync(join(meter, 'calibration.bin'));
      const witness = Array.from({ length: 16 }, (_, i) => i).find((i) => partitionImage.subarray(i * 4096, i * 4096 + 4).toString('latin1') === 'XSMW');
      assert.ok(witness !== undefined && witness > 0, 'the meter witness has a sector');
      for (const extra of [['--first-sector', '0', '--sectors', '16'], ['--first-sector', String(witness)]]) {
        const r = await exportOf(join(meter, 'calibration.bin'), join(meter, 'keys.json'), extra);
        assert.equal(r.code, 2, `${extra.join(' ')}: ${r.stderr}`);
        const other = new RegExp(`calibration\\.bin: sector ${witness} of --first-sector ${extra[1]} --sectors \\d+ \\(sectors \\d+…\\d+\\) holds another store \\("XSMW"\\), not the log: not the sectors the log was written with$`);
        oneLine(r, 'log', extra[1] === '0' ? other : /calibration\.bin: sector 0, outside --first-sector \d+ .*is a log sector/);
      }
      assert.equal((await exportOf(join(meter, 'calibration.bin'), join(meter, 'keys.json'), [])).code, 0);
    });

    it('bench --report, --json and --bench-config: checked before the meter is touched', async () => {
      const base = ['bench', 'calibrate', '--target', 'sim', '--class', '0.5S', '--bench-id', 'B1', '--operator', 'op', '--progress', 'none'];
      const config = 'tools/calibration-bench/bench.example.json';
      let r = await xsmeter([...base, '--bench-config', config, '--report', join(dir, 'none', 'cert.html')]);
      assert.equal(r.code, 2);
      oneLine(r, 'bench', /--report .*none\/cert\.html: cannot write: no such file or directory/);
      assert.equal(r.stdout, '');
      r = await xsmeter([...base, '--json', dir]);
      assert.equal(r.code, 2);
      oneLine(r, 'bench', new RegExp(`--json ${dir}: cannot write: is a directory`));
      const bad = join(dir, 'bench-config.json');
      writeFileSync(bad, '{"benchId": "B1",');
      r = await xsmeter([...base, '--bench-config', bad]);
      assert.equal(r.code, 2);
      oneLine(r, 'bench', /bench-config\.json: not valid JSON/);
      writeFileSync(bad, '{"benchId": "B1", "referense": {}}');
      r = await xsmeter([...base, '--bench-config', bad]);
      assert.equal(r.code, 2);
      oneLine(r, 'bench', /bench-config\.json: unknown field "referense"/);
      r = await xsmeter([...base, '--bench-config', join(dir, 'missing.json')]);
      assert.equal(r.code, 2);
      oneLine(r, 'bench', /cannot open .*missing\.json: no such file or directory/);
      // A file that passes the check and fails when written (a full disk): the summary says what
      // became of the meter, and the error names the file and the run's outcome.
      if (existsSync('/dev/full')) {
        r = await xsmeter([...base, '--min-seconds', '300', '--json', '/dev/full']);
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stdout, /\nSEALED\n$/);
        oneLine(r, 'bench', /--json \/dev\/full: cannot write: no space left on device; the run: SEALED$/);
      }
    });

    it("bench --report or --json naming a file of the meter in --state DIR, or each other: exit 2, the meter's files unchanged (the report was written over calibration.bin: the meter's log lost)", async () => {
      const state = join(dir, 'outputs-meter');
      const base = ['bench', 'verify', '--target', 'sim', '--class', '1', '--errors', 'perfect', '--min-seconds', '60', '--bench-id', 'B1', '--operator', 'op', '--progress', 'none', '--state', state, '--bench-config', 'tools/calibration-bench/bench.example.json'];
      const made = await xsmeter(base); // (a run that makes the meter; its verdict is not the point here)
      assert.match(made.stdout, /\n(PASS|FAIL: .*)\n$/, made.stderr);
      const files = ['calibration.bin', 'energy.bin', 'meter.json', 'clock.bin'];
      const before = files.map((f) => readFileSync(join(state, f)));
      symlinkSync(join(state, 'calibration.bin'), join(dir, 'link-to-image'));
      for (const [extra, re] of [
        [['--report', join(state, 'calibration.bin')], /--report .*calibration\.bin is the meter's calibration\.bin in --state .*: the run would overwrite it$/],
        [['--json', `${state}/../outputs-meter/meter.json`], /--json .*meter\.json is the meter's meter\.json in --state .*: the run would overwrite it$/],
        [['--json', join(dir, 'link-to-image')], /--json .*link-to-image is the meter's calibration\.bin in --state/],
        [['--json', join(state, 'clock.bin')], /is the meter's clock\.bin/],
        [['--report', join(dir, 'both.out'), '--json', join(dir, '.', 'both.out')], /--report and --json name one file, .*both\.out: one would replace the other$/],
      ] as [string[], RegExp][]) {
        const r = await xsmeter([...base, ...extra]);
        assert.equal(r.code, 2, `${extra.join(' ')}: ${r.stderr}`);
        oneLine(r, 'bench', re);
        assert.equal(r.stdout, '');
      }
      files.forEach((f, i) => assert.ok(readFileSync(join(state, f)).equals(before[i]), `${f} unchanged`));
    });

    it('an input file that never ends (/dev/zero as keys, state or log): refused after 64 MiB, exit 2', async function () {
      if (!existsSync('/dev/zero')) this.skip();
      const cases: [string, string[]][] = [
        ['decode', ['decode', '--keys', '/dev/zero']],
        ['decode', ['decode', '--key', KEY, '--state', '/dev/zero']],
        ['log', ['log', 'show', '/dev/zero']],
      ];
      for (const [cmd, args] of cases) {
        const r = await xsmeter(args, frames[0] + '\n', { killAfterMs: 30_000 });
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        oneLine(r, cmd, /\/dev\/zero: more than 64 MiB: not an input file/);
      }
    });

    it('missing input files', async () => {
      const missing = join(dir, 'missing.json');
      const cases: [string[], string][] = [
        [['log', 'verify', missing, '--pubkey', '036b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296'], 'log'],
        [['log', 'export', '--image', missing, '--keys', missing], 'log'],
      ];
      for (const [args, cmd] of cases) {
        const r = await xsmeter(args);
        assert.equal(r.code, 2, args.join(' '));
        oneLine(r, cmd, new RegExp(`cannot open ${missing}: no such file or directory`));
      }
    });

    it('bad JSON or the wrong JSON in state and key files', async () => {
      // A saved fleet whose files were damaged one at a time.
      const state = join(dir, 'bad-json-fleet');
      assert.equal((await xsmeter(['sim', '--meters', '1', '--duration', '1h', '--state', state, '--format', 'hex'])).code, 0);
      const id = JSON.parse(readFileSync(join(state, 'sim.json'), 'utf8')).meters[0].meterId as string;
      for (const f of ['gateway.json', join('meters', id, 'keys.json'), 'sim.json']) {
        const path = join(state, f);
        const good = readFileSync(path, 'utf8');
        writeFileSync(path, good.slice(0, 20));
        const r = await xsmeter(['sim', '--duration', '1h', '--state', state]);
        assert.equal(r.code, 2, f);
        oneLine(r, 'sim', new RegExp(`${path.replace(/[.]/g, '\\.')}: not valid JSON`));
        writeFileSync(path, good);
      }
      writeFileSync(join(state, 'sim.json'), '{"format":"something else"}');
      let r = await xsmeter(['sim', '--duration', '1h', '--state', state]);
      assert.equal(r.code, 2);
      oneLine(r, 'sim', /sim\.json: not a simulator state/);

      const replay = join(dir, 'replay.json');
      for (const [text, re] of [['{"XSM.1', /not valid JSON/], ['[1,2]', /not a replay state/], ['{"XSM.12345678":{"messageCounter":"x"}}', /not a replay entry/]] as const) {
        writeFileSync(replay, text);
        r = await xsmeter(['decode', '--key', KEY, '--state', replay], frames[0] + '\n');
        assert.equal(r.code, 2, text);
        oneLine(r, 'decode', re);
      }

      const keys = join(dir, 'keys.json');
      const demo = join(dir, 'json-log');
      await xsmeter(['log', 'demo', '--out', demo]);
      for (const [text, re] of [
        ['{"meterKey":', /not valid JSON/],
        ['{"meterKey":"00"}', /not a simulator key file/],
        // JSON of another shape (the export itself): the file named, no JS error text.
        [readFileSync(join(demo, 'log.json'), 'utf8'), /keys\.json: not a simulator key file \(meterKey, benchKey: 32 hex digits; signingKey: 64\)$/],
        // Another meter's key file (KEYS_B): its key would sign a head the log's key does not verify (was exit 1, the export written).
        [JSON.stringify(KEYS_B.toFile()), new RegExp(`--keys .*keys\\.json is not the key file of device XSM-00000001: its log was started by 0[23][0-9a-f]{64}, the file's key is ${toHex(KEYS_B.devicePublicKey())}$`)],
      ] as const) {
        writeFileSync(keys, text);
        r = await xsmeter(['log', 'export', '--image', join(demo, 'flash.bin'), '--keys', keys]);
        assert.equal(r.code, 2, `${text}: ${r.stderr}`);
        oneLine(r, 'log', re);
        assert.equal(r.stdout, '');
      }
    });
  });

  describe('bench --state: what a hand or a disk changed in a saved bench meter', () => {
    it('meter.json of the wrong shape, flash images cut short or replaced: one line naming the file, exit 2, before the meter is made', async () => {
      const state = join(dir, 'bench-meter');
      const verify = ['bench', 'verify', '--target', 'sim', '--state', state, '--class', '1', '--bench-id', 'B1', '--operator', 'op', '--progress', 'none', '--min-seconds', '60', '--min-pulses', '1'];
      await xsmeter(verify, '', { killAfterMs: 60_000 });
      const meterJson = join(state, 'meter.json');
      const good = readFileSync(meterJson, 'utf8');
      const images = ['energy.bin', 'calibration.bin'].map((f) => readFileSync(join(state, f)));
      type Saved = { hardware: Record<string, unknown> } & Record<string, unknown>;
      for (const [change, re] of [
        [(m: Saved) => (m.hardware = null as unknown as Saved['hardware']), /"hardware" must be an object of board errors/],
        [(m: Saved) => (m.hardware.currentGainError = 5), /"hardware\.currentGainError" must be 2 finite numbers/],
        [(m: Saved) => (m.hardware.noiseW = 'x'), /"hardware\.noiseW" must be a finite number/],
        [(m: Saved) => (m.hardware.extra = 1), /"hardware\.extra" must be absent/],
        [(m: Saved) => (m.clockErrorMs = 'x'), /"clockErrorMs" must be an integer/],
        [(m: Saved) => (m.wallMs = -1e20), /"wallMs" must be a time from 2000 to 2300/],
        [(m: Saved) => (m.seed = 'abc'), /"seed" must be an integer from 0 to 4294967295/],
        [(m: Saved) => delete m.meterConstant, /"meterConstant" must be an integer from 1 to 100000/],
      ] as [(m: Saved) => void, RegExp][]) {
        const m = JSON.parse(good) as Saved;
        change(m);
        writeFileSync(meterJson, JSON.stringify(m));
        const r = await xsmeter(verify, '', { killAfterMs: 60_000 });
        assert.equal(r.code, 2, `${re}: ${r.stderr}`);
        oneLine(r, 'bench', new RegExp(`${meterJson}: ${re.source}`));
        assert.deepEqual(images, ['energy.bin', 'calibration.bin'].map((f) => readFileSync(join(state, f))), 'the images untouched');
      }
      writeFileSync(meterJson, good);
      const calibration = join(state, 'calibration.bin');
      writeFileSync(calibration, images[1].subarray(0, 1000));
      let r = await xsmeter(verify, '', { killAfterMs: 60_000 });
      assert.equal(r.code, 2, r.stderr);
      oneLine(r, 'bench', /calibration\.bin: 1000 bytes, a bench meter's flash image is 65536 bytes/);
      rmSync(calibration);
      mkdirSync(calibration);
      r = await xsmeter(verify, '', { killAfterMs: 60_000 });
      assert.equal(r.code, 2, r.stderr);
      oneLine(r, 'bench', /calibration\.bin: not a file/);
    });

    it('counts in decimal digits and within their ranges: --seed, --meter-constant, --min-seconds, --min-pulses, --clock-offset; other numbers in decimal: --temperature 0x10 is no 16 °C (exit 2 before any work)', async () => {
      const base = ['bench', 'verify', '--target', 'sim', '--class', '1', '--bench-id', 'B1', '--operator', 'op', '--progress', 'none'];
      for (const [opt, value, re] of [
        ['--seed', '0x10', /--seed must be an integer from 0 to 4294967295/],
        ['--seed', '1e3', /--seed must be an integer/],
        ['--seed', ' 7', /--seed must be an integer/],
        ['--seed', '99999999999999999999', /--seed must be an integer from 0 to 4294967295/],
        ['--meter-constant', '100000000', /--meter-constant must be an integer from 1 to 100000/],
        ['--min-seconds', '1e308', /--min-seconds must be a number from 1 to 86400/],
        ['--min-pulses', '1000000000', /--min-pulses must be an integer from 1 to 100000/],
        ['--clock-offset', '1e12', /--clock-offset must be a number from -100000000 to 100000000/],
        // Values in decimal: hex, binary and padded forms are not read as numbers (0x10 was 16 °C).
        ['--temperature', '0x10', /--temperature must be a number from -40 to 85/],
        ['--temperature', ' 23', /--temperature must be a number from -40 to 85/],
        ['--humidity', '0b11', /--humidity must be a number from 0 to 100/],
        ['--frequency', '0x32', /--frequency must be a number from 45 to 65/],
        ['--clock-offset', '0x10', /--clock-offset must be a number/],
        ['--clock-tolerance', '0o7', /--clock-tolerance must be a number ≥ 0/],
        ['--min-seconds', '0x100', /--min-seconds must be a number from 1 to 86400/],
        ['--reference-class', '0x0', /--reference-class must be a number ≥ 0/],
      ]) {
        const r = await xsmeter([...base, `${opt}=${value}`], '', { killAfterMs: 30_000 });
        assert.equal(r.code, 2, `${opt} ${value}: ${r.stderr}`);
        oneLine(r, 'bench', re as RegExp);
      }
    });
  });

  describe('sim --state continued with other fleet settings', () => {
    it('refuses --chip, --seed, --load (and --meters, --mode, --radio) that differ from the saved fleet, exit 2; the same values continue', async () => {
      const state = join(dir, 'fleet');
      assert.equal((await xsmeter(['sim', '--meters', '2', '--duration', '1h', '--seed', '3', '--load', 'household', '--state', state, '--format', 'hex'])).code, 0);
      const before = readFileSync(join(state, 'sim.json'), 'utf8');
      let r = await xsmeter(['sim', '--duration', '1h', '--state', state, '--chip', 'atm90e32', '--seed', '4', '--load', 'solar']);
      assert.equal(r.code, 2);
      oneLine(r, 'sim', /holds a fleet made with other settings: --chip atm90e32 \(saved: --chip ade7953\), --seed 4 \(saved: --seed 3\), --load solar \(saved: --load household\); continue it without these options/);
      for (const [opt, saved] of [[['--meters', '3'], '--meters 2'], [['--mode', '5'], '--mode 7'], [['--radio', 'C1'], '--radio T1'], [['--insecure'], '--mode 7']] as const) {
        r = await xsmeter(['sim', '--duration', '1h', '--state', state, ...opt]);
        assert.equal(r.code, 2, opt.join(' '));
        oneLine(r, 'sim', new RegExp(`\\(saved: ${saved}\\)`));
      }
      // Nothing was run or saved by the refused runs.
      assert.equal(readFileSync(join(state, 'sim.json'), 'utf8'), before);
      r = await xsmeter(['sim', '--duration', '1h', '--state', state, '--seed', '3', '--meters', '2', '--load', 'household', '--format', 'hex']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /continued from the saved state/);
    });

    it('continued without --meters: the saved fleet\'s size sets the defaults (--sample) and bounds --shard, not the default 3 meters', async () => {
      // README: --sample defaults to 1 s up to 10 meters, 60 s above.
      const fleet = join(dir, 'fleet-20');
      const first = await xsmeter(['sim', '--meters', '20', '--duration', '1h', '--state', fleet]);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, /^simulating 20 meters .* sample every 1 min,/m);
      const again = await xsmeter(['sim', '--duration', '1h', '--state', fleet]);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /^simulating 20 meters .* sample every 1 min,/m);
      // A shard of a 10-meter fleet continues as that shard, also without --meters (5 > 3 was refused).
      const shard = join(dir, 'shard-2-of-5');
      assert.equal((await xsmeter(['sim', '--meters', '10', '--shard', '2/5', '--duration', '1h', '--state', shard, '--format', 'hex'])).code, 0);
      const more = await xsmeter(['sim', '--shard', '2/5', '--duration', '1h', '--state', shard, '--format', 'hex']);
      assert.equal(more.code, 0, more.stderr);
      assert.match(more.stderr, /continued from the saved state/);
    });
  });

  describe('sim --state: one run at a time, and what a hand or a disk changed in it', () => {
    it('a second run on a directory in use is refused (exit 2, naming the process); a lock left by a kill -9 is taken over', async () => {
      const state = join(dir, 'locked');
      const first = startXsmeter(['sim', '--meters', '2', '--duration', '365d', '--format', 'hex', '--progress', '0', '--state', state]);
      for (let i = 0; i < 400 && !existsSync(join(state, 'sim.json')); i++) await new Promise((r) => setTimeout(r, 25));
      const second = await xsmeter(['sim', '--duration', '1h', '--format', 'hex', '--state', state], '', { killAfterMs: 30_000 });
      assert.equal(second.code, 2, second.stderr);
      oneLine(second, 'sim', new RegExp(`${state} is in use by process ${first.pid} \\(another xsmeter sim\\)`));
      assert.equal(second.stdout, '');
      const end = await stopWithin(first, 'SIGTERM', 15_000);
      assert.equal(end.code, 0, first.stderr());
      assert.equal(existsSync(join(state, 'lock')), false, 'released at the end');
      // A lock naming a process that is gone: as after a kill -9.
      const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
      writeFileSync(join(state, 'lock'), `${gone}\n`);
      const third = await xsmeter(['sim', '--duration', '1h', '--format', 'hex', '--progress', '0', '--state', state], '', { killAfterMs: 60_000 });
      assert.equal(third.code, 0, third.stderr);
      assert.match(third.stderr, /continued from the saved state/);
    });

    it('bench --state: a meter in use by another run is refused before it is read (exit 2); a lock of a process gone is taken over', async () => {
      const state = join(dir, 'bench-locked');
      mkdirSync(state);
      const verify = ['bench', 'verify', '--target', 'sim', '--state', state, '--class', '1', '--bench-id', 'B1', '--operator', 'op', '--progress', 'none', '--min-seconds', '60', '--min-pulses', '1'];
      // This test's own process stands for a bench run that holds the meter.
      writeFileSync(join(state, 'lock'), `${process.pid}\n`);
      let r = await xsmeter(verify, '', { killAfterMs: 30_000 });
      assert.equal(r.code, 2, r.stderr);
      oneLine(r, 'bench', new RegExp(`${state} is in use by process ${process.pid} \\(another xsmeter bench\\)`));
      assert.equal(existsSync(join(state, 'meter.json')), false, 'the meter was not made or touched');
      const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
      writeFileSync(join(state, 'lock'), `${gone}\n`);
      r = await xsmeter(verify, '', { killAfterMs: 60_000 });
      assert.match(r.stdout, /calibration and log unchanged/, r.stderr);
      assert.equal(existsSync(join(state, 'meter.json')), true);
      assert.equal(existsSync(join(state, 'lock')), false, 'released at the end');
    });

    it('a meter\'s flash images deleted (it had written them): exit 2; an older copy of them restored: its replays fail the run, exit 1', async () => {
      const state = join(dir, 'restored');
      const run = (extra: string[] = []) => xsmeter(['sim', '--duration', '2h', '--format', 'hex', '--progress', '0', '--state', state, ...extra], '', { killAfterMs: 60_000 });
      assert.equal((await run(['--meters', '2'])).code, 0);
      const id = (JSON.parse(readFileSync(join(state, 'sim.json'), 'utf8')) as { meters: { meterId: string }[] }).meters[0].meterId;
      const meterDir = join(state, 'meters', id);
      const older = join(dir, 'restored-older');
      cpSync(meterDir, older, { recursive: true });
      assert.equal((await run()).code, 0);
      rmSync(meterDir, { recursive: true });
      let r = await run();
      assert.equal(r.code, 2, r.stderr);
      oneLine(r, 'sim', new RegExp(`meters/${id}/energy\\.bin: missing, and meter ${id} has written its flash`));
      cpSync(older, meterDir, { recursive: true }); // a backup two hours old: counters the gateway has seen
      r = await run();
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /rejected \(counter-replay \d+\)/);
      assert.match(r.stderr, /check: 1 meters' last decoded values differ from what they sent/);
    });

    it('--seed= and --state= (empty), counts in hex or exponent form: refused, not run as seed 0, without a state or as another number', async () => {
      for (const [args, re] of [
        [['--seed='], /--seed must be an integer 0…4294967295, got ""/],
        [['--seed', '0x10'], /--seed must be an integer 0…4294967295, got "0x10"/],
        [['--meters', '1e3'], /--meters must be 1…90000000 \(8-digit meter ids\), got "1e3"/],
        [['--workers', '0x2'], /--workers must be 1…256, got "0x2"/],
        [['--speed', '1e3'], /--speed must be max, realtime or a positive factor, got "1e3"/],
        [['--state='], /--state needs a directory/],
      ] as [string[], RegExp][]) {
        const r = await xsmeter(['sim', '--duration', '1h', ...args]);
        assert.equal(r.code, 2, args.join(' '));
        oneLine(r, 'sim', re);
        assert.equal(r.stdout, '');
      }
    });

    it('other numbers in decimal only: --duty-cycle, --clock-offset, --baud, --interval, --sample, --duration, --progress in hex, binary or padded form are refused (exit 2, one line)', async () => {
      for (const [args, re] of [
        // 0x10 read by Number() was 16: a duty cycle of 16 refused only by range, a clock 16 s off.
        [['--duty-cycle', '0x10'], /--duty-cycle must be a fraction in \(0, 1\], got "0x10"$/],
        [['--duty-cycle', '0b1'], /--duty-cycle must be a fraction in \(0, 1\], got "0b1"$/],
        [['--duty-cycle', ' 0.5'], /--duty-cycle must be a fraction in \(0, 1\], got " 0.5"$/],
        [['--rig', '0', '--listen', '0', '--clock-offset', '0x10'], /--clock-offset must be seconds, got "0x10"$/],
        [['--rig', '0', '--listen', '0', '--clock-offset', '0b11'], /--clock-offset must be seconds, got "0b11"$/],
        [['--rig', '0', '--listen', '0', '--clock-offset', ' 5'], /--clock-offset must be seconds, got " 5"$/],
        // 0x2580 is 9600, a rate the list has: refused before the device is opened.
        [['--rig', '0', '--serial', '/nonexistent/tty', '--baud', '0x2580'], /--baud 0x2580 is not a serial line speed/],
        [['--interval', ' 15m'], /--interval: " 15m" is not a duration/],
        [['--sample', '5s '], /--sample: "5s " is not a duration/],
        [['--duration', '0x10h'], /--duration: "0x10h" is not a duration/],
        [['--progress', ' 10s'], /--progress: " 10s" is not a duration/],
      ] as [string[], RegExp][]) {
        // --rig takes no --duration (one bench meter on the bench's time).
        const r = await xsmeter(['sim', ...(args.includes('--duration') || args.includes('--rig') ? [] : ['--duration', '1h']), ...args]);
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        oneLine(r, 'sim', re);
        assert.equal(r.stdout, '');
      }
    });

    it('--duration above 100 years: exit 2 before anything runs', async () => {
      const r = await xsmeter(['sim', '--duration', '1000000000000000000000d']);
      assert.equal(r.code, 2);
      oneLine(r, 'sim', /--duration 1000000000000000000000d is more than 100 years \(36525d\)/);
    });

    it('sim --rig: a fleet option the bench meter would ignore is refused, exit 2 (it ran without it)', async () => {
      for (const opt of [['--mode', '5'], ['--insecure'], ['--radio', 'C1'], ['--sample', '5s'], ['--duty-cycle', '0.5'], ['--workers', '2'], ['--shard', '1/2'], ['--progress', '1s']]) {
        const r = await xsmeter(['sim', '--rig', '0', '--listen', '0', ...opt], '', { killAfterMs: 10_000 });
        assert.equal(r.code, 2, `${opt.join(' ')}: ${r.stderr}`);
        oneLine(r, 'sim', new RegExp(`^xsmeter sim: ${opt[0]} does not apply to --rig`));
        assert.equal(r.stdout, '', 'no service or rig port opened');
      }
    });

    it('sim --workers N above 1 with --listen, --serial or --sml is refused, exit 2 (all meters then run in one thread: the option was ignored)', async () => {
      for (const [port, what] of [[['--listen', '0'], 'service port'], [['--serial', '/dev/null'], 'service port'], [['--sml', join(dir, 'w.bin')], 'optical port']] as const) {
        const r = await xsmeter(['sim', '--meters', '300', '--duration', '1h', '--format', 'hex', '--workers', '2', ...port], '', { killAfterMs: 30_000 });
        assert.equal(r.code, 2, `${port.join(' ')}: ${r.stderr}`);
        oneLine(r, 'sim', new RegExp(`--workers 2 with ${port[0]}: meter 0's ${what} runs in this thread, and all meters with it; drop --workers$`));
        assert.equal(r.stdout, '');
      }
    });

    it('--duty-cycle below one telegram an hour: exit 2 before the set-up (it failed the run at its first telegram, exit 1)', async () => {
      // The longest T1 frame (L = 255, format A: 290 bytes with CRCs), EN 13757-4: 3-of-6 coded,
      // 12 chips a byte at 100 kchip/s, 34.8 ms and the preamble: 3.6 ms an hour holds none.
      const r = await xsmeter(['sim', '--meters', '1', '--duration', '1h', '--format', 'hex', '--duty-cycle', '0.000001'], '', { killAfterMs: 30_000 });
      assert.equal(r.code, 2, r.stderr);
      oneLine(r, 'sim', /--duty-cycle 0\.000001 leaves 3\.6 ms of airtime an hour: less than one telegram \(the longest T1 frame takes 3\d\.\d ms\)$/);
      assert.equal(r.stdout, '');
      const ok = await xsmeter(['sim', '--meters', '1', '--duration', '1h', '--format', 'hex', '--duty-cycle', '0.00002']);
      assert.equal(ok.code, 0, ok.stderr);
    });

    it('a duration under half a millisecond (0 ms once rounded) is refused, exit 2: it ran for ever', async () => {
      for (const args of [['--duration', '0.4ms'], ['--duration', '0.0001s'], ['--interval', '0.1ms'], ['--progress', '0.2ms']]) {
        const r = await xsmeter(['sim', '--meters', '1', '--format', 'hex', ...args], '', { killAfterMs: 20_000 });
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        oneLine(r, 'sim', new RegExp(`${args[0]} must be at least 1ms, got "${args[1]}"`));
      }
    });

    it('sim.json, clocks.bin, gateway.json and keys.json changed: one line naming the file, exit 2, the state untouched', async () => {
      const editGateway = (c: string, edit: (g: { replay: Record<string, Record<string, unknown>>; rows: unknown[] }) => void) => {
        const g = JSON.parse(readFileSync(join(c, 'gateway.json'), 'utf8')) as { replay: Record<string, Record<string, unknown>>; rows: unknown[] };
        edit(g);
        writeFileSync(join(c, 'gateway.json'), JSON.stringify(g));
      };
      const state = join(dir, 'damaged');
      assert.equal((await xsmeter(['sim', '--meters', '3', '--chip', 'mixed', '--duration', '2h', '--format', 'hex', '--state', state])).code, 0);
      const sim = JSON.parse(readFileSync(join(state, 'sim.json'), 'utf8')) as { wallMs: number; meters: { meterId: string }[] };
      const id = sim.meters[0].meterId;
      const damages: [string, (copy: string) => void, RegExp][] = [
        ['clocks.bin cut to 7 bytes', (c) => writeFileSync(join(c, 'clocks.bin'), readFileSync(join(c, 'clocks.bin')).subarray(0, 7)), /clocks\.bin: 7 bytes, not 8 for each of its 3 meters/],
        ['a time of 1e300 in clocks.bin', (c) => writeFileSync(join(c, 'clocks.bin'), Buffer.from(new Float64Array([1e300, 0, 0]).buffer)), /clocks\.bin: the time of meter 0 \(1e\+300\)/],
        ['wallMs far ahead', (c) => writeFileSync(join(c, 'sim.json'), JSON.stringify({ ...sim, wallMs: 1e15 })), /sim\.json: wallMs 1000000000000000 is not a time/],
        ['wallMs a string', (c) => writeFileSync(join(c, 'sim.json'), JSON.stringify({ ...sim, wallMs: 'x' })), /sim\.json: wallMs "x" is not a time/],
        ['a meter id changed', (c) => writeFileSync(join(c, 'sim.json'), JSON.stringify({ ...sim, meters: [{ ...sim.meters[0], meterId: '99999999' }, ...sim.meters.slice(1)] })), new RegExp(`meter 0 is not meter 0 of the fleet seeded 1 \\(id ${id}\\)`)],
        ['a meter dropped', (c) => writeFileSync(join(c, 'sim.json'), JSON.stringify({ ...sim, meters: sim.meters.slice(1) })), /sim\.json: lists 2 meters, the fleet's 3/],
        ['gateway.json {}', (c) => writeFileSync(join(c, 'gateway.json'), '{}'), /gateway\.json: not the simulated gateway's state/],
        // A counter past its field (32 bits, OMS) refused every frame of the meter; text was no counter.
        ['a replay counter past 32 bits', (c) => editGateway(c, (g) => Object.values(g.replay)[0].messageCounter = 2 ** 32), /gateway\.json: replay: ".*"\.messageCounter 4294967296 is not an integer from 0 to 4294967295/],
        ['a replay counter as text', (c) => editGateway(c, (g) => Object.values(g.replay)[0].messageCounter = '5'), /gateway\.json: replay: ".*" is not a replay entry/],
        ['a gateway row of text', (c) => editGateway(c, (g) => g.rows.push('x')), /gateway\.json: row 3 is not a gateway row/],
        ['keys.json {}', (c) => writeFileSync(join(c, 'meters', id, 'keys.json'), '{}'), /keys\.json: not a simulator key file/],
        ['energy.bin cut short', (c) => writeFileSync(join(c, 'meters', id, 'energy.bin'), readFileSync(join(c, 'meters', id, 'energy.bin')).subarray(0, 8192)), /energy\.bin: 8192 bytes, a meter's flash image has 65536/],
        // (it was taken for a new fleet: the meters metered 00:00-01:00 again over their flash)
        ['sim.json deleted', (c) => rmSync(join(c, 'sim.json')), /sim\.json: missing, but .* holds a fleet's meters\/ and clocks\.bin: restore sim\.json, or use a new --state DIR/],
      ];
      for (const [what, damage, re] of damages) {
        const copy = join(dir, `damaged-${damages.findIndex((d) => d[0] === what)}`);
        cpSync(state, copy, { recursive: true });
        damage(copy);
        const before = readFileSync(join(copy, 'meters', id, 'energy.bin'));
        const r = await xsmeter(['sim', '--duration', '1h', '--format', 'hex', '--state', copy], '', { killAfterMs: 30_000 });
        assert.equal(r.code, 2, `${what}: ${r.stderr}`);
        oneLine(r, 'sim', re);
        assert.deepEqual(readFileSync(join(copy, 'meters', id, 'energy.bin')), before, `${what}: the meter's flash untouched`);
      }
    });
  });

  describe('a value echoed in an error stays on one line (control characters written as \\n, \\u001b)', () => {
    it('options, paths and command names with a newline, a carriage return or an escape, in every command', async () => {
      const demo = join(dir, 'escape-log');
      const pub = (await xsmeter(['log', 'demo', '--out', demo])).stdout.trim();
      const bench = ['bench', 'verify', '--target', 'sim', '--class', '1', '--min-seconds', '60', '--errors', 'perfect', '--progress', 'none', '--bench-id', 'B1'];
      const cases: [string[], string, RegExp][] = [
        [['nonsense\nxsmeter: ok'], '', /unknown command "nonsense\\nxsmeter: ok" \(try xsmeter --help\)$/],
        [['encode', '--id', '1234\n5678', '--key', KEY, '--counter', '1', '--set', '1.8.0=1'], 'encode', /--id must be 8 decimal digits, got "1234\\n5678"$/],
        [['decode', '--key', KEY, '--state', join(dir, 'no\rsuch', 'state.json')], 'decode', /no\\rsuch\/state\.json: cannot write: no such file or directory$/],
        [['log', 'show\n'], 'log', /unknown log command "show\\n" \(/],
        [['log', 'verify', join(dir, 'missing\u001b[2J.json'), '--pubkey', pub], 'log', /missing\\u001b\[2J\.json: no such file or directory$/],
        [['sim', '--sml', '/dev/null', '--sml-pin', '12\n34'], 'sim', /--sml-pin must be four decimal digits, got "12\\n34"$/],
        [[...bench, '--operator', 'a\nb'], 'bench', /operator "a\\nb" must be printable ASCII/],
      ];
      for (const [args, cmd, re] of cases) {
        const r = await xsmeter(args, '');
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.equal(r.stderr.split('\n').length, 2, r.stderr); // one line and its end
        oneLine(r, cmd, re);
      }
      // A field of a log file quoted in its FAULT line (exit 1).
      const exp = JSON.parse(readFileSync(join(demo, 'log.json'), 'utf8')) as { deviceId: string };
      exp.deviceId = 'XSM-00000001\nok: 9 records';
      writeFileSync(join(dir, 'escape.json'), JSON.stringify(exp));
      const r = await xsmeter(['log', 'verify', join(dir, 'escape.json'), '--pubkey', pub]);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stderr, `FAULT at record 0 (counter 0): field-mismatch: deviceId "XSM-00000001\\nok: 9 records" differs from the log-init record's "XSM-00000001"\n`);
    });
  });

  describe("one command's --state directory given to the other", () => {
    it('sim --state on a bench meter\'s DIR and bench --state on a fleet\'s DIR: exit 2, nothing added to it', async () => {
      const bench = join(dir, 'bench-state');
      const made = await xsmeter(['bench', 'verify', '--target', 'sim', '--class', '1', '--min-seconds', '60', '--errors', 'perfect', '--progress', 'none', '--bench-id', 'B1', '--operator', 'op', '--state', bench]);
      assert.ok(existsSync(join(bench, 'meter.json')), made.stderr);
      const benchFiles = readdirSync(bench).sort();
      let r = await xsmeter(['sim', '--meters', '1', '--duration', '1h', '--format', 'hex', '--state', bench], '', { killAfterMs: 30_000 });
      assert.equal(r.code, 2, r.stderr);
      oneLine(r, 'sim', /holds a bench meter \(meter\.json, xsmeter bench --state\): a fleet needs its own --state DIR$/);
      assert.deepEqual(readdirSync(bench).sort(), benchFiles);
      const fleet = join(dir, 'fleet-state');
      assert.equal((await xsmeter(['sim', '--meters', '1', '--duration', '1h', '--format', 'hex', '--state', fleet])).code, 0);
      const fleetFiles = readdirSync(fleet).sort();
      r = await xsmeter(['bench', 'verify', '--target', 'sim', '--class', '1', '--min-seconds', '60', '--errors', 'perfect', '--progress', 'none', '--bench-id', 'B1', '--operator', 'op', '--state', fleet], '', { killAfterMs: 30_000 });
      assert.equal(r.code, 2, r.stderr);
      oneLine(r, 'bench', /holds a simulated fleet \(sim\.json, xsmeter sim --state\): a bench meter needs its own --state DIR$/);
      assert.deepEqual(readdirSync(fleet).sort(), fleetFiles);
    });
  });

  describe('exit codes: 0 ok, 1 the work failed, 2 bad usage or input — in every command', () => {
    it('encode, decode, log, sim', async () => {
      const demo = join(dir, 'codes-log');
      const pub = (await xsmeter(['log', 'demo', '--out', demo])).stdout.trim();
      const tampered = join(dir, 'tampered.json');
      const exp = JSON.parse(readFileSync(join(demo, 'log.json'), 'utf8')) as { records: { who: string }[] };
      exp.records[2].who = 'someone-else';
      writeFileSync(tampered, JSON.stringify(exp));
      const cut = join(dir, 'cut.bin');
      writeFileSync(cut, readFileSync(join(demo, 'log.bin')).subarray(0, 300));
      const cases: [string[], string, number][] = [
        [['encode', '--id', '12345678', '--key', KEY, '--counter', '1', '--set', '1.8.0=1'], '', 0],
        [['encode', '--id', '12345678', '--key', KEY, '--counter', '1', '--set', '1.8.0=-1'], '', 2],
        [['encode', '--frobnicate'], '', 2],
        [['decode', '--key', KEY], frames[0] + '\n', 0],
        [['decode', '--key', KEY], frames[0] + '\n' + frames[0] + '\n', 1],
        [['decode', '--key', KEY], 'not a frame\n', 1],
        [['decode', '--key', 'abc'], '', 2],
        [['decode', '--frame', 'C', '--key', KEY], '', 2],
        [['log', 'verify', join(demo, 'log.json'), '--pubkey', pub], '', 0],
        [['log', 'verify', tampered, '--pubkey', pub], '', 1],
        [['log', 'verify', join(demo, 'log.json')], '', 2],
        // Files that are no export (a flash image, a key file, an empty file): unusable input, not a
        // log that fails (were exit 1); an export cut short is one (exit 1).
        [['log', 'verify', join(demo, 'flash.bin'), '--pubkey', pub], '', 2],
        [['log', 'verify', join(demo, 'keys.json'), '--pubkey', pub], '', 2],
        [['log', 'show', '/dev/null'], '', 2],
        [['log', 'verify', cut, '--pubkey', pub], '', 1],
        [['log', 'frobnicate'], '', 2],
        [['sim', '--duration', '1h', '--meters', '1', '--format', 'hex'], '', 0],
        [['sim', '--duration', '1y'], '', 2],
        [[], '', 2],
        [['frobnicate'], '', 2],
      ];
      for (const [args, stdin, code] of cases) {
        const r = await xsmeter(args, stdin);
        assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
        assert.doesNotMatch(r.stderr, /\n\s+at |internal error/);
      }
    });

    it('a value option given twice: exit 2 naming both values, in every command (the last was taken, the other dropped without a word)', async () => {
      const demo = join(dir, 'twice-log');
      const pub = (await xsmeter(['log', 'demo', '--out', demo])).stdout.trim();
      const other = '036b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296';
      const state = join(dir, 'twice-state');
      const out = join(dir, 'twice.json');
      const cases: [string, string[], RegExp][] = [
        ['bench', ['bench', 'calibrate', '--target', 'sim', '--class', '1', '--class', '0.5S', '--bench-id', 'B1', '--operator', 'op', '--state', state], /^xsmeter bench: --class is given twice \(1, 0\.5S\): give it once$/],
        ['bench', ['bench', 'verify', '--target', 'sim', '--class', '1', '--bench-id', 'B1', '--operator', 'op', '--pubkey', pub, `--pubkey=${other}`, '--state', state], new RegExp(`^xsmeter bench: --pubkey is given twice \\(${pub}, ${other}\\): give it once$`)],
        ['log', ['log', 'verify', join(demo, 'log.json'), '--pubkey', other, '--pubkey', pub], /^xsmeter log: --pubkey is given twice/],
        ['log', ['log', 'export', '--image', join(demo, 'flash.bin'), '--keys', join(demo, 'keys.json'), '--out', out, '--out', join(dir, 'twice2.json')], /^xsmeter log: --out is given twice/],
        ['sim', ['sim', '--duration', '1h', '--meters', '1', '--seed', '1', '--seed', '2', '--state', state], /^xsmeter sim: --seed is given twice \(1, 2\)/],
        ['encode', ['encode', '--id', '12345678', '--id', '87654321', '--key', KEY, '--counter', '1', '--set', '1.8.0=1'], /^xsmeter encode: --id is given twice/],
        ['encode', ['encode', '--id', '12345678', '--key', KEY, '--counter', '1', '--counter', '0x10', '--set', '1.8.0=1'], /^xsmeter encode: --counter is given twice \(1, 0x10\): give it once$/],
        ['decode', ['decode', '--key', KEY, '--frame', 'A', '--frame', 'B'], /^xsmeter decode: --frame is given twice \(A, B\): give it once$/],
        ['sim', ['sim', '--duration=1h', '--format', 'hex', '--duration', '2h', '--duration', '3h'], /^xsmeter sim: --duration is given twice \(1h, 2h\): give it once$/],
        ['sml', ['sml', 'decode', '--format', 'hex', '--format', 'raw'], /^xsmeter sml: --format is given twice \(hex, raw\): give it once$/],
        // Keys are not echoed: the line names the option only.
        ['encode', ['encode', '--id', '12345678', '--key', KEY, '--key', KEY.replace(/0/g, '1'), '--counter', '1', '--set', '1.8.0=1'], /^xsmeter encode: --key is given twice: give it once$/],
        ['bench', ['bench', 'calibrate', '--target', 'sim', '--class', '1', '--bench-id', 'B1', '--operator', 'op', '--bench-key', '11'.repeat(16), '--bench-key', '22'.repeat(16), '--state', state], /^xsmeter bench: --bench-key is given twice: give it once$/],
      ];
      for (const [cmd, args, re] of cases) {
        const r = await xsmeter(args);
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        oneLine(r, cmd, re);
        assert.equal(r.stdout, '');
      }
      assert.equal(existsSync(state), false, 'no meter made');
      assert.equal(existsSync(out), false, 'nothing exported');
      // Options of many values (decode --key, encode --set) and flags twice stay as they were.
      const r = await xsmeter(['log', 'show', join(demo, 'log.json'), '--json', '--json', '--pubkey', pub]);
      assert.equal(r.code, 0, r.stderr);
    });
  });
});
