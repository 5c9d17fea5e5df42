/** Dotted-quad IPv4 parsing for profile checks (strict: four decimal bytes). */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const byte = Number(part);
    if (byte > 255) return undefined;
    value = value * 256 + byte;
  }
  return value >>> 0;
}

/** A prefix length (`/24`) or a dotted netmask (`/255.255.255.0`) as a prefix length. */
export function parsePrefix(text: string): number | undefined {
  if (/^\d{1,2}$/.test(text)) {
    const n = Number(text);
    return n <= 32 ? n : undefined;
  }
  const mask = parseIpv4(text);
  if (mask === undefined) return undefined;
  // A valid mask is ones then zeros: inverted, it is 2^k - 1 and the prefix is 32 - k.
  const inverted = ~mask >>> 0;
  if ((inverted & (inverted + 1)) !== 0) return undefined;
  return Math.clz32(inverted);
}

export function maskOf(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

export function inNetwork(addr: number, net: number, prefixLength: number): boolean {
  const mask = maskOf(prefixLength);
  return ((addr & mask) >>> 0) === ((net & mask) >>> 0);
}
