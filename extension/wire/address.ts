/** Text forms of addresses, as Wireshark and QEMU print them: one formatter per family for every layer. */

/** Dotted quad of an IPv4 address held as an unsigned 32-bit number (host byte order). */
export function formatIpv4(addr: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255}`;
}

/** Colon-separated lower-case hex of the 6 bytes of a MAC address at b[o..o+6). */
export function formatMac(b: Uint8Array, o = 0): string {
  let s = '';
  for (let i = 0; i < 6; i++) s += (i ? ':' : '') + (b[o + i] ?? 0).toString(16).padStart(2, '0');
  return s;
}

/** RFC 5952 text form of the 16 bytes at b[o..o+16): lower case, the first longest run of two or more zero groups as `::`. */
export function formatIpv6(b: Uint8Array, o = 0): string {
  const groups: number[] = [];
  for (let i = o; i < o + 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number) => g.toString(16);
  if (bestStart < 0) return groups.map(hex).join(':');
  const head = groups.slice(0, bestStart).map(hex).join(':');
  const tail = groups.slice(bestStart + bestLen).map(hex).join(':');
  return `${head}::${tail}`;
}
