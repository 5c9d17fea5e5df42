/**
 * Echo requests the guest sends past the gateway, forwarded through host ping
 * sockets (ping-socket.ts), one family per instance. libslirp's icmp_send opens
 * a socket per request and keeps it until the reply (icmp_receive) or
 * SO_EXPIRE (240 s); here a socket serves one echo flow, the guest's echo
 * identifier to one remote address, as long as it is in use, so `ping -c 100`
 * is one NAT row with its counters, not a hundred sockets.
 *
 * The kernel gives each socket an identifier of its own and stamps it on every
 * request; a reply gets the guest's identifier back before it is relayed (the
 * NAT row shows both: guest id as its guest port, the host's as its local
 * port). The sequence number and data travel untouched. A request the host
 * cannot send (no route, say) is answered by the gateway with unreachable, as
 * libslirp's icmp_send does; errors routers beyond the host send back are not
 * seen (the socket does not ask for them, as libslirp's does not).
 *
 * Limits: MAX_ECHO_FLOWS open flows per family and VM (libslirp has none but
 * the process's file descriptors), each closed ECHO_EXPIRE_MS after its last
 * request or reply (libslirp's SO_EXPIRE), and by the NAT table's bound.
 */
import { constants as osConstants } from 'node:os';
import type { Clock } from '../pipeline/clock';
import type { ProbeHub } from '../pipeline/probe';
import { get16, set16 } from '../wire/bytes';
import { ICMP_ECHO_REPLY } from '../wire/icmp';
import { ICMPV6_ECHO_REPLY } from '../wire/icmpv6';
import { sessionInfo } from './core';
import type { DropCounter } from './drops';
import { FlowExpiry } from './flow-expiry';
import type { NatSession, NatTable } from './nat';
import type { PingFamily, PingSocket, PingSockets } from './ping-socket';

/** libslirp's SO_EXPIRE: an ICMP socket lives 240 s. */
export const ECHO_EXPIRE_MS = 240_000;
/** Open echo flows one family of one VM may have (each holds a host socket). */
export const MAX_ECHO_FLOWS = 64;
const EAGAIN = osConstants.errno.EAGAIN;
/** Bytes of a request kept to quote in an ICMP error about it. */
const QUOTE_BYTES = 1280;

/** What a family (icmp.ts, icmp6.ts) does with what comes back, and calls its drops. */
export interface EchoFamily {
  readonly family: PingFamily;
  /** Relays an echo reply (ICMP header and data, the guest's identifier back in place) from the flow's remote address to the guest's. */
  reply(message: Uint8Array, session: NatSession, remote: Uint8Array, guest: Uint8Array): void;
  /** The gateway tells the guest that the request in `datagram` (its IP datagram) found no way on. */
  unreachable(datagram: Uint8Array, err: number): void;
  /** The family's drop reasons are this prefix's: -forward-unsupported (no ping socket), -echo-flows-full, -send-error, -socket-error, -bad-reply. */
  readonly drops: 'icmp' | 'icmpv6';
}

export interface EchoDeps {
  readonly clock: Clock;
  readonly probes: ProbeHub;
  readonly nat: NatTable;
  readonly dropCounter: DropCounter;
  readonly sockets: PingSockets;
  log(message: string): void;
}

/** One guest request to forward. */
export interface EchoRequest {
  /** The guest's frame (what probes show) and its IP datagram (what an error quotes). */
  readonly frame: Uint8Array;
  readonly datagram: Uint8Array;
  /** The ICMP message: header (type, code, checksum, identifier, sequence) and data. */
  readonly message: Uint8Array;
  /** Addresses as bytes (4 or 16), and as the NAT row shows them. */
  readonly guest: Uint8Array;
  readonly remote: Uint8Array;
  readonly row: Pick<NatSession, 'guestAddr' | 'guestAddr6' | 'remoteAddr' | 'remoteAddr6' | 'hostPeerAddr'>;
}

interface EchoFlow {
  readonly key: string;
  readonly socket: PingSocket;
  readonly session: NatSession;
  readonly remote: Uint8Array;
  readonly guest: Uint8Array;
  readonly guestId: number;
  quote: Uint8Array;
  closed: boolean;
}

export class EchoFlows {
  private readonly flows = new Map<string, EchoFlow>();
  private readonly expiry: FlowExpiry<EchoFlow>;
  private warned = false;
  private paused = false;

  constructor(
    private readonly d: EchoDeps,
    private readonly f: EchoFamily,
  ) {
    this.expiry = new FlowExpiry(d.clock, d.nat, () => this.flows.values(), (flow) => this.closeFlow(flow));
  }

  get size(): number {
    return this.flows.size;
  }

  /** icmp_send: forwards the guest's echo request, opening its flow on first use. */
  forward(r: EchoRequest): void {
    const guestId = get16(r.message, 4);
    const key = `${guestId}|${r.remote.join('.')}`;
    const flow = this.flows.get(key) ?? this.open(key, guestId, r);
    if (!flow) return;
    flow.quote = r.datagram.slice(0, QUOTE_BYTES);
    this.sosendto(r, flow);
  }

  /** sosendto: the host socket write (the kernel puts in its identifier and the checksum). */
  private sosendto(r: EchoRequest, flow: EchoFlow): void {
    const p = this.d.probes.probes.sosendto;
    if (p.enter(r.frame) && p.fire({ stage: p.stage, frame: r.frame, session: sessionInfo(flow.session) }, () => this.sosendto(r, flow))) return;
    if (flow.closed) return;
    const err = flow.socket.send(r.message, flow.remote);
    const s = flow.session;
    if (err !== 0) {
      this.d.dropCounter.count(`${this.f.drops}-send-error`, undefined, r.frame);
      // A full socket buffer (a flood ping) loses this echo only; anything else means no way on.
      if (err !== EAGAIN) this.f.unreachable(flow.quote, err);
      // As libslirp detaches the socket: a destination with no way to it leaves no row behind.
      if (s.packetsIn === 0) this.closeFlow(flow);
      return;
    }
    s.packetsOut++;
    s.bytesOut += r.message.length;
    if (s.hostLocalPort === 0) s.hostLocalPort = flow.socket.identifier();
    this.touch(flow);
  }

  private open(key: string, guestId: number, r: EchoRequest): EchoFlow | undefined {
    if (this.flows.size >= MAX_ECHO_FLOWS) return void this.d.dropCounter.count(`${this.f.drops}-echo-flows-full`, undefined, r.frame);
    if (this.d.nat.full) return void this.d.dropCounter.count('nat-table-full', undefined, r.frame);
    let flow: EchoFlow | undefined;
    const socket = this.d.sockets.open(this.f.family, () => flow && this.guarded(flow));
    if ('error' in socket) {
      if (!this.warned) {
        this.warned = true;
        this.d.log(`${this.f.family === 4 ? 'ping' : 'ping6'} to addresses past the gateway is not forwarded: ${socket.error}`);
      }
      return void this.d.dropCounter.count(`${this.f.drops}-forward-unsupported`, undefined, r.frame);
    }
    const now = this.d.clock.now();
    const session: NatSession = {
      id: this.d.nat.allocateId(),
      protocol: 'icmp',
      state: 'ACTIVE',
      ...r.row,
      guestPort: guestId,
      remotePort: 0,
      hostLocalAddr: '',
      hostLocalPort: 0,
      hostPeerPort: 0,
      inbound: false,
      createdAt: now,
      lastActivity: now,
      expiresAt: now + ECHO_EXPIRE_MS,
      recvQ: 0,
      sendQ: 0,
      fd: socket.fd,
      bytesOut: 0,
      packetsOut: 0,
      bytesIn: 0,
      packetsIn: 0,
      close: () => flow && this.closeFlow(flow),
    };
    flow = { key, socket, session, remote: r.remote.slice(), guest: r.guest.slice(), guestId, quote: r.datagram, closed: false };
    this.d.nat.add(session);
    this.flows.set(key, flow);
    if (this.paused) socket.watch(false);
    this.expiry.arm();
    return flow;
  }

  /** Reading runs from the poll's callback, outside any guest frame: a fault there is counted, never thrown. */
  private guarded(flow: EchoFlow): void {
    try {
      this.readable(flow);
    } catch (err) {
      this.d.dropCounter.count('internal-error');
      this.d.log(`slirp: internal error relaying an echo reply (dropped): ${(err as Error)?.stack ?? err}`);
    }
  }

  /** The socket has replies (or an error) waiting: read them all. */
  private readable(flow: EchoFlow): void {
    while (!flow.closed) {
      const got = flow.socket.receive();
      if (got === EAGAIN) return;
      if (typeof got === 'number') {
        this.d.dropCounter.count(`${this.f.drops}-socket-error`);
        this.f.unreachable(flow.quote, got);
        return this.closeFlow(flow);
      }
      this.sorecvfrom(flow, got);
    }
  }

  /** sorecvfrom: a reply read from the host socket, given the guest's identifier back. */
  private sorecvfrom(flow: EchoFlow, message: Uint8Array): void {
    // The kernel hands only echo replies to the socket's identifier: anything else is not relayed.
    if (message.length < 8 || message[0] !== (this.f.family === 4 ? ICMP_ECHO_REPLY : ICMPV6_ECHO_REPLY)) return this.d.dropCounter.count(`${this.f.drops}-bad-reply`);
    set16(message, 4, flow.guestId);
    const p = this.d.probes.probes.sorecvfrom;
    if (p.enter() && p.fire({ stage: p.stage, frame: new Uint8Array(0), payload: message, session: sessionInfo(flow.session) }, () => this.deliver(flow, message))) return;
    this.deliver(flow, message);
  }

  private deliver(flow: EchoFlow, message: Uint8Array): void {
    if (flow.closed) return;
    const s = flow.session;
    s.packetsIn++;
    s.bytesIn += message.length;
    this.touch(flow);
    this.f.reply(message, s, flow.remote, flow.guest);
    // What the stack sends next (an error, a retransmission) is no part of this read's route.
    this.d.probes.endRoute();
  }

  private touch(flow: EchoFlow): void {
    this.expiry.touch(flow, ECHO_EXPIRE_MS);
  }

  private closeFlow(flow: EchoFlow): void {
    if (flow.closed) return;
    flow.closed = true;
    flow.socket.close();
    if (this.flows.get(flow.key) === flow) this.flows.delete(flow.key);
    this.d.nat.remove(flow.session);
  }

  /** While the VM is paused replies wait in the host sockets (the kernel bounds them), read on resume. */
  pause(): void {
    this.paused = true;
    for (const flow of this.flows.values()) flow.socket.watch(false);
  }

  resume(): void {
    this.paused = false;
    for (const flow of this.flows.values()) {
      flow.socket.watch(true);
      this.readable(flow);
    }
  }

  close(): void {
    this.expiry.stop();
    for (const flow of [...this.flows.values()]) this.closeFlow(flow);
  }
}
