/** Text forms of IPv4 and MAC addresses, as Wireshark and QEMU print them, for every layer (IPv6's is in ipv6-address.ts). */

/** Dotted quad of an IPv4 address held as an unsigned 32-bit number (host byte order). */
export function formatIpv4(addr: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255}`;
}

/** A strict dotted quad (four decimal bytes, no leading sign or spaces) as an unsigned number, or null. */
export function parseIpv4(text: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return null;
  const parts = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])];
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

/** Colon-separated lower-case hex of the 6 bytes of a MAC address at b[o..o+6). */
export function formatMac(b: Uint8Array, o = 0): string {
  let s = '';
  for (let i = 0; i < 6; i++) s += (i ? ':' : '') + (b[o + i] ?? 0).toString(16).padStart(2, '0');
  return s;
}
