/**
 * What `xsmeter sim` shows while it runs: the live table of the first meters (fitted to the
 * terminal: columns dropped from the right and rows cut so a redraw never scrolls), and the
 * progress of a long run — set-up (meters made, an estimated time left), then the simulated time,
 * the share done and an estimated end. On a terminal it is redrawn in place (with the table when
 * the table is on stdout, else one status line on stderr); elsewhere it is a line on stderr every
 * `everyMs` (CI logs, pipes), so a 100 000-meter run is never silent.
 */
import { statusText } from '../modules/app/meter-status.js';
import type { SimRunner } from '../hosts/sim/sim-runner.js';

export function stamp(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

export function group(n: number): string {
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
}

/** A span of real time: 45 s, 12 min, 3.5 h. */
export function span(ms: number): string {
  if (ms < 90_000) return `${Math.max(1, Math.round(ms / 1000))} s`;
  if (ms < 90 * 60_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

function kwh(wh: number | undefined): string {
  return wh === undefined ? '-' : (wh / 1000).toFixed(3);
}

/** Columns in the order they are dropped when the terminal is too narrow (last first). */
const HEAD = ['meter', 'chip', 'A+ kWh', 'A- kWh', 'power W', 'counter', 'status', 'gateway', 'telegrams'];
const RIGHT = new Set([2, 3, 4, 5, 8]);

/** The table of the first `maxRows` meters as the gateway last decoded them, at most `width` wide. */
export function formatTable(r: SimRunner, maxRows = 20, width = Infinity): string[] {
  const rows: string[][] = [];
  for (const m of r.specs.slice(0, Math.max(0, maxRows))) {
    const g = r.gateway.rows.get(m.meterId);
    const status = g?.reading?.flags ? statusText(g.reading.flags) : g?.status ? statusText(g.status) : '-';
    rows.push([
      m.meterId,
      m.chip,
      kwh(g?.reading?.importWh),
      kwh(g?.reading?.exportWh),
      g?.reading?.powerW === undefined ? '-' : String(g.reading.powerW),
      g?.lastCounter === undefined ? (g?.lastAccess === undefined ? '-' : `acc ${g.lastAccess}`) : String(g.lastCounter),
      status,
      g?.verdict ?? '-',
      g ? `${g.telegrams}${g.rejected ? ` (${g.rejected} rejected)` : ''}` : '0',
    ]);
  }
  const widths = HEAD.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  let shown = HEAD.length;
  const total = (n: number) => widths.slice(0, n).reduce((a, w) => a + w, 0) + 2 * (n - 1);
  while (shown > 1 && total(shown) > width) shown--;
  const line = (cells: string[]) =>
    cells
      .slice(0, shown)
      .map((c, i) => (RIGHT.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .slice(0, width);
  const out = [line(HEAD), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
  if (r.specs.length > rows.length) out.push(`… and ${group(r.specs.length - rows.length)} more meters`.slice(0, width));
  return out;
}

/** One line: how far set-up or the run is, and when it should end. */
export function progressLine(r: SimRunner, now = performance.now()): string {
  const elapsed = now - r.realStart;
  const total = r.specs.length;
  if (r.phase === 'setup') {
    const share = total ? r.made / total : 1;
    const left = r.made > 0 ? (elapsed / r.made) * (total - r.made) : undefined;
    return `setting up meters: ${group(r.made)} of ${group(total)} (${(share * 100).toFixed(0)} %), ${span(elapsed)}${left === undefined ? '' : `, about ${span(left)} left`}`;
  }
  const reached = r.progressWallMs;
  const simulated = reached - r.startWallMs;
  const share = r.endWallMs > r.startWallMs ? simulated / (r.endWallMs - r.startWallMs) : 1;
  const running = now - r.runStart;
  let end = '';
  if (r.phase === 'run' && share > 0 && share < 1 && running > 500) {
    const left = (running / share) * (1 - share);
    end = `, ends in about ${span(left)} (${new Date(Date.now() + left).toTimeString().slice(0, 8)})`;
  }
  return `${stamp(reached)} UTC: ${(share * 100).toFixed(1)} % of the simulated time, ${group(r.gateway.stats.decoded)} telegrams decoded${end}`;
}

interface Stream {
  write(text: string): void;
  isTTY?: boolean;
  columns?: number;
  rows?: number;
}

export interface ProgressOptions {
  /** Where the live table goes when it is shown (stdout). */
  stdout: Stream;
  /** Where progress goes otherwise (stderr). */
  stderr: Stream;
  /** Redraw the table in place on stdout (table format, stdout a terminal). */
  liveTable: boolean;
  /** Header line of the live table (the run's settings). */
  title: (r: SimRunner) => string;
  /** Real time between progress lines when not on a terminal (0: none). */
  everyMs: number;
}

/** Shows a run's progress on every `update` (SimRunner's onProgress). */
export class ProgressDisplay {
  private drawn = 0;
  private lastLine = -Infinity;
  private statusShown = false;
  constructor(private readonly o: ProgressOptions) {}

  update(r: SimRunner): void {
    const { stdout, stderr } = this.o;
    if (this.o.liveTable) {
      const width = stdout.columns ?? 100;
      const height = stdout.rows ?? 24;
      const head = [this.o.title(r).slice(0, width), progressLine(r).slice(0, width)];
      const lines = [...head, ...formatTable(r, Math.min(20, height - head.length - 4), width)];
      stdout.write((this.drawn ? `\x1b[${this.drawn}F\x1b[J` : '') + lines.join('\n') + '\n');
      this.drawn = lines.length;
    } else if (stderr.isTTY) {
      stderr.write(`\r\x1b[K${progressLine(r).slice(0, (stderr.columns ?? 100) - 1)}`);
      this.statusShown = true;
    } else if (this.o.everyMs > 0) {
      const now = performance.now();
      if (now - this.lastLine < this.o.everyMs) return;
      if (this.lastLine === -Infinity) {
        this.lastLine = now; // the first line after one interval: short runs print none
        return;
      }
      this.lastLine = now;
      stderr.write(`xsmeter sim: ${progressLine(r, now)}\n`);
    }
  }

  /** The final table (live: drawn once more in place) and the end of a status line. */
  finish(r: SimRunner): void {
    if (this.o.liveTable) {
      this.update(r);
      return;
    }
    if (this.statusShown) this.o.stderr.write('\r\x1b[K');
  }
}
