/**
 * libslirp's udp_input: where a checked UDP datagram from the guest goes. The
 * built-in servers first (bootp, tftp, the DNS forwarder), then a NAT flow to a
 * host socket; what reaches none is dropped with its reason.
 */
import type { DropReason } from '../pipeline/drop-reasons';
import type { Ipv4View } from '../wire/ipv4';
import { DHCP_CLIENT_PORT, DHCP_SERVER_PORT, DNS_PORT } from '../wire/ports';
import { UdpView } from '../wire/udp';
import type { ArpTable } from './arp';
import { allocateFrame, sessionInfo, TRANSPORT_OFFSET, type SlirpStages } from './core';
import type { DhcpServer } from './dhcp';
import { servfailFor, validateDnsQuery, type DnsUpstream } from './dns';
import type { GuestNetwork } from './guest-network';
import type { TftpServer } from './tftp';
import type { UdpNat } from './udp';

export interface UdpServices {
  readonly udp: UdpNat;
  readonly dhcp: DhcpServer;
  readonly tftp: TftpServer;
  readonly dnsUpstream: DnsUpstream;
  readonly arpTable: ArpTable;
}

export class UdpInput {
  constructor(
    private readonly s: SlirpStages,
    private readonly net: GuestNetwork,
    private readonly services: UdpServices,
  ) {}

  udp_input(frame: Uint8Array, ip: Ipv4View): void {
    const src = ip.source;
    const dst = ip.destination;
    const checked = UdpView.check(ip.payload, src, dst);
    const p = this.s.probes.probes.udp_input;
    if (p.enter(frame)) {
      const existing = typeof checked === 'string' ? undefined : this.services.udp.sessionFor(src, checked.sourcePort, dst, checked.destinationPort);
      if (p.fire({ stage: p.stage, frame, session: existing && sessionInfo(existing) }, () => this.s.safely(() => this.dispatch(frame, ip, checked)))) return;
    }
    this.dispatch(frame, ip, checked);
  }

  private dispatch(frame: Uint8Array, ip: Ipv4View, checked: UdpView | string): void {
    if (typeof checked === 'string') return this.s.drop(checked as DropReason, frame);
    const { config } = this.s;
    const { udp: nat, tftp } = this.services;
    const udp = checked;
    const src = ip.source;
    const dst = ip.destination;
    const sport = udp.sourcePort;
    const dport = udp.destinationPort;
    if (sport === 0 || dport === 0) return this.s.drop('udp-bad-port', frame);
    if (dport === DHCP_SERVER_PORT && (dst === config.host || dst === 0xffffffff || dst === this.net.broadcast)) return this.bootp_input(frame, udp);
    if (this.net.isBroadcastOrMulticast(dst)) return this.s.drop('udp-broadcast', frame);
    if (src === 0) return this.s.drop('ip-bad-source', frame, 'udp_input');
    // Port 69 and the ports of live transfers are the built-in server's, as in libslirp (even with restrict=on).
    if (dst === config.host && tftp.owns(src, sport, dport)) return this.tftp_input(frame, ip, udp);
    // restrict=on isolates as libslirp does: forwarding DNS would carry guest data out. Every
    // query is checked, the ones on a flow already open too (an empty one used to pass).
    if (dst === config.dns && dport === DNS_PORT) return config.restrict ? this.s.drop('dns-restricted', frame) : this.dns_input(frame, ip, udp);
    if (nat.find(src, sport, dst, dport)) return nat.send(frame, ip.datagram, src, sport, dst, dport, udp.payload, null);
    const host = this.s.hostAddressFor(dst);
    if (host === null) return this.s.drop(config.restrict ? 'udp-restricted' : 'udp-unreachable', frame);
    nat.send(frame, ip.datagram, src, sport, dst, dport, udp.payload, { address: host, port: dport, family: 4 });
  }

  private bootp_input(frame: Uint8Array, udp: UdpView): void {
    const p = this.s.probes.probes.bootp_input;
    if (p.enter(frame) && p.fire({ stage: p.stage, frame }, () => this.s.safely(() => this.bootp_input(frame, udp)))) return;
    const reply = this.services.dhcp.handle(udp.payload);
    if (reply === null) return;
    if (typeof reply === 'string') return this.s.drop(reply as DropReason, frame);
    const out = allocateFrame(8 + reply.message.length);
    out.set(reply.message, TRANSPORT_OFFSET + 8);
    if (reply.dstMac && reply.dst !== 0xffffffff) this.services.arpTable.learn(reply.dst, reply.dstMac);
    this.services.udp.udp_output(out, this.s.config.host, DHCP_SERVER_PORT, reply.dst, DHCP_CLIENT_PORT);
  }

  private tftp_input(frame: Uint8Array, ip: Ipv4View, udp: UdpView): void {
    const p = this.s.probes.probes.tftp_input;
    if (p.enter(frame) && p.fire({ stage: p.stage, frame }, () => this.s.safely(() => this.tftp_input(frame, ip, udp)))) return;
    this.services.tftp.input(ip.source, udp.sourcePort, udp.destinationPort, udp.payload);
  }

  private dns_input(frame: Uint8Array, ip: Ipv4View, udp: UdpView): void {
    const p = this.s.probes.probes.dns_input;
    if (p.enter(frame) && p.fire({ stage: p.stage, frame }, () => this.s.safely(() => this.dns_input(frame, ip, udp)))) return;
    const bad = validateDnsQuery(udp.payload);
    if (bad) return this.s.drop(bad as DropReason, frame);
    const upstream = this.services.dnsUpstream.current();
    if (!upstream) {
      // Nobody to ask: the guest hears so now rather than after its resolver's timeout.
      this.s.drop('dns-no-upstream', frame);
      return this.services.udp.answer(servfailFor(udp.payload), ip.destination, DNS_PORT, ip.source, udp.sourcePort);
    }
    this.services.udp.send(frame, ip.datagram, ip.source, udp.sourcePort, ip.destination, DNS_PORT, udp.payload, upstream);
  }
}
