import assert from 'node:assert/strict';
import fc from 'fast-check';
import { toHex, fromHex } from '../modules/core/bytes.js';
import { encodeRegister, encodeRegisters, RegisterEncoder, type Register } from '../modules/wmbus-tx/registers.js';
import { encodeDib } from '../modules/wmbus/records.js';
import { parseRecords } from '../modules/wmbus-rx/records.js';
import { decodeValue } from '../modules/wmbus-rx/values.js';

const enc = (obis: string, value: number | string): string => toHex(encodeRegister({ obis, value }));
const decodeAll = (hex: string, strict = false) => parseRecords(fromHex(hex), { strict }).records.map((r) => decodeValue(r, { strict }));
const strictly = (hex: string) => decodeAll(hex, true);

describe('oms-records: EN 13757-3 data records', () => {
  describe('registers encode to the bytes EN 13757-3 / OMS prescribe (derived by hand from the tables)', () => {
    const cases: [string, number | string, string, string][] = [
      ['1.8.0', 123456, '04' + '03' + '40e20100', 'DIF 04 int32, VIF 03 Wh'],
      ['2.8.0', 5000, '04' + '833c' + '88130000', 'VIF 83 + VIFE 3C backward flow'],
      ['1.8.1', 1, '8410' + '03' + '01000000', 'DIFE 10: tariff 1'],
      ['1.8.2', 2, '8420' + '03' + '02000000', 'DIFE 20: tariff 2'],
      ['2.8.2', 3, '8420' + '833c' + '03000000', 'tariff 2, backward'],
      ['1.8.5', 4, '84018001' + '03' + '04000000'.slice(0, 8), 'tariff 5 needs a second DIFE'],
      ['1.8.0', 2 ** 31, '07' + '03' + '0000008000000000', 'DIF 07 int64 above 2^31 - 1'],
      ['16.7.0', -1500, '04' + '2b' + '24faffff', 'VIF 2B W, signed'],
      ['32.7.0', 230.4, '02' + 'fdc8fc01' + '0009', 'VIF FD 48 (0.1 V) + FC 01 phase L1'],
      ['72.7.0', 231, '02' + 'fdc8fc03' + '0609', 'phase L3'],
      ['31.7.0', 12.345, '04' + 'fdd9fc01' + '39300000', 'VIF FD 59 (mA) + phase L1'],
      ['clock', '2026-11-24T22:56', '04' + '6d' + '3836583b', 'type F: 56 | 22+HY1 | 24+yy&7 | 11+yy>>3'],
      ['status', 5, '01' + 'fd17' + '05', 'error flags, 8 bit'],
      ['0-0:97.97.0', 0x1234, '02' + 'fd17' + '3412', 'error flags, 16 bit'],
    ];
    for (const [obis, value, hex, why] of cases) {
      it(`${obis} = ${value}: ${hex} (${why})`, () => {
        if (obis === '1.8.5') {
          // tariff 5 = 0b0101: low 2 bits (01) in DIFE 1, next 2 bits (01) in DIFE 2
          assert.equal(enc(obis, value), '849010' + '03' + '04000000');
          return;
        }
        assert.equal(enc(obis, value), hex);
      });
    }
    it('storage numbers and subunits spread over DIF bit 6 and DIFEs', () => {
      // storage 1 → DIF bit 6; storage 2 → DIFE bits 0-3 = 1; subunit 1 → DIFE bit 6.
      assert.deepEqual(encodeDib({ field: 'int32', function: 'instantaneous', storage: 1, tariff: 0, subunit: 0, vib: [3] }), [0x44]);
      assert.deepEqual(encodeDib({ field: 'int32', function: 'maximum', storage: 2, tariff: 0, subunit: 1, vib: [3] }), [0x94, 0x41]);
    });
  });

  describe('typed errors on bad registers', () => {
    const bad: [Register, string][] = [
      [{ obis: '9.9.9', value: 1 }, 'unknown-register'],
      [{ obis: '1.8.0', value: 1.5 }, 'register-value'],
      [{ obis: '1.8.0', value: -1 }, 'register-value'],
      [{ obis: '16.7.0', value: 2 ** 31 }, 'register-value'],
      [{ obis: '1.8.0', value: 'x' }, 'register-value'],
      [{ obis: 'clock', value: '2026-02-30T10:00' }, 'record'],
      [{ obis: 'clock', value: 5 }, 'register-value'],
      [{ obis: '32.7.0', value: 4000 }, 'register-value'],
      [{ obis: 'status', value: 0x10000 }, 'register-value'],
    ];
    for (const [r, code] of bad) {
      it(`${r.obis} = ${String(r.value)} → ${code}`, () => {
        assert.throws(() => encodeRegister(r), (e: Error & { code?: string }) => e.name === 'TelegramError' && e.code === code);
      });
    }
    it('a register listed twice', () => {
      assert.throws(() => encodeRegisters([{ obis: '1.8.0', value: 1 }, { obis: '1.8.0', value: 2 }]), { code: 'duplicate-register' });
    });
    it('one encoder over lists of changing length: duplicates (an alias included) found in each list alone, never across lists', () => {
      const e = new RegisterEncoder();
      const long: Register[] = [{ obis: '1.8.0', value: 1 }, { obis: '2.8.0', value: 2 }, { obis: '1.8.3', value: 3 }, { obis: 'clock', value: '2026-01-02T03:04' }];
      const all = toHex(e.encode(long));
      assert.equal(toHex(e.encode(long.slice(2))), all.slice(toHex(e.encode(long.slice(0, 2))).length), 'the earlier entries do not make a later list a duplicate');
      assert.throws(() => e.encode([{ obis: '1.8.3', value: 1 }, { obis: '1.8.3', value: 2 }]), { code: 'duplicate-register' });
      assert.throws(() => e.encode([{ obis: '2.8.0', value: 1 }, { obis: '0-0:1.0.0', value: '2026-01-02T03:04' }, { obis: 'clock', value: '2026-01-02T03:04' }]), { code: 'duplicate-register' });
      assert.equal(toHex(e.encode(long)), all);
    });
  });

  describe('decoding', () => {
    it('decodes the records of OMS Vol. 2 Annex N.2.1 (volume BCD, type F, error flags)', () => {
      const v = decodeAll('0c1427048502' + '046d32371f15' + '02fd170000');
      assert.deepEqual(
        v.map((x) => [x.quantity, x.unit, x.value, x.obis]),
        [
          ['volume', 'm3', 28504.27, undefined],
          // 32 37 1F 15: minute 50; hour 23, HY 1; day 31, year bits 000; month 5, year bits 0001 → 2008
          ['date and time', '', '2008-05-31T23:50', '0-0:1.0.0'],
          ['error flags', '', 0, '0-0:97.97.0'],
        ],
      );
    });
    it('type F with hundred-year 0 (meters predating the HY bits): years 00-80 are 2000-2080 (EN 13757-3 Annex A note; wmbusmeters and libmbus read 20yy)', () => {
      // 3A 0D B3 24: minute 58; hour 13, HY 0; day 19, year bits 101; month 4, year bits 0010 → yy 21
      assert.equal(decodeAll('046d3a0db324')[0].value, '2021-04-19T13:58');
      // yy 95 (year bits 111 / 1011), HY 0 → 1995; HY 1, yy 21 → 2021 as before
      assert.equal(decodeAll('046d3a0dfeb4')[0].value, '1995-04-30T13:58');
      assert.equal(decodeAll('046d3a2db324')[0].value, '2021-04-19T13:58');
    });
    it('type F years that a receiver would read 100 years off (1900-1980, HY 0) are refused by the encoder', () => {
      assert.throws(() => encodeRegister({ obis: 'clock', value: '1925-01-01T00:00' }), { code: 'record' });
      assert.equal(enc('clock', '1995-04-30T13:58'), '046d3a0dfeb4');
    });
    it('skips 2F fillers, names registers, keeps storage/tariff', () => {
      const v = decodeAll('2f2f' + '8420833c03000000' + '4403e8030000' + '2f');
      assert.equal(v.length, 2);
      assert.deepEqual([v[0].obis, v[0].tariff, v[0].direction, v[0].value], ['2.8.2', 2, 'backward', 3]);
      assert.deepEqual([v[1].obis, v[1].storage, v[1].value], [undefined, 1, 1000]);
    });
    it('strict: reserved VIF, reserved VIFE, truncated record, bad BCD are typed errors naming the offset', () => {
      assert.throws(() => strictly('2f046f' + '00000000'), { code: 'unknown-vif', details: { offset: 1, vif: '0x6F' } });
      assert.throws(() => strictly('0483' + '44' + '00000000'), { code: 'unknown-vif' });
      assert.throws(() => strictly('040312'), { code: 'truncated-record', details: { offset: 0, what: '4 data bytes' } });
      assert.throws(() => strictly('0483'), { code: 'truncated-record' });
      assert.throws(() => strictly('84'), { code: 'truncated-record' });
      assert.throws(() => strictly('0c14270485a2'), { code: 'bad-bcd' });
      assert.throws(() => strictly('046d32371f1d'), { code: 'bad-date' });
      // Plain-text VIF (7C / FC), selection-for-readout DIF (x8), 11 DIFEs, VIF FD without its byte.
      assert.throws(() => strictly('0d7c0141' + '00'), { code: 'unsupported-record', details: { offset: 0 } });
      assert.throws(() => strictly('0803'), { code: 'unsupported-record' });
      assert.throws(() => strictly('84' + '80'.repeat(10) + '00' + '03' + '00000000'), { code: 'bad-record' });
      assert.throws(() => strictly('047d00000000'), { code: 'bad-record' });
      // A type B 64-bit integer beyond 2^53 cannot be a JS number exactly.
      assert.throws(() => strictly('0703' + '0000000000002000'), { code: 'value-range' });
      // Error flags (type D) in a real32 field, date and time (type F) in a 16-bit field.
      assert.throws(() => strictly('05fd17' + '00000000'), { code: 'bad-record' });
      assert.throws(() => strictly('026d' + '0000'), { code: 'bad-record' });
      // Manufacturer-specific VIF and VIFE, a reserved special DIF.
      assert.throws(() => strictly('047f' + '00000000'), { code: 'unknown-vif' });
      assert.throws(() => strictly('0483ff01' + '00000000'), { code: 'unknown-vif' });
      assert.throws(() => strictly('ff' + '0403e8030000'), { code: 'unsupported-record' });
    });
    it('lenient (the default): the same records are kept raw with a reason, or end the parse with the rest unparsed; decoding goes on past every record it can delimit', () => {
      const v = decodeAll('2f046f' + '00000000' + '0483' + '44' + '01000000' + '047f' + 'aabbccdd' + '0483ff01' + '11223344' + '0c14270485a2' + '046d32371f1d' + '0403e8030000');
      assert.deepEqual(
        v.map((x) => [x.quantity, x.value, x.reason]),
        [
          ['reserved VIF 0x6F', '00000000', 'reserved code, kept raw'],
          ['energy', '01000000', 'reserved VIFE 0x44'],
          ['manufacturer specific', 'aabbccdd', 'manufacturer specific'],
          ['energy', '11223344', 'manufacturer-specific VIFE'],
          ['volume', null, 'not a BCD number (A2850427)'],
          ['date and time', null, 'not a valid date and time (2008-13-31T23:50)'],
          ['energy', 1000, undefined],
        ],
      );
      const cut = parseRecords(fromHex('0403e8030000' + '0d7c0141' + '00' + '040312'));
      assert.equal(cut.records.length, 2, 'the plain-text VIF record is read');
      assert.equal(cut.records[1].plainTextUnit, 'A');
      assert.deepEqual([cut.unparsed?.offset, toHex(cut.unparsed?.bytes ?? new Uint8Array(0)), cut.unparsed?.reason], [11, '040312', 'record at offset 11 is truncated (4 data bytes)']);
      const stray = parseRecords(fromHex('ff' + '0403e8030000'));
      assert.deepEqual([stray.skipped, stray.records.length], [[0], 1]);
    });
    it('round trip: random register sets decode to the same values', () => {
      const energy = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
      fc.assert(
        fc.property(
          energy,
          energy,
          fc.integer({ min: 0, max: 3 }),
          fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
          fc.integer({ min: 0, max: 30000 }),
          fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
          (ap, am, t, p, dv, ma) => {
            const regs: Register[] = [
              { obis: `1.8.${t}`, value: ap },
              { obis: `2.8.${t}`, value: am },
              { obis: '16.7.0', value: p },
              { obis: '52.7.0', value: dv / 10 },
              { obis: '71.7.0', value: ma / 1000 },
            ];
            const v = parseRecords(encodeRegisters(regs)).records.map((r) => decodeValue(r));
            assert.deepEqual(
              v.map((x) => [x.obis, x.value]),
              regs.map((r) => [r.obis, r.value]),
            );
          },
        ),
        { numRuns: 200 },
      );
    });
  });
});
