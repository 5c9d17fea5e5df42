import { formatIpv4 } from '../wire/address';
import { EventEmitter } from 'node:events';
import type { TcpSample } from '../pipeline/flow/record';

export type NatProtocol = 'tcp' | 'udp' | 'icmp';

/** Per-direction counters. "out" is guest -> host, "in" is host -> guest. */
export interface FlowCounters {
  bytesOut: number;
  packetsOut: number;
  bytesIn: number;
  packetsIn: number;
}

/**
 * One flow through the NAT. Owned by the protocol module that created it
 * (udp.ts, tcp/, icmp.ts), which updates the mutable fields and calls
 * NatTable.changed(); the table only indexes and reports.
 */
export interface NatSession extends FlowCounters {
  readonly id: number;
  readonly protocol: NatProtocol;
  /** TCP: a name of `info usernet` (ESTABLISHED, SYN_SENT, TIME_WAIT, HOST_FORWARD...); UDP/ICMP: 'ACTIVE'. */
  state: string;
  readonly guestAddr: number;
  readonly guestPort: number;
  /** The address the guest talks to (10.0.2.2 stands for host loopback). */
  readonly remoteAddr: number;
  /** IPv6 flows: the guest's and the remote address as text (guestAddr and remoteAddr are then 0). */
  readonly guestAddr6?: string;
  remoteAddr6?: string;
  readonly remotePort: number;
  /** The host socket's own local address and port, as `info usernet` shows for forwards. */
  hostLocalAddr: string;
  hostLocalPort: number;
  /** The host-side peer, e.g. '127.0.0.1' when remoteAddr is 10.0.2.2. */
  hostPeerAddr: string;
  hostPeerPort: number;
  /** True for sessions a hostfwd rule created (inbound). */
  readonly inbound: boolean;
  readonly createdAt: number;
  lastActivity: number;
  /** Absolute expiry time (clock ms) for UDP/ICMP; undefined when the state decides (TCP). */
  expiresAt?: number;
  /** Bytes waiting toward the guest (RecvQ in info usernet) and toward the host (SendQ). */
  recvQ: number;
  sendQ: number;
  /** Host socket file descriptor when known, else -1. */
  fd: number;
  /** Closes the host socket and forgets the flow (the UI's "close session"). */
  close(): void;
  /** TCP: the stack's own congestion state now (the TCP stream graph samples it). */
  tcpSample?(): Omit<TcpSample, 'time'>;
}

export interface NatTableEvents {
  open: [NatSession];
  change: [NatSession];
  close: [NatSession];
}

/** The guest's address of a flow as text, whatever its family. */
export const guestAddrText = (s: Pick<NatSession, 'guestAddr' | 'guestAddr6'>): string => s.guestAddr6 ?? formatIpv4(s.guestAddr);
/** The remote address of a flow as text, whatever its family. */
export const remoteAddrText = (s: Pick<NatSession, 'remoteAddr' | 'remoteAddr6'>): string => s.remoteAddr6 ?? formatIpv4(s.remoteAddr);

/** A listening hostfwd rule, shown as TCP[HOST_FORWARD] / UDP[HOST_FORWARD]. */
export interface ForwardListing {
  readonly protocol: 'tcp' | 'udp';
  readonly hostAddr: string;
  readonly hostPort: number;
  readonly guestAddr: number;
  /** A rule to an IPv6 guest address: its text (guestAddr is then only a handle). */
  readonly guestAddr6?: string;
  readonly guestPort: number;
  readonly fd: number;
}

/** Every live flow of one slirp instance, with a bound on how many there may be. */
export class NatTable extends EventEmitter<NatTableEvents> {
  private sessions = new Map<number, NatSession>();
  private nextId = 1;
  readonly forwards: ForwardListing[] = [];

  constructor(readonly maxSessions = 4096) {
    super();
  }

  allocateId(): number {
    return this.nextId++;
  }

  get size(): number {
    return this.sessions.size;
  }

  get full(): boolean {
    return this.sessions.size >= this.maxSessions;
  }

  /** Adds a session; false (not added) when the table is full. */
  add(session: NatSession): boolean {
    if (this.full) return false;
    this.sessions.set(session.id, session);
    this.emit('open', session);
    return true;
  }

  changed(session: NatSession): void {
    if (this.sessions.has(session.id)) this.emit('change', session);
  }

  remove(session: NatSession): void {
    if (this.sessions.delete(session.id)) this.emit('close', session);
  }

  get(id: number): NatSession | undefined {
    return this.sessions.get(id);
  }

  list(): NatSession[] {
    return [...this.sessions.values()];
  }

  /** The text of QEMU's `info usernet`, byte for byte in its layout. */
  infoUsernet(netdevId: string, nowMs: number): string {
    const row = (state: string, fd: number, sa: string, sp: number | string, da: string, dp: number | string, rq: number, sq: number) =>
      `${`  ${state}`.padEnd(19)} ${String(fd).padStart(3)} ${sa.padStart(15)} ${String(sp).padStart(5)} ${da.padStart(15)} ${String(dp).padStart(5)} ${String(rq).padStart(5)} ${String(sq).padStart(5)}`;
    // QEMU prints a wildcard bind (INADDR_ANY) as '*'.
    const host = (a: string) => (a === '0.0.0.0' || a === '' || a === '::' ? '*' : a);
    const lines = [`Hub -1 (${netdevId}):`, '  Protocol[State]    FD  Source Address  Port   Dest. Address  Port RecvQ SendQ'];
    for (const f of this.forwards) {
      lines.push(row(`${f.protocol.toUpperCase()}[HOST_FORWARD]`, f.fd, host(f.hostAddr), f.hostPort, guestAddrText(f), f.guestPort, 0, 0));
    }
    for (const s of this.sessions.values()) {
      const label =
        s.protocol === 'tcp' ? `TCP[${s.state}]` : `${s.protocol.toUpperCase()}[${Math.max(0, Math.round(((s.expiresAt ?? nowMs) - nowMs) / 1000))} sec]`;
      const ports = s.protocol === 'icmp';
      if (s.inbound) {
        lines.push(row(label, s.fd, host(s.hostLocalAddr), s.hostLocalPort, guestAddrText(s), s.guestPort, s.recvQ, s.sendQ));
      } else {
        lines.push(
          row(label, s.fd, guestAddrText(s), ports ? '-' : s.guestPort, remoteAddrText(s), ports ? '-' : s.remotePort, s.recvQ, s.sendQ),
        );
      }
    }
    return lines.join('\n') + '\n';
  }
}
