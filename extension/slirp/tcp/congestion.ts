/**
 * NewReno congestion control toward the guest (RFC 5681, with RFC 6582's
 * partial ACKs and RFC 3465's byte counting): the congestion window and how
 * ACKs, duplicate ACKs and timeouts move it. Pure arithmetic over sequence
 * numbers: the connection decides what to send and when.
 */
import { seqGeq } from './seq';

/** The largest window TCP can express (65535 << 14): more congestion window than that is never usable. */
const MAX_CWND = 65535 * 2 ** 14;

export class NewReno {
  /** Bytes the connection may have in flight, at most (besides the guest's window). */
  cwnd: number;
  ssthresh = 0x7fffffff;
  /** Duplicate ACKs in a row. */
  dupAcks = 0;
  /** In fast recovery until `recover` (the highest byte sent when it began) is acknowledged. */
  inRecovery = false;
  private recover = 0;

  constructor(initialWindow: number) {
    this.cwnd = initialWindow;
  }

  /** The initial window (RFC 6928) once the MSS is known; `atLeast` only raises it. */
  setInitialWindow(bytes: number, atLeast = false): void {
    this.cwnd = atLeast ? Math.max(this.cwnd, bytes) : bytes;
  }

  /**
   * New data acknowledged: `acked` bytes up to `ack`, with `flight` bytes in
   * flight before it. Returns true for a partial ACK in recovery: the next
   * hole is lost too and must be resent now.
   */
  onAck(ack: number, acked: number, flight: number, mss: number): boolean {
    let partial = false;
    if (this.inRecovery) {
      if (seqGeq(ack, this.recover)) {
        this.inRecovery = false;
        this.cwnd = Math.max(Math.min(this.ssthresh, Math.max(flight - acked, 0) + mss), 2 * mss);
      } else {
        this.cwnd = Math.max(this.cwnd - acked + mss, mss);
        partial = true;
      }
    } else if (this.cwnd < this.ssthresh) {
      // Byte counting (RFC 3465, as Linux does): a guest acks every few dozen segments at
      // once, and one MSS per ACK left the window opening linearly, each round trip a stall.
      this.cwnd = Math.min(this.cwnd + acked, MAX_CWND);
    } else {
      this.cwnd = Math.min(this.cwnd + Math.max(1, Math.floor((mss * Math.min(acked, this.cwnd)) / this.cwnd)), MAX_CWND);
    }
    this.dupAcks = 0;
    return partial;
  }

  /** Counts a duplicate ACK; in recovery each one inflates the window by a segment. Returns the count. */
  onDuplicateAck(mss: number): number {
    this.dupAcks++;
    if (this.inRecovery) this.cwnd += mss;
    return this.dupAcks;
  }

  /** Fast retransmit: halve, and stay in recovery until `highestSent` is acknowledged. */
  enterRecovery(flight: number, highestSent: number, mss: number): void {
    this.ssthresh = Math.max(flight >> 1, 2 * mss);
    this.recover = highestSent;
    this.inRecovery = true;
    this.cwnd = this.ssthresh + 3 * mss;
  }

  /** The retransmission timer fired: back to one segment, slow start up to half of what was in flight. */
  onTimeout(flight: number, mss: number): void {
    this.ssthresh = Math.max(flight >> 1, 2 * mss);
    this.cwnd = mss;
    this.inRecovery = false;
    this.dupAcks = 0;
  }
}
