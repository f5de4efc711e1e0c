/**
 * The vector suite every implementation of the crypto port (modules/ports/crypto.ts) must pass: the
 * desktop one on @noble under Node and XS (test/crypto-port.test.ts), the device one on the Moddable
 * SDK's native crypto inside Moddable's simulator (test/moddable-crypto.test.ts). Portable: ECMAScript
 * and typed arrays only, so one file runs everywhere; the expected values are the published vectors
 * of test/vectors, never an implementation's output.
 *
 * Prints one line per check, `ok NAME` or `FAIL NAME: why`, a `sig` line per round-trip signature
 * (RFC 6979 is deterministic: every implementation prints the same), a `code` line per refused call
 * (the CryptoError codes, the same everywhere), and a last line
 * `crypto-port suite: N passed, M failed`. It never throws for a failed check.
 */
import { fromHex, readU32LE, toHex } from '../modules/core/bytes.js';
import { CryptoError, type AesKey, type Crypto } from '../modules/ports/crypto.js';
import cryptoVectors from './vectors/crypto.json' with { type: 'json' };
import omsVectors from './vectors/oms.json' with { type: 'json' };

const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/** ASCII text as bytes. */
function ascii(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] ^ b[i];
  return out;
}

function big(hex: string): bigint {
  return BigInt(`0x${hex}`);
}

function hex32(v: bigint): string {
  return v.toString(16).padStart(64, '0');
}

class Checks {
  passed = 0;
  failed = 0;
  constructor(private readonly out: (line: string) => void) {}

  check(name: string, f: () => string | undefined): void {
    let why: string | undefined;
    try {
      why = f();
    } catch (e) {
      why = `threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
    }
    if (why === undefined) {
      this.passed++;
      this.out(`ok ${name}`);
    } else {
      this.failed++;
      this.out(`FAIL ${name}: ${why}`);
    }
  }
}

function expectHex(got: Uint8Array, want: string): string | undefined {
  const g = toHex(got);
  return g === want.toLowerCase() ? undefined : `got ${g}, want ${want.toLowerCase()}`;
}

/** A one-line CryptoError from `f` (its code goes to `codes`), or why not. */
function expectCryptoError(f: () => unknown, codes: string[]): string | undefined {
  try {
    f();
  } catch (e) {
    if (!(e instanceof CryptoError)) return `threw ${e instanceof Error ? e.name : typeof e}, not CryptoError`;
    if (e.message.length === 0 || e.message.indexOf('\n') >= 0) return 'message is not one line';
    codes.push(e.code);
    return undefined;
  }
  return 'did not throw';
}

/** OMS KDF-A (OMS Vol. 2 §9.5): CMAC(K, DC ‖ MCR (LE) ‖ ID ‖ 07 × 7). */
function kdfA(crypto: Crypto, master: AesKey, dc: number, counter: number, id: Uint8Array): AesKey {
  const input = new Uint8Array(16).fill(0x07);
  input[0] = dc;
  input[1] = counter & 0xff;
  input[2] = (counter >>> 8) & 0xff;
  input[3] = (counter >>> 16) & 0xff;
  input[4] = (counter >>> 24) & 0xff;
  input.set(id, 5);
  const derived = new Uint8Array(16);
  crypto.aesCmac(master, input, derived);
  const key = crypto.aesKey(derived);
  derived.fill(0);
  return key;
}

export function cryptoPortSuite(crypto: Crypto, out: (line: string) => void): { passed: number; failed: number } {
  const c = new Checks(out);

  // ---- AES-128: SP 800-38A F.2.1/F.2.2 (CBC-AES128), whose first block also checks the block function
  for (const v of cryptoVectors.aes128cbc) {
    const key = crypto.aesKey(fromHex(v.key));
    const iv = fromHex(v.iv);
    const plain = fromHex(v.plaintext);
    const cipher = fromHex(v.ciphertext);
    c.check('aes block encrypt (SP 800-38A F.2.1 block 1: E(K, P1 xor IV) = C1)', () => {
      const o = new Uint8Array(16);
      crypto.aesEncryptBlock(key, xor(plain.subarray(0, 16), iv), o);
      return expectHex(o, v.ciphertext.slice(0, 32));
    });
    c.check('aes block decrypt (SP 800-38A F.2.2 block 1)', () => {
      const o = new Uint8Array(16);
      crypto.aesDecryptBlock(key, cipher.subarray(0, 16), o);
      return expectHex(xor(o, iv), v.plaintext.slice(0, 32));
    });
    c.check('aes block in place', () => {
      const b = cipher.slice(0, 16);
      crypto.aesDecryptBlock(key, b, b);
      crypto.aesEncryptBlock(key, b, b);
      return expectHex(b, v.ciphertext.slice(0, 32));
    });
    c.check('aes-cbc encrypt (SP 800-38A F.2.1, 4 blocks)', () => {
      const o = new Uint8Array(plain.length);
      crypto.aesCbcEncrypt(key, iv, plain, o);
      return expectHex(o, v.ciphertext);
    });
    c.check('aes-cbc decrypt (SP 800-38A F.2.2, 4 blocks)', () => {
      const o = new Uint8Array(cipher.length);
      crypto.aesCbcDecrypt(key, iv, cipher, o);
      return expectHex(o, v.plaintext);
    });
    c.check('aes-cbc in place, both ways; the IV is not changed', () => {
      const b = plain.slice();
      crypto.aesCbcEncrypt(key, iv, b, b);
      const why = expectHex(b, v.ciphertext);
      if (why) return why;
      crypto.aesCbcDecrypt(key, iv, b, b);
      return expectHex(b, v.plaintext) ?? expectHex(iv, v.iv);
    });
    c.check('aes-cbc of views into a larger buffer', () => {
      const big = new Uint8Array(plain.length + 8);
      big.set(plain, 3);
      const o = new Uint8Array(plain.length + 8);
      crypto.aesCbcEncrypt(key, iv, big.subarray(3, 3 + plain.length), o.subarray(5, 5 + plain.length));
      return expectHex(o.subarray(5, 5 + plain.length), v.ciphertext) ?? (o[4] === 0 && o[5 + plain.length] === 0 ? undefined : 'wrote outside the view');
    });
    key.wipe();
  }

  // ---- AES-CMAC: RFC 4493 examples 1-4 (empty, one block, partial last block, four blocks)
  for (const v of cryptoVectors.aes128cmac) {
    c.check(`aes-cmac (${v.source}, ${v.message.length / 2} bytes)`, () => {
      const key = crypto.aesKey(fromHex(v.key));
      const tag = new Uint8Array(16);
      crypto.aesCmac(key, fromHex(v.message), tag);
      const first = expectHex(tag, v.mac);
      crypto.aesCmac(key, fromHex(v.message), tag); // again on the same handle (cached subkeys)
      key.wipe();
      return first ?? expectHex(tag, v.mac);
    });
  }

  // ---- SHA-256: FIPS 180-2 examples, and the empty message (NIST CAVS SHA256ShortMsg, Len = 0)
  for (const v of cryptoVectors.sha256) {
    c.check(`sha-256 (${v.source})`, () => {
      const d = new Uint8Array(32);
      crypto.sha256(fromHex(v.message), d);
      return expectHex(d, v.digest);
    });
  }
  c.check('sha-256 of the empty message', () => {
    const d = new Uint8Array(32);
    crypto.sha256(new Uint8Array(0), d);
    return expectHex(d, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  // ---- OMS Vol. 2 Annex N: the example telegrams decrypted with the port's primitives
  const bySource = (annex: string) => omsVectors.telegrams.find((t) => t.source.includes(annex))!;
  const n21 = bySource('N.2.1') as { key: string; iv: string; frameWithoutCrc: string; decryptedApplicationData: string };
  c.check('oms mode 5 (Annex N.2.1): AES-CBC with the M-A-ACC IV gives the published plain text', () => {
    const f = fromHex(n21.frameWithoutCrc);
    // L C M(2) A(6) | CI 7A, ACC, ST, CW(2) | encrypted blocks
    const iv = new Uint8Array(16);
    iv.set(f.subarray(2, 10));
    iv.fill(f[11], 8);
    const why = expectHex(iv, n21.iv as string);
    if (why) return `IV ${why}`;
    const key = crypto.aesKey(fromHex(n21.key));
    const enc = f.subarray(15, 15 + 32);
    const plain = new Uint8Array(32);
    crypto.aesCbcDecrypt(key, iv, enc, plain);
    key.wipe();
    return expectHex(plain, n21.decryptedApplicationData);
  });
  const n22 = bySource('N.2.2') as unknown as { key: string; frameWithoutCrc: string; messageCounter: number; mac: string; decryptedApplicationData: string };
  c.check('oms mode 7 (Annex N.2.2): KDF-A keys, the AFL MAC and AES-CBC with a zero IV', () => {
    const f = fromHex(n22.frameWithoutCrc);
    // L C M(2) A(6) | ELL CI 8C, CC, ACC | AFL CI 90, AFLL, FCL(2), MCL, MCR(4), MAC(8) | TPL 7A ACC ST CW(2) | encrypted
    const counter = readU32LE(f, 18);
    if (counter !== n22.messageCounter) return `message counter ${counter}`;
    const master = crypto.aesKey(fromHex(n22.key));
    const kenc = kdfA(crypto, master, 0x00, counter, f.subarray(4, 8));
    const kmac = kdfA(crypto, master, 0x01, counter, f.subarray(4, 8));
    master.wipe();
    const tpl = f.subarray(30);
    const macInput = new Uint8Array(5 + tpl.length);
    macInput.set(f.subarray(17, 22));
    macInput.set(tpl, 5);
    const mac = new Uint8Array(16);
    crypto.aesCmac(kmac, macInput, mac);
    kmac.wipe();
    const why = expectHex(mac.subarray(0, 8), n22.mac as string);
    if (why) return `MAC ${why}`;
    const plain = new Uint8Array(32);
    crypto.aesCbcDecrypt(kenc, new Uint8Array(16), tpl.subarray(6, 38), plain);
    kenc.wipe();
    return expectHex(plain, n22.decryptedApplicationData);
  });

  // ---- ECDSA P-256: RFC 6979 A.2.5 (key pair, deterministic signatures), low-S, verification
  const pv = cryptoVectors.p256ecdsa;
  const uncompressed = fromHex(pv[0].publicKey);
  const compressed = Uint8Array.of(2 + (uncompressed[64] & 1), ...uncompressed.subarray(1, 33));
  const device = crypto.p256PrivateKey(fromHex(pv[0].privateKey));
  c.check('p256 public key of the RFC 6979 A.2.5 private key (SEC1 compressed)', () => expectHex(crypto.p256PublicKey(device), toHex(compressed)));
  for (const v of pv) {
    const digest = new Uint8Array(32);
    crypto.sha256(fromHex(v.message), digest);
    const lowS = big(v.s) > N / 2n ? N - big(v.s) : big(v.s);
    const name = `"${String.fromCharCode(...fromHex(v.message))}"`;
    c.check(`p256 sign ${name} (RFC 6979 A.2.5, SHA-256): r as published, s the low-S form of the published s`, () => {
      const sig = new Uint8Array(64);
      crypto.p256Sign(device, digest, sig);
      return expectHex(sig, v.r + hex32(lowS));
    });
    c.check(`p256 verify ${name}: the low-S signature under the compressed and the uncompressed key`, () =>
      crypto.p256Verify(compressed, digest, fromHex(v.r + hex32(lowS))) && crypto.p256Verify(uncompressed, digest, fromHex(v.r + hex32(lowS))) ? undefined : 'rejected',
    );
    c.check(`p256 verify ${name}: the high-S twin is refused`, () =>
      crypto.p256Verify(compressed, digest, fromHex(v.r + hex32(N - lowS))) ? 'accepted' : undefined,
    );
    c.check(`p256 verify ${name}: another digest, a flipped bit of r or s, r = 0 are refused`, () => {
      const sig = fromHex(v.r + hex32(lowS));
      const other = digest.slice();
      other[31] ^= 1;
      if (crypto.p256Verify(compressed, other, sig)) return 'accepted another digest';
      for (const at of [0, 31, 32, 63]) {
        const bad = sig.slice();
        bad[at] ^= 0x01;
        if (crypto.p256Verify(compressed, digest, bad)) return `accepted a flipped bit in byte ${at}`;
      }
      const zeroR = sig.slice();
      zeroR.fill(0, 0, 32);
      return crypto.p256Verify(compressed, digest, zeroR) ? 'accepted r = 0' : undefined;
    });
  }
  c.check('p256 verify: malformed public keys, a digest or signature of the wrong length are false, not a throw', () => {
    const digest = new Uint8Array(32).fill(1);
    const sig = new Uint8Array(64).fill(1);
    const bad = [new Uint8Array(0), compressed.subarray(0, 32), Uint8Array.of(5, ...compressed.subarray(1)), Uint8Array.of(4, ...uncompressed.subarray(1, 64), uncompressed[64] ^ 1)];
    for (const k of bad) if (crypto.p256Verify(k, digest, sig)) return `accepted key ${toHex(k)}`;
    if (crypto.p256Verify(compressed, new Uint8Array(33), new Uint8Array(64))) return 'accepted a 33-byte digest';
    return crypto.p256Verify(compressed, digest, sig.subarray(0, 63)) ? 'accepted a 63-byte signature' : undefined;
  });
  // Round trips: keys and digests from SHA-256 of a counter (deterministic, so every implementation prints the same signatures).
  for (let i = 0; i < 4; i++) {
    const seed = new Uint8Array(32);
    crypto.sha256(ascii(`xsmeter crypto-port key ${i}`), seed);
    const digest = new Uint8Array(32);
    crypto.sha256(ascii(`xsmeter crypto-port message ${i}`), digest);
    c.check(`p256 round trip ${i}: sign, low-S, verify; a flipped digest bit fails`, () => {
      const key = crypto.p256PrivateKey(seed);
      const pub = crypto.p256PublicKey(key);
      const sig = new Uint8Array(64);
      crypto.p256Sign(key, digest, sig);
      key.wipe();
      out(`sig ${i} ${toHex(pub)} ${toHex(sig)}`);
      if (big(toHex(sig.subarray(32))) > N / 2n) return 'high S';
      if (!crypto.p256Verify(pub, digest, sig)) return 'own signature rejected';
      digest[0] ^= 0x80;
      return crypto.p256Verify(pub, digest, sig) ? 'accepted a changed digest' : undefined;
    });
  }

  // ---- random bytes
  c.check('random bytes fill the buffer and differ between calls', () => {
    const a = new Uint8Array(32);
    const b = new Uint8Array(32);
    crypto.randomBytes(a);
    crypto.randomBytes(b);
    crypto.randomBytes(new Uint8Array(0));
    if (a.every((x) => x === 0)) return 'all zero';
    return toHex(a) === toHex(b) ? 'two calls gave the same bytes' : undefined;
  });

  // ---- wrong lengths, bad keys, wiped handles: a one-line CryptoError each
  const key = crypto.aesKey(new Uint8Array(16));
  const bad: Array<[string, () => unknown]> = [
    ['aes key of 15 bytes', () => crypto.aesKey(new Uint8Array(15))],
    ['aes key of 32 bytes', () => crypto.aesKey(new Uint8Array(32))],
    ['aes block of 15 bytes', () => crypto.aesEncryptBlock(key, new Uint8Array(15), new Uint8Array(16))],
    ['aes output block of 17 bytes', () => crypto.aesDecryptBlock(key, new Uint8Array(16), new Uint8Array(17))],
    ['cbc input of 17 bytes', () => crypto.aesCbcEncrypt(key, new Uint8Array(16), new Uint8Array(17), new Uint8Array(17))],
    ['cbc iv of 15 bytes', () => crypto.aesCbcDecrypt(key, new Uint8Array(15), new Uint8Array(16), new Uint8Array(16))],
    ['cbc output shorter than the input', () => crypto.aesCbcEncrypt(key, new Uint8Array(16), new Uint8Array(32), new Uint8Array(16))],
    ['cmac tag of 8 bytes', () => crypto.aesCmac(key, new Uint8Array(3), new Uint8Array(8))],
    ['sha-256 digest of 31 bytes', () => crypto.sha256(new Uint8Array(3), new Uint8Array(31))],
    ['p256 private key of 31 bytes', () => crypto.p256PrivateKey(new Uint8Array(31))],
    ['p256 private key 0', () => crypto.p256PrivateKey(new Uint8Array(32))],
    ['p256 private key n', () => crypto.p256PrivateKey(fromHex(hex32(N)))],
    ['p256 sign of a 31-byte digest', () => crypto.p256Sign(device, new Uint8Array(31), new Uint8Array(64))],
    ['p256 signature buffer of 63 bytes', () => crypto.p256Sign(device, new Uint8Array(32), new Uint8Array(63))],
  ];
  for (const [name, f] of bad) {
    const codes: string[] = [];
    c.check(`CryptoError: ${name}`, () => expectCryptoError(f, codes));
    out(`code ${name}: ${codes.join(' ')}`);
  }
  c.check('CryptoError: a wiped AES key (wipe twice is harmless)', () => {
    const k = crypto.aesKey(new Uint8Array(16).fill(7));
    k.wipe();
    k.wipe();
    const codes: string[] = [];
    return expectCryptoError(() => crypto.aesEncryptBlock(k, new Uint8Array(16), new Uint8Array(16)), codes) ?? expectCryptoError(() => crypto.aesCmac(k, new Uint8Array(0), new Uint8Array(16)), codes);
  });
  c.check('CryptoError: a wiped P-256 key', () => {
    const k = crypto.p256PrivateKey(fromHex(pv[0].privateKey));
    k.wipe();
    const codes: string[] = [];
    return expectCryptoError(() => crypto.p256Sign(k, new Uint8Array(32), new Uint8Array(64)), codes) ?? expectCryptoError(() => crypto.p256PublicKey(k), codes);
  });
  c.check('the caller may wipe its raw key at once: the handle holds a copy', () => {
    const raw = fromHex(cryptoVectors.aes128cmac[0].key);
    const k = crypto.aesKey(raw);
    raw.fill(0);
    const tag = new Uint8Array(16);
    crypto.aesCmac(k, new Uint8Array(0), tag);
    k.wipe();
    return expectHex(tag, cryptoVectors.aes128cmac[0].mac);
  });
  key.wipe();
  device.wipe();

  out(`crypto-port suite: ${c.passed} passed, ${c.failed} failed`);
  return { passed: c.passed, failed: c.failed };
}
