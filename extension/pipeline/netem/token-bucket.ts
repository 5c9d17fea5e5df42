/**
 * `rate R`: a token bucket filled at R that lets a burst of up to one bucket
 * through at once and spaces the rest. Packets leave in the order they came,
 * so a packet's departure time is known when it arrives: no timer per token.
 * The bucket may go into debt for a frame larger than it (a 64 KiB segment
 * under a small burst): the debt is paid before the next one leaves.
 */
export class TokenBucket {
  private tokens: number;
  /** When `tokens` was last brought up to date (ms). */
  private at = -Infinity;
  /** When the last accepted packet leaves: later ones never leave before it. */
  private lastDeparture = -Infinity;

  constructor(
    /** Bytes per millisecond. */
    private readonly rate: number,
    /** The largest burst, in bytes. */
    readonly burst: number,
  ) {
    this.tokens = burst;
  }

  /** When a packet of `bytes` arriving at `now` leaves (>= now). */
  departure(now: number, bytes: number): number {
    const start = Math.max(now, this.lastDeparture);
    let tokens = this.at === -Infinity ? this.burst : Math.min(this.burst, this.tokens + (start - this.at) * this.rate);
    const leave = tokens >= 0 ? start : start + -tokens / this.rate;
    if (tokens < 0) tokens = 0;
    this.tokens = tokens - bytes;
    this.at = leave;
    this.lastDeparture = leave;
    return leave;
  }
}

/** The burst a rate gets: 5 ms of it, and never less than one Ethernet frame. */
export function defaultBurst(bytesPerMs: number): number {
  return Math.max(1514, Math.round(bytesPerMs * 5));
}
