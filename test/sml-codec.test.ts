import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fromHex, toHex } from '../modules/core/bytes.js';
import { MeterError } from '../modules/core/errors.js';
import { crc16Sml } from '../modules/sml/crc16.js';
import { SmlError, SmlEscapeError, SmlStructureError, SmlTlError, SmlTruncatedError } from '../modules/sml/errors.js';
import type { SmlBody, SmlListEntry, SmlMessage, SmlTime } from '../modules/sml/messages.js';
import { obisBytes, obisText } from '../modules/sml/obis.js';
import { SmlReader } from '../modules/sml/reader.js';
import { scaledDecimal } from '../modules/sml/scaled.js';
import type { SmlDecodeEvent } from '../modules/sml/stream-decoder.js';
import { encodeSmlFile } from '../modules/sml/transport.js';
import { unitOfRegister, unitSymbol } from '../modules/sml/units.js';
import { SmlWriter } from '../modules/sml/writer.js';
import { readVectors } from './helpers/vectors.js';
import { crcX25, decodeAll, handFramedCloseRes, join, patchMessage, payloadOf, plain, reframe } from './helpers/sml.js';

interface SmlVectors {
  crc: { input: string; check: string };
  transport: { payload: string; file: string }[];
  files: {
    name: string;
    hex: string;
    payload?: string;
    messages: string[];
    serverId: string;
    values: { obis: string; hex?: string; raw?: string; unit?: number; scaler?: number; status?: number; valTime?: number }[];
  }[];
}
const V = readVectors<SmlVectors>('sml.json');

function files(events: readonly SmlDecodeEvent[]): SmlMessage[][] {
  return events.filter((e) => e.kind === 'file').map((e) => (e.kind === 'file' ? e.file.messages : []));
}
function errors(events: readonly SmlDecodeEvent[]): SmlError[] {
  return events.flatMap((e) => (e.kind === 'error' ? [e.error] : []));
}
function tl(write: (w: SmlWriter) => void): string {
  const w = new SmlWriter(512);
  write(w);
  return toHex(w.buf.subarray(0, w.pos));
}

const SERVER = fromHex('0a0158534d0000bc614e');
function pushMessages(values: SmlListEntry[], n = 1): SmlMessage[] {
  const tx = (k: number) => Uint8Array.of(0, 0, 0, n, k);
  return [
    { transactionId: tx(1), body: { kind: 'open-res', reqFileId: Uint8Array.of(0, 0, 0, n), serverId: SERVER } },
    { transactionId: tx(2), body: { kind: 'get-list-res', serverId: SERVER, listName: fromHex('0100620affff'), actSensorTime: { kind: 'secIndex', seconds: 1000 + n }, valList: values } },
    { transactionId: tx(3), body: { kind: 'close-res' } },
  ];
}
const energy = (obis: string, wh: number): SmlListEntry => ({ objName: obisBytes(obis), unit: 30, scaler: 0, value: wh });

describe('SML codec (modules/sml)', () => {
  describe('CRC-16 and transport framing', () => {
    it('is CRC-16/X-25 (the catalogue check value), in the byte order libsml writes', () => {
      const check = parseInt(V.crc.check, 16);
      assert.equal(crc16Sml(new TextEncoder().encode(V.crc.input)), ((check & 0xff) << 8) | (check >>> 8));
    });

    it('frames payloads exactly as sml-rs expects: start, fill bytes, end, fill count, CRC', () => {
      for (const t of V.transport) assert.equal(toHex(reframe(fromHex(t.payload))), t.file.replace(/\s/g, ''));
    });

    it('re-frames the payload of every real meter file byte for byte (fill bytes and CRC included)', () => {
      for (const f of V.files) {
        const file = fromHex(f.hex);
        const { payload, fill } = payloadOf(file);
        if (f.payload) assert.equal(toHex(payload.subarray(0, payload.length - fill)), f.payload.toLowerCase());
        assert.equal(toHex(reframe(payload.subarray(0, payload.length - fill))), toHex(file), f.name);
      }
    });

    it('escapes a 4-byte-aligned 1b1b1b1b of the payload by doubling it, and only an aligned one', () => {
      const aligned = fromHex('123456781b1b1b1b');
      const framed = reframe(aligned);
      assert.equal(toHex(framed.subarray(0, framed.length - 2)), '1b1b1b1b01010101' + '12345678' + '1b1b1b1b1b1b1b1b' + '1b1b1b1b1a00');
      assert.equal(toHex(framed.subarray(-2)), crc16Sml(framed, 0, framed.length - 2).toString(16).padStart(4, '0'));
      const unaligned = fromHex('121b1b1b1b');
      assert.equal(toHex(reframe(unaligned)).slice(16, 32), '121b1b1b1b000000');
      // A value of eight 1b bytes always covers one aligned block: it survives the round trip.
      const msgs = pushMessages([{ objName: obisBytes('0-0:96.1.0*255'), value: new Uint8Array(8).fill(0x1b) }]);
      const file = encodeSmlFile(msgs);
      assert.ok(toHex(file).includes('1b'.repeat(8)));
      const { events } = decodeAll(file);
      assert.deepEqual(files(events).map((f) => f.map(plain)), [msgs.map(plain)]);
    });
  });

  describe('type-length fields', () => {
    it('writes the TL forms of SML 1.04 as real meters send them', () => {
      assert.equal(tl((w) => w.octets(new TextEncoder().encode('EMH'))), '04454d48');
      assert.equal(tl((w) => w.octets(new Uint8Array(14))), '0f' + '00'.repeat(14)); // 15 bytes: the largest one-byte TL
      assert.equal(tl((w) => w.octets(new Uint8Array(15))), '8101' + '00'.repeat(15)); // 17 with two TL bytes
      assert.equal(tl((w) => w.octets(new Uint8Array(48))).slice(0, 4), '8302'); // the EMH value signature
      assert.equal(tl((w) => w.octets(new Uint8Array(300))).slice(0, 6), '81820f'); // 303 = 0x12f, three TL bytes
      assert.equal(tl((w) => w.list(7)), '77');
      assert.equal(tl((w) => w.list(0)), '70');
      assert.equal(tl((w) => w.list(16)), 'f100');
      assert.equal(tl((w) => w.unsigned(0x0701)), '630701');
      assert.equal(tl((w) => w.unsigned(0x0101, 4)), '6500000101'); // the EasyMeter's message tag
      assert.equal(tl((w) => w.unsigned(30)), '621e');
      assert.equal(tl((w) => w.integer(-1)), '52ff');
      assert.equal(tl((w) => w.integer(-250)), '53ff06');
      assert.equal(tl((w) => w.integer(5635)), '531603');
      assert.equal(tl((w) => w.integer(153385557)), '5509247a55');
      assert.equal(tl((w) => w.integer(86038387975)), '590000001408499d07');
      assert.equal(tl((w) => w.integer(-(2 ** 53) + 1)), '59ffe0000000000001');
      assert.equal(tl((w) => w.unsigned(BigInt('18446744073709551615'))), '69ffffffffffffffff');
      assert.equal(tl((w) => w.integer(-(BigInt(2) ** BigInt(63)))), '598000000000000000');
      assert.equal(tl((w) => w.boolean(true)), '42ff');
      assert.equal(tl((w) => w.omitted()), '01');
    });

    it('refuses values SML cannot carry with a typed range error', () => {
      for (const f of [(w: SmlWriter) => w.unsigned(-1), (w: SmlWriter) => w.integer(0.5), (w: SmlWriter) => w.integer(2 ** 60), (w: SmlWriter) => w.unsigned(BigInt(2) ** BigInt(64)), (w: SmlWriter) => w.unsigned(300, 1)]) {
        assert.throws(() => f(new SmlWriter(16)), (e: unknown) => e instanceof SmlError && e.code === 'range');
      }
      assert.throws(() => new SmlWriter(4).octets(new Uint8Array(8)), (e: unknown) => e instanceof SmlError && e.code === 'too-long');
    });

    it('reads what it writes, values of odd widths real meters use, and rejects impossible fields', () => {
      const r = (hex: string) => new SmlReader(fromHex(hex), 0, fromHex(hex).length);
      assert.equal(r('560009247a55').value('v'), BigInt(153385557)); // five-byte Integer (EMH)
      assert.equal(r('64000182').unsigned('status'), BigInt(386)); // three-byte Unsigned (EMH status)
      assert.equal(r('56ff00000000').value('v'), BigInt(-4294967296));
      assert.equal(r('4200').value('v'), false);
      assert.deepEqual([...(r('8302' + '11'.repeat(48)).value('v') as Uint8Array)], new Array(48).fill(0x11));
      const bad: [string, string][] = [
        ['10', 'tl'], // reserved type 001
        ['2301', 'tl'],
        ['00', 'tl'], // endOfSmlMsg where a field belongs
        ['0504', 'tl'], // 4 bytes promised, 1 there
        ['5a' + '00'.repeat(9), 'tl'], // a 9-byte integer
        ['4300', 'tl'], // a two-byte boolean
        ['8f', 'tl'], // TL that never ends
        ['81f1', 'tl'], // continuation byte with type bits
        ['7100', 'structure'], // a list where a value belongs
      ];
      for (const [hex, code] of bad) {
        assert.throws(() => r(hex).value('v'), (e: unknown) => e instanceof (code === 'tl' ? SmlTlError : SmlStructureError) && e.code === code, hex);
      }
      // Fields of a narrow type (SML 1.04: scaler Integer8, offsets Integer16, unit Unsigned8, times
      // Unsigned32) take any width a meter writes, but not a value beyond the type: an 8-byte scaler
      // of 2^40 once made a decimal of 2^40 zeros (a crash), a 4-byte one of 2^27 a 134 MB line.
      assert.equal(r('5280').smallInteger('scaler', 8), -128);
      assert.equal(r('53007f').smallInteger('scaler', 8), 127); // a non-minimal width, in range
      assert.equal(r('62ff').small('unit', 0xff), 255);
      assert.equal(r('65ffffffff').small('timestamp'), 0xffffffff);
      for (const [hex, read] of [
        ['590000010000000000', (x: SmlReader) => x.smallInteger('scaler', 8)], // 2^40
        ['5508000000', (x: SmlReader) => x.smallInteger('scaler', 8)], // 2^27
        ['530080', (x: SmlReader) => x.smallInteger('scaler', 8)], // 128
        ['53ff7f', (x: SmlReader) => x.smallInteger('scaler', 8)], // -129
        ['54008000', (x: SmlReader) => x.smallInteger('localOffset', 16)], // 32768
        ['630100', (x: SmlReader) => x.small('unit', 0xff)], // 256
        ['69' + '1000000000000001', (x: SmlReader) => x.small('unit', 0xff)],
        ['69' + '8000000000000001', (x: SmlReader) => x.small('timestamp')], // 2^63 + 1
      ] as [string, (x: SmlReader) => number][]) {
        assert.throws(() => read(r(hex)), (e: unknown) => e instanceof SmlStructureError && e.code === 'structure' && /beyond/.test(e.message), hex);
      }
      assert.throws(() => r('620a').octets('serverId'), (e: unknown) => e instanceof SmlStructureError);
      assert.throws(() => r('72620101').list('m', 3), (e: unknown) => e instanceof SmlStructureError);
    });

    it('names OBIS codes and DLMS units as smartmeter-obis does', async () => {
      assert.deepEqual([...obisBytes('1.8.0')], [1, 0, 1, 8, 0, 255]);
      assert.deepEqual([...obisBytes('129-129:199.130.3*255')], [0x81, 0x81, 0xc7, 0x82, 3, 0xff]);
      assert.equal(obisText(obisBytes('0-0:96.1.0')), '0-0:96.1.0*255');
      for (const bad of ['1.8', '256.8.0', '1-0:1.8.0*256', 'x']) assert.throws(() => obisBytes(bad), (e: unknown) => e instanceof SmlError && e.code === 'obis');
      const { createRequire } = await import('node:module');
      const units = createRequire(import.meta.url)('smartmeter-obis/lib/protocols/SmlUnits.js') as { resolveUnit(c: number): string | undefined };
      for (let code = 1; code <= 64; code++) {
        const theirs = units.resolveUnit(code);
        if (theirs === undefined || code === 6 || code === 51) continue; // 'min.' and 'S, mho': spelling only
        assert.equal(unitSymbol(code), theirs, `unit ${code}`);
      }
      assert.deepEqual(
        ['1.8.0', '2.8.1', '16.7.0', '21.7.0', '32.7.0', '71.7.0', '14.7.0', '3.8.0', '96.1.0'].map((o) => unitOfRegister(obisBytes(o)[2], obisBytes(o)[3])),
        [30, 30, 27, 27, 35, 33, 44, 32, undefined],
      );
    });

    it('writes exact decimals of scaled values', () => {
      assert.equal(scaledDecimal(BigInt(147967771), -1), '14796777.1');
      assert.equal(scaledDecimal(BigInt(86038387975), -4), '8603838.7975');
      assert.equal(scaledDecimal(BigInt(134), 1), '1340');
      assert.equal(scaledDecimal(BigInt(-5), -3), '-0.005');
      assert.equal(scaledDecimal(BigInt(120), -1), '12');
      assert.equal(scaledDecimal(BigInt(0), 2), '0');
    });
  });

  describe('real meter files', () => {
    for (const f of V.files) {
      it(`reads ${f.name} as its source expects`, () => {
        const { events } = decodeAll(fromHex(f.hex));
        assert.deepEqual(errors(events), []);
        const [messages] = files(events);
        assert.deepEqual(messages.map((m) => m.body.kind), f.messages);
        const list = messages.find((m) => m.body.kind === 'get-list-res')!.body as Extract<SmlBody, { kind: 'get-list-res' }>;
        assert.equal(toHex(list.serverId), f.serverId);
        assert.deepEqual(
          list.valList.map((e) => ({
            obis: obisText(e.objName),
            ...(e.value instanceof Uint8Array ? { hex: toHex(e.value) } : { raw: String(e.value) }),
            ...(e.status !== undefined ? { status: Number(e.status) } : {}),
            ...(e.unit !== undefined ? { unit: e.unit } : {}),
            ...(e.scaler !== undefined ? { scaler: e.scaler } : {}),
            ...(e.valTime !== undefined ? { valTime: e.valTime.seconds } : {}),
          })),
          f.values.map((v) => ({ ...v })),
        );
      });
    }

    it('gives the quantities vzlogger and smartmeter-obis expect for their EMH files', () => {
      const quantity = (hex: string, obis: string) => {
        const list = files(decodeAll(fromHex(hex)).events)[0][1].body as Extract<SmlBody, { kind: 'get-list-res' }>;
        const e = list.valList.find((x) => obisText(x.objName) === obis)!;
        return (scale = 0) => Number(scaledDecimal(e.value as bigint, (e.scaler ?? 0) + scale));
      };
      assert.equal(quantity(V.files[0].hex, '1-0:1.8.1*255')(), 14796777.1);
      assert.equal(quantity(V.files[0].hex, '1-0:1.8.2*255')(), 2012.4);
      assert.equal(quantity(V.files[0].hex, '1-0:1.7.0*255')(), 11.2);
      assert.equal(quantity(V.files[1].hex, '1-0:1.8.1*255')(-3), 15338.5557); // kWh
    });
  });

  describe('messages', () => {
    it('round-trips every message this module speaks, requests and responses', () => {
      const times: SmlTime[] = [{ kind: 'secIndex', seconds: 4294967295 }, { kind: 'timestamp', seconds: 1767225600 }, { kind: 'localTimestamp', seconds: 1767225600, localOffset: 60, seasonOffset: -60 }];
      const msgs: SmlMessage[] = [
        { transactionId: fromHex('01'), groupNo: 2, abortOnError: 0xff, body: { kind: 'open-req', codepage: fromHex('00'), clientId: fromHex('aabbcc'), reqFileId: fromHex('0102'), serverId: SERVER, username: fromHex('75'), password: fromHex('70'), smlVersion: 1 } },
        { transactionId: fromHex('02'), body: { kind: 'open-res', clientId: fromHex('aabbcc'), reqFileId: fromHex('0102'), serverId: SERVER, refTime: times[1], smlVersion: 1 } },
        { transactionId: fromHex('03'), body: { kind: 'get-list-req', clientId: fromHex('aabbcc'), serverId: SERVER, listName: fromHex('0100620affff') } },
        {
          transactionId: fromHex('04'),
          body: {
            kind: 'get-list-res',
            clientId: fromHex('aabbcc'),
            serverId: SERVER,
            actSensorTime: times[0],
            valList: [
              { ...energy('1.8.0', 123456), status: 0x182, valTime: times[2] },
              { objName: obisBytes('16.7.0'), unit: 27, scaler: -1, value: BigInt(-2500) },
              { objName: obisBytes('0-0:96.1.0'), value: new TextEncoder().encode('XSM0012345678') },
              { objName: obisBytes('0-0:96.5.0'), value: true, valueSignature: new Uint8Array(48).fill(7) },
            ],
            listSignature: new Uint8Array(20),
            actGatewayTime: times[1],
          },
        },
        { transactionId: fromHex('05'), body: { kind: 'close-req', globalSignature: fromHex('5151') } },
        { transactionId: fromHex('06'), body: { kind: 'close-res' } },
      ];
      const { events } = decodeAll(encodeSmlFile(msgs));
      assert.deepEqual(files(events).map((f) => f.map(plain)), [msgs.map(plain)]);
    });

    it('keeps bodies it does not interpret by tag, and refuses to encode them', () => {
      const base = encodeSmlFile([{ transactionId: fromHex('01'), body: { kind: 'close-res' } }]);
      // SML_Attention.Res (0xff01): attention number 8181c7c7fe03, no message, no details.
      const payload = patchMessage(fromHex('76 0201 6200 6200 72 63ff01 74 0b 0a0158534d0000bc614e 07 8181c7c7fe03 01 01 630000 00'.replace(/ /g, '')), () => {});
      const { events } = decodeAll(join(reframe(payload), base));
      assert.deepEqual(files(events).map((f) => f.map((m) => m.body)), [[{ kind: 'other', tag: 0xff01 }], [{ kind: 'close-res' }]]);
      assert.throws(() => encodeSmlFile([{ transactionId: fromHex('01'), body: { kind: 'other', tag: 0xff01 } }]), (e: unknown) => e instanceof SmlError && e.code === 'range');
    });
  });

  describe('stream decoder', () => {
    const a = encodeSmlFile(pushMessages([energy('1.8.0', 1000), energy('2.8.0', 20)], 1));
    const b = encodeSmlFile(pushMessages([energy('1.8.0', 1001), energy('2.8.0', 20)], 2));
    const both = [pushMessages([energy('1.8.0', 1000), energy('2.8.0', 20)], 1).map(plain), pushMessages([energy('1.8.0', 1001), energy('2.8.0', 20)], 2).map(plain)];

    it('gives the same files however the stream is cut into chunks', () => {
      const stream = join(a, b);
      for (let cut = 0; cut <= stream.length; cut++) {
        const d = decodeAll(new Uint8Array(), 1).decoder;
        const ev = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut)), ...d.end()];
        assert.deepEqual(files(ev).map((f) => f.map(plain)), both, `cut at ${cut}`);
      }
      assert.deepEqual(files(decodeAll(stream, 1).events).map((f) => f.map(plain)), both);
    });

    it('skips garbage before, between and after files, and counts it', () => {
      const junk = fromHex('00ff1b1b1b01011b1b1b1b1b0101');
      const { events, decoder } = decodeAll(join(junk, a, junk, fromHex('1b1b1b1b1b1b1b'), b, junk), 3);
      assert.deepEqual(errors(events), []);
      assert.deepEqual(files(events).map((f) => f.map(plain)), both);
      assert.equal(decoder.skipped, junk.length * 3 + 7);
      assert.equal(decoder.files, 2);
    });

    it('reports a bad file CRC, a bad message CRC and a bad fill count, and reads on', () => {
      const crc = a.slice();
      crc[crc.length - 1] ^= 0x01;
      const { payload, fill } = payloadOf(a);
      const body = payload.slice();
      body[30] ^= 0x40; // inside the first message: its CRC no longer matches, the file CRC does
      const fillBad = a.slice(0, a.length - 2);
      fillBad[fillBad.length - 1] = 4; // more fill bytes than a block can need
      const refilled = reframe(payload.subarray(0, payload.length - fill));
      assert.deepEqual(refilled, a);
      const fillFile = join(fillBad, Uint8Array.of(crc16Sml(fillBad) >>> 8, crc16Sml(fillBad) & 0xff));
      const { events } = decodeAll(join(crc, b, reframe(body.subarray(0, body.length - fill)), b, fillFile, b));
      const errs = errors(events);
      assert.deepEqual(errs.map((e) => [e.constructor.name, e.code]), [['SmlCrcError', 'crc'], ['SmlCrcError', 'message-crc'], ['SmlEscapeError', 'escape']]);
      assert.ok(errs.every((e) => e instanceof MeterError && e instanceof SmlError));
      assert.equal(errs[1].details.message, 1);
      assert.equal(files(events).length, 3);
    });

    it('reads 1b1b1b1b 01010101 off the 4-byte grid inside an octet string as payload, as libsml does (files framed by hand)', () => {
      assert.equal(crcX25(new TextEncoder().encode('123456789')), 0x906e, 'the CRC-16/X-25 catalogue check value');
      const start = fromHex('1b1b1b1b01010101');
      for (const before of [0, 1, 2]) {
        // The signature starts at stream offset 21: its start sequence at 21 + before, off the grid by 1, 2, 3.
        const signature = join(new Uint8Array(before).fill(0xaa), start, fromHex('55'));
        const file = handFramedCloseRes(signature);
        assert.notEqual((toHex(file).indexOf('1b1b1b1b01010101', 16) / 2 - 8) % 4, 0);
        const close = { transactionId: [1], groupNo: 0, abortOnError: 0, body: { kind: 'close-res', globalSignature: [...signature] } };
        for (const chunk of [1, 3, file.length]) {
          const { events } = decodeAll(join(file, b, file), chunk);
          assert.deepEqual(errors(events), [], `${before} bytes before it, chunks of ${chunk}`);
          assert.deepEqual(files(events).map((f) => f.map(plain)), [[close], both[1], [close]]);
        }
        // The same file with a wrong CRC ends there: what began inside it was its payload, b is read.
        const bad = file.slice();
        bad[bad.length - 1] ^= 0x80;
        const { events } = decodeAll(join(bad, b));
        assert.deepEqual(errors(events).map((e) => e.code), ['crc']);
        assert.deepEqual(files(events).map((f) => f.map(plain)), [both[1]]);
      }
    });

    it('a line that lost bytes: the next files, off the grid, are read; the cut file is reported once', () => {
      const small = encodeSmlFile([{ transactionId: fromHex('01'), body: { kind: 'close-res' } }]);
      const cut = encodeSmlFile([{ transactionId: fromHex('01'), body: { kind: 'close-res', globalSignature: new Uint8Array(60).fill(7) } }]).subarray(0, 41);
      const closeRes = [{ transactionId: [1], groupNo: 0, abortOnError: 0, body: { kind: 'close-res' } }];
      // The next file ends intact first: the cut one is truncated. Or the cut one outgrows the limit
      // first: the file begun inside it is read on.
      for (const [max, code] of [[4096, 'truncated'], [64, 'too-long']] as const) {
        const { events } = decodeAll(join(cut, small, small), 1, max);
        assert.deepEqual(errors(events).map((e) => [e.code, e.details.offset]), [[code, 0]]);
        assert.deepEqual(
          events.flatMap((e) => (e.kind === 'file' ? [[e.file.offset, e.file.messages.map(plain)]] : [])),
          [[41, closeRes], [41 + small.length, closeRes]],
        );
      }
    });

    it('reports unknown escape sequences and resynchronises on the next start', () => {
      const v2 = fromHex('1b1b1b1b0202020212345678'); // transport version 2 is not this decoder's
      const esc = join(a.subarray(0, 16), fromHex('1b1b1b1b7f000000'), a.subarray(16));
      const { events } = decodeAll(join(esc, b, v2, a));
      assert.deepEqual(errors(events).map((e) => [e.constructor.name, e.code]), [['SmlEscapeError', 'escape']]);
      assert.equal(files(events).length, 2);
      assert.ok(errors(events)[0] instanceof SmlEscapeError);
    });

    it('reports truncation: at the end of the stream, and when a start sequence comes on or off the 4-byte grid', () => {
      const cutAligned = a.subarray(0, 40);
      const cutOdd = a.subarray(0, 41);
      const { events } = decodeAll(join(cutAligned, b, cutOdd, b, a.subarray(0, 60)));
      assert.deepEqual(errors(events).map((e) => [e.constructor.name, e.code]), [['SmlTruncatedError', 'truncated'], ['SmlTruncatedError', 'truncated'], ['SmlTruncatedError', 'truncated']]);
      assert.deepEqual(files(events).map((f) => f.map(plain)), [both[1], both[1]]);
      assert.ok(errors(events).every((e) => e instanceof SmlTruncatedError));
    });

    it('reports TL and structure errors inside a file whose CRCs are right', () => {
      const one = payloadOf(encodeSmlFile([{ transactionId: fromHex('01'), body: { kind: 'close-res' } }]));
      const msg = one.payload.subarray(0, one.payload.length - one.fill);
      assert.equal(toHex(msg), '7602016200620072630201710163' + toHex(msg.subarray(14, 16)) + '00');
      const tlBad = patchMessage(msg, (p) => (p[5] = 0x12)); // abortOnError with a reserved type
      const structBad = patchMessage(msg, (p) => (p[7] = 0x73)); // the body list claims 3 elements
      const { events } = decodeAll(join(reframe(tlBad), reframe(structBad), b));
      assert.deepEqual(errors(events).map((e) => [e.constructor.name, e.code]), [['SmlTlError', 'tl'], ['SmlStructureError', 'structure']]);
      assert.equal(files(events).length, 1);
    });

    it('gives up a file longer than its limit and reads the next one', () => {
      const small = encodeSmlFile([{ transactionId: fromHex('01'), body: { kind: 'close-res' } }]);
      const { events } = decodeAll(join(a, small), a.length, 64);
      assert.deepEqual(errors(events).map((e) => e.code), ['too-long']);
      assert.equal(files(events).length, 1);
    });
  });

  describe('fuzz', function () {
    this.timeout(60_000);
    const bytes = (max: number) => fc.uint8Array({ maxLength: max });
    // An empty OPTIONAL octet string is indistinguishable from an absent one (both are 0x01).
    const optBytes = (max: number) => fc.option(fc.uint8Array({ minLength: 1, maxLength: max }), { nil: undefined });
    const some = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
    const time: fc.Arbitrary<SmlTime> = fc.oneof(
      fc.record({ kind: fc.constant('secIndex' as const), seconds: fc.integer({ min: 0, max: 0xffffffff }) }),
      fc.record({ kind: fc.constant('timestamp' as const), seconds: fc.integer({ min: 0, max: 0xffffffff }) }),
      fc.record({ kind: fc.constant('localTimestamp' as const), seconds: fc.integer({ min: 0, max: 0xffffffff }), localOffset: fc.integer({ min: -720, max: 720 }), seasonOffset: fc.integer({ min: -60, max: 60 }) }),
    );
    // A start sequence at any place in an octet string: off the transport's grid it is payload.
    const startInside = fc.tuple(bytes(7), bytes(7)).map(([x, y]) => join(x, fromHex('1b1b1b1b01010101'), y));
    const entryArb: fc.Arbitrary<SmlListEntry> = fc
      .record({
        objName: fc.uint8Array({ minLength: 6, maxLength: 6 }),
        status: some(fc.oneof(fc.integer({ min: 0, max: 2 ** 32 }), fc.bigInt({ min: BigInt(0), max: BigInt(2) ** BigInt(64) - BigInt(1) }))),
        valTime: some(time),
        unit: some(fc.integer({ min: 0, max: 255 })),
        scaler: some(fc.integer({ min: -128, max: 127 })),
        value: fc.oneof(fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }), fc.bigInt({ min: -(BigInt(2) ** BigInt(63)), max: BigInt(2) ** BigInt(63) - BigInt(1) }), fc.boolean(), bytes(40), fc.constant(new Uint8Array(12).fill(0x1b)), startInside),
        valueSignature: optBytes(300),
      })
      .map((e) => Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined)) as unknown as SmlListEntry);
    const msgArb: fc.Arbitrary<SmlMessage> = fc.record({
      transactionId: bytes(20),
      groupNo: fc.integer({ min: 0, max: 255 }),
      abortOnError: fc.integer({ min: 0, max: 255 }),
      body: fc.oneof(
        fc.record({ kind: fc.constant('open-res' as const), clientId: optBytes(10), reqFileId: bytes(10), serverId: bytes(12), refTime: some(time), smlVersion: some(fc.integer({ min: 0, max: 255 })) }),
        fc.record({ kind: fc.constant('get-list-res' as const), serverId: bytes(12), listName: optBytes(6), actSensorTime: some(time), valList: fc.array(entryArb, { maxLength: 20 }) }),
        fc.record({ kind: fc.constant('get-list-req' as const), clientId: bytes(10), serverId: optBytes(12), listName: optBytes(6) }),
        fc.record({ kind: fc.constant('close-res' as const), globalSignature: optBytes(20) }),
      ),
    }) as fc.Arbitrary<SmlMessage>;
    const fileArb = fc.array(msgArb, { minLength: 1, maxLength: 4 });

    it('any messages survive encode → decode, whatever the chunking', () => {
      fc.assert(
        fc.property(fc.array(fileArb, { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 64 }), (filesIn, chunk) => {
          const stream = join(...filesIn.map((m) => encodeSmlFile(m, 16384)));
          const { events } = decodeAll(stream, chunk, 65536);
          assert.deepEqual(errors(events), []);
          assert.deepEqual(files(events).map((f) => f.map(plain)), filesIn.map((f) => f.map(plain)));
        }),
        { numRuns: 150 },
      );
    });

    it('random bytes never throw anything but typed events, and a good stream after them is read', () => {
      const good = encodeSmlFile(pushMessages([energy('1.8.0', 5)], 9));
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 600 }), fc.integer({ min: 1, max: 50 }), (junk, chunk) => {
          const { events } = decodeAll(join(junk, good, good), chunk);
          for (const e of events) if (e.kind === 'error') assert.ok(e.error instanceof SmlError, String(e.error));
          assert.ok(files(events).length >= 1);
          assert.deepEqual(plain(files(events).at(-1)![2]), plain(pushMessages([], 9)[2]));
        }),
        { numRuns: 400 },
      );
    });

    it('a bit flip anywhere costs at most the file it hit; every other file is read unchanged', () => {
      const msgs = [1, 2, 3].map((n) => pushMessages([energy('1.8.0', 1000 * n), energy('2.8.0', n), { objName: obisBytes('16.7.0'), unit: 27, scaler: 0, value: -n }], n));
      const encoded = msgs.map((m) => encodeSmlFile(m));
      const stream = join(...encoded);
      fc.assert(
        fc.property(fc.integer({ min: 0, max: stream.length * 8 - 1 }), fc.integer({ min: 1, max: 40 }), (bit, chunk) => {
          const s = stream.slice();
          s[bit >>> 3] ^= 1 << (bit & 7);
          let hit = 0;
          for (let off = encoded[0].length; bit >>> 3 >= off; off += encoded[++hit].length);
          const { events, decoder } = decodeAll(s, chunk);
          const expected = msgs.filter((_, i) => i !== hit).map((m) => m.map(plain));
          assert.deepEqual(files(events).map((f) => f.map(plain)), expected);
          assert.ok(errors(events).every((e) => e instanceof SmlError));
          assert.ok(errors(events).length >= 1 || decoder.skipped > 0, 'the lost file is reported or its bytes counted as skipped');
        }),
        { numRuns: 600 },
      );
    });
  });
});
