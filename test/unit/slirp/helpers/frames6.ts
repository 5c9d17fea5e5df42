/** Builders of IPv6 guest frames for the tests, with their own checksum (the code under test is not trusted). */
import { parseIpv6 } from '../../../../extension/wire/ipv6-address';
import { checksum, GUEST_MAC, u16 } from './frames';

export const GUEST6 = parseIpv6('fec0::5054:ff:fe12:3456')!;
export const GUEST6_LL = parseIpv6('fe80::5054:ff:fe12:3456')!;
export const HOST6 = parseIpv6('fec0::2')!;
export const DNS6 = parseIpv6('fec0::3')!;
export const ROUTER6_LL = parseIpv6('fe80::2')!;
export const ALL_ROUTERS = parseIpv6('ff02::2')!;
/** The MAC libslirp gives fe80::2 / fec0::2: 52:56 and the address's last four bytes. */
export const ROUTER6_MAC = Uint8Array.of(0x52, 0x56, 0, 0, 0, 2);

export function pseudoSum6(src: Uint8Array, dst: Uint8Array, nextHeader: number, length: number): number {
  let sum = 0;
  for (let i = 0; i < 16; i += 2) sum += ((src[i]! << 8) | src[i + 1]!) + ((dst[i]! << 8) | dst[i + 1]!);
  return sum + (length >>> 16) + (length & 0xffff) + nextHeader;
}

/** An ICMPv6 message with its checksum filled for src -> dst. */
export function icmp6(src: Uint8Array, dst: Uint8Array, type: number, code: number, body: ArrayLike<number>): Uint8Array {
  const b = [type, code, 0, 0, ...Array.from(body)];
  const c = checksum(b, pseudoSum6(src, dst, 58, b.length));
  b[2] = c >> 8;
  b[3] = c & 255;
  return Uint8Array.from(b);
}

export function udp6(src: Uint8Array, dst: Uint8Array, sport: number, dport: number, data: ArrayLike<number>): Uint8Array {
  const len = 8 + data.length;
  const b = [...u16(sport), ...u16(dport), ...u16(len), 0, 0, ...Array.from(data)];
  let c = checksum(b, pseudoSum6(src, dst, 17, len));
  if (c === 0) c = 0xffff;
  b[6] = c >> 8;
  b[7] = c & 255;
  return Uint8Array.from(b);
}

/** An Ethernet frame holding an IPv6 datagram; `exts` go between the header and the payload (first byte = their next header). */
export function frame6(o: { src?: Uint8Array; dst: Uint8Array; nextHeader: number; payload: ArrayLike<number>; hopLimit?: number; dstMac?: Uint8Array; srcMac?: Uint8Array }): Uint8Array {
  const src = o.src ?? GUEST6;
  const dstMac = o.dstMac ?? (o.dst[0] === 0xff ? Uint8Array.of(0x33, 0x33, ...o.dst.subarray(12)) : ROUTER6_MAC);
  const header = [0x60, 0, 0, 0, ...u16(o.payload.length), o.nextHeader, o.hopLimit ?? 64, ...src, ...o.dst];
  return Uint8Array.from([...dstMac, ...(o.srcMac ?? GUEST_MAC), 0x86, 0xdd, ...header, ...Array.from(o.payload)]);
}

/** The IPv6 fields of a frame the stack sent (offsets of an IPv6 header right after Ethernet). */
export function ip6Fields(f: Uint8Array): { src: Uint8Array; dst: Uint8Array; nextHeader: number; hopLimit: number; payload: Uint8Array } {
  if (f[12] !== 0x86 || f[13] !== 0xdd) throw new Error('not an IPv6 frame');
  const length = (f[18]! << 8) | f[19]!;
  return { src: f.subarray(22, 38), dst: f.subarray(38, 54), nextHeader: f[20]!, hopLimit: f[21]!, payload: f.subarray(54, 54 + length) };
}

/** True when the ICMPv6 checksum of a frame the stack sent is right (summed the slow way). */
export function icmp6ChecksumOk(f: Uint8Array): boolean {
  const ip = ip6Fields(f);
  return checksum(ip.payload, pseudoSum6(ip.src, ip.dst, ip.nextHeader, ip.payload.length)) === 0;
}
