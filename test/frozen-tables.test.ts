/**
 * Module-level tables are frozen (modules/core/frozen.ts says why): every top-level constant of the
 * firmware's modules — modules/**, hosts/esp32/** and the hosts/sim modules the desktop variant
 * preloads — evaluated under Node (test/helpers/module-tables.ts) must be frozen all the way down,
 * or be one of the typed arrays, Maps and Sets listed here (they cannot be frozen: the link makes
 * them read-only on the device), each only read. Runs everywhere; with the Moddable SDK,
 * test/moddable-desktop.test.ts checks the same on the real esp32 link (xsl's aliasable objects).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { importGraph } from './helpers/import-walk.js';
import { moduleTables, topLevelConsts } from './helpers/module-tables.js';

/** Module-level typed arrays, Maps and Sets ("file:NAME[.property]") and why nothing writes them. */
const READ_ONLY_TABLES: Record<string, string> = {
  'modules/core/crc32.ts:TABLE': 'CRC-32 lookup, built by makeTable() at load',
  'modules/service/crc16-ccitt.ts:TABLE': 'CRC-16/CCITT lookup, built by makeTable() at load',
  'modules/sml/crc16.ts:TABLE': 'CRC-16/X-25 lookup, built by makeTable() at load',
  'modules/wmbus/crc16.ts:TABLE': 'CRC-16/EN-13757 lookup, built by makeTable() at load',
  'modules/wmbus/three-of-six.ts:DECODE': '3-of-6 symbol → nibble, built at load',
  'modules/wmbus/three-of-six.ts:BYTE_CHIPS': 'byte → 12 chips, built at load',
  'modules/wmbus/phy-t1.ts:ON_AIR_PREAMBLE': 'the CC1101 preamble bytes: copied into PHY streams (set, concat)',
  'modules/radio/cc1101-wmbus.ts:SYNC_REGISTER_COPY': 'copied in front of a 256·k-byte FIFO (set)',
  'modules/service/auth.ts:WRAP_LABEL': 'CMAC input of the key-wrap key derivation',
  'modules/wmbus-rx/receiver.ts:FINGERPRINT_INPUT': 'CMAC input of the replay-state key fingerprint',
  'modules/sealing/calibration-log.ts:EMPTY': 'empty: nothing to write',
  'modules/service/server.ts:NOTHING': 'empty: nothing to write',
  'hosts/esp32/ports/serial.ts:NOTHING': 'empty: nothing to write',
  'hosts/esp32/ports/sml-uart.ts:NOTHING': 'empty: nothing to write',
  'hosts/esp32/desktop-day.ts:GATEWAY': 'the gateway client ID the day-run encodes into its requests',
  'hosts/esp32/desktop-meter.ts:DESKTOP_METER.meterKey': 'demonstration key: provisioning copies it (slice)',
  'hosts/esp32/desktop-meter.ts:DESKTOP_METER.benchKey': 'demonstration key: provisioning copies it (slice)',
  'hosts/esp32/desktop-meter.ts:DESKTOP_METER.devicePrivateKey': 'demonstration key: provisioning copies it (slice; the crypto port copies the scalar)',
  'hosts/sim/chips/sim-ade7953.ts:ENERGY_REGS': 'Set of register addresses, read when the module loads',
  'hosts/sim/chips/sim-ade7953.ts:SIGNED': 'Set of register addresses, read when the module loads',
  'hosts/sim/chips/sim-ade7953.ts:SLOT_OF_LOW': 'register address → storage slot, filled when the module loads',
  'hosts/sim/chips/sim-ade7953.ts:HIGH_SLOTS': 'Map of the same for addresses from 0x400, filled when the module loads',
  'hosts/sim/chips/sim-ade7953.ts:KIND': 'energy/signed flags per address, filled when the module loads',
};

/**
 * Lines of `source` that run when the module loads: its top-level statements (a line at column 0
 * starts one) other than function and class declarations and constants bound to a function. Writes
 * there fill a table before the link freezes it; writes anywhere else would run later.
 */
function loadTimeLines(source: string): Set<number> {
  const lines = source.split('\n');
  const out = new Set<number>();
  let loading = false;
  lines.forEach((line, i) => {
    if (/^[^\s})\]/*]/.test(line)) {
      loading = !/^(export\s+)?(default\s+)?(async\s+)?(function|class|abstract\s+class|interface|type|declare)\b/.test(line) && !/^(export\s+)?const\s+[\w$]+(\s*:[^=]+)?\s*=\s*(async\s+)?(function\b|(\([^)]*\)|[\w$]+)\s*(:\s*[^=]+)?=>)/.test(line);
    }
    if (loading) out.add(i);
  });
  return out;
}

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p.replace(/\\/g, '/'));
  }
  return out;
}

/** modules/**, hosts/esp32/** and whatever else the two firmware entries preload. */
function firmwareFiles(): string[] {
  const files = new Set([...tsFiles('modules'), ...tsFiles('hosts/esp32')]);
  for (const entry of ['hosts/esp32/main.ts', 'hosts/esp32/main-desktop.ts']) {
    for (const m of importGraph(entry).modules) if (!m.endsWith('_json')) files.add(`${m}.ts`);
  }
  return [...files].sort();
}

interface Finding {
  path: string;
  what: string;
}

/** What in `value` is not frozen (objects, arrays, class statics), and the typed arrays, Maps and Sets in it. */
function inspect(value: unknown, path: string, unfrozen: Finding[], readOnly: Finding[], seen = new Set<unknown>()): void {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function') || seen.has(value)) return;
  seen.add(value);
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
    readOnly.push({ path, what: value.constructor.name });
    return;
  }
  if (value instanceof Map || value instanceof Set || value instanceof WeakMap || value instanceof WeakSet) {
    readOnly.push({ path, what: value.constructor.name });
    return;
  }
  // Functions and classes are frozen by the link; objects they hold (static tables) are not.
  if (typeof value !== 'function' && !Object.isFrozen(value)) unfrozen.push({ path, what: Array.isArray(value) ? 'array' : 'object' });
  for (const key of Reflect.ownKeys(value)) {
    if (typeof value === 'function' && (key === 'prototype' || key === 'length' || key === 'name')) continue;
    const d = Object.getOwnPropertyDescriptor(value, key)!;
    if ('value' in d) inspect(d.value, `${path}.${String(key)}`, unfrozen, readOnly, seen);
  }
}

describe('module-level tables are frozen (what the device preloads into flash)', function () {
  this.timeout(60_000);
  const files = firmwareFiles();
  let unfrozen: Finding[];
  let readOnly: Finding[];

  before(async () => {
    const tables = await moduleTables(files);
    unfrozen = [];
    readOnly = [];
    for (const [file, consts] of tables) {
      for (const [name, value] of Object.entries(consts)) inspect(value, `${file}:${name}`, unfrozen, readOnly);
    }
  });

  it('reads the top-level constants of every module (the probe sees them)', () => {
    assert.ok(files.length > 120, `${files.length} files`);
    assert.ok(files.includes('modules/service/messages.ts') && files.includes('hosts/sim/cc1101-sim.ts'));
    assert.ok(topLevelConsts(readFileSync('modules/service/messages.ts', 'utf8')).includes('KIND_BY_TYPE'), 'non-exported constants too');
    assert.ok(readOnly.some((f) => f.path === 'modules/core/crc32.ts:TABLE'));
  });

  it('every module-level object and array is frozen, nested ones too', () => {
    assert.deepEqual(unfrozen.map((f) => `${f.path} (${f.what})`), []);
  });

  it('the module-level typed arrays, Maps and Sets are the listed ones', () => {
    assert.deepEqual(readOnly.map((f) => f.path).sort(), Object.keys(READ_ONLY_TABLES).sort());
  });

  it('no statement writes one of them by name after its module has loaded (a table is filled by the statements that make it)', () => {
    const sources = [...files, ...tsFiles('cli'), ...tsFiles('tools')];
    const texts = new Map(sources.map((f) => [f, readFileSync(f, 'utf8')]));
    const writes: string[] = [];
    for (const entry of Object.keys(READ_ONLY_TABLES)) {
      const [file, path] = entry.split(':');
      const name = path.replace(/\./g, '\\.');
      const write = new RegExp(`\\b${name}\\s*(\\[[^\\]]*\\]\\s*([-+*/%&|^]|<<|>>>?)?=(?!=)|\\.(set|fill|copyWithin|reverse|sort|add|delete|clear)\\s*\\()`);
      // Exported tables could be written by any importer; the others only by their own module.
      const exported = new RegExp(`^export\\s+const\\s+${path.split('.')[0]}\\b`, 'm').test(texts.get(file)!);
      for (const [f, text] of texts) {
        if (f !== file && !exported) continue;
        const loading = f === file ? loadTimeLines(text) : new Set<number>();
        text.split('\n').forEach((line, i) => {
          if (write.test(line) && !loading.has(i)) writes.push(`${f}:${i + 1}: ${line.trim()}`);
        });
      }
    }
    assert.deepEqual(writes, []);
  });
});
