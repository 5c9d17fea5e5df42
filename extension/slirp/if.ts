/**
 * libslirp's if.c: the last step before the net queue. A datagram for the guest
 * is framed for the guest's MAC; while that MAC is unknown the frame waits
 * (bounded) and an ARP request goes out, and the frames waiting for an address
 * leave when the guest's ARP reply (or any frame from it) teaches the MAC.
 */
import { BROADCAST_MAC } from '../wire/bytes';
import { ETHERTYPE_IPV4 } from '../wire/ethernet';
import { markRoute, type RouteMark } from '../pipeline/route';
import { arpRequest, type ArpTable } from './arp';
import { sessionInfo, type SlirpStages } from './core';
import type { GuestNetwork } from './guest-network';
import type { NatSession } from './nat';

/** Frames held while the guest's MAC is being resolved by ARP, at most. */
const MAX_ARP_PENDING = 32;

export class IfOutput {
  /** Frames waiting for the guest's MAC, each with the route that made it (shown when it leaves). */
  private arpPending: { dst: number; frame: Uint8Array; session?: NatSession; route: RouteMark }[] = [];

  constructor(
    private readonly s: SlirpStages,
    private readonly net: GuestNetwork,
    private readonly arpTable: ArpTable,
    /** Delivers a frame to the guest's NIC (the net queue). */
    private readonly output: (frame: Uint8Array) => void,
    /** The guest NIC's MAC before the guest has spoken, if known. */
    private readonly guestMacHint: Uint8Array | undefined,
  ) {}

  /** if_output: frames the datagram for the guest's MAC, resolving it by ARP first if need be. */
  if_output(frame: Uint8Array, dst: number, session?: NatSession): void {
    const p = this.s.probes.probes.if_output;
    if (p.enter(frame)) {
      this.stampEthernet(frame, dst);
      if (p.fire({ stage: p.stage, frame, session: session && sessionInfo(session) }, () => this.s.safely(() => this.if_encap(frame, dst, session)))) return;
    }
    this.if_encap(frame, dst, session);
  }

  private if_encap(frame: Uint8Array, dst: number, session?: NatSession): void {
    const mac = this.macFor(dst);
    if (!mac) {
      const first = !this.arpPending.some((e) => e.dst === dst);
      if (this.arpPending.length >= MAX_ARP_PENDING) {
        this.s.drop('arp-unresolved', this.arpPending.shift()!.frame);
      }
      this.arpPending.push({ dst, frame, session, route: markRoute(this.s.probes.trail, 'if_output') });
      if (first) this.net_slirp_send_packet(arpRequest(this.s.config.gatewayMac, this.s.config.host, dst));
      return;
    }
    this.stampEthernet(frame, dst);
    this.net_slirp_send_packet(frame, session);
  }

  net_slirp_send_packet(frame: Uint8Array, session?: NatSession): void {
    const p = this.s.probes.probes.net_slirp_send_packet;
    if (p.enter(frame) && p.fire({ stage: p.stage, frame, session: session && sessionInfo(session) }, () => this.s.safely(() => this.deliver(frame)))) return;
    this.deliver(frame);
  }

  private deliver(frame: Uint8Array): void {
    if (this.s.closed) return;
    try {
      this.output(frame);
    } catch (err) {
      this.s.drop('output-error', frame);
      this.s.log(`slirp: the net queue refused a frame: ${(err as Error).message}`);
    }
  }

  /** The Ethernet header of an IPv4 frame from the gateway to `dst`, written byte by byte (every frame for the guest takes this path). */
  stampEthernet(frame: Uint8Array, dst: number): void {
    const mac = this.macFor(dst);
    if (mac) for (let i = 0; i < 6; i++) frame[i] = mac[i]!;
    const gw = this.s.config.gatewayMac;
    for (let i = 0; i < 6; i++) frame[6 + i] = gw[i]!;
    frame[12] = ETHERTYPE_IPV4 >>> 8;
    frame[13] = ETHERTYPE_IPV4 & 0xff;
  }

  private macFor(dst: number): Uint8Array | undefined {
    if (dst === 0xffffffff || dst === this.net.broadcast) return BROADCAST_MAC;
    return this.arpTable.lookup(dst) ?? (dst === this.s.guestAddress ? this.guestMacHint : undefined);
  }

  /** Sends the frames whose destination's MAC is now known (called when the ARP table learns one). */
  flushArpPending(): void {
    if (this.arpPending.length === 0) return;
    const waiting = this.arpPending;
    this.arpPending = [];
    for (const e of waiting) {
      if (!this.macFor(e.dst)) {
        this.arpPending.push(e);
        continue;
      }
      // It leaves from the guest's ARP reply, but on the route that made it.
      this.s.probes.resumeRoute(e.route);
      this.if_encap(e.frame, e.dst, e.session);
      this.s.probes.endRoute();
    }
  }

  clear(): void {
    this.arpPending = [];
  }
}
