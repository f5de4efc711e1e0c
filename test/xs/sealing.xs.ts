// Portable entry: the sealing module end to end (log store on the simulated flash, signed log, seal,
// export, verifier, a small power-cut sweep), printing every record and verdict so XS and Node can be
// compared byte for byte.
import { fromHex, toHex } from '../../modules/core/bytes.js';
import { MeterError } from '../../modules/core/errors.js';
import type { Clock } from '../../modules/ports/clock.js';
import type { Level } from '../../modules/ports/bus.js';
import { CalibrationLog } from '../../modules/sealing/calibration-log.js';
import { exportFromBinary, exportToBinary, exportToJson, exportFromJson, verifyExport } from '../../modules/sealing/log-export.js';
import { verifyRecords } from '../../modules/sealing/log-verify.js';
import { SealGuard } from '../../modules/sealing/seal.js';
import { makeUnsealCommand } from '../../modules/sealing/unseal-command.js';
import { PowerCut, SimFlash, type CutPhase } from '../../hosts/sim/sim-flash.js';
import { SimKeyStore } from '../../hosts/sim/sim-key-store.js';
import { nobleCrypto } from '../../hosts/sim/noble-crypto.js';

export const keys = new SimKeyStore({
  meterKey: fromHex('000102030405060708090a0b0c0d0e0f'),
  benchKey: fromHex('2b7e151628aed2a6abf7158809cf4f3c'),
  signingKey: fromHex('c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721'),
});

export function fixedClock(): Clock {
  let t = 1768469400000; // 2026-01-15T09:30:00Z
  return { ticks: () => t, now: () => (t += 1000) };
}

const verdict = (f: () => { ok: boolean; fault?: { record: number; code: string } }): string => {
  try {
    const r = f();
    return r.ok ? 'ok' : `${r.fault!.code}@${r.fault!.record}`;
  } catch (e) {
    if (e instanceof MeterError) return e.code;
    throw e;
  }
};

export function main(out: (line: string) => void): void {
  const flash = new SimFlash({ sectorSize: 512, sectorCount: 6 });
  const log = CalibrationLog.open({ crypto: nobleCrypto, flash, keys, clock: fixedClock(), deviceId: 'XSM-0001' });
  const values = new Map<number, Uint8Array>([[1, fromHex('00c8')], [2, fromHex('0190')]]);
  let level: Level = 0;
  const guard = new SealGuard({ crypto: nobleCrypto,
    log,
    keys,
    calibrationSwitch: { read: () => level },
    constants: { list: () => [...values].map(([id, value]) => ({ id, value })), apply: (id, v) => void values.set(id, v) },
  });
  guard.writeConstant(1, fromHex('00c9'), 'bench-7');
  out(`seal ${toHex(guard.seal('bench-7'))}`);
  for (const attempt of ['write', 'switch-only', 'key-only', 'both']) {
    try {
      if (attempt === 'write') guard.writeConstant(2, fromHex('0000'), 'intruder');
      else {
        level = attempt === 'key-only' ? 0 : 1;
        const cmd = makeUnsealCommand(nobleCrypto, attempt === 'switch-only' ? nobleCrypto.aesKey(new Uint8Array(16)) : keys.benchKey(), guard.unsealChallenge());
        guard.unseal(cmd, 'bench-7');
      }
      out(`${attempt} accepted`);
    } catch (e) {
      if (!(e instanceof MeterError)) throw e;
      out(`${attempt} refused ${e.code}`);
    }
  }
  out(`sealed ${guard.isSealed}`);
  for (const e of log.entries()) out(`record ${e.counter} ${e.type} ${toHex(e.raw)}`);

  const exp = log.export();
  const bin = exportToBinary(exp);
  const pub = keys.devicePublicKey();
  out(`export ${bin.length} ${verdict(() => verifyExport(nobleCrypto, exportFromBinary(bin), pub))} json ${verdict(() => verifyExport(nobleCrypto, exportFromJson(exportToJson(exp)), pub))}`);
  const faults: string[] = [];
  for (let i = 0; i < bin.length; i += 23) {
    const bad = bin.slice();
    bad[i] ^= 0x10;
    faults.push(verdict(() => verifyExport(nobleCrypto, exportFromBinary(bad), pub)));
  }
  out(`tampered ${faults.join(' ')}`);

  // A small power-cut sweep: three appends cut at each flash call in each phase.
  const lines: string[] = [];
  for (let op = 0; op < 8; op++) {
    for (const phase of ['before', 'during', 'after'] as CutPhase[]) {
      const f = new SimFlash({ sectorSize: 512, sectorCount: 3 });
      const l = CalibrationLog.open({ crypto: nobleCrypto, flash: f, keys, clock: fixedClock(), deviceId: 'XSM-0001' });
      f.cutPower({ opIndex: f.opCount + op, phase });
      let done = 0;
      try {
        for (; done < 3; done++) l.append({ type: 'key-change', parameter: done, who: 'sweep' });
      } catch (e) {
        if (!(e instanceof PowerCut)) throw e;
      }
      f.powerOn();
      const again = CalibrationLog.open({ crypto: nobleCrypto, flash: f, keys, clock: fixedClock(), deviceId: 'XSM-0001' });
      again.append({ type: 'tamper', who: 'after' });
      const v = verifyRecords(nobleCrypto, again.rawRecords(), pub);
      lines.push(`${op}${phase[0]}:${done}/${again.counter}/${v.ok ? 'ok' : v.fault!.code}`);
    }
  }
  out(`sweep ${lines.join(' ')}`);
}
