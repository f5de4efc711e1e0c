/** Time as a host provides it. */
export interface Clock {
  /** Monotonic milliseconds since an arbitrary origin; never goes back, survives no restart. */
  ticks(): number;
  /** Wall-clock milliseconds since 1970-01-01T00:00:00Z (UTC); may be invalid until set. */
  now(): number;
}
