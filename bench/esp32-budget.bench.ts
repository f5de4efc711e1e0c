/**
 * The ESP32 budget: the firmware bundle's size, what XS holds after loading it, and a full simulated
 * day of the meter application (test/xs/esp32-day.xs.ts: 1 s samples, a telegram every 15 min
 * through the CC1101 driver) under xsnap-heap — XS computrons and allocations per sample tick and per
 * telegram tick (the firmware's share: the simulators are charged apart), the firmware's live heap
 * peak, and the XS stack the run needs. The same day under Node is the baseline (its wall time, and
 * identical registers and frames). Moddable's default creation (manifest_base.json: `static` 32768
 * bytes for stack, slots and chunks) is the budget these are compared with in the README.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import type { Report } from './run.js';
import { bundleEntry, runBundleUnderNode } from '../test/helpers/xs.js';
// @ts-expect-error: plain .mjs build scripts without declarations
import { buildXsnapHeap } from '../scripts/build-xsnap-heap.mjs';
// @ts-expect-error: plain .mjs build scripts without declarations
import { firmwareSize } from '../scripts/firmware-size.mjs';

const exec = promisify(execFile);

/** ESP32 (Xtensa LX6, 32-bit): an XS slot is 16 bytes. xsnap here is 64-bit: 32-byte slots. */
const ESP32_SLOT_BYTES = 16;

async function xsRun(file: string, config: string, creation?: string): Promise<{ lines: string[]; ok: boolean; ms: number }> {
  const code = readFileSync(file, 'utf8');
  const path = `${file}.${Math.random().toString(36).slice(2)}.mjs`;
  writeFileSync(path, `globalThis.XSMETER_DAY = ${config};\n${code}`);
  const t0 = performance.now();
  try {
    const { stdout } = await exec(buildXsnapHeap({ quiet: true }) as string, ['-l', '4000000000', path], {
      maxBuffer: 1 << 26,
      env: { ...process.env, XSNAP_CREATION: creation ?? '' },
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

export async function run(report: Report): Promise<void> {
  const size = await firmwareSize();
  report({
    name: 'firmware bundle (hosts/esp32/main.ts, es2020)',
    figures: { bytes: size.bundleBytes, 'minified bytes': size.minifiedBytes, 'minified gzip bytes': size.minifiedGzipBytes },
  });
  report({
    name: 'XS after loading the firmware (vs empty)',
    figures: {
      'chunk bytes': size.xs.loadedChunkBytes,
      slots: size.xs.loadedSlots,
      [`slot bytes (×${size.xs.slotBytes})`]: size.xs.loadedSlots * size.xs.slotBytes,
      'snapshot bytes': size.xs.snapshotBytes,
      'empty snapshot bytes': size.xs.emptySnapshotBytes,
    },
  });

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
    const slot = figures(m.lines, 'xs slot-bytes ')[0];
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
    const [retC, retS] = figures(m.lines, 'xs app retained chunks ');
    const [liveC, liveS] = figures(m.lines, 'xs live peak chunks ');
    const [tickC, tickS] = figures(m.lines, 'xs live peak in a tick chunks ');
    const peakChunks = Math.max(liveC, tickC);
    const peakSlots = Math.max(liveS, tickS);
    report({ name: 'XS boot (MeterApp start + factory seal)', figures: { computrons: bootC, 'retained chunk bytes': retC, 'retained slots': retS } });
    report({
      name: 'XS firmware live heap peak (after gc)',
      figures: {
        'chunk bytes': peakChunks,
        slots: peakSlots,
        [`slot bytes (×${slot})`]: peakSlots * slot,
        [`ESP32 slot bytes (×${ESP32_SLOT_BYTES})`]: peakSlots * ESP32_SLOT_BYTES,
      },
    });

    // XS stack: the smallest stack (slots) the day's first hour runs in, minus what loading the
    // bundle alone needs (one bundled module's frame, which a Moddable build of separate modules has not).
    const needs = async (config: string): Promise<number> => {
      let lo = 64;
      let hi = 4096;
      while (hi - lo > 8) {
        const mid = (lo + hi) >> 1;
        if ((await xsRun(b.file, config, `1536,1024,512,64,${mid}`)).ok) hi = mid;
        else lo = mid;
      }
      return hi;
    };
    const load = await needs('{ loadOnly: true }');
    const hour = await needs('{ hours: 1 }');
    report({ name: 'XS stack (slots, ±8)', figures: { 'loading the bundle': load, 'boot + 1 h': hour, 'the run itself': hour - load } });
  } finally {
    b.cleanup();
  }
}
