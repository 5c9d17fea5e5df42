import { seqGeq, seqGt, seqLeq, seqLt, seqMax, seqMin } from './seq';

/**
 * What the guest reported holding above sndUna (RFC 2018), as sorted, merged
 * [left, right) ranges, bounded so a hostile guest cannot grow it.
 */
export class SackScoreboard {
  private ranges: number[] = [];

  constructor(private readonly maxRanges = 16) {}

  get empty(): boolean {
    return this.ranges.length === 0;
  }

  /** Highest sequence the guest holds, or `fallback` when nothing is SACKed. */
  highest(fallback: number): number {
    return this.ranges.length ? this.ranges[this.ranges.length - 1] : fallback;
  }

  add(left: number, right: number, sndUna: number, sndMax: number): void {
    if (!seqLt(left, right)) return;
    left = seqMax(left, sndUna);
    right = seqMin(right, sndMax);
    if (!seqLt(left, right)) return;
    const out: number[] = [];
    let placed = false;
    for (let i = 0; i < this.ranges.length; i += 2) {
      const l = this.ranges[i];
      const r = this.ranges[i + 1];
      if (seqLt(r, left)) out.push(l, r);
      else if (seqGt(l, right)) {
        if (!placed) out.push(left, right), (placed = true);
        out.push(l, r);
      } else {
        left = seqMin(l, left);
        right = seqMax(r, right);
      }
    }
    if (!placed) out.push(left, right);
    if (out.length > this.maxRanges * 2) out.splice(this.maxRanges * 2);
    this.ranges = out;
  }

  /** Forgets what the cumulative ACK now covers. */
  advance(sndUna: number): void {
    while (this.ranges.length && seqLeq(this.ranges[1], sndUna)) this.ranges.splice(0, 2);
    if (this.ranges.length && seqLt(this.ranges[0], sndUna)) this.ranges[0] = sndUna;
  }

  /** The end of the SACKed range holding `seq`, or -1 when `seq` is not SACKed. */
  sackedUntil(seq: number): number {
    for (let i = 0; i < this.ranges.length; i += 2) {
      if (seqLeq(this.ranges[i], seq) && seqLt(seq, this.ranges[i + 1])) return this.ranges[i + 1];
      if (seqGt(this.ranges[i], seq)) break;
    }
    return -1;
  }

  /** Start of the next SACKed range above `seq`, or -1. */
  nextSackedAfter(seq: number): number {
    for (let i = 0; i < this.ranges.length; i += 2) if (seqGt(this.ranges[i], seq)) return this.ranges[i];
    return -1;
  }

  /** Whether bytes at or above `seq` were SACKed (a hole at `seq` is then certain). */
  sackedAbove(seq: number): boolean {
    return this.ranges.length > 0 && seqGeq(this.ranges[this.ranges.length - 1], seq);
  }

  clear(): void {
    this.ranges = [];
  }
}
