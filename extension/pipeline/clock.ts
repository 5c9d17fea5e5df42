/**
 * Time as the network stack and the NIC see it. It stands still while the VM is
 * paused at a breakpoint, so no retransmission, expiry or mitigation timer fires
 * behind the user's back.
 */
export interface Clock {
  /** Milliseconds, monotonic, frozen while paused. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export interface TimerHandle {
  readonly id: number;
}

interface PendingTimer {
  id: number;
  due: number;
  fn: () => void;
  real?: ReturnType<typeof setTimeout>;
}

/** A Clock over the host's real time that can be paused and resumed. */
export class PausableClock implements Clock {
  private offset = 0;
  private pausedAt: number | undefined;
  private nextId = 1;
  private timers = new Map<number, PendingTimer>();

  now(): number {
    const t = this.pausedAt ?? performance.now();
    return t - this.offset;
  }

  get paused(): boolean {
    return this.pausedAt !== undefined;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: PendingTimer = { id: this.nextId++, due: this.now() + Math.max(0, ms), fn };
    this.timers.set(timer.id, timer);
    if (!this.paused) this.arm(timer);
    return { id: timer.id };
  }

  clearTimeout(handle: TimerHandle): void {
    const t = this.timers.get(handle.id);
    if (!t) return;
    if (t.real) clearTimeout(t.real);
    this.timers.delete(handle.id);
  }

  pause(): void {
    if (this.paused) return;
    this.pausedAt = performance.now();
    for (const t of this.timers.values()) {
      if (t.real) clearTimeout(t.real);
      t.real = undefined;
    }
  }

  resume(): void {
    if (this.pausedAt === undefined) return;
    this.offset += performance.now() - this.pausedAt;
    this.pausedAt = undefined;
    for (const t of this.timers.values()) this.arm(t);
  }

  private arm(t: PendingTimer): void {
    const real = setTimeout(() => {
      this.timers.delete(t.id);
      t.fn();
    }, Math.max(0, t.due - this.now()));
    // Timers of the stack must never keep a CLI process alive on their own.
    real.unref?.();
    t.real = real;
  }
}
