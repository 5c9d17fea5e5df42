/**
 * Coalesces bursts of changes into at most one refresh per interval: the first
 * change refreshes at once, later ones within the interval wait for its end.
 */
export class RefreshBatcher {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private last = -Infinity;
  private pending = false;

  constructor(
    private readonly refresh: () => void,
    private readonly intervalMs: number,
    private readonly now: () => number = () => Date.now(),
  ) {}

  request(): void {
    if (this.timer) {
      this.pending = true;
      return;
    }
    const wait = this.last + this.intervalMs - this.now();
    if (wait <= 0) {
      this.fire();
      return;
    }
    this.pending = true;
    this.timer = setTimeout(() => this.tick(), wait);
  }

  private tick(): void {
    this.timer = undefined;
    if (this.pending) this.fire();
  }

  private fire(): void {
    this.pending = false;
    this.last = this.now();
    this.refresh();
    // Hold the door shut for the interval so a burst makes one more refresh at most.
    this.timer = setTimeout(() => this.tick(), this.intervalMs);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = false;
  }
}
