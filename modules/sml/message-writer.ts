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
  type SmlCloseRequest,
  type SmlCloseResponse,
  type SmlGetListRequest,
  type SmlGetListResponse,
  type SmlListEntry,
  type SmlMessage,
  type SmlOpenRequest,
  type SmlOpenResponse,
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

// Dispatch through these tables rather than on string literals: under xsnap each evaluation of a
// string literal allocates, and the encoder runs for every push file.
const TIME_TAG: Readonly<Record<SmlTime['kind'], number>> = Object.freeze({ secIndex: 1, timestamp: 2, localTimestamp: 3 });
const BODY_TAG: Readonly<Record<Exclude<SmlBody['kind'], 'other'>, number>> = Object.freeze({
  'open-req': TAG_OPEN_REQ,
  'open-res': TAG_OPEN_RES,
  'close-req': TAG_CLOSE_REQ,
  'close-res': TAG_CLOSE_RES,
  'get-list-req': TAG_GET_LIST_REQ,
  'get-list-res': TAG_GET_LIST_RES,
});

export function writeTime(w: SmlWriter, t: SmlTime | undefined): void {
  if (t === undefined) return w.omitted();
  w.list(2);
  const tag = TIME_TAG[t.kind];
  w.unsigned(tag);
  if (tag !== 3) return w.unsigned(t.seconds, 4);
  const local = t as Extract<SmlTime, { kind: 'localTimestamp' }>;
  w.list(3);
  w.unsigned(local.seconds, 4);
  w.integer(local.localOffset, 2);
  w.integer(local.seasonOffset, 2);
}

function writeValue(w: SmlWriter, v: SmlValue): void {
  // No `typeof` here: under XS each one makes a string (this runs for every entry of every file).
  if (v === true || v === false) w.boolean(v);
  else if (v instanceof Uint8Array) w.octets(v);
  else w.integer(v);
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
  const tag: number | undefined = (BODY_TAG as Readonly<Record<string, number>>)[body.kind]; // undefined for 'other'
  if (tag === undefined) {
    const t = (body as { tag: number }).tag;
    throw new SmlError('range', `cannot encode an SML body of tag 0x${t.toString(16)}`, { tag: t });
  }
  w.list(2);
  w.unsigned(tag);
  if (tag === TAG_GET_LIST_RES) {
    const b = body as SmlGetListResponse;
    w.list(7);
    optOctets(w, b.clientId);
    w.octets(b.serverId);
    optOctets(w, b.listName);
    writeTime(w, b.actSensorTime);
    const list = b.valList;
    w.list(list.length);
    for (let i = 0; i < list.length; i++) writeEntry(w, list[i]);
    optOctets(w, b.listSignature);
    writeTime(w, b.actGatewayTime);
  } else if (tag === TAG_OPEN_RES) {
    const b = body as SmlOpenResponse;
    w.list(6);
    optOctets(w, b.codepage);
    optOctets(w, b.clientId);
    w.octets(b.reqFileId);
    w.octets(b.serverId);
    writeTime(w, b.refTime);
    optUnsigned(w, b.smlVersion);
  } else if (tag === TAG_CLOSE_RES || tag === TAG_CLOSE_REQ) {
    w.list(1);
    optOctets(w, (body as SmlCloseResponse | SmlCloseRequest).globalSignature);
  } else if (tag === TAG_OPEN_REQ) {
    const b = body as SmlOpenRequest;
    w.list(7);
    optOctets(w, b.codepage);
    w.octets(b.clientId);
    w.octets(b.reqFileId);
    optOctets(w, b.serverId);
    optOctets(w, b.username);
    optOctets(w, b.password);
    optUnsigned(w, b.smlVersion);
  } else {
    const b = body as SmlGetListRequest;
    w.list(5);
    w.octets(b.clientId);
    optOctets(w, b.serverId);
    optOctets(w, b.username);
    optOctets(w, b.password);
    optOctets(w, b.listName);
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
