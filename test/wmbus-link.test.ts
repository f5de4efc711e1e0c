/**
 * EN 13757-4 link layer and PHY: CRC-16/EN-13757 against the published catalogue and OMS Annex N
 * block CRCs (test/vectors/crypto.json), the OMS Annex N.2.1 frame (test/vectors/oms.json)
 * parsed and rebuilt byte for byte, manufacturer codes, property round trips over every body
 * length of both formats, exhaustive single-bit flips, 3-of-6 symbol validation, PHY round trips
 * with bit-misaligned junk before the preamble, and XS/Node identity of the encoder outputs.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { fromHex, toHex } from '../modules/core/bytes.js';
import { MeterError } from '../modules/core/errors.js';
import { crc16En13757 } from '../modules/wmbus/crc16.js';
import {
  decodeDllHeader,
  decodeManufacturer,
  encodeDllHeader,
  encodeManufacturer,
  type DllHeader,
} from '../modules/wmbus/dll.js';
import { buildFrame, MAX_BODY_A, MAX_BODY_B, type FrameFormat } from '../modules/wmbus/frame.js';
import { airtimeMs, encodeC1Fifo, encodeT1Fifo, phyEncode } from '../modules/wmbus/phy.js';
import { decodeSymbol, decodeThreeOfSix, encodeThreeOfSix } from '../modules/wmbus/three-of-six.js';
import { FrameError, parseFrame, parseFrameWithoutCrc } from '../modules/wmbus/frame-parse.js';
import { PhyError, phyDecode } from '../modules/wmbus/phy-decode.js';
import { runInBoth } from './helpers/xs.js';
import { readVectors } from './helpers/vectors.js';

interface CrcVector {
  source: string;
  ascii?: string;
  data?: string;
  crc: string;
}
const crcVectors = (readVectors<unknown>('crypto.json') as { crc16_en13757: CrcVector[] })
  .crc16_en13757;
const n21 = (
  readVectors<unknown>('oms.json') as {
    telegrams: { frameWithCrc: string; frameWithoutCrc: string; fields: Record<string, string | number> }[];
  }
).telegrams[0];

/** Asserts `f` throws `cls` with `code`, returns the error for more checks. */
function throwsCode<T extends MeterError>(f: () => unknown, cls: new (...a: never[]) => T, code: string | string[]): T {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${String(e)}`);
    const codes = Array.isArray(code) ? code : [code];
    assert.ok(codes.includes(e.code), `expected code ${codes.join('|')}, got ${e.code} (${e.message})`);
    return e;
  }
  assert.fail(`expected ${cls.name} ${String(code)}, nothing thrown`);
}

const headerArb: fc.Arbitrary<DllHeader> = fc.record({
  control: fc.integer({ min: 0, max: 255 }),
  manufacturer: fc.stringMatching(/^[A-Z]{3}$/),
  id: fc.stringMatching(/^[0-9]{8}$/),
  version: fc.integer({ min: 0, max: 255 }),
  deviceType: fc.integer({ min: 0, max: 255 }),
});
const HEADER: DllHeader = { control: 0x44, manufacturer: 'XSM', id: '00012345', version: 1, deviceType: 0x02 };

/** Deterministic bytes for fixed test frames. */
function filler(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 73 + seed * 29 + 11) & 0xff;
  return b;
}

/** Prepends `junk` bits (values from `bits`) to a stream: the result is no longer byte aligned. */
function withJunkBits(stream: Uint8Array, junk: boolean[]): Uint8Array {
  const total = junk.length + stream.length * 8;
  const out = new Uint8Array(Math.ceil(total / 8));
  const set = (i: number, v: boolean) => {
    if (v) out[i >> 3] |= 0x80 >> (i & 7);
  };
  junk.forEach((v, i) => set(i, v));
  for (let i = 0; i < stream.length * 8; i++) set(junk.length + i, ((stream[i >> 3] >> (7 - (i & 7))) & 1) === 1);
  return out;
}

/**
 * The 1-based CRC block each byte of a frame belongs to, from the EN 13757-4 layouts (written out
 * here independently of frame.ts): A: 12 bytes (10 + CRC) then 18-byte blocks; B: the first CRC
 * ends block 2 at byte 127 and covers blocks 1 and 2, so it is reported as block 2; then block 3.
 */
function blockOfByte(i: number, format: FrameFormat): number {
  if (format === 'A') return i < 12 ? 1 : 2 + Math.floor((i - 12) / 18);
  return i < 128 ? 2 : 3;
}

describe('wmbus link layer (EN 13757-4)', () => {
  describe('CRC-16/EN-13757', () => {
    for (const v of crcVectors) {
      it(`${v.source} → ${v.crc}`, () => {
        const data = v.ascii !== undefined ? new TextEncoder().encode(v.ascii) : fromHex(v.data ?? '');
        assert.equal(crc16En13757(data).toString(16).padStart(4, '0'), v.crc);
      });
    }

    it('start/end select a sub-range', () => {
      const v = crcVectors.find((x) => x.ascii === '123456789');
      assert.ok(v);
      const padded = new Uint8Array([0xaa, ...new TextEncoder().encode('123456789'), 0xbb]);
      assert.equal(crc16En13757(padded, 1, 10).toString(16), v.crc);
    });
  });

  describe('DLL header (C, M, A)', () => {
    it("encodes the published manufacturer codes: 'KAM' → 0x2C2D, OMS Annex N 'ELS' → 0x1593", () => {
      // Kamstrup telegrams on air start "27 44 2D 2C" (L, C, M LE), e.g. the OmniPower C1 captures in
      // E5PRO5-2020/meter_system; by the FLAG rule K=11, A=1, M=13 → (11<<10)|(1<<5)|13 = 0x2C2D.
      assert.equal(encodeManufacturer('KAM'), 0x2c2d);
      // The OMS Annex N.2.1 telegram carries M = 93 15 (LE) → 0x1593: E=5, L=12, S=19 → ELS (Elster).
      assert.equal(n21.fields.M, '9315');
      assert.equal(encodeManufacturer('ELS'), 0x1593);
      assert.equal(decodeManufacturer(0x1593), 'ELS');
      assert.equal(decodeManufacturer(0x2c2d), 'KAM');
    });

    it('every three-letter code round trips, and they are all distinct', () => {
      const seen = new Set<number>();
      for (let a = 65; a <= 90; a++) {
        for (let b = 65; b <= 90; b++) {
          for (let c = 65; c <= 90; c++) {
            const code = String.fromCharCode(a, b, c);
            const m = encodeManufacturer(code);
            assert.ok(m >= 0x0421 && m <= 0x6b5a);
            seen.add(m);
            if (decodeManufacturer(m) !== code) assert.fail(`${code} does not round trip`);
          }
        }
      }
      assert.equal(seen.size, 26 ** 3);
    });

    it('rejects bad manufacturer codes and M values with DllError', () => {
      for (const bad of ['kam', 'KA', 'KAMS', 'K4M', '', 'ÄBC', '@AB', '[AB']) {
        throwsCode(() => encodeManufacturer(bad), MeterError, 'manufacturer');
      }
      for (const m of [0, 0x10000, -1, 1.5, (27 << 10) | (1 << 5) | 1, (1 << 10) | (0 << 5) | 1, (1 << 10) | (1 << 5) | 31]) {
        throwsCode(() => decodeManufacturer(m), MeterError, 'manufacturer');
      }
    });

    it('M field bit 15 is the soft-address flag, not part of the letters: 0x8000 | KAM is KAM; lenient reads letters FLAG never assigns', () => {
      // The wmbusmeters apator08 test telegram (simulations/simulation_t1.txt) starts 73 44 14 86:
      // M = 0x8614, bit 15 set, 0x0614 = A(1) P(16) T(20).
      assert.equal(decodeManufacturer(0x8000 | 0x2c2d), 'KAM');
      assert.equal(decodeManufacturer(0x8614), 'APT');
      assert.equal(decodeManufacturer(0, true), '@@@');
      assert.equal(decodeManufacturer((27 << 10) | (1 << 5) | 31, true), '[A_');
    });

    it('lenient: a non-BCD identification number is its 8 hex digits (as wmbusmeters prints it: 004444dd)', () => {
      const raw = fromHex('4414' + '86' + 'dd444400' + '0303');
      throwsCode(() => decodeDllHeader(raw), MeterError, 'id');
      assert.deepEqual(decodeDllHeader(raw, { lenient: true }), { control: 0x44, manufacturer: 'APT', id: '004444dd', version: 3, deviceType: 3 });
    });

    it('encodes the OMS Annex N.2.1 header (C, M, A) byte for byte', () => {
      const f = n21.fields;
      const h: DllHeader = {
        control: parseInt(String(f.C), 16),
        manufacturer: 'ELS',
        id: String(f.id),
        version: parseInt(String(f.version), 16),
        deviceType: parseInt(String(f.deviceType), 16),
      };
      assert.equal(toHex(encodeDllHeader(h)), `${f.C}${f.M}${f.A}`);
      assert.deepEqual(decodeDllHeader(fromHex(`${f.C}${f.M}${f.A}`)), h);
    });

    it('rejects non-BCD ids, out-of-range bytes and wrong header lengths', () => {
      for (const id of ['1234567', '123456789', '1234567a', '-1234567', ' 1234567']) {
        throwsCode(() => encodeDllHeader({ ...HEADER, id }), MeterError, 'id');
      }
      for (const field of ['control', 'version', 'deviceType'] as const) {
        for (const v of [-1, 256, 1.5, NaN]) {
          const e = throwsCode(() => encodeDllHeader({ ...HEADER, [field]: v }), MeterError, 'range');
          assert.equal(e.details.field, field);
        }
      }
      const raw = encodeDllHeader(HEADER);
      raw[4] = 0x1a; // a nibble > 9
      throwsCode(() => decodeDllHeader(raw), MeterError, 'id');
      throwsCode(() => decodeDllHeader(raw.subarray(1)), MeterError, 'length');
    });

    it('header fields round trip (property)', () => {
      fc.assert(fc.property(headerArb, (h) => assert.deepEqual(decodeDllHeader(encodeDllHeader(h)), { ...h })));
    });
  });

  describe('frame formats A and B', () => {
    it('parses the OMS Annex N.2.1 frame (format A) and rebuilds it byte for byte', () => {
      const frame = fromHex(n21.frameWithCrc);
      const plain = fromHex(n21.frameWithoutCrc);
      const p = parseFrame(frame, 'A');
      assert.equal(p.format, 'A');
      assert.equal(toHex(p.dll), toHex(plain.subarray(0, 10)));
      assert.equal(toHex(p.body), toHex(plain.subarray(10)));
      assert.equal(p.dll[0], n21.fields.L);
      assert.equal(p.header.id, n21.fields.id);
      assert.equal(p.body[0].toString(16), n21.fields.CI);
      assert.equal(toHex(buildFrame(p.header, p.body, 'A')), n21.frameWithCrc);
      const q = parseFrameWithoutCrc(plain);
      assert.equal(q.format, 'none');
      assert.equal(toHex(q.body), toHex(p.body));
      assert.deepEqual(q.header, p.header);
    });

    for (const format of ['A', 'B'] as const) {
      const max = format === 'A' ? MAX_BODY_A : MAX_BODY_B;
      it(`format ${format}: every body length 1..${max} builds and parses back; L and size follow the standard`, () => {
        assert.equal(max, format === 'A' ? 246 : 242); // L ≤ 255: A 255-9; B 255-9-4 CRC bytes
        for (let n = 1; n <= max; n++) {
          const body = filler(n, n);
          const frame = buildFrame(HEADER, body, format);
          // A: L = 9 + n; CRCs: one for block 1, one per started 16 bytes. B: L counts the CRCs.
          const crcs = format === 'A' ? 1 + Math.ceil(n / 16) : n <= 116 ? 1 : 2;
          assert.equal(frame.length, 10 + n + 2 * crcs, `n=${n}`);
          assert.equal(frame[0], format === 'A' ? 9 + n : 9 + n + 2 * crcs, `L for n=${n}`);
          const p = parseFrame(frame, format);
          assert.equal(toHex(p.body), toHex(body), `n=${n}`);
        }
        throwsCode(() => buildFrame(HEADER, new Uint8Array(max + 1), format), FrameError, 'too-long');
        throwsCode(() => buildFrame(HEADER, new Uint8Array(0), format), FrameError, 'empty-body');
      });

      it(`format ${format}: random header and body round trip (property)`, () => {
        fc.assert(
          fc.property(headerArb, fc.uint8Array({ minLength: 1, maxLength: max }), (h, body) => {
            const p = parseFrame(buildFrame(h, body, format), format);
            assert.deepEqual(p.header, { ...h });
            assert.equal(toHex(p.body), toHex(body));
            assert.equal(toHex(p.dll.subarray(1)), toHex(encodeDllHeader(h)));
          }),
          { numRuns: 150 },
        );
      });
    }

    it('format B block layout: CRC after 126 bytes, block 3 with its own CRC (rtl_433 BLOCK1_2B_SIZE 128)', () => {
      const body = filler(200, 3);
      const f = buildFrame(HEADER, body, 'B');
      assert.equal(f[0], 9 + 200 + 4);
      assert.equal((f[126] << 8) | f[127], crc16En13757(f, 0, 126));
      assert.equal((f[f.length - 2] << 8) | f[f.length - 1], crc16En13757(f, 128, f.length - 2));
      assert.equal(toHex(f.subarray(128, f.length - 2)), toHex(body.subarray(116)));
    });

    const flipFrames: [string, FrameFormat, Uint8Array][] = [
      ['OMS Annex N.2.1 (A, 4 blocks)', 'A', fromHex(n21.frameWithCrc)],
      ['A, 1-byte body', 'A', buildFrame(HEADER, filler(1, 1), 'A')],
      ['A, 246-byte body (16 blocks)', 'A', buildFrame(HEADER, filler(246, 2), 'A')],
      ['B, 20-byte body (blocks 1+2)', 'B', buildFrame(HEADER, filler(20, 3), 'B')],
      ['B, 242-byte body (blocks 1+2, 3)', 'B', buildFrame(HEADER, filler(242, 4), 'B')],
    ];
    for (const [name, format, frame] of flipFrames) {
      it(`every single-bit flip of ${name} is detected and names its block`, () => {
        for (let bit = 0; bit < frame.length * 8; bit++) {
          const bad = frame.slice();
          bad[bit >> 3] ^= 0x80 >> (bit & 7);
          const byte = bit >> 3;
          let err: unknown;
          try {
            parseFrame(bad, format);
          } catch (e) {
            err = e;
          }
          if (!(err instanceof FrameError)) assert.fail(`bit ${bit}: expected FrameError, got ${String(err)}`);
          if (byte === 0) {
            if (err.code !== 'length' && err.code !== 'truncated') assert.fail(`L flip at bit ${bit} gave ${err.code}`);
          } else if (err.code !== 'crc' || err.details.block !== blockOfByte(byte, format)) {
            assert.fail(`bit ${bit} (byte ${byte}): ${err.code} block ${String(err.details.block)}, expected block ${blockOfByte(byte, format)}`);
          }
        }
      });
    }

    it('length faults are typed: truncated, extra bytes, L too small, impossible format B L', () => {
      const a = fromHex(n21.frameWithCrc);
      throwsCode(() => parseFrame(a.subarray(0, a.length - 1), 'A'), FrameError, 'truncated');
      throwsCode(() => parseFrame(new Uint8Array([...a, 0]), 'A'), FrameError, 'length');
      throwsCode(() => parseFrame(new Uint8Array(0), 'A'), FrameError, 'truncated');
      const tiny = new Uint8Array(12);
      tiny[0] = 9; // L=9: no CI field
      throwsCode(() => parseFrame(tiny, 'A'), FrameError, 'length');
      for (const l of [0, 11, 128, 129]) {
        const b = new Uint8Array(l + 1);
        b[0] = l;
        throwsCode(() => parseFrame(b, 'B'), FrameError, 'length');
      }
      const plain = fromHex(n21.frameWithoutCrc);
      throwsCode(() => parseFrameWithoutCrc(plain.subarray(0, plain.length - 1)), FrameError, 'truncated');
      throwsCode(() => parseFrameWithoutCrc(new Uint8Array([...plain, 1])), FrameError, 'length');
      throwsCode(() => parseFrameWithoutCrc(plain.subarray(0, 5)), FrameError, 'truncated');
      throwsCode(() => parseFrame(a, 'C' as FrameFormat), FrameError, 'format');
    });
  });

  describe('PHY: 3-of-6 coding (mode T)', () => {
    // The EN 13757-4 table as printed in rtl_433 m_bus_decode_3of6 (decimal) and TI AN067 encodeTab.
    const TABLE = [22, 13, 14, 11, 28, 25, 26, 19, 44, 37, 38, 35, 52, 49, 50, 41];

    it('accepts exactly the 16 code symbols and rejects the 48 others', () => {
      let invalid = 0;
      for (let s = 0; s < 64; s++) {
        const n = decodeSymbol(s);
        if (TABLE.includes(s)) assert.equal(n, TABLE.indexOf(s));
        else {
          assert.equal(n, -1, `symbol ${s}`);
          invalid++;
        }
      }
      assert.equal(invalid, 48);
      // Every code symbol has three ones out of six.
      for (const s of TABLE) assert.equal(s.toString(2).replace(/0/g, '').length, 3);
    });

    it('encodes high nibble first, MSB first, with the postamble of TI AN067 (0101 after odd, 0x55 after even)', () => {
      // 0x2E → symbols 2 (001110) and E (110010), then 0101: 0011 1011 0010 0101.
      assert.equal(toHex(encodeThreeOfSix(Uint8Array.of(0x2e))), '3b25');
      // 0x00 0xFF → 010110 010110 101001 101001 = 0101 1001 0110 1010 0110 1001, then 0x55.
      assert.equal(toHex(encodeThreeOfSix(Uint8Array.of(0x00, 0xff))), '596a6955');
      for (let n = 0; n < 40; n++) {
        const enc = encodeThreeOfSix(filler(n, 9));
        assert.equal(enc.length, n % 2 ? (12 * n + 4) / 8 : (12 * n) / 8 + 1);
        assert.equal(toHex(decodeThreeOfSix(enc, 0, n)), toHex(filler(n, 9)));
      }
    });

    it('every invalid symbol in a T1 stream gives PhyError symbol with its position', () => {
      const frame = fromHex(n21.frameWithCrc);
      const stream = phyEncode(frame, 'T1', 'A');
      const invalid = [...Array(64).keys()].filter((s) => !TABLE.includes(s));
      invalid.forEach((sym, k) => {
        const index = (k * 37) % (2 * frame.length); // spread over the whole frame, L included
        const bad = stream.slice();
        const pos = 64 + 6 * index; // after 48 preamble chips and the 16-chip sync word
        for (let b = 0; b < 6; b++) {
          const i = pos + b;
          bad[i >> 3] = (bad[i >> 3] & ~(0x80 >> (i & 7))) | (((sym >> (5 - b)) & 1) << (7 - (i & 7)));
        }
        const e = throwsCode(() => phyDecode(bad, 'T1'), PhyError, 'symbol');
        assert.equal(e.details.symbolIndex, index);
        assert.equal(e.details.bitOffset, pos);
        assert.equal(e.details.symbol, sym);
      });
    });
  });

  describe('PHY: T1 and C1 streams', () => {
    it('stream layout: the CC1101 preamble 0xAAAA, 32 chips of (01), sync 0x543D (T1) / 0x543D54CD (C1 A) / 0x543D543D (C1 B)', () => {
      const a = fromHex(n21.frameWithCrc);
      const t1 = phyEncode(a, 'T1', 'A');
      assert.equal(toHex(t1.subarray(0, 8)), 'aaaa55555555543d');
      assert.equal(t1.length, 8 + (12 * 55 + 4) / 8); // 55 bytes, odd: 4-chip postamble
      const c1 = phyEncode(a, 'C1', 'A');
      assert.equal(toHex(c1), `aaaa55555555543d54cd${n21.frameWithCrc}55`);
      const b = buildFrame(HEADER, filler(30, 5), 'B');
      assert.equal(toHex(phyEncode(b, 'C1', 'B')), `aaaa55555555543d543d${toHex(b)}55`);
    });

    it('FIFO level is the stream without what the CC1101 generates (its preamble and sync register: 6 bytes)', () => {
      const a = fromHex(n21.frameWithCrc);
      assert.equal(toHex(encodeT1Fifo(a)), toHex(phyEncode(a, 'T1', 'A').subarray(6)));
      assert.equal(toHex(encodeC1Fifo(a, 'A')), toHex(phyEncode(a, 'C1', 'A').subarray(6)));
      const b = buildFrame(HEADER, filler(150, 6), 'B');
      assert.equal(toHex(encodeC1Fifo(b, 'B')), toHex(phyEncode(b, 'C1', 'B').subarray(6)));
    });

    it('airtime at 100 kchip/s: OMS Annex N frame 7.28 ms in T1, 5.28 ms in C1', () => {
      // T1: 64 header chips + 55 × 12 + 4 postamble = 728 chips; C1: 80 + 55 × 8 + 8 = 528 chips.
      assert.equal(airtimeMs(55, 'T1', 'A'), 7.28);
      assert.equal(airtimeMs(55, 'C1', 'A'), 5.28);
      for (const [mode, format] of [['T1', 'A'], ['C1', 'A'], ['C1', 'B']] as const) {
        for (const n of [1, 17, 60, 200, format === 'A' ? 246 : 242]) {
          const f = buildFrame(HEADER, filler(n, 7), format);
          assert.equal(airtimeMs(f.length, mode, format), (phyEncode(f, mode, format).length * 8) / 100);
        }
      }
      throwsCode(() => airtimeMs(0, 'T1', 'A'), PhyError, 'length');
      throwsCode(() => airtimeMs(40, 'T1', 'B'), PhyError, 'format');
    });

    for (const [mode, format] of [['T1', 'A'], ['C1', 'A'], ['C1', 'B']] as const) {
      it(`${mode} format ${format}: phyEncode → phyDecode round trip after 0..71 junk bits (property)`, () => {
        const max = format === 'A' ? MAX_BODY_A : MAX_BODY_B;
        fc.assert(
          fc.property(
            headerArb,
            fc.uint8Array({ minLength: 1, maxLength: max }),
            fc.array(fc.boolean(), { maxLength: 71 }),
            fc.uint8Array({ maxLength: 8 }),
            (h, body, junk, tail) => {
              const frame = buildFrame(h, body, format);
              const stream = withJunkBits(phyEncode(frame, mode, format), junk);
              const got = phyDecode(new Uint8Array([...stream, ...tail]), mode);
              assert.equal(got.format, format);
              assert.equal(toHex(got.frame), toHex(frame));
            },
          ),
          { numRuns: 120 },
        );
      });
    }

    it('typed PHY errors: no sync, truncated, impossible L, unknown C1 format word, bad mode/format', () => {
      throwsCode(() => phyDecode(new Uint8Array(64).fill(0x55), 'T1'), PhyError, 'sync');
      throwsCode(() => phyDecode(new Uint8Array(0), 'C1'), PhyError, 'sync');
      const a = fromHex(n21.frameWithCrc);
      const t1 = phyEncode(a, 'T1', 'A');
      throwsCode(() => phyDecode(t1.subarray(0, t1.length - 3), 'T1'), PhyError, 'truncated');
      const c1 = phyEncode(a, 'C1', 'A');
      throwsCode(() => phyDecode(c1.subarray(0, c1.length - 3), 'C1'), PhyError, 'truncated');
      // L = 5 cannot start a frame.
      const short = new Uint8Array([...phyEncode(a, 'C1', 'A').subarray(0, 10), 5, 0, 0, 0, 0, 0, 0]);
      throwsCode(() => phyDecode(short, 'C1'), PhyError, 'length');
      const t1short = new Uint8Array([...t1.subarray(0, 8), ...encodeThreeOfSix(Uint8Array.of(5, 1, 2, 3, 4, 5, 6, 7))]);
      throwsCode(() => phyDecode(t1short, 'T1'), PhyError, 'length');
      const other = c1.slice();
      other[9] = 0x12; // neither 54CD nor 543D after 0x543D
      throwsCode(() => phyDecode(other, 'C1'), PhyError, 'format');
      throwsCode(() => phyEncode(a, 'T1', 'B'), PhyError, 'format');
      throwsCode(() => phyEncode(a.subarray(0, 30), 'C1', 'A'), PhyError, 'length');
      throwsCode(() => phyEncode(a, 'S1' as 'T1', 'A'), PhyError, 'mode');
      throwsCode(() => phyDecode(c1, 'N' as 'C1'), PhyError, 'mode');
    });
  });

  describe('under XS', () => {
    it('frames, PHY streams and FIFO bytes are byte-identical to Node for a fixed input set', async () => {
      const { xs, node } = await runInBoth('test/xs/wmbus-link.xs.ts');
      assert.deepEqual(xs.lines, node.lines);
      assert.equal(xs.lines.length, 2 + 11 + 6 * 2 * 2 + 5 * 2 + 2);
      assert.ok(xs.lines.every((l) => !l.includes('false') && !l.includes('untyped')));
      // The C1 encoding of the XS run must carry the frame unchanged after its 10-byte header.
      for (const l of xs.lines.filter((x) => / C1 [0-9a-f]+ fifo/.test(x))) {
        const [tag] = l.split(' ');
        const frameHex = xs.lines.find((x) => x.startsWith(`${tag} frame `))?.split(' ')[2];
        assert.ok(frameHex && l.split(' ')[2] === `aaaa55555555543d54${tag.startsWith('A') ? 'cd' : '3d'}${frameHex}55`);
      }
    });
  });
});
