/**
 * Which meter address enters the OMS security functions (OMS Vol. 2 §9.4.2 and §9.5, EN 13757-7
 * §7.6): the address of the TPL long header (CI 0x72) when the telegram has one, else the link
 * layer's. It is M (2 bytes) ‖ A (6 bytes: identification number 4, version, device type) in link
 * layer byte order; the mode-5 IV starts with it and the mode-7 KDF takes its ID (bytes 2..6).
 * The one place this rule is coded: the telegram builder and the receiver both call it.
 */
import { SecurityError } from './errors.js';

/**
 * @param link   M ‖ A as on the link layer: the 8 DLL bytes after the C field.
 * @param tplLongAddress  the 8 address bytes of a TPL long header as on the wire (ID 4, M 2,
 *   version, device type), or undefined for a short header.
 */
export function securityAddress(link: Uint8Array, tplLongAddress?: Uint8Array): Uint8Array {
  if (link.length !== 8) throw new SecurityError('address', `link-layer M and A are 8 bytes, got ${link.length}`);
  if (tplLongAddress === undefined) return link.slice();
  if (tplLongAddress.length !== 8) throw new SecurityError('address', `TPL long address is 8 bytes, got ${tplLongAddress.length}`);
  const out = new Uint8Array(8);
  out.set(tplLongAddress.subarray(4, 6), 0); // M
  out.set(tplLongAddress.subarray(0, 4), 2); // ID
  out.set(tplLongAddress.subarray(6, 8), 6); // version, device type
  return out;
}

/** The identification number (4 bytes, as on the wire) the mode-7 KDF takes. */
export function kdfMeterId(address: Uint8Array): Uint8Array {
  return address.subarray(2, 6);
}
