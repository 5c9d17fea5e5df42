/**
 * libslirp's slirp_input: a frame from the guest's link, as QEMU's net queue
 * hands it over (net_slirp_receive), goes by its ethertype to arp_input,
 * ip_input (ip_input.ts) or ip6_input (ip6_input.ts); anything else is dropped
 * with its reason.
 */
import type { DropReason } from '../pipeline/drop-reasons';
import { EthernetView, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_VLAN } from '../wire/ethernet';
import { arpInput, type ArpTable } from './arp';
import type { SlirpStages } from './core';
import type { GuestNetwork } from './guest-network';
import type { IfOutput } from './if';
import type { IpInput } from './ip_input';
import type { Ip6Stack } from './ip6_input';

/** Where slirp_input hands a frame on. */
export interface SlirpInputLayers {
  readonly ip: IpInput;
  /** Absent with ipv6=off. */
  readonly ip6: Ip6Stack | undefined;
  readonly arpTable: ArpTable;
  /** Sends ARP replies, and the frames that waited for the address an ARP packet teaches. */
  readonly ifOut: IfOutput;
}

export class SlirpInput {
  constructor(
    private readonly s: SlirpStages,
    private readonly net: GuestNetwork,
    private readonly layers: SlirpInputLayers,
  ) {}

  net_slirp_receive(frame: Uint8Array): void {
    const p = this.s.probes.probes.net_slirp_receive;
    if (p.enter(frame) && p.fire({ stage: p.stage, frame }, () => this.s.safely(() => this.slirp_input(frame)))) return;
    this.slirp_input(frame);
  }

  private slirp_input(frame: Uint8Array): void {
    const p = this.s.probes.probes.slirp_input;
    if (p.enter(frame) && p.fire({ stage: p.stage, frame }, () => this.s.safely(() => this.dispatch(frame)))) return;
    this.dispatch(frame);
  }

  private dispatch(frame: Uint8Array): void {
    const eth = EthernetView.of(frame);
    if (!eth) return this.s.drop('eth-truncated', frame);
    switch (eth.etherType) {
      case ETHERTYPE_ARP:
        return this.arp_input(frame);
      case ETHERTYPE_IPV4:
        if (!this.s.config.ipv4) return this.s.drop('ipv4-disabled', frame);
        return this.layers.ip.ip_input(frame);
      case ETHERTYPE_IPV6:
        if (!this.layers.ip6) return this.s.drop('ipv6-disabled', frame);
        return this.layers.ip6.ip6_input(frame);
      case ETHERTYPE_VLAN:
        return this.s.drop('eth-vlan-unsupported', frame);
      default:
        return this.s.drop('eth-unknown-type', frame);
    }
  }

  private arp_input(frame: Uint8Array): void {
    const p = this.s.probes.probes.arp_input;
    if (p.enter(frame) && p.fire({ stage: p.stage, frame }, () => this.s.safely(() => this.arp_input(frame)))) return;
    const { arpTable, ifOut } = this.layers;
    const outcome = arpInput(frame, arpTable, (ip) => this.net.inNet(ip), (ip) => this.net.servesAddress(ip), this.s.config.gatewayMac);
    if (outcome.drop) return this.s.drop(outcome.drop as DropReason, frame);
    if (outcome.learned) ifOut.flushArpPending();
    if (outcome.reply) ifOut.net_slirp_send_packet(outcome.reply);
  }
}
