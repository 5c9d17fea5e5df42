/**
 * Conversations of a capture, as Wireshark's "Conversation Filter" groups
 * packets: TCP and UDP by their 5-tuple, ICMP and other IP by the address
 * pair, either direction the same conversation.
 */
import { formatIpv4 } from '../../wire/address';
import { get16, get32 } from '../../wire/bytes';
import { formatIpv6 } from '../../wire/ipv6-address';
import type { PacketView } from '../dissect/packet-view';

export interface Conversation {
  /** "tcp 10.0.2.15:40000 <-> 10.0.2.2:8080": the same for both directions. */
  readonly key: string;
  readonly protocol: 'tcp' | 'udp' | 'icmp' | 'icmpv6' | 'ip';
  /** The endpoints in the order of the first packet: A sent it, B received it. */
  readonly a: string;
  readonly b: string;
  /** The display filter that selects it (Wireshark's spelling). */
  readonly filter: string;
}

/** The conversation a decoded frame belongs to, or undefined for non-IP frames (ARP, ...). */
export function conversationOf(v: PacketView): Conversation | undefined {
  v.layers();
  const f = v.frame;
  const o = v.l3Off;
  let src: string;
  let dst: string;
  let ipFilter: (a: string, b: string) => string;
  if (v.network === 'ip') {
    src = formatIpv4(get32(f, o + 12));
    dst = formatIpv4(get32(f, o + 16));
    ipFilter = (a, b) => `ip.addr == ${a} && ip.addr == ${b}`;
  } else if (v.network === 'ipv6') {
    src = formatIpv6(f.subarray(o + 8, o + 24));
    dst = formatIpv6(f.subarray(o + 24, o + 40));
    ipFilter = (a, b) => `ipv6.addr == ${a} && ipv6.addr == ${b}`;
  } else return undefined;
  if (v.transport === 'tcp' || v.transport === 'udp') {
    const sp = get16(f, v.l4Off);
    const dp = get16(f, v.l4Off + 2);
    const join = (addr: string, port: number) => (v.network === 'ipv6' ? `[${addr}]:${port}` : `${addr}:${port}`);
    const a = join(src, sp);
    const b = join(dst, dp);
    const t = v.transport;
    const portFilter = sp === dp ? `${t}.port == ${sp}` : `${t}.port == ${sp} && ${t}.port == ${dp}`;
    return { key: `${t} ${ordered(a, b)}`, protocol: t, a, b, filter: `${ipFilter(src, dst)} && ${portFilter}` };
  }
  const protocol = v.transport === 'icmp' || v.transport === 'icmpv6' ? v.transport : 'ip';
  const filter = protocol === 'ip' ? ipFilter(src, dst) : `${ipFilter(src, dst)} && ${protocol}`;
  return { key: `${protocol} ${ordered(src, dst)}`, protocol, a: src, b: dst, filter };
}

const ordered = (a: string, b: string) => (a < b ? `${a} <-> ${b}` : `${b} <-> ${a}`);
