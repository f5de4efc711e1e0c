/**
 * The root of every error the firmware raises on purpose. `code` is a stable, machine-readable
 * reason (e.g. "crc", "mac-mismatch", "counter-replay"); `details` carries what failed
 * (block index, register name, …) so a receiver, the CLI and the tests can name the fault.
 * Anything that is not a MeterError escaping a module is a bug.
 */
export class MeterError extends Error {
  readonly code: string;
  readonly details: Readonly<Record<string, string | number | boolean>>;

  constructor(code: string, message: string, details: Record<string, string | number | boolean> = {}) {
    super(message);
    // Defined, not assigned: on the device Error.prototype is frozen in flash with the preloaded
    // modules, and assigning a property a frozen prototype has throws (the "override mistake").
    Object.defineProperty(this, 'name', { value: new.target.name, writable: true, configurable: true });
    this.code = code;
    this.details = details;
  }
}
