import { seqAdd, seqGeq, seqGt, seqLeq, seqLt } from './seq';

interface Piece {
  seq: number;
  end: number;
  data: Uint8Array;
  fin: boolean;
}

/**
 * Guest data that arrived ahead of a hole, bounded by a segment count (the
 * caller has already cut each piece to the advertised window, so bytes are
 * bounded too). Overlaps are resolved when pieces are pulled in order.
 */
export class ReassemblyQueue {
  private pieces: Piece[] = [];
  private bytesHeld = 0;
  private lastSeq = 0;

  constructor(private readonly maxPieces: number) {}

  get size(): number {
    return this.pieces.length;
  }

  get bytes(): number {
    return this.bytesHeld;
  }

  /** Keeps a copy of `data`; false when the queue is full or it is a duplicate. */
  insert(seq: number, data: Uint8Array, fin: boolean): boolean {
    const end = seqAdd(seq, data.length + (fin ? 1 : 0));
    let at = this.pieces.length;
    for (let i = 0; i < this.pieces.length; i++) {
      const p = this.pieces[i];
      if (seqLeq(p.seq, seq) && seqGeq(p.end, end) && (p.fin || !fin)) return false;
      if (seqLt(seq, p.seq)) {
        at = i;
        break;
      }
    }
    if (this.pieces.length >= this.maxPieces) return false;
    this.pieces.splice(at, 0, { seq, end, data: Uint8Array.from(data), fin });
    this.bytesHeld += data.length;
    this.lastSeq = seq;
    return true;
  }

  /**
   * Hands over, in order, what now follows `rcvNxt`; returns the new rcvNxt.
   * `deliver` gets data slices and `fin` once the FIN is reached.
   */
  pull(rcvNxt: number, deliver: (data: Uint8Array) => void, onFin: () => void): number {
    while (this.pieces.length && seqLeq(this.pieces[0].seq, rcvNxt)) {
      const p = this.pieces.shift()!;
      this.bytesHeld -= p.data.length;
      if (seqLeq(p.end, rcvNxt)) continue;
      const skip = (rcvNxt - p.seq) >>> 0;
      if (skip < p.data.length) {
        deliver(skip ? p.data.subarray(skip) : p.data);
        rcvNxt = seqAdd(p.seq, p.data.length);
      }
      if (p.fin) {
        onFin();
        rcvNxt = seqAdd(rcvNxt, 1);
        this.clear();
        break;
      }
    }
    return rcvNxt;
  }

  /** SACK blocks (RFC 2018): merged ranges, the one holding the latest arrival first. */
  sackBlocks(max: number): number[] {
    const ranges: number[] = [];
    for (const p of this.pieces) {
      const dataEnd = seqAdd(p.seq, p.data.length);
      const n = ranges.length;
      if (n && seqGeq(ranges[n - 1], p.seq)) {
        if (seqGt(dataEnd, ranges[n - 1])) ranges[n - 1] = dataEnd;
      } else if (dataEnd !== p.seq) {
        ranges.push(p.seq, dataEnd);
      }
    }
    for (let i = 0; i < ranges.length; i += 2) {
      if (seqLeq(ranges[i], this.lastSeq) && seqLt(this.lastSeq, ranges[i + 1]) && i > 0) {
        const [l, r] = ranges.splice(i, 2);
        ranges.unshift(l, r);
        break;
      }
    }
    return ranges.slice(0, max * 2);
  }

  clear(): void {
    this.pieces = [];
    this.bytesHeld = 0;
  }
}
