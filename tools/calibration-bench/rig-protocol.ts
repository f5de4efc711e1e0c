/**
 * The bench rig channel: the bench hardware of rig.ts (load source, reference meter, pulse counter,
 * calibration switch, bench time) offered by one process and driven by another, as newline-delimited
 * JSON. One request per line, one response per line, in order:
 *
 *   {"id":1,"op":"identify"}                 → {"id":1,"ok":true,"chip","phases","meterId","meterConstant","nowMs",
 *                                               "wallMs"?,"publicKey"?,"benchKey"?}   (wallMs: the bench clock at nowMs;
 *                                               a simulated rig hands out its meter's factory record)
 *   {"id":2,"op":"setLoad","load":{"voltage":230,"current":5,"phaseDeg":0},"phase"?:0}   (no phase: every phase)
 *   {"id":3,"op":"readReference"}            → {"nowMs","activeWh":[…],"voltage":[…],"current":[…]}
 *   {"id":4,"op":"pulses"}                   → {"count","lastEdgeMs"}   (rising edges of the test output since start)
 *   {"id":5,"op":"setSwitch","level":0|1}
 *   {"id":6,"op":"advance","ms":5000}        → {"nowMs","activeWh","edges":[{"atMs","activeWh"}…]}
 *   {"id":7,"op":"now"}                      → {"nowMs"}
 *
 * `advance` moves the rig's time (virtual on a simulator; 1…60000 ms per request) and returns every
 * test-output edge in that span with the reference latched at the edge, so the bench's pulse gate
 * sees the same latches as with a standard's pulse input. A bad request gets
 * {"id":…,"ok":false,"error":{"code","message"}} and changes nothing. Lines are at most
 * MAX_LINE bytes.
 *
 * Portable: parsing, validation and the dispatcher over any BenchRig; sockets are in tcp-rig.ts.
 */
import { toHex } from '../../modules/core/bytes.js';
import { MeterError } from '../../modules/core/errors.js';
import type { BenchRig, TestLoad } from './rig.js';

/** A rig request or response was malformed or refused: 'bad-json', 'bad-request', 'line-too-long',
 *  'unknown-op', 'rig-failed'; on the client side also 'rig-timeout', 'rig-closed', 'connect'. */
export class RigError extends MeterError {}

export const MAX_LINE = 4096;
export const MAX_ADVANCE_MS = 60_000;
/** Edges kept between two advances: 60 s at 3 × 100 A × 1000 V is far fewer than this at 1000 imp/kWh. */
export const MAX_EDGES = 20_000;

export type RigRequest =
  | { id: number; op: 'identify' | 'readReference' | 'pulses' | 'now' }
  | { id: number; op: 'setLoad'; load: TestLoad; phase?: number }
  | { id: number; op: 'setSwitch'; level: 0 | 1 }
  | { id: number; op: 'advance'; ms: number };

export interface RigIdentity {
  chip: string;
  phases: number;
  meterId: string;
  meterConstant: number;
  nowMs: number;
  /** The bench clock (ms since 1970 UTC) at `nowMs`, when the rig keeps one (rig.ts BenchTime.wallMs). */
  wallMs?: number;
  publicKey?: string;
  benchKey?: string;
}

export interface RigEdge {
  atMs: number;
  activeWh: number[];
}

const FIELDS: Record<RigRequest['op'], string[]> = {
  identify: [],
  readReference: [],
  pulses: [],
  now: [],
  setLoad: ['load', 'phase'],
  setSwitch: ['level'],
  advance: ['ms'],
};

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function bad(message: string, details: Record<string, string | number | boolean> = {}): RigError {
  return new RigError('bad-request', message, details);
}

function finite(x: unknown, name: string, lo: number, hi: number, integer = false): number {
  if (typeof x !== 'number' || !Number.isFinite(x) || x < lo || x > hi || (integer && !Number.isInteger(x))) {
    throw bad(`"${name}" must be ${integer ? 'an integer' : 'a number'} in ${lo}…${hi}`, { field: name });
  }
  return x;
}

/** The request id of a line if it has a usable one (for the error response), else null. */
export function requestId(v: unknown): number | null {
  return isObject(v) && typeof v.id === 'number' && Number.isInteger(v.id) && v.id >= 0 && v.id <= 0xffffffff ? v.id : null;
}

/** Parses and validates one request line; RigError on anything not exactly a known request. */
export function parseRequest(line: string, phases: number): RigRequest {
  if (line.length > MAX_LINE) throw new RigError('line-too-long', `request longer than ${MAX_LINE} bytes`, { length: line.length });
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new RigError('bad-json', 'request is not JSON');
  }
  if (!isObject(v)) throw bad('request must be a JSON object');
  const id = requestId(v);
  if (id === null) throw bad('"id" must be an integer 0…4294967295', { field: 'id' });
  const op = v.op;
  if (typeof op !== 'string' || !Object.prototype.hasOwnProperty.call(FIELDS, op)) {
    throw new RigError('unknown-op', `unknown op ${JSON.stringify(op)} (${Object.keys(FIELDS).join(', ')})`, { op: String(op) });
  }
  const o = op as RigRequest['op'];
  for (const k of Object.keys(v)) if (k !== 'id' && k !== 'op' && !FIELDS[o].includes(k)) throw bad(`unexpected field "${k}" for ${o}`, { field: k });
  switch (o) {
    case 'setLoad': {
      const l = v.load;
      if (!isObject(l)) throw bad('"load" must be an object {voltage, current, phaseDeg}', { field: 'load' });
      for (const k of Object.keys(l)) if (!['voltage', 'current', 'phaseDeg'].includes(k)) throw bad(`unexpected field "load.${k}"`, { field: `load.${k}` });
      const load = {
        voltage: finite(l.voltage, 'load.voltage', 0, 1000),
        current: finite(l.current, 'load.current', 0, 1000),
        phaseDeg: finite(l.phaseDeg, 'load.phaseDeg', -360, 360),
      };
      if (v.phase === undefined) return { id, op: o, load };
      return { id, op: o, load, phase: finite(v.phase, 'phase', 0, phases - 1, true) };
    }
    case 'setSwitch': {
      if (v.level !== 0 && v.level !== 1) throw bad('"level" must be 0 or 1', { field: 'level' });
      return { id, op: o, level: v.level };
    }
    case 'advance':
      return { id, op: o, ms: finite(v.ms, 'ms', 1, MAX_ADVANCE_MS, true) };
    default:
      return { id, op: o };
  }
}

function errorLine(id: number | null, e: unknown): string {
  const err = e instanceof MeterError ? e : new RigError('rig-failed', e instanceof Error ? e.message : String(e));
  return JSON.stringify({ id, ok: false, error: { code: err.code, message: err.message } });
}

export interface RigServiceOptions {
  chip: string;
  meterId: string;
  meterConstant: number;
  /** Runs once before each advance (a simulator ticks its meter so service bytes are read at once). */
  beforeAdvance?: () => void;
  /** Keys to hand out with identify (a simulated meter's factory record), hex. */
  publicKey?: Uint8Array;
  benchKey?: Uint8Array;
}

/**
 * Answers rig requests from a BenchRig. It owns the rig's pulse counter: every edge is recorded with
 * the reference latched at that instant and returned by the advance during which it happened.
 */
export class RigService {
  private edges: RigEdge[] = [];
  private count = 0;
  private lastEdgeMs = -1;
  /** The loads last applied (the source takes whole sets; a request may name one phase). */
  private loads: TestLoad[] | undefined;
  private busy: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly rig: BenchRig,
    private readonly o: RigServiceOptions,
  ) {
    rig.pulses.start((atMs) => {
      this.count++;
      this.lastEdgeMs = atMs;
      if (this.edges.length < MAX_EDGES) this.edges.push({ atMs, activeWh: rig.reference.latch().activeWh });
    });
  }

  /** One request line → one response line (requests from several connections run one at a time). */
  handle(line: string): Promise<string> {
    const next = this.busy.then(() => this.answer(line));
    this.busy = next.catch(() => undefined);
    return next;
  }

  private async answer(line: string): Promise<string> {
    let id: number | null = null;
    try {
      try {
        id = requestId(JSON.parse(line));
      } catch {
        id = null;
      }
      const req = parseRequest(line, this.rig.load.phases);
      return JSON.stringify({ id: req.id, ok: true, ...(await this.run(req)) });
    } catch (e) {
      return errorLine(id, e);
    }
  }

  private async run(req: RigRequest): Promise<Record<string, unknown>> {
    const rig = this.rig;
    switch (req.op) {
      case 'identify':
        return {
          chip: this.o.chip,
          phases: rig.load.phases,
          meterId: this.o.meterId,
          meterConstant: this.o.meterConstant,
          nowMs: rig.time.now(),
          ...(rig.time.wallMs ? { wallMs: rig.time.wallMs() } : {}),
          ...(this.o.publicKey ? { publicKey: toHex(this.o.publicKey) } : {}),
          ...(this.o.benchKey ? { benchKey: toHex(this.o.benchKey) } : {}),
        };
      case 'setLoad': {
        const ref = await rig.reference.rms();
        const loads: TestLoad[] = ref.voltage.map((voltage, p) => ({ voltage, current: ref.current[p], phaseDeg: 0 }));
        // Before the first setLoad the phases hold what the reference reads (no current, PF 1).
        const current = this.loads ?? loads;
        const next = current.map((l, p) => (req.phase === undefined || req.phase === p ? req.load : l));
        await rig.load.apply(next);
        this.loads = next;
        return {};
      }
      case 'readReference': {
        const l = rig.reference.latch();
        const rms = await rig.reference.rms();
        return { nowMs: l.atMs, activeWh: l.activeWh, voltage: rms.voltage, current: rms.current };
      }
      case 'pulses':
        return { count: this.count, lastEdgeMs: this.lastEdgeMs };
      case 'setSwitch':
        await rig.calibrationSwitch.set(req.level === 1);
        return {};
      case 'advance': {
        // Edges since the last advance (a host may also tick its meter in between) and during this one.
        this.o.beforeAdvance?.();
        await rig.time.wait(req.ms);
        const edges = this.edges;
        this.edges = [];
        return { nowMs: rig.time.now(), activeWh: rig.reference.latch().activeWh, edges };
      }
      case 'now':
        return { nowMs: rig.time.now() };
    }
  }
}
