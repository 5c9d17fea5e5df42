import { formatIpv4, formatMac } from '../../wire/address';
import { formatIpv6 } from '../../wire/ipv6-address';
import { get16, get32 } from '../../wire/bytes';
import { u8 } from './bytes';
import { DHCP_MESSAGE_TYPE_NAMES, DhcpOption, findDhcpOption } from '../../wire/dhcp';
import { DNS_TYPE_NAMES, dnsAnswers, dnsQuestions } from '../../wire/dns';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from '../../wire/ethernet';
import { tcpFlagNames } from './frame-fields';
import { PacketView } from './packet-view';

/**
 * One line per frame, in the spirit of Wireshark's Info column:
 * "10.0.2.15:40000 -> 10.0.2.2:8080 TCP [SYN] seq=0 len=0".
 */
export function summarize(frame: Uint8Array): string {
  const v = new PacketView(frame).layers();
  if (frame.length < 14) return `truncated frame (${frame.length} bytes)`;
  switch (v.network) {
    case 'arp': return summarizeArp(v);
    case 'ip':
    case 'ipv6': return summarizeIp(v);
  }
  const type = v.etherType >= 0 ? v.etherType : get16(frame, 12);
  const what = type === ETHERTYPE_IPV4 ? 'IPv4 (truncated)' : type === ETHERTYPE_IPV6 ? 'IPv6 (truncated)' : type === ETHERTYPE_ARP ? 'ARP (truncated)' : `ethertype 0x${type.toString(16).padStart(4, '0')}`;
  return `${formatMac(frame.subarray(6, 12))} -> ${formatMac(frame.subarray(0, 6))} ${what} len=${frame.length}`;
}

function summarizeArp(v: PacketView): string {
  const f = v.frame;
  const o = v.l3Off;
  const op = get16(f, o + 6);
  const senderIp = formatIpv4(get32(f, o + 14));
  const targetIp = formatIpv4(get32(f, o + 24));
  if (op === 1) return senderIp === targetIp ? `ARP announcement ${senderIp}` : `ARP who-has ${targetIp} tell ${senderIp}`;
  if (op === 2) return `ARP ${senderIp} is-at ${formatMac(f.subarray(o + 8, o + 14))}`;
  return `ARP opcode ${op}`;
}

function summarizeIp(v: PacketView): string {
  const f = v.frame;
  const o = v.l3Off;
  const [src, dst] = v.network === 'ip'
    ? [formatIpv4(get32(f, o + 12)), formatIpv4(get32(f, o + 16))]
    : [formatIpv6(f.subarray(o + 8, o + 24)), formatIpv6(f.subarray(o + 24, o + 40))];
  const p = v.l4Off;
  const ports = () => {
    const sp = get16(f, p);
    const dp = get16(f, p + 2);
    return v.network === 'ip' ? `${src}:${sp} -> ${dst}:${dp}` : `[${src}]:${sp} -> [${dst}]:${dp}`;
  };
  switch (v.transport) {
    case 'tcp': {
      const flags = get16(f, p + 12) & 0x01ff;
      const hdr = (u8(f, p + 12) >> 4) * 4;
      const len = Math.max(0, v.l3DeclaredEnd - p - hdr);
      const ack = flags & 0x10 ? ` ack=${get32(f, p + 8)}` : '';
      return `${ports()} TCP [${tcpFlagNames(flags).join(', ')}] seq=${get32(f, p + 4)}${ack} len=${len}`;
    }
    case 'udp':
      if (v.app === 'dhcp') return summarizeDhcp(v);
      if (v.app === 'dns') return `${ports()} ${summarizeDns(v)}`;
      return `${ports()} UDP len=${Math.max(0, get16(f, p + 4) - 8)}`;
    case 'icmp': return `${src} -> ${dst} ICMP ${summarizeIcmp(v)}`;
    case 'icmpv6': return `${src} -> ${dst} ICMPv6 ${ICMPV6_NAMES[u8(f, p)] ?? `type=${u8(f, p)} code=${u8(f, p + 1)}`}`;
  }
  const name = v.network === 'ip' ? 'IPv4' : 'IPv6';
  if (v.network === 'ip') {
    const frag = get16(f, o + 6);
    if ((frag & 0x1fff) !== 0) return `${src} -> ${dst} IPv4 fragment proto=${v.upperProto} off=${(frag & 0x1fff) * 8}${frag & 0x2000 ? ' MF' : ''}`;
  }
  const known = PROTO_NAMES[v.upperProto];
  return known ? `${src} -> ${dst} ${known} (truncated)` : `${src} -> ${dst} ${name} proto=${v.upperProto}`;
}

const PROTO_NAMES: Readonly<Record<number, string>> = { 1: 'ICMP', 6: 'TCP', 17: 'UDP', 58: 'ICMPv6' };

const ICMP_NAMES: Readonly<Record<number, string>> = {
  0: 'echo reply', 3: 'destination unreachable', 4: 'source quench', 5: 'redirect', 8: 'echo request', 11: 'time exceeded', 12: 'parameter problem',
};

const ICMPV6_NAMES: Readonly<Record<number, string>> = {
  1: 'destination unreachable', 2: 'packet too big', 3: 'time exceeded', 128: 'echo request', 129: 'echo reply',
  133: 'router solicitation', 134: 'router advertisement', 135: 'neighbor solicitation', 136: 'neighbor advertisement',
};

function summarizeIcmp(v: PacketView): string {
  const f = v.frame;
  const p = v.l4Off;
  const type = u8(f, p);
  const code = u8(f, p + 1);
  const name = ICMP_NAMES[type] ?? `type=${type}`;
  if ((type === 0 || type === 8) && p + 8 <= v.l3CapturedEnd) return `${name} id=${get16(f, p + 4)} seq=${get16(f, p + 6)}`;
  return code ? `${name} code=${code}` : name;
}

function summarizeDhcp(v: PacketView): string {
  const f = v.frame;
  const opt = findDhcpOption(f, v.appOff, v.appEnd, DhcpOption.MESSAGE_TYPE);
  const kind = opt && opt.len >= 1 ? DHCP_MESSAGE_TYPE_NAMES[u8(f, opt.off)] ?? `type ${u8(f, opt.off)}` : 'BOOTP';
  const your = get32(f, v.appOff + 16);
  return your !== 0 ? `DHCP ${kind} ${formatIpv4(your)}` : `DHCP ${kind}`;
}

function summarizeDns(v: PacketView): string {
  const f = v.frame;
  const o = v.appOff;
  const response = (u8(f, o + 2) & 0x80) !== 0;
  const q = dnsQuestions(f, o, v.appEnd).questions[0];
  const what = q ? ` ${DNS_TYPE_NAMES[q.type] ?? `type${q.type}`} ${q.name}` : '';
  if (!response) return `DNS query${what}`;
  const rcode = u8(f, o + 3) & 0x0f;
  if (rcode === 3) return `DNS response${what} NXDOMAIN`;
  const answers = dnsAnswers(f, o, v.appEnd)
    .filter((a) => (a.type === 1 && a.rdLen === 4) || (a.type === 28 && a.rdLen === 16))
    .map((a) => (a.type === 1 ? formatIpv4(get32(f, a.rdOff)) : formatIpv6(f.subarray(a.rdOff, a.rdOff + 16))));
  return `DNS response${what}${answers.length ? ` -> ${answers.join(', ')}` : ''}${rcode ? ` rcode=${rcode}` : ''}`;
}
