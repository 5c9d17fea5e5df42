import dgram from 'node:dgram';
import { isIPv4 } from 'node:net';
import type { DropReason } from '../pipeline/drop-reasons';
import type { StageName } from '../pipeline/stages';
import { DHCPV6_SERVER_PORT } from '../wire/dhcpv6';
import { ICMPV6_UNREACHABLE, ICMPV6_UNREACH_ADDRESS, ICMPV6_UNREACH_NO_ROUTE, ICMPV6_UNREACH_PORT } from '../wire/icmpv6';
import { IPPROTO_UDP } from '../wire/ipv4';
import type { Ipv6View } from '../wire/ipv6';
import { formatIpv6, ipv6Equal, isIpv6LinkLocal, isIpv6Loopback, isIpv6Multicast, isIpv6Unspecified, parseIpv6 } from '../wire/ipv6-address';
import { UDP_HEADER_LENGTH, UdpView, writeUdp6Header } from '../wire/udp';
import { sessionInfo } from './core';
import { dhcpv6Reply } from './dhcpv6';
import { validateDnsQuery, type DnsServerAddress } from './dns';
import { FlowExpiry } from './flow-expiry';
import { type Ip6Core, type Ipv6Handles, TRANSPORT6_OFFSET, allocateFrame6 } from './ip6';
import type { TftpServer } from './tftp';
import { LoopbackSenders } from './udp-loopback-senders';
import type { NatSession, NatTable } from './nat';
import { UDP_EXPIRE_DNS_MS, UDP_EXPIRE_MS } from './udp';

/** Host datagrams held per flow while the VM is paused. */
const MAX_HELD_PER_FLOW = 32;
/** The guest datagram's first bytes kept per flow, quoted in ICMPv6 errors. */
const QUOTE_BYTES = 96;
/** ff02::1:2, All_DHCP_Relay_Agents_and_Servers (RFC 8415 7.1). */
const ALL_DHCP_AGENTS = parseIpv6('ff02::1:2')!;
const DNS_PORT = 53;

type Udp6Session = { -readonly [K in keyof NatSession]: NatSession[K] };

interface Udp6Flow {
  readonly key: string;
  readonly guest: Uint8Array;
  readonly guestPort: number;
  readonly session: Udp6Session;
  readonly socket: dgram.Socket;
  /** Host peers reached through a virtual address ('::1' through fec0::2, the resolver through fec0::3), by "address|port". */
  readonly virtualPeers: Map<string, { address: Uint8Array; port: number }>;
  held: { data: Uint8Array; src: Uint8Array; srcPort: number }[];
  lastQuote?: Uint8Array;
  /** Connected senders to the host's loopback, which hear its refusals (udp-loopback-senders.ts). */
  loopback?: LoopbackSenders<Uint8Array>;
  closed: boolean;
}

export interface Udp6Deps {
  readonly core: Ip6Core;
  readonly nat: NatTable;
  paused(): boolean;
  /** The resolver queries to the DNS address go to (dns= upstream, else resolv.conf). */
  dnsUpstream(): DnsServerAddress | null;
  /** The TFTP server of IPv6 guests (tftp.ts over address handles): port 69 and live transfers at the gateway. */
  readonly tftp?: { readonly server: TftpServer; readonly handles: Ipv6Handles };
}

/**
 * udp6_input and the UDP NAT over IPv6 (libslirp's udp6.c): DHCPv6 to the
 * built-in stateless server, DNS at fec0::3:53 to the host's resolver, and every
 * other datagram through an unconnected host socket per guest (address, port),
 * as over IPv4. fec0::2 stands for the host's ::1 (as 10.0.2.2 for 127.0.0.1);
 * replies come back from the address the guest used.
 */
export class Udp6 {
  private readonly flows = new Map<string, Udp6Flow>();
  private readonly core: Ip6Core;
  /** As over IPv4 (udp.ts): libslirp's SO_EXPIRE and SO_EXPIREFAST. */
  private readonly expiry: FlowExpiry<Udp6Flow>;

  constructor(private readonly d: Udp6Deps) {
    this.core = d.core;
    this.expiry = new FlowExpiry(d.core.clock, d.nat, () => this.flows.values(), (f) => this.closeFlow(f));
  }

  get flowCount(): number {
    return this.flows.size;
  }

  udp6_input(frame: Uint8Array, ip: Ipv6View): void {
    const checked = UdpView.check6(ip.payload, ip.source, ip.destination);
    const p = this.core.probes.probes.udp6_input;
    if (p.enter(frame)) {
      const flow = typeof checked === 'string' ? undefined : this.flows.get(flowKey(ip.source, checked.sourcePort));
      if (p.fire({ stage: p.stage, frame, session: flow && sessionInfo(flow.session) }, () => this.core.safely(() => this.dispatch(frame, ip, checked)))) return;
    }
    this.dispatch(frame, ip, checked);
  }

  private dispatch(frame: Uint8Array, ip: Ipv6View, checked: UdpView | string): void {
    if (typeof checked === 'string') return this.drop(checked, frame, 'udp6_input');
    const udp = checked;
    const a = this.core.addresses;
    const dst = ip.destination;
    const sport = udp.sourcePort;
    const dport = udp.destinationPort;
    if (sport === 0 || dport === 0) return this.drop('udp-bad-port', frame, 'udp6_input');
    if (dport === DHCPV6_SERVER_PORT && (ipv6Equal(dst, ALL_DHCP_AGENTS) || a.isOwn(dst))) return this.dhcpv6_input(frame, ip, udp);
    if (isIpv6Multicast(dst)) return this.drop('udp-multicast', frame, 'udp6_input');
    if (isIpv6Unspecified(ip.source)) return this.drop('ipv6-bad-source', frame, 'udp6_input');
    const tftp = this.d.tftp;
    const client = tftp && a.isHost(dst) ? tftp.handles.handleOf(ip.source) : undefined;
    if (client !== undefined && tftp!.server.owns(client, sport, dport)) return this.tftp_input(frame, client, udp);
    if (a.isDns(dst) && dport === DNS_PORT) return this.core.config.restrict ? this.drop('dns-restricted', frame, 'udp6_input') : this.dns_input(frame, ip, udp);
    const host = this.hostAddressFor(dst);
    if (host === null) {
      if (this.core.config.restrict) return this.drop('udp-restricted', frame, 'udp6_input');
      // No host reaches this address: tell the guest at once (RFC 4443 3.1) instead of letting it time out.
      this.core.sendError(ip.datagram, ICMPV6_UNREACHABLE, a.onLink(dst) ? ICMPV6_UNREACH_ADDRESS : ICMPV6_UNREACH_NO_ROUTE);
      return this.drop('udp-unreachable', frame, 'udp6_input');
    }
    this.send(frame, ip, udp, host, dport);
  }

  /** The host address a guest destination reaches over IPv6, or null. */
  hostAddressFor(dst: Uint8Array): string | null {
    const c = this.core.config;
    const a = this.core.addresses;
    if (c.restrict) return null;
    if (a.isHost(dst)) return c.disableHostLoopback ? null : '::1';
    if (a.isDns(dst) || a.onLink(dst) || isIpv6Multicast(dst) || isIpv6Loopback(dst) || isIpv6Unspecified(dst) || isIpv6LinkLocal(dst)) return null;
    // IPv4-mapped addresses (::ffff:0:0/96) would let the guest reach the host's IPv4 loopback unseen.
    if (dst.subarray(0, 10).every((b) => b === 0) && dst[10] === 0xff && dst[11] === 0xff) return null;
    return formatIpv6(dst);
  }

  private dhcpv6_input(frame: Uint8Array, ip: Ipv6View, udp: UdpView): void {
    const p = this.core.probes.probes.dhcpv6_input;
    if (p.enter(frame) && p.fire({ stage: p.stage, frame }, () => this.core.safely(() => this.dhcpv6_input(frame, ip, udp)))) return;
    const a = this.core.addresses;
    const reply = dhcpv6Reply(udp.payload, this.core.config, a.host, a.dns);
    if (reply === null) return;
    if (typeof reply === 'string') return this.drop(reply, frame);
    // From the link-local address: a client that has no global address yet must be able to answer.
    this.udp6_output(reply, a.linkLocalHost, DHCPV6_SERVER_PORT, ip.source, udp.sourcePort);
  }

  private tftp_input(frame: Uint8Array, client: number, udp: UdpView): void {
    const p = this.core.probes.probes.tftp_input;
    if (p.enter(frame) && p.fire({ stage: p.stage, frame }, () => this.core.safely(() => this.tftp_input(frame, client, udp)))) return;
    this.d.tftp!.server.input(client, udp.sourcePort, udp.destinationPort, udp.payload);
  }

  private dns_input(frame: Uint8Array, ip: Ipv6View, udp: UdpView): void {
    const p = this.core.probes.probes.dns_input;
    if (p.enter(frame) && p.fire({ stage: p.stage, frame }, () => this.core.safely(() => this.dns_input(frame, ip, udp)))) return;
    const bad = validateDnsQuery(udp.payload);
    if (bad) return this.drop(bad, frame);
    const upstream = this.d.dnsUpstream();
    if (!upstream) return this.drop('dns-no-upstream', frame);
    this.send(frame, ip, udp, upstream.address, upstream.port);
  }

  private send(frame: Uint8Array, ip: Ipv6View, udp: UdpView, hostAddress: string, hostPort: number): void {
    const flow = this.flowFor(ip.source, udp.sourcePort, ip.destination, udp.destinationPort, hostAddress, hostPort);
    if (!flow) return;
    const dst = ip.destination;
    const peer = isIPv4(hostAddress) ? `::ffff:${hostAddress}` : hostAddress;
    // Replies from a host peer the guest reached through a virtual address come back from that address.
    if (this.core.addresses.isOwn(dst)) flow.virtualPeers.set(`${peer}|${hostPort}`, { address: dst.slice(), port: udp.destinationPort });
    const s = flow.session;
    s.remoteAddr6 = formatIpv6(dst);
    s.remotePort = udp.destinationPort;
    s.hostPeerAddr = hostAddress;
    s.hostPeerPort = hostPort;
    flow.lastQuote = ip.datagram.slice(0, QUOTE_BYTES);
    this.sosendto(frame, flow, udp.payload, peer, hostPort, this.core.addresses.isDns(dst));
  }

  private sosendto(frame: Uint8Array, flow: Udp6Flow, data: Uint8Array, address: string, port: number, dns: boolean): void {
    const p = this.core.probes.probes.sosendto;
    if (p.enter(frame) && p.fire({ stage: p.stage, frame, session: sessionInfo(flow.session) }, () => this.sosendto(frame, flow, data, address, port, dns))) return;
    if (flow.closed) return;
    const s = flow.session;
    s.bytesOut += data.length;
    s.packetsOut++;
    this.touch(flow, dns);
    const copy = Buffer.from(data);
    if (flow.lastQuote && flow.loopback?.send(copy, address, port, flow.lastQuote)) return;
    flow.socket.send(copy, port, address, (err) => {
      if (!err) return;
      this.drop('udp-send-error');
      const code = (err as NodeJS.ErrnoException).code;
      if (!flow.closed && flow.lastQuote && (code === 'ENETUNREACH' || code === 'EHOSTUNREACH')) {
        this.core.sendError(flow.lastQuote, ICMPV6_UNREACHABLE, code === 'ENETUNREACH' ? ICMPV6_UNREACH_NO_ROUTE : ICMPV6_UNREACH_ADDRESS);
      }
    });
  }

  private flowFor(guest: Uint8Array, guestPort: number, dst: Uint8Array, dstPort: number, hostAddress: string, hostPort: number): Udp6Flow | undefined {
    const key = flowKey(guest, guestPort);
    const existing = this.flows.get(key);
    if (existing) return existing;
    const nat = this.d.nat;
    if (nat.full) {
      this.drop('nat-table-full', undefined, 'udp6_input');
      return undefined;
    }
    // A dual-stack socket: it reaches IPv6 peers and, as ::ffff:a.b.c.d, an IPv4 resolver.
    const options: dgram.SocketOptions = { type: 'udp6', ipv6Only: false };
    // Shared with the flow's loopback senders (same port, SO_REUSEADDR).
    const socket = dgram.createSocket({ ...options, reuseAddr: true });
    const now = this.core.clock.now();
    const flow: Udp6Flow = {
      key,
      guest: guest.slice(),
      guestPort,
      socket,
      virtualPeers: new Map(),
      held: [],
      closed: false,
      session: {
        id: nat.allocateId(),
        protocol: 'udp',
        state: 'ACTIVE',
        guestAddr: 0,
        guestAddr6: formatIpv6(guest),
        guestPort,
        remoteAddr: 0,
        remoteAddr6: formatIpv6(dst),
        remotePort: dstPort,
        hostLocalAddr: '::',
        hostLocalPort: 0,
        hostPeerAddr: hostAddress,
        hostPeerPort: hostPort,
        inbound: false,
        createdAt: now,
        lastActivity: now,
        expiresAt: now + UDP_EXPIRE_MS,
        bytesOut: 0,
        packetsOut: 0,
        bytesIn: 0,
        packetsIn: 0,
        recvQ: 0,
        sendQ: 0,
        fd: -1,
        close: () => this.closeFlow(flow),
      },
    };
    socket.on('message', (msg, rinfo) => this.sorecvfrom(flow, msg, rinfo));
    socket.on('error', () => this.drop('udp-socket-error'));
    flow.loopback = new LoopbackSenders(socket, options, (msg, rinfo) => this.sorecvfrom(flow, msg, rinfo), (quote) => {
      if (flow.closed) return;
      // The host said "port unreachable": the error comes from fec0::2, the address the guest reached the host's ::1 through.
      this.drop('udp-port-unreachable');
      this.core.sendError(quote, ICMPV6_UNREACHABLE, ICMPV6_UNREACH_PORT);
    });
    socket.bind(0, () => {
      try {
        flow.session.hostLocalPort = socket.address().port;
      } catch {
        // Closed before the bind completed.
      }
    });
    this.flows.set(key, flow);
    nat.add(flow.session);
    this.expiry.arm();
    return flow;
  }

  /** sorecvfrom: a datagram on a flow's host socket, relayed to the guest from the address it talks to. */
  private sorecvfrom(flow: Udp6Flow, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (flow.closed) return;
    const virtual = flow.virtualPeers.get(`${rinfo.address}|${rinfo.port}`);
    let src = virtual?.address;
    let srcPort = virtual?.port ?? rinfo.port;
    if (!src) {
      // A sender the guest never addressed: only real IPv6 hosts can be named to the guest.
      const parsed = parseIpv6(rinfo.address);
      if (!parsed || this.hostAddressFor(parsed) === null) return this.drop('udp-reply-unmapped');
      src = parsed;
      srcPort = rinfo.port;
    }
    const p = this.core.probes.probes.sorecvfrom;
    const data = new Uint8Array(msg);
    if (p.enter() && p.fire({ stage: p.stage, frame: new Uint8Array(0), payload: data, session: sessionInfo(flow.session) })) return;
    const s = flow.session;
    s.bytesIn += data.length;
    s.packetsIn++;
    this.touch(flow, false);
    if (this.d.paused()) {
      if (flow.held.length >= MAX_HELD_PER_FLOW) return this.drop('udp-paused-overflow');
      flow.held.push({ data, src, srcPort });
      return;
    }
    this.relay(flow, data, src, srcPort);
  }

  /** What a host socket read sent the guest; what the stack sends next is no part of its route. */
  private relay(flow: Udp6Flow, data: Uint8Array, src: Uint8Array, srcPort: number): void {
    this.udp6_output(data, src, srcPort, flow.guest, flow.guestPort, flow.session);
    this.core.probes.endRoute();
  }

  /** Delivers what arrived while the VM was paused. */
  resume(): void {
    for (const flow of this.flows.values()) {
      const held = flow.held;
      flow.held = [];
      for (const h of held) this.relay(flow, h.data, h.src, h.srcPort);
    }
  }

  /** udp6_output: the UDP header and checksum over the IPv6 pseudo-header, then ip6_output. */
  udp6_output(data: Uint8Array, src: Uint8Array, srcPort: number, dst: Uint8Array, dstPort: number, session?: NatSession): void {
    const frame = allocateFrame6(UDP_HEADER_LENGTH + data.length);
    const udp = frame.subarray(TRANSPORT6_OFFSET);
    udp.set(data, UDP_HEADER_LENGTH);
    writeUdp6Header(udp, src, dst, srcPort, dstPort);
    const from = src.slice();
    const to = dst.slice();
    const p = this.core.probes.probes.udp6_output;
    if (p.enter(frame) && p.fire({ stage: p.stage, frame, session: session && sessionInfo(session) }, () => this.core.safely(() => this.core.ip6Output(frame, from, to, IPPROTO_UDP, session)))) return;
    this.core.ip6Output(frame, from, to, IPPROTO_UDP, session);
  }

  private touch(flow: Udp6Flow, dns: boolean): void {
    this.expiry.touch(flow, dns ? UDP_EXPIRE_DNS_MS : UDP_EXPIRE_MS);
  }

  private closeFlow(flow: Udp6Flow): void {
    if (flow.closed) return;
    flow.closed = true;
    flow.loopback?.close();
    this.flows.delete(flow.key);
    try {
      flow.socket.close();
    } catch {
      // Already closed.
    }
    this.d.nat.remove(flow.session);
  }

  close(): void {
    this.expiry.stop();
    for (const flow of [...this.flows.values()]) this.closeFlow(flow);
  }

  /** `stage` where the reason is usually decided at the IPv4 stage of the same name (udp_input). */
  private drop(reason: string, frame?: Uint8Array, stage?: StageName): void {
    this.core.dropCounter.count(reason as DropReason, stage, frame);
  }
}

const flowKey = (guest: Uint8Array, port: number): string => `${formatIpv6(guest)}|${port}`;
