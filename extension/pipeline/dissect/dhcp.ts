/**
 * DHCP options are a type-length list after the BOOTP header and magic cookie.
 * Finding one walks the list in place.
 */
const OPTIONS_START = 240;
export const DHCP_OPT_HOSTNAME = 12;
export const DHCP_OPT_REQUESTED_IP = 50;
export const DHCP_OPT_MESSAGE_TYPE = 53;

/** Offset and length of option `code`'s value, or undefined. */
export function findDhcpOption(b: Uint8Array, bootp: number, end: number, code: number): { off: number; len: number } | undefined {
  let p = bootp + OPTIONS_START;
  while (p < end) {
    const c = b[p]!;
    if (c === 255) return undefined;
    if (c === 0) { p++; continue; }
    if (p + 1 >= end) return undefined;
    const len = b[p + 1]!;
    if (p + 2 + len > end) return undefined;
    if (c === code) return { off: p + 2, len };
    p += 2 + len;
  }
  return undefined;
}

export const DHCP_MESSAGE_TYPES: Readonly<Record<number, string>> = {
  1: 'DISCOVER', 2: 'OFFER', 3: 'REQUEST', 4: 'DECLINE', 5: 'ACK', 6: 'NAK', 7: 'RELEASE', 8: 'INFORM',
};
