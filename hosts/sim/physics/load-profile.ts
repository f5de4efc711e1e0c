/**
 * Load profiles for simulated meters: what the customer's installation draws (or feeds back) over
 * the day, as a pure function of a seed and the wall-clock time, piecewise constant in 5-minute
 * slots. Being a function of time (not of a running generator) a restarted simulation sees exactly
 * the load it would have seen. Profiles:
 *  - 'household': a 150–300 W base plus, in a slot, an appliance (kettle, oven, washing machine…)
 *    with a probability that follows the time of day; PF ≈ 0.95 inductive;
 *  - 'solar': the household with a 4 kWp PV array (half sine 07:00–19:00, clouds per slot): the
 *    net power exports (A-) around noon;
 *  - 'constant': 1 kW resistive, all day;
 *  - 'export': 800 W fed back, all day;
 *  - 'idle': no current (creep / no-load behaviour).
 */
import type { PhaseLoad } from './load-model.js';

export type LoadProfileName = 'household' | 'solar' | 'constant' | 'export' | 'idle';
export const LOAD_PROFILES: readonly LoadProfileName[] = Object.freeze(['household', 'solar', 'constant', 'export', 'idle']);
export const SLOT_MS = 5 * 60_000;
const VOLTAGE = 230;

/** A hash of (seed, slot, salt) to [0, 1): stateless, so any slot can be evaluated on its own. */
export function slotRandom(seed: number, slot: number, salt: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(slot | 0, 0xc2b2ae35) ^ Math.imul(salt + 1, 0x27d4eb2f);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  h = Math.imul(h, 0x297a2d39);
  h ^= h >>> 15;
  return (h >>> 0) / 4294967296;
}

const APPLIANCES_W: readonly number[] = Object.freeze([60, 150, 400, 800, 1200, 2000, 2200, 3000]);

function householdW(seed: number, slot: number, phase: number, hour: number): number {
  const base = 150 + 150 * slotRandom(seed, Math.floor(slot / 12), 10 + phase);
  // Busier in the morning and evening.
  const busy = hour >= 6 && hour < 9 ? 0.45 : hour >= 17 && hour < 23 ? 0.6 : hour >= 9 && hour < 17 ? 0.3 : 0.08;
  const on = slotRandom(seed, slot, 20 + phase) < busy;
  const appliance = on ? APPLIANCES_W[Math.floor(slotRandom(seed, slot, 30 + phase) * APPLIANCES_W.length)] : 0;
  return (base + appliance) / (phase === 0 ? 1 : 1.5);
}

/** Net active power (W, import positive) of one phase in the slot containing `wallMs`. */
export function profilePowerW(name: LoadProfileName, seed: number, wallMs: number, phase: number): number {
  const slot = Math.floor(wallMs / SLOT_MS);
  const hour = ((slot * SLOT_MS) % 86_400_000) / 3_600_000 + 2.5 / 60;
  switch (name) {
    case 'constant':
      return 1000;
    case 'export':
      return -800;
    case 'idle':
      return 0;
    case 'household':
      return householdW(seed, slot, phase, hour);
    case 'solar': {
      const sun = hour > 7 && hour < 19 ? Math.sin((Math.PI * (hour - 7)) / 12) : 0;
      const clouds = 0.4 + 0.6 * slotRandom(seed, Math.floor(slot / 3), 40);
      return householdW(seed, slot, phase, hour) - (4000 * sun * clouds) / (phase === 0 ? 1 : 2);
    }
  }
}

/** The load of every phase in the slot containing `wallMs`. */
export function profileLoad(name: LoadProfileName, seed: number, wallMs: number, phases: number): PhaseLoad[] {
  const out: PhaseLoad[] = [];
  for (let p = 0; p < phases; p++) out.push(setProfileLoad({ voltage: 0, current: 0, phaseDeg: 0 }, name, seed, wallMs, p));
  return out;
}

/** Phase `phase` of `profileLoad`, written into `into` (a simulated meter's load model, every
 *  5 minutes: no objects made); returns it. */
export function setProfileLoad(into: PhaseLoad, name: LoadProfileName, seed: number, wallMs: number, phase: number): PhaseLoad {
  const w = profilePowerW(name, seed, wallMs, phase);
  const voltage = VOLTAGE + (slotRandom(seed, Math.floor(wallMs / SLOT_MS), 50 + phase) - 0.5) * 6;
  into.voltage = voltage;
  if (w === 0) {
    into.current = 0;
    into.phaseDeg = 0;
    return into;
  }
  const phaseDeg = w > 0 ? 18.19 : 180; // PF 0.95 inductive when importing, unity when exporting
  into.current = Math.abs(w) / (voltage * Math.abs(Math.cos((phaseDeg * Math.PI) / 180)));
  into.phaseDeg = phaseDeg;
  return into;
}

/** Start of the slot after the one containing `wallMs` (when the load changes next). */
export function nextSlotStart(wallMs: number): number {
  return (Math.floor(wallMs / SLOT_MS) + 1) * SLOT_MS;
}

export function isLoadProfile(name: string): name is LoadProfileName {
  return (LOAD_PROFILES as readonly string[]).includes(name);
}
