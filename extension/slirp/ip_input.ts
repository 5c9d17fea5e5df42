/**
 * libslirp's ip_input.c: an IPv4 datagram from the guest is checked (header,
 * lengths, checksum, source address), teaches the ARP table the sender's MAC,
 * is reassembled when it is a fragment, and goes to tcp_input, udp_input or
 * icmp_input. Whatever is refused is dropped and counted by reason.
 */
import { ETH_HEADER_LENGTH } from '../wire/ethernet';
import { ICMP_TIME_EXCEEDED } from '../wire/icmp';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, Ipv4View } from '../wire/ipv4';
import type { DropReason } from '../pipeline/drop-reasons';
import type { ArpTable } from './arp';
import type { SlirpStages } from './core';
import type { GuestNetwork } from './guest-network';
import type { IcmpHandler } from './icmp';
import type { IfOutput } from './if';
import type { Reassembler } from './reassembly';
import type { TcpLayer } from './tcp-contract';
import type { UdpInput } from './udp_input';

export interface IpUpperLayers {
  readonly tcp: TcpLayer;
  readonly udp: UdpInput;
  readonly icmp: IcmpHandler;
}

export class IpInput {
  constructor(
    private readonly s: SlirpStages,
    private readonly net: GuestNetwork,
    private readonly arpTable: ArpTable,
    private readonly reassembler: Reassembler,
    private readonly ifOut: IfOutput,
    private readonly upper: IpUpperLayers,
  ) {}

  ip_input(frame: Uint8Array): void {
    const p = this.s.probes.probes.ip_input;
    if (p.enter(frame) && p.fire({ stage: p.stage, frame }, () => this.s.safely(() => this.ip_input(frame)))) return;
    const { config } = this.s;
    const checked = Ipv4View.check(frame.subarray(ETH_HEADER_LENGTH));
    if (typeof checked === 'string') return this.s.drop(checked as DropReason, frame);
    let ip = checked;
    const src = ip.source;
    if (src === config.host || src === config.dns || this.net.isBroadcastOrMulticast(src)) return this.s.drop('ip-bad-source', frame);
    // Only an unconfigured DHCP client may speak from 0.0.0.0; any other source off the
    // guest network could never be answered (nothing would answer ARP for it).
    if (src === 0 ? ip.protocol !== IPPROTO_UDP : !this.net.inNet(src)) return this.s.drop('ip-source-outside-net', frame);
    if (src !== 0 && this.arpTable.learn(src, frame.subarray(6, 12))) this.ifOut.flushArpPending();
    // A datagram the gateway would forward off the guest network spends a hop here; the
    // gateway tells when none is left (RFC 1812 5.3.1), so traceroute's hop 1 is 10.0.2.2.
    const forwarded = !this.net.inNet(ip.destination) && !this.net.isBroadcastOrMulticast(ip.destination);
    if (ip.ttl === 0 || (forwarded && ip.ttl === 1)) {
      this.upper.icmp.sendError(ip.datagram, ICMP_TIME_EXCEEDED, 0, config.host);
      return this.s.drop('ip-ttl-expired', frame);
    }
    const reassembled = ip.isFragment;
    if (ip.isFragment) {
      const whole = this.reassembler.add(ip);
      if (!whole) return;
      const again = Ipv4View.check(whole);
      if (typeof again === 'string') return this.s.drop(again as DropReason, frame);
      ip = again;
    }
    switch (ip.protocol) {
      case IPPROTO_TCP:
        if (this.net.isBroadcastOrMulticast(ip.destination)) return this.s.drop('ip-broadcast', frame);
        return this.upper.tcp.input(ip.source, ip.destination, ip.payload, reassembled ? undefined : frame);
      case IPPROTO_UDP:
        return this.upper.udp.udp_input(frame, ip);
      case IPPROTO_ICMP:
        if (this.net.isBroadcastOrMulticast(ip.destination)) return this.s.drop('ip-broadcast', frame);
        return this.upper.icmp.icmp_input(frame, ip);
      default:
        return this.s.drop('ip-unsupported-protocol', frame);
    }
  }
}
