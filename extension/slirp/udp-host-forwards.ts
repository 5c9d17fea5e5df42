/**
 * udp hostfwd rules (libslirp's udp_listen): a host socket bound per rule. A
 * datagram from a host peer opens an inbound flow toward the guest (udp.ts),
 * whose replies go back out through the rule's socket.
 */
import dgram from 'node:dgram';
import { isIPv4 } from 'node:net';
import type { HostForward } from './config';
import type { SlirpCore } from './core';

export interface UdpListener {
  readonly rule: HostForward;
  readonly socket: dgram.Socket;
  readonly listing: { protocol: 'udp'; hostAddr: string; hostPort: number; guestAddr: number; guestPort: number; fd: number };
}

/** What the rules ask of the UDP layer. */
export interface InboundFlows {
  /** A host peer's datagram to a rule's port, for the guest. */
  inbound(listener: UdpListener, msg: Buffer, rinfo: dgram.RemoteInfo): void;
  /** The rule goes: so do the flows through its socket. */
  closeFlowsOn(socket: dgram.Socket): void;
}

export class UdpHostForwards {
  private readonly listeners: UdpListener[] = [];

  constructor(
    private readonly core: SlirpCore,
    private readonly flows: InboundFlows,
  ) {}

  /** Binds a udp hostfwd rule; rejects when the port cannot be bound (as QEMU refuses to start). */
  async add(rule: HostForward): Promise<void> {
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
    socket.on('message', (msg, rinfo) => this.flows.inbound(listener, msg, rinfo));
  }

  remove(rule: Pick<HostForward, 'hostAddr' | 'hostPort'>): boolean {
    const i = this.listeners.findIndex((l) => l.rule.hostAddr === rule.hostAddr && l.rule.hostPort === rule.hostPort);
    if (i < 0) return false;
    const [l] = this.listeners.splice(i, 1);
    this.closeListener(l!);
    return true;
  }

  /** The bound port of each rule, in order (useful when hostport was 0). */
  get ports(): number[] {
    return this.listeners.map((l) => l.listing.hostPort);
  }

  closeAll(): void {
    for (const l of this.listeners.splice(0)) this.closeListener(l);
  }

  private closeListener(l: UdpListener): void {
    const j = this.core.nat.forwards.indexOf(l.listing);
    if (j >= 0) this.core.nat.forwards.splice(j, 1);
    this.flows.closeFlowsOn(l.socket);
    try {
      l.socket.close();
    } catch {
      // already closed
    }
  }
}
