/** Frame builders for the pipeline tests: real wire formats, checksums included. */
export const GUEST_MAC = '52:54:00:12:34:56';
export const GATEWAY_MAC = '52:55:0a:00:02:02';

export function mac(s: string): number[] {
  return s.split(':').map((x) => parseInt(x, 16));
}
export function ip4(s: string): number[] {
  return s.split('.').map(Number);
}
function be16(n: number): number[] {
  return [(n >> 8) & 0xff, n & 0xff];
}
function be32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}
function checksum(bytes: number[]): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return ~sum & 0xffff;
}

export function ethernet(opts: { dst?: string; src?: string; type: number; vlan?: number }, payload: number[]): Uint8Array {
  const tag = opts.vlan !== undefined ? [0x81, 0x00, ...be16(opts.vlan)] : [];
  const bytes = [...mac(opts.dst ?? GATEWAY_MAC), ...mac(opts.src ?? GUEST_MAC), ...tag, ...be16(opts.type), ...payload];
  while (bytes.length < 60) bytes.push(0); // minimum Ethernet frame: padding must not count as payload
  return Uint8Array.from(bytes);
}

export interface Ipv4Opts { src: string; dst: string; proto: number; ttl?: number; id?: number; df?: boolean; mf?: boolean; fragOffset?: number }
export function ipv4(o: Ipv4Opts, payload: number[]): number[] {
  const flags = (o.df ? 0x4000 : 0) | (o.mf ? 0x2000 : 0) | ((o.fragOffset ?? 0) >> 3);
  const hdr = [0x45, 0, ...be16(20 + payload.length), ...be16(o.id ?? 0x1234), ...be16(flags), o.ttl ?? 64, o.proto, 0, 0, ...ip4(o.src), ...ip4(o.dst)];
  const c = checksum(hdr);
  hdr[10] = c >> 8;
  hdr[11] = c & 0xff;
  return [...hdr, ...payload];
}

export function ipv4Frame(o: Ipv4Opts, payload: number[], eth: { vlan?: number } = {}): Uint8Array {
  return ethernet({ type: 0x0800, ...eth }, ipv4(o, payload));
}

export const TCP = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16, URG: 32, ECE: 64, CWR: 128 };
export interface TcpOpts { sport: number; dport: number; seq?: number; ack?: number; flags: number; window?: number; mss?: number; wscale?: number; payload?: number[] }
export function tcp(o: TcpOpts): number[] {
  const opts: number[] = [];
  if (o.mss !== undefined) opts.push(2, 4, ...be16(o.mss));
  if (o.wscale !== undefined) opts.push(1, 3, 3, o.wscale);
  while (opts.length % 4) opts.push(0);
  const hl = 20 + opts.length;
  return [...be16(o.sport), ...be16(o.dport), ...be32(o.seq ?? 0), ...be32(o.ack ?? 0), (hl / 4) << 4, o.flags, ...be16(o.window ?? 65535), 0xab, 0xcd, 0, 0, ...opts, ...(o.payload ?? [])];
}

export function udp(sport: number, dport: number, payload: number[]): number[] {
  return [...be16(sport), ...be16(dport), ...be16(8 + payload.length), 0x12, 0x34, ...payload];
}

export function icmpEcho(type: number, ident: number, seq: number, data: number[] = [1, 2, 3, 4]): number[] {
  const m = [type, 0, 0, 0, ...be16(ident), ...be16(seq), ...data];
  const c = checksum(m);
  m[2] = c >> 8;
  m[3] = c & 0xff;
  return m;
}

export function arp(op: number, senderMac: string, senderIp: string, targetMac: string, targetIp: string): Uint8Array {
  return ethernet({ type: 0x0806, dst: op === 1 ? 'ff:ff:ff:ff:ff:ff' : targetMac, src: senderMac },
    [0, 1, 0x08, 0, 6, 4, ...be16(op), ...mac(senderMac), ...ip4(senderIp), ...mac(targetMac), ...ip4(targetIp)]);
}

export function dhcp(o: { type: number; xid?: number; chaddr?: string; yiaddr?: string; hostname?: string; requested?: string; reply?: boolean }): number[] {
  const bootp = new Array<number>(236).fill(0);
  bootp[0] = o.reply ? 2 : 1;
  bootp[1] = 1;
  bootp[2] = 6;
  be32(o.xid ?? 0xdeadbeef).forEach((b, i) => (bootp[4 + i] = b));
  ip4(o.yiaddr ?? '0.0.0.0').forEach((b, i) => (bootp[16 + i] = b));
  mac(o.chaddr ?? GUEST_MAC).forEach((b, i) => (bootp[28 + i] = b));
  const opts = [99, 130, 83, 99, 53, 1, o.type];
  if (o.hostname) opts.push(12, o.hostname.length, ...[...o.hostname].map((c) => c.charCodeAt(0)));
  if (o.requested) opts.push(50, 4, ...ip4(o.requested));
  opts.push(255);
  return [...bootp, ...opts];
}

function dnsName(name: string): number[] {
  const out: number[] = [];
  for (const label of name.split('.')) out.push(label.length, ...[...label].map((c) => c.charCodeAt(0)));
  out.push(0);
  return out;
}

export function dnsQuery(id: number, name: string, qtype = 1): number[] {
  return [...be16(id), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, ...dnsName(name), ...be16(qtype), 0, 1];
}

/** A response whose answers point back at the question name (compression). */
export function dnsResponse(id: number, name: string, addrs: string[]): number[] {
  const answers = addrs.flatMap((a) => [0xc0, 12, 0, 1, 0, 1, ...be32(300), 0, 4, ...ip4(a)]);
  return [...be16(id), 0x81, 0x80, 0, 1, ...be16(addrs.length), 0, 0, 0, 0, ...dnsName(name), 0, 1, 0, 1, ...answers];
}

export function ipv6Frame(src: number[], dst: number[], nxt: number, payload: number[], hlim = 255): Uint8Array {
  return ethernet({ type: 0x86dd, dst: '33:33:00:00:00:01' }, [0x60, 0, 0, 0, ...be16(payload.length), nxt, hlim, ...src, ...dst, ...payload]);
}

export function v6(groups: number[]): number[] {
  return groups.flatMap((g) => be16(g));
}
