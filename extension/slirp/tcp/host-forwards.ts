import * as net from 'node:net';
import type { HostForward } from '../config';
import type { ForwardListing, NatTable } from '../nat';

interface Listener {
  readonly rule: HostForward;
  readonly server: net.Server;
  readonly listing: ForwardListing;
}

/** Whoever turns an accepted host connection into a connection toward the guest. */
export type AcceptForwarded = (rule: HostForward, socket: net.Socket) => void;

const key = (hostAddr: string, hostPort: number) => `${hostAddr || '127.0.0.1'}:${hostPort}`;

/** A clear message for a failed bind, saying what to do next. */
export function bindErrorMessage(err: NodeJS.ErrnoException, rule: HostForward): string {
  const addr = rule.hostAddr || '127.0.0.1';
  switch (err.code) {
    case 'EADDRINUSE':
      return `port ${rule.hostPort} is in use: choose another hostfwd port`;
    case 'EACCES':
      return `port ${rule.hostPort} needs privileges to bind: choose a hostfwd port above 1023`;
    case 'EADDRNOTAVAIL':
      return `address ${addr} is not on this host: use 127.0.0.1 or 0.0.0.0 in the hostfwd rule`;
    default:
      return `cannot listen on ${addr}:${rule.hostPort} for hostfwd: ${err.message}`;
  }
}

/** The listening sockets of TCP hostfwd rules, added and removed at run time. */
export class HostForwarder {
  private readonly listeners = new Map<string, Listener>();

  constructor(
    private readonly nat: NatTable,
    private readonly accept: AcceptForwarded,
    /** Rule address 0 means the guest's DHCP address; the listing shows the real one. */
    private readonly guestAddrFor: (rule: HostForward) => number,
  ) {}

  add(rule: HostForward): Promise<void> {
    if (rule.protocol !== 'tcp') return Promise.reject(new Error(`the TCP layer forwards only tcp rules, not ${rule.protocol}`));
    const k = key(rule.hostAddr, rule.hostPort);
    if (rule.hostPort !== 0 && this.listeners.has(k)) {
      return Promise.reject(new Error(`port ${rule.hostPort} is in use: choose another hostfwd port`));
    }
    return new Promise((resolve, reject) => {
      const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
      server.on('connection', (socket) => this.accept(rule, socket));
      server.once('error', (err: NodeJS.ErrnoException) => {
        server.close();
        reject(new Error(bindErrorMessage(err, rule)));
      });
      server.listen({ host: rule.hostAddr || '127.0.0.1', port: rule.hostPort }, () => {
        const addr = server.address() as net.AddressInfo;
        server.on('error', () => {}); // errors after listening (EMFILE on accept) must not crash us
        const fd = (server as unknown as { _handle?: { fd?: number } })._handle?.fd;
        const listing: ForwardListing = {
          protocol: 'tcp',
          hostAddr: addr.address,
          hostPort: addr.port,
          guestAddr: this.guestAddrFor(rule),
          guestAddr6: rule.guestAddr6,
          guestPort: rule.guestPort,
          fd: typeof fd === 'number' ? fd : -1,
        };
        this.listeners.set(key(rule.hostAddr, addr.port), { rule, server, listing });
        this.nat.forwards.push(listing);
        resolve();
      });
    });
  }

  /** The port actually bound for a rule (useful when the rule asked for port 0). */
  boundPort(hostAddr: string, hostPort: number): number | undefined {
    const l = this.find(hostAddr, hostPort);
    return l?.listing.hostPort;
  }

  remove(rule: Pick<HostForward, 'protocol' | 'hostAddr' | 'hostPort'>): boolean {
    if (rule.protocol !== 'tcp') return false;
    const l = this.find(rule.hostAddr, rule.hostPort);
    if (!l) return false;
    this.listeners.delete(key(l.rule.hostAddr, l.listing.hostPort));
    l.server.close();
    const i = this.nat.forwards.indexOf(l.listing);
    if (i >= 0) this.nat.forwards.splice(i, 1);
    return true;
  }

  closeAll(): void {
    for (const l of [...this.listeners.values()]) this.remove({ protocol: 'tcp', hostAddr: l.rule.hostAddr, hostPort: l.listing.hostPort });
  }

  private find(hostAddr: string, hostPort: number): Listener | undefined {
    const direct = this.listeners.get(key(hostAddr, hostPort));
    if (direct) return direct;
    for (const l of this.listeners.values()) if ((l.rule.hostAddr || '127.0.0.1') === (hostAddr || '127.0.0.1') && l.rule.hostPort === hostPort) return l;
    return undefined;
  }
}
