/**
 * How a NAT session or a port forward reads in the tree, the clipboard and a
 * breakpoint condition. Pure functions over the adapter's rows.
 */
import type { ForwardRow, SessionRow } from '../debug/protocol';

export interface Endpoint {
  addr: string;
  port?: number;
}

/** "10.0.2.15:40000", "[fe80::1]:80" or a bare address (ICMP). */
export function parseEndpoint(text: string): Endpoint {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) return { addr: bracketed[1]!, ...(bracketed[2] ? { port: Number(bracketed[2]) } : {}) };
  const v4 = /^([^:]+):(\d+)$/.exec(text);
  if (v4) return { addr: v4[1]!, port: Number(v4[2]) };
  return { addr: text };
}

/** Byte counts the way the browsers' network panels print them (SI units). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = n / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

export function formatDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

/** The initiator first: the guest for outbound sessions, the outside peer for hostfwd ones. */
export function sessionLabel(row: SessionRow): string {
  return row.inbound ? `${row.remote} → ${row.guest}` : `${row.guest} → ${row.remote}`;
}

export function sessionDescription(row: SessionRow): string {
  return `${row.state} ↑${formatBytes(row.bytesOut)} ↓${formatBytes(row.bytesIn)}`;
}

/** Everything the adapter said about the session, one fact a line. */
export function sessionDetails(row: SessionRow): [string, string][] {
  const rows: [string, string][] = [
    ['Protocol', row.protocol.toUpperCase()],
    ['State', row.state],
    ['Direction', row.inbound ? 'inbound (hostfwd)' : 'outbound (NAT)'],
    ['Guest', row.guest],
    ['Remote', row.remote],
    ['Host socket peer', row.host],
    ['Sent by guest', `${formatBytes(row.bytesOut)} in ${row.packetsOut} packets`],
    ['Received by guest', `${formatBytes(row.bytesIn)} in ${row.packetsIn} packets`],
    ['Age', formatDuration(row.ageMs)],
  ];
  if (row.expiresInMs !== undefined) rows.push(['Expires in', formatDuration(row.expiresInMs)]);
  rows.push(['Recv-Q', String(row.recvQ)], ['Send-Q', String(row.sendQ)], ['Session id', String(row.id)]);
  return rows;
}

/** The one-line 5-tuple for the clipboard. */
export function sessionTupleText(row: SessionRow): string {
  return `${row.protocol} ${sessionLabel(row)} (host ${row.host}, ${row.state})`;
}

/** The stage where a segment or datagram from the guest meets its session. */
export function inputStageOf(row: SessionRow): 'tcp_input' | 'udp_input' | 'icmp_input' {
  return row.protocol === 'tcp' ? 'tcp_input' : row.protocol === 'udp' ? 'udp_input' : 'icmp_input';
}

/** A filter-language condition that matches this session's packets in either direction. */
export function sessionFilter(row: SessionRow): string {
  const guest = parseEndpoint(row.guest);
  const remote = parseEndpoint(row.remote);
  const ip = guest.addr.includes(':') ? 'ipv6' : 'ip';
  const parts = [`${ip}.addr == ${guest.addr}`, `${ip}.addr == ${remote.addr}`];
  if (row.protocol === 'icmp') {
    parts.push(ip === 'ip' ? 'icmp' : 'icmpv6');
  } else {
    if (guest.port !== undefined) parts.push(`${row.protocol}.port == ${guest.port}`);
    if (remote.port !== undefined) parts.push(`${row.protocol}.port == ${remote.port}`);
  }
  return parts.join(' && ');
}

/** QEMU's hostfwd notation for a forward: "tcp:127.0.0.1:2222-10.0.2.15:22". */
export function forwardSpec(f: ForwardRow): string {
  return `${f.protocol}:${f.hostAddr}:${f.hostPort}-${f.guestAddr}:${f.guestPort}`;
}

export function forwardLabel(f: ForwardRow): string {
  return `${f.hostAddr || '*'}:${f.hostPort} → ${f.guestAddr || 'guest'}:${f.guestPort}`;
}

/**
 * Checks a hostfwd rule as QEMU writes it: [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport.
 * Returns a reason when it is not one, undefined when it is.
 */
export function forwardSpecProblem(spec: string): string | undefined {
  const m = /^(?:(tcp|udp):)?([^:-]*):(\d+)-([^:-]*):(\d+)$/.exec(spec.trim());
  if (!m) return 'expected [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport, e.g. tcp:127.0.0.1:2222-:22';
  const ipv4 = /^(\d{1,3})(\.\d{1,3}){3}$/;
  for (const [addr, what] of [[m[2]!, 'host address'], [m[4]!, 'guest address']] as const) {
    if (addr && !ipv4.test(addr)) return `${what} '${addr}' is not an IPv4 address`;
  }
  for (const [port, what, min] of [[m[3]!, 'host port', 0], [m[5]!, 'guest port', 1]] as const) {
    const n = Number(port);
    if (n < min || n > 65535) return `${what} ${port} is out of range (${min}-65535)`;
  }
  return undefined;
}
