/**
 * EN 13757-3:2018 value information, table by table: for every code of the primary VIF table
 * (Table 10), the FD and FB extension tables (Tables 12 and 14) and the combinable VIFEs (Tables 15,
 * 16, 18), a record is built here byte by byte (DIF, VIF, VIFE, data) and must decode to what the
 * table row says. The rows below are the standard's, written in its own notation (E000 0nnn,
 * 10^(nnn-3) Wh …) and expanded here; the code under test is only asked to decode. The data types
 * of Annex A are checked on hand-made bytes too.
 */
import assert from 'node:assert/strict';
import { fromHex, toHex } from '../modules/core/bytes.js';
import { parseRecords } from '../modules/wmbus-rx/records.js';
import { decodeValue, type DecodedValue } from '../modules/wmbus-rx/values.js';

/** The codes a pattern like 'E000 0nnn' stands for, with the value of its n (or p) bits. */
function expand(pattern: string): { code: number; n: number }[] {
  const bits = pattern.replace(/^E/, '').replace(/\s/g, '');
  assert.equal(bits.length, 7, pattern);
  const free = [...bits].filter((c) => c === 'n').length;
  const out: { code: number; n: number }[] = [];
  for (let n = 0; n < 2 ** free; n++) {
    let code = 0;
    let k = free - 1;
    for (const c of bits) {
      code = (code << 1) | (c === '1' ? 1 : c === '0' ? 0 : (n >> k--) & 1);
    }
    out.push({ code, n });
  }
  return out;
}

const T = ['s', 'min', 'h', 'd'];
type Row = [pattern: string, quantity: string, unit: string | ((n: number) => string), exponent: ((n: number) => number) | 'duration'];

// Table 10, numeric and duration rows (value 1234 in a 32-bit integer).
const PRIMARY: Row[] = [
  ['E000 0nnn', 'energy', 'Wh', (n) => n - 3],
  ['E000 1nnn', 'energy', 'J', (n) => n],
  ['E001 0nnn', 'volume', 'm3', (n) => n - 6],
  ['E001 1nnn', 'mass', 'kg', (n) => n - 3],
  ['E010 00nn', 'on time', (n) => T[n], 'duration'],
  ['E010 01nn', 'operating time', (n) => T[n], 'duration'],
  ['E010 1nnn', 'power', 'W', (n) => n - 3],
  ['E011 0nnn', 'power', 'J/h', (n) => n],
  ['E011 1nnn', 'volume flow', 'm3/h', (n) => n - 6],
  ['E100 0nnn', 'volume flow', 'm3/min', (n) => n - 7],
  ['E100 1nnn', 'volume flow', 'm3/s', (n) => n - 9],
  ['E101 0nnn', 'mass flow', 'kg/h', (n) => n - 3],
  ['E101 10nn', 'flow temperature', '°C', (n) => n - 3],
  ['E101 11nn', 'return temperature', '°C', (n) => n - 3],
  ['E110 00nn', 'temperature difference', 'K', (n) => n - 3],
  ['E110 01nn', 'external temperature', '°C', (n) => n - 3],
  ['E110 10nn', 'pressure', 'bar', (n) => n - 3],
  ['E110 1110', 'units for H.C.A.', '', () => 0],
  ['E111 00nn', 'averaging duration', (n) => T[n], 'duration'],
  ['E111 01nn', 'actuality duration', (n) => T[n], 'duration'],
];

// Table 12 (after 0xFD), numeric and duration rows.
const FD: Row[] = [
  ['E000 00nn', 'credit', 'currency units', (n) => n - 3],
  ['E000 01nn', 'debit', 'currency units', (n) => n - 3],
  ['E001 1100', 'baud rate', 'Bd', () => 0],
  ['E001 1101', 'response delay time', 'bit times', () => 0],
  ['E001 1110', 'retry', '', () => 0],
  ['E010 0000', 'first storage number for cyclic storage', '', () => 0],
  ['E010 0001', 'last storage number for cyclic storage', '', () => 0],
  ['E010 0010', 'size of storage block', '', () => 0],
  ['E010 01nn', 'storage interval', (n) => T[n], 'duration'],
  ['E010 1000', 'storage interval', 'month', 'duration'],
  ['E010 1001', 'storage interval', 'year', 'duration'],
  ['E010 1011', 'time point second', 's', () => 0],
  ['E010 11nn', 'duration since last readout', (n) => T[n], 'duration'],
  ['E011 00nn', 'duration of tariff', (n) => T[n], 'duration'], // nn = 00 is 'start of tariff', checked below
  ['E011 01nn', 'period of tariff', (n) => T[n], 'duration'],
  ['E011 1000', 'period of tariff', 'month', 'duration'],
  ['E011 1001', 'period of tariff', 'year', 'duration'],
  ['E011 1010', 'dimensionless', '', () => 0],
  ['E011 11nn', 'period of nominal data transmissions', (n) => T[n], 'duration'],
  ['E100 nnnn', 'voltage', 'V', (n) => n - 9],
  ['E101 nnnn', 'current', 'A', (n) => n - 12],
  ['E110 0000', 'reset counter', '', () => 0],
  ['E110 0001', 'cumulation counter', '', () => 0],
  ['E110 0011', 'day of week', '', () => 0],
  ['E110 0100', 'week number', '', () => 0],
  ['E110 10nn', 'duration since last cumulation', (n) => ['h', 'd', 'month', 'year'][n], 'duration'],
  ['E110 11nn', 'operating time battery', (n) => ['h', 'd', 'month', 'year'][n], 'duration'],
  ['E111 0001', 'RF level', 'dBm', () => 0],
  ['E111 0100', 'remaining battery life time', 'd', 'duration'],
  ['E111 0101', 'number of times the meter was stopped', '', () => 0],
];

// Table 14 (after 0xFB), numeric rows; units of 10^3 and 10^6 are written as the base unit with
// the exponent raised (0.1 MWh = 10^5 Wh).
const FB: Row[] = [
  ['E000 000n', 'energy', 'Wh', (n) => n - 1 + 6],
  ['E000 001n', 'reactive energy', 'varh', (n) => n + 3],
  ['E000 010n', 'apparent energy', 'VAh', (n) => n + 3],
  ['E000 100n', 'energy', 'J', (n) => n - 1 + 9],
  ['E000 11nn', 'energy', 'cal', (n) => n - 1 + 6],
  ['E001 000n', 'volume', 'm3', (n) => n + 2],
  ['E001 01nn', 'reactive power', 'var', (n) => n - 3 + 3],
  ['E001 100n', 'mass', 'kg', (n) => n + 2 + 3],
  ['E001 101n', 'relative humidity', '%', (n) => n - 1],
  ['E010 0000', 'volume', 'ft3', () => 0],
  ['E010 0001', 'volume', 'ft3', () => -1],
  ['E010 100n', 'power', 'W', (n) => n - 1 + 6],
  ['E010 11nn', 'frequency', 'Hz', (n) => n - 3],
  ['E011 000n', 'power', 'J/h', (n) => n - 1 + 9],
  ['E011 01nn', 'apparent power', 'VA', (n) => n - 3 + 3],
  ['E101 10nn', 'flow temperature', '°F', (n) => n - 3],
  ['E101 11nn', 'return temperature', '°F', (n) => n - 3],
  ['E110 00nn', 'temperature difference', '°F', (n) => n - 3],
  ['E110 01nn', 'external temperature', '°F', (n) => n - 3],
  ['E111 00nn', 'cold / warm temperature limit', '°F', (n) => n - 3],
  ['E111 01nn', 'cold / warm temperature limit', '°C', (n) => n - 3],
  ['E111 1nnn', 'cumulative count max power', 'W', (n) => n - 3],
];

const hex2 = (b: number): string => b.toString(16).padStart(2, '0');
const one = (hex: string): DecodedValue => {
  const p = parseRecords(fromHex(hex));
  assert.equal(p.unparsed, undefined, hex);
  assert.equal(p.records.length, 1, hex);
  return decodeValue(p.records[0]);
};
const near = (a: number | string | null, b: number, what: string): void => {
  assert.equal(typeof a, 'number', what);
  assert.ok(Math.abs((a as number) - b) <= Math.abs(b) * 1e-12, `${what}: ${a} vs ${b}`);
};

function checkRows(rows: Row[], prefix: string, table: string): void {
  for (const [pattern, quantity, unit, exponent] of rows) {
    it(`${table} ${pattern}: ${quantity}`, () => {
      for (const { code, n } of expand(pattern)) {
        if (table === 'FD' && pattern === 'E011 00nn' && n === 0) continue;
        const v = one('04' + prefix + hex2(code) + 'd2040000'); // 1234, int32
        const u = typeof unit === 'string' ? unit : unit(n);
        assert.deepEqual([v.quantity, v.unit], [quantity, u], `${table} 0x${hex2(code)}`);
        near(v.value, exponent === 'duration' ? 1234 : 1234 * 10 ** exponent(n), `${table} 0x${hex2(code)}`);
      }
    });
  }
}

describe('EN 13757-3:2018 value information tables, record by record', () => {
  describe('numeric and duration VIFs decode to the unit and scale of their table row', () => {
    checkRows(PRIMARY, '', 'primary');
    checkRows(FD, 'fd', 'FD');
    checkRows(FB, 'fb', 'FB');
  });

  describe('the other rows of Tables 10 and 12', () => {
    it('dates and times: 0x6C type G; 0x6D type F, I, J by the data field; FD30 and FD70 date or date and time', () => {
      // Type G 0x2C5F: day 31 | year bits 010 ; month 12 | year bits 0010 → year 18.
      assert.deepEqual([one('026c5f2c').quantity, one('026c5f2c').value], ['date', '2018-12-31']);
      // Type F 32 37 1F 15 (OMS Annex N): 2008-05-31 23:50.
      assert.equal(one('046d32371f15').value, '2008-05-31T23:50');
      // Type I: second 5, minute 57, hour 12 (day of week 3 in bits 5-7), day 20 | year bits 011, month 3 | year bits 0010, week 12.
      assert.equal(one('066d' + '05' + '39' + hex2(12 | (3 << 5)) + hex2(20 | (3 << 5)) + hex2(3 | (2 << 4)) + '0c').value, '2019-03-20T12:57:05');
      // Type J: second 59, minute 48, hour 11.
      assert.deepEqual([one('036d3b300b').quantity, one('036d3b300b').value], ['time', '11:48:59']);
      assert.deepEqual([one('02fd305f2c').quantity, one('02fd305f2c').value], ['start of tariff', '2018-12-31']);
      assert.deepEqual([one('04fd7032371f15').quantity, one('04fd7032371f15').value], ['date and time of battery change', '2008-05-31T23:50']);
      // Type M (LVAR) is kept raw.
      assert.equal(one('0d6d03010203').reason, 'type M date and time, kept raw');
    });
    it('identifiers: BCD as their digits (leading zeros kept), binary as an unsigned integer, LVAR as text right-most character first', () => {
      for (const [vif, name] of [['78', 'fabrication number'], ['79', 'enhanced identification'], ['7a', 'bus address'], ['fd08', 'unique message identification'], ['fd09', 'device type'], ['fd0a', 'manufacturer'], ['fd0b', 'parameter set identification'], ['fd0c', 'model / version'], ['fd0d', 'hardware version'], ['fd0e', 'metrology (firmware) version'], ['fd0f', 'other software version'], ['fd10', 'customer location'], ['fd11', 'customer'], ['fd12', 'access code user'], ['fd13', 'access code operator'], ['fd14', 'access code system operator'], ['fd15', 'access code developer'], ['fd16', 'password'], ['fd19', 'security key'], ['fd23', 'descriptor for tariff and subunit'], ['fd65', 'time point of day change'], ['fd67', 'special supplier information']] as const) {
        assert.deepEqual([one('0c' + vif + '78563412').quantity, one('0c' + vif + '78563412').value], [name, '12345678'], vif);
        assert.equal(one('0b' + vif + '020001').value, '010002', vif);
        assert.equal(one('04' + vif + 'feffffff').value, 0xfffffffe, vif);
        assert.equal(one('0d' + vif + '05' + '342e302e31').value, '1.0.4', vif);
      }
    });
    it('bit fields (type D) as unsigned integers: error flags, error mask, digital output and input, remote control, control signal, state of parameter activation', () => {
      for (const [vif, name] of [['fd17', 'error flags'], ['fd18', 'error mask'], ['fd1a', 'digital output'], ['fd1b', 'digital input'], ['fd1f', 'remote control'], ['fd62', 'control signal'], ['fd66', 'state of parameter activation']] as const) {
        assert.deepEqual([one('02' + vif + 'ffff').quantity, one('02' + vif + 'ffff').value], [name, 0xffff], vif);
      }
    });
    it('containers and types K and L are kept raw, named', () => {
      for (const [vif, name] of [['fd2a', 'operator specific data'], ['fd3b', 'data container for wireless M-Bus protocol'], ['fd76', 'data container for manufacturer specific protocol'], ['fd72', 'daylight saving (beginning, ending, deviation)'], ['fd73', 'listening window management']] as const) {
        const v = one('0d' + vif + '03aabbcc');
        assert.deepEqual([v.quantity, v.value], [name, 'aabbcc'], vif);
        assert.ok(v.reason, vif);
      }
    });
    it('reserved codes are kept raw with their code named: 0x6F, FD77-FD7F, FB06, FB0A, FB12, FB1C-FB1F, FB22-FB27, FB32, FB38-FB57, FB68-FB6F', () => {
      const reserved = ['6f', ...['77', '7f'].map((c) => 'fd' + c), ...['06', '0a', '12', '1c', '1f', '22', '27', '32', '38', '57', '68', '6f'].map((c) => 'fb' + c)];
      for (const vif of reserved) {
        const v = one('04' + vif + '01020304');
        assert.ok(v.quantity.startsWith('reserved VIF'), vif);
        assert.deepEqual([v.value, v.reason], ['01020304', 'reserved code, kept raw'], vif);
      }
    });
    it('plain-text VIF: the unit follows as text (right-most character first), then the data', () => {
      const v = one('027c' + '03' + '6d6b67' + 'e803'); // 'm', 'k', 'g' on the wire: the text is 'gkm'
      assert.deepEqual([v.unit, v.value], ['gkm', 1000]);
    });
    it('manufacturer-specific VIF 0x7F / 0xFF: its VIFEs and data are kept raw', () => {
      const p = parseRecords(fromHex('04ff8001' + '01020304'));
      assert.deepEqual(p.records[0].manufacturerVifes, [0x00, 0x01]);
      assert.deepEqual([decodeValue(p.records[0]).quantity, decodeValue(p.records[0]).value], ['manufacturer specific', '01020304']);
    });
  });

  describe('combinable VIFEs (Tables 15, 16, 18) on volume, 10^-3 m3, value 1234', () => {
    const base = (vifes: string, data = 'd2040000'): DecodedValue => one('04' + '93' + vifes + data);
    it('per second … per A and multiplied by: the unit is divided or multiplied', () => {
      const per = ['s', 'min', 'h', 'd', 'week', 'month', 'year', 'revolution', 'pulse', 'pulse', 'pulse', 'pulse', 'l', 'm3', 'kg', 'K', 'kWh', 'GJ', 'kW', '(K·l)', 'V', 'A'];
      per.forEach((u, i) => assert.equal(base(hex2(0x20 + i)).unit, `m3/${u}`, `VIFE 0x${hex2(0x20 + i)}`));
      assert.deepEqual([0x36, 0x37, 0x38].map((c) => base(hex2(c)).unit), ['m3·s', 'm3·(s/V)', 'm3·(s/A)']);
    });
    it('multiplicative correction factor 10^(nnn-6) and 10^3, additive correction constant 10^(nn-3) in the unit of the VIF', () => {
      for (let nnn = 0; nnn < 8; nnn++) near(base(hex2(0x70 + nnn)).value, 1234 * 10 ** -3 * 10 ** (nnn - 6), `0x${hex2(0x70 + nnn)}`);
      near(base('7d').value, 1234, '0x7D');
      for (let nn = 0; nn < 4; nn++) near(base(hex2(0x78 + nn)).value, 1234 * 10 ** (nn - 3), `0x${hex2(0x78 + nn)}`);
    });
    it('forward / backward flow and the FC extension (phases, neutral, quadrants) qualify the value', () => {
      assert.deepEqual([base('3b').direction, base('3c').direction], ['forward', 'backward']);
      assert.deepEqual([1, 2, 3].map((p) => base('fc' + hex2(p)).phase), [1, 2, 3]);
      assert.deepEqual(
        [4, 5, 6, 7, 8, 9, 10, 11, 12, 0x10, 0x11, 0x12].map((c) => base('fc' + hex2(c)).description),
        ['at neutral (N)', 'between phase L1 and L2', 'between phase L2 and L3', 'between phase L3 and L1', 'at quadrant Q1', 'at quadrant Q2', 'at quadrant Q3', 'at quadrant Q4', 'delta between import and export', 'accumulation of absolute value for both positive and negative contribution', 'data direction: from communication partner to meter', 'data direction: from meter to communication partner'],
      );
    });
    it('limit values, number of exceeds, date (time) of and duration of limit exceed', () => {
      assert.equal(base('40').description, 'lower limit value');
      assert.equal(base('48').description, 'upper limit value');
      assert.deepEqual([base('41').unit, base('41').value, base('49').description], ['', 1234, 'number of exceeds of upper limit value']);
      // E100 uf1b: a date (type G in a 16-bit field, type F in a 32-bit one).
      const d = one('02934f' + '5f2c');
      assert.deepEqual([d.description, d.value], ['date (time) of end of last upper limit exceed', '2018-12-31']);
      assert.equal(one('0493' + '42' + '32371f15').value, '2008-05-31T23:50');
      // E101 ufnn: a duration in s, min, h, d.
      for (let c = 0x50; c <= 0x5f; c++) {
        const v = base(hex2(c));
        assert.deepEqual([v.unit, v.value], [T[c & 3], 1234], `0x${hex2(c)}`);
        assert.ok(v.description?.includes(`${c & 4 ? 'last' : 'first'} ${c & 8 ? 'upper' : 'lower'} limit exceed`));
      }
      for (let c = 0x60; c <= 0x67; c++) assert.deepEqual([base(hex2(c)).unit, base(hex2(c)).value], [T[c & 3], 1234]);
      assert.equal(one('02936a' + '5f2c').value, '2018-12-31');
      assert.equal(one('029339' + '5f2c').value, '2018-12-31');
    });
    it('record error codes: 0x00 "no error" keeps the value; the others make it null and name the error', () => {
      assert.deepEqual([base('00').value, base('00').error], [1.234, undefined]);
      const errors: [number, string][] = [[0x01, 'too many DIFEs'], [0x02, 'storage number not implemented'], [0x03, 'unit number not implemented'], [0x04, 'tariff number not implemented'], [0x05, 'function not implemented'], [0x06, 'data class not implemented'], [0x07, 'data size not implemented'], [0x0b, 'too many VIFEs'], [0x0c, 'illegal VIF group'], [0x0d, 'illegal VIF exponent'], [0x0e, 'VIF/DIF mismatch'], [0x0f, 'unimplemented action'], [0x15, 'no data available (undefined value)'], [0x16, 'data overflow'], [0x17, 'data underflow'], [0x18, 'data error'], [0x1c, 'premature end of record']];
      for (const [c, text] of errors) {
        const v = base(hex2(c));
        assert.deepEqual([v.value, v.error, v.reason], [null, text, `record error: ${text} (data d2040000)`], `0x${hex2(c)}`);
      }
    });
    it('compact profiles (0x13, 0x1E, 0x1F) and manufacturer-specific VIFEs (0x7F …) keep the data raw; reserved VIFEs too', () => {
      for (const c of ['13', '1e', '1f']) assert.equal(one('0d93' + c + '03aabbcc').value, 'aabbcc');
      assert.deepEqual([base('ff01').value, base('ff01').reason], ['d2040000', 'manufacturer-specific VIFE']);
      for (const c of ['10', '11', '44', '45', '4c', '4d']) assert.equal(base(hex2(parseInt(c, 16))).reason, `reserved VIFE 0x${c.toUpperCase()}`);
    });
  });

  describe('data information: function, storage number, tariff and subunit over up to ten DIFEs', () => {
    it('function field: instantaneous, maximum, minimum, value during error state', () => {
      assert.deepEqual(['04', '14', '24', '34'].map((d) => one(d + '13d2040000').function), ['instantaneous', 'maximum', 'minimum', 'error']);
    });
    it('storage number: DIF bit 6 and 4 bits per DIFE; tariff: 2 bits per DIFE; subunit: 1 bit per DIFE (all ten DIFEs)', () => {
      // DIF 0xC4: storage bit 0 = 1. Ten DIFEs 0xFF (storage 1111, tariff 11, subunit 1) with the last 0x7F.
      const v = one('c4' + 'ff'.repeat(9) + '7f' + '13d2040000');
      assert.equal(v.storage, 2 ** 41 - 1);
      assert.equal(v.tariff, 2 ** 20 - 1);
      assert.equal(v.subunit, 2 ** 10 - 1);
      // DIFE 0x5A: storage 1010, tariff 01, subunit 1; DIF bit 6 clear.
      const w = one('84' + '5a' + '13d2040000');
      assert.deepEqual([w.storage, w.tariff, w.subunit], [0b1010 << 1, 1, 1]);
    });
    it('an eleventh DIFE ends a lenient parse too (the rest unparsed, the records before kept): no storage number past 2^53', () => {
      for (const difes of [11, 15, 300]) {
        const parsed = parseRecords(fromHex('0413d2040000' + 'c4' + 'ff'.repeat(difes - 1) + '7f' + '13d2040000'));
        assert.deepEqual(parsed.records.map((r) => r.storage), [0], `${difes} DIFEs`);
        assert.deepEqual([parsed.unparsed?.offset, parsed.unparsed?.reason], [6, 'more than 10 DIFEs at offset 6']);
      }
    });
  });

  describe('data types (EN 13757-3 Annex A) on hand-made bytes', () => {
    it('type A: BCD, a leading F digit negative, all F not available, a hex digit not a number', () => {
      assert.equal(one('0c13' + '78563412').value, 12345.678);
      assert.equal(one('0c13' + '785634f2').value, -2345.678);
      assert.deepEqual([one('0c13ffffffff').value, one('0c13ffffffff').reason], [null, 'not available (BCD all F)']);
      assert.equal(one('0c13' + '7856341a').value, null);
    });
    it('type B: two’s complement 8 to 64 bits; beyond 2^53 as an exact decimal string', () => {
      assert.deepEqual(['0113ff', '0213feff', '0313fdffff', '0413fcffffff', '0613fbffffffffff', '0713faffffffffffffff'].map((h) => one(h).value), [-0.001, -0.002, -0.003, -0.004, -0.005, -0.006]);
      assert.equal(one('0713' + '0000000000002000').value, '9007199254740992');
    });
    it('type H: IEEE 754 single, NaN not a number', () => {
      assert.equal(one('0513' + '0000c03f').value, 0.0015);
      assert.deepEqual([one('0513' + '0000c07f').value, one('0513' + '0000c07f').reason], [null, 'not a number (type H NaN)']);
    });
    it('LVAR: text (right-most character first), positive and negative BCD, binary', () => {
      assert.equal(one('0dfd11' + '03' + '636261').value, 'abc');
      assert.equal(one('0d13' + 'c2' + '3412').value, 1.234);
      assert.equal(one('0d13' + 'd2' + '3412').value, -1.234);
      assert.equal(one('0d13' + 'e2' + 'feff').value, -0.002);
      assert.equal(parseRecords(fromHex('0d13' + 'f0' + '00'.repeat(16))).records[0].data.length, 16);
      assert.equal(parseRecords(fromHex('0d13' + 'f7' + '00')).unparsed?.reason, 'LVAR 0xf7 at offset 0');
    });
    it('type F: the IV bit, FFFFFFFF and periodic markers make the value null with a reason', () => {
      assert.deepEqual([one('046db2371f15').value, one('046db2371f15').reason], [null, 'time invalid (IV bit set; 2008-05-31T23:50)']);
      assert.equal(one('046dffffffff').reason, 'not available (date and time FFFFFFFF)');
      // Year 127: minute 0, hour 0, day 1 | year bits 111, month 7 | year bits 1111.
      assert.equal(one('046d' + '0000' + hex2(1 | (7 << 5)) + hex2(7 | (15 << 4))).reason, 'periodic, every year: --07-01T00:00');
    });
    it('type G: FFFF not available; year 127, month 15, day 0 periodic', () => {
      assert.equal(one('026cffff').reason, 'not available (date FFFF)');
      assert.equal(one('026c' + hex2(1 | (7 << 5)) + hex2(7 | (15 << 4))).reason, 'periodic, every year: --07-01');
      assert.equal(one('026c' + hex2(31 | (2 << 5)) + hex2(15 | (2 << 4))).reason, 'periodic, every month: 2018--31');
    });
  });

  it('the telegram builder takes its VIF bytes from the same tables (a register encodes to the VIF its quantity has in Table 10 / 12)', async () => {
    const { encodeRegister } = await import('../modules/wmbus-tx/registers.js');
    assert.equal(toHex(encodeRegister({ obis: '1.8.0', value: 1 })).slice(2, 4), '03'); // E000 0011: 10^0 Wh
    assert.equal(toHex(encodeRegister({ obis: '16.7.0', value: 1 })).slice(2, 4), '2b'); // E010 1011: 10^0 W
    assert.equal(toHex(encodeRegister({ obis: '32.7.0', value: 1 })).slice(2, 6), 'fdc8'); // FD E100 1000: 10^-1 V
    assert.equal(toHex(encodeRegister({ obis: '31.7.0', value: 1 })).slice(2, 6), 'fdd9'); // FD E101 1001: 10^-3 A
  });
});
