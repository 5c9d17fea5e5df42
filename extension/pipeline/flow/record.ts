/**
 * The data model of one flow as the flow graph and the TCP stream graph draw
 * it: the packets each way (one item per segment or datagram), the host
 * socket's events and, for TCP, the stack's own samples over time. Items are
 * plain JSON (they cross DAP and the webview boundary); each carries `n`, its
 * place in the flow, so a live view asks only for what came after its last.
 *
 * Items come from a live VM (debug/flow-recorder.ts) or from frames read
 * elsewhere (a capture file): `FlowTracker` makes packet items from frames in
 * both cases, so retransmissions are found the same way.
 */
import { formatIpv4 } from '../../wire/address';
import { get16, get32 } from '../../wire/bytes';
import { formatIpv6 } from '../../wire/ipv6-address';
import { PacketView } from '../dissect/packet-view';
import { tcpFlagNames } from '../dissect/frame-fields';
import { summarize } from '../dissect/summarize';

/** tx: from the guest toward slirp; rx: from slirp toward the guest. */
export type FlowDirection = 'tx' | 'rx';

export interface FlowPacket {
  readonly kind: 'packet';
  readonly n: number;
  /** Milliseconds (VM time for a live flow, capture time for a file). */
  readonly time: number;
  readonly direction: FlowDirection;
  readonly protocol: 'tcp' | 'udp' | 'icmp' | 'other';
  /** Wireshark's Info column. */
  readonly summary: string;
  /** TCP: 'SYN', 'ACK', ... in Wireshark's order. */
  readonly flags?: string[];
  readonly seq?: number;
  readonly ack?: number;
  /** Payload bytes (TCP/UDP), or the IP datagram length for other protocols. */
  readonly len: number;
  /**
   * TCP: the window in bytes, as Wireshark's Win=: the field shifted by the
   * scale its sender announced in its SYN once both SYNs carried one (RFC
   * 7323; a SYN's own window is never scaled), the field as sent otherwise.
   */
  readonly win?: number;
  /** TCP: it carries sequence space the same direction already sent. */
  retransmission?: boolean;
  /** Discarded by the pipeline: the reason (docs/drop-reasons.md) and stage. */
  drop?: { reason: string; stage: string };
  /** The journey that carried it, when the pipeline recorded one. */
  readonly journey?: number;
}

export type HostEventName = 'connect' | 'state' | 'send' | 'recv' | 'close';

/** What happened on the host socket (the right-hand lifeline). */
export interface FlowHostEvent {
  readonly kind: 'host';
  readonly n: number;
  readonly time: number;
  readonly event: HostEventName;
  /** send/recv: bytes written to / read from the host socket. */
  readonly bytes?: number;
  /** One line: "connect 127.0.0.1:8080", "state ESTABLISHED", "close". */
  readonly text: string;
}

/** The stack's own TCP state at one moment (extension/slirp/tcp, read-only). */
export interface TcpSample {
  readonly time: number;
  /** Our congestion window toward the guest, bytes. */
  readonly cwnd: number;
  readonly ssthresh: number;
  /** The window the guest advertised, scaled, bytes. */
  readonly peerWindow: number;
  /** Smoothed round-trip time, ms (0 before the first measurement). */
  readonly srtt: number;
  /** Bytes we sent the guest that it has not acknowledged. */
  readonly inFlight: number;
  readonly retransmits: number;
}

export type FlowItem = FlowPacket | FlowHostEvent | (TcpSample & { readonly kind: 'sample'; readonly n: number });

/** The three lifelines: the guest's socket, slirp as the guest sees it, the host socket's peer. */
export interface FlowEndpoints {
  readonly protocol: 'tcp' | 'udp' | 'icmp' | 'other';
  /** "10.0.2.15:40000" */
  readonly guest: string;
  /** The address the guest talks to: "10.0.2.2:8080". */
  readonly slirp: string;
  /** The host socket's peer: "127.0.0.1:8080" (empty when there is no host socket). */
  readonly host: string;
}

/** A flow at one moment, or what changed since `from`. */
export interface FlowSnapshot {
  readonly endpoints: FlowEndpoints;
  /** Items with n >= the request's `from`, in order. */
  readonly items: FlowItem[];
  /** The `from` to ask next time. */
  readonly next: number;
  /** Items let go to keep within the limits (after the flow's first ones: the items' n then jump). */
  readonly forgotten: number;
  /** The flow is over: nothing more will come. */
  readonly closed: boolean;
  /** NAT state now ("ESTABLISHED", "TIME_WAIT", "ACTIVE", "closed"). */
  readonly state: string;
}

export interface FrameTuple {
  readonly protocol: FlowPacket['protocol'];
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
}

/** Addresses and ports of an IP frame; undefined for anything else. */
export function frameTuple(frame: Uint8Array): FrameTuple | undefined {
  const v = new PacketView(frame).layers();
  if (v.network !== 'ip' && v.network !== 'ipv6') return undefined;
  const src = v.network === 'ip' ? formatIpv4(get32(frame, v.l3Off + 12)) : formatIpv6(frame, v.l3Off + 8);
  const dst = v.network === 'ip' ? formatIpv4(get32(frame, v.l3Off + 16)) : formatIpv6(frame, v.l3Off + 24);
  const ported = v.transport === 'tcp' || v.transport === 'udp';
  const protocol = v.transport === 'tcp' || v.transport === 'udp' ? v.transport : v.transport === 'icmp' || v.transport === 'icmpv6' ? 'icmp' : 'other';
  return { protocol, src, dst, sport: ported ? get16(frame, v.l4Off) : 0, dport: ported ? get16(frame, v.l4Off + 2) : 0 };
}

/** "10.0.2.15:40000", "[fec0::15]:40000", or the bare address for ICMP. */
export function endpointText(addr: string, port: number, protocol: FlowPacket['protocol']): string {
  if (protocol !== 'tcp' && protocol !== 'udp') return addr;
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

/** Sequence space a segment uses: its payload, plus one each for SYN and FIN. */
function seqSpace(p: FlowPacket): number {
  return p.len + (p.flags?.includes('SYN') ? 1 : 0) + (p.flags?.includes('FIN') ? 1 : 0);
}

/**
 * Makes packet items from frames, numbering them and marking TCP
 * retransmissions as Wireshark's analysis does: a segment that uses sequence
 * space entirely below the highest sequence number its direction has sent.
 */
export class FlowTracker {
  private readonly highest: Record<FlowDirection, number | undefined> = { tx: undefined, rx: undefined };
  /** The window scale each side announced in its SYN (undefined: none seen). */
  private readonly shift: Record<FlowDirection, number | undefined> = { tx: undefined, rx: undefined };

  /** `summary` when the caller has it already (a journey's). */
  packet(n: number, time: number, direction: FlowDirection, frame: Uint8Array, journey?: number, summary = summarize(frame)): FlowPacket {
    const v = new PacketView(frame).layers();
    if (v.transport === 'tcp') {
      const o = v.l4Off;
      const headerEnd = o + (frame[o + 12]! >> 4) * 4;
      const bits = get16(frame, o + 12) & 0x1ff;
      let win = get16(frame, o + 14);
      if (bits & SYN) this.shift[direction] = windowScale(frame, o + 20, Math.min(headerEnd, frame.length));
      else {
        const tx = this.shift.tx;
        const rx = this.shift.rx;
        if (tx !== undefined && rx !== undefined) win *= 2 ** (direction === 'tx' ? tx : rx);
      }
      const p: FlowPacket = {
        kind: 'packet', n, time, direction, protocol: 'tcp', summary,
        flags: flagNames(bits),
        seq: get32(frame, o + 4),
        ack: get32(frame, o + 8),
        len: Math.max(0, v.l3CapturedEnd - headerEnd),
        win,
        ...(journey !== undefined ? { journey } : {}),
      };
      this.analyse(p);
      return p;
    }
    const len = v.transport === 'udp' ? Math.max(0, get16(frame, v.l4Off + 4) - 8) : v.l3Off >= 0 ? v.l3CapturedEnd - v.l3Off : frame.length;
    const protocol = v.transport === 'udp' ? 'udp' : v.transport === 'icmp' || v.transport === 'icmpv6' ? 'icmp' : 'other';
    return { kind: 'packet', n, time, direction, protocol, summary, len, ...(journey !== undefined ? { journey } : {}) };
  }

  private analyse(p: FlowPacket): void {
    const space = seqSpace(p);
    if (space === 0) return;
    const end = (p.seq! + space) >>> 0;
    const top = this.highest[p.direction];
    // Serial-number arithmetic (RFC 1982): `end` at or below `top` means nothing new.
    if (top !== undefined && ((end - top) | 0) <= 0) p.retransmission = true;
    else this.highest[p.direction] = end;
  }
}

const SYN = 0x02;
/** TCP flag names by flag bits, made once per value: every item with the same flags shares its array. */
const FLAG_NAMES: string[][] = [];
const flagNames = (bits: number): string[] => (FLAG_NAMES[bits] ??= tcpFlagNames(bits));

/** The shift of a window scale option (kind 3) among the options in [from, end), capped at 14 as RFC 7323 says; undefined if none. */
function windowScale(frame: Uint8Array, from: number, end: number): number | undefined {
  for (let i = from; i < end;) {
    const kind = frame[i]!;
    if (kind === 0) break;
    if (kind === 1) {
      i++;
      continue;
    }
    const len = frame[i + 1] ?? 0;
    if (len < 2 || i + len > end) break;
    if (kind === 3 && len === 3) return Math.min(14, frame[i + 2]!);
    i += len;
  }
  return undefined;
}

/**
 * Packet items for frames read elsewhere (a capture's conversation): the guest
 * is the side whose address is `guest` (10.0.2.15 unless told), or else the
 * sender of the first frame. Frames that are not IP are skipped: `source[n]`
 * is the index in `frames` of item n.
 */
export function flowFromFrames(frames: ReadonlyArray<{ time: number; frame: Uint8Array; journey?: number }>, guest?: string): { endpoints: FlowEndpoints; items: FlowPacket[]; source: number[] } {
  const tracker = new FlowTracker();
  const items: FlowPacket[] = [];
  const source: number[] = [];
  let endpoints: FlowEndpoints | undefined;
  let guestAddr = guest;
  for (const [index, f] of frames.entries()) {
    const t = frameTuple(f.frame);
    if (!t) continue;
    if (guestAddr === undefined) guestAddr = t.src === '10.0.2.15' || t.dst !== '10.0.2.15' ? t.src : t.dst;
    const direction: FlowDirection = t.src === guestAddr ? 'tx' : 'rx';
    if (!endpoints) {
      const [g, gp, r, rp] = direction === 'tx' ? [t.src, t.sport, t.dst, t.dport] : [t.dst, t.dport, t.src, t.sport];
      endpoints = { protocol: t.protocol, guest: endpointText(g, gp, t.protocol), slirp: endpointText(r, rp, t.protocol), host: '' };
    }
    source.push(index);
    items.push(tracker.packet(items.length, f.time, direction, f.frame, f.journey));
  }
  return { endpoints: endpoints ?? { protocol: 'other', guest: guestAddr ?? '', slirp: '', host: '' }, items, source };
}
