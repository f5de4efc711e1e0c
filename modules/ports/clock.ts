/** Time as a host provides it. */
export interface Clock {
  /** Monotonic milliseconds since an arbitrary origin; never goes back, survives no restart. */
  ticks(): number;
  /** Wall-clock milliseconds since 1970-01-01T00:00:00Z (UTC); may be invalid until set. */
  now(): number;
  /** Blocks for at least `ms` milliseconds while the hardware runs on (Moddable `Timer.delay`): for
   *  the few chip operations that need a wait, e.g. the ATM90E32's 5 ms after a soft reset. A
   *  simulator moves its chips and clock on by `ms`. */
  delay?(ms: number): void;
}
