/**
 * Log lines a guest can provoke at will (a refused TFTP name per datagram)
 * must not flood the user's terminal: per kind, the first line goes out at
 * once and the rest of a window are counted, then summed up in one line when
 * the window closes. Time is the stack's clock, so a VM paused at a
 * breakpoint does not close windows behind the user's back.
 */
import type { Clock, TimerHandle } from '../pipeline/clock';

/** One line, then a count, per kind and window. */
export const LOG_WINDOW_MS = 10_000;

export class RateLimitedLog {
  private readonly windows = new Map<string, { suppressed: number; timer: TimerHandle }>();

  constructor(
    private readonly clock: Clock,
    private readonly out: (message: string) => void,
    private readonly windowMs = LOG_WINDOW_MS,
  ) {}

  /** Logs `message` unless a line of this `kind` went out in the current window (then it is counted). */
  log(kind: string, message: string): void {
    const open = this.windows.get(kind);
    if (open) {
      open.suppressed++;
      return;
    }
    this.out(message);
    this.windows.set(kind, { suppressed: 0, timer: this.clock.setTimeout(() => this.closeWindow(kind), this.windowMs) });
  }

  private closeWindow(kind: string): void {
    const w = this.windows.get(kind);
    this.windows.delete(kind);
    if (w?.suppressed) this.out(`${kind}: ${w.suppressed} more like that in the last ${this.windowMs / 1000} s`);
  }

  /** Says what is still counted and stops the timers. */
  close(): void {
    for (const kind of [...this.windows.keys()]) {
      this.clock.clearTimeout(this.windows.get(kind)!.timer);
      this.closeWindow(kind);
    }
  }
}
