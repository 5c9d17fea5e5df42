import type { Clock, TimerHandle } from '../../pipeline/clock';

/**
 * A restartable one-shot timer on the virtual clock. Pushing the deadline later
 * (the common case: every ACK restarts the RTO) costs no new clock timer; the
 * armed one wakes, sees the deadline moved and sleeps again. A `lazy` timer's
 * stop() leaves the clock timer armed too (it wakes to nothing), so a timer
 * started and stopped per segment (the delayed ACK) costs a clock timer per
 * expiry at most, not one per segment; other timers clear theirs at once, so
 * an idle connection keeps none it does not need. cancel() always clears.
 */
export class ConnectionTimer {
  private handle: TimerHandle | undefined;
  private armedFor = 0;
  private deadline = 0;
  private active = false;

  constructor(
    private readonly clock: Clock,
    private readonly onFire: () => void,
    private readonly lazy = false,
  ) {}

  get running(): boolean {
    return this.active;
  }

  start(ms: number): void {
    this.deadline = this.clock.now() + ms;
    this.active = true;
    if (this.handle && this.armedFor <= this.deadline) return;
    this.arm(ms);
  }

  /** Starts only when not running already. */
  ensure(ms: number): void {
    if (!this.active) this.start(ms);
  }

  stop(): void {
    if (this.lazy) this.active = false;
    else this.cancel();
  }

  /** Stops and clears the clock timer: nothing of this timer stays behind. */
  cancel(): void {
    this.active = false;
    if (this.handle) this.clock.clearTimeout(this.handle);
    this.handle = undefined;
  }

  private arm(ms: number): void {
    if (this.handle) this.clock.clearTimeout(this.handle);
    this.armedFor = this.clock.now() + ms;
    this.handle = this.clock.setTimeout(() => this.wake(), ms);
  }

  private wake(): void {
    this.handle = undefined;
    if (!this.active) return;
    const left = this.deadline - this.clock.now();
    if (left > 0) {
      this.arm(left);
      return;
    }
    this.active = false;
    this.onFire();
  }
}
