/**
 * The network conditions of one VM: rules added and removed while it runs,
 * each at its stage's probe, with its counters. Decisions are drawn from a
 * seeded generator, so the same seed and the same traffic decide the same.
 */
import type { Clock } from '../clock';
import type { ProbeHit, ProbeHub } from '../probe';
import type { EngineKind, StageName } from '../stages';
import { parseNetemRule } from './parse';
import { freshSeed, ruleRandom } from './random';
import type { NetemRule } from './rule';
import { RuleState, type RuleCounters } from './rule-state';
import { StageConditions, type ConditionObserver } from './stage-conditions';
import { foreignConditionStage } from './stages';

/** A rule in force, as lists and views show it. */
export interface ConditionStatus {
  readonly id: number;
  readonly text: string;
  readonly stage: StageName;
  readonly counters: Readonly<RuleCounters>;
}

export interface NetworkConditionsOptions {
  /** The seed of every decision; a fresh one (see `seed`) when absent. */
  readonly seed?: number;
  /** Told of every packet a rule holds, and for how long. */
  readonly onHold?: (hit: ProbeHit, ms: number, rule: ConditionStatus) => void;
  /** The engine the probes belong to: under QEMU a rule on QEMU's own stages is warned about. */
  readonly engine?: EngineKind;
  readonly warn?: (message: string) => void;
}

/** Rules one VM may have at once: each can hold packets and costs its stage a check per packet. */
export const MAX_RULES = 64;

export class NetworkConditions {
  readonly seed: number;
  private readonly stages = new Map<StageName, StageConditions>();
  private readonly rules = new Map<number, RuleState>();
  private nextId = 1;
  /** Rules added so far: each draws from stream number `index` of the seed. */
  private added = 0;
  private readonly observer: ConditionObserver;

  constructor(private readonly hub: ProbeHub, private readonly clock: Clock, private readonly options: NetworkConditionsOptions = {}) {
    this.seed = options.seed ?? freshSeed();
    const { onHold } = options;
    this.observer = {
      // The ledger tells journeys, `--drops` and the debugger: `dropped: netem-loss` at the rule's stage.
      dropped: (hit, reason, rule) => {
        hub.drops.drop(reason, hit.stage, hit.frame);
        if (reason === 'netem-mtu') hub.tooBig(hit, rule.rule.actions.mtu!);
      },
      held: (hit, ms, rule) => {
        hub.conditionHeld(hit, ms, holdCause(rule.rule));
        onHold?.(hit, ms, status(rule));
      },
    };
  }

  /** Adds a rule (text as `usernet run --netem` takes it); throws NetemRuleError with its column. */
  add(rule: string | NetemRule): ConditionStatus {
    const parsed = typeof rule === 'string' ? parseNetemRule(rule) : rule;
    if (this.rules.size >= MAX_RULES) throw new Error(`at most ${MAX_RULES} network conditions at once: clear some first`);
    const state = new RuleState(this.nextId++, parsed, ruleRandom(this.seed, this.added++));
    this.rules.set(state.id, state);
    let stage = this.stages.get(parsed.stage);
    if (!stage) {
      stage = new StageConditions(this.clock, this.observer);
      this.stages.set(parsed.stage, stage);
      this.hub.probes[parsed.stage].condition(stage);
    }
    stage.add(state);
    const foreign = this.options.engine && foreignConditionStage(parsed.stage, this.options.engine);
    if (foreign) this.options.warn?.(`#${state.id} ${parsed.text}: ${foreign}`);
    return status(state);
  }

  /** Removes rule `id`; what it held goes on now. False when there is no such rule. */
  remove(id: number): boolean {
    const state = this.rules.get(id);
    if (!state) return false;
    this.rules.delete(id);
    const stage = this.stages.get(state.rule.stage)!;
    stage.remove(state);
    if (stage.empty) {
      this.stages.delete(state.rule.stage);
      this.hub.probes[state.rule.stage].condition(undefined);
    }
    return true;
  }

  /** Removes every rule; held packets go on now. Returns how many there were. */
  clear(): number {
    const n = this.rules.size;
    for (const id of [...this.rules.keys()]) this.remove(id);
    return n;
  }

  /** Forgets every rule and what they hold, without releasing anything: the VM is gone. */
  dispose(): void {
    for (const [name, stage] of this.stages) {
      stage.discard();
      this.hub.probes[name].condition(undefined);
    }
    this.stages.clear();
    this.rules.clear();
  }

  list(): ConditionStatus[] {
    return [...this.rules.values()].map(status);
  }

  get size(): number {
    return this.rules.size;
  }
}

/** What held a packet, as its journey says it: "netem delay", "netem rate", or both. */
function holdCause(rule: NetemRule): string {
  const a = rule.actions;
  const what = [a.delay ? 'delay' : '', a.rate ? 'rate' : ''].filter(Boolean).join(' and ');
  return `netem ${what}`;
}

function status(state: RuleState): ConditionStatus {
  return { id: state.id, text: state.rule.text, stage: state.rule.stage, counters: { ...state.counters } };
}
