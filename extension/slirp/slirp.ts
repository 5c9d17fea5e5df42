import { formatIpv4 } from '../wire/address';
import type { Clock } from '../pipeline/clock';
import type { DropReason } from '../pipeline/drop-reasons';
import type { StageName } from '../pipeline/stages';
import type { ProbeHit, ProbeHub } from '../pipeline/probe';
import { stagePosition } from '../pipeline/stage-chain';
import { ICMP_UNREACHABLE, ICMP_UNREACH_NEEDFRAG } from '../wire/icmp';
import { ICMPV6_PACKET_TOO_BIG } from '../wire/icmpv6';
import type { HostForward, SlirpConfig } from './config';
import { ArpTable } from './arp';
import { allocateFrame, TRANSPORT_OFFSET, type SlirpStages } from './core';
import { Ipv6Handles } from './ip6';
import { UDP_HEADER_LENGTH } from '../wire/udp';
import { DhcpServer } from './dhcp';
import { DnsUpstream } from './dns';
import { DropCounter } from './drops';
import { GuestNetwork } from './guest-network';
import { IcmpHandler } from './icmp';
import { hostPingSockets, type PingSockets } from './ping-socket';
import { IfOutput } from './if';
import { IpInput } from './ip_input';
import { IpOutput } from './ip_output';
import { Ip6Stack } from './ip6_input';
import { Tcp6 } from './tcp6';
import { NatTable, type NatSession } from './nat';
import { parseHostForwardRemoval, parseHostForwardRule } from './forward-rules';
import { NetdevOptionError } from './netdev-issue';
import { DEFAULT_REASSEMBLY_LIMITS, Reassembler, type ReassemblyLimits } from './reassembly';
import type { TcpHost, TcpLayer } from './tcp-contract';
import { TcpStack } from './tcp/tcp-stack';
import { TftpServer } from './tftp';
import { UdpNat } from './udp';
import { Udp6 } from './udp6';
import { UdpInput } from './udp_input';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from '../wire/ethernet';
import { SlirpInput } from './slirp_input';
import { DNS_PORT } from '../wire/ports';

/** Frames and bytes from the guest (In) and to the guest (Out) on its link. */
export interface LinkCounters {
  framesIn: number;
  bytesIn: number;
  framesOut: number;
  bytesOut: number;
}

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
  /** Where echo requests past the gateway go out: the host's ping sockets unless given. */
  readonly pingSockets?: PingSockets;
}

/**
 * One user-mode network (libslirp's Slirp): the guest's gateway, DHCP and DNS
 * server, and NAT to host sockets. `input` is slirp_input (slirp_input.ts),
 * which hands a frame to arp_input, ip_input (ip_input.ts) or ip6_input;
 * frames for the guest leave through ip_output (ip_output.ts) and if_output
 * (if.ts) to `output`. Bad input never throws: it is dropped and counted in
 * `drops` by reason.
 */
export class Slirp implements SlirpStages {
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
  private readonly logger: (message: string) => void;
  private readonly net: GuestNetwork;
  private readonly dnsUpstream: DnsUpstream;
  private readonly ifOut: IfOutput;
  private readonly ipOut: IpOutput;
  private readonly receiver: SlirpInput;
  private readonly icmp: IcmpHandler;
  private readonly udp: UdpNat;
  private readonly tftp: TftpServer;
  private readonly tcp: TcpLayer;
  /** The IPv6 half (ipv6=on, the default): neighbour discovery, ICMPv6, DHCPv6, UDP and TCP over IPv6. */
  readonly ip6: Ip6Stack | undefined;
  private readonly udp6: Udp6 | undefined;
  private readonly tcp6: Tcp6 | undefined;
  private readonly tftp6: TftpServer | undefined;
  /**
   * Frames and bytes across the guest's link, both ways and under both engines
   * (the topology view's counters): two additions per frame, always on.
   */
  readonly link: LinkCounters = { framesIn: 0, bytesIn: 0, framesOut: 0, bytesOut: 0 };
  private readonly configuredGuestMac: Uint8Array | undefined;
  private pausedFlag = false;
  private closedFlag = false;
  private warnedInternal = false;
  private readonly stopTooBig: () => void;

  constructor(opts: SlirpOptions) {
    this.config = opts.config;
    this.clock = opts.clock;
    this.probes = opts.probes;
    this.dropCounter = new DropCounter(opts.probes.drops);
    this.drops = this.dropCounter.counts;
    this.logger = opts.log ?? (() => {});
    this.nat = new NatTable(opts.maxSessions);
    this.net = new GuestNetwork(this.config);
    this.reassembler = new Reassembler(this.clock, this.dropCounter, opts.reassembly ?? DEFAULT_REASSEMBLY_LIMITS);
    this.dhcp = new DhcpServer(this.config, () => this.clock.now());
    this.dnsUpstream = new DnsUpstream(this.config.dnsUpstream, opts.resolvConfPath, this.logger);
    this.configuredGuestMac = opts.guestMac?.slice(0, 6);
    const toGuest = opts.output;
    const link = this.link;
    this.ifOut = new IfOutput(this, this.net, this.arpTable, (frame) => {
      toGuest(frame);
      link.framesOut++;
      link.bytesOut += frame.length;
    }, this.configuredGuestMac);
    this.ipOut = new IpOutput(this, this.ifOut);
    const pingSockets = opts.pingSockets ?? hostPingSockets;
    this.icmp = new IcmpHandler(this, pingSockets);
    this.stopTooBig = this.probes.observeTooBig((hit, mtu) => this.tooBig(hit, mtu));
    this.udp = new UdpNat(this, this.icmp);
    this.tftp = new TftpServer(this, (frame, srcPort, dst, dstPort) => this.udp.udp_output(frame, this.config.host, srcPort, dst, dstPort));
    for (const o of this.config.unsupportedOptions ?? []) this.logger(`-netdev user option '${o}' is accepted but not supported`);
    const host: TcpHost = {
      config: this.config,
      clock: this.clock,
      probes: this.probes,
      nat: this.nat,
      headroom: TRANSPORT_OFFSET,
      allocateFrame,
      ipOutput: (src, dst, protocol, frame) => this.ipOut.ip_output(frame, src, dst, protocol),
      hostAddressFor: (dst) => this.hostAddressFor(dst),
      guestAddress: () => this.guestAddress,
      stampHeaders: (src, dst, protocol, frame) => this.ipOut.stampHeaders(frame, src, dst, protocol),
    };
    this.tcp = (opts.tcp ?? ((h) => new TcpStack(h)))(host);
    const udpIn = new UdpInput(this, this.net, { udp: this.udp, dhcp: this.dhcp, tftp: this.tftp, dnsUpstream: this.dnsUpstream, arpTable: this.arpTable });
    const ipIn = new IpInput(this, this.net, this.arpTable, this.reassembler, this.ifOut, { tcp: this.tcp, udp: udpIn, icmp: this.icmp });
    if (this.config.ipv6) {
      let udp6: Udp6 | undefined;
      let tcp6: Tcp6 | undefined;
      this.ip6 = new Ip6Stack({
        config: this.config,
        clock: this.clock,
        probes: this.probes,
        dropCounter: this.dropCounter,
        reassembler: this.reassembler,
        guestMac: opts.guestMac?.slice(0, 6),
        log: this.logger,
        send: (frame, session) => this.ifOut.net_slirp_send_packet(frame, session),
        safely: (fn) => this.safely(fn),
        udp: (frame, ip) => udp6!.udp6_input(frame, ip),
        tcp: (frame, ip) => tcp6!.input(frame, ip),
        echo: { nat: this.nat, sockets: pingSockets, hostAddressFor: (dst) => udp6!.hostAddressFor(dst) },
      });
      // TFTP and TCP over IPv6 run the IPv4 code with handles for the addresses.
      const handles = new Ipv6Handles();
      const gateway = this.ip6.addresses.host;
      this.tftp6 = new TftpServer(this, (frame, srcPort, dst, dstPort) => {
        const to = handles.addressOf(dst);
        if (to) udp6!.udp6_output(frame.subarray(TRANSPORT_OFFSET + UDP_HEADER_LENGTH), gateway, srcPort, to, dstPort);
      });
      const tftp = { server: this.tftp6, handles };
      this.udp6 = udp6 = new Udp6({ core: this.ip6.core, nat: this.nat, paused: () => this.paused, dnsUpstream: () => this.dnsUpstream.current(), tftp });
      this.tcp6 = tcp6 = new Tcp6({ core: this.ip6.core, nat: this.nat, handles, hostAddressFor: (dst) => udp6!.hostAddressFor(dst), dnsUpstream: () => this.dnsUpstream.current() });
    }
    this.receiver = new SlirpInput(this, this.net, { ip: ipIn, ip6: this.ip6, arpTable: this.arpTable, ifOut: this.ifOut });
  }

  get paused(): boolean {
    return this.pausedFlag;
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** The guest's address: its DHCP lease, else dhcpstart. */
  get guestAddress(): number {
    return this.dhcp.acknowledgedAddress ?? this.config.dhcpStart;
  }

  /** The guest NIC's MAC as the guest's ARP said it, else as configured. */
  get guestMac(): Uint8Array | undefined {
    return this.arpTable.lookup(this.guestAddress) ?? this.configuredGuestMac;
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
    if (this.closedFlag) return;
    this.link.framesIn++;
    this.link.bytesIn += frame.length;
    this.safely(() => this.receiver.net_slirp_receive(frame));
  }

  safely(fn: () => void): void {
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

  // ---- RX: host to guest -------------------------------------------------

  /** ip_output (ip_output.ts): `frame` came from allocateFrame with the transport bytes at TRANSPORT_OFFSET. */
  ip_output(frame: Uint8Array, src: number, dst: number, protocol: number, session?: NatSession): void {
    this.ipOut.ip_output(frame, src, dst, protocol, session);
  }

  hostAddressFor(guestDst: number): string | null {
    // DNS over TCP (a guest retrying a truncated answer) goes where UDP queries go;
    // the TCP layer keeps the guest's port, so only an upstream on port 53 fits.
    if (this.config.restrict) return null;
    if (guestDst === this.config.dns) {
      const up = this.dnsUpstream.current();
      return up && up.port === DNS_PORT ? up.address : null;
    }
    if (guestDst === this.config.host) return this.config.disableHostLoopback ? null : '127.0.0.1';
    if (this.net.inNet(guestDst)) return null;
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
    this.tcp6?.pause();
    this.icmp.echo.pause();
    this.ip6?.icmp6.echo?.pause();
  }

  resume(): void {
    if (!this.pausedFlag) return;
    this.pausedFlag = false;
    this.tcp.resume();
    this.tcp6?.resume();
    this.udp.resume();
    this.udp6?.resume();
    this.tftp.resume();
    this.tftp6?.resume();
    this.icmp.echo.resume();
    this.ip6?.icmp6.echo?.resume();
  }

  /** Adds a hostfwd rule in QEMU syntax ("tcp:127.0.0.1:2222-:22"); rejects with a reason the user can act on. */
  async addHostForward(spec: string | HostForward): Promise<void> {
    const rule = typeof spec === 'string' ? parseHostForwardRule(spec) : spec;
    await this.addHostForwardRule(rule);
  }

  private async addHostForwardRule(rule: HostForward): Promise<void> {
    if (rule.guestAddr6 !== undefined) {
      if (!this.tcp6) throw new NetdevOptionError(`hostfwd to the IPv6 guest address ${rule.guestAddr6} needs ipv6=on`, 'hostfwd', 0, 0);
      return this.tcp6.addHostForward(rule);
    }
    if (rule.protocol === 'udp') return this.udp.addHostForward(rule);
    return this.tcp.addHostForward(rule);
  }

  /** Removes a rule given as QEMU's hostfwd_remove takes it ("[tcp|udp]:[hostaddr]:hostport") or as fields. */
  removeHostForward(spec: string | Pick<HostForward, 'protocol' | 'hostAddr' | 'hostPort'>): boolean {
    const rule = typeof spec === 'string' ? parseHostForwardRemoval(spec) : spec;
    if (rule.protocol === 'udp') return this.udp.removeHostForward(rule);
    return this.tcp.removeHostForward(rule) || (this.tcp6?.stack.removeHostForward(rule) ?? false);
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

  /**
   * A condition's `mtu` dropped a guest packet larger than the link: as a
   * router, the gateway says so when the packet may not be fragmented (IPv4
   * with DF; IPv6 always), with the MTU to use.
   */
  private tooBig(hit: ProbeHit, mtu: number): void {
    const f = hit.frame;
    if (stagePosition(hit.stage).direction !== 'tx' || f.length < 14 + 40) return;
    const type = (f[12]! << 8) | f[13]!;
    if (type === ETHERTYPE_IPV4 && (f[14 + 6]! & 0x40) !== 0) this.icmp.sendError(f.subarray(14), ICMP_UNREACHABLE, ICMP_UNREACH_NEEDFRAG, this.config.host, mtu);
    else if (type === ETHERTYPE_IPV6) this.ip6?.sendError(f.subarray(14), ICMPV6_PACKET_TOO_BIG, 0, mtu);
  }

  async close(): Promise<void> {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.stopTooBig();
    this.tcp.close();
    this.tcp6?.close();
    this.udp.close();
    this.udp6?.close();
    this.icmp.echo.close();
    this.ip6?.close();
    this.tftp.close();
    this.tftp6?.close();
    this.dnsUpstream.close();
    this.reassembler.clear();
    this.ifOut.clear();
    // Socket close callbacks run on the next turns of the event loop.
    await new Promise<void>((r) => setImmediate(r));
  }

  drop(reason: DropReason, frame: Uint8Array, stage?: StageName): void {
    this.dropCounter.count(reason, stage, frame);
  }
}
