/**
 * TFTP messages (RFC 1350, options RFC 2347-2349): the opcodes and error
 * codes, a read or write request parsed, and the packets the server sends built.
 */
import { set16 } from './bytes';

export const TFTP_OP_RRQ = 1;
export const TFTP_OP_WRQ = 2;
export const TFTP_OP_DATA = 3;
export const TFTP_OP_ACK = 4;
export const TFTP_OP_ERROR = 5;
export const TFTP_OP_OACK = 6;

export const TFTP_ERR_UNDEFINED = 0;
export const TFTP_ERR_NOT_FOUND = 1;
export const TFTP_ERR_ACCESS = 2;
export const TFTP_ERR_ILLEGAL = 4;

/** Longest file name a request may carry (libslirp's TFTP_FILENAME_MAX). */
export const TFTP_FILENAME_MAX = 512;
/** Option pairs looked at in a request; more are ignored. */
const MAX_OPTIONS = 16;

export interface TftpRequest {
  readonly name: string;
  /** 'octet' or 'netascii', lower case. */
  readonly mode: string;
  /** Option names in lower case; the first of a repeated name wins. */
  readonly options: ReadonlyMap<string, string>;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const ascii = new TextEncoder();

/** Parses RRQ/WRQ: filename NUL mode NUL [option NUL value NUL]...; a reason (drop and error) when malformed. */
export function parseTftpRequest(msg: Uint8Array): TftpRequest | 'bad-request' | 'bad-name' | 'bad-mode' {
  const fields: string[] = [];
  let start = 2;
  while (start < msg.length && fields.length < 2 + 2 * MAX_OPTIONS) {
    const nul = msg.indexOf(0, start);
    // Every field ends with NUL (libslirp refuses a request whose last byte is not 0).
    if (nul < 0) return fields.length === 0 ? 'bad-name' : 'bad-request';
    if (fields.length === 0 && nul - start > TFTP_FILENAME_MAX) return 'bad-name';
    try {
      fields.push(utf8.decode(msg.subarray(start, nul)));
    } catch {
      return fields.length === 0 ? 'bad-name' : 'bad-request';
    }
    start = nul + 1;
  }
  if (fields.length < 2) return fields.length === 0 ? 'bad-name' : 'bad-request';
  const mode = fields[1]!.toLowerCase();
  if (mode !== 'octet' && mode !== 'netascii') return 'bad-mode';
  if (fields.length % 2 !== 0) return 'bad-request';
  const options = new Map<string, string>();
  for (let i = 2; i + 1 < fields.length; i += 2) {
    const key = fields[i]!.toLowerCase();
    if (!options.has(key)) options.set(key, fields[i + 1]!);
  }
  return { name: fields[0]!, mode, options };
}

/** OACK: the options granted, with their values. */
export function tftpOack(granted: readonly [string, number][]): Uint8Array {
  const parts = granted.flatMap(([k, v]) => [k, String(v)]);
  const body = ascii.encode(parts.map((p) => `${p}\0`).join(''));
  const packet = new Uint8Array(2 + body.length);
  set16(packet, 0, TFTP_OP_OACK);
  packet.set(body, 2);
  return packet;
}

/** DATA: block number (modulo 65536 on the wire) and data. */
export function tftpData(block: number, data: Uint8Array): Uint8Array {
  const packet = new Uint8Array(4 + data.length);
  set16(packet, 0, TFTP_OP_DATA);
  set16(packet, 2, block & 0xffff);
  packet.set(data, 4);
  return packet;
}

/** ERROR: code and message, NUL-terminated. */
export function tftpError(code: number, text: string): Uint8Array {
  const message = ascii.encode(text);
  const packet = new Uint8Array(4 + message.length + 1);
  set16(packet, 0, TFTP_OP_ERROR);
  set16(packet, 2, code);
  packet.set(message, 4);
  return packet;
}
