/**
 * The bench's report as the certificate an operator signs, printed to PDF with headless Chromium
 * (Debian package `chromium`; .ci/run installs it) and read back with poppler's pdfinfo/pdftotext
 * (`poppler-utils`): the pages render, one part per A4 page, with the words a black-and-white print
 * needs. Without those programs the tests show as skipped, with the reason in their title.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchResult } from '../tools/calibration-bench/procedure.js';
import { xsmeter } from './helpers/cli.js';

function which(...names: string[]): string | undefined {
  for (const n of names) {
    const r = spawnSync('/bin/sh', ['-c', `command -v ${n}`], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return undefined;
}

const CHROMIUM = which('chromium', 'chromium-browser', 'google-chrome');
const POPPLER = which('pdftotext') && which('pdfinfo');
const missing = [CHROMIUM ? '' : 'chromium (apt-get install chromium)', POPPLER ? '' : 'pdftotext/pdfinfo (apt-get install poppler-utils)'].filter(Boolean).join(' and ');
const test = missing ? it.skip : it;
const skipped = missing ? ` (skipped: no ${missing})` : '';

const PRINT_DEADLINE_MS = 90_000;

/**
 * Prints an HTML file to PDF with the flags that work in a container without a display or network.
 * Headless Chromium at times writes the whole PDF and then never exits (or stalls before it starts
 * on a cold machine), so this does not wait for its exit: the print is done when Chromium has said
 * "N bytes written" and the file ends in %%EOF; the process group is then killed. A print with no PDF
 * by the deadline is tried once more; a second failure fails the test with Chromium's last words.
 */
async function printToPdf(html: string, pdf: string, dir: string): Promise<void> {
  let failure = '';
  for (let attempt = 1; attempt <= 2; attempt++) {
    failure = await printOnce(html, pdf, dir);
    if (!failure) return;
  }
  throw new Error(`chromium did not print ${html} in two attempts: ${failure}`);
}

/** One Chromium print; resolves '' when the PDF is complete, else why not. */
function printOnce(html: string, pdf: string, dir: string): Promise<string> {
  rmSync(pdf, { force: true });
  const profile = mkdtempSync(join(dir, 'chromium-'));
  const child = spawn(
    CHROMIUM as string,
    ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--no-pdf-header-footer', `--print-to-pdf=${pdf}`, `file://${html}`],
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  const complete = (): boolean => /bytes written to file/.test(stderr) && existsSync(pdf) && readFileSync(pdf, 'latin1').trimEnd().endsWith('%%EOF');
  return new Promise((resolve) => {
    const started = Date.now();
    let exitCode: number | null | undefined;
    child.on('error', (e) => finish(`cannot run ${CHROMIUM}: ${e.message}`));
    child.on('exit', (code) => {
      exitCode = code;
    });
    const poll = setInterval(() => {
      if (complete()) finish('');
      else if (exitCode !== undefined) finish(`exited with ${exitCode} and no complete PDF: ${lastLine(stderr)}`);
      else if (Date.now() - started > PRINT_DEADLINE_MS) finish(`no PDF after ${PRINT_DEADLINE_MS / 1000} s: ${lastLine(stderr)}`);
    }, 200);
    function finish(outcome: string): void {
      clearInterval(poll);
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // the group has already exited
      }
      resolve(outcome);
    }
  });
}

const lastLine = (text: string): string => text.trim().split('\n').pop() || '(nothing on stderr)';

function pages(pdf: string): number {
  return Number(/^Pages:\s+(\d+)$/m.exec(execFileSync('pdfinfo', [pdf], { encoding: 'utf8' }))?.[1]);
}

function pageText(pdf: string, page: number): string {
  return execFileSync('pdftotext', ['-layout', '-f', String(page), '-l', String(page), pdf, '-'], { encoding: 'utf8' });
}

const count = (text: string, word: RegExp): number => (text.match(word) ?? []).length;

describe('the bench certificate printed to PDF (headless Chromium)', function () {
  this.timeout(300_000);
  let dir: string;
  before(() => {
    execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'ignore' });
    dir = mkdtempSync(join(tmpdir(), 'xsmeter-certificate-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test(`a sealed calibration: six A4 pages, the certificate on the first with every field, PASS per point in words${skipped}`, async () => {
    const html = join(dir, 'calibration.html');
    const json = join(dir, 'calibration.json');
    const r = await xsmeter(['bench', 'calibrate', '--target', 'sim', '--class', '0.5S', '--seed', '21', '--min-seconds', '300', '--progress', 'none', '--bench-config', 'tools/calibration-bench/bench.example.json', '--operator', 'j.weber', '--report-number', 'CERT-0001', '--report', html, '--json', json]);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(readFileSync(json, 'utf8')) as BenchResult;
    const pdf = join(dir, 'calibration.pdf');
    await printToPdf(html, pdf, dir);
    assert.equal(pages(pdf), 6);
    const text = Array.from({ length: 6 }, (_, i) => pageText(pdf, i + 1));
    text.forEach((t, i) => assert.match(t, new RegExp(`Calibration certificate · report CERT-0001 · ${result.identity?.meterId} · page ${i + 1} of 6`)));

    const p1 = text[0];
    for (const field of [
      /report number\s+CERT-0001/,
      /date of test \(bench clock\)\s+2026-01-01/,
      /PASS — calibrated and SEALED/,
      new RegExp(`meter id\\s+${result.identity?.meterId}`),
      /bench id\s+bench-01/,
      /operator\s+j\.weber/,
      /reference standard\s+Example Instruments RS-3 reference standard, serial RS3-000123, class 0\.05 %/,
      /reference calibration due\s+2027-06-30/,
      /conditions\s+230 V, 50 Hz, 23 °C, 45 % r\.h\./,
      /Accuracy, class 0\.5S[^\n]*\sPASS\s+36 points, all within the limits/,
      /No load \(creep\), 115 %\s+PASS/,
      /Starting current\s+PASS/,
      /Meter clock against the\s+OK/,
      /Calibration log\s+VERIFIED/,
      /Seal\s+SEALED/,
      /Signatures/,
      /calibrated by \(operator\)\s+j\.weber/,
      /checked by/,
      /Decision rule/,
    ]) {
      assert.match(p1, field);
    }
    // Page 2: every point after calibration with its limit, error, uncertainty and the word.
    const p2 = text[1];
    assert.match(p2, /test point\s+limit %\s+error %\s+U \(k=2\) %\s+pulses \/ gate\s+result/);
    assert.equal(count(p2, /\bPASS\b/g), 36);
    assert.equal(count(p2, /\bFAIL\b/g), 0);
    for (const p of result.after) {
      // U from the reference's class (0.05 %) and the gate (1 s energy updates over the gate), k = 2.
      const u = 2 * Math.sqrt((0.05 / Math.sqrt(3)) ** 2 + (100 / p.seconds / Math.sqrt(3)) ** 2);
      const row = new RegExp(`${p.label.replace(/[()×.]/g, (c) => `\\${c}`)}\\s+±${p.limitPct}\\s+${(p.errorPct as number) >= 0 ? '\\+' : '-'}${Math.abs(p.errorPct as number).toFixed(3)}\\s+±${u.toFixed(3)}\\s+${p.pulses} / ${Math.round(p.seconds)} s\\s+PASS`);
      assert.match(p2, row, p.label);
    }
    // Page 3: as found, FAIL where the uncalibrated meter was outside.
    assert.equal(count(text[2], /\bFAIL\b/g), result.before.filter((p) => !p.pass).length);
    assert.match(text[3], /Error versus current/);
    assert.match(text[4], /No-load, starting-current and clock tests/);
    assert.match(text[5], /Calibration log/);
    assert.equal(count(text[5], /bench-01\/j\.weber/g), 4);
  });

  test(`a failed verification: not a certificate, FAIL in words, no signature block${skipped}`, async () => {
    const html = join(dir, 'verify.html');
    const json = join(dir, 'verify.json');
    const r = await xsmeter(['bench', 'verify', '--target', 'sim', '--class', '0.5S', '--errors', 'default', '--min-seconds', '300', '--progress', 'none', '--bench-config', 'tools/calibration-bench/bench.example.json', '--operator', 'j.weber', '--report', html, '--json', json]);
    assert.equal(r.code, 1);
    const result = JSON.parse(readFileSync(json, 'utf8')) as BenchResult;
    const pdf = join(dir, 'verify.pdf');
    await printToPdf(html, pdf, dir);
    assert.equal(pages(pdf), 5);
    const p1 = pageText(pdf, 1);
    assert.match(p1, /Verification report — not a certificate/);
    assert.match(p1, /No certificate: FAIL: \d+ of 36 points outside the class 0\.5S limits/);
    assert.match(p1, /Accuracy, class 0\.5S[^\n]*\sFAIL\s+36 points, \d+ outside the limits/);
    assert.doesNotMatch(p1, /Signatures/);
    const p2 = pageText(pdf, 2);
    assert.equal(count(p2, /\bFAIL\b/g), result.after.filter((p) => !p.pass).length);
    assert.equal(count(p2, /\bPASS\b/g), result.after.filter((p) => p.pass).length);
  });
});
