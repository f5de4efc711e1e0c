import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readVectors } from './helpers/vectors.js';
import { xsmeter } from './helpers/cli.js';

const execFileP = promisify(execFile);
const KEY = '000102030405060708090a0b0c0d0e0f';
const KEY2 = 'ffeeddccbbaa99887766554433221100';
const n21 = (readVectors<unknown>('oms.json') as { telegrams: { key: string; frameWithCrc: string; frameWithoutCrc: string }[] }).telegrams[0];

const lines = (s: string): Record<string, unknown>[] =>
  s
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

async function enc(extra: string[]): Promise<string> {
  const r = await xsmeter(['encode', '--id', '12345678', ...extra]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.split('\n').length, 2);
  return r.stdout.trim();
}

describe('cli: xsmeter encode | decode', function () {
  this.timeout(60000);
  before(async () => {
    await execFileP(process.execPath, ['scripts/build.mjs']);
  });

  it('encode | decode round trip in mode 7 and mode 5, hex with CRCs, rtlwmbus and PHY streams', async () => {
    const regs = ['--set', '1.8.0=123456', '--set', '1.8.1=100000', '--set', '2.8.0=77', '--set', '16.7.0=-250', '--set', '31.7.0=4.5', '--set', 'clock=2026-11-24T23:30', '--set', 'status=2'];
    const a = await enc(['--key', KEY, '--mode', '7', '--counter', '10', ...regs]);
    const b = await enc(['--key', KEY, '--mode', '5', '--access', '3', '--tpl', 'long', ...regs, '--format', 'rtlwmbus']);
    const c = await enc(['--key', KEY, '--counter', '11', '--frame', 'B', ...regs]);
    assert.match(b, /^T1;1;1;\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3};0;0;12345678;0x[0-9A-F]+$/);
    // Mode 5 has no MAC: refused unless asked for.
    const refused = await xsmeter(['decode', '--key', KEY], b + '\n');
    assert.equal(refused.code, 1);
    assert.equal((lines(refused.stdout)[0].error as { code: string }).code, 'unauthenticated');
    const r = await xsmeter(['decode', '--key', KEY, '--allow-unauthenticated'], [a, b].join('\n') + '\n');
    assert.equal(r.code, 0, r.stderr);
    const out = lines(r.stdout);
    assert.deepEqual(
      out.map((o) => [o.line, o.id, o.manufacturer, o.securityMode, o.counter, o.mac, o.frameFormat]),
      [
        [1, '12345678', 'XSM', 7, 10, 'ok', 'A'],
        [2, '12345678', 'XSM', 5, null, 'none', 'none'],
      ],
    );
    for (const o of out) {
      assert.deepEqual(
        (o.values as { obis: string; unit: string; value: number | string }[]).map((v) => [v.obis, v.unit, v.value]),
        [
          ['1.8.0', 'Wh', 123456],
          ['1.8.1', 'Wh', 100000],
          ['2.8.0', 'Wh', 77],
          ['16.7.0', 'W', -250],
          ['31.7.0', 'A', 4.5],
          ['0-0:1.0.0', '', '2026-11-24T23:30'],
          ['0-0:97.97.0', '', 2],
        ],
      );
    }
    const rb = await xsmeter(['decode', '--key', KEY, '--frame', 'B'], c + '\n');
    assert.equal(rb.code, 0, rb.stderr);
    assert.equal(lines(rb.stdout)[0].counter, 11);
    const p = await enc(['--key', KEY, '--counter', '12', '--set', '1.8.0=5', '--format', 'phy', '--radio', 'C1']);
    const rp = await xsmeter(['decode', '--key', KEY, '--phy', 'C1'], p + '\n');
    assert.equal(rp.code, 0, rp.stderr);
    assert.equal(lines(rp.stdout)[0].counter, 12);
  });

  it('encode scales V and A on their decimal digits, half away from zero, and says when it rounds', async () => {
    // 4.0005 A is 4000.5 mA exactly: half a step, so 4001 (a binary 4.0005 × 1000 is 4000.4999…).
    const sets = ['31.7.0=4.0005', '51.7.0=-4.0005', '71.7.0=1.0004999', '32.7.0=230.05', '52.7.0=0.25', '72.7.0=2.5e1'];
    const r = await xsmeter(['encode', '--id', '12345678', '--insecure', ...sets.flatMap((s) => ['--set', s])]);
    assert.equal(r.code, 0, r.stderr);
    const frame = r.stdout.trim();
    // The records' data, little-endian, in the plain frame: 4001 mA, -4001 mA, 1000 mA, 2301 dV, 3 dV, 250 dV.
    for (const data of ['a10f0000', '5ff0ffff', 'e8030000', 'fd08', '0300', 'fa00']) assert.ok(frame.includes(data), `${data} in ${frame}`);
    const d = await xsmeter(['decode', '--insecure'], frame + '\n');
    assert.deepEqual(
      (lines(d.stdout)[0].values as { obis: string; value: number }[]).map((v) => [v.obis, v.value]),
      [['31.7.0', 4.001], ['51.7.0', -4.001], ['71.7.0', 1], ['32.7.0', 230.1], ['52.7.0', 0.3], ['72.7.0', 25]],
    );
    // More decimals than the record carries is said, one line each; a value that fits is not.
    assert.deepEqual(r.stderr.trim().split('\n'), [
      'xsmeter encode: --set 31.7.0=4.0005 is sent as 4.001 A: the record carries 1 mA steps (rounded half away from zero)',
      'xsmeter encode: --set 51.7.0=-4.0005 is sent as -4.001 A: the record carries 1 mA steps (rounded half away from zero)',
      'xsmeter encode: --set 71.7.0=1.0004999 is sent as 1 A: the record carries 1 mA steps (rounded half away from zero)',
      'xsmeter encode: --set 32.7.0=230.05 is sent as 230.1 V: the record carries 0.1 V steps (rounded half away from zero)',
      'xsmeter encode: --set 52.7.0=0.25 is sent as 0.3 V: the record carries 0.1 V steps (rounded half away from zero)',
    ]);
    for (const bad of ['0x10', ' 5', '4,5', '']) {
      const b = await xsmeter(['encode', '--id', '12345678', '--insecure', '--set', `31.7.0=${bad}`]);
      assert.deepEqual([b.code, b.stdout], [2, ''], bad);
      assert.match(b.stderr, /^xsmeter encode: --set 31\.7\.0: ".*" is not a decimal number\n$/);
    }
  });

  it('decodes the OMS Annex N.2.1 telegram with and without CRCs; per-meter keys', async () => {
    const r = await xsmeter(['decode', '--allow-unauthenticated', '--key', `12345678:${n21.key}`, '--key', `87654321:${KEY2}`], `# Annex N.2.1\n${n21.frameWithCrc}\n`);
    assert.equal(r.code, 0, r.stderr);
    const o = lines(r.stdout)[0];
    assert.equal(o.line, 2);
    assert.deepEqual((o.values as { value: unknown }[]).map((v) => v.value), [28504.27, '2008-05-31T23:50', 0]);
    const r2 = await xsmeter(['decode', '--allow-unauthenticated', '--key', n21.key], n21.frameWithoutCrc + '\n');
    assert.equal(r2.code, 0, r2.stderr);
  });

  it('--keys FILE: keys by id, by MFT.id and for any meter; per-meter allowUnauthenticated; bad files are one-line errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xsmeter-keys-'));
    try {
      const keys = join(dir, 'keys.json');
      const a = await enc(['--key', KEY, '--counter', '5', '--set', '1.8.0=1']);
      const m5 = await enc(['--key', KEY2, '--mode', '5', '--access', '7', '--set', '1.8.0=2']);
      writeFileSync(keys, JSON.stringify({ 'XSM.12345678': { key: KEY2, allowUnauthenticated: true }, '*': KEY }));
      // XSM.12345678 wins over *: the mode-7 frame under KEY fails its MAC, the mode-5 one is allowed for this meter.
      const r = await xsmeter(['decode', '--keys', keys], [a, m5].join('\n') + '\n');
      const out = lines(r.stdout);
      assert.equal((out[0].error as { code: string }).code, 'mac-mismatch');
      assert.deepEqual([out[1].securityMode, (out[1].values as { value: number; authenticated: boolean }[]).map((v) => [v.value, v.authenticated])], [5, [[2, false]]]);
      writeFileSync(keys, JSON.stringify({ '12345678': KEY }));
      assert.equal((await xsmeter(['decode', '--keys', keys], a + '\n')).code, 0);
      // A --key for a meter the file has a key for (here a wrong one) replaced the file's without a word.
      const both = await xsmeter(['decode', '--keys', keys, '--key', `12345678:${KEY2}`], a + '\n');
      assert.equal(both.code, 2, both.stderr);
      assert.equal(both.stderr, `xsmeter decode: --key 12345678:…: --keys ${keys} has a key for meter 12345678 too: give it once\n`);
      // Another meter's, or one for any meter the file has none for, adds to it.
      assert.equal((await xsmeter(['decode', '--keys', keys, '--key', `87654321:${KEY2}`, '--key', KEY2], a + '\n')).code, 0);
      writeFileSync(keys, JSON.stringify({ '*': KEY }));
      const any = await xsmeter(['decode', '--keys', keys, '--key', KEY2], a + '\n');
      assert.equal(any.code, 2, any.stderr);
      assert.equal(any.stderr, `xsmeter decode: --key without an ID: --keys ${keys} has a key for any meter ("*") too: give it once\n`);
      for (const [content, re] of [['{', /keys\.json: not valid JSON/], ['[]', /JSON object/], ['{"1234": "00"}', /not a meter id/], [`{"12345678": "abc"}`, /32 hex digits/], [`{"12345678": {"key": "${KEY}", "allowUnauthenticated": "yes"}}`, /true or false/]] as const) {
        writeFileSync(keys, content);
        const bad = await xsmeter(['decode', '--keys', keys], a + '\n');
        assert.notEqual(bad.code, 0);
        assert.match(bad.stderr, re);
        assert.equal(bad.stderr.trim().split('\n').length, 1);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rtlwmbus lines, both forms: timestamp and RSSI pass through; errors name the meter once its link layer was read; --strict refuses what lenient reads', async () => {
    const f = await enc(['--key', KEY, '--counter', '40', '--set', '1.8.0=9', '--format', 'rtlwmbus']);
    const hex = f.split(';').at(-1) as string;
    const short = `C1;1;1;2026-01-02 03:04:05.000;-71;0;${hex}`;
    const r = await xsmeter(['decode', '--key', KEY], [f.replace(';0;0;', ';-80;120;'), short.replace('-71', '-70')].join('\n') + '\n');
    const out = lines(r.stdout);
    assert.deepEqual([out[0].rssi, typeof out[0].timestamp, out[0].counter], [-80, 'string', 40]);
    assert.deepEqual([out[1].rssi, out[1].timestamp, (out[1].error as { code: string }).code, out[1].id, out[1].manufacturer], [-70, '2026-01-02 03:04:05.000', 'counter-replay', '12345678', 'XSM']);
    // A real meter's CI 0x78 telegram (wmbusmeters' Gran-System-S test frame): lenient reads it, strict refuses it.
    const gss = '7844731e78610418010278046d0f13bc21040394030000841003690300008420032b00000084300300000000848010030000000084016d0000bc2184010394030000841103690300008421032b00000084310300000000848110030000000004fd482e09000004fd5b0000000002fb2d861304fd1700000201';
    const lenient = await xsmeter(['decode', '--insecure'], gss + '\n');
    assert.equal(lenient.code, 0, lenient.stdout);
    const t = lines(lenient.stdout)[0];
    assert.deepEqual([t.id, t.manufacturer, t.media, t.tpl, t.accessNumber, t.status], ['18046178', 'GSS', 'electricity', 'none', null, null]);
    const strict = await xsmeter(['decode', '--insecure', '--strict'], gss + '\n');
    assert.equal(strict.code, 1);
    assert.deepEqual([(lines(strict.stdout)[0].error as { code: string }).code, lines(strict.stdout)[0].id], ['unsupported-ci', '18046178']);
  });

  /** A decoder on `state` fed `frames` one at a time, each once the line before it is out; then `signal`. */
  async function decodeThenSignal(state: string, frames: string[], signal: NodeJS.Signals): Promise<{ out: Record<string, unknown>[]; code: number | null }> {
    const p = spawn(process.execPath, ['bin/xsmeter.js', 'decode', '--key', KEY, '--state', state]);
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d));
    for (let k = 1; k <= frames.length; k++) {
      p.stdin.write(frames[k - 1] + '\n');
      for (let i = 0; i < 400 && out.split('\n').length <= k; i++) await new Promise((r) => setTimeout(r, 25));
    }
    // Every frame is answered, stdin still open.
    const code = await new Promise<number | null>((resolve) => {
      p.on('close', resolve);
      p.kill(signal);
    });
    return { out: lines(out), code };
  }
  const counters = (path: string) => Object.values(JSON.parse(readFileSync(path, 'utf8')) as Record<string, { messageCounter: number }>).map((e) => e.messageCounter);
  const verdicts = (stdout: string) => lines(stdout).map((o) => (o.error as { code: string } | undefined)?.code ?? o.counter);

  it('--state: a decoder killed (kill -9) right after a frame’s line still refuses that frame when started again; SIGTERM and the end leave one state file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xsmeter-kill-'));
    try {
      const state = join(dir, 'state.json');
      const frames = await Promise.all([61, 62, 63, 64].map((c) => enc(['--key', KEY, '--counter', String(c), '--set', '1.8.0=1'])));
      const killed = await decodeThenSignal(state, frames.slice(0, 2), 'SIGKILL');
      assert.deepEqual(killed.out.map((o) => o.counter), [61, 62]);
      const again = await xsmeter(['decode', '--key', KEY, '--state', state], frames.slice(0, 3).join('\n') + '\n');
      assert.deepEqual(verdicts(again.stdout), ['counter-replay', 'counter-replay', 63]);
      assert.deepEqual(readdirSync(dir), ['state.json'], 'the end of the run leaves the state in one file');
      assert.deepEqual(counters(state), [63]);
      const term = await decodeThenSignal(state, [frames[3]], 'SIGTERM');
      assert.deepEqual([term.code, term.out.map((o) => o.counter)], [0, [64]], 'SIGTERM saves and exits');
      assert.deepEqual(readdirSync(dir), ['state.json']);
      assert.deepEqual(counters(state), [64]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--state: a frame whose line could not be written (the reader of stdout gone) is decoded again next run, also after frames whose lines were', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xsmeter-lost-line-'));
    try {
      const state = join(dir, 'state.json');
      const frames = await Promise.all([80, 81].map((c) => enc(['--key', KEY, '--counter', String(c), '--set', '1.8.0=1'])));
      const p = spawn(process.execPath, ['bin/xsmeter.js', 'decode', '--key', KEY, '--state', state]);
      let out = '';
      const firstLine = new Promise<void>((resolve) =>
        p.stdout.on('data', (d: Buffer) => {
          out += d;
          if (out.includes('\n')) resolve();
        }),
      );
      p.stdin.write(frames[0] + '\n');
      await firstLine;
      // The reader goes away (as `| head -1` does): the second frame's line cannot be written.
      p.stdout.destroy();
      const closed = new Promise((resolve) => p.on('close', resolve));
      p.stdin.end(frames[1] + '\n');
      await closed;
      assert.deepEqual(lines(out).map((o) => o.counter), [80]);
      const again = await xsmeter(['decode', '--key', KEY, '--state', state], frames.join('\n') + '\n');
      assert.deepEqual(verdicts(again.stdout), ['counter-replay', 81]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--state: an accepted frame is appended to FILE.journal; FILE itself is not written again until the end', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xsmeter-append-'));
    try {
      // A state of other meters (1000 entries: the journal is folded into FILE when it reaches the
      // state's size, so three frames stay in the journal).
      const others: Record<string, { messageCounter: number; meter: string }> = {};
      for (let i = 0; i < 1000; i++) others[`0123456789abcdef:${(0x10000000 + i).toString(16)}`] = { messageCounter: 1 + i, meter: `XSM.${10_000_000 + i}` };
      const state = join(dir, 'state.json');
      const before = JSON.stringify(others);
      writeFileSync(state, before);
      const frames = await Promise.all([90, 91, 92].map((c) => enc(['--key', KEY, '--counter', String(c), '--set', '1.8.0=1'])));
      // Killed once the three lines are out: what is on disk is what each frame left.
      const killed = await decodeThenSignal(state, frames, 'SIGKILL');
      assert.deepEqual(killed.out.map((o) => o.counter), [90, 91, 92]);
      assert.equal(readFileSync(state, 'utf8'), before, 'FILE untouched by the frames');
      const journal = readFileSync(`${state}.journal`, 'utf8').trim().split('\n');
      assert.deepEqual(
        journal.map((l) => Object.values(JSON.parse(l) as Record<string, { messageCounter: number }>).map((e) => e.messageCounter)),
        [[90], [91], [92]],
      );
      // The next run reads FILE and the journal, refuses the replay and folds the journal in.
      const again = await xsmeter(['decode', '--key', KEY, '--state', state], frames[2] + '\n');
      assert.deepEqual(verdicts(again.stdout), ['counter-replay']);
      assert.deepEqual(readdirSync(dir), ['state.json']);
      const saved = JSON.parse(readFileSync(state, 'utf8')) as Record<string, { messageCounter: number }>;
      assert.equal(Object.keys(saved).length, 1001);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--state: the journal a crash left is applied, a write it cut short dropped, a damaged line refused (exit 2)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xsmeter-journal-'));
    try {
      const state = join(dir, 'state.json');
      const frames = await Promise.all([70, 75, 76, 77].map((c) => enc(['--key', KEY, '--counter', String(c), '--set', '1.8.0=1'])));
      assert.equal((await xsmeter(['decode', '--key', KEY, '--state', state], frames[0] + '\n')).code, 0);
      const slot = Object.keys(JSON.parse(readFileSync(state, 'utf8')) as object)[0];
      // What a crash leaves: an accepted frame's entry, then an append cut short (no newline).
      writeFileSync(`${state}.journal`, `{${JSON.stringify(slot)}:{"messageCounter":75,"meter":"XSM.12345678"}}\n{${JSON.stringify(slot)}:{"messageCou`);
      const r = await xsmeter(['decode', '--key', KEY, '--state', state], frames.slice(1, 3).join('\n') + '\n');
      assert.deepEqual(verdicts(r.stdout), ['counter-replay', 76]);
      assert.deepEqual([readdirSync(dir), counters(state)], [['state.json'], [76]]);
      writeFileSync(`${state}.journal`, `{${JSON.stringify(slot)}:{"messageCounter":80}}\nnot json\n`);
      const bad = await xsmeter(['decode', '--key', KEY, '--state', state], frames[3] + '\n');
      assert.deepEqual([bad.code, bad.stdout], [2, '']);
      assert.match(bad.stderr, /^xsmeter decode: .*state\.json\.journal: line 2 is not valid JSON .*\n$/);
      assert.deepEqual(counters(state), [76], 'left as it was');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('malformed lines, replays and wrong keys give JSON errors and a non-zero exit', async () => {
    const f = await enc(['--key', KEY, '--counter', '20', '--set', '1.8.0=1']);
    const flipped = f.slice(0, 40) + (f[40] === '0' ? '1' : '0') + f.slice(41);
    const input = [f, f, 'not hex', flipped, f + '00', 'T1;1;1;x;0;0;1;0x12'].join('\n') + '\n';
    const r = await xsmeter(['decode', '--key', KEY], input);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^xsmeter decode: 5 of 6 frames failed\n$/);
    const out = lines(r.stdout);
    assert.equal(out[0].mac, 'ok');
    assert.deepEqual(
      out.slice(1).map((o) => (o.error as { code: string }).code),
      ['counter-replay', 'bad-input', 'crc', 'length', 'truncated'],
    );
    const wrong = await xsmeter(['decode', '--key', KEY2], f + '\n');
    assert.equal(wrong.code, 1);
    assert.equal((lines(wrong.stdout)[0].error as { code: string }).code, 'mac-mismatch');
  });

  it('--state keeps the replay protection across runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xsmeter-state-'));
    try {
      const state = join(dir, 'state.json');
      const f = await enc(['--key', KEY, '--counter', '30', '--set', '1.8.0=1']);
      assert.equal((await xsmeter(['decode', '--key', KEY, '--state', state], f + '\n')).code, 0);
      const again = await xsmeter(['decode', '--key', KEY, '--state', state], f + '\n');
      assert.equal(again.code, 1);
      assert.equal((lines(again.stdout)[0].error as { code: string }).code, 'counter-replay');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--help works; bad options fail with a one-line reason', async () => {
    for (const cmd of ['encode', 'decode']) {
      const h = await xsmeter([cmd, '--help']);
      assert.equal(h.code, 0);
      assert.match(h.stdout, new RegExp(`^usage: xsmeter ${cmd} `));
    }
    const cases: [string[], RegExp][] = [
      [['encode', '--id', '1234', '--key', KEY, '--counter', '1', '--set', '1.8.0=1'], /--id must be 8 decimal digits/],
      [['encode', '--id', '12345678', '--counter', '1', '--set', '1.8.0=1'], /--key is required/],
      [['encode', '--id', '12345678', '--key', KEY, '--set', '1.8.0=1'], /--counter is required/],
      [['encode', '--id', '12345678', '--key', KEY, '--counter', '1', '--set', '9.9.9=1'], /unknown-register/],
      [['encode', '--id', '12345678', '--key', KEY, '--counter', '1', '--set', '1.8.0=1', '--frame', 'B', '--radio', 'T1'], /T1 carries format A only/],
      // Mode 5 and plain telegrams have no AFL: a counter would be lost (it was, silently).
      [['encode', '--id', '12345678', '--key', KEY, '--mode', '5', '--counter', '300', '--set', '1.8.0=1'], /^xsmeter encode: --counter is the AFL message counter of security mode 7; a mode-5 telegram has no AFL/],
      [['encode', '--id', '12345678', '--key', KEY, '--mode', '5', '--counter', '3', '--access', '9', '--set', '1.8.0=1'], /a mode-5 telegram has no AFL/],
      [['encode', '--id', '12345678', '--insecure', '--counter', '3', '--set', '1.8.0=1'], /a plain \(--insecure\) telegram has no AFL/],
      [['encode', '--id', '12345678', '--bogus'], /bogus/],
      // Options the output would not use (they were ignored without a word).
      [['encode', '--id', '12345678', '--key', KEY, '--counter', '1', '--set', '1.8.0=1', '--radio', 'C1'], /^xsmeter encode: --radio is for --format rtlwmbus and phy; a hex frame carries no radio mode: drop --radio$/m],
      [['decode', '--key', KEY, '--phy', 'T1', '--frame', 'B'], /^xsmeter decode: --frame is for hex frames; a --phy T1 stream's sync word gives its format: drop --frame$/m],
      [['decode'], /give --key/],
      [['decode', '--keys', '/nonexistent/keys.json'], /cannot open \/nonexistent\/keys\.json/],
      [['decode', '--key', 'abc'], /32 hex digits/],
    ];
    for (const [args, re] of cases) {
      const r = await xsmeter(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, re);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  });
});
