/**
 * One step of Marsaglia's xorshift32 (13, 17, 5): the small deterministic generator behind the
 * simulators' noise and the telegram jitter of hosts without an RNG. Not for keys or nonces.
 */
export function xorshift32Step(state: number): number {
  let x = state;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  return x >>> 0;
}
