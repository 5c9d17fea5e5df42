/** Retransmission timeout from measured round trips (RFC 6298). */
export class RttEstimator {
  private srtt = 0;
  private rttvar = 0;
  private measured = false;
  private base: number;
  /** Consecutive timeouts; each doubles the RTO. */
  backoff = 0;

  constructor(
    initialRto: number,
    private readonly minRto: number,
    private readonly maxRto: number,
  ) {
    this.base = initialRto;
  }

  sample(rttMs: number): void {
    if (rttMs < 0 || !Number.isFinite(rttMs)) return;
    if (!this.measured) {
      this.srtt = rttMs;
      this.rttvar = rttMs / 2;
      this.measured = true;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - rttMs);
      this.srtt = 0.875 * this.srtt + 0.125 * rttMs;
    }
    this.base = this.srtt + Math.max(1, 4 * this.rttvar);
  }

  get rto(): number {
    return Math.min(this.maxRto, Math.max(this.minRto, this.base) * 2 ** Math.min(this.backoff, 16));
  }

  get smoothedRtt(): number {
    return this.srtt;
  }
}
