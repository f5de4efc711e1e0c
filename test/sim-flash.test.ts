import assert from 'node:assert/strict';
import { FlashFault } from '../modules/ports/flash.js';
import { PowerCut, SimFlash } from '../hosts/sim/sim-flash.js';

describe('simulated NOR flash', () => {
  it('starts erased and erases a sector to 0xFF', () => {
    const f = new SimFlash({ sectorSize: 256, sectorCount: 4 });
    assert.ok(f.read(0, 1024).every((b) => b === 0xff));
    f.write(256, new Uint8Array([0x00, 0x12]));
    assert.deepEqual([...f.read(256, 2)], [0x00, 0x12]);
    f.erase(1);
    assert.deepEqual([...f.read(256, 2)], [0xff, 0xff]);
    assert.deepEqual([...f.eraseCounts], [0, 1, 0, 0]);
  });

  it('lets a write clear more bits but refuses to set a 0 bit back to 1', () => {
    const f = new SimFlash({ sectorSize: 256, sectorCount: 1 });
    f.write(10, new Uint8Array([0xf0]));
    f.write(10, new Uint8Array([0x30]));
    assert.equal(f.read(10, 1)[0], 0x30);
    assert.throws(() => f.write(10, new Uint8Array([0x31])), (e: unknown) => e instanceof FlashFault && e.code === 'nor-violation');
    assert.equal(f.read(10, 1)[0], 0x30, 'a refused write changes nothing');
  });

  it('refuses out-of-range calls with a typed fault', () => {
    const f = new SimFlash({ sectorSize: 256, sectorCount: 2 });
    assert.throws(() => f.read(500, 20), FlashFault);
    assert.throws(() => f.write(-1, new Uint8Array(1)), FlashFault);
    assert.throws(() => f.erase(2), FlashFault);
  });

  it('cuts power before, during and after an operation', () => {
    const data = new Uint8Array(64).fill(0x00);
    for (const [phase, expectZeros] of [['before', 0], ['during', 32], ['after', 64]] as const) {
      const f = new SimFlash({ sectorSize: 256, sectorCount: 1 });
      f.write(0, new Uint8Array([0xaa]));
      f.cutPower({ opIndex: 1, phase, progress: 0.5 });
      assert.throws(() => f.write(100, data), PowerCut);
      assert.throws(() => f.read(0, 1), PowerCut, 'a dead device does nothing');
      f.powerOn();
      const got = f.read(100, 64);
      assert.equal(got.filter((b) => b === 0).length, expectZeros, phase);
      if (phase === 'during') assert.equal(got[32], 0x0f, 'the byte in flight is half-programmed');
    }
  });

  it('leaves a sector partly erased when power fails inside an erase', () => {
    const f = new SimFlash({ sectorSize: 256, sectorCount: 1 });
    f.write(0, new Uint8Array(256));
    f.cutPower({ opIndex: 1, phase: 'during', progress: 0.25 });
    assert.throws(() => f.erase(0), PowerCut);
    f.powerOn();
    const got = f.read(0, 256);
    assert.ok(got.subarray(0, 64).every((b) => b === 0xff));
    assert.ok(got.subarray(64).every((b) => b === 0x00));
  });

  it('round-trips its image', () => {
    const f = new SimFlash({ sectorSize: 256, sectorCount: 2 });
    f.write(300, new Uint8Array([1, 2, 3]));
    const g = new SimFlash({ sectorSize: 256, sectorCount: 2, image: f.image() });
    assert.deepEqual(g.read(300, 3), f.read(300, 3));
  });
});
