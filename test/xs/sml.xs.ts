// Portable entry: the SML module under XS and Node — optical push files (with and without the PIN
// detail), the LMN responder answering a request, and the stream decoder reading real meters' files
// and our own stream in odd chunks. Prints hex and decoded values, so both engines can be compared
// byte for byte and an independent reader can check what XS encoded.
import { fromHex, toHex } from '../../modules/core/bytes.js';
import { LmnResponder } from '../../modules/sml/lmn-responder.js';
import type { SmlGetListResponse } from '../../modules/sml/messages.js';
import { obisText } from '../../modules/sml/obis.js';
import { OpticalPush } from '../../modules/sml/optical-push.js';
import { getListRequestFile } from '../../modules/sml/requests.js';
import { serverIdOf } from '../../modules/sml/server-id.js';
import { SmlStreamDecoder } from '../../modules/sml/stream-decoder.js';
import type { SmlReading } from '../../modules/sml/val-list.js';
import vectors from '../vectors/sml.json' with { type: 'json' };

export function main(out: (line: string) => void): void {
  let t = 0;
  let visible = false;
  const written: Uint8Array[] = [];
  let inbox: Uint8Array = new Uint8Array(0);
  const port = { write: (b: Uint8Array) => void written.push(b.slice()), read: () => { const r = inbox; inbox = new Uint8Array(0); return r; } };
  const regs: SmlReading[] = [
    { obis: '1.8.0', value: 98765432 },
    { obis: '2.8.0', value: 1234567 },
    { obis: '1.8.1', value: 90000000 },
    { obis: '1.8.2', value: 8765432 },
    { obis: '16.7.0', value: -4321 },
  ];
  const source = { readings: () => regs, status: () => 0x0182 };
  const serverId = serverIdOf('XSM', 12345678);
  const push = new OpticalPush({ port, clock: { ticks: () => t }, source, serverId, details: { visible: () => visible } });
  for (let i = 0; i < 4; i++) {
    visible = i >= 2;
    regs[0].value = 98765432 + i;
    push.poll();
    t += 1000;
  }
  const lmn = new LmnResponder({ port, clock: { ticks: () => t }, source, serverId });
  inbox = getListRequestFile({ clientId: fromHex('475731'), reqFileId: fromHex('0102'), serverId });
  lmn.poll();
  for (const w of written) out(`file ${toHex(w)}`);

  const dec = new SmlStreamDecoder();
  const stream: number[] = [];
  for (const f of vectors.files) for (const b of fromHex(f.hex)) stream.push(b);
  for (const w of written) for (const b of w) stream.push(b);
  const bytes = Uint8Array.from(stream);
  const events = [];
  for (let i = 0; i < bytes.length; i += 7) for (const e of dec.push(bytes.subarray(i, i + 7))) events.push(e);
  for (const e of dec.end()) events.push(e);
  for (const e of events) {
    if (e.kind === 'error') {
      out(`error ${e.error.code}`);
      continue;
    }
    for (const m of e.file.messages) {
      if (m.body.kind !== 'get-list-res') continue;
      const vals = (m.body as SmlGetListResponse).valList.map((v) => `${obisText(v.objName)}=${v.value instanceof Uint8Array ? toHex(v.value) : String(v.value)}`);
      out(`values ${vals.join(' ')}`);
    }
  }
  out(`decoded ${dec.files} errors ${dec.errors} pushed ${push.stats.files} detail ${push.stats.detailFiles} lmn ${lmn.stats.responses}`);
}
