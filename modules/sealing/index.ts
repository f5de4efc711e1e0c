/**
 * The sealing module's public API: the signed calibration log (on the storage module's AppendLog),
 * its verifier and export formats, and the seal that guards calibration constants.
 */
export { CalibrationLog, type CalibrationLogOptions, type LogExport, type NewEvent } from './calibration-log.js';
export { EVENT_TYPES, decodeRecord, type EventType, type LogEntry } from './log-record.js';
export { isValidPublicKey, verifyDigest, verifyRecords, verifyWithHead, type LogFault, type LogHead, type VerifyResult } from './log-verify.js';
export { exportFromBinary, exportFromJson, exportToBinary, exportToJson, readExport, verifyExport, type ReadExport } from './log-export.js';
export { SealGuard, UNSEAL_BAD_MAC, UNSEAL_STALE, UNSEAL_SWITCH_NOT_SET, constantsDigest, type CalibrationConstant, type CalibrationConstants, type SealGuardOptions, type SealStatus } from './seal.js';
export { makeUnsealCommand, type UnsealChallenge, type UnsealCommand } from './unseal-command.js';
export { LogFullError, LogVerifyError, SealError } from './errors.js';
