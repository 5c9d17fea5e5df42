import type { ProbeHub } from '../pipeline/probe';
import { ETH_HEADER_LENGTH, ETHERTYPE_IPV6 } from '../wire/ethernet';
import { IPPROTO_FRAGMENT, IPV6_FRAGMENT_HEADER_LENGTH, IPV6_HEADER_LENGTH, writeIpv6HeaderAt } from '../wire/ipv6';
import { ipv6Equal, ipv6MulticastMac, isIpv6Multicast } from '../wire/ipv6-address';
import { IPPROTO_TCP } from '../wire/ipv4';
import { ETHERNET_MTU, type SlirpConfig } from './config';
import { sessionInfo } from './core';
import type { DropCounter } from './drops';
import { type Ip6Addresses, TRANSPORT6_OFFSET, allocateFrame6, virtualMac6 } from './ip6';
import type { NatSession } from './nat';
import type { NdpTable } from './ndp_table';

/** Frames held while a guest address is being resolved by neighbour solicitation, at most (as ARP's). */
const MAX_NDP_PENDING = 32;
/** libslirp's IP6_HOP_LIMIT: what every datagram for the guest carries. */
export const IP6_HOP_LIMIT = 255;

export interface Ip6OutputDeps {
  readonly config: SlirpConfig;
  readonly probes: ProbeHub;
  readonly dropCounter: DropCounter;
  readonly addresses: Ip6Addresses;
  readonly ndp: NdpTable;
  /** The guest NIC's MAC when known before the guest has spoken. */
  readonly guestMacHint: Uint8Array | undefined;
  /** The guest's global address (to use the MAC hint for it). */
  guestAddress(): Uint8Array;
  /** net_slirp_send_packet. */
  send(frame: Uint8Array, session?: NatSession): void;
  /** ndp_send_ns: asks the guest for the MAC of `target`. */
  solicit(target: Uint8Array): void;
  /** Runs `fn` so that an exception drops the frame instead of escaping. */
  safely(fn: () => void): void;
}

/**
 * ip6_output and the IPv6 half of if_output: writes the IPv6 header in front of
 * the transport bytes, cuts what the guest's link cannot take into fragments
 * (a source's job in IPv6: no router does it), and frames each for the guest's
 * MAC, resolving it by neighbour solicitation first if need be.
 */
export class Ip6Output {
  private pending: { dst: Uint8Array; frame: Uint8Array; session?: NatSession }[] = [];
  private fragmentId = 1;

  constructor(private readonly d: Ip6OutputDeps) {}

  ip6_output(frame: Uint8Array, src: Uint8Array, dst: Uint8Array, nextHeader: number, session?: NatSession): void {
    const p = this.d.probes.probes.ip6_output;
    const payloadLength = frame.length - TRANSPORT6_OFFSET;
    if (p.enter(frame)) {
      writeIpv6HeaderAt(frame, ETH_HEADER_LENGTH, src, dst, nextHeader, payloadLength, IP6_HOP_LIMIT);
      this.stampEthernet(frame, src, dst);
      if (p.fire({ stage: p.stage, frame, session: session && sessionInfo(session) }, () => this.d.safely(() => this.send(frame, src, dst, nextHeader, session)))) return;
    }
    this.send(frame, src, dst, nextHeader, session);
  }

  private send(frame: Uint8Array, src: Uint8Array, dst: Uint8Array, nextHeader: number, session?: NatSession): void {
    const payloadLength = frame.length - TRANSPORT6_OFFSET;
    // As for IPv4: TCP follows the MSS the guest announced; anything else fits what every guest takes.
    const mtu = nextHeader === IPPROTO_TCP ? this.d.config.mtu : Math.min(this.d.config.mtu, ETHERNET_MTU);
    if (IPV6_HEADER_LENGTH + payloadLength <= mtu) {
      writeIpv6HeaderAt(frame, ETH_HEADER_LENGTH, src, dst, nextHeader, payloadLength, IP6_HOP_LIMIT);
      return this.if_output(frame, src, dst, session);
    }
    const piece = Math.floor((mtu - IPV6_HEADER_LENGTH - IPV6_FRAGMENT_HEADER_LENGTH) / 8) * 8;
    const id = this.fragmentId++ >>> 0;
    for (let off = 0; off < payloadLength; off += piece) {
      const len = Math.min(piece, payloadLength - off);
      const f = allocateFrame6(IPV6_FRAGMENT_HEADER_LENGTH + len);
      writeIpv6HeaderAt(f, ETH_HEADER_LENGTH, src, dst, IPPROTO_FRAGMENT, IPV6_FRAGMENT_HEADER_LENGTH + len, IP6_HOP_LIMIT);
      const h = TRANSPORT6_OFFSET;
      const fo = off | (off + len < payloadLength ? 1 : 0);
      f[h] = nextHeader;
      f[h + 2] = fo >>> 8;
      f[h + 3] = fo & 0xff;
      f[h + 4] = id >>> 24;
      f[h + 5] = (id >>> 16) & 0xff;
      f[h + 6] = (id >>> 8) & 0xff;
      f[h + 7] = id & 0xff;
      f.set(frame.subarray(TRANSPORT6_OFFSET + off, TRANSPORT6_OFFSET + off + len), h + IPV6_FRAGMENT_HEADER_LENGTH);
      this.if_output(f, src, dst, session);
    }
  }

  private if_output(frame: Uint8Array, src: Uint8Array, dst: Uint8Array, session?: NatSession): void {
    const p = this.d.probes.probes.if_output;
    if (p.enter(frame)) {
      this.stampEthernet(frame, src, dst);
      if (p.fire({ stage: p.stage, frame, session: session && sessionInfo(session) }, () => this.d.safely(() => this.if_encap(frame, src, dst, session)))) return;
    }
    this.if_encap(frame, src, dst, session);
  }

  private if_encap(frame: Uint8Array, src: Uint8Array, dst: Uint8Array, session?: NatSession): void {
    if (!this.macFor(dst)) {
      const first = !this.pending.some((e) => ipv6Equal(e.dst, dst));
      if (this.pending.length >= MAX_NDP_PENDING) {
        this.pending.shift();
        this.d.dropCounter.count('ndp-unresolved');
      }
      this.pending.push({ dst: dst.slice(), frame, session });
      if (first) this.d.solicit(dst);
      return;
    }
    this.stampEthernet(frame, src, dst);
    this.d.send(frame, session);
  }

  /** Sends what waited for a MAC that is now known. */
  flushPending(): void {
    if (this.pending.length === 0) return;
    const waiting = this.pending;
    this.pending = [];
    for (const e of waiting) {
      if (this.macFor(e.dst)) this.if_encap(e.frame, e.frame.subarray(ETH_HEADER_LENGTH + 8, ETH_HEADER_LENGTH + 24), e.dst, e.session);
      else this.pending.push(e);
    }
  }

  /** Frames waiting for neighbour discovery (bounded). */
  get pendingCount(): number {
    return this.pending.length;
  }

  clear(): void {
    this.pending = [];
  }

  private macFor(dst: Uint8Array): Uint8Array | undefined {
    if (isIpv6Multicast(dst)) return ipv6MulticastMac(dst);
    return this.d.ndp.lookup(dst) ?? (this.d.guestMacHint && ipv6Equal(dst, this.d.guestAddress()) ? this.d.guestMacHint : undefined);
  }

  /**
   * The Ethernet header: to the guest's MAC (or the multicast group's), from
   * the MAC of the virtual address that speaks (libslirp's in6_compute_ethaddr);
   * what the NAT relays comes from the gateway, the guest's router.
   */
  private stampEthernet(frame: Uint8Array, src: Uint8Array, dst: Uint8Array): void {
    const mac = this.macFor(dst);
    if (mac) frame.set(mac, 0);
    const a = this.d.addresses;
    frame.set(virtualMac6(a.isOwn(src) ? src : a.linkLocalHost), 6);
    frame[12] = ETHERTYPE_IPV6 >>> 8;
    frame[13] = ETHERTYPE_IPV6 & 0xff;
  }
}

