import type { HostForward } from './config';
import { ETH_HEADER_LENGTH, ETHERTYPE_IPV6 } from '../wire/ethernet';
import { ICMPV6_UNREACHABLE, ICMPV6_UNREACH_ADDRESS, ICMPV6_UNREACH_NO_ROUTE } from '../wire/icmpv6';
import { IPPROTO_TCP } from '../wire/ipv4';
import { IPV6_HEADER_LENGTH, ipv6TransportChecksum, type Ipv6View, writeIpv6HeaderAt } from '../wire/ipv6';
import { formatIpv6, parseIpv6 } from '../wire/ipv6-address';
import { set16 } from '../wire/bytes';
import type { DnsServerAddress } from './dns';
import { type Ip6Core, type Ipv6Handles, TRANSPORT6_OFFSET, allocateFrame6 } from './ip6';
import type { NatTable } from './nat';
import type { TcpHost } from './tcp-contract';
import { TcpStack } from './tcp/tcp-stack';

const ICMP_NET_UNREACHABLE = 0;

export interface Tcp6Deps {
  readonly core: Ip6Core;
  /** The handles the TCP stack knows IPv6 addresses by (shared with TFTP over IPv6). */
  readonly handles: Ipv6Handles;
  readonly nat: NatTable;
  /** Where a guest destination goes on the host (as UDP over IPv6 maps it), or null. */
  hostAddressFor(dst: Uint8Array): string | null;
  dnsUpstream(): DnsServerAddress | null;
}

/**
 * TCP over IPv6 through the same TCP stack IPv4 uses (tcp/): the stack knows
 * addresses as 32-bit numbers, so each IPv6 address gets a handle, and the
 * checksums it computes over an IPv4 pseudo-header of handles are redone here
 * over the real IPv6 one (RFC 8200 8.1), in both directions. What this layer
 * adds is only that translation; connections, windows, timers and limits are
 * the stack's own. fec0::2 reaches the host's ::1, other addresses real IPv6
 * sockets, fec0::3:53 the resolver (DNS over TCP).
 */
export class Tcp6 {
  readonly stack: TcpStack;

  constructor(private readonly d: Tcp6Deps) {
    const core = d.core;
    const host: TcpHost = {
      // The stack speaks to the guest from config.host on inbound (hostfwd) connections: the gateway's handle here.
      config: { ...core.config, host: this.handleOf(core.addresses.host)! },
      clock: core.clock,
      probes: core.probes,
      nat: d.nat,
      headroom: TRANSPORT6_OFFSET,
      allocateFrame: allocateFrame6,
      ipOutput: (src, dst, protocol, frame) => this.ipOutput(src, dst, protocol, frame),
      hostAddressFor: (h) => this.hostAddressFor(h),
      guestAddress: () => this.handleOf(core.guestAddress) ?? 0,
      stampHeaders: (src, dst, protocol, frame) => this.stampHeaders(src, dst, protocol, frame),
      addressText: (h) => formatIpv6(this.d.handles.addressOf(h) ?? new Uint8Array(16)),
    };
    // The IPv6 header is 20 bytes longer than IPv4's: the MSS offered is that much smaller.
    this.stack = new TcpStack(host, { mss: core.config.mtu - IPV6_HEADER_LENGTH - 20, verifyChecksum: false });
  }

  /** tcp_input over IPv6: the checksum is checked against the IPv6 pseudo-header, then the stack takes the segment. */
  input(frame: Uint8Array | undefined, ip: Ipv6View): void {
    const segment = ip.payload;
    if (segment.length < 20) return this.d.core.dropCounter.count('tcp-truncated-header', 'tcp_input', frame);
    if (ipv6TransportChecksum(ip.source, ip.destination, IPPROTO_TCP, segment) !== 0) return this.d.core.dropCounter.count('tcp-bad-checksum', 'tcp_input', frame);
    const src = this.handleOf(ip.source);
    const dst = this.handleOf(ip.destination);
    if (src === undefined || dst === undefined) return this.d.core.dropCounter.count('tcp-max-connections', 'tcp_input', frame);
    this.stack.input(src, dst, segment, frame);
  }

  pause(): void {
    this.stack.pause();
  }

  resume(): void {
    this.stack.resume();
  }

  close(): void {
    this.stack.close();
  }

  /** A hostfwd rule to an IPv6 guest address (`[fec0::15]:22`): the stack knows it by its handle. */
  addHostForward(rule: HostForward): Promise<void> {
    const guest = parseIpv6(rule.guestAddr6 ?? '');
    const handle = guest && this.handleOf(guest);
    if (!handle) return Promise.reject(new Error(`hostfwd: bad IPv6 guest address ${rule.guestAddr6}`));
    return this.stack.addHostForward({ ...rule, guestAddr: handle });
  }

  private handleOf(addr: Uint8Array): number | undefined {
    return this.d.handles.handleOf(addr);
  }

  private hostAddressFor(h: number): string | null {
    const dst = this.d.handles.addressOf(h);
    if (!dst) return null;
    const a = this.d.core.addresses;
    if (a.isDns(dst)) {
      if (this.d.core.config.restrict) return null;
      const up = this.d.dnsUpstream();
      return up && up.port === 53 ? up.address : null;
    }
    return this.d.hostAddressFor(dst);
  }

  /** `frame` holds the transport bytes from TRANSPORT6_OFFSET (allocateFrame6). */
  private ipOutput(src: number, dst: number, protocol: number, frame: Uint8Array): void {
    const from = this.d.handles.addressOf(src);
    const to = this.d.handles.addressOf(dst);
    if (!from || !to) return;
    const segment = frame.subarray(TRANSPORT6_OFFSET);
    if (protocol !== IPPROTO_TCP) return this.unreachable(from, to, segment);
    set16(segment, 16, 0);
    set16(segment, 16, ipv6TransportChecksum(from, to, IPPROTO_TCP, segment));
    this.d.core.ip6Output(frame, from, to, IPPROTO_TCP);
  }

  /**
   * The stack reports a failed host connect as an IPv4 ICMP unreachable
   * quoting the SYN; over IPv6 it becomes ICMPv6 destination unreachable
   * quoting an IPv6 header and the SYN's first bytes.
   */
  private unreachable(remote: Uint8Array, guest: Uint8Array, icmp: Uint8Array): void {
    const tcpHead = icmp.subarray(8 + 20);
    const tcpLength = ((icmp[8 + 2]! << 8) | icmp[8 + 3]!) - 20;
    const quote = new Uint8Array(IPV6_HEADER_LENGTH + tcpHead.length);
    writeIpv6HeaderAt(quote, 0, guest, remote, IPPROTO_TCP, tcpLength);
    quote.set(tcpHead, IPV6_HEADER_LENGTH);
    this.d.core.sendError(quote, ICMPV6_UNREACHABLE, icmp[1] === ICMP_NET_UNREACHABLE ? ICMPV6_UNREACH_NO_ROUTE : ICMPV6_UNREACH_ADDRESS);
  }

  /** The headers a segment will travel with, for an armed tcp_output probe (Ethernet addresses left to if_output). */
  private stampHeaders(src: number, dst: number, protocol: number, frame: Uint8Array): void {
    const from = this.d.handles.addressOf(src) ?? new Uint8Array(16);
    const to = this.d.handles.addressOf(dst) ?? new Uint8Array(16);
    writeIpv6HeaderAt(frame, ETH_HEADER_LENGTH, from, to, protocol, frame.length - TRANSPORT6_OFFSET);
    frame[12] = ETHERTYPE_IPV6 >>> 8;
    frame[13] = ETHERTYPE_IPV6 & 0xff;
  }
}
