/**
 * Conditions in force as text, in the spirit of `tc -s qdisc show`: each rule
 * as written with its counters below it. `usernet sessions`, the Debug
 * Console's `netem` and the CLI's start line print this.
 */
import type { ConditionStatus } from './conditions';

export function formatConditions(rules: readonly ConditionStatus[], seed: number): string {
  if (rules.length === 0) return `no network conditions (seed ${seed})\n`;
  const lines = [`network conditions (seed ${seed}):`];
  for (const r of rules) {
    const c = r.counters;
    lines.push(`  #${r.id} ${r.text}`);
    lines.push(`     matched ${c.matched} dropped ${c.dropped} (over limit ${c.overflowed}) delayed ${c.delayed} duplicated ${c.duplicated} reordered ${c.reordered} corrupted ${c.corrupted} held ${c.held}`);
  }
  return `${lines.join('\n')}\n`;
}

/** One line for a start-up message: the rules and the seed that replays them. */
export function describeConditions(conditions: { list(): ConditionStatus[]; readonly seed: number }): string {
  return `network conditions (replay with --netem-seed ${conditions.seed}): ${conditions.list().map((r) => r.text).join('; ')}`;
}
