import { parseDottedQuad } from '../dissect/context-fields';

/**
 * Unquoted literals mean what the field they meet says they mean: "10.0.2.0/24"
 * is a CIDR block next to ip.addr, "aa:bb:cc" a byte string next to tcp.payload.
 * These parsers return undefined for text that is not of their kind.
 */
export function parseUint(text: string): number | undefined {
  let n: number;
  if (/^0[xX][0-9A-Fa-f]+$/.test(text)) n = parseInt(text.slice(2), 16);
  else if (/^0[bB][01]+$/.test(text)) n = parseInt(text.slice(2), 2);
  else if (/^0[0-7]+$/.test(text)) n = parseInt(text.slice(1), 8);
  else if (/^[0-9]+$/.test(text)) n = parseInt(text, 10);
  else return undefined;
  return Number.isSafeInteger(n) ? n : undefined;
}

export function parseBool(text: string): boolean | undefined {
  const t = text.toLowerCase();
  if (t === '1' || t === 'true') return true;
  if (t === '0' || t === 'false') return false;
  return undefined;
}

/** An IPv4 address or CIDR block as (network, mask); a plain address has mask /32. */
export interface Ipv4Block { readonly addr: number; readonly mask: number; readonly prefix: number }

export function parseIpv4Block(text: string): Ipv4Block | undefined {
  const slash = text.indexOf('/');
  const addrText = slash >= 0 ? text.slice(0, slash) : text;
  const addr = parseDottedQuad(addrText);
  if (addr === undefined) return undefined;
  let prefix = 32;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,2}$/.test(p) || Number(p) > 32) return undefined;
    prefix = Number(p);
  }
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { addr: (addr & mask) >>> 0, mask, prefix };
}

export interface Ipv6Block { readonly addr: Uint8Array; readonly prefix: number }

export function parseIpv6Block(text: string): Ipv6Block | undefined {
  const slash = text.indexOf('/');
  const addr = parseIpv6(slash >= 0 ? text.slice(0, slash) : text);
  if (!addr) return undefined;
  let prefix = 128;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > 128) return undefined;
    prefix = Number(p);
  }
  return { addr, prefix };
}

export function parseIpv6(text: string): Uint8Array | undefined {
  if (!/^[0-9A-Fa-f:.]+$/.test(text) || !text.includes(':')) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (i === parts.length - 1 && part.includes('.')) {
        const v4 = parseDottedQuad(part);
        if (v4 === undefined) return undefined;
        out.push(v4 >>> 16, v4 & 0xffff);
      } else {
        if (!/^[0-9A-Fa-f]{1,4}$/.test(part)) return undefined;
        out.push(parseInt(part, 16));
      }
    }
    return out;
  };
  const head = parseGroups(halves[0]!);
  const tail = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    if (head.length + tail.length > 7) return undefined;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    if (head.length !== 8) return undefined;
    groups = head;
  }
  const out = new Uint8Array(16);
  groups.forEach((g, i) => { out[2 * i] = g >> 8; out[2 * i + 1] = g & 0xff; });
  return out;
}

/** Hex bytes separated by ':', '-' or '.' ("aa:bb:cc"), or a single byte "aa". */
export function parseByteString(text: string): Uint8Array | undefined {
  if (/^[0-9A-Fa-f]{1,2}$/.test(text)) return Uint8Array.of(parseInt(text, 16));
  const sep = /^[0-9A-Fa-f]{2}([:\-.])/.exec(text)?.[1];
  if (!sep) return undefined;
  const parts = text.split(sep);
  if (!parts.every((p) => /^[0-9A-Fa-f]{2}$/.test(p))) return undefined;
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

/** Six bytes in any of the usual spellings: aa:bb:cc:dd:ee:ff, aa-bb-.., aabb.ccdd.eeff. */
export function parseMac(text: string): Uint8Array | undefined {
  const dotted = /^([0-9A-Fa-f]{4})\.([0-9A-Fa-f]{4})\.([0-9A-Fa-f]{4})$/.exec(text);
  if (dotted) {
    const hex = dotted.slice(1).join('');
    return Uint8Array.from({ length: 6 }, (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16));
  }
  const b = parseByteString(text);
  return b && b.length === 6 ? b : undefined;
}

/** Strings become bytes as UTF-8, as Wireshark does for `contains "GET"`. */
export function stringBytes(s: string): Uint8Array {
  // Escapes such as "\xff" produce code units < 256 that stand for single bytes.
  if ([...s].every((c) => c.charCodeAt(0) < 0x100)) return Uint8Array.from(s, (c) => c.charCodeAt(0));
  return new TextEncoder().encode(s);
}
