import { internetChecksum } from '../../../extension/wire/checksum';
import { Ipv4View } from '../../../extension/wire/ipv4';
import { Ipv6View, ipv6TransportChecksum } from '../../../extension/wire/ipv6';
import { UdpView } from '../../../extension/wire/udp';

/**
 * What is wrong with a frame the stack sent the guest, or null: whatever a guest
 * fed it, every frame it sends must be well formed and fit the guest's MTU.
 */
export function malformedReason(f: Uint8Array, mtu: number): string | null {
  if (f.length < 14) return 'frame shorter than an Ethernet header';
  const type = (f[12]! << 8) | f[13]!;
  if (type === 0x0806) return f.length >= 42 ? null : 'short ARP';
  if (type === 0x86dd) return malformed6(f, mtu);
  if (type !== 0x0800) return `ethertype 0x${type.toString(16)}`;
  const ip = Ipv4View.check(f.subarray(14));
  if (typeof ip === 'string') return `bad IPv4: ${ip}`;
  if (ip.totalLength !== f.length - 14) return 'bytes beyond the datagram';
  if (ip.totalLength > mtu) return `larger than the guest MTU (${ip.totalLength} > ${mtu})`;
  if (ip.isFragment) return null;
  if (ip.protocol === 1 && internetChecksum(ip.payload) !== 0) return 'bad ICMP checksum';
  if (ip.protocol === 17 && typeof UdpView.check(ip.payload, ip.source, ip.destination) === 'string') return 'bad UDP datagram';
  return null;
}

function malformed6(f: Uint8Array, mtu: number): string | null {
  const ip = Ipv6View.check(f.subarray(14));
  if (typeof ip === 'string') return `bad IPv6: ${ip}`;
  if (ip.datagram.length !== f.length - 14) return 'bytes beyond the datagram';
  if (ip.datagram.length > mtu && ip.protocol !== 6) return `larger than the guest MTU (${ip.datagram.length} > ${mtu})`;
  if (ip.fragment) return null;
  if ((ip.protocol === 58 || ip.protocol === 17) && ipv6TransportChecksum(ip.source, ip.destination, ip.protocol, ip.payload) !== 0) return 'bad ICMPv6/UDP checksum';
  return null;
}
