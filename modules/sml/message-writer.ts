/**
 * Writes SML messages (messages.ts) with SmlWriter: the envelope, each body, and the message's
 * CRC-16 over its bytes from the list TL to the end of the body, then endOfSmlMsg.
 */
import { SmlError } from './errors.js';
import { crc16Sml } from './crc16.js';
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
  type SmlTime,
  type SmlValue,
} from './messages.js';
import type { SmlWriter } from './writer.js';

function optOctets(w: SmlWriter, v: Uint8Array | undefined): void {
  if (v === undefined) w.omitted();
  else w.octets(v);
}

function optUnsigned(w: SmlWriter, v: number | bigint | undefined): void {
  if (v === undefined) w.omitted();
  else w.unsigned(v);
}

export function writeTime(w: SmlWriter, t: SmlTime | undefined): void {
  if (t === undefined) return w.omitted();
  w.list(2);
  if (t.kind === 'secIndex') {
    w.unsigned(1);
    w.unsigned(t.seconds, 4);
  } else if (t.kind === 'timestamp') {
    w.unsigned(2);
    w.unsigned(t.seconds, 4);
  } else {
    w.unsigned(3);
    w.list(3);
    w.unsigned(t.seconds, 4);
    w.integer(t.localOffset, 2);
    w.integer(t.seasonOffset, 2);
  }
}

function writeValue(w: SmlWriter, v: SmlValue): void {
  if (typeof v === 'boolean') w.boolean(v);
  else if (typeof v === 'number' || typeof v === 'bigint') w.integer(v);
  else w.octets(v);
}

function writeEntry(w: SmlWriter, e: SmlListEntry): void {
  w.list(7);
  w.octets(e.objName);
  optUnsigned(w, e.status);
  writeTime(w, e.valTime);
  optUnsigned(w, e.unit);
  if (e.scaler === undefined) w.omitted();
  else w.integer(e.scaler, 1);
  writeValue(w, e.value);
  optOctets(w, e.valueSignature);
}

function writeBody(w: SmlWriter, body: SmlBody): void {
  w.list(2);
  switch (body.kind) {
    case 'open-req':
      w.unsigned(TAG_OPEN_REQ);
      w.list(7);
      optOctets(w, body.codepage);
      w.octets(body.clientId);
      w.octets(body.reqFileId);
      optOctets(w, body.serverId);
      optOctets(w, body.username);
      optOctets(w, body.password);
      optUnsigned(w, body.smlVersion);
      return;
    case 'open-res':
      w.unsigned(TAG_OPEN_RES);
      w.list(6);
      optOctets(w, body.codepage);
      optOctets(w, body.clientId);
      w.octets(body.reqFileId);
      w.octets(body.serverId);
      writeTime(w, body.refTime);
      optUnsigned(w, body.smlVersion);
      return;
    case 'close-req':
    case 'close-res':
      w.unsigned(body.kind === 'close-req' ? TAG_CLOSE_REQ : TAG_CLOSE_RES);
      w.list(1);
      optOctets(w, body.globalSignature);
      return;
    case 'get-list-req':
      w.unsigned(TAG_GET_LIST_REQ);
      w.list(5);
      w.octets(body.clientId);
      optOctets(w, body.serverId);
      optOctets(w, body.username);
      optOctets(w, body.password);
      optOctets(w, body.listName);
      return;
    case 'get-list-res': {
      w.unsigned(TAG_GET_LIST_RES);
      w.list(7);
      optOctets(w, body.clientId);
      w.octets(body.serverId);
      optOctets(w, body.listName);
      writeTime(w, body.actSensorTime);
      const list = body.valList;
      w.list(list.length);
      for (let i = 0; i < list.length; i++) writeEntry(w, list[i]);
      optOctets(w, body.listSignature);
      writeTime(w, body.actGatewayTime);
      return;
    }
    default:
      throw new SmlError('range', `cannot encode an SML body of tag 0x${body.tag.toString(16)}`, { tag: body.tag });
  }
}

/** Appends one message (envelope, body, CRC16, endOfSmlMsg) at the writer's position. */
export function writeMessage(w: SmlWriter, msg: SmlMessage): void {
  const start = w.pos;
  w.list(6);
  w.octets(msg.transactionId);
  w.unsigned(msg.groupNo ?? 0);
  w.unsigned(msg.abortOnError ?? 0);
  writeBody(w, msg.body);
  w.unsigned(crc16Sml(w.buf, start, w.pos), 2);
  w.endOfMessage();
}
