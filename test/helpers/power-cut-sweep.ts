/**
 * The one power-cut sweep for every power-safe store (modules/storage and the records built on it).
 *
 * A subject is a store on SimFlash, a script of numbered steps (a save, an append, a constant
 * applied…) and the store's invariant. The sweep runs the script once to count its flash calls, then
 * again for every call index and every cut — before the call, inside it at several byte counts
 * (SimFlash writes that prefix of the bytes, half-programs the next; an erase clears that part of
 * the sector), after it — restarts (reopens the store on the flash as it was left, power back on),
 * checks the invariant, and carries on with the script; at the end it reopens the image once more
 * and checks again. With `secondCuts: k`, every first cut is also followed by a second cut at each
 * of the k flash calls after the restart (recovery's own calls included): a torn write, then a cut
 * in what the store does about it.
 *
 * The invariant is the subject's: `check` gets the reopened store, the steps whose effect committed
 * (in order) and the step that was in flight when the power failed (if any), and says whether the
 * in-flight step landed (then it counts as committed).
 */
import assert from 'node:assert/strict';
import { PowerCut, SimFlash, type CutPhase, type CutPlan } from '../../hosts/sim/sim-flash.js';

export interface SweepSubject<S> {
  geometry: { sectorSize: number; sectorCount: number };
  /** Number of script steps. */
  steps: number;
  /** Opens the store on the flash (start-up recovery included). */
  open(flash: SimFlash): S;
  /** Runs step `i`; false when the store refused it without committing (e.g. log-full). */
  step(store: S, i: number): boolean | void;
  /** The invariant after a restart; returns whether the in-flight step landed. */
  check(store: S, committed: readonly number[], inFlight: number | undefined, label: string): boolean;
  /** Cuts that are part of the script (in the uncut run too): step → which of its flash calls, how. */
  tears?: Readonly<Record<number, { opOffset: number; phase: CutPhase; progress?: number }>>;
}

export interface SweepResult {
  /** Flash calls of the uncut script. */
  operations: number;
  /** Runs with a cut (each followed by recovery and the invariant check). */
  cutPoints: number;
  /** Runs with a second cut after the first restart. */
  secondCutPoints: number;
}

/** Cuts at every call: before, inside after 0 %, 25 %, 50 % and 90 % of its bytes, after. */
export const CUTS_PER_CALL: readonly { phase: CutPhase; progress?: number }[] = [
  { phase: 'before' },
  { phase: 'during', progress: 0 },
  { phase: 'during', progress: 0.25 },
  { phase: 'during', progress: 0.5 },
  { phase: 'during', progress: 0.9 },
  { phase: 'after' },
];

interface Run {
  /** Flash calls made. */
  ops: number;
  /** Sweep cuts that fired. */
  fired: number;
  /** Scripted tears that fired. */
  tears: number;
}

/**
 * Runs the script with a first cut at an absolute call index and optionally a second one `after`
 * calls after the first restart. Scripted tears (`subject.tears`) are part of the script; a sweep cut
 * due at or before a tear's call takes precedence, and the tear is then not made.
 */
function run<S>(subject: SweepSubject<S>, first: CutPlan | undefined, second: { after: number; phase: CutPhase; progress?: number } | undefined): Run {
  const flash = new SimFlash(subject.geometry);
  const label = `${first ? `cut ${first.phase}${first.progress !== undefined ? ` ${first.progress}` : ''} @${first.opIndex}` : 'uncut'}${second ? ` then ${second.phase}${second.progress !== undefined ? ` ${second.progress}` : ''} +${second.after}` : ''}`;
  const committed: number[] = [];
  let fired = 0;
  let tears = 0;
  let pending: CutPlan | undefined = first;
  let secondArmed = false;
  const arm = () => {
    if (pending) flash.cutPower(pending);
  };
  arm();
  let store: S | undefined;
  /** Whether a PowerCut was the sweep's (else a scripted tear); the sweep's arms the next one. */
  const sweepCut = (e: PowerCut): boolean => {
    if (!pending || e.opIndex !== pending.opIndex) return false;
    fired++;
    pending = undefined;
    return true;
  };
  /** Restarts until the store opens (a sweep cut may land in recovery), then checks it. */
  const restart = (inFlight: number | undefined) => {
    for (;;) {
      flash.powerOn();
      if (second && !secondArmed && fired === 1) {
        pending = { opIndex: flash.opCount + second.after, phase: second.phase, progress: second.progress };
        secondArmed = true;
      }
      arm();
      try {
        store = subject.open(flash);
        break;
      } catch (e) {
        if (!(e instanceof PowerCut) || !sweepCut(e)) throw e;
      }
    }
    if (subject.check(store as S, committed, inFlight, `${label} step ${inFlight ?? '-'}`) && inFlight !== undefined) committed.push(inFlight);
  };
  // The first start too may write (a store's first record), so a cut may land in it.
  try {
    store = subject.open(flash);
  } catch (e) {
    if (!(e instanceof PowerCut) || !sweepCut(e)) throw e;
    restart(undefined);
  }
  for (let i = 0; i < subject.steps; i++) {
    const tear = subject.tears?.[i];
    let torn = false;
    if (tear) {
      const own: CutPlan = { opIndex: flash.opCount + tear.opOffset, phase: tear.phase, progress: tear.progress };
      if (!pending || pending.opIndex > own.opIndex) {
        flash.cutPower(own);
        torn = true;
      }
    }
    try {
      if (subject.step(store as S, i) !== false) committed.push(i);
      // The step did not reach its tear (it refused, say): the tear is not carried to a later step.
      if (torn) flash.cutPower(pending ?? { opIndex: -1, phase: 'before' });
    } catch (e) {
      if (!(e instanceof PowerCut)) throw e;
      if (!sweepCut(e)) tears++;
      restart(i);
    }
  }
  const ops = flash.opCount;
  flash.powerOn();
  const again = new SimFlash({ ...subject.geometry, image: flash.image() });
  subject.check(subject.open(again), committed, undefined, `${label} (reopened at the end)`);
  return { ops, fired, tears };
}

/** Sweeps `subject`; returns the figures (the caller reports them in its test title). */
export function sweepPowerCuts<S>(subject: SweepSubject<S>, options: { secondCuts?: number } = {}): SweepResult {
  const baseline = run(subject, undefined, undefined);
  assert.equal(baseline.tears, Object.keys(subject.tears ?? {}).length, 'every scripted tear happens in the uncut run');
  let cutPoints = 0;
  let secondCutPoints = 0;
  for (let op = 0; op < baseline.ops; op++) {
    for (const c of CUTS_PER_CALL) {
      const plan: CutPlan = { opIndex: op, phase: c.phase, progress: c.progress };
      const r = run(subject, plan, undefined);
      assert.equal(r.fired, 1, `cut ${c.phase} @${op} fired`);
      cutPoints++;
      for (let k = 0; k < (options.secondCuts ?? 0); k++) {
        for (const c2 of CUTS_PER_CALL) {
          const r2 = run(subject, plan, { after: k, ...c2 });
          if (r2.fired === 2) secondCutPoints++;
        }
      }
    }
  }
  return { operations: baseline.ops, cutPoints, secondCutPoints };
}
