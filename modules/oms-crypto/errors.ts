/**
 * The typed error of the OMS security layer (OMS Specification Vol. 2 / EN 13757-7): key and
 * block lengths, AFL layout, MAC mismatch, wrong key (2F2F check), unsupported security mode.
 */
import { MeterError } from '../core/errors.js';

export class SecurityError extends MeterError {}
