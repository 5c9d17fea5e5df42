/**
 * The NAT Sessions view's filter, in the one filter language. A session row is
 * turned into the headers of a packet the guest would send on it (Ethernet,
 * IPv4, then TCP/UDP/ICMP) and the compiled filter runs over those bytes, so
 * `tcp.dstport == 8080`, `ip.addr == 10.0.2.0/24` and `udp` mean here what
 * they mean on a breakpoint. Only header fields exist: payload fields never match.
 */
import type { SessionRow } from '../debug/protocol';
import { compileFilter } from '../pipeline/filter';
import { parseEndpoint } from './session-format';

export type SessionPredicate = (row: SessionRow) => boolean;

/** Compiles `text`; throws the filter's syntax error (with its column) when it does not parse. */
export function compileSessionFilter(text: string): SessionPredicate {
  if (!text.trim()) return () => true;
  const filter = compileFilter(text);
  return (row) => filter.matchesFrame(frameOf(row));
}

/** A syntax problem in `text` for an input box, or undefined when it compiles. */
export function sessionFilterProblem(text: string): string | undefined {
  try {
    compileSessionFilter(text);
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

const PROTO = { icmp: 1, tcp: 6, udp: 17 } as const;

/** The headers of a packet from the initiator of the session (the guest, or the peer of a hostfwd). */
export function frameOf(row: SessionRow): Uint8Array {
  const guest = parseEndpoint(row.guest);
  const remote = parseEndpoint(row.remote);
  const [src, dst] = row.inbound ? [remote, guest] : [guest, remote];
  const srcIp = ipv4Bytes(src.addr);
  const dstIp = ipv4Bytes(dst.addr);
  const l4Len = row.protocol === 'tcp' ? 20 : 8;
  const frame = new Uint8Array(14 + 20 + l4Len);
  const view = new DataView(frame.buffer);
  // Ethernet: guest MAC 52:54:00:12:34:56, slirp's 52:55:0a:00:02:02.
  frame.set([0x52, 0x55, 0x0a, 0x00, 0x02, 0x02, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56], 0);
  if (!srcIp || !dstIp) {
    view.setUint16(12, 0x88b5); // not IPv4: only Ethernet fields can match
    return frame.subarray(0, 14);
  }
  view.setUint16(12, 0x0800);
  const ip = 14;
  frame[ip] = 0x45;
  view.setUint16(ip + 2, 20 + l4Len);
  frame[ip + 8] = 64;
  frame[ip + 9] = PROTO[row.protocol];
  frame.set(srcIp, ip + 12);
  frame.set(dstIp, ip + 16);
  const l4 = ip + 20;
  if (row.protocol === 'icmp') {
    frame[l4] = 8; // echo request
    view.setUint16(l4 + 4, src.port ?? 0);
  } else {
    view.setUint16(l4, src.port ?? 0);
    view.setUint16(l4 + 2, dst.port ?? 0);
    if (row.protocol === 'tcp') {
      frame[l4 + 12] = 5 << 4;
      frame[l4 + 13] = 0x10; // ACK: an established session's segment
    } else {
      view.setUint16(l4 + 4, 8);
    }
  }
  return frame;
}

function ipv4Bytes(addr: string): Uint8Array | undefined {
  const parts = addr.split('.');
  if (parts.length !== 4) return undefined;
  const bytes = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : NaN));
  return bytes.every((b) => b >= 0 && b <= 255) ? Uint8Array.from(bytes) : undefined;
}
