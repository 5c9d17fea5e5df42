/**
 * IPv6 addresses as 16-byte arrays: text forms (RFC 4291 in, RFC 5952 out),
 * prefixes and the derived multicast addresses neighbour discovery uses.
 */

export const IPV6_ADDRESS_LENGTH = 16;

const GROUP = /^[0-9a-fA-F]{1,4}$/;
const DOTTED = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** The unspecified address (::), a duplicate-address probe's source. */
export const IPV6_UNSPECIFIED = new Uint8Array(16);
/** ff02::1, all nodes on the link: where unsolicited router advertisements go. */
export const IPV6_ALL_NODES = ipv6Literal('ff02::1');
/** ff02::2, all routers: where a router solicitation goes. */
export const IPV6_ALL_ROUTERS = ipv6Literal('ff02::2');

/** IPv6 text (with `::`, or an IPv4 tail such as ::ffff:1.2.3.4) to 16 bytes; null when it is not one. A zone (%eth0) is refused. */
export function parseIpv6(text: string): Uint8Array | null {
  if (text.length === 0 || text.length > 45 || text.includes('%')) return null;
  let s = text;
  // An IPv4 tail (::ffff:1.2.3.4) is the last two groups.
  const cut = s.lastIndexOf(':');
  const m = DOTTED.exec(s.slice(cut + 1));
  if (m) {
    const p = m.slice(1).map(Number);
    if (p.some((x) => x > 255)) return null;
    s = `${s.slice(0, cut + 1)}${((p[0]! << 8) | p[1]!).toString(16)}:${((p[2]! << 8) | p[3]!).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const split = (h: string): string[] | null => (h === '' ? [] : h.split(':'));
  const head = split(halves[0]!);
  const rest = halves.length === 2 ? split(halves[1]!) : null;
  if (!head || (halves.length === 2 && !rest)) return null;
  const named = [...head, ...(rest ?? [])];
  if (!named.every((g) => GROUP.test(g))) return null;
  const groupsWanted = 8;
  if (halves.length === 2 ? named.length > groupsWanted - 1 : named.length !== groupsWanted) return null;
  const zeros = halves.length === 2 ? groupsWanted - named.length : 0;
  const groups = [...head.map((g) => parseInt(g, 16)), ...new Array<number>(zeros).fill(0), ...(rest ?? []).map((g) => parseInt(g, 16))];
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[i * 2] = g >> 8;
    bytes[i * 2 + 1] = g & 0xff;
  });
  return bytes;
}

function ipv6Literal(text: string): Uint8Array {
  return parseIpv6(text)!;
}

/** The RFC 5952 text of bytes[at, at+16): lower case, the longest run of two or more zero groups as `::`. */
export function formatIpv6(bytes: Uint8Array, at = 0): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(((bytes[at + i * 2] ?? 0) << 8) | (bytes[at + i * 2 + 1] ?? 0));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

export function ipv6Equal(a: Uint8Array, b: Uint8Array, aAt = 0, bAt = 0): boolean {
  for (let i = 0; i < 16; i++) if (a[aAt + i] !== b[bAt + i]) return false;
  return true;
}

/** Whether the first `prefixLength` bits of `a` and `prefix` agree. */
export function ipv6InPrefix(a: Uint8Array, prefix: Uint8Array, prefixLength: number): boolean {
  const whole = prefixLength >> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== prefix[i]) return false;
  const bits = prefixLength & 7;
  if (bits === 0) return true;
  const mask = (0xff << (8 - bits)) & 0xff;
  return (a[whole]! & mask) === (prefix[whole]! & mask);
}

/** `prefix` with the interface identifier (the bits after `prefixLength`) of `host`. */
export function ipv6WithInterfaceId(prefix: Uint8Array, prefixLength: number, host: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  for (let bit = 0; bit < 128; bit++) {
    const src = bit < prefixLength ? prefix : host;
    const m = 0x80 >> (bit & 7);
    out[bit >> 3]! |= src[bit >> 3]! & m;
  }
  return out;
}

export const isIpv6Multicast = (a: Uint8Array, at = 0): boolean => a[at] === 0xff;
export const isIpv6LinkLocal = (a: Uint8Array, at = 0): boolean => a[at] === 0xfe && (a[at + 1]! & 0xc0) === 0x80;
export const isIpv6Unspecified = (a: Uint8Array, at = 0): boolean => ipv6Equal(a, IPV6_UNSPECIFIED, at);
export const isIpv6Loopback = (a: Uint8Array, at = 0): boolean => ipv6Equal(a, IPV6_LOOPBACK, at);
export const IPV6_LOOPBACK = ipv6Literal('::1');

/** ff02::1:ffXX:XXXX, the solicited-node group a neighbour solicitation for `target` goes to (RFC 4291 2.7.1). */
export function solicitedNodeMulticast(target: Uint8Array): Uint8Array {
  const out = ipv6Literal('ff02::1:ff00:0');
  out.set(target.subarray(13, 16), 13);
  return out;
}

/** The Ethernet address of an IPv6 multicast group: 33:33 and the group's last four bytes (RFC 2464 7). */
export function ipv6MulticastMac(group: Uint8Array): Uint8Array {
  const mac = new Uint8Array(6);
  mac[0] = 0x33;
  mac[1] = 0x33;
  mac.set(group.subarray(12, 16), 2);
  return mac;
}

/** fe80::/64 with an interface identifier made from a MAC (modified EUI-64, RFC 4291 appendix A). */
export function linkLocalFromMac(mac: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  out[0] = 0xfe;
  out[1] = 0x80;
  out[8] = mac[0]! ^ 0x02;
  out[9] = mac[1]!;
  out[10] = mac[2]!;
  out[11] = 0xff;
  out[12] = 0xfe;
  out[13] = mac[3]!;
  out[14] = mac[4]!;
  out[15] = mac[5]!;
  return out;
}
