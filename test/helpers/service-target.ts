/**
 * A fake meter behind the service interface for tests: a test double of the ServiceTarget (the meter
 * application, which does not exist yet), with real state — time, calibration bytes, seal, key,
 * pulse test — and a record of every call, so tests see what reached the meter.
 * Used by test/service*.test.ts and test/xs/service.xs.ts (so it stays portable: no Node API).
 */
import { done, ok, refuse, type ServiceTarget, type TargetIdentity, type TargetResult } from '../../modules/service/server.js';
import type { EnergyRegister, Instantaneous, LogPage, UnsealChallenge, UnsealCommand } from '../../modules/service/messages.js';

export const STATE_CHANGING = ['writeCalibration', 'seal', 'unseal', 'setTime', 'installMeterKey', 'pulseTest'] as const;
export type StateChanging = (typeof STATE_CHANGING)[number];

export interface Call {
  method: keyof ServiceTarget;
  args: unknown[];
}

export class FakeMeter implements ServiceTarget {
  calls: Call[] = [];
  sealed = false;
  switchPressed = true;
  timeMs = 1_790_000_000_000;
  calibration: Uint8Array = Uint8Array.from([1, 2, 3, 4]);
  meterKey: Uint8Array = new Uint8Array(16);
  pulse = { on: false, count: 0 };
  log: Uint8Array;
  unsealCounter = 7;
  headHash: Uint8Array = Uint8Array.from({ length: 32 }, (_, i) => i * 7);
  registers: EnergyRegister[] = [
    { obis: '1.8.0', wh: 123_456_789_012 },
    { obis: '1.8.1', wh: 2 ** 53 - 1 },
    { obis: '2.8.0', wh: 0 },
  ];
  instantaneous: Instantaneous = {
    timeMs: 1_790_000_000_123,
    frequencyMilliHz: 49_987,
    phases: [
      { voltageMv: 230_100, currentMa: 10_250, activePowerMw: 2_310_000, reactivePowerMvar: -120_000 },
      { voltageMv: 229_000, currentMa: -5_000, activePowerMw: -1_145_000, reactivePowerMvar: 0 },
      { voltageMv: 231_500, currentMa: 0, activePowerMw: 0, reactivePowerMvar: 5 },
    ],
  };

  constructor(
    readonly meterId = 'XSM12345678',
    logLength = 1300,
  ) {
    this.log = Uint8Array.from({ length: logLength }, (_, i) => (i * 31 + 5) & 0xff);
  }

  stateChangingCalls(): Call[] {
    return this.calls.filter((c) => (STATE_CHANGING as readonly string[]).includes(c.method));
  }

  identify(): TargetIdentity {
    return { meterId: this.meterId, manufacturer: 'XSM', model: 'xsmeter-3ph', firmware: '0.1.0', sealed: this.sealed, timeMs: this.timeMs };
  }
  readRegisters(): TargetResult<EnergyRegister[]> {
    this.calls.push({ method: 'readRegisters', args: [] });
    return ok(this.registers);
  }
  readInstantaneous(): TargetResult<Instantaneous> {
    this.calls.push({ method: 'readInstantaneous', args: [] });
    return ok(this.instantaneous);
  }
  readLogPage(offset: number, length: number): TargetResult<LogPage> {
    this.calls.push({ method: 'readLogPage', args: [offset, length] });
    if (offset > this.log.length) return refuse('out-of-range', `offset ${offset} past the end ${this.log.length}`);
    return ok({ total: this.log.length, offset, bytes: this.log.slice(offset, offset + length) });
  }
  readCalibration(): TargetResult<Uint8Array> {
    this.calls.push({ method: 'readCalibration', args: [] });
    return ok(this.calibration.slice());
  }
  readUnsealChallenge(): TargetResult<UnsealChallenge> {
    this.calls.push({ method: 'readUnsealChallenge', args: [] });
    return ok({ deviceId: this.meterId, counter: this.unsealCounter, headHash: this.headHash });
  }
  writeCalibration(bytes: Uint8Array): TargetResult {
    this.calls.push({ method: 'writeCalibration', args: [bytes] });
    if (this.sealed) return refuse('sealed', 'calibration is sealed');
    if (bytes.length === 0) return refuse('out-of-range', 'empty calibration');
    this.calibration = bytes.slice();
    return done();
  }
  seal(): TargetResult {
    this.calls.push({ method: 'seal', args: [] });
    this.sealed = true;
    return done();
  }
  unseal(command: UnsealCommand): TargetResult {
    this.calls.push({ method: 'unseal', args: [command] });
    if (!this.switchPressed) return refuse('switch-off', 'calibration switch not set');
    if (command.counter !== this.unsealCounter) return refuse('replayed', 'stale unseal challenge');
    this.unsealCounter++;
    this.sealed = false;
    return done();
  }
  setTime(ms: number): TargetResult {
    this.calls.push({ method: 'setTime', args: [ms] });
    if (ms < 1_500_000_000_000) return refuse('out-of-range', 'time before 2017');
    this.timeMs = ms;
    return done();
  }
  installMeterKey(key: Uint8Array): TargetResult {
    this.calls.push({ method: 'installMeterKey', args: [key] });
    if (this.sealed) return refuse('sealed', 'meter key is sealed');
    this.meterKey = key.slice();
    return done();
  }
  pulseTest(on: boolean, count: number): TargetResult {
    this.calls.push({ method: 'pulseTest', args: [on, count] });
    this.pulse = { on, count };
    return done();
  }
}
