/**
 * Authentication and fragmentation layer, AFL (EN 13757-7 §6 / OMS Vol. 2 §6.3), as OMS security
 * profile B uses it: CI 0x90, AFL.L, fragmentation control FCL (2 bytes LE), message control MCL,
 * message counter MCR (4 bytes LE) and the AES-CMAC truncated to 8 bytes (MCL.AT = 5). Field order
 * (EN 13757-7:2018 Table 3): FCL, MCL, [KI], [MCR], [MAC], [ML]: the message length comes last.
 *   AFL.MAC = CMAC(Kmac, MCL ‖ [KI] ‖ MCR ‖ [ML] ‖ TPL CI ‖ … ‖ last byte of the message), first 8
 * bytes (EN 13757-7 §6.3.5, OMS Vol. 2 §9.3.3; profile B has no KI, so it is then the input of
 * wmbusmeters src/wmbus.cc checkMAC). The MAC does not cover
 * the DLL, an ELL, or the AFL's own CI, L and FCL. Only single, unfragmented messages are built or
 * accepted; key information (KI) is parsed when present.
 */
import { readU16LE, readU32LE, writeU16LE, writeU32LE } from '../core/bytes.js';
import type { AesKey, Crypto } from '../ports/crypto.js';
import { SecurityError } from './errors.js';

export const CI_AFL = 0x90;

// FCL bits (EN 13757-7 Table 4).
export const FCL_FRAGMENT_ID = 0x00ff;
export const FCL_KIP = 0x0200; // key information present
export const FCL_MACP = 0x0400; // MAC present
export const FCL_MCRP = 0x0800; // message counter present
export const FCL_MLP = 0x1000; // message length present
export const FCL_MCLP = 0x2000; // message control present
export const FCL_MF = 0x4000; // more fragments

// MCL bits (EN 13757-7 Table 5).
export const MCL_AT = 0x0f; // authentication type
export const MCL_KIP = 0x10;
export const MCL_MCRP = 0x20;
export const MCL_MLP = 0x40;
/** AT = 5: AES-CMAC-128, truncated to 8 bytes (the one OMS profile B mandates). */
export const AT_CMAC_8 = 5;
export const MAC_LENGTH = 8;

export interface Afl {
  fcl: number;
  mcl: number;
  keyInformation?: number;
  messageCounter: number;
  messageLength?: number;
  mac: Uint8Array;
}

/** The bytes the MAC is computed over: MCL ‖ [KI] ‖ MCR ‖ [ML] ‖ message from the TPL CI onwards. */
export function macInput(
  mcl: number,
  messageCounter: number,
  messageLength: number | undefined,
  message: Uint8Array,
  keyInformation?: number,
): Uint8Array {
  const input = new Uint8Array(macInputLength(message.length, messageLength, keyInformation));
  writeMacInput(mcl, messageCounter, messageLength, message, keyInformation, input);
  return input;
}

/** Bytes of macInput for a message of `length` bytes (what verifyAflMacWith's scratch must hold). */
export function macInputLength(length: number, messageLength: number | undefined, keyInformation: number | undefined): number {
  return 1 + (keyInformation === undefined ? 0 : 2) + 4 + (messageLength === undefined ? 0 : 2) + length;
}

/** macInput written to the start of `out` (at least as long); returns its length. */
function writeMacInput(mcl: number, messageCounter: number, messageLength: number | undefined, message: Uint8Array, keyInformation: number | undefined, out: Uint8Array): number {
  const ki = keyInformation === undefined ? 0 : 2;
  const ml = messageLength === undefined ? 0 : 2;
  out[0] = mcl;
  if (keyInformation !== undefined) writeU16LE(out, 1, keyInformation);
  writeU32LE(out, 1 + ki, messageCounter);
  if (messageLength !== undefined) writeU16LE(out, 5 + ki, messageLength);
  out.set(message, 5 + ki + ml);
  return 5 + ki + ml + message.length;
}

export function computeAflMac(
  crypto: Crypto,
  kmac: AesKey,
  mcl: number,
  messageCounter: number,
  messageLength: number | undefined,
  message: Uint8Array,
  keyInformation?: number,
): Uint8Array {
  const tag = new Uint8Array(16);
  crypto.aesCmac(kmac, macInput(mcl, messageCounter, messageLength, message, keyInformation), tag);
  return tag.subarray(0, MAC_LENGTH);
}

/** The 17-byte AFL of a single-fragment profile-B message: 90 0F 00 2C 25 MCR(4) MAC(8). */
export function encodeAfl(crypto: Crypto, kmac: AesKey, messageCounter: number, message: Uint8Array): Uint8Array {
  const mcl = MCL_MCRP | AT_CMAC_8;
  const mac = computeAflMac(crypto, kmac, mcl, messageCounter, undefined, message);
  const afl = new Uint8Array(2 + 2 + 1 + 4 + MAC_LENGTH);
  afl[0] = CI_AFL;
  afl[1] = afl.length - 2;
  writeU16LE(afl, 2, FCL_MCLP | FCL_MCRP | FCL_MACP); // fragment 0, last fragment
  afl[4] = mcl;
  writeU32LE(afl, 5, messageCounter);
  afl.set(mac, 9);
  return afl;
}

function aflError(code: string, message: string, details: Record<string, number> = {}): SecurityError {
  return new SecurityError(code, message, details);
}

/** Throws unless n bytes from p fit before the AFL's end (a function, not a closure per parse). */
function need(p: number, n: number, end: number, len: number, what: string): void {
  if (p + n > end) throw aflError('afl', `AFL.L = ${len} too short for ${what}`, { length: len });
}

/** Parses the AFL starting at `offset` (which holds CI 0x90); returns it and the offset after it. */
export function parseAfl(body: Uint8Array, offset: number): { afl: Afl; next: number } {
  if (body[offset] !== CI_AFL) throw aflError('afl', `expected AFL CI 0x90 at offset ${offset}`, { offset });
  if (offset + 2 > body.length) throw aflError('truncated', 'AFL length field missing', { offset });
  const len = body[offset + 1];
  const start = offset + 2;
  const end = start + len;
  if (end > body.length) throw aflError('truncated', `AFL.L = ${len} runs past the end of the message`, { offset, length: len });
  let p = start;
  need(p, 2, end, len, 'FCL');
  const fcl = readU16LE(body, p);
  p += 2;
  if (fcl & FCL_MF || (fcl & FCL_FRAGMENT_ID) !== 0) {
    throw aflError('unsupported-afl', 'fragmented AFL messages are not supported', { fcl });
  }
  if (fcl & 0x8100) throw aflError('afl', `reserved FCL bits set (FCL 0x${fcl.toString(16)})`, { fcl });
  if (!(fcl & FCL_MCLP) || !(fcl & FCL_MACP) || !(fcl & FCL_MCRP)) {
    throw aflError('unsupported-afl', 'AFL without message control, counter and MAC is not OMS profile B', { fcl });
  }
  need(p, 1, end, len, 'MCL');
  const mcl = body[p++];
  if ((mcl & MCL_AT) !== AT_CMAC_8) {
    throw aflError('unsupported-afl', `AFL authentication type ${mcl & MCL_AT} is not 5 (AES-CMAC-128, 8 bytes)`, { mcl });
  }
  if (mcl & 0x80) throw aflError('afl', `reserved MCL bit set (MCL 0x${mcl.toString(16)})`, { mcl });
  if (!!(mcl & MCL_KIP) !== !!(fcl & FCL_KIP) || !(mcl & MCL_MCRP) || !!(mcl & MCL_MLP) !== !!(fcl & FCL_MLP)) {
    throw aflError('afl', 'MCL and FCL disagree on which AFL fields are present', { mcl, fcl });
  }
  // The fields in locals, the object made once they are read (a placeholder MAC array was a
  // zero-length typed array per telegram, which V8 allocates off its fast path: ~0.2 µs).
  let keyInformation: number | undefined;
  if (fcl & FCL_KIP) {
    need(p, 2, end, len, 'key information');
    keyInformation = readU16LE(body, p);
    p += 2;
  }
  need(p, 4, end, len, 'message counter');
  const messageCounter = readU32LE(body, p);
  p += 4;
  need(p, MAC_LENGTH, end, len, 'MAC');
  const mac = body.slice(p, p + MAC_LENGTH);
  p += MAC_LENGTH;
  let messageLength: number | undefined;
  if (fcl & FCL_MLP) {
    need(p, 2, end, len, 'message length');
    messageLength = readU16LE(body, p);
    p += 2;
  }
  if (p !== end) throw aflError('afl', `AFL.L = ${len} but its fields take ${p - start} bytes`, { length: len });
  const afl: Afl = { fcl, mcl, messageCounter, mac };
  if (keyInformation !== undefined) afl.keyInformation = keyInformation;
  if (messageLength !== undefined) afl.messageLength = messageLength;
  return { afl, next: end };
}

/** Throws 'mac-mismatch' unless the AFL MAC matches `message` (TPL CI to the end) under Kmac. */
export function verifyAflMac(crypto: Crypto, kmac: AesKey, afl: Afl, message: Uint8Array): void {
  verifyAflMacWith(crypto, kmac, afl, message, new Uint8Array(macInputLength(message.length, afl.messageLength, afl.keyInformation)), new Uint8Array(16));
}

/** AFL MAC bytes a buffer for verifyAflMacWith must hold for any message of an L-field frame. */
export const MAC_INPUT_MAX = 1 + 2 + 4 + 2 + 256;

/**
 * verifyAflMac with the caller's scratch (a receiver's, made once): `scratch` for the MAC input
 * (MAC_INPUT_MAX bytes covers any frame; a longer message gets its own array) and `tag` (16 bytes).
 */
export function verifyAflMacWith(crypto: Crypto, kmac: AesKey, afl: Afl, message: Uint8Array, scratch: Uint8Array, tag: Uint8Array): void {
  if (afl.messageLength !== undefined && afl.messageLength !== message.length) {
    throw aflError('afl', `AFL.ML = ${afl.messageLength} but the message has ${message.length} bytes`);
  }
  const length = macInputLength(message.length, afl.messageLength, afl.keyInformation);
  const input = length === scratch.length ? scratch : length < scratch.length ? scratch.subarray(0, length) : new Uint8Array(length);
  writeMacInput(afl.mcl, afl.messageCounter, afl.messageLength, message, afl.keyInformation, input);
  crypto.aesCmac(kmac, input, tag);
  // Constant time over the 8 bytes, as equalConstantTime.
  let diff = afl.mac.length ^ MAC_LENGTH;
  for (let i = 0; i < MAC_LENGTH; i++) diff |= tag[i] ^ afl.mac[i];
  if (diff !== 0) {
    throw aflError('mac-mismatch', 'AFL MAC does not match: the telegram was altered or the key is wrong', {
      counter: afl.messageCounter,
    });
  }
}
