/**
 * The calibration report: one self-contained HTML file (inline CSS and SVG, no scripts, nothing
 * fetched), printable on A4 (each part on its own page). When the run passed it is the certificate
 * the bench operator signs: report number, meter, bench and operator, reference standard, conditions,
 * every point with its limit, error, uncertainty and PASS or FAIL in words (black-and-white print
 * loses the colour), the no-load and starting-current tests, the meter clock against the bench
 * clock, the log verification and a signature block. Plots of error versus current (before and
 * after, the class limit band) and the constants written follow.
 *
 * Portable: builds a string.
 */
import { isoTime } from '../../modules/core/iso-time.js';
import type { Calibration } from '../../modules/metrology/calibration.js';
import { PF_ANGLE, accuracyClass, type PowerFactor } from './accuracy-class.js';
import type { BenchResult, PointResult } from './procedure.js';

const esc = (s: unknown): string => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

const PF_COLOUR: Record<PowerFactor, string> = { '1': '#1f77b4', '0.5L': '#d62728', '0.8C': '#2ca02c' };

function fmt(v: number | undefined, digits = 3): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  return `${v >= 0 ? '+' : ''}${v.toFixed(digits)}`;
}

/** Error versus current (log axis), one series per PF and direction, the class limits as a band. */
export function errorPlot(points: readonly PointResult[], title: string, className: string): string {
  const W = 560;
  const H = 320;
  const m = { l: 56, r: 16, t: 44, b: 44 };
  const balanced = points.filter((p) => p.element === undefined);
  const cls = accuracyClass(className);
  const currents = [...new Set(balanced.map((p) => p.current))].sort((a, b) => a - b);
  if (!currents.length) return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="60" role="img"><text x="10" y="30">${esc(title)}: no points</text></svg>`;
  const measured = balanced.filter((p) => p.errorPct !== undefined);
  const maxLimit = Math.max(...balanced.map((p) => p.limitPct));
  const maxErr = Math.max(maxLimit * 1.25, ...measured.map((p) => Math.abs(p.errorPct as number) * 1.1));
  const yMax = maxErr;
  const x0 = Math.log10(currents[0] / 1.5);
  const x1 = Math.log10(currents[currents.length - 1] * 1.5);
  const X = (a: number): number => m.l + ((Math.log10(a) - x0) / (x1 - x0)) * (W - m.l - m.r);
  const Y = (e: number): number => m.t + ((yMax - e) / (2 * yMax)) * (H - m.t - m.b);
  const parts: string[] = [];
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" fill="#fff" stroke="#999"/>`);
  // Class limit band at PF 1 (filled) and the PF 0.5L / 0.8C limit (dashed), as steps over current.
  if (cls) {
    const edges = currents.map((c, i) => [i === 0 ? currents[0] / 1.5 : Math.sqrt(currents[i - 1] * c), i === currents.length - 1 ? c * 1.5 : Math.sqrt(c * currents[i + 1])]);
    for (const [pf, style] of [['1', 'fill="#f2c94c" fill-opacity="0.28" stroke="none"'], ['0.5L', 'fill="none" stroke="#b8860b" stroke-dasharray="5 3"']] as const) {
      const top: string[] = [];
      const bottom: string[] = [];
      currents.forEach((c, i) => {
        const lim = cls.limit(c / cls.baseCurrent, pf);
        if (lim === undefined) return;
        const [a, b] = edges[i];
        top.push(`${X(a).toFixed(1)},${Y(lim).toFixed(1)} ${X(b).toFixed(1)},${Y(lim).toFixed(1)}`);
        bottom.unshift(`${X(b).toFixed(1)},${Y(-lim).toFixed(1)} ${X(a).toFixed(1)},${Y(-lim).toFixed(1)}`);
      });
      if (top.length) parts.push(`<polygon points="${top.join(' ')} ${bottom.join(' ')}" ${style}><title>class ${esc(className)} limit, PF ${pf === '1' ? '1' : '0.5L / 0.8C'}</title></polygon>`);
    }
  }
  // Axes: grid at the test currents, y ticks.
  const step = niceStep(yMax / 4);
  for (let v = -Math.floor(yMax / step) * step; v <= yMax + 1e-9; v += step) {
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${Y(v).toFixed(1)}" y2="${Y(v).toFixed(1)}" stroke="${Math.abs(v) < 1e-9 ? '#555' : '#e3e3e3'}"/>`);
    parts.push(`<text x="${m.l - 6}" y="${(Y(v) + 4).toFixed(1)}" text-anchor="end" font-size="11">${esc(Number(v.toFixed(6)))}</text>`);
  }
  for (const c of currents) {
    parts.push(`<line x1="${X(c).toFixed(1)}" x2="${X(c).toFixed(1)}" y1="${m.t}" y2="${H - m.b}" stroke="#eee"/>`);
    parts.push(`<text x="${X(c).toFixed(1)}" y="${H - m.b + 15}" text-anchor="middle" font-size="11">${esc(c)}</text>`);
  }
  parts.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 8}" text-anchor="middle" font-size="12">current, A (log)</text>`);
  parts.push(`<text x="14" y="${(m.t + H - m.b) / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 14 ${(m.t + H - m.b) / 2})">error, %</text>`);
  parts.push(`<text x="${m.l}" y="16" font-size="13" font-weight="bold">${esc(title)}</text>`);
  // Series: per PF, import solid with circles, export dashed with squares.
  let legendX = m.l;
  for (const pf of Object.keys(PF_ANGLE) as PowerFactor[]) {
    for (const dir of ['import', 'export'] as const) {
      const s = measured.filter((p) => p.pf === pf && p.direction === dir).sort((a, b) => a.current - b.current);
      if (!s.length) continue;
      const colour = PF_COLOUR[pf];
      const path = s.map((p, i) => `${i ? 'L' : 'M'}${X(p.current).toFixed(1)},${Y(p.errorPct as number).toFixed(1)}`).join(' ');
      parts.push(`<path d="${path}" fill="none" stroke="${colour}" stroke-width="1.5"${dir === 'export' ? ' stroke-dasharray="4 3"' : ''}/>`);
      for (const p of s) {
        const cx = X(p.current);
        const cy = Y(p.errorPct as number);
        const fill = p.pass ? colour : '#fff';
        const mark = dir === 'import' ? `<circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="3.5" fill="${fill}" stroke="${colour}"` : `<rect x="${(cx - 3).toFixed(1)}" y="${(cy - 3).toFixed(1)}" width="6" height="6" fill="${fill}" stroke="${colour}"`;
        parts.push(`${mark}><title>${esc(p.label)}: ${esc(fmt(p.errorPct))} % (limit ±${esc(p.limitPct)} %)</title>${dir === 'import' ? '</circle>' : '</rect>'}`);
      }
    }
    parts.push(`<line x1="${legendX}" x2="${legendX + 18}" y1="31" y2="31" stroke="${PF_COLOUR[pf]}" stroke-width="2"/><text x="${legendX + 22}" y="35" font-size="11">PF ${pf}</text>`);
    legendX += 70;
  }
  parts.push(`<text x="${W - m.r}" y="35" font-size="10" text-anchor="end">○ import, □ export (dashed); hollow: outside the limit</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" font-family="sans-serif">${parts.join('')}</svg>`;
}

function niceStep(x: number): number {
  const p = 10 ** Math.floor(Math.log10(x));
  const f = x / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}


export interface ReportExtra {
  /** When the report was written (ms since 1970 UTC). */
  generatedAt?: number;
  wallMs?: number;
  /** How the bench reached the meter (target, rig). */
  target?: string;
}

/** The word every result carries, so that black-and-white print says it without colour. */
function verdictWord(pass: boolean | undefined): string {
  return pass === undefined ? '<span class="na">NOT RUN</span>' : pass ? '<span class="pass">PASS</span>' : '<span class="fail">FAIL</span>';
}

const iso = (ms: number | undefined): string => (ms === undefined ? '–' : isoTime(ms).replace('.000Z', 'Z'));
/** The date of `ms` (the whole text when it has none). */
const day = (ms: number | undefined): string => (ms === undefined ? '–' : isoTime(ms).replace(/T.*Z$/, ''));

function kv(rows: [string, string][]): string {
  return `<table class="kv">${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${v}</td></tr>`).join('')}</table>`;
}

/** Accuracy points: limit, error, uncertainty and the verdict in words; a list cut short (of `total`) says so. */
function pointTable(points: readonly PointResult[], total: number): string {
  if (!points.length) return '<p>No points measured.</p>';
  const incomplete = points.length < total ? `<p class="fail">INCOMPLETE: ${points.length} of ${total} points measured; the run ended before the others.</p>` : '';
  const rows = points.map((p) => {
    const measured = p.errorPct !== undefined;
    return `<tr><td>${esc(p.label)}</td><td class="num">±${esc(p.limitPct)}</td><td class="num">${measured ? fmt(p.errorPct) : `<span class="fail">${esc(p.failure ?? 'not measured')}</span>`}</td><td class="num">${p.uncertaintyPct === undefined ? '–' : `±${p.uncertaintyPct.toFixed(3)}`}</td><td class="num">${measured ? `${p.pulses} / ${Math.round(p.seconds)} s` : '–'}</td><td>${verdictWord(p.pass)}</td></tr>`;
  });
  return `${incomplete}<table class="points"><thead><tr><th>test point</th><th>limit %</th><th>error %</th><th>U (k=2) %</th><th>pulses / gate</th><th>result</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function calibrationTable(c: Calibration): string {
  const rows = c.channels
    .map((ch, i) => `<tr><td>${i + 1}</td><td class="num">${ch.voltageGain.toFixed(6)}</td><td class="num">${ch.currentGain.toFixed(6)}</td><td class="num">${ch.powerGain.toFixed(6)}</td><td class="num">${ch.phaseDeg.toFixed(6)}</td><td class="num">${ch.powerOffsetW.toFixed(3)}</td><td class="num">${ch.reactiveOffsetVar.toFixed(3)}</td></tr>`)
    .join('');
  return `<table><thead><tr><th>element</th><th>voltage gain</th><th>current gain</th><th>power gain</th><th>phase °</th><th>offset W</th><th>reactive offset var</th></tr></thead><tbody>${rows}</tbody></table><p>chip ${esc(c.chip)}, no-load threshold ${c.noLoadW.toFixed(3)} W</p>`;
}

function worstText(points: readonly PointResult[], total: number): string {
  const measured = points.filter((p) => p.errorPct !== undefined);
  if (!measured.length) return 'no point measured';
  const w = measured.reduce((a, p) => (Math.abs(p.errorPct as number) / p.limitPct > Math.abs(a.errorPct as number) / a.limitPct ? p : a));
  const bad = points.filter((p) => !p.pass).length;
  const count = points.length < total ? `INCOMPLETE, ${points.length} of ${total} points measured` : `${points.length} points`;
  return `${count}, ${bad ? `${bad} outside the limits` : 'all within the limits'}; worst ${fmt(w.errorPct)} % at ${w.label} (limit ±${w.limitPct} %)`;
}

function clockText(r: BenchResult): { word: string; text: string } {
  const c = r.clock;
  if (!c) return { word: '<span class="na">NOT CHECKED</span>', text: 'the bench has no clock to compare with' };
  if (c.notSet) return { word: '<span class="fail">NOT SET</span>', text: `meter ${iso(c.meterMs)}, bench ${iso(c.benchMs)}: the meter clock was never set` };
  const off = `${c.offsetS >= 0 ? '+' : ''}${c.offsetS.toFixed(1)} s`;
  return c.ok
    ? { word: '<span class="pass">OK</span>', text: `meter ${iso(c.meterMs)}, bench ${iso(c.benchMs)}: ${off} (tolerance ±${c.toleranceS} s)` }
    : { word: '<span class="fail">WRONG</span>', text: `meter ${iso(c.meterMs)}, bench ${iso(c.benchMs)}: ${off}, beyond ±${c.toleranceS} s` };
}

/** The headline: a certificate only for a sealed calibration or a passed verification. */
function headline(r: BenchResult): { title: string; certificate: boolean; verdict: string } {
  const what = r.kind === 'calibrate' ? 'Calibration' : 'Verification';
  if (r.status === 'sealed') return { title: `${what} certificate`, certificate: true, verdict: 'PASS — calibrated and SEALED' };
  if (r.status === 'pass') return { title: `${what} certificate`, certificate: true, verdict: 'PASS — within the class limits, seal intact' };
  const word = r.status === 'refused' ? 'REFUSED' : r.status === 'interrupted' ? 'INTERRUPTED' : 'FAIL';
  return { title: `${what} report — not a certificate`, certificate: false, verdict: `${word}: ${r.reason ?? ''}${r.restored ? ` — ${r.restored.text}` : ''}` };
}

/**
 * The report of a calibrate or verify run: a certificate a bench operator signs when the run passed
 * (sealed / pass), else a report saying why not. Each part starts on a new printed page (A4):
 * 1 the certificate (meter, bench, operator, reference standard, conditions, results, signatures),
 * 2 the accuracy points after calibration (or measured), 3 (calibrate) the points as found,
 * 4 error plots, 5 constants and the no-load, starting-current and clock tests, 6 the calibration log.
 */
export function reportHtml(r: BenchResult, extra: ReportExtra = {}): string {
  const id = r.identity;
  const b = r.bench;
  const head = headline(r);
  const pages: { title: string; body: string }[] = [];
  const number = b?.reportNumber ?? '–';
  const testDate = r.clock?.benchMs;

  // 1: the certificate.
  const ref = b?.reference;
  const cond = b?.conditions;
  const clock = clockText(r);
  const accuracy = r.after.length ? r.after : [];
  const accuracyPass = accuracy.length ? accuracy.every((p) => p.pass) : undefined;
  // Points cut short pass nothing; one that failed fails it.
  const accuracyWord = accuracy.length && accuracy.length < r.pointCount && accuracyPass ? '<span class="na">INCOMPLETE</span>' : verdictWord(accuracyPass);
  const results: [string, string, string][] = [
    [`Accuracy, class ${esc(r.className)} (${esc(r.standard)})`, accuracyWord, esc(accuracy.length ? worstText(accuracy, r.pointCount) : 'not measured')],
    ['No load (creep), 115 % Un, no current', verdictWord(r.noLoad?.pass), esc(r.noLoad ? `${r.noLoad.pulses} pulse(s) in ${r.noLoad.seconds} s (at most ${r.noLoad.maxPulses})` : 'not run')],
    ['Starting current', verdictWord(r.starting?.pass), esc(r.starting ? `${r.starting.current} A: ${r.starting.pulses} pulse(s) in ${r.starting.seconds} s (at least ${r.starting.minPulses})` : 'not run')],
    ['Meter clock against the bench clock', clock.word, esc(clock.text)],
    ['Calibration log', r.log ? (r.log.ok ? '<span class="pass">VERIFIED</span>' : '<span class="fail">FAULT</span>') : '<span class="na">NOT READ</span>', esc(r.log ? `${r.log.records} records, event counter ${r.log.lastCounter}${r.log.originChecked ? ', against the trusted device key' : ', against the key in the log (integrity only)'}${r.log.fault ? `; ${r.log.fault}` : ''}` : '–')],
    ['Seal', r.sealed ? '<span class="pass">SEALED</span>' : '<span class="fail">NOT SEALED</span>', esc(r.sealedDigestHex ? `constants digest ${r.sealedDigestHex}` : r.restored ? r.restored.text : r.sealed ? 'seal as found' : '–')],
  ];
  const signature = head.certificate
    ? `<h2>Signatures</h2><table class="sign"><tr><th></th><th>name</th><th>signature</th><th>date</th></tr>
<tr><th>calibrated by (operator)</th><td>${esc(b?.operator ?? '')}</td><td></td><td></td></tr>
<tr><th>checked by</th><td></td><td></td><td></td></tr></table>
<p class="note">Decision rule: a point passes when |error| ≤ limit (simple acceptance); U is the expanded uncertainty of the bench's measurement (coverage factor 2, about 95 %): the reference standard's class and the pulse-gate resolution.</p>`
    : `<p class="fail big">No certificate: ${esc(head.verdict)}</p>`;
  pages.push({
    title: head.title,
    body:
      `${b?.laboratory ? `<p class="lab">${esc(b.laboratory)}</p>` : ''}<h1>${esc(head.title)}</h1>` +
      kv([
        ['report number', esc(number)],
        ['date of test (bench clock)', esc(day(testDate))],
        ['issued', esc(extra.generatedAt === undefined ? '–' : iso(extra.generatedAt))],
      ]) +
      `<p class="verdict">${esc(head.verdict)}</p>` +
      `<h2>Meter</h2>` +
      kv([
        ['meter id', esc(id?.meterId ?? '(not identified)')],
        ['manufacturer / model', esc(id ? `${id.manufacturer} / ${id.model}` : '–')],
        ['firmware', esc(id?.firmware ?? '–')],
        ['device public key', `<span class="hex">${esc(r.publicKeyHex ?? '(none given: log checked for integrity only)')}</span>`],
        ['accuracy class', esc(`${r.className} (${r.standard}), meter constant ${r.meterConstant} imp/kWh`)],
      ]) +
      `<h2>Bench</h2>` +
      kv([
        ['bench id', esc(b?.benchId ?? '–')],
        ['operator', esc(b?.operator ?? '–')],
        ['reference standard', esc(ref ? `${ref.make}${ref.model ? ` ${ref.model}` : ''}, serial ${ref.serial}, class ${ref.classPct} %` : 'not given')],
        ['reference calibration due', esc(ref?.calibrationDue ?? '–')],
        ['conditions', esc(cond ? `${cond.voltageV} V, ${cond.frequencyHz} Hz${cond.temperatureC === undefined ? '' : `, ${cond.temperatureC} °C`}${cond.humidityPct === undefined ? '' : `, ${cond.humidityPct} % r.h.`}` : '–')],
        ...(extra.target ? ([['connection', esc(extra.target)]] as [string, string][]) : []),
      ]) +
      `<h2>Results</h2><table class="results"><thead><tr><th>test</th><th>result</th><th>details</th></tr></thead><tbody>${results.map(([t, w, d]) => `<tr><td>${t}</td><td>${w}</td><td>${d}</td></tr>`).join('')}</tbody></table>` +
      (r.unfinished ? `<p class="note">The meter was found unsealed by an unfinished calibration (unsealed ${esc(iso(r.unfinished.unsealedAt))} by ${esc(r.unfinished.by)}); this run resumed it.</p>` : '') +
      signature,
  });

  // 2 and 3: the points.
  pages.push({ title: r.kind === 'calibrate' ? 'Accuracy after calibration' : 'Accuracy', body: `<h2>${r.kind === 'calibrate' ? 'Accuracy after calibration' : 'Accuracy'}</h2>${pointTable(r.after, r.pointCount)}` });
  if (r.kind === 'calibrate') pages.push({ title: 'Accuracy as found', body: `<h2>Accuracy as found (before calibration)</h2>${pointTable(r.before, r.pointCount)}` });

  // 4: plots.
  const plots = [r.before.length ? errorPlot(r.before, r.kind === 'calibrate' ? 'Before calibration' : 'Measured', r.className) : '', r.after.length ? errorPlot(r.after, r.kind === 'calibrate' ? 'After calibration' : 'Measured', r.className) : ''].filter(Boolean);
  pages.push({ title: 'Error versus current', body: `<h2>Error versus current</h2><div class="plots">${plots.join('') || '<p>no points measured</p>'}</div><p class="note">Balanced-load points. Shaded: class ${esc(r.className)} limit at PF 1; dashed: at PF 0.5L / 0.8C. Circles import, squares export; hollow: outside the limit.</p>` });

  // 5: constants and the other tests.
  let constants = r.asFoundCalibration ? `<h3>As found</h3>${calibrationTable(r.asFoundCalibration)}` : '';
  if (r.kind === 'calibrate') {
    const residuals = r.residuals.map((x, i) => `<tr><td>${i + 1}</td><td class="num">${x.gain.toFixed(6)}</td><td class="num">${x.phaseDeg.toFixed(4)}</td><td class="num">${x.offsetW.toFixed(4)}</td></tr>`).join('');
    constants +=
      (residuals ? `<h3>Residual found after the rms step</h3><table><thead><tr><th>element</th><th>gain</th><th>phase °</th><th>offset W</th></tr></thead><tbody>${residuals}</tbody></table>` : '') +
      (r.written.map((x) => `<h3>${x.step === 'rms' ? 'Written: rms gains' : 'Written: final constants'}</h3>${calibrationTable(x.calibration)}<p class="hex">${esc(x.bytesHex)}</p>`).join('') || '<p>No constants written.</p>') +
      (r.sealedDigestHex ? `<p>Sealed digest (SHA-256 of the constants): <span class="hex">${esc(r.sealedDigestHex)}</span></p>` : '');
  }
  const tests: [string, string, string][] = [];
  if (r.noLoad) tests.push(['no load', verdictWord(r.noLoad.pass), esc(`${r.noLoad.voltage.toFixed(1)} V, no current, ${r.noLoad.seconds} s (Δt of IEC 62053-21/-22 8.3.2): ${r.noLoad.pulses} pulse(s), at most ${r.noLoad.maxPulses}`)]);
  if (r.starting) tests.push(['starting current', verdictWord(r.starting.pass), esc(`${r.starting.current} A at PF 1 (8.3.3), ${r.starting.seconds} s = 2.4 × the pulse period of ${r.starting.periodSeconds.toFixed(0)} s: ${r.starting.pulses} pulse(s), at least ${r.starting.minPulses}`)]);
  tests.push(['clock', clock.word, esc(clock.text)]);
  pages.push({
    title: 'Constants and tests',
    body: `<h2>Constants</h2>${constants || '<p>–</p>'}<h2>No-load, starting-current and clock tests</h2><table class="results"><tbody>${tests.map(([t, w, d]) => `<tr><td>${t}</td><td>${w}</td><td>${d}</td></tr>`).join('')}</tbody></table>${r.unchanged === undefined ? '' : `<p>Calibration bytes and log counter ${r.unchanged ? 'unchanged' : '<span class="fail">CHANGED</span>'} by the verification.</p>`}`,
  });

  // 6: the log.
  if (r.log) {
    const l = r.log;
    const ev = l.events.map((e) => `<tr><td class="num">${e.counter}</td><td>${esc(iso(e.time))}</td><td>${esc(e.type)}</td><td>${esc(e.who)}</td></tr>`).join('');
    pages.push({
      title: 'Calibration log',
      body:
        `<h2>Calibration log</h2><p>${l.ok ? '<span class="pass">VERIFIED</span>' : '<span class="fail">FAULT</span>'}: ${l.records} records of ${esc(l.deviceId)}, event counter ${l.lastCounter}; ` +
        `${l.originChecked ? 'signatures checked against the trusted device key' : 'checked against the key in the log (integrity only)'}${l.fault ? `; ${esc(l.fault)}` : ''}` +
        `${l.sealMatchesWritten === undefined ? '' : l.sealMatchesWritten ? '; the last record seals the constants written' : '; the log does NOT end with a seal of the constants written'}.</p>` +
        `<table><thead><tr><th>counter</th><th>time (meter clock)</th><th>event</th><th>who</th></tr></thead><tbody>${ev}</tbody></table>`,
    });
  }

  const n = pages.length;
  const body = pages
    .map((p, i) => `<section class="page"><div class="running">${esc(head.title)} · report ${esc(number)} · ${esc(id?.meterId ?? '')} · page ${i + 1} of ${n}</div>${p.body}</section>`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(head.title)} ${esc(number)}</title>
<style>
@page{size:A4;margin:14mm 14mm 16mm}
body{font-family:sans-serif;margin:0;color:#111;font-size:12px}
section.page{break-after:page;padding:0}section.page:last-child{break-after:auto}
.running{font-size:10px;color:#444;border-bottom:1px solid #999;margin-bottom:10px;padding-bottom:2px}
h1{font-size:20px;margin:4px 0 8px}h2{font-size:15px;margin:16px 0 6px;border-bottom:1px solid #bbb}h3{font-size:13px;margin:10px 0 4px}
.lab{font-size:13px;font-weight:bold;margin:0}.verdict{font-size:14px;font-weight:bold;border:2px solid #111;padding:6px 10px;display:inline-block}
table{border-collapse:collapse;margin:4px 0;width:100%}td,th{border:1px solid #999;padding:2px 6px;text-align:left;vertical-align:top}
th{background:#eee}.kv th{width:190px}.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.points td,.points th{padding:1px 5px;font-size:11px}
.pass{color:#0b5d12;font-weight:bold}.fail{color:#9b0d0d;font-weight:bold}.na{color:#555;font-weight:bold}.big{font-size:14px}
.hex{font-family:monospace;font-size:10px;word-break:break-all}
.sign td{height:34px}.plots svg{display:block;margin:0 0 10px}.note{font-size:11px;color:#333}
@media screen{body{margin:20px;max-width:1000px}section.page{border-bottom:3px double #999;margin-bottom:24px;padding-bottom:12px}}
</style></head><body>
${body}
</body></html>
`;
}
