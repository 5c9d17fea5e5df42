/**
 * The TCP stream graph's series, from flow items (pure: tested without a
 * browser). Stevens/tcptrace style for each direction: every data segment as
 * a vertical bar from its first to its last sequence number at its time,
 * retransmitted ones apart; the other side's ACKs as a line, and toward the
 * guest the ACK plus the guest's advertised window (from the stack's own
 * state) as the window line. Below, our cwnd, the guest's window and srtt
 * over time from the stack's samples, and where the guest's window was zero.
 */
import type { FlowHostEvent, FlowItem, FlowPacket, TcpSample } from '../../extension/pipeline/flow/record';

export type Bar = readonly [time: number, from: number, to: number];
export type Point = readonly [time: number, value: number];

export interface DirectionSeries {
  /** Data segments (relative sequence numbers). */
  readonly data: Bar[];
  readonly retransmissions: Bar[];
  /** The other side's cumulative ACK. */
  readonly acks: Point[];
  /** ACK + advertised window: how far the sender may go. */
  readonly window: Point[];
  /** Bytes of payload. */
  bytes: number;
}

export interface StreamSeries {
  /** host -> guest (our segments, the guest's ACKs and window). */
  readonly toGuest: DirectionSeries;
  /** guest -> host. */
  readonly toHost: DirectionSeries;
  readonly cwnd: Point[];
  readonly peerWindow: Point[];
  readonly srtt: Point[];
  /** Times the stack counted a retransmission. */
  readonly retransmitTimes: number[];
  /** [start, end) where the guest advertised a zero window. */
  readonly zeroWindows: Array<[number, number]>;
  /** Time of the last segment or stack sample (ms since the first item): the time axis ends here. */
  end: number;
  /**
   * When the NAT session entered TIME_WAIT and when it closed (ms since the
   * first item): a quiet wait of minutes that would squeeze the transfer into
   * the axis's first pixels, so it is told apart rather than drawn.
   */
  timeWait?: { from: number; to?: number };
}

const emptyDirection = (): DirectionSeries => ({ data: [], retransmissions: [], acks: [], window: [], bytes: 0 });

/**
 * Builds the series incrementally: `add` takes a live flow's new items in
 * order. Sequence numbers are relative to each direction's SYN (or first
 * segment), as tcptrace does.
 */
export class StreamModel {
  readonly series: StreamSeries = { toGuest: emptyDirection(), toHost: emptyDirection(), cwnd: [], peerWindow: [], srtt: [], retransmitTimes: [], zeroWindows: [], end: 0 };
  private origin: number | undefined;
  private readonly base: { tx?: number; rx?: number } = {};
  private lastSample: TcpSample | undefined;
  private zeroSince: number | undefined;

  add(items: readonly FlowItem[]): void {
    for (const item of items) {
      this.origin ??= item.time;
      const t = item.time - this.origin;
      if (item.kind === 'host') {
        this.hostEvent(item, t);
        continue;
      }
      this.series.end = Math.max(this.series.end, t);
      if (item.kind === 'packet') this.packet(item, t);
      else this.sample(item, t);
    }
  }

  private hostEvent(h: FlowHostEvent, t: number): void {
    const series = this.series;
    if (h.event === 'state' && h.text === 'state TIME_WAIT') series.timeWait ??= { from: t };
    else if (h.event === 'close' && series.timeWait) series.timeWait.to = t;
  }

  /** Closes an open zero-window period at the end of what is known. */
  get zeroWindows(): Array<[number, number]> {
    return this.zeroSince === undefined ? this.series.zeroWindows : [...this.series.zeroWindows, [this.zeroSince, this.series.end]];
  }

  private packet(p: FlowPacket, t: number): void {
    if (p.protocol !== 'tcp' || p.seq === undefined) return;
    const flags = p.flags ?? [];
    if (flags.includes('SYN')) this.base[p.direction] ??= p.seq;
    const base = (this.base[p.direction] ??= p.seq);
    const dir = p.direction === 'rx' ? this.series.toGuest : this.series.toHost;
    if (p.len > 0) {
      const from = (p.seq - base) >>> 0;
      const bar: Bar = [t, from, from + p.len];
      (p.retransmission ? dir.retransmissions : dir.data).push(bar);
      if (!p.retransmission) dir.bytes += p.len;
    }
    const other = p.direction === 'rx' ? 'tx' : 'rx';
    const otherBase = this.base[other];
    if (flags.includes('ACK') && p.ack !== undefined && otherBase !== undefined) {
      const acked = p.direction === 'tx' ? this.series.toGuest : this.series.toHost;
      const ack = (p.ack - otherBase) >>> 0;
      acked.acks.push([t, ack]);
      // The window is in bytes (scaled as negotiated in the SYNs: pipeline/flow/record.ts).
      acked.window.push([t, ack + (p.win ?? 0)]);
    }
    if (p.direction === 'tx' && p.win !== undefined && !flags.includes('RST')) {
      if (p.win === 0 && this.zeroSince === undefined) this.zeroSince = t;
      else if (p.win > 0 && this.zeroSince !== undefined) {
        this.series.zeroWindows.push([this.zeroSince, t]);
        this.zeroSince = undefined;
      }
    }
  }

  private sample(s: TcpSample, t: number): void {
    const prev = this.lastSample;
    this.lastSample = s;
    this.series.cwnd.push([t, s.cwnd]);
    this.series.peerWindow.push([t, s.peerWindow]);
    if (s.srtt > 0) this.series.srtt.push([t, s.srtt]);
    if (prev && s.retransmits > prev.retransmits) this.series.retransmitTimes.push(t);
  }
}

/** Round tick values for an axis from 0 to `max` (about `count` of them). */
export function ticks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0];
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = 0; v <= max + step / 1e9; v += step) out.push(v);
  return out;
}
