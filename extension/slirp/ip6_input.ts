import type { Clock } from '../pipeline/clock';
import type { ProbeHub } from '../pipeline/probe';
import { ETH_HEADER_LENGTH } from '../wire/ethernet';
import { ICMPV6_PACKET_TOO_BIG, ICMPV6_TIME_EXCEEDED, ICMPV6_TIME_EXCEEDED_HOP_LIMIT } from '../wire/icmpv6';
import { IPPROTO_TCP, IPPROTO_UDP } from '../wire/ipv4';
import { IPPROTO_ICMPV6, IPPROTO_NONE, Ipv6View } from '../wire/ipv6';
import { isIpv6Multicast, isIpv6Unspecified } from '../wire/ipv6-address';
import type { SlirpConfig } from './config';
import type { DropReason } from '../pipeline/drop-reasons';
import type { DropCounter } from './drops';
import { Icmp6, type Icmp6EchoDeps } from './icmp6';
import { type Ip6Core, Ip6Addresses } from './ip6';
import { Ip6Output } from './ip6_output';
import type { NatSession } from './nat';
import { NdpTable } from './ndp_table';
import type { Reassembler } from './reassembly';

export interface Ip6StackOptions {
  readonly config: SlirpConfig;
  readonly clock: Clock;
  readonly probes: ProbeHub;
  readonly dropCounter: DropCounter;
  /** The reassembler IPv4 uses: one set of limits bounds what fragments of both families hold. */
  readonly reassembler: Reassembler;
  readonly guestMac?: Uint8Array;
  readonly log: (message: string) => void;
  /** net_slirp_send_packet. */
  readonly send: (frame: Uint8Array, session?: NatSession) => void;
  readonly safely: (fn: () => void) => void;
  /** The transports over IPv6, each given the checked (and reassembled) datagram; absent ones are dropped. */
  readonly udp: (frame: Uint8Array, ip: Ipv6View) => void;
  readonly tcp?: (frame: Uint8Array | undefined, ip: Ipv6View) => void;
  readonly random?: () => number;
  /** Forwarding echo requests past the gateway (icmp6.ts); without it they are dropped. */
  readonly echo?: Icmp6EchoDeps;
}

/**
 * The IPv6 half of the stack (libslirp's ip6_input.c and what hangs off it):
 * checks each datagram, reassembles fragments, answers ICMPv6 and neighbour
 * discovery itself, and hands UDP and TCP to their layers. Created only with
 * ipv6=on.
 */
export class Ip6Stack implements Ip6Core {
  readonly config: SlirpConfig;
  readonly clock: Clock;
  readonly probes: ProbeHub;
  readonly dropCounter: DropCounter;
  readonly addresses: Ip6Addresses;
  readonly ndp: NdpTable;
  readonly icmp6: Icmp6;
  private readonly output: Ip6Output;
  private lastGuestAddress: Uint8Array | undefined;
  private readonly slaac: Uint8Array | undefined;

  constructor(private readonly o: Ip6StackOptions) {
    this.config = o.config;
    this.clock = o.clock;
    this.probes = o.probes;
    this.dropCounter = o.dropCounter;
    this.addresses = new Ip6Addresses(o.config);
    this.ndp = new NdpTable((ip) => this.addresses.isOwn(ip));
    this.slaac = o.guestMac && this.addresses.slaacAddress(o.guestMac);
    this.output = new Ip6Output({
      config: o.config,
      probes: o.probes,
      dropCounter: o.dropCounter,
      addresses: this.addresses,
      ndp: this.ndp,
      guestMacHint: o.guestMac,
      guestAddress: () => this.guestAddress,
      send: o.send,
      solicit: (target) => this.icmp6.ndp_send_ns(target),
      safely: o.safely,
    });
    this.core = this.coreView();
    this.icmp6 = new Icmp6({ core: this.core, ndp: this.ndp, ndpLearned: () => this.output.flushPending(), random: o.random, echo: o.echo });
    this.icmp6.start();
  }

  /** This stack as the protocol modules see it. */
  readonly core: Ip6Core;

  private coreView(): Ip6Core {
    const self = this;
    return {
      config: this.config,
      clock: this.clock,
      probes: this.probes,
      dropCounter: this.dropCounter,
      addresses: this.addresses,
      log: (m) => this.log(m),
      ip6Output: (frame, src, dst, nh, session) => this.ip6Output(frame, src, dst, nh, session),
      sendError: (d, type, code, word) => this.sendError(d, type, code, word),
      get guestAddress() {
        return self.guestAddress;
      },
      safely: (fn) => this.safely(fn),
    };
  }

  log(message: string): void {
    this.o.log(message);
  }

  safely(fn: () => void): void {
    this.o.safely(fn);
  }

  get guestAddress(): Uint8Array {
    return this.lastGuestAddress ?? this.slaac ?? this.addresses.slaacAddress(new Uint8Array(6));
  }

  ip6Output(frame: Uint8Array, src: Uint8Array, dst: Uint8Array, nextHeader: number, session?: NatSession): void {
    this.output.ip6_output(frame, src, dst, nextHeader, session);
  }

  sendError(datagram: Uint8Array, type: number, code: number, word?: number): void {
    this.icmp6.icmp6_send_error(datagram, type, code, word);
  }

  /** Frames waiting for neighbour discovery. */
  get ndpPending(): number {
    return this.output.pendingCount;
  }

  close(): void {
    this.icmp6.close();
    this.output.clear();
  }

  ip6_input(frame: Uint8Array): void {
    const p = this.probes.probes.ip6_input;
    if (p.enter(frame) && p.fire({ stage: p.stage, frame }, () => this.safely(() => this.ip6_check(frame)))) return;
    this.ip6_check(frame);
  }

  private ip6_check(frame: Uint8Array): void {
    const checked = Ipv6View.check(frame.subarray(ETH_HEADER_LENGTH));
    if (typeof checked === 'string') return this.drop(checked, frame);
    let ip = checked;
    const src = ip.source;
    const a = this.addresses;
    if (isIpv6Multicast(src) || a.isOwn(src)) return this.drop('ipv6-bad-source', frame);
    // The unspecified source belongs to neighbour discovery alone (a probe for a tentative address).
    if (isIpv6Unspecified(src) ? ip.protocol !== IPPROTO_ICMPV6 : !a.onLink(src)) return this.drop(isIpv6Unspecified(src) ? 'ipv6-bad-source' : 'ipv6-source-outside-net', frame);
    const dst = ip.destination;
    const forwarded = !isIpv6Multicast(dst) && !a.isOwn(dst);
    // libslirp answers hop limit 0; a datagram to be forwarded also needs one hop to spare (RFC 8200 3), so traceroute6 sees the gateway.
    if (ip.hopLimit === 0 || (forwarded && ip.hopLimit === 1)) {
      this.sendError(ip.datagram, ICMPV6_TIME_EXCEEDED, ICMPV6_TIME_EXCEEDED_HOP_LIMIT);
      return this.drop('ipv6-hop-limit-exceeded', frame);
    }
    // More than the link's MTU cannot have come over the link whole (libslirp's check against IF_MTU).
    if (!ip.fragment && ip.datagram.length > this.config.mtu) {
      this.sendError(ip.datagram, ICMPV6_PACKET_TOO_BIG, 0, this.config.mtu);
      return this.drop('ipv6-too-big', frame);
    }
    if (a.inPrefix(src)) this.lastGuestAddress = src.slice();
    // As ARP learns from IPv4 traffic: a reply then needs no solicitation first.
    if (!isIpv6Unspecified(src) && this.ndp.learn(src, frame.subarray(6, 12))) this.output.flushPending();
    const reassembled = ip.fragment !== undefined;
    if (ip.fragment) {
      const whole = this.o.reassembler.addIpv6(ip);
      if (!whole) return;
      const again = Ipv6View.check(whole);
      if (typeof again === 'string') return this.drop(again, frame);
      if (again.fragment) return this.drop('ipv6-bad-ext-chain', frame);
      ip = again;
    }
    switch (ip.protocol) {
      case IPPROTO_ICMPV6:
        return this.icmp6.icmp6_input(frame, ip);
      case IPPROTO_UDP:
        return this.o.udp(frame, ip);
      case IPPROTO_TCP:
        if (isIpv6Multicast(dst)) return this.drop('ipv6-multicast', frame);
        return this.o.tcp ? this.o.tcp(reassembled ? undefined : frame, ip) : this.drop('tcp6-unsupported', frame);
      case IPPROTO_NONE:
        return this.drop('ipv6-no-next-header', frame);
      default:
        return this.drop('ipv6-unsupported-protocol', frame);
    }
  }

  private drop(reason: string, frame: Uint8Array): void {
    // The wire views name their reasons as plain strings: the ground floor knows nothing of the pipeline's list.
    this.dropCounter.count(reason as DropReason, undefined, frame);
  }
}

