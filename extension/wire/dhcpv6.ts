import { get16, set16 } from './bytes';

/** DHCPv6 (RFC 8415) as a stateless server needs it: message types, options, and a bounded option walk. */
export const DHCPV6_CLIENT_PORT = 546;
export const DHCPV6_SERVER_PORT = 547;
export const DHCPV6_REPLY = 7;
export const DHCPV6_INFORMATION_REQUEST = 11;
export const DHCPV6_OPT_CLIENTID = 1;
export const DHCPV6_OPT_SERVERID = 2;
export const DHCPV6_OPT_IA_NA = 3;
export const DHCPV6_OPT_IA_TA = 4;
export const DHCPV6_OPT_IAADDR = 5;
export const DHCPV6_OPT_ORO = 6;
export const DHCPV6_OPT_DNS_SERVERS = 23;
export const DHCPV6_OPT_DOMAIN_LIST = 24;
export const DHCPV6_OPT_IA_PD = 25;
export const DHCPV6_OPT_BOOTFILE_URL = 59;
/** Options one message may carry before it is refused (a bound on the walk; a real client sends a handful). */
export const MAX_DHCPV6_OPTIONS = 64;

export interface Dhcpv6Message {
  readonly type: number;
  /** The 24-bit transaction id the reply echoes. */
  readonly transactionId: number;
  /** Options in order; a code may repeat. */
  readonly options: readonly { readonly code: number; readonly data: Uint8Array }[];
}

/** Reads a client/server message (not a relay message); a drop reason when it is cut or its options overrun. */
export function parseDhcpv6(bytes: Uint8Array): Dhcpv6Message | string {
  if (bytes.length < 4) return 'dhcpv6-truncated';
  const options: { code: number; data: Uint8Array }[] = [];
  for (let at = 4; at < bytes.length; ) {
    if (at + 4 > bytes.length) return 'dhcpv6-bad-option';
    const length = get16(bytes, at + 2);
    if (at + 4 + length > bytes.length) return 'dhcpv6-bad-option';
    if (options.length >= MAX_DHCPV6_OPTIONS) return 'dhcpv6-too-many-options';
    options.push({ code: get16(bytes, at), data: bytes.slice(at + 4, at + 4 + length) });
    at += 4 + length;
  }
  return { type: bytes[0]!, transactionId: (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!, options };
}

export function emitDhcpv6(m: Dhcpv6Message): Uint8Array {
  const out = new Uint8Array(4 + m.options.reduce((n, o) => n + 4 + o.data.length, 0));
  out[0] = m.type;
  out[1] = (m.transactionId >> 16) & 0xff;
  out[2] = (m.transactionId >> 8) & 0xff;
  out[3] = m.transactionId & 0xff;
  let at = 4;
  for (const o of m.options) {
    set16(out, at, o.code);
    set16(out, at + 2, o.data.length);
    out.set(o.data, at + 4);
    at += 4 + o.data.length;
  }
  return out;
}
