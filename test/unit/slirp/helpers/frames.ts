/** Builders of guest frames for the tests, independent of the code under test where it matters (checksums). */
import { ip4 } from '../../../../extension/slirp/config';

export const GUEST_MAC = Uint8Array.from([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
export const GATEWAY_MAC = Uint8Array.from([0x52, 0x55, 0x0a, 0x00, 0x02, 0x02]);
export const GUEST_IP = ip4(10, 0, 2, 15);
export const HOST_IP = ip4(10, 0, 2, 2);
export const DNS_IP = ip4(10, 0, 2, 3);

export function u16(v: number): number[] {
  return [(v >> 8) & 255, v & 255];
}
export function u32(v: number): number[] {
  return [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
}

/** RFC 1071, written out again here so the tests do not trust the code they test. */
export function checksum(bytes: ArrayLike<number>, initial = 0): number {
  let sum = initial;
  for (let i = 0; i < bytes.length; i += 2) sum += ((bytes[i] ?? 0) << 8) + (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function eth(type: number, payload: ArrayLike<number>, dst: Uint8Array = GATEWAY_MAC, src: Uint8Array = GUEST_MAC): Uint8Array {
  return Uint8Array.from([...dst, ...src, ...u16(type), ...Array.from(payload)]);
}

export interface IpOpts {
  src?: number;
  dst: number;
  protocol: number;
  payload: ArrayLike<number>;
  id?: number;
  ttl?: number;
  mf?: boolean;
  /** Fragment offset in bytes (multiple of 8). */
  offset?: number;
  options?: number[];
}

export function ipv4(o: IpOpts): Uint8Array {
  const opts = o.options ?? [];
  const hl = 20 + opts.length;
  const total = hl + o.payload.length;
  const fo = (o.offset ?? 0) / 8 | (o.mf ? 0x2000 : 0);
  const h = [0x40 | (hl / 4), 0, ...u16(total), ...u16(o.id ?? 1), ...u16(fo), o.ttl ?? 64, o.protocol, 0, 0, ...u32(o.src ?? GUEST_IP), ...u32(o.dst), ...opts];
  const c = checksum(h);
  h[10] = c >> 8;
  h[11] = c & 255;
  return Uint8Array.from([...h, ...Array.from(o.payload)]);
}

export function pseudoSum(src: number, dst: number, protocol: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length;
}

export function udp(src: number, dst: number, sport: number, dport: number, data: ArrayLike<number>): Uint8Array {
  const len = 8 + data.length;
  const b = [...u16(sport), ...u16(dport), ...u16(len), 0, 0, ...Array.from(data)];
  let c = checksum(b, pseudoSum(src, dst, 17, len));
  if (c === 0) c = 0xffff;
  b[6] = c >> 8;
  b[7] = c & 255;
  return Uint8Array.from(b);
}

export function guestUdp(dst: number, sport: number, dport: number, data: ArrayLike<number>, src = GUEST_IP, dstMac = GATEWAY_MAC): Uint8Array {
  return eth(0x0800, ipv4({ src, dst, protocol: 17, payload: udp(src, dst, sport, dport, data) }), dstMac);
}

export function icmpEcho(id: number, seq: number, data: ArrayLike<number>, type = 8): Uint8Array {
  const b = [type, 0, 0, 0, ...u16(id), ...u16(seq), ...Array.from(data)];
  const c = checksum(b);
  b[2] = c >> 8;
  b[3] = c & 255;
  return Uint8Array.from(b);
}

export function arp(op: number, senderIp: number, targetIp: number, senderMac = GUEST_MAC, targetMac = new Uint8Array(6)): Uint8Array {
  return eth(0x0806, [0, 1, 8, 0, 6, 4, ...u16(op), ...senderMac, ...u32(senderIp), ...targetMac, ...u32(targetIp)], op === 1 ? new Uint8Array(6).fill(255) : GATEWAY_MAC);
}

export interface DhcpOpts {
  type: number;
  mac?: Uint8Array;
  xid?: number;
  ciaddr?: number;
  requested?: number;
  serverId?: number;
  /** Raw option bytes placed before END. */
  extra?: number[];
  /** Leave out the END option and the padding. */
  raw?: number[];
}

export function dhcp(o: DhcpOpts): Uint8Array {
  const mac = o.mac ?? GUEST_MAC;
  const fixed = new Array(236).fill(0);
  fixed[0] = 1;
  fixed[1] = 1;
  fixed[2] = 6;
  u32(o.xid ?? 0x1234).forEach((b, i) => (fixed[4 + i] = b));
  u32(o.ciaddr ?? 0).forEach((b, i) => (fixed[12 + i] = b));
  mac.forEach((b, i) => (fixed[28 + i] = b));
  const opts = o.raw ?? [
    53, 1, o.type,
    ...(o.requested !== undefined ? [50, 4, ...u32(o.requested)] : []),
    ...(o.serverId !== undefined ? [54, 4, ...u32(o.serverId)] : []),
    ...(o.extra ?? []),
    255,
  ];
  return Uint8Array.from([...fixed, 0x63, 0x82, 0x53, 0x63, ...opts]);
}

export function guestDhcp(o: DhcpOpts): Uint8Array {
  const src = o.ciaddr ?? 0;
  const dst = o.ciaddr ? HOST_IP : 0xffffffff;
  return eth(0x0800, ipv4({ src, dst, protocol: 17, payload: udp(src, dst, 68, 67, dhcp(o)) }), new Uint8Array(6).fill(255), o.mac ?? GUEST_MAC);
}

export function dnsQuery(name: string, id = 0x4242, type = 1): Uint8Array {
  const labels = name.split('.').flatMap((l) => [l.length, ...Array.from(l, (c) => c.charCodeAt(0))]);
  return Uint8Array.from([...u16(id), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, ...labels, 0, ...u16(type), 0, 1]);
}
