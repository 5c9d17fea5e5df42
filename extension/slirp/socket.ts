/**
 * libslirp's socket.c for UDP over IPv4: a flow's host socket (its `struct
 * socket`), what the guest's datagrams write to it (sosendto), what is read
 * from it (sorecvfrom), and what the host says back (a closed port, no route)
 * told to the guest as an ICMP error. udp.ts decides which flow a datagram
 * takes; the host sides of the other protocols are tcp/host-pipe.ts,
 * icmp-echo.ts and udp6.ts.
 */
import type dgram from 'node:dgram';
import { formatIpv4, parseIpv4 } from '../wire/address';
import { ICMP_UNREACHABLE, ICMP_UNREACH_HOST, ICMP_UNREACH_PORT } from '../wire/icmp';
import { UDP_HEADER_LENGTH } from '../wire/udp';
import { allocateFrame, sessionInfo, TRANSPORT_OFFSET, type SlirpCore } from './core';
import { servfailFor } from './dns';
import type { IcmpHandler } from './icmp';
import type { NatSession } from './nat';
import type { LoopbackSenders } from './udp-loopback-senders';

/** Datagrams held per flow while the VM is paused or the socket is still connecting. */
export const MAX_QUEUED_PER_FLOW = 32;
/** Bytes held across all flows while the VM is paused; beyond it datagrams are dropped (UDP may lose them). */
const MAX_PAUSED_BYTES = 1 << 20;
/** ICMP destination unreachable code 0 (wire/icmp names only the host and port codes). */
const ICMP_UNREACH_NET = 0;

/** Where a flow's datagrams go on the host side. */
export interface UdpPeer {
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
}

/** NatSession with the fields a UDP socket updates as the guest talks to new destinations (libslirp's so_faddr). */
export type UdpSession = { -readonly [K in keyof NatSession]: NatSession[K] };

/** A host datagram held while the VM is paused, with the source the guest will see. */
interface HeldDatagram {
  readonly data: Uint8Array;
  readonly src: number;
  readonly srcPort: number;
}

/**
 * - 'port': an unconnected socket per guest (address, port), as libslirp's; it
 *   sends wherever the guest sends and delivers replies from any sender.
 * - 'dns': a connected socket per guest query flow to 10.0.2.3:53.
 * - 'inbound': a flow of a udp hostfwd rule, sending through the rule's socket.
 */
export type FlowKind = 'port' | 'dns' | 'inbound';

export interface UdpFlow {
  readonly key: string;
  readonly kind: FlowKind;
  readonly session: UdpSession;
  readonly socket: dgram.Socket;
  /** The host peer: fixed for 'dns' and 'inbound' flows, the last destination for 'port' flows. */
  peer: UdpPeer;
  connected: boolean;
  /** Guest datagrams waiting for connect() ('dns' flows): bounded. */
  pendingSend: Uint8Array[];
  /** Host datagrams received while paused: bounded. */
  pendingReceive: HeldDatagram[];
  /** The last guest datagram's IP header and first bytes, quoted in ICMP errors. */
  lastQuote?: Uint8Array;
  /** An ICMP error was sent to the guest for this flow. */
  errored: boolean;
  /** 'dns' flows: queries sent upstream and not answered yet (bounded), answered SERVFAIL if it refuses. */
  awaiting: Uint8Array[];
  /**
   * 'port' flows: host addresses the guest reached through a virtual address
   * (127.0.0.1 through 10.0.2.2, the resolver through 10.0.2.3), so replies
   * from them come back from the address the guest used.
   */
  readonly virtualPeers: Map<string, number>;
  /** 'port' flows: connected senders to the host's loopback, which hear its refusals (udp-loopback-senders.ts). */
  loopback?: LoopbackSenders<{ quote: Uint8Array; dst: number }>;
  closed: boolean;
}

/** What the socket side asks of the UDP layer (udp.ts). */
export interface UdpSocketOwner {
  /** The flow was used: its expiry moves on. */
  touch(flow: UdpFlow): void;
  closeFlow(flow: UdpFlow): void;
  udp_output(frame: Uint8Array, src: number, srcPort: number, dst: number, dstPort: number, session?: NatSession): void;
}

export const unmapV4 = (address: string): string => (address.startsWith('::ffff:') ? address.slice(7) : address);

export class UdpSockets {
  private pausedBytes = 0;
  private readonly netMask: number;

  constructor(
    private readonly core: SlirpCore,
    private readonly icmp: IcmpHandler,
    private readonly owner: UdpSocketOwner,
  ) {
    const prefix = core.config.prefixLength;
    this.netMask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  }

  /** sosendto: the host socket write. */
  sosendto(frame: Uint8Array, flow: UdpFlow, data: Uint8Array, peer: UdpPeer, quote: Uint8Array, dst: number): void {
    const p = this.core.probes.probes.sosendto;
    if (p.enter(frame) && p.fire({ stage: p.stage, frame, session: sessionInfo(flow.session) }, () => this.sosendto(frame, flow, data, peer, quote, dst))) return;
    if (flow.closed) return;
    const s = flow.session;
    s.bytesOut += data.length;
    s.packetsOut++;
    this.owner.touch(flow);
    const copy = Buffer.from(data);
    if (flow.kind === 'dns') {
      if (flow.awaiting.length >= MAX_QUEUED_PER_FLOW) flow.awaiting.shift();
      flow.awaiting.push(copy);
      if (!flow.connected) {
        if (flow.pendingSend.length >= MAX_QUEUED_PER_FLOW) return this.core.dropCounter.count('udp-queue-full');
        flow.pendingSend.push(copy);
        return;
      }
      flow.socket.send(copy, (err) => err && this.dnsSendFailed(flow, err));
      return;
    }
    if (flow.loopback?.send(copy, peer.address, peer.port, { quote, dst })) return;
    flow.socket.send(copy, peer.port, peer.address, (err) => err && this.sendFailed(flow, err, quote));
  }

  /** A 'dns' flow's socket is connected: the queries that waited for it leave. */
  connected(flow: UdpFlow): void {
    flow.connected = true;
    this.noteLocalAddress(flow);
    const queued = flow.pendingSend;
    flow.pendingSend = [];
    for (const m of queued) flow.socket.send(m, (err) => err && this.dnsSendFailed(flow, err));
  }

  /** The socket's own address and port, for the NAT view. */
  noteLocalAddress(flow: UdpFlow): void {
    if (flow.closed) return;
    try {
      const a = flow.socket.address();
      flow.session.hostLocalAddr = a.address;
      flow.session.hostLocalPort = a.port;
    } catch {
      return; // closed meanwhile
    }
    this.core.nat.changed(flow.session);
  }

  /**
   * sosendto failed: as libslirp, an unreachable network or host is told to the
   * guest, by the gateway that found no way on (RFC 1812 4.3.2.4).
   */
  private sendFailed(flow: UdpFlow, err: NodeJS.ErrnoException, quote: Uint8Array): void {
    this.core.dropCounter.count('udp-send-error');
    if (flow.closed || flow.kind !== 'port') return;
    const code = err.code === 'ENETUNREACH' ? ICMP_UNREACH_NET : err.code === 'EHOSTUNREACH' ? ICMP_UNREACH_HOST : undefined;
    if (code !== undefined) this.sendErrorFor(flow, quote, code, this.core.config.host);
  }

  /** An ICMP error to the guest about `flow`; a flow that hears nothing else expires soon. */
  private sendErrorFor(flow: UdpFlow, quote: Uint8Array, code: number, src: number): void {
    this.icmp.sendError(quote, ICMP_UNREACHABLE, code, src);
    flow.errored = true;
    this.owner.touch(flow);
  }

  private dnsSendFailed(flow: UdpFlow, err: NodeJS.ErrnoException): void {
    if (err.code === 'ECONNREFUSED') return this.upstreamRefused(flow);
    this.core.dropCounter.count('udp-send-error');
  }

  /** The resolver's port is closed: every query waiting on it gets SERVFAIL now. */
  private upstreamRefused(flow: UdpFlow): void {
    this.core.dropCounter.count('dns-upstream-refused');
    const queries = flow.awaiting;
    flow.awaiting = [];
    for (const q of queries) this.received(flow, Buffer.from(servfailFor(q)), flow.session.remoteAddr, flow.session.remotePort);
  }

  socketError(flow: UdpFlow, err: NodeJS.ErrnoException): void {
    if (flow.closed) return;
    if (err.code === 'ECONNREFUSED') {
      if (flow.kind === 'dns') return this.upstreamRefused(flow);
      if (flow.lastQuote) this.portRefused(flow, flow.lastQuote, flow.session.remoteAddr);
      return;
    }
    this.core.dropCounter.count('udp-socket-error');
    this.core.log(`UDP flow ${formatIpv4(flow.session.guestAddr)}:${flow.session.guestPort} -> ${flow.peer.address}:${flow.peer.port}: ${err.message}`);
    this.owner.closeFlow(flow);
  }

  /** The host said "port unreachable": the guest hears it from the address it talked to. */
  portRefused(flow: UdpFlow, quote: Uint8Array, dst: number): void {
    if (flow.closed) return;
    this.core.dropCounter.count('udp-port-unreachable');
    this.sendErrorFor(flow, quote, ICMP_UNREACH_PORT, dst);
  }

  /** A 'dns' flow's answer: the query it answers waits no more. */
  answered(flow: UdpFlow, msg: Buffer): void {
    if (msg.length >= 2) flow.awaiting = flow.awaiting.filter((q) => q[0] !== msg[0] || q[1] !== msg[1]);
    this.received(flow, msg, flow.session.remoteAddr, flow.session.remotePort);
  }

  /** A datagram on a guest port's socket, from whoever sent it: mapped to the source the guest sees. */
  receivedOnPort(flow: UdpFlow, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (flow.closed) return;
    const src = this.guestViewOf(flow, rinfo.address);
    if (src === null) return this.core.dropCounter.count('udp-reply-unmapped');
    this.received(flow, msg, src, rinfo.port);
  }

  /**
   * The address a host sender appears from (libslirp's sotranslate_in): the
   * virtual address the guest reached it through, else the gateway for host
   * loopback, else the sender itself. Null when the guest could not be answered
   * from it (an IPv6 sender, loopback the guest may not reach, an address of the
   * guest's own network).
   */
  private guestViewOf(flow: UdpFlow, address: string): number | null {
    const host = unmapV4(address);
    const virtual = flow.virtualPeers.get(host) ?? flow.virtualPeers.get(address);
    if (virtual !== undefined) return virtual;
    const ip = parseIpv4(host);
    if (ip === null) return null;
    const c = this.core.config;
    if (ip >>> 24 === 127) return this.core.hostAddressFor(c.host) !== null ? c.host : null;
    if (((ip & this.netMask) >>> 0) === c.net) return null;
    return ip;
  }

  /** A datagram for the guest from `src`:`srcPort`: relayed now, or held while the VM is paused. */
  received(flow: UdpFlow, msg: Buffer, src: number, srcPort: number): void {
    if (flow.closed) return;
    if (this.core.paused) {
      if (flow.pendingReceive.length >= MAX_QUEUED_PER_FLOW || this.pausedBytes + msg.length > MAX_PAUSED_BYTES) {
        return this.core.dropCounter.count('udp-paused-overflow');
      }
      flow.pendingReceive.push({ data: new Uint8Array(msg), src, srcPort });
      flow.session.recvQ += msg.length;
      this.pausedBytes += msg.length;
      return;
    }
    this.sorecvfrom(flow, msg, src, srcPort);
  }

  /** sorecvfrom: a datagram from the host socket, framed for the guest. */
  private sorecvfrom(flow: UdpFlow, data: Uint8Array, src: number, srcPort: number): void {
    const frame = allocateFrame(UDP_HEADER_LENGTH + data.length);
    frame.set(data, TRANSPORT_OFFSET + UDP_HEADER_LENGTH);
    const p = this.core.probes.probes.sorecvfrom;
    if (p.enter(frame) && p.fire({ stage: p.stage, frame, session: sessionInfo(flow.session) }, () => this.deliver(flow, frame, data.length, src, srcPort))) return;
    this.deliver(flow, frame, data.length, src, srcPort);
  }

  private deliver(flow: UdpFlow, frame: Uint8Array, length: number, src: number, srcPort: number): void {
    if (flow.closed) return;
    const s = flow.session;
    s.bytesIn += length;
    s.packetsIn++;
    this.owner.touch(flow);
    this.owner.udp_output(frame, src, srcPort, s.guestAddr, s.guestPort, s);
    // What the stack sends next (an ICMP error, a TFTP retransmission) is no part of this read's route.
    this.core.probes.endRoute();
  }

  /** Delivers what arrived while paused. */
  resume(flows: Iterable<UdpFlow>): void {
    this.pausedBytes = 0;
    for (const f of flows) {
      const queued = f.pendingReceive;
      f.pendingReceive = [];
      f.session.recvQ = 0;
      for (const m of queued) this.sorecvfrom(f, m.data, m.src, m.srcPort);
    }
  }

  /** A closed flow's held datagrams no longer count against the bound. */
  forget(flow: UdpFlow): void {
    for (const m of flow.pendingReceive) this.pausedBytes -= m.data.length;
    flow.pendingReceive = [];
    flow.pendingSend = [];
  }
}
