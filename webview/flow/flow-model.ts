/**
 * The flow graph's rows, from flow items (pure: tested without a browser).
 * One row per packet or host socket event, Wireshark Flow Graph style: an
 * arrow between two of three lifelines (0 guest, 1 slirp, 2 host peer), a
 * label over it (TCP flags and relative seq/ack/len/win, as Wireshark shows
 * them by default) and a comment. Rows are appended as a live flow grows;
 * samples are not rows (the stream graph draws them).
 */
import type { FlowHostEvent, FlowItem, FlowPacket } from '../../extension/pipeline/flow/record';

export type Lane = 0 | 1 | 2;
/** How a row is coloured: by what it says, as Wireshark's coloring rules do. */
export type Tone = 'data' | 'handshake' | 'fin' | 'rst' | 'retransmission' | 'drop' | 'host' | 'state';

export interface FlowRow {
  readonly n: number;
  /** Milliseconds since the flow's first item. */
  readonly time: number;
  readonly from: Lane;
  readonly to: Lane;
  readonly label: string;
  readonly comment: string;
  readonly tone: Tone;
  /** A packet (clickable: decode and journey); host events are not. */
  readonly packet: boolean;
}

export class FlowRows {
  readonly rows: FlowRow[] = [];
  private origin: number | undefined;
  /** The first sequence number of each direction: seq and ack are shown relative to them. */
  private readonly base: { tx?: number; rx?: number } = {};

  append(items: readonly FlowItem[]): FlowRow[] {
    const added: FlowRow[] = [];
    for (const item of items) {
      if (item.kind === 'sample') continue;
      this.origin ??= item.time;
      const row = item.kind === 'packet' ? this.packetRow(item) : this.hostRow(item);
      this.rows.push(row);
      added.push(row);
    }
    return added;
  }

  private packetRow(p: FlowPacket): FlowRow {
    const [from, to]: [Lane, Lane] = p.direction === 'tx' ? [0, 1] : [1, 0];
    const time = p.time - this.origin!;
    let label: string;
    if (p.protocol === 'tcp') {
      const flags = p.flags ?? [];
      if (p.seq !== undefined && flags.includes('SYN')) this.base[p.direction] ??= p.seq;
      const other = p.direction === 'tx' ? 'rx' : 'tx';
      const parts = [flags.join(', ') || 'none'];
      parts.push(`Seq=${relative(p.seq, this.base[p.direction])}`);
      if (flags.includes('ACK')) parts.push(`Ack=${relative(p.ack, this.base[other])}`);
      parts.push(`Len=${p.len}`, `Win=${p.win ?? 0}`);
      label = parts.join(' ');
    } else {
      label = `${p.protocol.toUpperCase()} Len=${p.len}`;
    }
    let comment = p.summary;
    if (p.retransmission) comment = `[retransmission] ${comment}`;
    if (p.drop) comment = `dropped at ${p.drop.stage}: ${p.drop.reason} | ${comment}`;
    return { n: p.n, time, from, to, label, comment, tone: toneOf(p), packet: true };
  }

  private hostRow(h: FlowHostEvent): FlowRow {
    const time = h.time - this.origin!;
    // Writes go to the host, reads and the state come from our side of the socket.
    const [from, to]: [Lane, Lane] = h.event === 'recv' ? [2, 1] : h.event === 'state' ? [1, 1] : [1, 2];
    return { n: h.n, time, from, to, label: h.text, comment: h.event === 'state' ? `NAT session ${h.text}` : `host socket: ${h.text}`, tone: h.event === 'state' ? 'state' : 'host', packet: false };
  }
}

function relative(value: number | undefined, base: number | undefined): number {
  if (value === undefined) return 0;
  return base === undefined ? value : (value - base) >>> 0;
}

export function toneOf(p: FlowPacket): Tone {
  if (p.drop) return 'drop';
  if (p.retransmission) return 'retransmission';
  const f = p.flags ?? [];
  if (f.includes('RST')) return 'rst';
  if (f.includes('SYN')) return 'handshake';
  if (f.includes('FIN')) return 'fin';
  return 'data';
}

/** The rows a filter keeps: packets it matched, and host events unless the filter is on. */
export function visibleRows(rows: readonly FlowRow[], matches: ReadonlySet<number> | undefined): FlowRow[] {
  return matches ? rows.filter((r) => r.packet && matches.has(r.n)) : [...rows];
}

/** "0.000123" seconds, as Wireshark's time column. */
export function secondsText(ms: number): string {
  return (ms / 1000).toFixed(6);
}
