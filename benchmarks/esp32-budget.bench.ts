/**
 * The ESP32 budget, measured on the Moddable SDK 8.2.3 (../shared/moddable; skipped without it):
 *  - the esp32 XS link of manifest.json (xsl with the esp32 preload list and creation block):
 *    instances and keys preloaded into flash, what stays aliasable (not frozen), the size of mc.xs.c;
 *  - the desktop variant's simulated day in mcsim with the ESP32 creation block
 *    (test/moddable-desktop.test.ts checks it): the live heap after a collection at boot and every
 *    hour (the simulated chips apart from the meter; the meter's share in ESP32 bytes, 16-byte slots),
 *    the XS stack peak and collections per hour from mcsim's instruments, and the run's time.
 * Then, under xsnap-heap (xsnap with XS's heap counters, scripts/build-xsnap-heap.mjs), what the
 * meter costs per tick: XS computrons and allocations per sample tick and per telegram tick of a full
 * day (test/xs/esp32-day.xs.ts; the firmware's share, the simulators charged apart), with the same day
 * under Node as the baseline (identical registers and frames).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Report } from './run.js';
import { bundleEntry, runBundleUnderNode } from '../test/helpers/xs.js';
import { aliasables, buildFirmware, heapProbes, moddableMissing, moddableSdk, runInMcsim, stackPeak, xslSummary } from '../test/helpers/moddable.js';
import { DAY_DONE } from '../hosts/esp32/desktop-day.js';
// @ts-expect-error: plain .mjs build scripts without declarations
import { buildXsnapHeap } from '../scripts/build-xsnap-heap.mjs';

const exec = promisify(execFile);

/** ESP32 (Xtensa LX6, 32-bit): an XS slot is 16 bytes. mcsim (lin) and xsnap here are 64-bit: 32 bytes. */
const ESP32_SLOT_BYTES = 16;
const LIN_SLOT_BYTES = 32;

async function xsRun(file: string, config: string): Promise<{ lines: string[]; ok: boolean; ms: number }> {
  const code = readFileSync(file, 'utf8');
  const path = `${file}.${Math.random().toString(36).slice(2)}.mjs`;
  writeFileSync(path, `globalThis.XSMETER_DAY = ${config};\n${code}`);
  const t0 = performance.now();
  try {
    const { stdout } = await exec(buildXsnapHeap({ quiet: true }) as string, ['-l', '4000000000', path], {
      maxBuffer: 1 << 26,
    });
    const lines = stdout.split('\n').filter((l) => l !== '');
    return { lines, ok: lines[lines.length - 1]?.startsWith('\u0001xs-done') ?? false, ms: performance.now() - t0 };
  } catch {
    return { lines: [], ok: false, ms: performance.now() - t0 };
  }
}

/** Numbers of the first line starting with `prefix`, in order. */
function figures(lines: string[], prefix: string): number[] {
  const line = lines.find((l) => l.startsWith(prefix));
  if (!line) throw new Error(`no "${prefix}" line`);
  return [...line.slice(prefix.length).matchAll(/-?\d+(\.\d+)?/g)].map((m) => Number(m[0]));
}

/** The Moddable SDK's figures: the esp32 link and the mcsim day-run. */
async function moddable(report: Report): Promise<void> {
  const missing = moddableMissing();
  if (missing !== undefined) {
    report({ name: 'Moddable SDK builds', figures: { skipped: missing } });
    return;
  }
  const sdk = await moddableSdk();
  const { esp32, desktop } = await buildFirmware(sdk, 24);
  const x = xslSummary(esp32.xsl)!;
  const flat = JSON.parse(readFileSync(esp32.flatManifest!, 'utf8')) as { preload: string[]; creation: { chunk: { initial: number }; heap: { initial: number }; stack: number } };
  const a = aliasables(readFileSync(esp32.xsC!, 'utf8'));
  report({
    name: 'esp32 XS link (xsl, all preloaded)',
    figures: { 'preloaded modules': flat.preload.length, instances: x.instances, keys: x.keys, holes: x.holes, 'mc.xs.c bytes': statSync(esp32.xsC!).size },
  });
  // What is not frozen in flash; tables of ours show among the objects by name (test/moddable-desktop.test.ts).
  report({
    name: 'esp32 XS link: aliasable (not frozen)',
    figures: { total: a.total, 'import.meta objects': a.importMetas.length, 'other objects (XS: 17)': a.instances.length, bindings: a.bindings },
  });
  const c = flat.creation;
  report({ name: 'creation block (esp32 and lin)', figures: { 'chunk bytes': c.chunk.initial, slots: c.heap.initial, 'stack slots': c.stack } });

  const work = mkdtempSync(join(tmpdir(), 'xsmeter-mcsim-'));
  try {
    const sim = await runInMcsim(sdk, desktop.app!, DAY_DONE, 15 * 60_000, work);
    if (sim.abort) throw new Error(`mcsim day-run aborted: ${sim.abort}`);
    const h = heapProbes(sim.lines);
    const at = (label: string) => h.find((p) => p.label === label)!;
    const hours = h.filter((p) => p.label.startsWith('hour '));
    const peak = { chunks: Math.max(...hours.map((p) => p.chunks), at('sealed').chunks), slots: Math.max(...hours.map((p) => p.slots), at('sealed').slots) };
    const start = at('start');
    const board = at('board');
    const lin = (chunks: number, slotBytes: number) => ({ 'chunk bytes': chunks, slots: slotBytes / LIN_SLOT_BYTES, 'lin bytes': chunks + slotBytes, 'ESP32 bytes': chunks + (slotBytes / LIN_SLOT_BYTES) * ESP32_SLOT_BYTES });
    report({ name: 'mcsim live heap: simulated chips and board', figures: lin(board.chunks - start.chunks, board.slots - start.slots) });
    report({ name: 'mcsim live heap: the meter after boot and seal', figures: lin(at('sealed').chunks - board.chunks, at('sealed').slots - board.slots) });
    report({ name: 'mcsim live heap: the meter, peak of 24 hours', figures: lin(peak.chunks - board.chunks, peak.slots - board.slots) });
    report({ name: 'mcsim live heap: whole app, hour 1 → hour 24', figures: { 'hour 1 chunk bytes': hours[0].chunks, 'hour 24 chunk bytes': hours[hours.length - 1].chunks, 'hour 1 slots': hours[0].slots / LIN_SLOT_BYTES, 'hour 24 slots': hours[hours.length - 1].slots / LIN_SLOT_BYTES } });
    const perHour = hours.slice(1).map((p, i) => p.gc - hours[i].gc - 1).filter((n) => n >= 0).sort((a, b) => a - b);
    const stack = stackPeak(sim);
    report({
      name: 'mcsim instruments (24 h)',
      figures: {
        'stack peak slots': stack / LIN_SLOT_BYTES,
        'of stack slots': sim.samples[0]['Stack available'] / LIN_SLOT_BYTES,
        'collections per hour (median)': perHour[perHour.length >> 1],
        'min': perHour[0],
        'max': perHour[perHour.length - 1],
        'wall s': Math.round(sim.ms / 1000),
      },
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export async function run(report: Report): Promise<void> {
  await moddable(report);

  const b = await bundleEntry('test/xs/esp32-day.xs.ts');
  try {
    // The full day, Node (baseline) and XS, plain output: the same registers and frames.
    const nodeFile = b.file.replace(/\.mjs$/, '.node.mjs');
    writeFileSync(nodeFile, `globalThis.XSMETER_DAY = { hours: 24 };\n${readFileSync(b.file, 'utf8')}`);
    const t0 = performance.now();
    const node = await runBundleUnderNode(nodeFile);
    const nodeMs = performance.now() - t0;
    const xsDay = await xsRun(b.file, '{ hours: 24 }');
    const xsLines = xsDay.lines.slice(0, -1);
    const frames = node.lines.filter((l) => l.startsWith('frame ')).length;
    report({
      name: 'one simulated day (ADE7953, CC1101)',
      figures: {
        telegrams: frames,
        'node ms': Math.round(nodeMs),
        'xs ms': Math.round(xsDay.ms),
        'xs/node time': xsDay.ms / nodeMs,
        'xs = node output': xsDay.ok && JSON.stringify(xsLines) === JSON.stringify(node.lines) ? 'yes' : 'NO',
      },
    });

    // The same day measured: computrons and allocations charged to the firmware.
    const m = await xsRun(b.file, '{ hours: 24, measure: true }');
    if (!m.ok) throw new Error('measured XS day did not complete');
    const [sampleN, sampleC, sampleB, sampleS] = figures(m.lines, 'xs sample tick n ');
    const [telN, telC, telB, telS] = figures(m.lines, 'xs telegram tick n ');
    report({ name: 'XS per sample tick (firmware)', figures: { ticks: sampleN, computrons: sampleC, 'alloc chunk bytes': sampleB, 'alloc slots': sampleS } });
    report({ name: 'XS per telegram tick (firmware)', figures: { ticks: telN, computrons: telC, 'alloc chunk bytes': telB, 'alloc slots': telS } });
    const [tickMs, idleC, idleB, idleS] = figures(m.lines, 'xs idle tick every ');
    report({ name: `XS per idle tick (every ${tickMs} ms)`, figures: { computrons: idleC, 'alloc chunk bytes': idleB, 'alloc slots': idleS, 'computrons per second': Math.round((idleC * 1000) / tickMs) } });
    // The host ticks only when the application has work (nextTickDelay): what runs between samples.
    const [otherN, otherC] = figures(m.lines, 'xs other tick n ');
    const [ticksPerS, otherPerS] = figures(m.lines, 'xs adaptive host per simulated second ticks ');
    report({
      name: 'XS between samples, adaptive host (per simulated second)',
      figures: {
        'ticks (all kinds)': ticksPerS,
        'other ticks in the day (pulse edges)': otherN,
        'computrons per other tick': otherC,
        'computrons per second': otherPerS,
        [`vs a fixed ${tickMs} ms tick`]: otherPerS / ((idleC * 1000) / tickMs),
      },
    });
    for (const l of m.lines.filter((x) => x.startsWith('xs part '))) {
      const [name, per] = l.slice('xs part '.length).split(' per ');
      const [c, ch, sl] = figures([per], per.split(' ')[0]);
      report({ name: `  ${name} (per ${per.split(' ')[0]})`, figures: { computrons: c, 'alloc chunk bytes': ch, 'alloc slots': sl } });
    }
    const [bootC] = figures(m.lines, 'xs boot firmware computrons ');
    report({ name: 'XS boot (MeterApp start + factory seal)', figures: { computrons: bootC } });
  } finally {
    b.cleanup();
  }
}
