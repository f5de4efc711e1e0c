/**
 * The SML messages a meter speaks (SML 1.04): the data model both the encoder and the decoder use.
 *
 * A message is SML_Message ::= SEQUENCE { transactionId, groupNo, abortOnError, messageBody,
 * crc16, endOfSmlMsg }; the body is a CHOICE tagged by an Unsigned32. Optional fields are
 * `undefined` (sent as 0x01). Numbers: the encoder takes number or bigint; the decoder gives
 * bigint for values and status (exact to 64 bits) and number for the small fields.
 */

export const TAG_OPEN_REQ = 0x0100;
export const TAG_OPEN_RES = 0x0101;
export const TAG_CLOSE_REQ = 0x0200;
export const TAG_CLOSE_RES = 0x0201;
export const TAG_GET_LIST_REQ = 0x0700;
export const TAG_GET_LIST_RES = 0x0701;

/** SML_Time: secIndex (1, seconds of a running counter), timestamp (2, Unix seconds UTC) or
 *  localTimestamp (3: Unix seconds, local offset and daylight-saving offset in minutes). */
export type SmlTime =
  | { kind: 'secIndex'; seconds: number }
  | { kind: 'timestamp'; seconds: number }
  | { kind: 'localTimestamp'; seconds: number; localOffset: number; seasonOffset: number };

/** SML_Value: an octet string, a boolean, or an integer (sent as SML Integer, any width). */
export type SmlValue = Uint8Array | boolean | number | bigint;

/** One SML_ListEntry of a GetList.Res valList. */
export interface SmlListEntry {
  /** OBIS code, six bytes (obis.ts). */
  objName: Uint8Array;
  /** Status word (Unsigned 8–64; meaning is the meter's). */
  status?: number | bigint;
  valTime?: SmlTime;
  /** DLMS unit code (units.ts). */
  unit?: number;
  /** Power of ten: the quantity is value × 10^scaler in `unit`. */
  scaler?: number;
  value: SmlValue;
  valueSignature?: Uint8Array;
}

export interface SmlOpenRequest {
  kind: 'open-req';
  codepage?: Uint8Array;
  clientId: Uint8Array;
  reqFileId: Uint8Array;
  serverId?: Uint8Array;
  username?: Uint8Array;
  password?: Uint8Array;
  smlVersion?: number;
}

export interface SmlOpenResponse {
  kind: 'open-res';
  codepage?: Uint8Array;
  clientId?: Uint8Array;
  reqFileId: Uint8Array;
  serverId: Uint8Array;
  refTime?: SmlTime;
  smlVersion?: number;
}

export interface SmlCloseRequest {
  kind: 'close-req';
  globalSignature?: Uint8Array;
}

export interface SmlCloseResponse {
  kind: 'close-res';
  globalSignature?: Uint8Array;
}

export interface SmlGetListRequest {
  kind: 'get-list-req';
  clientId: Uint8Array;
  serverId?: Uint8Array;
  username?: Uint8Array;
  password?: Uint8Array;
  listName?: Uint8Array;
}

export interface SmlGetListResponse {
  kind: 'get-list-res';
  clientId?: Uint8Array;
  serverId: Uint8Array;
  listName?: Uint8Array;
  actSensorTime?: SmlTime;
  valList: SmlListEntry[];
  listSignature?: Uint8Array;
  actGatewayTime?: SmlTime;
}

/** A body this module does not interpret (profiles, parameters, attention…): decoded, kept by tag. */
export interface SmlOtherBody {
  kind: 'other';
  tag: number;
}

export type SmlBody =
  | SmlOpenRequest
  | SmlOpenResponse
  | SmlCloseRequest
  | SmlCloseResponse
  | SmlGetListRequest
  | SmlGetListResponse
  | SmlOtherBody;

export interface SmlMessage {
  transactionId: Uint8Array;
  /** Default 0. */
  groupNo?: number;
  /** Default 0 (continue on error). */
  abortOnError?: number;
  body: SmlBody;
}
