/**
 * The device crypto (hosts/esp32/ports/crypto.ts, on the Moddable SDK's native AES, SHA-256 and EC
 * arithmetic) inside Moddable's simulator: the crypto port's vector suite (test/crypto-port-suite.ts)
 * built with mcconfig as a preloaded app (test/moddable/crypto.json, the ESP32's creation block) and
 * run in mcsim. Its lines must be exactly those of the desktop implementation under Node (the same
 * checks passed, the same RFC 6979 signatures). The same app pins XS 8.2.3's BigInt equality bug
 * (test/moddable/bigint-probe.ts).
 */
import assert from 'node:assert/strict';
// @ts-expect-error: plain .mjs build script without declarations
import { prebuild } from '../hosts/esp32/prebuild.mjs';
import { describeWithModdable, mcconfigBuild, root, runInMcsim, type SimRun } from './helpers/moddable.js';
import { runInBoth, type XsRun } from './helpers/xs.js';

const OUT = 'build/moddable-crypto';

/** The suite's own lines (checks, signatures, error codes, summary), without the app's other traces. */
const suiteLines = (lines: string[]): string[] => lines.filter((l) => /^(ok|FAIL|sig|code) |^crypto-port suite: /.test(l));

let desktop: { xs: XsRun; node: XsRun } | undefined;
async function desktopRun(): Promise<{ xs: XsRun; node: XsRun }> {
  desktop ??= await runInBoth('test/xs/crypto-port-suite.xs.ts');
  return desktop;
}

describe('crypto port suite (test/crypto-port-suite.ts) on the desktop implementation (@noble)', function () {
  this.timeout(120_000);

  it('passes under Node', async () => {
    const { node } = await desktopRun();
    assert.deepEqual(node.lines.filter((l) => l.startsWith('FAIL')), []);
    assert.match(node.lines[node.lines.length - 1], /^crypto-port suite: \d+ passed, 0 failed$/);
  });

  it('prints the same lines under XS (xsnap) as under Node', async () => {
    const { xs, node } = await desktopRun();
    assert.deepEqual(xs.lines, node.lines);
  });
});

describeWithModdable('Moddable SDK: the device crypto port in mcsim', (sdk) => {
  let sim: SimRun;

  before(async function () {
    this.timeout(10 * 60_000);
    await prebuild({ outDir: `${root}/${OUT}`, targets: [{ name: 'crypto', entry: 'test/moddable/crypto-main.ts', platforms: ['lin'] }] });
    const build = await mcconfigBuild(sdk(), { name: 'crypto', manifest: 'test/moddable/crypto.json', platform: 'lin', inputs: [OUT, 'hosts/esp32/crypto.json'] });
    sim = await runInMcsim(sdk(), build.app!, 'crypto-main: done', 60_000);
  });

  it('runs to the end without an XS abort', () => {
    assert.equal(sim.abort, undefined);
  });

  it('passes the whole vector suite (SP 800-38A, RFC 4493, FIPS 180, OMS Annex N modes 5 and 7, RFC 6979 A.2.5, low-S, CryptoError)', () => {
    const suite = suiteLines(sim.lines);
    assert.deepEqual(suite.filter((l) => l.startsWith('FAIL')), []);
    assert.match(suite[suite.length - 1], /^crypto-port suite: (\d+) passed, 0 failed$/);
    assert.ok(Number(/(\d+) passed/.exec(suite[suite.length - 1])![1]) >= 45);
  });

  it('prints exactly the desktop implementation\'s lines: the same checks, the same RFC 6979 signatures, the same error codes', async function () {
    this.timeout(120_000);
    assert.deepEqual(suiteLines(sim.lines), (await desktopRun()).node.lines);
  });

  it('XS 8.2.3: a run-time BigInt and a BigInt preloaded into flash are equal under < and > and Object.is, but not under == and === (why the device crypto compares BigInts with < and > only)', () => {
    const probe = sim.lines.filter((l) => l.startsWith('bigint-probe '));
    assert.deepEqual(probe, [
      'bigint-probe rom===ram false false',
      'bigint-probe rom==ram false false',
      'bigint-probe rom!==ram true true',
      'bigint-probe rom<ram rom>ram false false',
      'bigint-probe Object.is true true',
      'bigint-probe ram===ram true true',
    ], 'the SDK in use compares BigInts differently from XS 8.2.3: if == and === are right now, update the notes in hosts/esp32/ports/crypto.ts and the README');
  });
});
