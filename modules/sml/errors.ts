/**
 * The typed errors of the SML module (IEC 62056-5-3-8 / SML 1.04). Every one is a MeterError with a
 * stable code, so the stream decoder, the LMN responder and the CLI can name the fault:
 *  - SmlCrcError        'crc' (the transport CRC of a file), 'message-crc' (a message's CRC16)
 *  - SmlEscapeError     'escape': an escape sequence that is neither an escaped 1b1b1b1b, a start nor
 *                       an end; an end whose fill-byte count is wrong or whose fill bytes are not 00
 *  - SmlTruncatedError  'truncated': the stream ended, or a new start sequence came, inside a file,
 *                       or an intact file began off its 4-byte grid (the line lost bytes)
 *  - SmlTlError         'tl': a type-length field that cannot be (reserved type, length shorter than
 *                       the field itself, running past the end of the file)
 *  - SmlStructureError  'structure': well-formed TL fields that are not the SML message they claim
 *  - SmlError           'too-long' (a file longer than the decoder's limit), 'range' (a value the
 *                       encoder cannot write), 'obis' (an object name that is not an OBIS code)
 */
import { MeterError } from '../core/errors.js';

export class SmlError extends MeterError {}
export class SmlCrcError extends SmlError {}
export class SmlEscapeError extends SmlError {}
export class SmlTruncatedError extends SmlError {}
export class SmlTlError extends SmlError {}
export class SmlStructureError extends SmlError {}
