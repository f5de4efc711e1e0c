// Bench entry (XS): cost of the SML push under XS — `files` push files encoded after a warm-up, or
// that stream decoded — with the XS computrons (wrapper's resetMeter) and, under xsnap-heap, the
// chunk bytes and slots allocated per file and what is still live after a collection.
import { SmlStreamDecoder } from '../../modules/sml/stream-decoder.js';
import { benchPush, step } from './sml-input.js';

declare const globalThis: { SML_BENCH?: { files: number; decode: boolean } };
declare const xsHeapStats: undefined | ((into?: number[]) => number[]);
declare const gc: undefined | (() => void);
declare const resetMeter: undefined | ((limit: number, index: number) => number);

const HAS_HEAP = typeof xsHeapStats === 'function';
const stats = [0, 0, 0, 0, 0, 0, 0, 0];
function heap(): number[] {
  if (HAS_HEAP) (xsHeapStats as (into: number[]) => number[])(stats);
  return stats;
}

export function main(out: (line: string) => void): void {
  const cfg = globalThis.SML_BENCH ?? { files: 100, decode: false };
  const { push, readings } = benchPush();
  for (let i = 0; i < 20; i++) {
    step(readings, i);
    push.encode(i * 1000);
  }
  let stream = new Uint8Array(0);
  if (cfg.decode) {
    const files: Uint8Array[] = [];
    for (let i = 0; i < cfg.files; i++) {
      step(readings, i);
      files.push(push.encode(i * 1000).slice());
    }
    stream = new Uint8Array(files.reduce((n, f) => n + f.length, 0));
    let o = 0;
    for (const f of files) stream.set(f, o), (o += f.length);
  }
  if (typeof gc === 'function') gc();
  const before = heap().slice();
  if (typeof resetMeter === 'function') resetMeter(0, 0);
  let decoded = 0;
  if (cfg.decode) {
    const d = new SmlStreamDecoder();
    decoded = d.push(stream).length;
  } else {
    for (let i = 0; i < cfg.files; i++) {
      step(readings, i);
      push.encode(i * 1000);
    }
  }
  const computrons = typeof resetMeter === 'function' ? resetMeter(0, 0) : -1;
  const after = heap().slice();
  if (typeof gc === 'function') gc();
  const live = heap().slice();
  out(`files ${cfg.files} decoded ${decoded} bytes ${stream.length}`);
  out(`computrons ${computrons}`);
  out(`allocated chunks ${after[0] - before[0]} slots ${after[3] - before[3]}`);
  out(`live growth chunks ${live[0] - before[0]} slots ${live[3] - before[3]}`);
}
