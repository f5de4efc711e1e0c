/**
 * The Moddable SDK's native crypto as hosts/esp32/ports/crypto.ts uses it (SDK 8.2.3,
 * modules/crypt): `crypt` (digest/crypt.js over kcl: BlockCipher, Digest), `ec` and `ecp`
 * (arith/ec.js, ecp.js: point arithmetic in C over XS BigInts) and `modular` (arith/modular.js:
 * inverse and exponent modulo m in C). Also XS's BigInt/ArrayBuffer conversions (big-endian, unsigned).
 */

declare module 'crypt' {
  /** A block cipher keyed once: "AES" with a 16/24/32-byte key. Buffers must be ArrayBuffers of at
   *  least one block; `result` may be `data` (the block is read before it is written). */
  export class BlockCipher {
    constructor(cipher: 'AES', key: ArrayBuffer);
    encrypt(data: ArrayBuffer, result: ArrayBuffer): ArrayBuffer;
    decrypt(data: ArrayBuffer, result: ArrayBuffer): ArrayBuffer;
    readonly keySize: number;
    readonly blockSize: number;
  }
  /** A message digest ("SHA256"...): write() any buffer or view, close() gives the digest. */
  export class Digest {
    constructor(type: 'SHA256');
    write(data: ArrayBuffer | ArrayBufferView): void;
    close(): ArrayBuffer;
    reset(): void;
    readonly blockSize: number;
    readonly outputSize: number;
  }
}

declare module 'ecp' {
  /** A point in affine coordinates; z is 0n for the point at infinity, else 1n. */
  export default class ECPoint {
    constructor(x: bigint, y: bigint, identity?: boolean);
    x: bigint;
    y: bigint;
    z: bigint;
    readonly X: bigint;
    readonly Y: bigint;
    isZero(): boolean;
  }
}

declare module 'ec' {
  import type ECPoint from 'ecp';
  /** The curve y² = x³ + ax + b over GF(m); results are normalised to affine coordinates. */
  export default class EC {
    constructor(a: bigint, b: bigint, m: bigint);
    readonly a: bigint;
    readonly b: bigint;
    readonly m: bigint;
    add(p: ECPoint, q: ECPoint): ECPoint;
    mul(p: ECPoint, k: bigint): ECPoint;
    /** k1·p1 + k2·p2 (Shamir's trick). */
    mul2(p1: ECPoint, k1: bigint, p2: ECPoint, k2: bigint): ECPoint;
  }
}

declare module 'modular' {
  export default class Modular {
    constructor(m: bigint);
    readonly m: bigint;
    /** a⁻¹ mod m. */
    mulinv(a: bigint): bigint;
    /** aᵉ mod m. */
    exp(a: bigint, e: bigint): bigint;
  }
}

interface BigIntConstructor {
  /** XS: the unsigned big-endian integer in `buffer`. */
  fromArrayBuffer(buffer: ArrayBuffer): bigint;
}

interface ArrayBufferConstructor {
  /** XS: `value` (≥ 0) big-endian in `length` bytes. */
  fromBigInt(value: bigint, length: number): ArrayBuffer;
}
