import { get16, get32 } from '../../wire/bytes';
import { has, u8 } from './bytes';
import { DhcpOption, findDhcpOption } from '../../wire/dhcp';
import { dnsARecords, dnsQuestions } from '../../wire/dns';
import type { FieldDef, FieldType, FieldValue } from './field-types';
import type { PacketView } from './packet-view';
import { formatIcmpType, formatIcmpv6Type, formatIpFlags } from './value-names';

/**
 * The fields read from the frame bytes, named as Wireshark names them. Each
 * getter checks its own bytes, so a truncated frame yields missing fields.
 */
type Getter = (v: PacketView) => FieldValue | undefined;
type MultiGetter = (v: PacketView) => FieldValue[];

const NONE: FieldValue[] = [];

function single(layer: string, name: string, type: FieldType, description: string, get: Getter, format?: (x: FieldValue) => string): FieldDef {
  return {
    name, type, description, layer, multi: false, get, format,
    getAll: (v) => { const x = get(v); return x === undefined ? NONE : [x]; },
  };
}

/** Multi-valued fields aggregate others (ip.addr = ip.src and ip.dst), so the tree leaves them out. */
function multi(layer: string, name: string, type: FieldType, description: string, getAll: MultiGetter, format?: (x: FieldValue) => string, hidden = true): FieldDef {
  return {
    name, type, description, layer, multi: true, getAll, format, hidden,
    get: (v) => getAll(v)[0],
  };
}

const hex16 = (x: FieldValue) => `0x${(x as number).toString(16).padStart(4, '0')}`;
const hex8 = (x: FieldValue) => `0x${(x as number).toString(16).padStart(2, '0')}`;

/** Reads `len` bytes at `rel` from a layer's offset, if they were captured. */
function at(v: PacketView, base: number, rel: number, len: number): number {
  return base >= 0 && has(v.frame, base + rel, len) ? base + rel : -1;
}

// ---- Ethernet / VLAN -------------------------------------------------------
const eth = (v: PacketView) => v.frame.length >= 14;
const ethFields: FieldDef[] = [
  single('eth', 'eth', 'protocol', 'Ethernet II', (v) => (eth(v) ? v.frame.subarray(0, 14) : undefined)),
  single('eth', 'eth.dst', 'mac', 'Destination MAC address', (v) => (eth(v) ? v.frame.subarray(0, 6) : undefined)),
  single('eth', 'eth.src', 'mac', 'Source MAC address', (v) => (eth(v) ? v.frame.subarray(6, 12) : undefined)),
  multi('eth', 'eth.addr', 'mac', 'Source or destination MAC address', (v) => (eth(v) ? [v.frame.subarray(0, 6), v.frame.subarray(6, 12)] : NONE)),
  single('eth', 'eth.type', 'uint', 'Ethertype (of the outer header: 0x8100 when VLAN-tagged)', (v) => (eth(v) ? get16(v.frame, 12) : undefined), hex16),
  single('vlan', 'vlan', 'protocol', '802.1Q VLAN tag', (v) => (v.layers().vlanOff >= 0 ? v.frame.subarray(14, 18) : undefined)),
  single('vlan', 'vlan.id', 'uint', 'VLAN identifier', (v) => (v.layers().vlanOff >= 0 ? get16(v.frame, 14) & 0x0fff : undefined)),
  single('vlan', 'vlan.priority', 'uint', 'VLAN priority (PCP)', (v) => (v.layers().vlanOff >= 0 ? get16(v.frame, 14) >> 13 : undefined)),
  single('vlan', 'vlan.etype', 'uint', 'Ethertype inside the VLAN tag', (v) => (v.layers().vlanOff >= 0 ? get16(v.frame, 16) : undefined), hex16),
];

// ---- ARP ------------------------------------------------------------------
const arp = (v: PacketView) => (v.layers().network === 'arp' ? v.l3Off : -1);
const arpFields: FieldDef[] = [
  single('arp', 'arp', 'protocol', 'Address Resolution Protocol', (v) => (arp(v) >= 0 ? v.frame.subarray(v.l3Off, v.l3Off + 28) : undefined)),
  single('arp', 'arp.opcode', 'uint', 'Opcode (1 request, 2 reply)', (v) => (arp(v) >= 0 ? get16(v.frame, v.l3Off + 6) : undefined)),
  single('arp', 'arp.src.hw_mac', 'mac', 'Sender MAC address', (v) => (arp(v) >= 0 ? v.frame.subarray(v.l3Off + 8, v.l3Off + 14) : undefined)),
  single('arp', 'arp.src.proto_ipv4', 'ipv4', 'Sender IP address', (v) => (arp(v) >= 0 ? get32(v.frame, v.l3Off + 14) : undefined)),
  single('arp', 'arp.dst.hw_mac', 'mac', 'Target MAC address', (v) => (arp(v) >= 0 ? v.frame.subarray(v.l3Off + 18, v.l3Off + 24) : undefined)),
  single('arp', 'arp.dst.proto_ipv4', 'ipv4', 'Target IP address', (v) => (arp(v) >= 0 ? get32(v.frame, v.l3Off + 24) : undefined)),
];

// ---- IPv4 -----------------------------------------------------------------
const ip = (v: PacketView) => (v.layers().network === 'ip' ? v.l3Off : -1);
const ipU8 = (rel: number) => (v: PacketView) => (ip(v) >= 0 ? u8(v.frame, v.l3Off + rel) : undefined);
const ipU16 = (rel: number) => (v: PacketView) => (ip(v) >= 0 ? get16(v.frame, v.l3Off + rel) : undefined);
const ipFlagBit = (mask: number) => (v: PacketView) => (ip(v) >= 0 ? (get16(v.frame, v.l3Off + 6) & mask) !== 0 : undefined);
const ipFields: FieldDef[] = [
  single('ip', 'ip', 'protocol', 'Internet Protocol version 4', (v) => (ip(v) >= 0 ? v.frame.subarray(v.l3Off, v.l3CapturedEnd) : undefined)),
  single('ip', 'ip.version', 'uint', 'Version', (v) => (ip(v) >= 0 ? 4 : undefined)),
  single('ip', 'ip.hdr_len', 'uint', 'Header length in bytes', (v) => (ip(v) >= 0 ? v.l3HdrLen : undefined)),
  single('ip', 'ip.dsfield', 'uint', 'Differentiated services field', ipU8(1), hex8),
  single('ip', 'ip.len', 'uint', 'Total length', ipU16(2)),
  single('ip', 'ip.id', 'uint', 'Identification', ipU16(4), hex16),
  single('ip', 'ip.flags', 'uint', 'Flags (rb, df, mf as the top three bits of a byte)', (v) => (ip(v) >= 0 ? u8(v.frame, v.l3Off + 6) & 0xe0 : undefined), formatIpFlags),
  single('ip', 'ip.flags.rb', 'bool', 'Reserved bit', ipFlagBit(0x8000)),
  single('ip', 'ip.flags.df', 'bool', "Don't fragment", ipFlagBit(0x4000)),
  single('ip', 'ip.flags.mf', 'bool', 'More fragments', ipFlagBit(0x2000)),
  single('ip', 'ip.frag_offset', 'uint', 'Fragment offset in bytes', (v) => (ip(v) >= 0 ? (get16(v.frame, v.l3Off + 6) & 0x1fff) * 8 : undefined)),
  single('ip', 'ip.ttl', 'uint', 'Time to live', ipU8(8)),
  single('ip', 'ip.proto', 'uint', 'Protocol (1 ICMP, 6 TCP, 17 UDP)', ipU8(9)),
  single('ip', 'ip.checksum', 'uint', 'Header checksum', ipU16(10), hex16),
  single('ip', 'ip.src', 'ipv4', 'Source address', (v) => (ip(v) >= 0 ? get32(v.frame, v.l3Off + 12) : undefined)),
  single('ip', 'ip.dst', 'ipv4', 'Destination address', (v) => (ip(v) >= 0 ? get32(v.frame, v.l3Off + 16) : undefined)),
  multi('ip', 'ip.addr', 'ipv4', 'Source or destination address', (v) => (ip(v) >= 0 ? [get32(v.frame, v.l3Off + 12), get32(v.frame, v.l3Off + 16)] : NONE)),
];

// ---- IPv6 -----------------------------------------------------------------
const ip6 = (v: PacketView) => (v.layers().network === 'ipv6' ? v.l3Off : -1);
const ipv6Fields: FieldDef[] = [
  single('ipv6', 'ipv6', 'protocol', 'Internet Protocol version 6', (v) => (ip6(v) >= 0 ? v.frame.subarray(v.l3Off, v.l3CapturedEnd) : undefined)),
  single('ipv6', 'ipv6.flow', 'uint', 'Flow label', (v) => (ip6(v) >= 0 ? get32(v.frame, v.l3Off) & 0xfffff : undefined)),
  single('ipv6', 'ipv6.plen', 'uint', 'Payload length', (v) => (ip6(v) >= 0 ? get16(v.frame, v.l3Off + 4) : undefined)),
  single('ipv6', 'ipv6.nxt', 'uint', 'Next header (of the fixed header)', (v) => (ip6(v) >= 0 ? u8(v.frame, v.l3Off + 6) : undefined)),
  single('ipv6', 'ipv6.hlim', 'uint', 'Hop limit', (v) => (ip6(v) >= 0 ? u8(v.frame, v.l3Off + 7) : undefined)),
  single('ipv6', 'ipv6.src', 'ipv6', 'Source address', (v) => (ip6(v) >= 0 ? v.frame.subarray(v.l3Off + 8, v.l3Off + 24) : undefined)),
  single('ipv6', 'ipv6.dst', 'ipv6', 'Destination address', (v) => (ip6(v) >= 0 ? v.frame.subarray(v.l3Off + 24, v.l3Off + 40) : undefined)),
  multi('ipv6', 'ipv6.addr', 'ipv6', 'Source or destination address', (v) => (ip6(v) >= 0 ? [v.frame.subarray(v.l3Off + 8, v.l3Off + 24), v.frame.subarray(v.l3Off + 24, v.l3Off + 40)] : NONE)),
];

// ---- ICMP / ICMPv6 --------------------------------------------------------
const l4 = (kind: string) => (v: PacketView) => (v.layers().transport === kind ? v.l4Off : -1);
const icmp = l4('icmp');
const icmp6 = l4('icmpv6');
const ECHO_LIKE = new Set([0, 8, 13, 14, 15, 16, 17, 18]);
const icmpEcho = (v: PacketView, rel: number) => {
  const o = icmp(v);
  if (o < 0 || !ECHO_LIKE.has(u8(v.frame, o))) return undefined;
  const p = at(v, o, rel, 2);
  return p >= 0 && p + 2 <= v.l3CapturedEnd ? get16(v.frame, p) : undefined;
};
const icmpFields: FieldDef[] = [
  single('icmp', 'icmp', 'protocol', 'Internet Control Message Protocol', (v) => (icmp(v) >= 0 ? v.frame.subarray(v.l4Off, v.l3CapturedEnd) : undefined)),
  single('icmp', 'icmp.type', 'uint', 'Type (8 echo request, 0 echo reply, 3 unreachable, 11 time exceeded)', (v) => (icmp(v) >= 0 ? u8(v.frame, v.l4Off) : undefined), formatIcmpType),
  single('icmp', 'icmp.code', 'uint', 'Code', (v) => (icmp(v) >= 0 ? u8(v.frame, v.l4Off + 1) : undefined)),
  single('icmp', 'icmp.checksum', 'uint', 'Checksum', (v) => (icmp(v) >= 0 ? get16(v.frame, v.l4Off + 2) : undefined), hex16),
  single('icmp', 'icmp.ident', 'uint', 'Identifier (echo)', (v) => icmpEcho(v, 4)),
  single('icmp', 'icmp.seq', 'uint', 'Sequence number (echo)', (v) => icmpEcho(v, 6)),
  single('icmpv6', 'icmpv6', 'protocol', 'Internet Control Message Protocol v6', (v) => (icmp6(v) >= 0 ? v.frame.subarray(v.l4Off, v.l3CapturedEnd) : undefined)),
  single('icmpv6', 'icmpv6.type', 'uint', 'Type (128 echo request, 135 neighbour solicitation, ...)', (v) => (icmp6(v) >= 0 ? u8(v.frame, v.l4Off) : undefined), formatIcmpv6Type),
  single('icmpv6', 'icmpv6.code', 'uint', 'Code', (v) => (icmp6(v) >= 0 ? u8(v.frame, v.l4Off + 1) : undefined)),
  single('icmpv6', 'icmpv6.checksum', 'uint', 'Checksum', (v) => (icmp6(v) >= 0 ? get16(v.frame, v.l4Off + 2) : undefined), hex16),
];

// ---- UDP ------------------------------------------------------------------
const udp = l4('udp');
const udpU16 = (rel: number) => (v: PacketView) => (udp(v) >= 0 ? get16(v.frame, v.l4Off + rel) : undefined);
const udpFields: FieldDef[] = [
  single('udp', 'udp', 'protocol', 'User Datagram Protocol', (v) => (udp(v) >= 0 ? v.frame.subarray(v.l4Off, v.l3CapturedEnd) : undefined)),
  single('udp', 'udp.srcport', 'uint', 'Source port', udpU16(0)),
  single('udp', 'udp.dstport', 'uint', 'Destination port', udpU16(2)),
  multi('udp', 'udp.port', 'uint', 'Source or destination port', (v) => (udp(v) >= 0 ? [get16(v.frame, v.l4Off), get16(v.frame, v.l4Off + 2)] : NONE)),
  single('udp', 'udp.length', 'uint', 'Length (header and payload)', udpU16(4)),
  single('udp', 'udp.checksum', 'uint', 'Checksum', udpU16(6), hex16),
];

// ---- TCP ------------------------------------------------------------------
const tcp = l4('tcp');
const tcpHdrLen = (v: PacketView) => (u8(v.frame, v.l4Off + 12) >> 4) * 4;
const tcpFlagBit = (mask: number) => (v: PacketView) => (tcp(v) >= 0 ? (get16(v.frame, v.l4Off + 12) & mask) !== 0 : undefined);
/** Flag names in Wireshark's order: "[SYN, ACK]", "[FIN, PSH, ACK]". */
export function tcpFlagNames(flags: number): string[] {
  const order: Array<[number, string]> = [[0x02, 'SYN'], [0x01, 'FIN'], [0x04, 'RST'], [0x08, 'PSH'], [0x10, 'ACK'], [0x20, 'URG'], [0x40, 'ECE'], [0x80, 'CWR'], [0x100, 'NS']];
  return order.filter(([m]) => flags & m).map(([, n]) => n);
}
const formatTcpFlags = (x: FieldValue) => {
  const f = x as number;
  return `0x${f.toString(16).padStart(3, '0')} (${tcpFlagNames(f).join(', ') || 'none'})`;
};
/** Finds a TCP option's value bytes; the walk stops at the captured end. */
function tcpOption(v: PacketView, kind: number, len: number): number {
  const o = tcp(v);
  if (o < 0) return -1;
  const end = Math.min(o + tcpHdrLen(v), v.frame.length);
  let p = o + 20;
  while (p < end) {
    const k = v.frame[p]!;
    if (k === 0) return -1;
    if (k === 1) { p++; continue; }
    if (p + 1 >= end) return -1;
    const l = v.frame[p + 1]!;
    if (l < 2 || p + l > end) return -1;
    if (k === kind) return l === len ? p + 2 : -1;
    p += l;
  }
  return -1;
}
function tcpPayloadLen(v: PacketView): number | undefined {
  if (tcp(v) < 0) return undefined;
  return Math.max(0, v.l3DeclaredEnd - v.l4Off - tcpHdrLen(v));
}
const tcpFields: FieldDef[] = [
  single('tcp', 'tcp', 'protocol', 'Transmission Control Protocol', (v) => (tcp(v) >= 0 ? v.frame.subarray(v.l4Off, v.l3CapturedEnd) : undefined)),
  single('tcp', 'tcp.srcport', 'uint', 'Source port', (v) => (tcp(v) >= 0 ? get16(v.frame, v.l4Off) : undefined)),
  single('tcp', 'tcp.dstport', 'uint', 'Destination port', (v) => (tcp(v) >= 0 ? get16(v.frame, v.l4Off + 2) : undefined)),
  multi('tcp', 'tcp.port', 'uint', 'Source or destination port', (v) => (tcp(v) >= 0 ? [get16(v.frame, v.l4Off), get16(v.frame, v.l4Off + 2)] : NONE)),
  single('tcp', 'tcp.seq', 'uint', 'Sequence number (raw, not relative)', (v) => (tcp(v) >= 0 ? get32(v.frame, v.l4Off + 4) : undefined)),
  single('tcp', 'tcp.ack', 'uint', 'Acknowledgment number (raw, not relative)', (v) => (tcp(v) >= 0 ? get32(v.frame, v.l4Off + 8) : undefined)),
  single('tcp', 'tcp.hdr_len', 'uint', 'Header length in bytes', (v) => (tcp(v) >= 0 ? tcpHdrLen(v) : undefined)),
  single('tcp', 'tcp.len', 'uint', 'Segment payload length', tcpPayloadLen),
  single('tcp', 'tcp.flags', 'uint', 'Flags (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, URG 0x20, ECE 0x40, CWR 0x80)', (v) => (tcp(v) >= 0 ? get16(v.frame, v.l4Off + 12) & 0x01ff : undefined), formatTcpFlags),
  single('tcp', 'tcp.flags.fin', 'bool', 'FIN', tcpFlagBit(0x01)),
  single('tcp', 'tcp.flags.syn', 'bool', 'SYN', tcpFlagBit(0x02)),
  single('tcp', 'tcp.flags.reset', 'bool', 'RST (Wireshark name)', tcpFlagBit(0x04)),
  { ...single('tcp', 'tcp.flags.rst', 'bool', 'RST (alias of tcp.flags.reset)', tcpFlagBit(0x04)), hidden: true },
  single('tcp', 'tcp.flags.push', 'bool', 'PSH', tcpFlagBit(0x08)),
  single('tcp', 'tcp.flags.ack', 'bool', 'ACK', tcpFlagBit(0x10)),
  single('tcp', 'tcp.flags.urg', 'bool', 'URG', tcpFlagBit(0x20)),
  single('tcp', 'tcp.flags.ece', 'bool', 'ECE', tcpFlagBit(0x40)),
  single('tcp', 'tcp.flags.cwr', 'bool', 'CWR', tcpFlagBit(0x80)),
  single('tcp', 'tcp.window_size_value', 'uint', 'Window (as sent, before scaling)', (v) => (tcp(v) >= 0 ? get16(v.frame, v.l4Off + 14) : undefined)),
  single('tcp', 'tcp.checksum', 'uint', 'Checksum', (v) => (tcp(v) >= 0 ? get16(v.frame, v.l4Off + 16) : undefined), hex16),
  single('tcp', 'tcp.urgent_pointer', 'uint', 'Urgent pointer', (v) => (tcp(v) >= 0 ? get16(v.frame, v.l4Off + 18) : undefined)),
  single('tcp', 'tcp.options.mss_val', 'uint', 'Maximum segment size option', (v) => { const p = tcpOption(v, 2, 4); return p >= 0 ? get16(v.frame, p) : undefined; }),
  single('tcp', 'tcp.options.wscale.shift', 'uint', 'Window scale option (shift count)', (v) => { const p = tcpOption(v, 3, 3); return p >= 0 ? u8(v.frame, p) : undefined; }),
  single('tcp', 'tcp.options.sack_perm', 'bool', 'SACK permitted option present', (v) => (tcp(v) >= 0 ? (tcpOption(v, 4, 2) >= 0 ? true : undefined) : undefined)),
  single('tcp', 'tcp.payload', 'bytes', 'Segment payload (captured part)', (v) => {
    const n = tcpPayloadLen(v);
    if (!n) return undefined;
    const start = v.l4Off + tcpHdrLen(v);
    const end = v.l3CapturedEnd;
    return start < end ? v.frame.subarray(start, end) : undefined;
  }),
];

// ---- DHCP -----------------------------------------------------------------
const dhcp = (v: PacketView) => (v.layers().app === 'dhcp' ? v.appOff : -1);
const dhcpOpt = (v: PacketView, code: number) => (dhcp(v) >= 0 ? findDhcpOption(v.frame, v.appOff, v.appEnd, code) : undefined);
const dhcpFields: FieldDef[] = [
  single('dhcp', 'dhcp', 'protocol', 'Dynamic Host Configuration Protocol', (v) => (dhcp(v) >= 0 ? v.frame.subarray(v.appOff, v.appEnd) : undefined)),
  single('dhcp', 'dhcp.type', 'uint', 'Message type of BOOTP (1 request, 2 reply)', (v) => (dhcp(v) >= 0 ? u8(v.frame, v.appOff) : undefined)),
  single('dhcp', 'dhcp.id', 'uint', 'Transaction ID', (v) => (dhcp(v) >= 0 ? get32(v.frame, v.appOff + 4) : undefined), (x) => `0x${(x as number).toString(16).padStart(8, '0')}`),
  single('dhcp', 'dhcp.ip.client', 'ipv4', 'Client IP address (ciaddr)', (v) => (dhcp(v) >= 0 ? get32(v.frame, v.appOff + 12) : undefined)),
  single('dhcp', 'dhcp.ip.your', 'ipv4', 'Your (client) IP address (yiaddr)', (v) => (dhcp(v) >= 0 ? get32(v.frame, v.appOff + 16) : undefined)),
  single('dhcp', 'dhcp.ip.server', 'ipv4', 'Next server IP address (siaddr)', (v) => (dhcp(v) >= 0 ? get32(v.frame, v.appOff + 20) : undefined)),
  single('dhcp', 'dhcp.hw.mac_addr', 'mac', 'Client MAC address (chaddr)', (v) => (dhcp(v) >= 0 ? v.frame.subarray(v.appOff + 28, v.appOff + 34) : undefined)),
  single('dhcp', 'dhcp.option.dhcp', 'uint', 'DHCP message type (1 DISCOVER, 2 OFFER, 3 REQUEST, 5 ACK, 6 NAK, 7 RELEASE)', (v) => {
    const o = dhcpOpt(v, DhcpOption.MESSAGE_TYPE);
    return o && o.len >= 1 ? u8(v.frame, o.off) : undefined;
  }),
  single('dhcp', 'dhcp.option.hostname', 'string', 'Host name option', (v) => {
    const o = dhcpOpt(v, DhcpOption.HOSTNAME);
    if (!o) return undefined;
    let s = '';
    for (let i = 0; i < o.len; i++) s += String.fromCharCode(v.frame[o.off + i]!);
    return s;
  }),
  single('dhcp', 'dhcp.option.requested_ip_address', 'ipv4', 'Requested IP address option', (v) => {
    const o = dhcpOpt(v, DhcpOption.REQUESTED_ADDRESS);
    return o && o.len === 4 ? get32(v.frame, o.off) : undefined;
  }),
];

// ---- DNS ------------------------------------------------------------------
const dns = (v: PacketView) => (v.layers().app === 'dns' ? v.appOff : -1);
const dnsFields: FieldDef[] = [
  single('dns', 'dns', 'protocol', 'Domain Name System', (v) => (dns(v) >= 0 ? v.frame.subarray(v.appOff, v.appEnd) : undefined)),
  single('dns', 'dns.id', 'uint', 'Transaction ID', (v) => (dns(v) >= 0 ? get16(v.frame, v.appOff) : undefined), hex16),
  single('dns', 'dns.flags', 'uint', 'Flags', (v) => (dns(v) >= 0 ? get16(v.frame, v.appOff + 2) : undefined), hex16),
  single('dns', 'dns.flags.response', 'bool', 'Response (true) or query (false)', (v) => (dns(v) >= 0 ? (u8(v.frame, v.appOff + 2) & 0x80) !== 0 : undefined)),
  single('dns', 'dns.flags.rcode', 'uint', 'Reply code (0 no error, 3 no such name)', (v) => (dns(v) >= 0 ? u8(v.frame, v.appOff + 3) & 0x0f : undefined)),
  single('dns', 'dns.count.queries', 'uint', 'Questions', (v) => (dns(v) >= 0 ? get16(v.frame, v.appOff + 4) : undefined)),
  single('dns', 'dns.count.answers', 'uint', 'Answer RRs', (v) => (dns(v) >= 0 ? get16(v.frame, v.appOff + 6) : undefined)),
  multi('dns', 'dns.qry.name', 'string', 'Query name', (v) => (dns(v) >= 0 ? dnsQuestions(v.frame, v.appOff, v.appEnd).questions.map((q) => q.name) : NONE), undefined, false),
  multi('dns', 'dns.qry.type', 'uint', 'Query type (1 A, 28 AAAA, ...)', (v) => (dns(v) >= 0 ? dnsQuestions(v.frame, v.appOff, v.appEnd).questions.map((q) => q.type) : NONE), undefined, false),
  multi('dns', 'dns.a', 'ipv4', 'Address of an A record in the answers', (v) => (dns(v) >= 0 ? dnsARecords(v.frame, v.appOff, v.appEnd) : NONE), undefined, false),
];

const frameFields: FieldDef[] = [
  single('frame', 'frame.len', 'uint', 'Frame length in bytes', (v) => v.frame.length),
];

export const FRAME_FIELDS: readonly FieldDef[] = [
  ...frameFields, ...ethFields, ...arpFields, ...ipFields, ...ipv6Fields, ...icmpFields, ...udpFields, ...tcpFields, ...dhcpFields, ...dnsFields,
];
