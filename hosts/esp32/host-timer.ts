/** A repeating timer whose next firing can be moved (Moddable `Timer.repeat` + `Timer.schedule`). */
export interface HostTimer {
  /** Fires next after `delayMs`, then every period again unless rescheduled. */
  schedule(delayMs: number): void;
  clear(): void;
}
