/**
 * A network condition rule, `STAGE [if FILTER]: ACTIONS`, as tc netem spells
 * its actions. Probabilities are fractions (5% is 0.05), times milliseconds,
 * rates bytes per millisecond: the units the engine computes in.
 */
import type { CompiledFilter } from '../filter';
import type { StageName } from '../stages';

/** A probability with netem's optional correlation to the previous draw (both 0..1). */
export interface Chance {
  readonly p: number;
  readonly correlation: number;
}

export interface DelayAction {
  readonly ms: number;
  /** Uniform jitter: each delay is drawn from [ms - jitter, ms + jitter] (never below 0). */
  readonly jitterMs: number;
  readonly correlation: number;
}

export interface ReorderAction extends Chance {
  /** netem's gap: that many packets minus one are delayed before one may go ahead. */
  readonly gap: number;
}

export interface RateAction {
  /** Bytes per millisecond. */
  readonly bytesPerMs: number;
  /** As written, e.g. "1mbit". */
  readonly text: string;
}

export interface NetemActions {
  readonly loss?: Chance;
  readonly delay?: DelayAction;
  readonly duplicate?: Chance;
  readonly reorder?: ReorderAction;
  readonly corrupt?: Chance;
  readonly rate?: RateAction;
  /** Packets whose IP datagram is larger are dropped. */
  readonly mtu?: number;
  /** Packets this rule may hold (delay and rate queues) before it drops; netem's `limit`. */
  readonly limit: number;
}

export interface NetemRule {
  /** The rule as written. */
  readonly text: string;
  readonly stage: StageName;
  readonly filter?: CompiledFilter;
  readonly actions: NetemActions;
}

/** netem's default queue limit, in packets. */
export const DEFAULT_QUEUE_LIMIT = 1000;
/** The largest queue limit a rule may ask for: the bound on what one rule can hold in memory. */
export const MAX_QUEUE_LIMIT = 100_000;
/** Bytes one rule may hold whatever its limit (a queue of jumbo frames stays bounded). */
export const MAX_HELD_BYTES = 32 * 1024 * 1024;
