import { formatIpv4, parseIpv4 } from '../wire/address';
import dgram from 'node:dgram';
import { isIPv4 } from 'node:net';
import type { TimerHandle } from '../pipeline/clock';
import type { HostForward } from './config';
import { servfailFor } from './dns';
import { allocateFrame, sessionInfo, TRANSPORT_OFFSET, type SlirpCore } from './core';
import type { IcmpHandler } from './icmp';
import { LoopbackSenders } from './udp-loopback-senders';
import type { NatSession } from './nat';
import { ICMP_UNREACHABLE, ICMP_UNREACH_HOST, ICMP_UNREACH_PORT } from '../wire/icmp';
import { IPPROTO_UDP } from '../wire/ipv4';
import { UDP_HEADER_LENGTH, writeUdpHeader } from '../wire/udp';

/**
 * libslirp's SO_EXPIRE and SO_EXPIREFAST: 240 s for UDP flows, 10 s for DNS and
 * for flows that only ever got ICMP errors back (a traceroute's probes).
 */
export const UDP_EXPIRE_MS = 240_000;
export const UDP_EXPIRE_DNS_MS = 10_000;
/** Datagrams held per flow while the VM is paused or the socket is still connecting. */
const MAX_QUEUED_PER_FLOW = 32;
/** Bytes held across all flows while the VM is paused; beyond it datagrams are dropped (UDP may lose them). */
const MAX_PAUSED_BYTES = 1 << 20;
/** The IP header and the start of the payload kept to quote in an ICMP error. */
const QUOTE_BYTES = 64;
const SWEEP_MS = 1000;
/** ICMP destination unreachable code 0 (wire/icmp names only the host and port codes). */
const ICMP_UNREACH_NET = 0;

/** Where a flow's datagrams go on the host side. */
export interface UdpPeer {
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
}

/** NatSession with the fields a UDP socket updates as the guest talks to new destinations (libslirp's so_faddr). */
type UdpSession = { -readonly [K in keyof NatSession]: NatSession[K] };

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
type FlowKind = 'port' | 'dns' | 'inbound';

interface UdpFlow {
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

interface UdpListener {
  readonly rule: HostForward;
  readonly socket: dgram.Socket;
  readonly listing: { protocol: 'udp'; hostAddr: string; hostPort: number; guestAddr: number; guestPort: number; fd: number };
}

const flowKey = (guestAddr: number, guestPort: number, remoteAddr: number, remotePort: number) =>
  `${guestAddr}:${guestPort}>${remoteAddr}:${remotePort}`;
const portKey = (guestAddr: number, guestPort: number, family: 4 | 6) => `${guestAddr}:${guestPort}/${family}`;
const unmapV4 = (address: string) => (address.startsWith('::ffff:') ? address.slice(7) : address);

/**
 * UDP NAT through Node dgram sockets (udp.c / socket.c).
 *
 * As libslirp, each guest source (address, port) owns one unconnected host
 * socket: it sends to every destination that guest port talks to, and delivers
 * replies from any sender, so a service that answers from another port (TFTP's
 * per-transfer port, STUN, some DNS servers) reaches the guest. The NAT table
 * keeps one entry per such socket, showing the last destination, as libslirp's
 * so_faddr and QEMU's `info usernet` do; its counters count every datagram of
 * the socket once.
 *
 * The cost: Node exposes no IP_RECVERR, and the kernel reports ICMP errors only
 * to connected UDP sockets, so a closed port behind an unconnected socket stays
 * silent (as in libslirp). Queries to the DNS address 10.0.2.3:53 therefore keep
 * a connected socket per flow: a dead resolver (ECONNREFUSED, reported on the
 * socket or by the next send) answers every query waiting on it with SERVFAIL,
 * so the guest's resolver moves on at once instead of waiting out its timeout.
 *
 * Inbound flows of udp hostfwd rules share the rule's socket.
 */
export class UdpNat {
  /** 'dns' and 'inbound' flows, by 4-tuple. */
  private readonly exact = new Map<string, UdpFlow>();
  /** 'port' flows, by guest address, port and host socket family. */
  private readonly ports = new Map<string, UdpFlow>();
  private readonly listeners: UdpListener[] = [];
  private sweepTimer: TimerHandle | undefined;
  private closed = false;
  private pausedBytes = 0;
  private readonly netMask: number;

  constructor(private readonly core: SlirpCore, private readonly icmp: IcmpHandler) {
    const prefix = core.config.prefixLength;
    this.netMask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  }

  get flowCount(): number {
    return this.exact.size + this.ports.size;
  }

  /**
   * The flow bound to exactly this 4-tuple (a DNS query flow, or a hostfwd reply
   * path): its datagrams go to that flow's fixed peer whatever the destination maps to.
   */
  find(guestAddr: number, guestPort: number, dst: number, dstPort: number): NatSession | undefined {
    return this.exact.get(flowKey(guestAddr, guestPort, dst, dstPort))?.session;
  }

  /** The session a guest datagram will travel in, if one exists (for the debugger). */
  sessionFor(guestAddr: number, guestPort: number, dst: number, dstPort: number): NatSession | undefined {
    return (
      this.find(guestAddr, guestPort, dst, dstPort) ??
      (this.ports.get(portKey(guestAddr, guestPort, 4)) ?? this.ports.get(portKey(guestAddr, guestPort, 6)))?.session
    );
  }

  /**
   * Sends a guest datagram. `ipDatagram` is the whole IPv4 datagram (quoted in
   * ICMP errors); `peer` says where it goes on the host (ignored when an exact
   * flow exists for the 4-tuple).
   */
  send(frame: Uint8Array, ipDatagram: Uint8Array, src: number, srcPort: number, dst: number, dstPort: number, data: Uint8Array, peer: UdpPeer | null): void {
    let flow = this.exact.get(flowKey(src, srcPort, dst, dstPort));
    if (!flow) {
      if (!peer) return this.core.dropCounter.count('udp-unreachable');
      flow = dst === this.core.config.dns && dstPort === 53 ? this.openDns(src, srcPort, dst, dstPort, peer) : this.portFlow(src, srcPort, dst, dstPort, peer);
      if (!flow) return;
    }
    const quote = ipDatagram.slice(0, Math.min(ipDatagram.length, QUOTE_BYTES));
    flow.lastQuote = quote;
    if (flow.kind === 'port') {
      const s = flow.session;
      s.remoteAddr = dst;
      s.remotePort = dstPort;
      s.hostPeerAddr = peer!.address;
      s.hostPeerPort = peer!.port;
      flow.peer = peer!;
      if (peer!.address !== formatIpv4(dst)) flow.virtualPeers.set(peer!.address, dst);
    }
    this.sosendto(frame, flow, data, flow.peer, quote, dst);
  }

  /** sosendto: the host socket write. */
  private sosendto(frame: Uint8Array, flow: UdpFlow, data: Uint8Array, peer: UdpPeer, quote: Uint8Array, dst: number): void {
    const p = this.core.probes.probes.sosendto;
    if (p.enter(frame) && p.fire({ stage: p.stage, frame, session: sessionInfo(flow.session) }, () => this.sosendto(frame, flow, data, peer, quote, dst))) return;
    if (flow.closed) return;
    const s = flow.session;
    s.bytesOut += data.length;
    s.packetsOut++;
    this.touch(flow);
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
    this.touch(flow);
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

  /** A datagram to the guest from one of our own addresses (not through a host socket). */
  answer(payload: Uint8Array, src: number, srcPort: number, dst: number, dstPort: number): void {
    const frame = allocateFrame(UDP_HEADER_LENGTH + payload.length);
    frame.set(payload, TRANSPORT_OFFSET + UDP_HEADER_LENGTH);
    this.udp_output(frame, src, srcPort, dst, dstPort);
  }

  /** The guest port's unconnected socket, opened on its first datagram. */
  private portFlow(src: number, srcPort: number, dst: number, dstPort: number, peer: UdpPeer): UdpFlow | undefined {
    const key = portKey(src, srcPort, peer.family);
    const existing = this.ports.get(key);
    if (existing) return existing;
    if (this.core.nat.full) return void this.core.dropCounter.count('nat-table-full');
    const type = peer.family === 6 ? 'udp6' : 'udp4';
    // Shared with the flow's loopback senders (same port, SO_REUSEADDR).
    const socket = dgram.createSocket({ type, reuseAddr: true });
    const flow = this.newFlow('port', key, src, srcPort, dst, dstPort, peer, socket);
    if (!flow) return undefined;
    this.ports.set(key, flow);
    flow.loopback = new LoopbackSenders(socket, { type }, (msg, rinfo) => this.receivedOnPort(flow, msg, rinfo), ({ quote, dst }) => this.portRefused(flow, quote, dst));
    socket.on('message', (msg, rinfo) => this.receivedOnPort(flow, msg, rinfo));
    socket.on('error', (err: NodeJS.ErrnoException) => this.socketError(flow, err));
    // Sends issued before the bind completes are queued by Node.
    socket.bind(0, () => this.noteLocalAddress(flow));
    this.armSweep();
    return flow;
  }

  private openDns(src: number, srcPort: number, dst: number, dstPort: number, peer: UdpPeer): UdpFlow | undefined {
    if (this.core.nat.full) return void this.core.dropCounter.count('nat-table-full');
    const key = flowKey(src, srcPort, dst, dstPort);
    const socket = dgram.createSocket(peer.family === 6 ? 'udp6' : 'udp4');
    const flow = this.newFlow('dns', key, src, srcPort, dst, dstPort, peer, socket);
    if (!flow) return undefined;
    this.exact.set(key, flow);
    const s = flow.session;
    socket.on('message', (msg) => {
      if (msg.length >= 2) flow.awaiting = flow.awaiting.filter((q) => q[0] !== msg[0] || q[1] !== msg[1]);
      this.received(flow, msg, s.remoteAddr, s.remotePort);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => this.socketError(flow, err));
    socket.connect(peer.port, peer.address, () => {
      if (flow.closed) return;
      flow.connected = true;
      this.noteLocalAddress(flow);
      const queued = flow.pendingSend;
      flow.pendingSend = [];
      for (const m of queued) socket.send(m, (err) => err && this.dnsSendFailed(flow, err));
    });
    this.armSweep();
    return flow;
  }

  private noteLocalAddress(flow: UdpFlow): void {
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

  /** A flow and its NAT entry; undefined (socket closed, drop counted) when the table is full. */
  private newFlow(kind: FlowKind, key: string, guestAddr: number, guestPort: number, remoteAddr: number, remotePort: number, peer: UdpPeer, socket: dgram.Socket, local?: { addr: string; port: number }): UdpFlow | undefined {
    const now = this.core.clock.now();
    let flow: UdpFlow | undefined;
    const session: UdpSession = {
      id: this.core.nat.allocateId(),
      protocol: 'udp',
      state: 'ACTIVE',
      guestAddr,
      guestPort,
      remoteAddr,
      remotePort,
      hostLocalAddr: local?.addr ?? '',
      hostLocalPort: local?.port ?? 0,
      hostPeerAddr: peer.address,
      hostPeerPort: peer.port,
      inbound: kind === 'inbound',
      createdAt: now,
      lastActivity: now,
      expiresAt: now,
      recvQ: 0,
      sendQ: 0,
      fd: -1,
      bytesOut: 0,
      packetsOut: 0,
      bytesIn: 0,
      packetsIn: 0,
      close: () => flow && this.closeFlow(flow),
    };
    flow = {
      key,
      kind,
      session,
      socket,
      peer,
      connected: kind !== 'dns',
      pendingSend: [],
      pendingReceive: [],
      virtualPeers: new Map(),
      closed: false,
      errored: false,
      awaiting: [],
    };
    if (!this.core.nat.add(session)) {
      if (kind !== 'inbound') socket.close();
      this.core.dropCounter.count('nat-table-full');
      return undefined;
    }
    this.touch(flow);
    return flow;
  }

  private socketError(flow: UdpFlow, err: NodeJS.ErrnoException): void {
    if (flow.closed) return;
    if (err.code === 'ECONNREFUSED') {
      if (flow.kind === 'dns') return this.upstreamRefused(flow);
      if (flow.lastQuote) this.portRefused(flow, flow.lastQuote, flow.session.remoteAddr);
      return;
    }
    this.core.dropCounter.count('udp-socket-error');
    this.core.log(`UDP flow ${formatIpv4(flow.session.guestAddr)}:${flow.session.guestPort} -> ${flow.peer.address}:${flow.peer.port}: ${err.message}`);
    this.closeFlow(flow);
  }

  /** The host said "port unreachable": the guest hears it from the address it talked to. */
  private portRefused(flow: UdpFlow, quote: Uint8Array, dst: number): void {
    if (flow.closed) return;
    this.core.dropCounter.count('udp-port-unreachable');
    this.sendErrorFor(flow, quote, ICMP_UNREACH_PORT, dst);
  }

  /** A datagram on a guest port's socket, from whoever sent it: mapped to the source the guest sees. */
  private receivedOnPort(flow: UdpFlow, msg: Buffer, rinfo: dgram.RemoteInfo): void {
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

  private received(flow: UdpFlow, msg: Buffer, src: number, srcPort: number): void {
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
    this.touch(flow);
    this.udp_output(frame, src, srcPort, s.guestAddr, s.guestPort, s);
    // What the stack sends next (an ICMP error, a TFTP retransmission) is no part of this read's route.
    this.core.probes.endRoute();
  }

  /** udp_output: `frame` holds the payload after the UDP header; the header is written here, before the probe shows it. */
  udp_output(frame: Uint8Array, src: number, srcPort: number, dst: number, dstPort: number, session?: NatSession): void {
    writeUdpHeader(frame.subarray(TRANSPORT_OFFSET), src, dst, srcPort, dstPort);
    const p = this.core.probes.probes.udp_output;
    if (p.enter(frame) && p.fire({ stage: p.stage, frame, session: session && sessionInfo(session) }, () => this.core.ip_output(frame, src, dst, IPPROTO_UDP, session))) return;
    this.core.ip_output(frame, src, dst, IPPROTO_UDP, session);
  }

  /**
   * libslirp's so_expire: a socket whose (last) destination port is 53 lives 10 s, others 240 s;
   * one that only ever got ICMP errors back (a traceroute's probes) 10 s as well.
   */
  private touch(flow: UdpFlow): void {
    const now = this.core.clock.now();
    const fast = flow.session.remotePort === 53 || (flow.errored && flow.session.packetsIn === 0);
    const lifetime = flow.kind !== 'inbound' && fast ? UDP_EXPIRE_DNS_MS : UDP_EXPIRE_MS;
    flow.session.lastActivity = now;
    flow.session.expiresAt = now + lifetime;
    this.core.nat.changed(flow.session);
  }

  private closeFlow(flow: UdpFlow): void {
    if (flow.closed) return;
    flow.closed = true;
    flow.loopback?.close();
    const map = flow.kind === 'port' ? this.ports : this.exact;
    if (map.get(flow.key) === flow) map.delete(flow.key);
    if (flow.kind !== 'inbound') {
      try {
        flow.socket.close();
      } catch {
        // already closed
      }
    }
    for (const m of flow.pendingReceive) this.pausedBytes -= m.data.length;
    flow.pendingReceive = [];
    flow.pendingSend = [];
    this.core.nat.remove(flow.session);
  }

  private allFlows(): UdpFlow[] {
    return [...this.exact.values(), ...this.ports.values()];
  }

  /** Expires idle flows; the clock stands still while the VM is paused, so nothing expires then. */
  sweep(): void {
    const now = this.core.clock.now();
    for (const f of this.allFlows()) if ((f.session.expiresAt ?? 0) <= now) this.closeFlow(f);
  }

  private armSweep(): void {
    if (this.sweepTimer || this.closed) return;
    this.sweepTimer = this.core.clock.setTimeout(() => {
      this.sweepTimer = undefined;
      this.sweep();
      if (this.flowCount > 0) this.armSweep();
    }, SWEEP_MS);
  }

  /** Delivers what arrived while paused. */
  resume(): void {
    this.pausedBytes = 0;
    for (const f of this.allFlows()) {
      const queued = f.pendingReceive;
      f.pendingReceive = [];
      f.session.recvQ = 0;
      for (const m of queued) this.sorecvfrom(f, m.data, m.src, m.srcPort);
    }
  }

  /** Binds a udp hostfwd rule; rejects when the port cannot be bound (as QEMU refuses to start). */
  async addHostForward(rule: HostForward): Promise<void> {
    const family = isIPv4(rule.hostAddr) ? 'udp4' : 'udp6';
    const socket = dgram.createSocket(family);
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(rule.hostPort, rule.hostAddr, () => {
        socket.off('error', reject);
        resolve();
      });
    }).catch((err: Error) => {
      socket.close();
      throw new Error(`cannot bind udp hostfwd ${rule.hostAddr}:${rule.hostPort}: ${err.message}; choose another port`);
    });
    const bound = socket.address();
    const listing = { protocol: 'udp' as const, hostAddr: rule.hostAddr, hostPort: bound.port, guestAddr: rule.guestAddr || this.core.guestAddress, guestPort: rule.guestPort, fd: -1 };
    const listener: UdpListener = { rule: { ...rule, hostPort: bound.port }, socket, listing };
    this.listeners.push(listener);
    this.core.nat.forwards.push(listing);
    socket.on('error', (err) => this.core.log(`udp hostfwd ${rule.hostAddr}:${bound.port}: ${err.message}`));
    socket.on('message', (msg, rinfo) => this.inbound(listener, msg, rinfo));
  }

  removeHostForward(rule: Pick<HostForward, 'protocol' | 'hostAddr' | 'hostPort'>): boolean {
    const i = this.listeners.findIndex((l) => l.rule.hostAddr === rule.hostAddr && l.rule.hostPort === rule.hostPort);
    if (i < 0) return false;
    const [l] = this.listeners.splice(i, 1);
    this.closeListener(l!);
    return true;
  }

  /** The bound port of the n-th udp hostfwd rule (useful when hostport was 0). */
  get forwardPorts(): number[] {
    return this.listeners.map((l) => l.listing.hostPort);
  }

  private closeListener(l: UdpListener): void {
    const j = this.core.nat.forwards.indexOf(l.listing);
    if (j >= 0) this.core.nat.forwards.splice(j, 1);
    for (const f of [...this.exact.values()]) if (f.socket === l.socket) this.closeFlow(f);
    try {
      l.socket.close();
    } catch {
      // already closed
    }
  }

  /** A datagram from a host peer to a udp hostfwd port: a flow toward the guest, replies go back through the rule's socket. */
  private inbound(l: UdpListener, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const peerIp = parseIpv4(unmapV4(rinfo.address));
    if (peerIp === null) return this.core.dropCounter.count('udp-hostfwd-ipv6-peer');
    // Host loopback appears to the guest as the gateway, as libslirp shows it.
    const remoteAddr = peerIp >>> 24 === 127 ? this.core.config.host : peerIp;
    const guestAddr = l.rule.guestAddr || this.core.guestAddress;
    const key = flowKey(guestAddr, l.rule.guestPort, remoteAddr, rinfo.port);
    let flow = this.exact.get(key);
    if (!flow) {
      if (this.core.nat.full) return this.core.dropCounter.count('nat-table-full', 'sorecvfrom');
      const peer: UdpPeer = { address: rinfo.address, port: rinfo.port, family: rinfo.family === 'IPv6' ? 6 : 4 };
      flow = this.newFlow('inbound', key, guestAddr, l.rule.guestPort, remoteAddr, rinfo.port, peer, l.socket, { addr: l.rule.hostAddr, port: l.listing.hostPort });
      if (!flow) return;
      this.exact.set(key, flow);
      this.armSweep();
    }
    this.received(flow, msg, flow.session.remoteAddr, flow.session.remotePort);
  }

  close(): void {
    this.closed = true;
    if (this.sweepTimer) this.core.clock.clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
    for (const f of this.allFlows()) this.closeFlow(f);
    for (const l of this.listeners.splice(0)) this.closeListener(l);
  }
}
