/**
 * `--netem 'RULE'` (repeatable) and `--netem-seed N`, shared by `usernet run`
 * and `usernet serve`: checked before anything starts, so a typo in a rule
 * costs no boot and says at which column it is.
 */
import { NetemRuleError, parseNetemRule, type NetemSettings } from '../pipeline/netem';
import { UsageError } from './usage-error';

export const NETEM_OPTIONS = {
  netem: { type: 'string', multiple: true },
  'netem-seed': { type: 'string' },
} as const;

export const NETEM_HELP = `  --netem 'STAGE [if F]: ACTIONS'
                       impose a network condition at STAGE, as tc netem spells it:
                       loss P% [CORR%], delay T [±J] [CORR%], duplicate P%, reorder P% [gap N],
                       corrupt P%, rate R(kbit|mbit|gbit), mtu N, limit N. Repeatable; e.g.
                       --netem 'icmp_reflect: delay 100ms ±10ms' --netem 'tcp_input: loss 5%'
  --netem-seed N       the seed of every netem decision (default: a fresh one, printed),
                       so a run's losses and delays can be replayed
`;

/** The rules as given, each checked. */
export type NetemPlan = NetemSettings;

export interface NetemValues {
  netem?: string[];
  'netem-seed'?: string;
}

export function parseNetemOptions(values: NetemValues): NetemPlan {
  const rules = (values.netem ?? []).map((rule) => {
    try {
      parseNetemRule(rule);
    } catch (e) {
      if (e instanceof NetemRuleError) throw new UsageError(`--netem '${rule}': ${e.message}`);
      throw e;
    }
    return rule;
  });
  const seedText = values['netem-seed'];
  if (seedText === undefined) return { rules };
  if (!/^\d{1,10}$/.test(seedText) || Number(seedText) > 0xffffffff) throw new UsageError(`--netem-seed expects a whole number from 0 to 4294967295, got '${seedText}'`);
  return { rules, seed: Number(seedText) };
}
