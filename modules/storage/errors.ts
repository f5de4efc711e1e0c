/**
 * Typed errors of the storage module. Stable codes:
 * - `geometry`: a region or store that cannot work (fewer than 2 sectors, a sector too small for one
 *   record, a region outside its flash, a magic that is not 4 ASCII characters);
 * - `record-size`: a payload that is empty or longer than the store's maximum;
 * - `no-record`: a read of a sequence number the log does not hold;
 * - `compaction`: an append-log invariant broken (never expected: a bug, not a flash state);
 * - `partition-too-small`: the flash map does not fit a partition (details name the store);
 * - `log-full` (LogFullError): no room left in an append log; nothing was overwritten.
 */
import { MeterError } from '../core/errors.js';

export class StorageError extends MeterError {}

/** The append log is full: nothing more can be recorded, so a change that must be logged is refused. */
export class LogFullError extends StorageError {}
