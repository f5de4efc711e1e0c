import assert from 'node:assert/strict';
import { Cc1101, Cc1101Fault } from '../modules/radio/cc1101.js';
import type { WmbusMode } from '../modules/ports/radio.js';
import { buildFrame, MAX_BODY_A, MAX_BODY_B, type FrameFormat } from '../modules/wmbus/frame.js';
import type { DllHeader } from '../modules/wmbus/dll.js';
import { phyDecode } from '../modules/wmbus/phy-decode.js';
import { encodeC1Fifo, encodeT1Fifo, phyEncode } from '../modules/wmbus/phy.js';
import { parseFrame } from '../modules/wmbus/frame-parse.js';
import { Cc1101Sim, type AirCapture } from '../hosts/sim/cc1101-sim.js';
import { runInBoth } from './helpers/xs.js';
import { toHex } from '../modules/core/bytes.js';

// Register addresses and field layouts written out from the datasheet (SWRS061 table 43), not taken
// from the driver's tables, so a wrong constant there cannot agree with itself here.
const FXOSC = 26e6;
const IOCFG2 = 0x00, FIFOTHR = 0x03, SYNC1 = 0x04, SYNC0 = 0x05, PKTLEN = 0x06, FREQ2 = 0x0d, FREQ1 = 0x0e, FREQ0 = 0x0f;
const MDMCFG4 = 0x10, MDMCFG3 = 0x11, MDMCFG2 = 0x12, MDMCFG1 = 0x13, DEVIATN = 0x15;

const header: DllHeader = { control: 0x44, manufacturer: 'XSM', id: '12345678', version: 1, deviceType: 0x02 };

function body(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  b[0] = 0x7a; // CI: short TPL header
  for (let i = 1; i < n; i++) b[i] = (i * 131 + seed * 17 + (i >> 3)) & 0xff;
  return b;
}

function setup(options: ConstructorParameters<typeof Cc1101Sim>[0] = {}, pollUs = 0) {
  const sim = new Cc1101Sim(options);
  const radio = new Cc1101({ spi: sim, gdo2: sim.gdo2, onPoll: pollUs > 0 ? () => sim.advance(pollUs) : undefined });
  return { sim, radio };
}

/**
 * EN 13757-4 preamble check on an air capture: the (01) chip pairs directly before the sync word, in
 * phase with it. T mode: the sync word is 0000111101 (10 chips), at least 19 pairs; C mode: 0x543D54CD
 * or 0x543D543D (32 chips), at least 16 pairs. Returns the pair count (-1: no sync word).
 */
function preamblePairs(bytes: Uint8Array, mode: WmbusMode): number {
  const bits: number[] = [];
  for (const b of bytes) for (let i = 7; i >= 0; i--) bits.push((b >> i) & 1);
  const sync = mode === 'T1' ? '0000111101' : '0101010000111101';
  const at = bits.join('').indexOf(sync);
  if (at < 0) return -1;
  let pairs = 0;
  for (let i = at - 2; i >= 0 && bits[i] === 0 && bits[i + 1] === 1; i -= 2) pairs++;
  return pairs;
}

/** The gateway's view: decode the air capture with the receiver library and check the CRCs. */
function gatewayDecode(capture: AirCapture, mode: WmbusMode) {
  const { frame, format } = phyDecode(capture.bytes, mode);
  return { frame, format, parsed: parseFrame(frame, format) };
}

function isFault(code: string | string[]) {
  const codes = Array.isArray(code) ? code : [code];
  return (e: unknown) => e instanceof Cc1101Fault && codes.includes(e.code);
}

describe('CC1101 driver against the register-level simulator', () => {
  describe('register configuration (datasheet formulas on the registers read back)', () => {
    for (const mode of ['T1', 'C1'] as const) {
      it(`${mode}: 868.95 MHz, 100 kbaud 2-FSK, sync 0x543D, preamble and deviation per EN 13757-4`, () => {
        const { sim, radio } = setup();
        radio.configure(mode);
        const r = (a: number) => sim.register(a);
        const freq = (FXOSC / 65536) * ((r(FREQ2) << 16) | (r(FREQ1) << 8) | r(FREQ0));
        assert.ok(Math.abs(freq - 868.95e6) < 1e3, `carrier ${freq} Hz`);
        const rate = ((256 + r(MDMCFG3)) * 2 ** (r(MDMCFG4) & 15) * FXOSC) / 2 ** 28;
        assert.ok(Math.abs(rate - 100e3) / 100e3 < 0.01, `data rate ${rate} baud`);
        assert.equal((r(MDMCFG2) >> 4) & 7, 0, 'MOD_FORMAT 2-FSK');
        assert.equal(r(MDMCFG2) & 8, 0, 'no Manchester');
        // The chip sends NUM_PREAMBLE bytes of 0xAA, then SYNC1:SYNC0 (twice in SYNC_MODE 3): 2 × 0xAA
        // and 4 × 0x55 here, the 32 chips of (01) the mode's sync word in the FIFO follows.
        assert.equal(r(MDMCFG2) & 7, 3, 'SYNC_MODE 3: the sync register sent twice');
        assert.deepEqual([r(SYNC1), r(SYNC0)], [0x55, 0x55]);
        assert.equal([2, 3, 4, 6, 8, 12, 16, 24][(r(MDMCFG1) >> 4) & 7], 2);
        // GDO2 on the TX FIFO threshold (IOCFG2 0x02), the threshold 61 − 4 · FIFO_THR = 57 bytes.
        assert.equal(r(IOCFG2), 0x02);
        assert.equal(61 - 4 * (r(FIFOTHR) & 15), 57);
        const dev = (FXOSC / 2 ** 17) * (8 + (r(DEVIATN) & 7)) * 2 ** ((r(DEVIATN) >> 4) & 7);
        const nominal = mode === 'T1' ? 50e3 : 45e3;
        assert.ok(Math.abs(dev - nominal) / nominal < 0.05, `deviation ${dev} Hz`);
        assert.equal(sim.radioState, 'IDLE');
        assert.deepEqual(sim.misuse, []);
      });
    }

    it('calibrates after configuring (IDLE → CALIBRATE → IDLE takes simulated time)', () => {
      const { sim, radio } = setup();
      radio.reset();
      const before = sim.nowUs;
      radio.configure('T1');
      assert.ok(sim.nowUs - before >= 721, `configure took ${sim.nowUs - before} µs, calibration alone is 721 µs`);
    });
  });

  describe('driver → chip → air → gateway', () => {
    const cases: Array<{ mode: WmbusMode; format: FrameFormat; max: number }> = [
      { mode: 'T1', format: 'A', max: MAX_BODY_A },
      { mode: 'C1', format: 'A', max: MAX_BODY_A },
      { mode: 'C1', format: 'B', max: MAX_BODY_B },
    ];
    for (const { mode, format, max } of cases) {
      it(`${mode} format ${format}: every body length 1..${max} goes on the air and decodes back to the frame`, () => {
        // The host is busy 50 µs more on every turn of the refill loop (a watchdog feed, an interrupt).
        const { sim, radio } = setup({}, 50);
        let infinite = 0;
        for (let n = 1; n <= max; n++) {
          if (format === 'B' && (n === 117 || n === 118)) continue; // L = 128/129: no valid format B frame
          const frame = buildFrame(header, body(n, n), format);
          const before = sim.transmissions.length;
          radio.transmit(frame, mode);
          assert.equal(sim.transmissions.length, before + 1, 'one packet per frame');
          const capture = sim.transmissions[before];
          assert.equal(capture.outcome, 'complete', `length ${n}`);
          const got = gatewayDecode(capture, mode);
          assert.deepEqual(got.frame, frame, `length ${n}`);
          assert.equal(got.format, format);
          assert.deepEqual(got.parsed.body, body(n, n));
          assert.equal(got.parsed.header.id, header.id);
          // Air time is the captured bytes at the configured rate: nothing was sent twice or dropped.
          const airUs = (capture.bytes.length * 8e6) / capture.dataRateBaud;
          assert.ok(Math.abs(capture.endUs - capture.startUs - airUs) < 1, `air time at length ${n}`);
          // What went on the air is the PHY model, chip for chip; the preamble is EN 13757-4's.
          assert.equal(toHex(capture.bytes), toHex(phyEncode(frame, mode, format)), `length ${n}`);
          assert.ok(preamblePairs(capture.bytes, mode) >= (mode === 'T1' ? 19 : 16), `length ${n}`);
          if (radio.lastTransmit!.infiniteLength) infinite++;
        }
        if (mode === 'T1') assert.ok(infinite > 50, 'long T1 frames exercised the infinite → fixed length switch');
        assert.equal(sim.radioState, 'IDLE');
        assert.deepEqual(sim.misuse, []);
      });
    }

    it('refills on GDO2, 8 bytes at a time, at a 1 MHz SPI clock too', () => {
      const { sim, radio } = setup({ spiHz: 1_000_000 });
      const frame = buildFrame(header, body(MAX_BODY_A, 3), 'A');
      radio.transmit(frame, 'T1');
      const report = radio.lastTransmit!;
      assert.ok(report.fifoBytes > 255 && report.infiniteLength);
      assert.equal(report.refills, Math.ceil((report.fifoBytes - 64) / 8));
      assert.ok(report.pinReads >= report.refills);
      assert.deepEqual(gatewayDecode(sim.transmissions[0], 'T1').frame, frame);
      assert.deepEqual(sim.misuse, []);
    });

    it('never writes PKTLEN 0: a FIFO of 256 bytes sends the sync register once and two more FIFO bytes, same chips on the air', () => {
      const { sim, radio } = setup();
      let found = 0;
      for (const [mode, format, max] of [['T1', 'A', MAX_BODY_A], ['C1', 'A', MAX_BODY_A], ['C1', 'B', MAX_BODY_B]] as const) {
        for (let n = 1; n <= max; n++) {
          if (format === 'B' && (n === 117 || n === 118)) continue;
          const frame = buildFrame(header, body(n, n), format);
          const fifo = mode === 'T1' ? encodeT1Fifo(frame) : encodeC1Fifo(frame, format);
          if (fifo.length % 256 !== 0) continue;
          found++;
          radio.transmit(frame, mode);
          assert.notEqual(sim.register(PKTLEN), 0, `${mode} ${format} L=${frame[0]}`);
          assert.equal(radio.lastTransmit!.fifoBytes, fifo.length + 2);
          const c = sim.transmissions[sim.transmissions.length - 1];
          assert.equal(c.outcome, 'complete');
          assert.equal(toHex(c.bytes), toHex(phyEncode(frame, mode, format)));
          // and the next frame is back to the sync register twice
          radio.transmit(buildFrame(header, body(10, 1), format), mode);
          assert.equal(sim.register(MDMCFG2) & 7, 3);
        }
      }
      assert.ok(found >= 3, `${found} frames with a 256-byte FIFO`);
      assert.deepEqual(sim.misuse, []);
    });

    it('accepts the CC1101 versions RadioLib knows (0x14, 0x04, clone 0x17) and the CC110L 0x07; refuses 0x08 (CC113L, receive only)', () => {
      for (const version of [0x14, 0x04, 0x17, 0x07]) {
        const { sim, radio } = setup({ version });
        radio.transmit(buildFrame(header, body(20, 1), 'A'), 'T1');
        assert.equal(sim.transmissions[0].outcome, 'complete', `0x${version.toString(16)}`);
      }
      const { radio } = setup({ version: 0x08 });
      assert.throws(() => radio.reset(), isFault('not-cc1101'));
    });

    it('records the RF parameters of each packet as the registers set them', () => {
      const { sim, radio } = setup();
      radio.transmit(buildFrame(header, body(20, 1), 'A'), 'T1');
      radio.transmit(buildFrame(header, body(20, 1), 'B'), 'C1');
      const [t1, c1] = sim.transmissions;
      assert.ok(Math.abs(t1.deviationHz - 50e3) < 2.5e3 && Math.abs(c1.deviationHz - 45e3) < 2.25e3);
      assert.equal(t1.modulation, 0);
      assert.equal(radio.mode, 'C1');
    });
  });

  describe('what receivers see on the air', () => {
    /**
     * An independent receiver after rtl-wmbus (rtl_wmbus.c, t1_c1_packet_decoder.h): it correlates the
     * chip stream with the 22-chip access code 0101010101010000111101 — six (01) pairs and the T-mode
     * sync word — allowing one chip error; then T1: 3-of-6 symbols (EN 13757-4 table, written out
     * here), the length from L by the format A rule (rtl-wmbus FULL_TLG_LENGTH_FROM_L_FIELD: a first
     * block of L, C, M, A and 16-byte blocks after it, each with a 2-byte CRC); C1: the next
     * 12 chips are 010101001100 (format A) or 010101000011 (format B) and 4 chips 1101, then NRZ bytes.
     */
    function rtlWmbusDecode(stream: Uint8Array): Uint8Array | undefined {
      const ACCESS = 0b0101010101010000111101;
      const lengthA = (l: number) => 1 + l + 2 * (1 + Math.ceil((l - 9) / 16));
      const nibble = new Map([0x16, 0x0d, 0x0e, 0x0b, 0x1c, 0x19, 0x1a, 0x13, 0x2c, 0x25, 0x26, 0x23, 0x34, 0x31, 0x32, 0x29].map((c, n) => [c, n]));
      const bits: number[] = [];
      for (const b of stream) for (let i = 7; i >= 0; i--) bits.push((b >> i) & 1);
      const take = (at: number, n: number) => bits.slice(at, at + n).reduce((v, b) => (v << 1) | b, 0);
      let reg = 0;
      for (let i = 0; i < bits.length; i++) {
        reg = ((reg << 1) | bits[i]) & 0x3fffff;
        if (i < 21) continue;
        let errors = reg ^ ACCESS;
        let count = 0;
        for (; errors; errors &= errors - 1) count++;
        if (count > 1) continue;
        const at = i + 1;
        const hi = nibble.get(take(at, 6));
        const lo = nibble.get(take(at + 6, 6));
        if (hi !== undefined && lo !== undefined) {
          const l = (hi << 4) | lo;
          const n = lengthA(l);
          const out = new Uint8Array(n);
          for (let k = 0; k < n; k++) {
            const h = nibble.get(take(at + 12 * k, 6));
            const g = nibble.get(take(at + 12 * k + 6, 6));
            if (h === undefined || g === undefined) return undefined;
            out[k] = (h << 4) | g;
          }
          return out;
        }
        const mode = take(at, 12);
        if ((mode === 0b010101001100 || mode === 0b010101000011) && take(at + 12, 4) === 0b1101) {
          const l = take(at + 16, 8);
          const n = mode === 0b010101001100 ? lengthA(l) : 1 + l;
          return Uint8Array.from({ length: n }, (_, k) => take(at + 16 + 8 * k, 8));
        }
      }
      return undefined;
    }

    it('an rtl-wmbus-style correlator decodes every air capture; after the old 4 × 0xAA preamble it finds nothing', () => {
      const { sim, radio } = setup();
      for (const [mode, format, n] of [['T1', 'A', 1], ['T1', 'A', 120], ['T1', 'A', MAX_BODY_A], ['C1', 'A', 50], ['C1', 'B', 200]] as const) {
        const frame = buildFrame(header, body(n, 3), format);
        radio.transmit(frame, mode);
        const capture = sim.transmissions[sim.transmissions.length - 1];
        assert.equal(toHex(rtlWmbusDecode(capture.bytes) ?? new Uint8Array(0)), toHex(frame), `${mode} ${format} ${n}`);
        assert.ok(preamblePairs(capture.bytes, mode) >= (mode === 'T1' ? 19 : 16));
      }
      // The chip's 0xAA preamble directly before 0x543D (the previous configuration): the six chips
      // before 010101 0000111101 are 101010, six errors; a strict EN 13757-4 receiver counts 3 pairs.
      const frame = buildFrame(header, body(40, 2), 'A');
      const old = new Uint8Array([0xaa, 0xaa, 0xaa, 0xaa, ...encodeT1Fifo(frame)]);
      assert.equal(rtlWmbusDecode(old), undefined);
      assert.equal(preamblePairs(old, 'T1'), 3);
      assert.deepEqual(phyDecode(old, 'T1').frame, frame, 'our decoder, which searches for 0x543D alone, still reads it');
    });
  });

  describe('faults', () => {
    it('a driver stalled longer than the FIFO lasts gets the typed underflow fault', () => {
      const sim = new Cc1101Sim();
      let polls = -1; // counting starts once configured
      // 56 queued bytes last 4.5 ms on the air; this host disappears for 8 ms once.
      const radio = new Cc1101({ spi: sim, gdo2: sim.gdo2, onPoll: () => polls >= 0 && ++polls === 3 && sim.advance(8000) });
      radio.configure('T1');
      polls = 0;
      const frame = buildFrame(header, body(120, 2), 'A');
      assert.throws(() => radio.transmit(frame, 'T1'), isFault('tx-underflow'));
      const capture = sim.transmissions[0];
      assert.equal(capture.outcome, 'underflow');
      assert.throws(() => phyDecode(capture.bytes, 'T1'), 'the gateway cannot decode a cut packet');
      // The driver left the chip usable: the next frame goes out whole.
      polls = 100;
      radio.transmit(frame, 'T1');
      assert.equal(sim.transmissions[1].outcome, 'complete');
      assert.deepEqual(gatewayDecode(sim.transmissions[1], 'T1').frame, frame);
    });

    it('a chip whose crystal never starts (CHIP_RDYn high) is a typed fault, not a hang', () => {
      const { sim, radio } = setup({}, 10);
      sim.setFault('no-crystal');
      assert.throws(() => radio.reset(), isFault('chip-not-ready'));
    });

    it('MISO stuck high (0xFF: CHIP_RDYn high) and stuck low (no VERSION) are typed faults', () => {
      const a = setup();
      a.sim.setFault('miso-high');
      assert.throws(() => a.radio.configure('T1'), isFault('chip-not-ready'));
      const b = setup();
      b.sim.setFault('miso-low');
      assert.throws(() => b.radio.configure('T1'), isFault('not-cc1101'));
    });

    it('garbage on MISO, before or in the middle of a transmission, gives a typed fault', () => {
      const codes = ['chip-not-ready', 'bad-status', 'not-cc1101', 'config-mismatch', 'tx-underflow', 'tx-overflow', 'timeout'];
      const a = setup();
      a.sim.setFault('garbage');
      assert.throws(() => a.radio.transmit(buildFrame(header, body(40, 1), 'A'), 'T1'), isFault(codes));
      for (let at = 1; at < 40; at += 3) {
        const sim = new Cc1101Sim();
        let polls = -1; // counting starts once configured
        const radio = new Cc1101({ spi: sim, gdo2: sim.gdo2, maxPolls: 2000, onPoll: () => polls >= 0 && ++polls === at && sim.setFault('garbage') });
        radio.configure('T1');
        polls = 0;
        assert.throws(() => radio.transmit(buildFrame(header, body(200, at), 'A'), 'T1'), isFault(codes), `garbage from poll ${at}`);
      }
    });

    it('GDO2 stuck high (not wired) is a timeout, stuck low an overflow; both leave the chip usable', () => {
      for (const [level, code] of [[1, 'timeout'], [0, 'tx-overflow']] as const) {
        const sim = new Cc1101Sim();
        let stuck = true;
        const gdo2 = { read: () => (stuck ? level : sim.gdo2.read()) };
        const radio = new Cc1101({ spi: sim, gdo2, maxPolls: 5000 });
        const frame = buildFrame(header, body(150, 4), 'A');
        assert.throws(() => radio.transmit(frame, 'T1'), isFault(code));
        stuck = false;
        let sent = false;
        for (let tries = 0; tries < 2 && !sent; tries++) {
          try {
            radio.transmit(frame, 'T1');
            sent = true;
          } catch (e) {
            assert.ok(isFault('tx-underflow')(e), String(e)); // the cut packet's underflow is reported once
          }
        }
        assert.ok(sent);
        assert.deepEqual(gatewayDecode(sim.transmissions[sim.transmissions.length - 1], 'T1').frame, frame);
      }
      assert.throws(() => new Cc1101({ spi: new Cc1101Sim() } as never), isFault('bad-option'));
    });

    it('refuses frames whose length fits no format, and format B in T1', () => {
      const { radio } = setup();
      const frame = buildFrame(header, body(30, 1), 'A');
      assert.throws(() => radio.transmit(frame.subarray(0, frame.length - 1), 'T1'), isFault('frame-length'));
      assert.throws(() => radio.transmit(new Uint8Array(0), 'C1'), isFault('frame-length'));
      assert.throws(() => radio.transmit(buildFrame(header, body(30, 1), 'B'), 'T1'), isFault('frame-format'));
    });

    it('powers down on close and refuses further use', () => {
      const { sim, radio } = setup();
      radio.transmit(buildFrame(header, body(10, 1), 'A'), 'T1');
      radio.close();
      assert.equal(sim.radioState, 'SLEEP');
      assert.throws(() => radio.transmit(buildFrame(header, body(10, 1), 'A'), 'T1'), isFault('closed'));
    });
  });

  describe('the simulator alone, driven with raw SPI as in SWRS061', () => {
    /** One chip-select period; returns the bytes clocked in. */
    const spi = (sim: Cc1101Sim, ...bytes: number[]) => {
      const b = Uint8Array.from(bytes);
      sim.transfer(b);
      sim.flush();
      return [...b];
    };
    // No driver here: a chip-select period costs its 2 µs of bus overhead only.
    const raw = () => new Cc1101Sim({ hostUsPerTransaction: 2, hostUsPerPinRead: 1 });
    const ready = () => {
      const sim = raw();
      sim.advance(200); // crystal start-up after power-on
      return sim;
    };

    it('comes up with the datasheet reset values: PARTNUM 0x00, VERSION 0x14, 800 MHz, 115.051 kBaud, sync 0xD391', () => {
      const sim = raw();
      assert.equal(spi(sim, 0x3d)[0] & 0x80, 0x80, 'CHIP_RDYn high while the crystal starts');
      sim.advance(200);
      assert.equal(spi(sim, 0x3d)[0], 0x0f, 'IDLE, 15+ bytes free in the TX FIFO');
      assert.deepEqual(spi(sim, 0xf0, 0, 0xf1, 0).filter((_, i) => i % 2 === 1), [0x00, 0x14]);
      const regs = spi(sim, 0xc0, ...new Array(0x2f).fill(0)).slice(1);
      const freq = (FXOSC / 65536) * ((regs[FREQ2] << 16) | (regs[FREQ1] << 8) | regs[FREQ0]);
      assert.ok(Math.abs(freq - 800e6) < 1e3, `${freq}`);
      const rate = ((256 + regs[MDMCFG3]) * 2 ** (regs[MDMCFG4] & 15) * FXOSC) / 2 ** 28;
      assert.ok(Math.abs(rate - 115051) < 1, `${rate}`);
      assert.deepEqual([regs[SYNC1], regs[SYNC0]], [0xd3, 0x91]);
    });

    it('variable length: preamble + sync + the length byte and that many bytes, at the configured rate', () => {
      const sim = ready();
      spi(sim, 0x08, 0x01); // PKTCTRL0: variable length, no CRC
      spi(sim, 0x7f, 3, 0xa1, 0xb2, 0xc3, 0xee); // burst into the TX FIFO; 0xee must stay unsent
      spi(sim, 0x35); // STX
      sim.advance(5000);
      const [c] = sim.transmissions;
      assert.equal(c.outcome, 'complete');
      assert.deepEqual([...c.bytes], [0xaa, 0xaa, 0xaa, 0xaa, 0xd3, 0x91, 3, 0xa1, 0xb2, 0xc3]);
      assert.ok(Math.abs(c.endUs - c.startUs - (10 * 8e6) / 115051.025) < 0.01);
      assert.equal(spi(sim, 0xfa, 0)[1], 1, 'TXBYTES: the extra byte is still in the FIFO');
      assert.equal(spi(sim, 0xf5, 0)[1], 0x01, 'MARCSTATE IDLE');
    });

    it('32-bit sync (SYNC_MODE 3) sends the sync word twice; fixed length ends on the byte counter modulo 256', () => {
      const sim = ready();
      spi(sim, 0x12, 0x03); // MDMCFG2: SYNC_MODE 3
      spi(sim, 0x06, 0x02); // PKTLEN 2
      spi(sim, 0x08, 0x00); // fixed length
      spi(sim, 0x7f, 1, 2, 3);
      spi(sim, 0x35);
      sim.advance(3000);
      assert.deepEqual([...sim.transmissions[0].bytes], [0xaa, 0xaa, 0xaa, 0xaa, 0xd3, 0x91, 0xd3, 0x91, 1, 2]);
      assert.equal(sim.transmissions[0].outcome, 'complete');
      // Infinite first, fixed after the counter passed 2: the next match is at 258, so 63 bytes underflow.
      spi(sim, 0x3b); // SFTX (one byte was left)
      spi(sim, 0x08, 0x02);
      spi(sim, 0x7f, 1, 2, 3);
      spi(sim, 0x35);
      // MCSM0 reset value: no autocalibration, so TX starts after ~88 µs of settling; at 115.05 kBaud a
      // byte lasts 69.5 µs: data bytes leave at 88 + 8·69.5 = 644, 713, 783 µs, the 4th would at 852.
      sim.advance(800);
      spi(sim, 0x08, 0x00);
      spi(sim, 0x7f, ...new Array(60).fill(0x5a));
      sim.advance(10_000);
      const c = sim.transmissions[1];
      assert.equal(c.outcome, 'underflow');
      assert.equal(c.bytes.length, 8 + 63);
    });

    it('GDO2 (IOCFG2 0x02) is high at or above the FIFOTHR threshold (61 − 4 · FIFO_THR), GDO0 (0x06) from sync sent to end of packet', () => {
      const sim = ready();
      spi(sim, 0x03, 0x01); // FIFOTHR: FIFO_THR 1 → 57 bytes
      spi(sim, 0x00, 0x02); // IOCFG2
      spi(sim, 0x02, 0x06); // IOCFG0
      spi(sim, 0x7f, ...new Array(56).fill(0x11));
      assert.equal(sim.gdo2.read(), 0, '56 bytes: below');
      spi(sim, 0x3f, 0x11);
      assert.equal(sim.gdo2.read(), 1, '57 bytes: at the threshold');
      spi(sim, 0x00, 0x42); // inverted
      assert.equal(sim.gdo2.read(), 0);
      spi(sim, 0x06, 57); // PKTLEN 57, fixed length
      spi(sim, 0x08, 0x00);
      assert.equal(sim.gdo0.read(), 0);
      spi(sim, 0x35); // STX: ~88 µs settling, 4 preamble and 2 sync bytes at 69.5 µs
      sim.advance(88 + 6 * 69.6 + 10);
      assert.equal(sim.gdo0.read(), 1, 'sync word sent');
      sim.advance(60 * 69.6);
      assert.equal(sim.gdo0.read(), 0, 'end of packet');
      assert.equal(sim.transmissions[0].outcome, 'complete');
    });

    it('fixed length with PKTLEN 0 never ends the packet (SWRS061: PKTLEN must be different from 0)', () => {
      const sim = ready();
      spi(sim, 0x06, 0x00); // PKTLEN 0
      spi(sim, 0x08, 0x00); // fixed
      spi(sim, 0x7f, ...new Array(60).fill(0x22));
      spi(sim, 0x35);
      sim.advance(20_000);
      assert.equal(sim.transmissions[0].outcome, 'underflow');
      assert.deepEqual(sim.misuse, ['fixed packet length with PKTLEN 0']);
    });

    it('infinite length with an empty FIFO underflows: TXBYTES bit 7, MARCSTATE 0x16, status state 7; SFTX clears it', () => {
      const sim = ready();
      spi(sim, 0x08, 0x02);
      spi(sim, 0x7f, 9, 8);
      spi(sim, 0x35);
      sim.advance(3000);
      const [c] = sim.transmissions;
      assert.equal(c.outcome, 'underflow');
      assert.deepEqual([...c.bytes].slice(6), [9, 8]);
      assert.equal(spi(sim, 0xfa, 0)[1], 0x80);
      const [status, marc] = spi(sim, 0xf5, 0);
      assert.equal(marc, 0x16);
      assert.equal((status >> 4) & 7, 7);
      spi(sim, 0x3b); // SFTX
      assert.equal(spi(sim, 0xf5, 0)[1], 0x01);
      assert.equal(spi(sim, 0xfa, 0)[1], 0x00);
    });
  });

  describe('under XS', () => {
    it('driver + simulator give byte-identical air captures under XS and Node', async () => {
      const { xs, node } = await runInBoth('test/xs/cc1101.xs.ts');
      assert.deepEqual(xs.lines, node.lines);
      assert.ok(xs.lines.length >= 6);
      assert.ok(xs.lines.every((l) => !l.startsWith('error')), xs.lines.join('\n'));
      assert.ok(xs.lines.includes('fault tx-underflow'));
      // What XS put on the air decodes at the gateway to the frames the entry built.
      for (const line of xs.lines.filter((l) => /^(T1|C1) /.test(l))) {
        const [mode, format, n, , , hex] = line.split(' ');
        const decoded = phyDecode(Uint8Array.from(Buffer.from(hex, 'hex')), mode as WmbusMode);
        assert.equal(decoded.format, format);
        assert.deepEqual(parseFrame(decoded.frame, decoded.format).body, body(Number(n), Number(n)));
      }
      assert.ok(xs.meter > 0);
    });
  });
});
