/**
 * The calibration report: one self-contained HTML file (inline CSS and SVG, no scripts, nothing
 * fetched) with the meter's identity, the points before and after with their errors against the
 * class limits, a plot of error versus current per power factor (before and after, the class limit
 * band), the constants written and the log verification result.
 *
 * Portable: builds a string.
 */
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

function pointRows(before: readonly PointResult[], after: readonly PointResult[]): string {
  const ids = [...new Set([...before, ...after].map((p) => p.id))];
  const rows = ids.map((id) => {
    const b = before.find((p) => p.id === id);
    const a = after.find((p) => p.id === id);
    const p = (a ?? b) as PointResult;
    const cell = (x: PointResult | undefined): string =>
      x === undefined ? '<td>–</td><td>–</td>' : x.errorPct === undefined ? `<td class="fail" colspan="2">${esc(x.failure ?? 'not measured')}</td>` : `<td class="num ${x.pass ? 'pass' : 'fail'}">${fmt(x.errorPct)}</td><td class="num">${x.pulses} / ${Math.round(x.seconds)} s</td>`;
    return `<tr><td>${esc(p.label)}</td><td class="num">±${esc(p.limitPct)}</td>${before.length ? cell(b) : ''}${after.length ? cell(a) : ''}</tr>`;
  });
  const head = `<tr><th>point</th><th>limit %</th>${before.length ? '<th>before %</th><th>pulses / gate</th>' : ''}${after.length ? `<th>${before.length ? 'after' : 'error'} %</th><th>pulses / gate</th>` : ''}</tr>`;
  return `<table><thead>${head}</thead><tbody>${rows.join('')}</tbody></table>`;
}

function calibrationTable(c: Calibration): string {
  const rows = c.channels
    .map((ch, i) => `<tr><td>${i + 1}</td><td class="num">${ch.voltageGain.toFixed(6)}</td><td class="num">${ch.currentGain.toFixed(6)}</td><td class="num">${ch.powerGain.toFixed(6)}</td><td class="num">${ch.phaseDeg.toFixed(6)}</td><td class="num">${ch.powerOffsetW.toFixed(3)}</td><td class="num">${ch.reactiveOffsetVar.toFixed(3)}</td></tr>`)
    .join('');
  return `<table><thead><tr><th>element</th><th>voltage gain</th><th>current gain</th><th>power gain</th><th>phase °</th><th>offset W</th><th>reactive offset var</th></tr></thead><tbody>${rows}</tbody></table><p>chip ${esc(c.chip)}, no-load threshold ${c.noLoadW.toFixed(3)} W</p>`;
}

/** The whole report for a calibrate or verify run. */
export function reportHtml(r: BenchResult, extra: { generatedAt?: number; wallMs?: number; target?: string } = {}): string {
  const ok = r.status === 'sealed' || r.status === 'pass';
  const id = r.identity;
  const title = `${r.kind === 'calibrate' ? 'Calibration' : 'Verification'} report ${id ? esc(id.meterId) : ''}`;
  const idRows: [string, string][] = [
    ['meter', id ? id.meterId : '(not identified)'],
    ['manufacturer / model', id ? `${id.manufacturer} / ${id.model}` : '–'],
    ['firmware', id ? id.firmware : '–'],
    ['meter clock', id ? new Date(id.timeMs).toISOString() : '–'],
    ['device public key', r.publicKeyHex ?? '(none given: log checked for integrity only)'],
    ['accuracy class', `${r.className} (${r.standard})`],
    ['meter constant', `${r.meterConstant} imp/kWh`],
    ['gate', `≥ ${r.minSeconds} s per point, pulse-synchronous`],
    ['bench time', `${(r.benchSeconds / 3600).toFixed(2)} h${extra.wallMs !== undefined ? ` (wall ${(extra.wallMs / 1000).toFixed(1)} s)` : ''}`],
  ];
  if (extra.target) idRows.push(['target', extra.target]);
  const sections: string[] = [];
  sections.push(`<h2>Meter</h2><table class="kv">${idRows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>`);
  const plots = [r.before.length ? errorPlot(r.before, r.kind === 'calibrate' ? 'Before calibration' : 'Measured', r.className) : '', r.after.length ? errorPlot(r.after, r.kind === 'calibrate' ? 'After calibration' : 'Measured', r.className) : ''].filter(Boolean);
  sections.push(`<h2>Error versus current</h2><div class="plots">${plots.join('') || '<p>no points measured</p>'}</div><p class="note">Balanced-load points. Shaded: class ${esc(r.className)} limit at PF 1; dashed: at PF 0.5L / 0.8C.</p>`);
  sections.push(`<h2>Points</h2>${pointRows(r.before, r.after)}`);
  if (r.kind === 'calibrate') {
    const w = r.written.map((x) => `<h3>${x.step === 'rms' ? 'Step 1: rms gains' : 'Step 2: final constants'}</h3>${calibrationTable(x.calibration)}<p class="hex">${esc(x.bytesHex)}</p>`).join('');
    const residuals = r.residuals.map((x, i) => `<tr><td>${i + 1}</td><td class="num">${x.gain.toFixed(6)}</td><td class="num">${x.phaseDeg.toFixed(4)}</td><td class="num">${x.offsetW.toFixed(4)}</td></tr>`).join('');
    sections.push(
      `<h2>Constants</h2>${r.asFoundCalibration ? `<h3>As found</h3>${calibrationTable(r.asFoundCalibration)}` : ''}` +
        (residuals ? `<h3>Residual found after the rms step</h3><table><thead><tr><th>element</th><th>gain</th><th>phase °</th><th>offset W</th></tr></thead><tbody>${residuals}</tbody></table>` : '') +
        (w || '<p>No constants written.</p>') +
        (r.sealedDigestHex ? `<p>Sealed digest (SHA-256 of the constants): <span class="hex">${esc(r.sealedDigestHex)}</span></p>` : ''),
    );
  }
  if (r.log) {
    const l = r.log;
    const ev = l.events.map((e) => `<tr><td class="num">${e.counter}</td><td>${esc(new Date(e.time).toISOString())}</td><td>${esc(e.type)}</td><td>${esc(e.who)}</td></tr>`).join('');
    sections.push(
      `<h2>Calibration log</h2><p class="${l.ok ? 'pass' : 'fail'}">${l.ok ? 'Verified' : 'FAULT'}: ${l.records} records of ${esc(l.deviceId)}, event counter ${l.lastCounter}; ` +
        `${l.originChecked ? 'signatures checked against the trusted device key' : 'checked against the key in the log (integrity only)'}${l.fault ? `; ${esc(l.fault)}` : ''}` +
        `${l.sealMatchesWritten === undefined ? '' : l.sealMatchesWritten ? '; the last record seals the constants written' : '; the log does NOT end with a seal of the constants written'}.</p>` +
        `<table><thead><tr><th>counter</th><th>time</th><th>event</th><th>who</th></tr></thead><tbody>${ev}</tbody></table>`,
    );
  }
  if (r.unchanged !== undefined) sections.push(`<p class="${r.unchanged ? 'pass' : 'fail'}">Calibration bytes and log counter ${r.unchanged ? 'unchanged' : 'CHANGED'} by the verification.</p>`);
  const verdict = r.kind === 'calibrate' ? (ok ? 'SEALED: all points within the class limits' : `FAILED, not sealed: ${r.reason ?? ''}`) : ok ? 'PASS' : `FAIL: ${r.reason ?? ''}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>
body{font-family:sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px;margin:0 0 8px}h2{font-size:17px;margin:22px 0 8px;border-bottom:1px solid #ccc}h3{font-size:14px;margin:14px 0 6px}
.verdict{font-size:16px;font-weight:bold;padding:8px 12px;border-radius:4px;display:inline-block}
.ok{background:#e3f5e1;color:#17601a}.bad{background:#fbe3e3;color:#8a1616}
table{border-collapse:collapse;font-size:12px;margin:4px 0}td,th{border:1px solid #ddd;padding:3px 7px;text-align:left}
th{background:#f4f4f4}.kv th{width:200px}.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#17601a}.fail{color:#a01010;font-weight:bold}.hex{font-family:monospace;font-size:11px;word-break:break-all}
.plots{display:flex;flex-wrap:wrap;gap:16px}.note{font-size:12px;color:#555}p{font-size:13px}
</style></head><body>
<h1>${title}</h1>
<div class="verdict ${ok ? 'ok' : 'bad'}">${esc(verdict)}</div>
${extra.generatedAt !== undefined ? `<p class="note">generated ${esc(new Date(extra.generatedAt).toISOString())}</p>` : ''}
${sections.join('\n')}
</body></html>
`;
}
