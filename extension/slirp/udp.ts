import dgram from 'node:dgram';
import { formatIpv4, parseIpv4 } from '../wire/address';
import type { HostForward } from './config';
import { allocateFrame, sessionInfo, TRANSPORT_OFFSET, type SlirpCore } from './core';
import { FlowExpiry } from './flow-expiry';
import type { IcmpHandler } from './icmp';
import { LoopbackSenders } from './udp-loopback-senders';
import type { NatSession } from './nat';
import { UdpSockets, unmapV4, type FlowKind, type UdpFlow, type UdpPeer, type UdpSession } from './socket';
import { UdpHostForwards, type UdpListener } from './udp-host-forwards';
import { IPPROTO_UDP } from '../wire/ipv4';
import { UDP_HEADER_LENGTH, writeUdpHeader } from '../wire/udp';

export type { UdpPeer } from './socket';

/**
 * libslirp's SO_EXPIRE and SO_EXPIREFAST: 240 s for UDP flows, 10 s for DNS and
 * for flows that only ever got ICMP errors back (a traceroute's probes).
 */
export const UDP_EXPIRE_MS = 240_000;
export const UDP_EXPIRE_DNS_MS = 10_000;
/** The IP header and the start of the payload kept to quote in an ICMP error. */
const QUOTE_BYTES = 64;

const flowKey = (guestAddr: number, guestPort: number, remoteAddr: number, remotePort: number) =>
  `${guestAddr}:${guestPort}>${remoteAddr}:${remotePort}`;
const portKey = (guestAddr: number, guestPort: number, family: 4 | 6) => `${guestAddr}:${guestPort}/${family}`;

/**
 * UDP NAT through Node dgram sockets (libslirp's udp.c; the sockets' side,
 * sosendto and sorecvfrom, is socket.ts; hostfwd rules udp-host-forwards.ts).
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
  private readonly sockets: UdpSockets;
  private readonly forwards: UdpHostForwards;
  private readonly expiry: FlowExpiry<UdpFlow>;

  constructor(private readonly core: SlirpCore, icmp: IcmpHandler) {
    this.sockets = new UdpSockets(core, icmp, this);
    this.forwards = new UdpHostForwards(core, this);
    this.expiry = new FlowExpiry(core.clock, core.nat, () => this.allFlows(), (f) => this.closeFlow(f));
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
   * Sends a guest datagram (libslirp's udp_attach on first use, then sosendto).
   * `ipDatagram` is the whole IPv4 datagram (quoted in ICMP errors); `peer`
   * says where it goes on the host (ignored when an exact flow exists for the 4-tuple).
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
    this.sockets.sosendto(frame, flow, data, flow.peer, quote, dst);
  }

  /** A datagram to the guest from one of our own addresses (not through a host socket). */
  answer(payload: Uint8Array, src: number, srcPort: number, dst: number, dstPort: number): void {
    const frame = allocateFrame(UDP_HEADER_LENGTH + payload.length);
    frame.set(payload, TRANSPORT_OFFSET + UDP_HEADER_LENGTH);
    this.udp_output(frame, src, srcPort, dst, dstPort);
  }

  /** udp_output: `frame` holds the payload after the UDP header; the header is written here, before the probe shows it. */
  udp_output(frame: Uint8Array, src: number, srcPort: number, dst: number, dstPort: number, session?: NatSession): void {
    writeUdpHeader(frame.subarray(TRANSPORT_OFFSET), src, dst, srcPort, dstPort);
    const p = this.core.probes.probes.udp_output;
    if (p.enter(frame) && p.fire({ stage: p.stage, frame, session: session && sessionInfo(session) }, () => this.core.ip_output(frame, src, dst, IPPROTO_UDP, session))) return;
    this.core.ip_output(frame, src, dst, IPPROTO_UDP, session);
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
    const sockets = this.sockets;
    flow.loopback = new LoopbackSenders(socket, { type }, (msg, rinfo) => sockets.receivedOnPort(flow, msg, rinfo), ({ quote, dst }) => sockets.portRefused(flow, quote, dst));
    socket.on('message', (msg, rinfo) => sockets.receivedOnPort(flow, msg, rinfo));
    socket.on('error', (err: NodeJS.ErrnoException) => sockets.socketError(flow, err));
    // Sends issued before the bind completes are queued by Node.
    socket.bind(0, () => sockets.noteLocalAddress(flow));
    return flow;
  }

  private openDns(src: number, srcPort: number, dst: number, dstPort: number, peer: UdpPeer): UdpFlow | undefined {
    if (this.core.nat.full) return void this.core.dropCounter.count('nat-table-full');
    const key = flowKey(src, srcPort, dst, dstPort);
    const socket = dgram.createSocket(peer.family === 6 ? 'udp6' : 'udp4');
    const flow = this.newFlow('dns', key, src, srcPort, dst, dstPort, peer, socket);
    if (!flow) return undefined;
    this.exact.set(key, flow);
    const sockets = this.sockets;
    socket.on('message', (msg) => sockets.answered(flow, msg));
    socket.on('error', (err: NodeJS.ErrnoException) => sockets.socketError(flow, err));
    socket.connect(peer.port, peer.address, () => flow.closed || sockets.connected(flow));
    return flow;
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

  /**
   * libslirp's so_expire: a socket whose (last) destination port is 53 lives 10 s, others 240 s;
   * one that only ever got ICMP errors back (a traceroute's probes) 10 s as well.
   */
  touch(flow: UdpFlow): void {
    const fast = flow.session.remotePort === 53 || (flow.errored && flow.session.packetsIn === 0);
    this.expiry.touch(flow, flow.kind !== 'inbound' && fast ? UDP_EXPIRE_DNS_MS : UDP_EXPIRE_MS);
  }

  closeFlow(flow: UdpFlow): void {
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
    this.sockets.forget(flow);
    this.core.nat.remove(flow.session);
  }

  private allFlows(): UdpFlow[] {
    return [...this.exact.values(), ...this.ports.values()];
  }

  /** Delivers what arrived while paused. */
  resume(): void {
    this.sockets.resume(this.allFlows());
  }

  /** Binds a udp hostfwd rule; rejects when the port cannot be bound (as QEMU refuses to start). */
  addHostForward(rule: HostForward): Promise<void> {
    return this.forwards.add(rule);
  }

  removeHostForward(rule: Pick<HostForward, 'protocol' | 'hostAddr' | 'hostPort'>): boolean {
    return this.forwards.remove(rule);
  }

  /** The bound port of the n-th udp hostfwd rule (useful when hostport was 0). */
  get forwardPorts(): number[] {
    return this.forwards.ports;
  }

  closeFlowsOn(socket: dgram.Socket): void {
    for (const f of [...this.exact.values()]) if (f.socket === socket) this.closeFlow(f);
  }

  /** A datagram from a host peer to a udp hostfwd port: a flow toward the guest, replies go back through the rule's socket. */
  inbound(l: UdpListener, msg: Buffer, rinfo: dgram.RemoteInfo): void {
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
    }
    this.sockets.received(flow, msg, flow.session.remoteAddr, flow.session.remotePort);
  }

  close(): void {
    this.expiry.stop();
    for (const f of this.allFlows()) this.closeFlow(f);
    this.forwards.closeAll();
  }
}
