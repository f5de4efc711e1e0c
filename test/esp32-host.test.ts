import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { p256 } from '@noble/curves/nist.js';
import { FlashFault } from '../modules/ports/flash.js';
import { buildFrame } from '../modules/wmbus/frame.js';
import { phyDecode } from '../modules/wmbus/phy-decode.js';
import { parseFrame } from '../modules/wmbus/frame-parse.js';
import type { HostPorts, MeterApplication } from '../hosts/esp32/app.js';
import { createDesktopBoard, DesktopIoFault } from '../hosts/esp32/desktop-io.js';
import { createPorts, runApplication } from '../hosts/esp32/host.js';
import { BOARD_PINS } from '../hosts/esp32/pins.js';
import { HostClock } from '../hosts/esp32/ports/clock.js';
import { PartitionFlash, type ModdableFlashPartition } from '../hosts/esp32/ports/flash.js';
import { Ecma419I2cPort } from '../hosts/esp32/ports/i2c.js';
import { KeyStoreFault, PreferenceKeyStore } from '../hosts/esp32/ports/key-store.js';
import { Ecma419SerialPort } from '../hosts/esp32/ports/serial.js';
import { Ecma419SpiPort } from '../hosts/esp32/ports/spi.js';
import { nobleCrypto } from '../hosts/sim/noble-crypto.js';

const run = promisify(execFile);

// ---- manifest completeness: an independent walk over the host's runtime imports ----

interface Manifest {
  modules: Record<string, string>;
  platforms: Record<string, { modules?: Record<string, string> }>;
}

/** Runtime import specifiers of a TypeScript source (type-only imports and re-exports are erased). */
function runtimeImports(source: string): string[] {
  const specs: string[] = [];
  const re = /^\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm;
  for (const m of source.matchAll(re)) {
    if (m[5]) {
      specs.push(m[5]);
      continue;
    }
    if (m[2]) continue; // import type / export type
    const names = /^\{([^}]*)\}$/.exec(m[3].trim());
    if (names && names[1].split(',').every((n) => n.trim() === '' || /^type\s/.test(n.trim()))) continue;
    specs.push(m[4]);
  }
  return specs;
}

/** Manifest specifiers every module reached from `entry` needs ("modules/radio/cc1101", "noble/curves/nist"). */
function requiredSpecifiers(entry: string): Set<string> {
  const need = new Set<string>();
  const queue = [entry];
  const seen = new Set<string>();
  while (queue.length) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    need.add(file.replace(/\.ts$/, ''));
    for (const spec of runtimeImports(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('.')) queue.push(relative('.', join(dirname(file), spec.replace(/\.js$/, '.ts'))).replace(/\\/g, '/'));
      else if (spec.startsWith('@noble/')) need.add(spec.replace(/^@/, '').replace(/\.js$/, ''));
    }
  }
  return need;
}

function missingFromManifest(manifest: Manifest, platform: string, entry: string): string[] {
  const listed = { ...manifest.modules, ...(manifest.platforms[platform]?.modules ?? {}) };
  const missing: string[] = [];
  for (const spec of requiredSpecifiers(entry)) {
    if (listed[spec] !== `./build/esp32/${spec}`) missing.push(spec);
  }
  return missing;
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

const manifest = JSON.parse(readFileSync('manifest.json', 'utf8')) as Manifest;

describe('ESP32 host', () => {
  describe('build', () => {
    it('type-checks against the Moddable/ECMA-419 declarations (tsc -p tsconfig.esp32.json, no Node types)', async () => {
      await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.esp32.json'], { maxBuffer: 1 << 24 }).catch(
        (e: { stdout: string }) => assert.fail(e.stdout),
      );
    });

    it('the manifest lists every module the esp32 entry imports, transitively', () => {
      const need = requiredSpecifiers('hosts/esp32/main.ts');
      assert.ok(need.has('modules/radio/cc1101') && need.has('modules/wmbus/three-of-six') && need.has('noble/curves/nist'));
      assert.deepEqual(missingFromManifest(manifest, 'esp32', 'hosts/esp32/main.ts'), []);
    });

    it('the manifest lists every module the desktop-simulator entry imports (lin and mac)', () => {
      assert.deepEqual(missingFromManifest(manifest, 'lin', 'hosts/esp32/main-desktop.ts'), []);
      assert.deepEqual(missingFromManifest(manifest, 'mac', 'hosts/esp32/main-desktop.ts'), []);
    });

    it('the completeness check catches a dropped module and ignores type-only imports', () => {
      const { ['modules/wmbus/crc16']: _dropped, ...rest } = manifest.modules;
      assert.deepEqual(missingFromManifest({ ...manifest, modules: rest }, 'esp32', 'hosts/esp32/main.ts'), ['modules/wmbus/crc16']);
      assert.deepEqual(runtimeImports(`import type { A } from './a.js';\nimport { type B } from './b.js';\nimport { C, type D } from './c.js';`), ['./c.js']);
    });

    it('the pre-build emits exactly the modules the manifest maps, with Moddable specifiers', async function () {
      this.timeout(60_000);
      const out = mkdtempSync(join(tmpdir(), 'xsmeter-esp32-'));
      try {
        await run(process.execPath, ['hosts/esp32/prebuild.mjs', '--out', out]);
        const produced = filesUnder(out).map((f) => relative(out, f).replace(/\\/g, '/')).sort();
        const mapped = new Set<string>();
        for (const m of [manifest.modules, ...Object.values(manifest.platforms).map((p) => p.modules ?? {})]) {
          for (const path of Object.values(m)) mapped.add(path.replace('./build/esp32/', '') + '.js');
        }
        assert.deepEqual(produced, [...mapped].sort());
        const cc1101 = readFileSync(join(out, 'modules/radio/cc1101.js'), 'utf8');
        assert.match(cc1101, /from "\.\.\/wmbus\/phy-t1"/, 'relative specifiers lose .js');
        assert.doesNotMatch(cc1101, /\.js["']/);
        assert.match(readFileSync(join(out, 'hosts/sim/noble-crypto.js'), 'utf8'), /from "noble\/curves\/nist"/);
        assert.ok(existsSync(join(out, 'noble/curves/nist.js')));
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    });
  });

  describe('pin table', () => {
    const p = BOARD_PINS;
    const gpios = [
      p.spi.clock, p.spi.out, p.spi.in, p.metrology.select, p.metrology.reset, p.radio.select, p.radio.gdo0, p.radio.gdo2,
      p.pulseLed, p.calibrationSwitch, p.service.transmit, p.service.receive,
    ];

    it('uses each ESP32 GPIO once, none of the flash pins 6–11, and no input-only pin (34–39) as an output', () => {
      assert.equal(new Set(gpios).size, gpios.length);
      assert.ok(gpios.every((g) => g >= 0 && g <= 39 && !(g >= 6 && g <= 11)));
      const outputs = [p.spi.clock, p.spi.out, p.metrology.select, p.metrology.reset, p.radio.select, p.pulseLed, p.service.transmit];
      assert.ok(outputs.every((g) => g < 34));
      // The calibration switch relies on the internal pull-up, which GPIO 34–39 do not have.
      assert.ok(p.calibrationSwitch < 34);
    });

    it('is the table the README documents', () => {
      const readme = readFileSync('README.md', 'utf8');
      const section = readme.slice(readme.indexOf('## ESP32 build'));
      const rows = [...section.matchAll(/^\|\s*`([a-zA-Z0-9.]+)`\s*\|[^|]*\|\s*GPIO\s*(\d+)\s*\|/gm)];
      assert.ok(rows.length >= gpios.length, `${rows.length} pin rows in the README`);
      for (const [, path, gpio] of rows) {
        const value = path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], p);
        assert.equal(value, Number(gpio), path);
      }
    });
  });

  describe('wiring on the simulated board', () => {
    const header = { control: 0x44, manufacturer: 'XSM', id: '87654321', version: 2, deviceType: 0x02 };

    it('hands every port to the application and ticks it; telegrams go through the CC1101 to the gateway', () => {
      const { board, io, advanceMs } = createDesktopBoard();
      PreferenceKeyStore.provision(board.preferences, nobleCrypto, {
        meterKey: new Uint8Array(16).fill(0x11),
        benchKey: new Uint8Array(16).fill(0x22),
        devicePrivateKey: new Uint8Array(32).fill(0x33),
      });
      const { ports } = createPorts(io);
      const seen: string[] = [];
      let n = 0;
      const app: MeterApplication = {
        tickMs: 250,
        start(p: HostPorts) {
          seen.push('start');
          assert.equal(p, ports);
        },
        tick() {
          n++;
          const body = Uint8Array.of(0x7a, n, 0, 0, 0, 0x04, 0x03, n, 0, 0, 0);
          ports.radio.transmit(buildFrame(header, body, 'A'), 'T1');
          ports.pulseLed.write((n & 1) as 0 | 1);
          ports.energyFlash.write(n * 4, Uint8Array.of(n, n, n, n));
          ports.service.write(Uint8Array.of(0x30 + n));
          seen.push(`tick ${ports.calibrationSwitch.read()}`);
        },
        stop() {
          seen.push('stop');
        },
      };
      const host = runApplication(app, ports, io);
      advanceMs(1000);
      board.pins.set(BOARD_PINS.calibrationSwitch, 0); // switch closed: pulls the input low
      advanceMs(500);
      host.stop();
      advanceMs(1000);
      assert.deepEqual(seen, ['start', 'tick 0', 'tick 0', 'tick 0', 'tick 0', 'tick 1', 'tick 1', 'stop']);
      assert.equal(board.radio.transmissions.length, 6);
      board.radio.transmissions.forEach((capture, i) => {
        const { frame, format } = phyDecode(capture.bytes, 'T1');
        const parsed = parseFrame(frame, format);
        assert.equal(parsed.header.id, '87654321');
        assert.equal(parsed.body[1], i + 1);
        assert.ok(Math.abs(capture.frequencyHz - 868.95e6) < 1e3);
      });
      assert.equal(board.pins.get(BOARD_PINS.pulseLed), 0);
      assert.deepEqual([...board.flashes.xsenergy.read(24, 4)], [6, 6, 6, 6]);
      assert.deepEqual(board.serialOut, [0x31, 0x32, 0x33, 0x34, 0x35, 0x36]);
      assert.equal(ports.clock.ticks(), 2500);
      assert.equal(ports.keys.devicePublicKey().length, 33);
      assert.throws(() => ports.metrologySpi.transfer(new Uint8Array(2)), (e) => e instanceof DesktopIoFault && e.code === 'no-device');
      // One IO instance per pin: the radio and metrology share the bus, each with its own select; GDO2 is the radio's refill signal.
      assert.deepEqual(board.opened, ['spi select 5', 'spi select 4', 'digital 26', 'digital 27', 'digital 32', 'serial 2']);
    });
  });

  describe('port adapters', () => {
    /** Moddable SPI that, like older SDKs, accepts only ArrayBuffers. */
    class StrictSpi {
      log: number[][] = [];
      private check(b: unknown): Uint8Array {
        if (!(b instanceof ArrayBuffer)) throw new TypeError('SPI: ArrayBuffer expected');
        return new Uint8Array(b);
      }
      transfer(b: ArrayBuffer) {
        const v = this.check(b);
        this.log.push([...v]);
        for (let i = 0; i < v.length; i++) v[i] = v[i] ^ 0xff;
      }
      write(b: ArrayBuffer) {
        this.log.push([...this.check(b)]);
      }
      read(b: ArrayBuffer) {
        this.check(b).fill(0xa5);
      }
      flush() {}
    }

    it('SPI: views into a larger buffer are copied in and the clocked-in bytes copied back', () => {
      const spi = new StrictSpi();
      const port = new Ecma419SpiPort(spi);
      const big = Uint8Array.of(1, 2, 3, 4, 5, 6);
      port.transfer(big.subarray(2, 4));
      assert.deepEqual([...big], [1, 2, 0xfc, 0xfb, 5, 6]);
      port.write(big.subarray(0, 2));
      const r = new Uint8Array(8);
      port.read(r.subarray(4));
      assert.deepEqual([...r], [0, 0, 0, 0, 0xa5, 0xa5, 0xa5, 0xa5]);
      assert.deepEqual(spi.log, [[3, 4], [1, 2]]);
    });

    it('I2C and serial adapters move bytes both ways', () => {
      const written: number[][] = [];
      const i2c = new Ecma419I2cPort({
        write: (b, stop) => void written.push([...new Uint8Array(b), stop ? 1 : 0]),
        read: (n) => Uint8Array.from({ length: n }, (_, i) => i + 10).buffer,
      });
      i2c.write(Uint8Array.of(0x42), false);
      const r = new Uint8Array(3);
      i2c.read(r);
      assert.deepEqual(written, [[0x42, 0]]);
      assert.deepEqual([...r], [10, 11, 12]);
      const queue = [Uint8Array.of(1, 2).buffer];
      const out: number[] = [];
      const serial = new Ecma419SerialPort({ read: () => queue.shift(), write: (b) => void out.push(...new Uint8Array(b)) });
      assert.deepEqual([...serial.read()], [1, 2]);
      assert.deepEqual([...serial.read()], []);
      serial.write(Uint8Array.of(9, 8, 7).subarray(1));
      assert.deepEqual(out, [8, 7]);
    });

    /** Moddable's flash API over memory with NOR rules (programming ANDs), as ESP-IDF partitions behave. */
    class NorPartition implements ModdableFlashPartition {
      readonly mem = new Uint8Array(8 * 4096).fill(0xff);
      readonly blockSize = 4096;
      failNext = false;
      get byteLength() {
        return this.mem.length;
      }
      read(offset: number, n: number) {
        return this.mem.slice(offset, offset + n).buffer;
      }
      write(offset: number, n: number, b: ArrayBuffer) {
        if (!(b instanceof ArrayBuffer)) throw new TypeError('ArrayBuffer expected');
        if (this.failNext) throw new Error('write failed');
        const v = new Uint8Array(b);
        for (let i = 0; i < n; i++) this.mem[offset + i] &= v[i];
      }
      erase(sector: number) {
        this.mem.fill(0xff, sector * 4096, (sector + 1) * 4096);
      }
    }

    it('flash partition: 4096-byte sectors, NOR round trip, typed range and IO faults', () => {
      const part = new NorPartition();
      const flash = new PartitionFlash(part, 'xsenergy');
      assert.equal(flash.sectorSize, 4096);
      assert.equal(flash.sectorCount, 8);
      const data = Uint8Array.of(0xde, 0xad, 0xbe, 0xef, 0x00);
      flash.write(4095, data.subarray(0, 4)); // crosses a sector boundary
      assert.deepEqual([...flash.read(4094, 6)], [0xff, 0xde, 0xad, 0xbe, 0xef, 0xff]);
      flash.erase(0);
      assert.deepEqual([...flash.read(4094, 6)], [0xff, 0xff, 0xad, 0xbe, 0xef, 0xff]);
      const isFault = (code: string) => (e: unknown) => e instanceof FlashFault && e.code === code;
      assert.throws(() => flash.read(8 * 4096 - 2, 3), isFault('range'));
      assert.throws(() => flash.write(-1, data), isFault('range'));
      assert.throws(() => flash.erase(8), isFault('range'));
      assert.throws(() => flash.erase(1.5), isFault('range'));
      part.failNext = true;
      assert.throws(() => flash.write(0, data), (e: unknown) => isFault('io')(e) && (e as FlashFault).details.op === 'write');
    });

    it('clock: the 32-bit tick counter is unwrapped into monotonic milliseconds', () => {
      for (const raws of [
        [4294967290, 4294967295, 3, 100], // unsigned wrap
        [2147483640, 2147483647, -2147483646, -2147483000], // signed int32 wrap
      ]) {
        let i = 0;
        const clock = new HostClock(() => raws[i++], () => 0, () => undefined);
        const t = raws.map(() => clock.ticks());
        const d = t.slice(1).map((v, k) => v - t[k]);
        assert.deepEqual(d, raws[0] > 2 ** 31 ? [5, 4, 97] : [7, 3, 646]);
      }
    });

    it('key store: RFC 6979 A.2.5 P-256/SHA-256 signature (low-S), typed faults for missing or bad keys', () => {
      const prefs = createDesktopBoard().board.preferences;
      const x = Uint8Array.from(Buffer.from('C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721', 'hex'));
      const empty = new PreferenceKeyStore(prefs, nobleCrypto);
      assert.throws(() => empty.meterKey(), (e) => e instanceof KeyStoreFault && e.code === 'missing-key');
      assert.throws(
        () => PreferenceKeyStore.provision(prefs, nobleCrypto, { meterKey: new Uint8Array(15), benchKey: new Uint8Array(16), devicePrivateKey: x }),
        (e) => e instanceof KeyStoreFault && e.code === 'bad-key',
      );
      const keys = { meterKey: new Uint8Array(16).fill(1), benchKey: new Uint8Array(16).fill(2), devicePrivateKey: x };
      PreferenceKeyStore.provision(prefs, nobleCrypto, keys);
      const store = new PreferenceKeyStore(prefs, nobleCrypto);
      // The handles encrypt as the provisioned raw keys do (node:crypto AES-128-ECB).
      const enc = (k: ReturnType<typeof store.meterKey>): string => {
        const out = new Uint8Array(16);
        nobleCrypto.aesEncryptBlock(k, new Uint8Array(16), out);
        return Buffer.from(out).toString('hex');
      };
      const ecbZero = (raw: Uint8Array): string => createCipheriv('aes-128-ecb', raw, null).update(new Uint8Array(16)).toString('hex');
      assert.equal(enc(store.meterKey()), ecbZero(keys.meterKey));
      assert.equal(enc(store.benchKey()), ecbZero(keys.benchKey));
      const digest = createHash('sha256').update('sample').digest();
      const sig = store.signDigest(digest);
      const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
      const r = 0xefd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716n;
      const s = 0xf7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8n;
      const lowS = s > n / 2n ? n - s : s;
      assert.equal(Buffer.from(sig).toString('hex'), r.toString(16).padStart(64, '0') + lowS.toString(16).padStart(64, '0'));
      // RFC 6979 A.2.5 public key Ux (compressed form: parity byte + Ux).
      assert.equal(
        Buffer.from(store.devicePublicKey().subarray(1)).toString('hex'),
        '60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6',
      );
      assert.ok(p256.verify(sig, digest, store.devicePublicKey(), { prehash: false }));
      assert.throws(() => store.signDigest(new Uint8Array(31)), (e) => e instanceof KeyStoreFault && e.code === 'bad-key');
    });
  });
});
