import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { fromHex, toHex } from '../modules/core/bytes.js';
import { MeterError } from '../modules/core/errors.js';
import type { DigitalInput, Level } from '../modules/ports/bus.js';
import { CalibrationLog } from '../modules/sealing/calibration-log.js';
import { LogFullError, SealError } from '../modules/sealing/errors.js';
import { verifyRecords } from '../modules/sealing/log-verify.js';
import { SealGuard, constantsDigest, type CalibrationConstant, type CalibrationConstants } from '../modules/sealing/seal.js';
import { makeUnsealCommand, unsealMessage } from '../modules/sealing/unseal-command.js';
import { PowerCut, SimFlash } from '../hosts/sim/sim-flash.js';
import { KEYS_A, SMALL, TestClock } from './helpers/sealing-fixtures.js';
import { readFileSync } from 'node:fs';
import { cmacOf } from '../modules/ports/crypto.js';
import { cmacNode } from './helpers/node-oms.js';
import { readVectors } from './helpers/vectors.js';
import { nobleCrypto } from '../hosts/sim/noble-crypto.js';

const vectors = readVectors<unknown>('crypto.json') as { aes128cmac: { source: string; key: string; message: string; mac: string }[] };

/** Metrology's side, as the seal sees it: opaque constants by parameter id. */
class Constants implements CalibrationConstants {
  readonly values = new Map<number, Uint8Array>([
    [1, fromHex('00c8')], // e.g. voltage gain
    [2, fromHex('0190')], // current gain
    [3, fromHex('ff38')], // phase offset
  ]);
  applied = 0;
  list(): CalibrationConstant[] {
    return [...this.values].map(([id, value]) => ({ id, value }));
  }
  check(id: number, value: Uint8Array): void {
    if (value.length !== 2) throw new MeterError('bad-calibration', `parameter ${id} takes 2 bytes`);
  }
  apply(id: number, value: Uint8Array): void {
    this.values.set(id, value.slice());
    this.applied++;
  }
}

class Switch implements DigitalInput {
  level: Level = 0;
  read(): Level {
    return this.level;
  }
}

function meter(flash = new SimFlash(SMALL), constants = new Constants()) {
  const sw = new Switch();
  const log = CalibrationLog.open({ crypto: nobleCrypto, flash, keys: KEYS_A, clock: new TestClock(), deviceId: 'XSM-0001' });
  const guard = new SealGuard({ crypto: nobleCrypto, log, constants, calibrationSwitch: sw, keys: KEYS_A });
  return { flash, sw, log, guard, constants };
}

const types = (log: CalibrationLog) => log.entries().map((e) => e.type);
const refused = (what: string) => (e: unknown) => e instanceof SealError && e.code === what;

describe('sealing: unseal command MAC', () => {
  it('is AES-CMAC (RFC 4493 vectors) over the stated challenge', () => {
    // The CMAC primitive the command uses, against RFC 4493 examples 1–4.
    for (const v of vectors.aes128cmac) assert.equal(toHex(cmacOf(nobleCrypto, nobleCrypto.aesKey(fromHex(v.key)), fromHex(v.message))), v.mac, v.source);
    const challenge = { deviceId: 'XSM-0001', counter: 7, headHash: new Uint8Array(32).fill(9) };
    const msg = unsealMessage(challenge);
    assert.equal(toHex(makeUnsealCommand(nobleCrypto, KEYS_A.benchKey(), challenge).mac), toHex(cmacNode(fromHex(KEYS_A.toFile().benchKey), msg)));
    assert.equal(
      toHex(msg),
      Buffer.concat([Buffer.from('xsmeter/unseal/v1'), Buffer.from([8]), Buffer.from('XSM-0001'), Buffer.from([7, 0, 0, 0]), Buffer.alloc(32, 9)]).toString('hex'),
    );
  });
});

describe('sealing: the seal', () => {
  it('lets an unsealed (factory) meter write constants, logging old and new values and who', () => {
    const { guard, log, constants } = meter();
    guard.writeConstant(2, fromHex('0191'), 'bench-7');
    assert.equal(toHex(constants.values.get(2)!), '0191');
    const e = log.entries()[1];
    assert.deepEqual([e.type, e.parameter, toHex(e.oldValue), toHex(e.newValue), e.who], ['calibration-change', 2, '0190', '0191', 'bench-7']);
  });

  it('logs sealing with the SHA-256 digest of the constants (sorted by id)', () => {
    const { guard, log, constants } = meter();
    const digest = guard.seal('bench-7');
    const expected = createHash('sha256');
    for (const id of [1, 2, 3]) expected.update(Buffer.from([id, 0, 2, 0])).update(constants.values.get(id)!);
    assert.equal(toHex(digest), expected.digest('hex'));
    const e = log.entries()[1];
    assert.equal(e.type, 'seal');
    assert.deepEqual(e.newValue, digest);
    assert.equal(guard.status().sealed, true);
  });

  it('refuses and logs writes while sealed; the constants stay untouched', () => {
    const { guard, log, constants, sw } = meter();
    guard.seal('bench-7');
    sw.level = 1; // the switch alone does not open the seal
    assert.throws(() => guard.writeConstant(1, fromHex('0001'), 'intruder'), refused('sealed'));
    assert.equal(toHex(constants.values.get(1)!), '00c8');
    assert.equal(constants.applied, 0);
    const e = log.entries().at(-1)!;
    assert.deepEqual([e.type, e.parameter, toHex(e.oldValue), toHex(e.newValue), e.who], ['auth-failure', 1, '00c8', '0001', 'intruder']);
  });

  it('unseals with the switch set and a valid command, and every attempt is logged', () => {
    const { guard, log, sw } = meter();
    guard.seal('bench-7');
    sw.level = 1;
    guard.unseal(makeUnsealCommand(nobleCrypto, KEYS_A.benchKey(), guard.unsealChallenge()), 'bench-7');
    assert.equal(guard.isSealed, false);
    guard.writeConstant(3, fromHex('ff40'), 'bench-7');
    guard.seal('bench-7');
    assert.deepEqual(types(log), ['log-init', 'seal', 'unseal', 'calibration-change', 'seal']);
  });

  it('the key alone is not enough (switch not set), and the command is spent by the attempt', () => {
    const { guard, log, sw } = meter();
    guard.seal('bench-7');
    const cmd = makeUnsealCommand(nobleCrypto, KEYS_A.benchKey(), guard.unsealChallenge());
    assert.throws(() => guard.unseal(cmd, 'bench-7'), (e: unknown) => refused('unseal-refused')(e) && (e as SealError).details.switchNotSet === true);
    assert.equal(log.entries().at(-1)!.type, 'unseal-attempt');
    sw.level = 1;
    assert.throws(() => guard.unseal(cmd, 'bench-7'), (e: unknown) => refused('unseal-refused')(e) && (e as SealError).details.stale === true);
    assert.equal(guard.isSealed, true);
  });

  it('the switch alone is not enough: forged, wrong-key, wrong-device and replayed commands fail', () => {
    const { guard, log, sw } = meter();
    guard.seal('bench-7');
    sw.level = 1;
    const good = makeUnsealCommand(nobleCrypto, KEYS_A.benchKey(), guard.unsealChallenge());
    const forged = { counter: good.counter, mac: good.mac.map((b, i) => (i === 5 ? b ^ 1 : b)) };
    assert.throws(() => guard.unseal(forged, 'x'), (e: unknown) => refused('unseal-refused')(e) && (e as SealError).details.badMac === true);
    assert.throws(() => guard.unseal({ counter: 0, mac: new Uint8Array(16) }, 'x'), refused('unseal-refused'));
    const c = guard.unsealChallenge();
    assert.throws(() => guard.unseal(makeUnsealCommand(nobleCrypto, nobleCrypto.aesKey(fromHex('00112233445566778899aabbccddeeff')), c), 'x'), refused('unseal-refused'));
    assert.throws(() => guard.unseal(makeUnsealCommand(nobleCrypto, KEYS_A.benchKey(), { ...c, deviceId: 'XSM-0002' }), 'x'), refused('unseal-refused'));
    assert.throws(() => guard.unseal({ ...makeUnsealCommand(nobleCrypto, KEYS_A.benchKey(), c), mac: new Uint8Array(15) }, 'x'), refused('unseal-refused'));
    // A valid command, used once, then replayed after re-sealing.
    const ok = makeUnsealCommand(nobleCrypto, KEYS_A.benchKey(), guard.unsealChallenge());
    guard.unseal(ok, 'bench-7');
    guard.seal('bench-7');
    assert.throws(() => guard.unseal(ok, 'replayer'), (e: unknown) => refused('unseal-refused')(e) && (e as SealError).details.stale === true);
    // A command made for the next counter but on an older head (pre-computed) fails too.
    const ahead = makeUnsealCommand(nobleCrypto, KEYS_A.benchKey(), { ...guard.unsealChallenge(), headHash: new Uint8Array(32) });
    assert.throws(() => guard.unseal(ahead, 'x'), (e: unknown) => (e as SealError).details.badMac === true);
    assert.equal(guard.isSealed, true);
    assert.deepEqual(types(log).slice(1), ['seal', 'auth-failure', 'auth-failure', 'auth-failure', 'auth-failure', 'auth-failure', 'unseal', 'seal', 'auth-failure', 'auth-failure']);
    assert.ok(verifyRecords(nobleCrypto, log.rawRecords(), KEYS_A.devicePublicKey()).ok);
  });

  it('keeps its state across a restart (the state is the log)', () => {
    const a = meter();
    a.guard.seal('bench-7');
    const b = meter(new SimFlash({ ...SMALL, image: a.flash.image() }), a.constants);
    assert.equal(b.guard.isSealed, true);
    assert.throws(() => b.guard.writeConstant(1, fromHex('0000'), 'x'), refused('sealed'));
    b.sw.level = 1;
    b.guard.unseal(makeUnsealCommand(nobleCrypto, KEYS_A.benchKey(), b.guard.unsealChallenge()), 'bench-7');
    const c = meter(new SimFlash({ ...SMALL, image: b.flash.image() }), a.constants);
    assert.equal(c.guard.isSealed, false);
  });

  it('raises tamper at start-up when the active constants differ from the sealed ones, logged once', () => {
    const a = meter();
    a.guard.seal('bench-7');
    assert.equal(a.guard.startupCheck().tamper, false);
    a.constants.values.set(2, fromHex('0999')); // changed behind the seal's back
    const image = a.flash.image();
    const b = meter(new SimFlash({ ...SMALL, image }), a.constants);
    const s = b.guard.startupCheck();
    assert.equal(s.tamper, true);
    assert.match(s.tamperReason!, /differ from the sealed/);
    const t = b.log.entries().at(-1)!;
    assert.equal(t.type, 'tamper');
    assert.deepEqual(t.newValue, constantsDigest(nobleCrypto, a.constants.list()));
    const c = meter(new SimFlash({ ...SMALL, image: b.flash.image() }), a.constants);
    assert.equal(c.guard.startupCheck().tamper, true);
    assert.equal(c.log.entries().filter((e) => e.type === 'tamper').length, 1, 'not logged again at the next start-up');
    // An authorised unseal and a new seal clear it.
    c.sw.level = 1;
    c.guard.unseal(makeUnsealCommand(nobleCrypto, KEYS_A.benchKey(), c.guard.unsealChallenge()), 'bench-7');
    c.guard.seal('bench-7');
    assert.equal(c.guard.startupCheck().tamper, false);
  });

  it('raises tamper when the stored log does not verify', () => {
    const a = meter();
    a.guard.seal('bench-7');
    const image = a.flash.image();
    // Clear a bit inside the seal record on flash (what an attacker can do without an erase): its
    // frame CRC fails, so the record reads as lost and the chain of the record after it breaks.
    const b0 = meter(new SimFlash({ ...SMALL, image }), a.constants);
    b0.log.append({ type: 'firmware-update', newValue: fromHex('010200'), who: 'ota' });
    const img = b0.flash.image();
    const sealRaw = b0.log.rawRecords()[1];
    const at = Buffer.from(img).indexOf(Buffer.from(sealRaw));
    img[at + sealRaw.length - 70] &= 0xfe; // inside the seal digest
    const b = meter(new SimFlash({ ...SMALL, image: img }), a.constants);
    const s = b.guard.startupCheck();
    assert.equal(s.tamper, true);
    assert.match(s.tamperReason!, /calibration log fault/);
    assert.equal(b.log.fault?.code, 'counter');
    assert.equal(s.sealed, true, 'fail safe: a log that does not verify counts as sealed');
    assert.throws(() => b.guard.writeConstant(1, fromHex('0000'), 'x'), refused('sealed'));
  });

  it('counts as sealed when the seal record itself was removed from flash', () => {
    const a = meter();
    a.guard.writeConstant(1, fromHex('00c9'), 'bench-7');
    a.guard.seal('bench-7');
    a.log.append({ type: 'firmware-update', newValue: fromHex('010200'), who: 'ota' });
    const img = a.flash.image();
    const sealRaw = a.log.rawRecords()[2];
    const at = Buffer.from(img).indexOf(Buffer.from(sealRaw));
    img.fill(0, at, at + 20); // zeroing bytes needs no erase
    const b = meter(new SimFlash({ ...SMALL, image: img }), a.constants);
    assert.deepEqual(b.log.entries().map((e) => e.type), ['log-init', 'calibration-change', 'firmware-update']);
    assert.equal(b.guard.startupCheck().tamper, true);
    assert.equal(b.guard.isSealed, true);
  });

  it('refuses a calibration change when the log is full, and changes nothing', () => {
    const { guard, log, constants } = meter(new SimFlash({ sectorSize: 512, sectorCount: 2 }));
    let n = 0;
    assert.throws(() => {
      for (;;) {
        guard.writeConstant(1, new Uint8Array([0, n++ & 0xff]), 'bench-7');
      }
    }, (e: unknown) => e instanceof LogFullError && e.code === 'log-full');
    const lastLogged = log.entries().at(-1)!;
    assert.deepEqual(constants.values.get(1), lastLogged.newValue, 'the refused value was not applied');
    assert.throws(() => guard.seal('bench-7'), LogFullError);
    assert.equal(guard.isSealed, false);
  });

  it('rejects bad parameters before logging anything', () => {
    const { guard, log } = meter();
    assert.throws(() => guard.writeConstant(0, fromHex('0000'), 'x'), refused('bad-parameter'));
    assert.throws(() => guard.writeConstant(1, new Uint8Array(129), 'x'), refused('bad-parameter'));
    assert.throws(() => guard.writeConstant(1, fromHex('00'), 'x'), (e: unknown) => e instanceof MeterError && e.code === 'bad-calibration');
    assert.equal(log.counter, 0);
  });
});

describe('sealing: the seal across power cuts', () => {
  const script = (guard: SealGuard, sw: Switch) => {
    guard.writeConstant(1, fromHex('00c9'), 'bench-7');
    guard.writeConstant(2, fromHex('0191'), 'bench-7');
    guard.seal('bench-7');
    try {
      guard.writeConstant(3, fromHex('0000'), 'intruder');
    } catch (e) {
      if (!(e instanceof SealError)) throw e;
    }
    sw.level = 1;
    guard.unseal(makeUnsealCommand(nobleCrypto, KEYS_A.benchKey(), guard.unsealChallenge()), 'bench-7');
    guard.writeConstant(3, fromHex('ff40'), 'bench-7');
    guard.seal('bench-7');
  };

  it('after a cut at any flash call: state is what the log says, no unlogged change, no false tamper', function () {
    const base = meter();
    script(base.guard, base.sw);
    const total = base.flash.opCount;
    let cuts = 0;
    let reapplied = 0;
    for (let op = 0; op < total; op++) {
      for (const phase of ['before', 'during', 'after'] as const) {
        const flash = new SimFlash(SMALL);
        const constants = new Constants();
        flash.cutPower({ opIndex: op, phase });
        try {
          const m = meter(flash, constants);
          script(m.guard, m.sw);
          assert.fail(`cut ${phase}@${op} did not happen`);
        } catch (e) {
          if (!(e instanceof PowerCut)) throw e;
        }
        flash.powerOn();
        const m = meter(flash, constants);
        const label = `cut ${phase}@${op}`;
        const status = m.guard.startupCheck();
        assert.equal(status.tamper, false, `${label}: ${status.tamperReason}`);
        if (status.reapplied) reapplied++;
        assert.ok(verifyRecords(nobleCrypto, m.log.rawRecords(), KEYS_A.devicePublicKey()).ok, label);
        const entries = m.log.entries();
        const lastState = entries.filter((e) => e.type === 'seal' || e.type === 'unseal').at(-1)?.type;
        assert.equal(status.sealed, lastState === 'seal', `${label}: sealed iff the last seal/unseal record is a seal`);
        for (const [id, value] of constants.values) {
          const lastChange = entries.filter((e) => e.type === 'calibration-change' && e.parameter === id).at(-1);
          assert.equal(toHex(value), lastChange ? toHex(lastChange.newValue) : toHex(new Constants().values.get(id)!), `${label}: parameter ${id} is what the log says`);
        }
        cuts++;
      }
    }
    assert.ok(reapplied >= 3, 'cuts between logging and applying a change were exercised');
    this.test!.title += ` (${cuts} cut points; ${reapplied} finished a logged change at start-up)`;
  });
});
