/**
 * Reads the messages of one SML file's payload (after the transport layer removed the escapes and
 * checked the file CRC): each message's structure and its CRC-16 (SmlCrcError 'message-crc').
 * Bodies this module does not interpret are skipped and kept as { kind: 'other', tag }.
 */
import { crc16Sml } from './crc16.js';
import { SmlCrcError, SmlStructureError } from './errors.js';
import {
  TAG_CLOSE_REQ,
  TAG_CLOSE_RES,
  TAG_GET_LIST_REQ,
  TAG_GET_LIST_RES,
  TAG_OPEN_REQ,
  TAG_OPEN_RES,
  type SmlBody,
  type SmlListEntry,
  type SmlMessage,
} from './messages.js';
import { SmlReader } from './reader.js';

function readEntry(r: SmlReader): SmlListEntry {
  r.list('valList entry', 7);
  const objName = r.octets('objName');
  const status = r.optUnsigned('status');
  const valTime = r.optTime('valTime');
  const unit = r.optSmall('unit', 0xff);
  const scaler = r.omitted() ? undefined : r.smallInteger('scaler', 8);
  const value = r.value('value');
  const valueSignature = r.optOctets('valueSignature');
  const e: SmlListEntry = { objName, value };
  if (status !== undefined) e.status = status;
  if (valTime !== undefined) e.valTime = valTime;
  if (unit !== undefined) e.unit = unit;
  if (scaler !== undefined) e.scaler = scaler;
  if (valueSignature !== undefined) e.valueSignature = valueSignature;
  return e;
}

/** Drops the keys of absent OPTIONAL fields so a decoded body compares equal to the one encoded. */
function present<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

function readBody(r: SmlReader): SmlBody {
  r.list('messageBody', 2);
  const at = r.pos;
  const tag = r.small('messageBody tag');
  switch (tag) {
    case TAG_OPEN_REQ:
      r.list('SML_PublicOpen.Req', 7);
      return present({
        kind: 'open-req',
        codepage: r.optOctets('codepage'),
        clientId: r.octets('clientId'),
        reqFileId: r.octets('reqFileId'),
        serverId: r.optOctets('serverId'),
        username: r.optOctets('username'),
        password: r.optOctets('password'),
        smlVersion: r.optSmall('smlVersion', 0xff),
      });
    case TAG_OPEN_RES:
      r.list('SML_PublicOpen.Res', 6);
      return present({
        kind: 'open-res',
        codepage: r.optOctets('codepage'),
        clientId: r.optOctets('clientId'),
        reqFileId: r.octets('reqFileId'),
        serverId: r.octets('serverId'),
        refTime: r.optTime('refTime'),
        smlVersion: r.optSmall('smlVersion', 0xff),
      });
    case TAG_CLOSE_REQ:
    case TAG_CLOSE_RES:
      r.list(tag === TAG_CLOSE_REQ ? 'SML_PublicClose.Req' : 'SML_PublicClose.Res', 1);
      return present({ kind: tag === TAG_CLOSE_REQ ? 'close-req' : 'close-res', globalSignature: r.optOctets('globalSignature') });
    case TAG_GET_LIST_REQ:
      r.list('SML_GetList.Req', 5);
      return present({
        kind: 'get-list-req',
        clientId: r.octets('clientId'),
        serverId: r.optOctets('serverId'),
        username: r.optOctets('username'),
        password: r.optOctets('password'),
        listName: r.optOctets('listName'),
      });
    case TAG_GET_LIST_RES: {
      r.list('SML_GetList.Res', 7);
      const clientId = r.optOctets('clientId');
      const serverId = r.octets('serverId');
      const listName = r.optOctets('listName');
      const actSensorTime = r.optTime('actSensorTime');
      const n = r.list('valList');
      const valList: SmlListEntry[] = [];
      for (let i = 0; i < n; i++) valList.push(readEntry(r));
      return present({
        kind: 'get-list-res',
        clientId,
        serverId,
        listName,
        actSensorTime,
        valList,
        listSignature: r.optOctets('listSignature'),
        actGatewayTime: r.optTime('actGatewayTime'),
      });
    }
    default:
      if (tag > 0xffffffff) throw new SmlStructureError('structure', `message tag at offset ${at} is wider than 32 bits`, { offset: at });
      r.skip('messageBody');
      return { kind: 'other', tag };
  }
}

/**
 * The messages in payload[start, end). Trailing 00 bytes after the last message are tolerated
 * (fill bytes some meters count differently); anything else left over is a structure error.
 */
export function readMessages(payload: Uint8Array, start: number, end: number): SmlMessage[] {
  const r = new SmlReader(payload, start, end);
  const messages: SmlMessage[] = [];
  while (r.pos < end) {
    if (messages.length > 0 && r.peek() === 0x00) {
      let p = r.pos;
      while (p < end && payload[p] === 0) p++;
      if (p === end) break;
    }
    const msgStart = r.pos;
    r.list('SML_Message', 6);
    const transactionId = r.octets('transactionId');
    const groupNo = r.small('groupNo', 0xff);
    const abortOnError = r.small('abortOnError', 0xff);
    const body = readBody(r);
    const crcAt = r.pos;
    const crc = r.unsigned('crc16');
    if (crc > BigInt(0xffff)) throw new SmlStructureError('structure', `crc16 at offset ${crcAt} is wider than 16 bits`, { offset: crcAt, field: 'crc16' });
    r.endOfMessage();
    const computed = crc16Sml(payload, msgStart, crcAt);
    if (Number(crc) !== computed) {
      throw new SmlCrcError('message-crc', `message ${messages.length + 1}: CRC16 ${hex4(Number(crc))} does not match ${hex4(computed)}`, {
        message: messages.length + 1,
        received: Number(crc),
        computed,
      });
    }
    messages.push({ transactionId, groupNo, abortOnError, body });
  }
  if (messages.length === 0) throw new SmlStructureError('structure', 'the file holds no message', { offset: start });
  return messages;
}

function hex4(v: number): string {
  return v.toString(16).padStart(4, '0');
}
