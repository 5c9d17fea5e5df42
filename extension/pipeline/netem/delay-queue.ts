/**
 * Packets held until their time, on the VM clock (which stands still while
 * the VM is paused). One timer is armed, for the earliest; packets due at the
 * same time leave in the order they were queued. Holding never blocks
 * anything else: other traffic does not pass through this queue.
 */
import type { Clock, TimerHandle } from '../clock';

interface Entry {
  readonly due: number;
  readonly seq: number;
  readonly release: () => void;
}

export class DelayQueue {
  /** Sorted by (due, seq). Short: a rule's limit bounds it. */
  private entries: Entry[] = [];
  private seq = 0;
  private timer: TimerHandle | undefined;
  private timerDue = Infinity;

  constructor(private readonly clock: Clock) {}

  get size(): number {
    return this.entries.length;
  }

  /** Runs `release` at `due` (VM clock ms). */
  add(due: number, release: () => void): void {
    const entry: Entry = { due, seq: this.seq++, release };
    const list = this.entries;
    // Most packets come in due order (a fixed delay, a rate): append.
    let i = list.length;
    while (i > 0 && list[i - 1]!.due > due) i--;
    list.splice(i, 0, entry);
    if (due < this.timerDue) this.arm(due);
  }

  /** Releases everything now (the rule was removed: held packets go on rather than vanish). */
  flush(): void {
    this.disarm();
    const list = this.entries;
    this.entries = [];
    for (const e of list) e.release();
  }

  /** Forgets everything held (the VM is gone). */
  clear(): void {
    this.disarm();
    this.entries = [];
  }

  private arm(due: number): void {
    this.disarm();
    this.timerDue = due;
    this.timer = this.clock.setTimeout(() => this.fire(), due - this.clock.now());
  }

  private disarm(): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDue = Infinity;
  }

  private fire(): void {
    this.timer = undefined;
    this.timerDue = Infinity;
    const now = this.clock.now();
    let n = 0;
    while (n < this.entries.length && this.entries[n]!.due <= now) n++;
    const due = this.entries.splice(0, n);
    for (const e of due) e.release();
    const head = this.entries[0];
    if (head && head.due < this.timerDue) this.arm(head.due);
  }
}
