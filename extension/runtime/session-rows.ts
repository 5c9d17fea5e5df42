/** The NAT table as the sessions view receives it ('usernet.sessions'). */
import { guestAddrText, remoteAddrText, type ForwardListing, type NatSession } from '../slirp/nat';
import type { ForwardRow, SessionRow } from './feed-bodies';

/** addr:port, with an IPv6 address in brackets as in URLs ([fec0::2]:80). */
const endpoint = (addr: string, port: number, protocol: string) => (protocol === 'icmp' ? addr : addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`);

export function sessionRow(s: NatSession, nowMs: number): SessionRow {
  const row: SessionRow = {
    id: s.id,
    protocol: s.protocol,
    state: s.state,
    guest: endpoint(guestAddrText(s), s.guestPort, s.protocol),
    remote: endpoint(remoteAddrText(s), s.remotePort, s.protocol),
    host: endpoint(s.hostPeerAddr, s.hostPeerPort, s.protocol),
    inbound: s.inbound,
    bytesOut: s.bytesOut,
    bytesIn: s.bytesIn,
    packetsOut: s.packetsOut,
    packetsIn: s.packetsIn,
    // Whole seconds: the row then changes when something happened, not on every tick.
    ageMs: Math.floor((nowMs - s.createdAt) / 1000) * 1000,
    recvQ: s.recvQ,
    sendQ: s.sendQ,
  };
  if (s.expiresAt !== undefined) row.expiresInMs = Math.max(0, Math.ceil((s.expiresAt - nowMs) / 1000) * 1000);
  return row;
}

export function forwardRow(f: ForwardListing): ForwardRow {
  return { protocol: f.protocol, hostAddr: f.hostAddr, hostPort: f.hostPort, guestAddr: guestAddrText(f), guestPort: f.guestPort };
}
