/**
 * The request side, as a gateway (SMGW) asks a meter on the wired LMN: one file of
 * SML_PublicOpen.Req, SML_GetList.Req, SML_PublicClose.Req. Used by the tests and tools that play
 * the gateway; the meter answers with lmn-responder.ts.
 */
import type { SmlMessage } from './messages.js';
import { encodeSmlFile } from './transport.js';

export interface GetListRequestOptions {
  /** The gateway's identification (its client ID). */
  clientId: Uint8Array;
  /** The file ID the gateway chose; transaction IDs are derived from it (id ‖ 1, 2, 3). */
  reqFileId: Uint8Array;
  /** The meter asked (omitted: whichever meter listens — only for a point-to-point line). */
  serverId?: Uint8Array;
  /** The list asked for (omitted: the meter's current-values list). */
  listName?: Uint8Array;
  username?: Uint8Array;
  password?: Uint8Array;
}

function transactionId(fileId: Uint8Array, n: number): Uint8Array {
  const t = new Uint8Array(fileId.length + 1);
  t.set(fileId);
  t[fileId.length] = n;
  return t;
}

/** The three messages of a GetList request file. */
export function getListRequestMessages(o: GetListRequestOptions): SmlMessage[] {
  return [
    { transactionId: transactionId(o.reqFileId, 1), body: { kind: 'open-req', clientId: o.clientId, reqFileId: o.reqFileId, serverId: o.serverId, username: o.username, password: o.password } },
    { transactionId: transactionId(o.reqFileId, 2), body: { kind: 'get-list-req', clientId: o.clientId, serverId: o.serverId, username: o.username, password: o.password, listName: o.listName } },
    { transactionId: transactionId(o.reqFileId, 3), body: { kind: 'close-req' } },
  ];
}

/** The request file on the line. */
export function getListRequestFile(o: GetListRequestOptions): Uint8Array {
  return encodeSmlFile(getListRequestMessages(o));
}
