import dgram from 'node:dgram';
import { isIPv4 } from 'node:net';
import type { TimerHandle } from '../pipeline/clock';
import { formatIp4, type HostForward } from './config';
import { allocateFrame, sessionInfo, TRANSPORT_OFFSET, type SlirpCore } from './core';
import type { IcmpHandler } from './icmp';
import type { NatSession } from './nat';
import { parseIp4 } from './netdev-options';
import { ICMP_UNREACHABLE, ICMP_UNREACH_PORT } from './wire/icmp';
import { IPPROTO_UDP } from './wire/ipv4';
import { UDP_HEADER_LENGTH, writeUdpHeader } from './wire/udp';

/** libslirp's SO_EXPIRE and SO_EXPIREFAST: 240 s for UDP flows, 10 s for DNS. */
export const UDP_EXPIRE_MS = 240_000;
export const UDP_EXPIRE_DNS_MS = 10_000;
/** Datagrams held per flow while the VM is paused or the socket is still connecting. */
const MAX_QUEUED_PER_FLOW = 32;
/** Bytes held across all flows while the VM is paused; beyond it datagrams are dropped (UDP may lose them). */
const MAX_PAUSED_BYTES = 1 << 20;
/** The IP header and the start of the payload kept to quote in an ICMP error. */
const QUOTE_BYTES = 64;
const SWEEP_MS = 1000;

/** Where a flow's datagrams go on the host side. */
export interface UdpPeer {
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
}

interface UdpFlow {
  readonly key: string;
  readonly session: NatSession;
  readonly lifetimeMs: number;
  /** Outbound flows own a connected socket; inbound (hostfwd) flows send through the listener. */
  readonly socket: dgram.Socket;
  readonly owned: boolean;
  readonly peer: UdpPeer;
  connected: boolean;
  /** Guest datagrams waiting for connect(): bounded. */
  pendingSend: Uint8Array[];
  /** Host datagrams received while paused: bounded. */
  pendingReceive: Uint8Array[];
  /** The last guest datagram's IP header and first bytes, quoted in ICMP errors. */
  lastQuote?: Uint8Array;
  closed: boolean;
}

interface UdpListener {
  readonly rule: HostForward;
  readonly socket: dgram.Socket;
  readonly listing: { protocol: 'udp'; hostAddr: string; hostPort: number; guestAddr: number; guestPort: number; fd: number };
}

const flowKey = (guestAddr: number, guestPort: number, remoteAddr: number, remotePort: number) =>
  `${guestAddr}:${guestPort}>${remoteAddr}:${remotePort}`;

/**
 * UDP NAT through Node dgram sockets (udp.c / socket.c). One connected socket per
 * (guest address, guest port, destination, destination port), so every reply is
 * known to come from the address the guest talked to, and the kernel reports a
 * closed port (ECONNREFUSED), which becomes an ICMP port unreachable from that
 * same address. Inbound flows of udp hostfwd rules share the rule's socket.
 */
export class UdpNat {
  private readonly flows = new Map<string, UdpFlow>();
  private readonly listeners: UdpListener[] = [];
  private sweepTimer: TimerHandle | undefined;
  private closed = false;
  private pausedBytes = 0;

  constructor(private readonly core: SlirpCore, private readonly icmp: IcmpHandler) {}

  get flowCount(): number {
    return this.flows.size;
  }

  /** The session of the flow that already exists for this 4-tuple (outbound, or a hostfwd reply path). */
  find(guestAddr: number, guestPort: number, dst: number, dstPort: number): NatSession | undefined {
    return this.flows.get(flowKey(guestAddr, guestPort, dst, dstPort))?.session;
  }

  /**
   * Sends a guest datagram. `ipDatagram` is the whole IPv4 datagram (quoted in
   * ICMP errors); `peer` says where a new flow goes (ignored for existing flows).
   */
  send(frame: Uint8Array, ipDatagram: Uint8Array, src: number, srcPort: number, dst: number, dstPort: number, data: Uint8Array, peer: UdpPeer | null): void {
    const key = flowKey(src, srcPort, dst, dstPort);
    let flow = this.flows.get(key);
    if (!flow) {
      if (!peer) return this.core.dropCounter.count('udp-unreachable');
      if (this.core.nat.full) return this.core.dropCounter.count('nat-table-full');
      flow = this.openOutbound(key, src, srcPort, dst, dstPort, peer);
      if (!flow) return;
    }
    flow.lastQuote = ipDatagram.slice(0, Math.min(ipDatagram.length, QUOTE_BYTES));
    this.sosendto(frame, flow, data);
  }

  /** sosendto: the host socket write. */
  private sosendto(frame: Uint8Array, flow: UdpFlow, data: Uint8Array): void {
    const p = this.core.probes.probes.sosendto;
    if (p.armed && p.fire({ stage: p.stage, frame, session: sessionInfo(flow.session) }, () => this.sosendto(frame, flow, data))) return;
    if (flow.closed) return;
    const s = flow.session;
    s.bytesOut += data.length;
    s.packetsOut++;
    this.touch(flow);
    const copy = Buffer.from(data);
    if (!flow.owned) {
      flow.socket.send(copy, flow.peer.port, flow.peer.address, (err) => err && this.core.dropCounter.count('udp-send-error'));
      return;
    }
    if (!flow.connected) {
      if (flow.pendingSend.length >= MAX_QUEUED_PER_FLOW) return this.core.dropCounter.count('udp-queue-full');
      flow.pendingSend.push(copy);
      return;
    }
    flow.socket.send(copy, (err) => err && this.core.dropCounter.count('udp-send-error'));
  }

  private openOutbound(key: string, src: number, srcPort: number, dst: number, dstPort: number, peer: UdpPeer): UdpFlow | undefined {
    const socket = dgram.createSocket(peer.family === 6 ? 'udp6' : 'udp4');
    const session = this.newSession(src, srcPort, dst, dstPort, peer, false);
    const flow: UdpFlow = {
      key,
      session,
      lifetimeMs: dstPort === 53 ? UDP_EXPIRE_DNS_MS : UDP_EXPIRE_MS,
      socket,
      owned: true,
      peer,
      connected: false,
      pendingSend: [],
      pendingReceive: [],
      closed: false,
    };
    if (!this.core.nat.add(session)) {
      socket.close();
      this.core.dropCounter.count('nat-table-full');
      return undefined;
    }
    this.flows.set(key, flow);
    this.touch(flow);
    socket.on('message', (msg) => this.received(flow, msg));
    socket.on('error', (err: NodeJS.ErrnoException) => this.socketError(flow, err));
    socket.connect(peer.port, peer.address, () => {
      if (flow.closed) return;
      flow.connected = true;
      try {
        const a = socket.address();
        session.hostLocalAddr = a.address;
        session.hostLocalPort = a.port;
      } catch {
        // closed meanwhile
      }
      const queued = flow.pendingSend;
      flow.pendingSend = [];
      for (const m of queued) socket.send(m, (err) => err && this.core.dropCounter.count('udp-send-error'));
      this.core.nat.changed(session);
    });
    this.armSweep();
    return flow;
  }

  private newSession(guestAddr: number, guestPort: number, remoteAddr: number, remotePort: number, peer: UdpPeer, inbound: boolean): NatSession {
    const now = this.core.clock.now();
    const session: NatSession = {
      id: this.core.nat.allocateId(),
      protocol: 'udp',
      state: 'ACTIVE',
      guestAddr,
      guestPort,
      remoteAddr,
      remotePort,
      hostLocalAddr: '',
      hostLocalPort: 0,
      hostPeerAddr: peer.address,
      hostPeerPort: peer.port,
      inbound,
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
      close: () => {
        const f = this.flows.get(flowKey(guestAddr, guestPort, remoteAddr, remotePort));
        if (f && f.session === session) this.closeFlow(f);
      },
    };
    return session;
  }

  private socketError(flow: UdpFlow, err: NodeJS.ErrnoException): void {
    if (flow.closed) return;
    if (err.code === 'ECONNREFUSED') {
      // The host said "port unreachable": tell the guest, from the address it talked to.
      this.core.dropCounter.count('udp-port-unreachable');
      if (flow.lastQuote) this.icmp.sendError(flow.lastQuote, ICMP_UNREACHABLE, ICMP_UNREACH_PORT, flow.session.remoteAddr);
      return;
    }
    this.core.dropCounter.count('udp-socket-error');
    this.core.log(`UDP flow ${formatIp4(flow.session.guestAddr)}:${flow.session.guestPort} -> ${flow.peer.address}:${flow.peer.port}: ${err.message}`);
    this.closeFlow(flow);
  }

  private received(flow: UdpFlow, msg: Buffer): void {
    if (flow.closed) return;
    if (this.core.paused) {
      if (flow.pendingReceive.length >= MAX_QUEUED_PER_FLOW || this.pausedBytes + msg.length > MAX_PAUSED_BYTES) {
        return this.core.dropCounter.count('udp-paused-overflow');
      }
      flow.pendingReceive.push(new Uint8Array(msg));
      flow.session.recvQ += msg.length;
      this.pausedBytes += msg.length;
      return;
    }
    this.sorecvfrom(flow, msg);
  }

  /** sorecvfrom: a datagram from the host socket, framed for the guest. */
  private sorecvfrom(flow: UdpFlow, data: Uint8Array): void {
    const frame = allocateFrame(UDP_HEADER_LENGTH + data.length);
    frame.set(data, TRANSPORT_OFFSET + UDP_HEADER_LENGTH);
    const p = this.core.probes.probes.sorecvfrom;
    if (p.armed && p.fire({ stage: p.stage, frame, session: sessionInfo(flow.session) }, () => this.deliver(flow, frame, data.length))) return;
    this.deliver(flow, frame, data.length);
  }

  private deliver(flow: UdpFlow, frame: Uint8Array, length: number): void {
    if (flow.closed) return;
    const s = flow.session;
    s.bytesIn += length;
    s.packetsIn++;
    this.touch(flow);
    this.udp_output(frame, s.remoteAddr, s.remotePort, s.guestAddr, s.guestPort, s);
  }

  /** udp_output: `frame` holds the payload after the UDP header; the header is written here, before the probe shows it. */
  udp_output(frame: Uint8Array, src: number, srcPort: number, dst: number, dstPort: number, session?: NatSession): void {
    writeUdpHeader(frame.subarray(TRANSPORT_OFFSET), src, dst, srcPort, dstPort);
    const p = this.core.probes.probes.udp_output;
    if (p.armed && p.fire({ stage: p.stage, frame, session: session && sessionInfo(session) }, () => this.core.ipOutput(frame, src, dst, IPPROTO_UDP, session))) return;
    this.core.ipOutput(frame, src, dst, IPPROTO_UDP, session);
  }

  private touch(flow: UdpFlow): void {
    const now = this.core.clock.now();
    flow.session.lastActivity = now;
    flow.session.expiresAt = now + flow.lifetimeMs;
    this.core.nat.changed(flow.session);
  }

  private closeFlow(flow: UdpFlow): void {
    if (flow.closed) return;
    flow.closed = true;
    this.flows.delete(flow.key);
    if (flow.owned) {
      try {
        flow.socket.close();
      } catch {
        // already closed
      }
    }
    for (const m of flow.pendingReceive) this.pausedBytes -= m.length;
    flow.pendingReceive = [];
    flow.pendingSend = [];
    this.core.nat.remove(flow.session);
  }

  /** Expires idle flows; the clock stands still while the VM is paused, so nothing expires then. */
  sweep(): void {
    const now = this.core.clock.now();
    for (const f of [...this.flows.values()]) if ((f.session.expiresAt ?? 0) <= now) this.closeFlow(f);
  }

  private armSweep(): void {
    if (this.sweepTimer || this.closed) return;
    this.sweepTimer = this.core.clock.setTimeout(() => {
      this.sweepTimer = undefined;
      this.sweep();
      if (this.flows.size > 0) this.armSweep();
    }, SWEEP_MS);
  }

  /** Delivers what arrived while paused. */
  resume(): void {
    this.pausedBytes = 0;
    for (const f of [...this.flows.values()]) {
      const queued = f.pendingReceive;
      f.pendingReceive = [];
      f.session.recvQ = 0;
      for (const m of queued) this.sorecvfrom(f, m);
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
    for (const f of [...this.flows.values()]) if (f.socket === l.socket) this.closeFlow(f);
    try {
      l.socket.close();
    } catch {
      // already closed
    }
  }

  /** A datagram from a host peer to a udp hostfwd port: a flow toward the guest, replies go back through the rule's socket. */
  private inbound(l: UdpListener, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const v4 = rinfo.address.startsWith('::ffff:') ? rinfo.address.slice(7) : rinfo.address;
    const peerIp = parseIp4(v4);
    if (peerIp === null) return this.core.dropCounter.count('udp-hostfwd-ipv6-peer');
    // Host loopback appears to the guest as the gateway, as libslirp shows it.
    const remoteAddr = peerIp >>> 24 === 127 ? this.core.config.host : peerIp;
    const guestAddr = l.rule.guestAddr || this.core.guestAddress;
    const key = flowKey(guestAddr, l.rule.guestPort, remoteAddr, rinfo.port);
    let flow = this.flows.get(key);
    if (!flow) {
      if (this.core.nat.full) return this.core.dropCounter.count('nat-table-full');
      const peer: UdpPeer = { address: rinfo.address, port: rinfo.port, family: rinfo.family === 'IPv6' ? 6 : 4 };
      const session = this.newSession(guestAddr, l.rule.guestPort, remoteAddr, rinfo.port, peer, true);
      session.hostLocalAddr = l.rule.hostAddr;
      session.hostLocalPort = l.listing.hostPort;
      flow = {
        key,
        session,
        lifetimeMs: UDP_EXPIRE_MS,
        socket: l.socket,
        owned: false,
        peer,
        connected: true,
        pendingSend: [],
        pendingReceive: [],
        closed: false,
      };
      if (!this.core.nat.add(session)) return this.core.dropCounter.count('nat-table-full');
      this.flows.set(key, flow);
      this.armSweep();
    }
    this.received(flow, msg);
  }

  close(): void {
    this.closed = true;
    if (this.sweepTimer) this.core.clock.clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
    for (const f of [...this.flows.values()]) this.closeFlow(f);
    for (const l of this.listeners.splice(0)) this.closeListener(l);
  }
}
