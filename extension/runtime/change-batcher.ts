/**
 * Sends a snapshot at most `maxPerSecond` times a second, and only when it
 * differs from the last one sent: the NAT table may change thousands of times
 * a second under load, the UI needs a few updates it can draw.
 */
export interface BatchTimers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const REAL_TIMERS: BatchTimers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    // A pending UI update must not keep the adapter alive after the session ends.
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export class ChangeBatcher<T> {
  private lastSentKey: string | undefined;
  private lastSentAt = -Infinity;
  private timer: unknown;
  private readonly interval: number;

  /**
   * @param snapshot builds the current value (called only when a send is due)
   * @param send delivers it
   */
  constructor(
    private readonly snapshot: () => T,
    private readonly send: (value: T) => void,
    maxPerSecond = 4,
    private readonly timers: BatchTimers = REAL_TIMERS,
  ) {
    this.interval = 1000 / maxPerSecond;
  }

  /** Something may have changed: a snapshot goes out now or at the end of the current interval. */
  poke(): void {
    if (this.timer !== undefined) return;
    const wait = this.lastSentAt + this.interval - this.timers.now();
    if (wait <= 0) this.flush();
    else this.timer = this.timers.setTimeout(() => this.flush(), wait);
  }

  /** Sends now if the value changed, ignoring the rate (the VM stopped, the UI must be exact). */
  flush(): void {
    if (this.timer !== undefined) {
      this.timers.clearTimeout(this.timer);
      this.timer = undefined;
    }
    const value = this.snapshot();
    const key = JSON.stringify(value);
    if (key === this.lastSentKey) return;
    this.lastSentKey = key;
    this.lastSentAt = this.timers.now();
    this.send(value);
  }

  dispose(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
