import type { Clock, TimerHandle } from '../../../../extension/pipeline/clock';

/** A Clock the test moves by hand: timers fire only inside advance(). */
export class ManualClock implements Clock {
  private t = 0;
  private nextId = 1;
  private timers = new Map<number, { due: number; fn: () => void }>();

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { due: this.t + Math.max(0, ms), fn });
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle.id);
  }

  get pending(): number {
    return this.timers.size;
  }

  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let nextId = -1;
      let nextDue = Infinity;
      for (const [id, timer] of this.timers) if (timer.due <= end && timer.due < nextDue) [nextId, nextDue] = [id, timer.due];
      if (nextId < 0) break;
      const timer = this.timers.get(nextId)!;
      this.timers.delete(nextId);
      this.t = Math.max(this.t, timer.due);
      timer.fn();
    }
    this.t = end;
  }
}
