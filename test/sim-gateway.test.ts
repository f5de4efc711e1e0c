/**
 * The simulated gateway as a fleet uses it: a bounded key-handle cache serving more meters than it
 * holds (what the runner gives a fleet whose meters send at most once an epoch), and each meter's
 * row kept up to date in place. The truth is what each meter put in its telegrams (SentTelegram).
 */
import assert from 'node:assert/strict';
import { fromHex } from '../modules/core/bytes.js';
import { Receiver } from '../modules/wmbus-rx/receiver.js';
import type { AesKey, Crypto } from '../modules/ports/crypto.js';
import { SimGateway, type MeterReading } from '../hosts/sim/gateway.js';
import { nobleCrypto } from '../hosts/sim/noble-crypto.js';
import { SimMeter, type AirFrame } from '../hosts/sim/sim-meter.js';

const HOUR = 3_600_000;

/** What a meter put in a telegram, as the gateway's reading names it. */
function sentReading(f: AirFrame): MeterReading {
  const v = (obis: string) => f.sent.registers.find((r) => r.obis === obis)?.value;
  return { importWh: v('1.8.0') as number, exportWh: v('2.8.0') as number, powerW: v('16.7.0') as number };
}

describe('sim gateway: a fleet of meters', () => {
  const meters = [1, 2, 3, 4, 5].map((seed) => new SimMeter({ seed: 300 + seed, load: seed % 2 ? 'household' : 'solar', chip: seed % 2 ? 'ade7953' : 'atm90e32' }));
  for (const m of meters) m.advance(HOUR);
  // The fleet's telegrams in time order: every meter's come in turn, as at a gateway.
  const air = meters.flatMap((m) => m.air).sort((a, b) => a.wallMs - b.wallMs);
  const keys = () => Object.fromEntries(meters.map((m) => [m.meterId, fromHex(m.keys.toFile().meterKey)]));

  it('two key handles for five meters sending in turn: every telegram decodes to what its meter sent; a replayed one is refused; evicted handles are wiped', () => {
    assert.ok(air.length >= 5 * 4, `${air.length} telegrams`);
    const made: AesKey[] = [];
    const counting: Crypto = { ...nobleCrypto, aesKey: (raw) => { const k = nobleCrypto.aesKey(raw); made.push(k); return k; } };
    const k = keys();
    const r = new Receiver({ crypto: counting, keys: (m) => k[m.id], maxCachedKeys: 2, strict: true, allowPlain: false });
    const live = () => made.filter((h) => { try { nobleCrypto.aesEncryptBlock(h, new Uint8Array(16), new Uint8Array(16)); return true; } catch { return false; } }).length;
    for (const f of air) {
      const t = r.receivePhy(f.stream, f.mode);
      assert.equal(t.meter.id, f.meterId);
      assert.equal(t.messageCounter, f.sent.messageCounter);
      assert.equal(t.values.find((v) => v.obis === '1.8.0')?.value, sentReading(f).importWh);
      // At most the two cached master-key handles outlive a telegram (derived keys are wiped after it).
      assert.ok(live() <= 2, `${live()} handles not wiped`);
    }
    assert.throws(() => r.receivePhy(air[0].stream, air[0].mode), { code: 'counter-replay' });
  });

  it("a row keeps the meter's last reading (updated in place), a verdict keeps its own; bounded and unbounded key caches give the same rows and state", () => {
    const bounded = new SimGateway({ keys: keys(), cachedKeys: 2 });
    const unbounded = new SimGateway({ keys: keys() });
    const first = new Map<string, MeterReading>();
    const firstCopy = new Map<string, MeterReading>();
    for (const f of air) {
      const v = bounded.receive(f.stream, f.mode, f.wallMs, f.meterId);
      assert.equal(unbounded.receive(f.stream, f.mode, f.wallMs, f.meterId).ok, true);
      assert.ok(v.ok, v.ok ? '' : v.message);
      const want = sentReading(f);
      assert.deepEqual({ importWh: v.reading.importWh, exportWh: v.reading.exportWh, powerW: v.reading.powerW }, want);
      const row = bounded.rows.get(f.meterId)!;
      assert.deepEqual(row.reading, v.reading);
      assert.notEqual(row.reading, v.reading);
      assert.equal(row.lastCounter, f.sent.messageCounter);
      assert.equal(row.lastWallMs, f.wallMs);
      if (!first.has(f.meterId)) {
        first.set(f.meterId, v.reading);
        firstCopy.set(f.meterId, structuredClone(v.reading));
      }
    }
    // The first verdicts' readings were not changed by the later telegrams.
    for (const [id, r] of first) assert.deepEqual(r, firstCopy.get(id));
    const last = (id: string) => air.filter((f) => f.meterId === id).at(-1)!;
    for (const m of meters) {
      const row = bounded.rows.get(m.meterId)!;
      assert.equal(row.telegrams, m.air.length);
      assert.deepEqual({ importWh: row.reading?.importWh, exportWh: row.reading?.exportWh, powerW: row.reading?.powerW }, sentReading(last(m.meterId)));
    }
    assert.deepEqual(JSON.parse(JSON.stringify(bounded.state())), JSON.parse(JSON.stringify(unbounded.state())));
  });
});
