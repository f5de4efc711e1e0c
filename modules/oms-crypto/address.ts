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
  writeSecurityAddress(link, 0, tplLongAddress, 0, out, 0);
  return out;
}

/**
 * securityAddress into out[o, o+8) from M ‖ A at link[lo…] or, when `tpl` is given, the long
 * header's address at tpl[to…] (a telegram builder's scratch; no allocation, no length checks).
 */
export function writeSecurityAddress(link: Uint8Array, lo: number, tpl: Uint8Array | undefined, to: number, out: Uint8Array, o: number): void {
  if (tpl === undefined) {
    for (let i = 0; i < 8; i++) out[o + i] = link[lo + i];
    return;
  }
  out[o] = tpl[to + 4]; // M
  out[o + 1] = tpl[to + 5];
  for (let i = 0; i < 4; i++) out[o + 2 + i] = tpl[to + i]; // ID
  out[o + 6] = tpl[to + 6]; // version, device type
  out[o + 7] = tpl[to + 7];
}

/** The identification number (4 bytes, as on the wire) the mode-7 KDF takes. */
export function kdfMeterId(address: Uint8Array): Uint8Array {
  return address.subarray(2, 6);
}
