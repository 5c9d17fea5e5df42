/**
 * The one place every discard is reported: the NIC, the net queue, slirp and
 * network conditions call `drop(reason, stage?, frame?)`, and the ledger counts
 * it per stage and reason and tells its listeners (journeys, `usernet run
 * --drops`, the debugger's Drops node and "break on drop").
 *
 * Counting is a map update; a drop is rare next to the frames that pass, so
 * nothing here is on the hot path. Listeners cost nothing when there are none.
 */
import { DROP_REASONS, type DropReason } from './drop-reasons';
import { STAGES, type StageName } from './stages';

/** One discard, as listeners receive it. `frame` is the live buffer when the site had it: copy it to keep it. */
export interface DropEvent {
  readonly stage: StageName;
  readonly reason: DropReason;
  readonly frame?: Uint8Array;
}

export type DropListener = (drop: DropEvent) => void;

/** A count of one reason at one stage. */
export interface DropCount {
  readonly stage: StageName;
  readonly reason: DropReason;
  readonly count: number;
}

const STAGE_ORDER = new Map<StageName, number>(STAGES.map((s, i) => [s.name, i]));

export class DropLedger {
  total = 0;
  private readonly counts = new Map<StageName, Map<DropReason, number>>();
  private listeners: DropListener[] = [];

  /**
   * Reports a discard. `stage` defaults to the reason's own (drop-reasons.ts);
   * a reason missing from the list (a bug) is still counted, at slirp_input.
   */
  drop(reason: DropReason, stage?: StageName, frame?: Uint8Array): void {
    const at = stage ?? (DROP_REASONS[reason] as { stage: StageName } | undefined)?.stage ?? 'slirp_input';
    let byReason = this.counts.get(at);
    if (!byReason) this.counts.set(at, (byReason = new Map()));
    byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
    this.total++;
    if (this.listeners.length === 0) return;
    const event: DropEvent = frame ? { stage: at, reason, frame } : { stage: at, reason };
    for (const l of this.listeners) l(event);
  }

  count(reason: DropReason, stage?: StageName): number {
    if (stage) return this.counts.get(stage)?.get(reason) ?? 0;
    let n = 0;
    for (const byReason of this.counts.values()) n += byReason.get(reason) ?? 0;
    return n;
  }

  /** Every stage and reason counted so far, stages in pipeline order, then most frequent first. */
  snapshot(): DropCount[] {
    const out: DropCount[] = [];
    for (const [stage, byReason] of this.counts) for (const [reason, count] of byReason) out.push({ stage, reason, count });
    return out.sort((a, b) => STAGE_ORDER.get(a.stage)! - STAGE_ORDER.get(b.stage)! || b.count - a.count || a.reason.localeCompare(b.reason));
  }

  /** Returns the unsubscribe function. */
  listen(listener: DropListener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  clear(): void {
    this.counts.clear();
    this.total = 0;
  }
}
