// Shared input of the radio benchmark: the longest T1 frame (format A, 246-byte body).
import { buildFrame, MAX_BODY_A } from '../../modules/wmbus/frame.js';

export function longFrame(): Uint8Array {
  const body = new Uint8Array(MAX_BODY_A);
  body[0] = 0x7a;
  for (let i = 1; i < body.length; i++) body[i] = (i * 73 + 5) & 0xff;
  return buildFrame({ control: 0x44, manufacturer: 'XSM', id: '12345678', version: 1, deviceType: 0x02 }, body, 'A');
}
