// The push the SML bench measures: a meter with A+, A-, two tariffs each and power (PIN entered),
// as the optical port sends it every second. Shared by the Node timing and the XS entry.
import { OpticalPush } from '../../modules/sml/optical-push.js';
import { serverIdOf } from '../../modules/sml/server-id.js';
import type { SmlReading } from '../../modules/sml/val-list.js';

export function benchPush(): { push: OpticalPush; readings: SmlReading[]; sent: { bytes: number } } {
  const readings: SmlReading[] = [
    { obis: '1.8.0', value: 12_345_678 },
    { obis: '2.8.0', value: 2_345_678 },
    { obis: '1.8.1', value: 10_000_000 },
    { obis: '1.8.2', value: 2_345_678 },
    { obis: '2.8.1', value: 2_000_000 },
    { obis: '2.8.2', value: 345_678 },
    { obis: '16.7.0', value: -1234 },
  ];
  const sent = { bytes: 0 };
  const push = new OpticalPush({
    port: { write: (b) => void (sent.bytes += b.length), read: () => new Uint8Array(0) },
    clock: { ticks: () => 0 },
    source: { readings: () => readings, status: () => 0 },
    serverId: serverIdOf('XSM', 12345678),
    details: { visible: () => true },
  });
  return { push, readings, sent };
}

/** The next second's registers: A+ and its tariff grow, power changes sign now and then. */
export function step(readings: SmlReading[], i: number): void {
  readings[0].value = 12_345_678 + i;
  readings[2].value = 10_000_000 + i;
  readings[6].value = i % 7 === 0 ? 250 : -1234;
}
