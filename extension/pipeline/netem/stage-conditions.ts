/**
 * The rules of one stage, applied in the order they were added: a packet
 * released by one meets the next. This is what the stage's probe consults
 * (probe.ts): it passes the packet on at once, or takes it, to drop it or to
 * release it (and its copies) later through the probe's resume.
 */
import type { Clock } from '../clock';
import type { PacketConditioner, ProbeHit } from '../probe';
import { DelayQueue } from './delay-queue';
import type { NetemDropReason, RuleState } from './rule-state';

/** Where drops and holds are reported beyond the rule's counters (the drop ledger, journeys). */
export interface ConditionObserver {
  dropped(hit: ProbeHit, reason: NetemDropReason, rule: RuleState): void;
  held(hit: ProbeHit, ms: number, rule: RuleState): void;
}

interface Step {
  readonly rule: RuleState;
  readonly queue: DelayQueue;
}

export class StageConditions implements PacketConditioner {
  private steps: Step[] = [];

  constructor(private readonly clock: Clock, private readonly observer: ConditionObserver) {}

  get rules(): readonly RuleState[] {
    return this.steps.map((s) => s.rule);
  }

  get empty(): boolean {
    return this.steps.length === 0;
  }

  add(rule: RuleState): void {
    this.steps.push({ rule, queue: new DelayQueue(this.clock) });
  }

  /** Removes a rule; the packets it held go on now. */
  remove(rule: RuleState): boolean {
    const i = this.steps.findIndex((s) => s.rule === rule);
    if (i < 0) return false;
    const [step] = this.steps.splice(i, 1);
    step!.queue.flush();
    return true;
  }

  /** Forgets held packets without releasing them (the VM is gone). */
  discard(): void {
    for (const s of this.steps) s.queue.clear();
    this.steps = [];
  }

  take(hit: ProbeHit, release: () => void): boolean {
    // The one copy that comes through synchronously goes on as if nothing had
    // been in the way (the caller carries on); any other is released through
    // the probe.
    let synchronous = true;
    let passedOn = false;
    const out = (): void => {
      if (synchronous && !passedOn) passedOn = true;
      else release();
    };
    this.run(0, hit, out);
    synchronous = false;
    return !passedOn;
  }

  private run(index: number, hit: ProbeHit, out: () => void): void {
    const step = this.steps[index];
    if (!step) return out();
    const { rule, queue } = step;
    if (!rule.matches(hit)) return this.run(index + 1, hit, out);
    const now = this.clock.now();
    const decision = rule.decide(hit.frame, now);
    if (decision.drop) {
      this.observer.dropped(hit, decision.drop, rule);
      return;
    }
    for (const ms of decision.holds) {
      if (ms <= 0) {
        this.run(index + 1, hit, out);
        continue;
      }
      const bytes = hit.frame.length;
      rule.hold(bytes);
      this.observer.held(hit, ms, rule);
      queue.add(now + ms, () => {
        rule.released(bytes);
        this.run(index + 1, hit, out);
      });
    }
  }
}
