import type { TimerHandle } from '../pipeline/clock';
import type { DropReason } from '../pipeline/drop-reasons';
import type { StageName } from '../pipeline/stages';
import {
  ICMPV6_ECHO_REPLY,
  ICMPV6_ECHO_REQUEST,
  ICMPV6_HEADER_LENGTH,
  ICMPV6_MAX_QUOTE,
  ICMPV6_PACKET_TOO_BIG,
  ICMPV6_UNREACHABLE,
  ICMPV6_UNREACH_ADDRESS,
  ICMPV6_UNREACH_NO_ROUTE,
  Icmpv6View,
  isIcmpv6Error,
  isMldReport,
  setIcmpv6Checksum,
} from '../wire/icmpv6';
import { IPPROTO_ICMPV6, IPV6_HEADER_LENGTH, Ipv6View } from '../wire/ipv6';
import { IPV6_ALL_NODES, formatIpv6, ipv6Equal, isIpv6LinkLocal, isIpv6Multicast, isIpv6Unspecified, solicitedNodeMulticast } from '../wire/ipv6-address';
import { emitNdp, isNdpType, parseNdp, type NdpMessage } from '../wire/ndp';
import { set32 } from '../wire/bytes';
import { type Ip6Core, TRANSPORT6_OFFSET, allocateFrame6, virtualMac6 } from './ip6';
import type { NdpTable } from './ndp_table';
import { constants as osConstants } from 'node:os';
import { sessionInfo } from './core';
import { EchoFlows } from './icmp-echo';
import type { NatSession, NatTable } from './nat';
import type { PingSockets } from './ping-socket';

/**
 * libslirp's router configuration (ip6_icmp.h, RFC 4861 6.2.1): advertisements
 * every 200-600 s, a default router for three times the longest interval, the
 * prefix valid a day and preferred four hours, the DNS (RDNSS, RFC 8106) for
 * twice the longest interval.
 */
export const NDP_MAX_RTR_ADV_INTERVAL_MS = 600_000;
export const NDP_MIN_RTR_ADV_INTERVAL_MS = NDP_MAX_RTR_ADV_INTERVAL_MS / 3;
const NDP_ADV_DEFAULT_LIFETIME_S = (3 * NDP_MAX_RTR_ADV_INTERVAL_MS) / 1000;
const NDP_ADV_VALID_LIFETIME_S = 86400;
const NDP_ADV_PREF_LIFETIME_S = 14400;
const NDP_ADV_CUR_HOP_LIMIT = 64;
const NDP_RDNSS_LIFETIME_S = (2 * NDP_MAX_RTR_ADV_INTERVAL_MS) / 1000;
/** RFC 4861 6.1, 7.1: a neighbour discovery message with any other hop limit came from off the link and is forged. */
const NDP_HOP_LIMIT = 255;

/** What forwarding echo requests past the gateway needs (icmp-echo.ts); without it they are dropped. */
export interface Icmp6EchoDeps {
  readonly nat: NatTable;
  readonly sockets: PingSockets;
  /** The host address a guest destination reaches, or null (udp6's rule, so every transport reaches the same hosts). */
  hostAddressFor(dst: Uint8Array): string | null;
}

export interface Icmp6Deps {
  readonly core: Ip6Core;
  readonly ndp: NdpTable;
  readonly echo?: Icmp6EchoDeps;
  /** A mapping was learned: frames waiting for it can go. */
  ndpLearned(): void;
  /** Random interval between periodic router advertisements (injectable for tests). */
  readonly random?: () => number;
}

/**
 * icmp6_input and neighbour discovery (libslirp's ip6_icmp.c): echo requests to
 * the gateway and the DNS address are answered; router solicitations get an
 * advertisement of the prefix (and one goes out periodically); neighbour
 * solicitations for the virtual addresses are answered and the guest's own
 * advertisements fill the neighbour table. What a guest must not send (router
 * advertisements, redirects, claims on the virtual addresses) is dropped and
 * counted.
 */
export class Icmp6 {
  private raTimer: TimerHandle | undefined;
  private closed = false;

  private readonly core: Ip6Core;
  readonly echo: EchoFlows | undefined;

  constructor(private readonly d: Icmp6Deps) {
    const core = (this.core = d.core);
    this.echo =
      d.echo &&
      new EchoFlows(
        { clock: core.clock, probes: core.probes, nat: d.echo.nat, dropCounter: core.dropCounter, sockets: d.echo.sockets, log: (m) => core.log(m) },
        {
          family: 6,
          reply: (message, session, remote, guest) => this.send('icmp6_send_echoreply', message, remote, guest, session),
          // The gateway found no way on: no route, or the address did not answer (RFC 4443 3.1).
          unreachable: (datagram, err) =>
            this.icmp6_send_error(datagram, ICMPV6_UNREACHABLE, err === osConstants.errno.EHOSTUNREACH ? ICMPV6_UNREACH_ADDRESS : ICMPV6_UNREACH_NO_ROUTE),
          drops: 'icmpv6',
        },
      );
  }

  /** Starts the periodic router advertisements. */
  start(): void {
    this.scheduleRa();
  }

  close(): void {
    this.closed = true;
    if (this.raTimer) this.core.clock.clearTimeout(this.raTimer);
    this.raTimer = undefined;
    this.echo?.close();
  }

  private scheduleRa(): void {
    if (this.closed) return;
    const r = (this.d.random ?? Math.random)();
    const interval = NDP_MIN_RTR_ADV_INTERVAL_MS + Math.floor(r * (NDP_MAX_RTR_ADV_INTERVAL_MS - NDP_MIN_RTR_ADV_INTERVAL_MS));
    this.raTimer = this.core.clock.setTimeout(() => {
      this.scheduleRa();
      this.ndp_send_ra();
    }, interval);
  }

  icmp6_input(frame: Uint8Array, ip: Ipv6View): void {
    const p = this.core.probes.probes.icmp6_input;
    if (p.enter(frame) && p.fire({ stage: p.stage, frame }, () => this.core.safely(() => this.icmp6_dispatch(frame, ip)))) return;
    this.icmp6_dispatch(frame, ip);
  }

  private icmp6_dispatch(frame: Uint8Array, ip: Ipv6View): void {
    const checked = Icmpv6View.check(ip.payload, ip.source, ip.destination);
    if (typeof checked === 'string') return this.drop(checked, frame);
    const type = checked.type;
    if (isNdpType(type)) return this.ndp_input(frame, ip);
    if (type === ICMPV6_ECHO_REQUEST) {
      // Only neighbour discovery and MLD may speak from the unspecified address: an echo could not be answered.
      if (isIpv6Unspecified(ip.source)) return this.drop('ipv6-bad-source', frame);
      if (ip.payload.length < ICMPV6_HEADER_LENGTH) return this.drop('icmpv6-truncated', frame);
      if (this.core.addresses.isOwn(ip.destination)) return this.icmp6_send_echoreply(ip);
      if (isIpv6Multicast(ip.destination)) return this.drop('icmpv6-multicast-echo', frame);
      if (this.core.config.restrict) return this.drop('icmpv6-restricted', frame);
      if (!this.echo) return this.drop('icmpv6-forward-unsupported', frame);
      if (this.d.echo!.hostAddressFor(ip.destination) === null) return this.drop('icmpv6-no-host-address', frame);
      const dst = ip.destination.slice();
      const row = { guestAddr: 0, guestAddr6: formatIpv6(ip.source), remoteAddr: 0, remoteAddr6: formatIpv6(dst), hostPeerAddr: formatIpv6(dst) };
      return this.echo.forward({ frame, datagram: ip.datagram, message: ip.payload, guest: ip.source.slice(), remote: dst, row });
    }
    // The guest's multicast listener reports (sent by every IPv6 interface that comes up) would matter to a
    // multicast router; this gateway forwards no multicast. Errors the guest sends concern no flow of ours.
    if (isMldReport(type)) return this.drop('mld-report', frame);
    return this.drop(isIcmpv6Error(type) ? 'icmpv6-error-from-guest' : 'icmpv6-unsupported-type', frame);
  }

  /** ndp_input: router and neighbour solicitations and advertisements from the guest. */
  private ndp_input(frame: Uint8Array, ip: Ipv6View): void {
    const p = this.core.probes.probes.ndp_input;
    if (p.enter(frame) && p.fire({ stage: p.stage, frame }, () => this.core.safely(() => this.ndp_dispatch(frame, ip)))) return;
    this.ndp_dispatch(frame, ip);
  }

  private ndp_dispatch(frame: Uint8Array, ip: Ipv6View): void {
    if (ip.hopLimit !== NDP_HOP_LIMIT) return this.drop('ndp-bad-hop-limit', frame);
    const m = parseNdp(ip.payload);
    if (typeof m === 'string') return this.drop(m, frame);
    const a = this.core.addresses;
    const src = ip.source;
    const unspecified = isIpv6Unspecified(src);
    // A probe from the unspecified address (duplicate address detection) must not carry a link-layer address (RFC 4861 6.1.1, 7.1.1).
    if (unspecified && m.sourceLinkLayer) return this.drop('ndp-bad-source', frame);
    const frameSource = frame.subarray(6, 12);
    switch (m.type) {
      case 'router-solicitation':
        if (!unspecified) this.learn(src, m.sourceLinkLayer ?? frameSource);
        return this.ndp_send_ra();
      case 'neighbor-solicitation':
        if (isIpv6Multicast(m.target)) return this.drop('ndp-bad-target', frame);
        if (unspecified && !ipv6Equal(ip.destination, solicitedNodeMulticast(m.target))) return this.drop('ndp-bad-destination', frame);
        // From :: (checked above to go to the target's solicited-node group) it is the guest's duplicate address
        // detection for an address of its own: silence is the answer it waits for (RFC 4862 5.4).
        if (!a.isOwn(m.target)) return this.drop(unspecified ? 'ndp-dad-probe' : 'ndp-not-ours', frame);
        if (unspecified) return this.ndp_send_na(m.target, IPV6_ALL_NODES, false);
        this.learn(src, m.sourceLinkLayer ?? frameSource);
        return this.ndp_send_na(m.target, src, true);
      case 'neighbor-advertisement':
        if (isIpv6Multicast(m.target)) return this.drop('ndp-bad-target', frame);
        if (m.solicited && isIpv6Multicast(ip.destination)) return this.drop('ndp-bad-destination', frame);
        // The guest claiming the gateway's or the DNS's address would capture their traffic.
        if (a.isOwn(m.target)) return this.drop('ndp-spoofed-advertisement', frame);
        return this.learn(m.target, m.targetLinkLayer ?? frameSource);
      case 'router-advertisement':
        this.core.log('slirp: the guest sent a router advertisement (dropped: this network has one router)');
        return this.drop('ndp-guest-router-advertisement', frame);
      case 'redirect':
        return this.drop('ndp-guest-redirect', frame);
    }
  }

  private learn(ip: Uint8Array, mac: Uint8Array): void {
    if (this.d.ndp.learn(ip, mac)) this.d.ndpLearned();
  }

  /** ndp_send_ra: the prefix for SLAAC, the gateway as default router, the DNS address (RDNSS), to all nodes. */
  ndp_send_ra(): void {
    const a = this.core.addresses;
    const ra: NdpMessage = {
      type: 'router-advertisement',
      curHopLimit: NDP_ADV_CUR_HOP_LIMIT,
      managed: false,
      otherConfig: false,
      routerLifetime: NDP_ADV_DEFAULT_LIFETIME_S,
      reachableTime: 0,
      retransTimer: 0,
      sourceLinkLayer: virtualMac6(a.linkLocalHost),
      prefixes: [
        { prefixLength: a.prefixLength, onLink: true, autonomous: true, validLifetime: NDP_ADV_VALID_LIFETIME_S, preferredLifetime: NDP_ADV_PREF_LIFETIME_S, prefix: a.prefix },
      ],
      rdnss: { lifetime: NDP_RDNSS_LIFETIME_S, servers: [a.dns] },
    };
    this.send('ndp_send_ra', emitNdp(ra), a.linkLocalHost, IPV6_ALL_NODES);
  }

  /** ndp_send_na: `target` (a virtual address) is at its virtual MAC. Unsolicited ones (defending an address) go to all nodes. */
  private ndp_send_na(target: Uint8Array, dst: Uint8Array, solicited: boolean): void {
    const na: NdpMessage = {
      type: 'neighbor-advertisement',
      router: this.core.addresses.isHost(target),
      solicited,
      override: true,
      target,
      targetLinkLayer: virtualMac6(target),
    };
    this.send('ndp_send_na', emitNdp(na), target, dst);
  }

  /** ndp_send_ns: asks who has `target`, from the gateway (its link-local address for a link-local target). */
  ndp_send_ns(target: Uint8Array): void {
    const a = this.core.addresses;
    const src = isIpv6LinkLocal(target) ? a.linkLocalHost : a.host;
    const ns: NdpMessage = { type: 'neighbor-solicitation', target, sourceLinkLayer: virtualMac6(src) };
    this.send('ndp_send_ns', emitNdp(ns), src, solicitedNodeMulticast(target));
  }

  private icmp6_send_echoreply(ip: Ipv6View): void {
    const reply = new Uint8Array(ip.payload);
    reply[0] = ICMPV6_ECHO_REPLY;
    reply[1] = 0;
    this.send('icmp6_send_echoreply', reply, ip.destination, ip.source);
  }

  /**
   * icmp6_send_error (RFC 4443 2.4): never about an error, nor about a datagram
   * from an unspecified or multicast source, nor (but for packet too big) one
   * sent to a multicast group. It comes from the gateway, the guest's router.
   */
  icmp6_send_error(datagram: Uint8Array, type: number, code: number, word = 0): void {
    if (datagram.length < IPV6_HEADER_LENGTH) return;
    const v = Ipv6View.check(datagram);
    const src = datagram.subarray(8, 24);
    const dst = datagram.subarray(24, 40);
    if (isIpv6Unspecified(src) || isIpv6Multicast(src)) return;
    if (isIpv6Multicast(dst) && type !== ICMPV6_PACKET_TOO_BIG) return;
    if (typeof v !== 'string' && v.protocol === IPPROTO_ICMPV6 && !v.fragment && (v.payload.length === 0 || isIcmpv6Error(v.payload[0]!))) return;
    const quote = datagram.subarray(0, Math.min(datagram.length, ICMPV6_MAX_QUOTE));
    const msg = new Uint8Array(ICMPV6_HEADER_LENGTH + quote.length);
    msg[0] = type;
    msg[1] = code;
    set32(msg, 4, word);
    msg.set(quote, ICMPV6_HEADER_LENGTH);
    const a = this.core.addresses;
    this.send('icmp6_send_error', msg, isIpv6LinkLocal(src) ? a.linkLocalHost : a.host, src);
  }

  /** Puts an ICMPv6 message in a frame, fills its checksum and hands it to ip6_output past the stage's probe. */
  private send(stage: StageName, message: Uint8Array, src: Uint8Array, dst: Uint8Array, session?: NatSession): void {
    const frame = allocateFrame6(message.length);
    const msg = frame.subarray(TRANSPORT6_OFFSET);
    msg.set(message);
    setIcmpv6Checksum(msg, src, dst);
    const from = src.slice();
    const to = dst.slice();
    const p = this.core.probes.probes[stage];
    if (p.enter(frame) && p.fire({ stage, frame, session: session && sessionInfo(session) }, () => this.core.safely(() => this.core.ip6Output(frame, from, to, IPPROTO_ICMPV6, session)))) return;
    this.core.ip6Output(frame, from, to, IPPROTO_ICMPV6, session);
  }

  private drop(reason: string, frame: Uint8Array): void {
    // parseNdp and the ICMPv6 view name their reasons as plain strings (the wire layer knows nothing of the pipeline's list).
    this.core.dropCounter.count(reason as DropReason, undefined, frame);
  }
}
