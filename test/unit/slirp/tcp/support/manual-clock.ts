import type { Clock, TimerHandle } from '../../../../../extension/pipeline/clock';

/** A clock the test moves by hand; timers fire in due order during advance(). */
export class ManualClock implements Clock {
  private t = 0;
  private nextId = 1;
  private timers = new Map<number, { due: number; fn: () => void; seq: number }>();

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { due: this.t + Math.max(0, ms), fn, seq: id });
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
      let next: [number, { due: number; fn: () => void; seq: number }] | undefined;
      for (const e of this.timers) if (e[1].due <= end && (!next || e[1].due < next[1].due || (e[1].due === next[1].due && e[1].seq < next[1].seq))) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].due);
      next[1].fn();
    }
    this.t = end;
  }
}
