import { formatIpv4 } from '../wire/address';
import type { Clock } from '../pipeline/clock';
import type { DropReason } from '../pipeline/drop-reasons';
import type { StageName } from '../pipeline/stages';
import type { ProbeHub } from '../pipeline/probe';
import { ETHERNET_MTU, type HostForward, type SlirpConfig } from './config';
import { arpInput, arpRequest, ArpTable } from './arp';
import { allocateFrame, sessionInfo, TRANSPORT_OFFSET, type SlirpCore } from './core';
import { DhcpServer } from './dhcp';
import { DnsUpstream, validateDnsQuery } from './dns';
import { DropCounter } from './drops';
import { IcmpHandler } from './icmp';
import { NatTable, type NatSession } from './nat';
import { parseHostForwardRule, NetdevOptionError } from './netdev-options';
import { DEFAULT_REASSEMBLY_LIMITS, Reassembler, type ReassemblyLimits } from './reassembly';
import type { TcpHost, TcpLayer } from './tcp-contract';
import { TcpStack } from './tcp/tcp-stack';
import { TftpServer } from './tftp';
import { UdpNat } from './udp';
import { BROADCAST_MAC } from '../wire/bytes';
import { EthernetView, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_VLAN, ETH_HEADER_LENGTH } from '../wire/ethernet';
import { ICMP_TIME_EXCEEDED } from '../wire/icmp';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPV4_MIN_HEADER, IP_FLAG_MF, Ipv4View, writeIpv4HeaderAt } from '../wire/ipv4';
import { DHCP_CLIENT_PORT, DHCP_SERVER_PORT, DNS_PORT } from '../wire/ports';
import { UdpView } from '../wire/udp';

/** Frames held while the guest's MAC is being resolved by ARP, at most. */
const MAX_ARP_PENDING = 32;

export interface SlirpOptions {
  readonly config: SlirpConfig;
  readonly clock: Clock;
  readonly probes: ProbeHub;
  /** Delivers a frame to the guest's NIC (the net queue). */
  readonly output: (frame: Uint8Array) => void;
  /** The guest NIC's MAC, so the stack can send before the guest has spoken (e.g. an early hostfwd). */
  readonly guestMac?: Uint8Array;
  readonly log?: (message: string) => void;
  /** Builds the TCP layer; the default is the stack in tcp/. */
  readonly tcp?: (host: TcpHost) => TcpLayer;
  readonly resolvConfPath?: string;
  readonly reassembly?: ReassemblyLimits;
  /** Bound on NAT sessions (and so on host sockets); default 4096. */
  readonly maxSessions?: number;
}

/**
 * One user-mode network (libslirp's Slirp): the guest's gateway, DHCP and DNS
 * server, and NAT to host sockets. `input` is slirp_input; frames for the guest
 * leave through `output`. Bad input never throws: it is dropped and counted in
 * `drops` by reason.
 */
export class Slirp implements SlirpCore {
  readonly config: SlirpConfig;
  readonly clock: Clock;
  readonly probes: ProbeHub;
  readonly nat: NatTable;
  /** Counts this stack's drops and reports them to the VM's drop ledger (probes.drops). */
  readonly dropCounter: DropCounter;
  /** Dropped frames by reason; a live view. */
  readonly drops: Readonly<Record<string, number>>;
  readonly arpTable = new ArpTable();
  readonly reassembler: Reassembler;
  readonly dhcp: DhcpServer;
  private readonly output: (frame: Uint8Array) => void;
  private readonly logger: (message: string) => void;
  private readonly dnsUpstream: DnsUpstream;
  private readonly icmp: IcmpHandler;
  private readonly udp: UdpNat;
  private readonly tftp: TftpServer;
  private readonly tcp: TcpLayer;
  private readonly guestMacHint: Uint8Array | undefined;
  private readonly mask: number;
  private readonly broadcast: number;
  private ipId = 0;
  private pausedFlag = false;
  private closed = false;
  private arpPending: { dst: number; frame: Uint8Array; session?: NatSession }[] = [];
  private warnedInternal = false;
  /** The last transport payload handed out by allocateTransport, and the frame it lies in. */
  private builtTransport: Uint8Array | undefined;
  private builtFrame: Uint8Array | undefined;

  constructor(opts: SlirpOptions) {
    this.config = opts.config;
    this.clock = opts.clock;
    this.probes = opts.probes;
    this.dropCounter = new DropCounter(opts.probes.drops);
    this.drops = this.dropCounter.counts;
    this.output = opts.output;
    this.logger = opts.log ?? (() => {});
    this.guestMacHint = opts.guestMac?.slice(0, 6);
    this.nat = new NatTable(opts.maxSessions);
    this.mask = this.config.prefixLength === 0 ? 0 : (0xffffffff << (32 - this.config.prefixLength)) >>> 0;
    this.broadcast = (this.config.net | ~this.mask) >>> 0;
    this.reassembler = new Reassembler(this.clock, this.dropCounter, opts.reassembly ?? DEFAULT_REASSEMBLY_LIMITS);
    this.dhcp = new DhcpServer(this.config, () => this.clock.now());
    this.dnsUpstream = new DnsUpstream(this.config.dnsUpstream, opts.resolvConfPath, this.logger);
    this.icmp = new IcmpHandler(this);
    this.udp = new UdpNat(this, this.icmp);
    this.tftp = new TftpServer(this, (frame, srcPort, dst, dstPort) => this.udp.udp_output(frame, this.config.host, srcPort, dst, dstPort));
    for (const o of this.config.unsupportedOptions ?? []) this.logger(`-netdev user option '${o}' is accepted but not supported`);
    const host: TcpHost = {
      config: this.config,
      clock: this.clock,
      probes: this.probes,
      nat: this.nat,
      allocateTransport: (length) => {
        const frame = allocateFrame(length);
        this.builtTransport = frame.subarray(TRANSPORT_OFFSET);
        this.builtFrame = frame;
        return this.builtTransport;
      },
      ipOutput: (src, dst, protocol, payload) => this.ipOutput(this.frameOf(payload), src, dst, protocol),
      hostAddressFor: (dst) => this.hostAddressFor(dst),
      guestAddress: () => this.guestAddress,
      previewFrame: (src, dst, protocol, payload) => {
        if (payload !== this.builtTransport) return this.previewFrame(src, dst, protocol, payload);
        this.stampHeaders(this.builtFrame!, src, dst, protocol);
        return this.builtFrame!;
      },
    };
    this.tcp = (opts.tcp ?? ((h) => new TcpStack(h)))(host);
  }

  get paused(): boolean {
    return this.pausedFlag;
  }

  /** The guest's address: its DHCP lease, else dhcpstart. */
  get guestAddress(): number {
    return this.dhcp.acknowledgedAddress ?? this.config.dhcpStart;
  }

  /** Fragments being reassembled and the bytes they hold (both bounded). */
  get reassemblyState(): { datagrams: number; bytes: number } {
    return { datagrams: this.reassembler.datagramsInProgress, bytes: this.reassembler.bytesInProgress };
  }

  log(message: string): void {
    this.logger(message);
  }

  /** Binds the hostfwd rules of the configuration; rejects if one cannot be bound. */
  async start(): Promise<void> {
    for (const rule of this.config.hostForwards) await this.addHostForwardRule(rule);
  }

  // ---- TX: guest to host -------------------------------------------------

  /** slirp_input as the net queue calls it: never throws. */
  input(frame: Uint8Array): void {
    if (this.closed) return;
    this.safely(() => this.net_slirp_receive(frame));
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.dropCounter.count('internal-error');
      if (!this.warnedInternal) {
        this.warnedInternal = true;
        this.logger(`slirp: internal error on a guest frame (dropped): ${(err as Error)?.stack ?? err}`);
      }
    }
  }

  private net_slirp_receive(frame: Uint8Array): void {
    const p = this.probes.probes.net_slirp_receive;
    if (p.armed && p.fire({ stage: p.stage, frame }, () => this.safely(() => this.slirp_input(frame)))) return;
    this.slirp_input(frame);
  }

  private slirp_input(frame: Uint8Array): void {
    const p = this.probes.probes.slirp_input;
    if (p.armed && p.fire({ stage: p.stage, frame }, () => this.safely(() => this.slirp_dispatch(frame)))) return;
    this.slirp_dispatch(frame);
  }

  private slirp_dispatch(frame: Uint8Array): void {
    const eth = EthernetView.of(frame);
    if (!eth) return this.drop('eth-truncated', frame);
    switch (eth.etherType) {
      case ETHERTYPE_ARP:
        return this.arp_input(frame);
      case ETHERTYPE_IPV4:
        if (!this.config.ipv4) return this.drop('ipv4-disabled', frame);
        return this.ip_input(frame);
      case ETHERTYPE_IPV6:
        return this.drop('ipv6-unsupported', frame);
      case ETHERTYPE_VLAN:
        return this.drop('eth-vlan-unsupported', frame);
      default:
        return this.drop('eth-unknown-type', frame);
    }
  }

  private arp_input(frame: Uint8Array): void {
    const p = this.probes.probes.arp_input;
    if (p.armed && p.fire({ stage: p.stage, frame }, () => this.safely(() => this.arp_input(frame)))) return;
    const outcome = arpInput(frame, this.arpTable, (ip) => this.inNet(ip), (ip) => this.servesAddress(ip), this.config.gatewayMac);
    if (outcome.drop) return this.drop(outcome.drop as DropReason, frame);
    if (outcome.learned) this.flushArpPending();
    if (outcome.reply) this.net_slirp_send_packet(outcome.reply);
  }

  private ip_input(frame: Uint8Array): void {
    const p = this.probes.probes.ip_input;
    if (p.armed && p.fire({ stage: p.stage, frame }, () => this.safely(() => this.ip_input(frame)))) return;
    const checked = Ipv4View.check(frame.subarray(ETH_HEADER_LENGTH));
    if (typeof checked === 'string') return this.drop(checked as DropReason, frame);
    let ip = checked;
    const src = ip.source;
    if (src === this.config.host || src === this.config.dns || this.isBroadcastOrMulticast(src)) return this.drop('ip-bad-source', frame);
    // Only an unconfigured DHCP client may speak from 0.0.0.0; any other source off the
    // guest network could never be answered (nothing would answer ARP for it).
    if (src === 0 ? ip.protocol !== IPPROTO_UDP : !this.inNet(src)) return this.drop('ip-source-outside-net', frame);
    if (src !== 0 && this.arpTable.learn(src, frame.subarray(6, 12))) this.flushArpPending();
    if (ip.ttl === 0) {
      this.icmp.sendError(ip.datagram, ICMP_TIME_EXCEEDED, 0, this.config.host);
      return this.drop('ip-ttl-expired', frame);
    }
    const reassembled = ip.isFragment;
    if (ip.isFragment) {
      const whole = this.reassembler.add(ip);
      if (!whole) return;
      const again = Ipv4View.check(whole);
      if (typeof again === 'string') return this.drop(again as DropReason, frame);
      ip = again;
    }
    switch (ip.protocol) {
      case IPPROTO_TCP:
        if (this.isBroadcastOrMulticast(ip.destination)) return this.drop('ip-broadcast', frame);
        return this.tcp.input(ip.source, ip.destination, ip.payload, reassembled ? undefined : frame);
      case IPPROTO_UDP:
        return this.udp_input(frame, ip);
      case IPPROTO_ICMP:
        if (this.isBroadcastOrMulticast(ip.destination)) return this.drop('ip-broadcast', frame);
        return this.icmp.icmp_input(frame, ip);
      default:
        return this.drop('ip-unsupported-protocol', frame);
    }
  }

  private udp_input(frame: Uint8Array, ip: Ipv4View): void {
    const src = ip.source;
    const dst = ip.destination;
    const checked = UdpView.check(ip.payload, src, dst);
    const p = this.probes.probes.udp_input;
    if (p.armed) {
      const existing = typeof checked === 'string' ? undefined : this.udp.sessionFor(src, checked.sourcePort, dst, checked.destinationPort);
      if (p.fire({ stage: p.stage, frame, session: existing && sessionInfo(existing) }, () => this.safely(() => this.udp_dispatch(frame, ip, checked)))) return;
    }
    this.udp_dispatch(frame, ip, checked);
  }

  private udp_dispatch(frame: Uint8Array, ip: Ipv4View, checked: UdpView | string): void {
    if (typeof checked === 'string') return this.drop(checked as DropReason, frame);
    const udp = checked;
    const src = ip.source;
    const dst = ip.destination;
    const sport = udp.sourcePort;
    const dport = udp.destinationPort;
    if (sport === 0 || dport === 0) return this.drop('udp-bad-port', frame);
    if (dport === DHCP_SERVER_PORT && (dst === this.config.host || dst === 0xffffffff || dst === this.broadcast)) return this.bootp_input(frame, udp);
    if (this.isBroadcastOrMulticast(dst)) return this.drop('udp-broadcast', frame);
    if (src === 0) return this.drop('ip-bad-source', frame, 'udp_input');
    // Port 69 and the ports of live transfers are the built-in server's, as in libslirp (even with restrict=on).
    if (dst === this.config.host && this.tftp.owns(src, sport, dport)) return this.tftp_input(frame, ip, udp);
    if (this.udp.find(src, sport, dst, dport)) return this.udp.send(frame, ip.datagram, src, sport, dst, dport, udp.payload, null);
    // restrict=on isolates as libslirp does: forwarding DNS would carry guest data out.
    if (dst === this.config.dns && dport === DNS_PORT) return this.config.restrict ? this.drop('dns-restricted', frame) : this.dns_input(frame, ip, udp);
    const host = this.hostAddressFor(dst);
    if (host === null) return this.drop(this.config.restrict ? 'udp-restricted' : 'udp-unreachable', frame);
    this.udp.send(frame, ip.datagram, src, sport, dst, dport, udp.payload, { address: host, port: dport, family: 4 });
  }

  private bootp_input(frame: Uint8Array, udp: UdpView): void {
    const p = this.probes.probes.bootp_input;
    if (p.armed && p.fire({ stage: p.stage, frame }, () => this.safely(() => this.bootp_input(frame, udp)))) return;
    const reply = this.dhcp.handle(udp.payload);
    if (reply === null) return;
    if (typeof reply === 'string') return this.drop(reply as DropReason, frame);
    const out = allocateFrame(8 + reply.message.length);
    out.set(reply.message, TRANSPORT_OFFSET + 8);
    if (reply.dstMac && reply.dst !== 0xffffffff) this.arpTable.learn(reply.dst, reply.dstMac);
    this.udp.udp_output(out, this.config.host, DHCP_SERVER_PORT, reply.dst, DHCP_CLIENT_PORT);
  }

  private tftp_input(frame: Uint8Array, ip: Ipv4View, udp: UdpView): void {
    const p = this.probes.probes.tftp_input;
    if (p.armed && p.fire({ stage: p.stage, frame }, () => this.safely(() => this.tftp_input(frame, ip, udp)))) return;
    this.tftp.input(ip.source, udp.sourcePort, udp.destinationPort, udp.payload);
  }

  private dns_input(frame: Uint8Array, ip: Ipv4View, udp: UdpView): void {
    const p = this.probes.probes.dns_input;
    if (p.armed && p.fire({ stage: p.stage, frame }, () => this.safely(() => this.dns_input(frame, ip, udp)))) return;
    const bad = validateDnsQuery(udp.payload);
    if (bad) return this.drop(bad as DropReason, frame);
    const upstream = this.dnsUpstream.current();
    if (!upstream) return this.drop('dns-no-upstream', frame);
    this.udp.send(frame, ip.datagram, ip.source, udp.sourcePort, ip.destination, DNS_PORT, udp.payload, upstream);
  }

  // ---- RX: host to guest -------------------------------------------------

  /**
   * The frame to send `payload` in: the one it was built in when it came from
   * allocateTransport (the usual case: no copy), else a new one it is copied to
   * (a payload sent later, after a probe held it, or built elsewhere).
   */
  private frameOf(payload: Uint8Array): Uint8Array {
    if (payload === this.builtTransport) {
      const frame = this.builtFrame!;
      this.builtTransport = this.builtFrame = undefined;
      return frame;
    }
    const frame = allocateFrame(payload.length);
    frame.set(payload, TRANSPORT_OFFSET);
    return frame;
  }

  /** ip_output: writes the IPv4 header in front of the transport bytes at TRANSPORT_OFFSET. */
  ipOutput(frame: Uint8Array, src: number, dst: number, protocol: number, session?: NatSession): void {
    if (this.closed) return;
    const p = this.probes.probes.ip_output;
    if (p.armed) this.stampHeaders(frame, src, dst, protocol);
    if (p.armed && p.fire({ stage: p.stage, frame, session: session && sessionInfo(session) }, () => this.safely(() => this.ip_output(frame, src, dst, protocol, session)))) return;
    this.ip_output(frame, src, dst, protocol, session);
  }

  /**
   * The frame a transport payload will be sent to the guest in, headers filled
   * as ip_output and if_output will fill them: what a probe before ip_output shows.
   */
  previewFrame(src: number, dst: number, protocol: number, payload: Uint8Array): Uint8Array {
    const frame = allocateFrame(payload.length);
    frame.set(payload, TRANSPORT_OFFSET);
    this.stampHeaders(frame, src, dst, protocol);
    return frame;
  }

  /**
   * Writes the IPv4 and Ethernet headers ip_output and if_output will write,
   * so that a probe placed before them shows a whole frame. Only called when
   * such a probe is armed; ip_output writes the real ones (and fragments).
   */
  private stampHeaders(frame: Uint8Array, src: number, dst: number, protocol: number): void {
    writeIpv4HeaderAt(frame, ETH_HEADER_LENGTH, src, dst, protocol, frame.length - TRANSPORT_OFFSET, this.ipId);
    this.stampEthernet(frame, dst);
  }

  /** The Ethernet header of an IPv4 frame from the gateway to `dst`, written byte by byte (every frame for the guest takes this path). */
  private stampEthernet(frame: Uint8Array, dst: number): void {
    const mac = this.macFor(dst);
    if (mac) for (let i = 0; i < 6; i++) frame[i] = mac[i]!;
    const gw = this.config.gatewayMac;
    for (let i = 0; i < 6; i++) frame[6 + i] = gw[i]!;
    frame[12] = ETHERTYPE_IPV4 >>> 8;
    frame[13] = ETHERTYPE_IPV4 & 0xff;
  }

  private ip_output(frame: Uint8Array, src: number, dst: number, protocol: number, session?: NatSession): void {
    const payloadLength = frame.length - TRANSPORT_OFFSET;
    const id = this.ipId++ & 0xffff;
    const mtu = this.largestDatagram(protocol);
    if (IPV4_MIN_HEADER + payloadLength <= mtu) {
      writeIpv4HeaderAt(frame, ETH_HEADER_LENGTH, src, dst, protocol, payloadLength, id);
      return this.if_output(frame, dst, session);
    }
    // ip_output's fragmentation: 8-byte aligned pieces that fit the guest MTU.
    const piece = Math.floor((mtu - IPV4_MIN_HEADER) / 8) * 8;
    for (let off = 0; off < payloadLength; off += piece) {
      const len = Math.min(piece, payloadLength - off);
      const f = allocateFrame(len);
      f.set(frame.subarray(TRANSPORT_OFFSET + off, TRANSPORT_OFFSET + off + len), TRANSPORT_OFFSET);
      const more = off + len < payloadLength;
      writeIpv4HeaderAt(f, ETH_HEADER_LENGTH, src, dst, protocol, len, id, 64, 0, (off / 8) | (more ? IP_FLAG_MF : 0));
      this.if_output(f, dst, session);
    }
  }

  /**
   * The largest datagram the guest is sure to take unfragmented. A TCP segment
   * is never larger than the MSS the guest itself announced (from the MTU it
   * really has), so the link MTU bounds it; anything else is cut to what every
   * guest takes, in case the guest ignored the MTU its lease offered.
   */
  private largestDatagram(protocol: number): number {
    return protocol === IPPROTO_TCP ? this.config.mtu : Math.min(this.config.mtu, ETHERNET_MTU);
  }

  /** if_output: frames the datagram for the guest's MAC, resolving it by ARP first if need be. */
  private if_output(frame: Uint8Array, dst: number, session?: NatSession): void {
    const p = this.probes.probes.if_output;
    if (p.armed) this.stampEthernet(frame, dst);
    if (p.armed && p.fire({ stage: p.stage, frame, session: session && sessionInfo(session) }, () => this.safely(() => this.if_encap(frame, dst, session)))) return;
    this.if_encap(frame, dst, session);
  }

  private if_encap(frame: Uint8Array, dst: number, session?: NatSession): void {
    const mac = this.macFor(dst);
    if (!mac) {
      const first = !this.arpPending.some((e) => e.dst === dst);
      if (this.arpPending.length >= MAX_ARP_PENDING) {
        this.drop('arp-unresolved', this.arpPending.shift()!.frame);
      }
      this.arpPending.push({ dst, frame, session });
      if (first) this.net_slirp_send_packet(arpRequest(this.config.gatewayMac, this.config.host, dst));
      return;
    }
    this.stampEthernet(frame, dst);
    this.net_slirp_send_packet(frame, session);
  }

  private net_slirp_send_packet(frame: Uint8Array, session?: NatSession): void {
    const p = this.probes.probes.net_slirp_send_packet;
    if (p.armed && p.fire({ stage: p.stage, frame, session: session && sessionInfo(session) }, () => this.safely(() => this.deliver(frame)))) return;
    this.deliver(frame);
  }

  private deliver(frame: Uint8Array): void {
    if (this.closed) return;
    try {
      this.output(frame);
    } catch (err) {
      this.drop('output-error', frame);
      this.logger(`slirp: the net queue refused a frame: ${(err as Error).message}`);
    }
  }

  private macFor(dst: number): Uint8Array | undefined {
    if (dst === 0xffffffff || dst === this.broadcast) return BROADCAST_MAC;
    return this.arpTable.lookup(dst) ?? (dst === this.guestAddress ? this.guestMacHint : undefined);
  }

  private flushArpPending(): void {
    if (this.arpPending.length === 0) return;
    const waiting = this.arpPending;
    this.arpPending = [];
    for (const e of waiting) {
      if (this.macFor(e.dst)) this.if_encap(e.frame, e.dst, e.session);
      else this.arpPending.push(e);
    }
  }

  // ---- addresses ---------------------------------------------------------

  private inNet(ip: number): boolean {
    return ((ip & this.mask) >>> 0) === this.config.net;
  }

  private isBroadcastOrMulticast(ip: number): boolean {
    return ip === 0xffffffff || ip === this.broadcast || ip >= 0xe0000000;
  }

  /** Addresses the stack answers ARP for: the gateway, the DNS and every guestfwd server. */
  private servesAddress(ip: number): boolean {
    return ip === this.config.host || ip === this.config.dns || this.config.guestForwards.some((g) => g.serverAddr === ip);
  }

  hostAddressFor(guestDst: number): string | null {
    // DNS over TCP (a guest retrying a truncated answer) goes where UDP queries go;
    // the TCP layer keeps the guest's port, so only an upstream on port 53 fits.
    if (this.config.restrict) return null;
    if (guestDst === this.config.dns) {
      const up = this.dnsUpstream.current();
      return up && up.port === 53 ? up.address : null;
    }
    if (guestDst === this.config.host) return this.config.disableHostLoopback ? null : '127.0.0.1';
    if (this.inNet(guestDst)) return null;
    const first = guestDst >>> 24;
    if (first === 0 || first === 127 || guestDst >= 0xe0000000) return null;
    return formatIpv4(guestDst);
  }

  // ---- control -----------------------------------------------------------

  /** Stops reading host sockets (the VM is paused); what arrives meanwhile is held, within bounds. */
  pause(): void {
    if (this.pausedFlag) return;
    this.pausedFlag = true;
    this.tcp.pause();
  }

  resume(): void {
    if (!this.pausedFlag) return;
    this.pausedFlag = false;
    this.tcp.resume();
    this.udp.resume();
    this.tftp.resume();
  }

  /** Adds a hostfwd rule in QEMU syntax ("tcp:127.0.0.1:2222-:22"); rejects with a reason the user can act on. */
  async addHostForward(spec: string | HostForward): Promise<void> {
    const rule = typeof spec === 'string' ? parseHostForwardRule(spec) : spec;
    await this.addHostForwardRule(rule);
  }

  private async addHostForwardRule(rule: HostForward): Promise<void> {
    if (rule.protocol === 'udp') return this.udp.addHostForward(rule);
    return this.tcp.addHostForward(rule);
  }

  /** Removes a rule given as QEMU's hostfwd_remove takes it ("[tcp|udp]:[hostaddr]:hostport") or as fields. */
  removeHostForward(spec: string | Pick<HostForward, 'protocol' | 'hostAddr' | 'hostPort'>): boolean {
    const rule = typeof spec === 'string' ? parseHostForwardRemoval(spec) : spec;
    return rule.protocol === 'udp' ? this.udp.removeHostForward(rule) : this.tcp.removeHostForward(rule);
  }

  /** The ports udp hostfwd rules are bound to, in order (useful when hostport was 0). */
  get udpForwardPorts(): number[] {
    return this.udp.forwardPorts;
  }

  /** TFTP transfers in progress. */
  get tftpSessions(): number {
    return this.tftp.sessionCount;
  }

  /** Drops of every layer: this core's reasons, and the TCP layer's prefixed 'tcp-' when it counts any. */
  dropSummary(): Record<string, number> {
    const all: Record<string, number> = { ...this.drops };
    const tcpDrops = (this.tcp as { drops?: Readonly<Record<string, number>> }).drops;
    if (tcpDrops) for (const [k, v] of Object.entries(tcpDrops)) all[k.startsWith('tcp-') ? k : `tcp-${k}`] = v;
    return all;
  }

  /** QEMU's `info usernet` text. */
  infoUsernet(): string {
    return this.nat.infoUsernet(this.config.id, this.clock.now());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.tcp.close();
    this.udp.close();
    this.tftp.close();
    this.dnsUpstream.close();
    this.reassembler.clear();
    this.arpPending = [];
    // Socket close callbacks run on the next turns of the event loop.
    await new Promise<void>((r) => setImmediate(r));
  }

  private drop(reason: DropReason, frame: Uint8Array, stage?: StageName): void {
    this.dropCounter.count(reason, stage, frame);
  }
}

/** "[tcp|udp]:[hostaddr]:hostport" as QEMU's hostfwd_remove takes it. */
export function parseHostForwardRemoval(spec: string): Pick<HostForward, 'protocol' | 'hostAddr' | 'hostPort'> {
  const parts = spec.split(':');
  let protocol: 'tcp' | 'udp' = 'tcp';
  if (parts.length === 3) {
    const p = parts.shift()!;
    if (p === 'udp' || p === 'tcp') protocol = p;
    else if (p !== '') throw new NetdevOptionError(`bad protocol '${p}' in hostfwd_remove ${spec}: expected tcp or udp`, 'hostfwd', 0, spec.length);
  }
  if (parts.length !== 2 || !/^\d{1,5}$/.test(parts[1]!) || Number(parts[1]) > 65535) {
    throw new NetdevOptionError(`bad hostfwd_remove ${spec}: expected [tcp|udp]:[hostaddr]:hostport`, 'hostfwd', 0, spec.length);
  }
  return { protocol, hostAddr: parts[0] === '' ? '127.0.0.1' : parts[0]!, hostPort: Number(parts[1]) };
}
