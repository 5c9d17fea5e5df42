import type { ProbeHit } from '../probe';
import { get16, get32 } from '../../wire/bytes';
import { BOOTP_FIXED_LENGTH, DHCP_MAGIC, DHCP_OPTIONS_OFFSET } from '../../wire/dhcp';
import { DNS_HEADER_LENGTH } from '../../wire/dns';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_VLAN } from '../../wire/ethernet';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from '../../wire/ipv4';
import { IPPROTO_DSTOPTS, IPPROTO_FRAGMENT, IPPROTO_HOPOPTS, IPPROTO_ICMPV6, IPPROTO_ROUTING } from '../../wire/ipv6';
import { DHCP_CLIENT_PORT, DHCP_SERVER_PORT, DNS_PORT } from '../../wire/ports';
import { has, u8 } from './bytes';

export type NetworkKind = 'none' | 'arp' | 'ip' | 'ipv6';
export type TransportKind = 'none' | 'tcp' | 'udp' | 'icmp' | 'icmpv6';
export type AppKind = 'none' | 'dhcp' | 'dns';

/**
 * Offsets of the layers of one Ethernet frame, found on first use and then
 * kept. Nothing is copied: every field is read from `frame` at an offset.
 * A layer counts as present only when its fixed header lies inside the frame,
 * so a truncated frame loses fields rather than throwing.
 */
export class PacketView {
  private decoded = false;
  /** Offset of the 802.1Q tag, -1 when untagged. */
  vlanOff = -1;
  /** The ethertype after any VLAN tag, -1 when the Ethernet header is incomplete. */
  etherType = -1;
  network: NetworkKind = 'none';
  l3Off = -1;
  /** IPv4 header length in bytes, or 40 for IPv6 (extension headers are part of l4 search). */
  l3HdrLen = 0;
  /** End of the datagram as the IP header declares it (may exceed the captured frame). */
  l3DeclaredEnd = 0;
  /** Protocol number of the upper layer (IPv6: after extension headers). */
  upperProto = -1;
  transport: TransportKind = 'none';
  l4Off = -1;
  app: AppKind = 'none';
  appOff = -1;
  /** Where the application bytes end inside the captured frame. */
  appEnd = 0;

  constructor(frame: Uint8Array, hit?: ProbeHit) {
    this.frame = frame;
    this.hit = hit;
  }

  /** The frame looked at; changes only through reset(). */
  frame: Uint8Array;
  hit: ProbeHit | undefined;

  /**
   * Points the view at another frame, forgetting every offset: a filter
   * tested at every hit keeps one view instead of allocating one per frame.
   */
  reset(frame: Uint8Array, hit?: ProbeHit): this {
    this.frame = frame;
    this.hit = hit;
    this.decoded = false;
    this.vlanOff = -1;
    this.etherType = -1;
    this.network = 'none';
    this.l3Off = -1;
    this.l3HdrLen = 0;
    this.l3DeclaredEnd = 0;
    this.upperProto = -1;
    this.transport = 'none';
    this.l4Off = -1;
    this.app = 'none';
    this.appOff = -1;
    this.appEnd = 0;
    return this;
  }

  /** Decodes layer offsets once; cheap and allocation-free. */
  layers(): this {
    if (this.decoded) return this;
    this.decoded = true;
    const f = this.frame;
    if (!has(f, 0, 14)) return this;
    let type = get16(f, 12);
    let off = 14;
    if (type === ETHERTYPE_VLAN) {
      if (!has(f, 14, 4)) return this;
      this.vlanOff = 14;
      type = get16(f, 16);
      off = 18;
    }
    this.etherType = type;
    if (type === ETHERTYPE_ARP) this.decodeArp(off);
    else if (type === ETHERTYPE_IPV4) this.decodeIpv4(off);
    else if (type === ETHERTYPE_IPV6) this.decodeIpv6(off);
    return this;
  }

  /** End of the captured bytes that belong to the IP datagram (Ethernet padding excluded). */
  get l3CapturedEnd(): number {
    return Math.min(this.frame.length, this.l3DeclaredEnd);
  }

  private decodeArp(off: number): void {
    // Only Ethernet/IPv4 ARP (hlen 6, plen 4) is dissected: the only kind slirp speaks.
    if (!has(this.frame, off, 28)) return;
    if (u8(this.frame, off + 4) !== 6 || u8(this.frame, off + 5) !== 4) return;
    this.network = 'arp';
    this.l3Off = off;
  }

  private decodeIpv4(off: number): void {
    const f = this.frame;
    if (!has(f, off, 20) || u8(f, off) >> 4 !== 4) return;
    const hl = (u8(f, off) & 0x0f) * 4;
    if (hl < 20) return;
    this.network = 'ip';
    this.l3Off = off;
    this.l3HdrLen = hl;
    const total = get16(f, off + 2);
    this.l3DeclaredEnd = total >= hl ? off + total : f.length;
    this.upperProto = u8(f, off + 9);
    // Later fragments carry no transport header.
    if ((get16(f, off + 6) & 0x1fff) !== 0) return;
    this.decodeTransport(off + hl);
  }

  private decodeIpv6(off: number): void {
    const f = this.frame;
    if (!has(f, off, 40) || u8(f, off) >> 4 !== 6) return;
    this.network = 'ipv6';
    this.l3Off = off;
    this.l3HdrLen = 40;
    this.l3DeclaredEnd = off + 40 + get16(f, off + 4);
    let next = u8(f, off + 6);
    let p = off + 40;
    for (let hops = 0; hops < 8; hops++) {
      if (next === IPPROTO_HOPOPTS || next === IPPROTO_ROUTING || next === IPPROTO_DSTOPTS) {
        if (!has(f, p, 2)) return;
        const nxt = u8(f, p);
        p += (u8(f, p + 1) + 1) * 8;
        next = nxt;
      } else if (next === IPPROTO_FRAGMENT) {
        if (!has(f, p, 8)) return;
        const nxt = u8(f, p);
        if ((get16(f, p + 2) & 0xfff8) !== 0) { this.upperProto = nxt; return; }
        p += 8;
        next = nxt;
      } else break;
    }
    this.upperProto = next;
    this.decodeTransport(p);
  }

  private decodeTransport(off: number): void {
    const f = this.frame;
    // Room left for the transport header (no closure: this runs for every filtered frame).
    const room = this.l3CapturedEnd - off;
    switch (this.upperProto) {
      case IPPROTO_TCP: {
        if (room < 20) return;
        const thl = (u8(f, off + 12) >> 4) * 4;
        if (thl < 20) return;
        this.transport = 'tcp';
        this.l4Off = off;
        this.decodeTcpApp(off + thl);
        return;
      }
      case IPPROTO_UDP:
        if (room < 8) return;
        this.transport = 'udp';
        this.l4Off = off;
        this.decodeUdpApp(off + 8);
        return;
      case IPPROTO_ICMP:
        if (this.network !== 'ip' || room < 4) return;
        this.transport = 'icmp';
        this.l4Off = off;
        return;
      case IPPROTO_ICMPV6:
        if (this.network !== 'ipv6' || room < 4) return;
        this.transport = 'icmpv6';
        this.l4Off = off;
        return;
    }
  }

  /**
   * DNS over TCP (RFC 1035 4.2.2): a two-byte length, then the message. As in
   * Wireshark, a port-53 segment that starts a message is `dns`.
   */
  private decodeTcpApp(off: number): void {
    const f = this.frame;
    if (get16(f, this.l4Off) !== DNS_PORT && get16(f, this.l4Off + 2) !== DNS_PORT) return;
    if (off + 2 + DNS_HEADER_LENGTH > this.l3CapturedEnd) return;
    const length = get16(f, off);
    if (length < DNS_HEADER_LENGTH) return;
    this.app = 'dns';
    this.appOff = off + 2;
    this.appEnd = Math.min(this.l3CapturedEnd, this.appOff + length);
  }

  private decodeUdpApp(off: number): void {
    const f = this.frame;
    const sport = get16(f, this.l4Off);
    const dport = get16(f, this.l4Off + 2);
    const udpLen = get16(f, this.l4Off + 4);
    const end = Math.min(this.l3CapturedEnd, udpLen >= 8 ? this.l4Off + udpLen : f.length);
    if (isBootpPort(sport) && isBootpPort(dport)) {
      if (off + DHCP_OPTIONS_OFFSET > end) return;
      if (get32(f, off + BOOTP_FIXED_LENGTH) !== DHCP_MAGIC) return;
      this.app = 'dhcp';
    } else if (sport === DNS_PORT || dport === DNS_PORT) {
      if (off + 12 > end) return;
      this.app = 'dns';
    } else return;
    this.appOff = off;
    this.appEnd = end;
  }
}

function isBootpPort(port: number): boolean {
  return port === DHCP_SERVER_PORT || port === DHCP_CLIENT_PORT;
}
