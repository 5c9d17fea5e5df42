/**
 * Network conditions a profile imposes from the start: `# usernet: netem=RULE`
 * (repeatable, the rule language of --netem) and `# usernet: netem-seed=N`.
 * Each rule is checked by the netem rule parser itself; a mistake is a
 * problem at its column inside the comment.
 */
import { NetemRuleError, parseNetemRule } from '../pipeline/netem';
import type { LexResult } from './lexer';
import { usernetDirectives } from './directives';

export interface NetemDirectiveProblem {
  readonly code: 'bad-netem-rule' | 'bad-netem-seed' | 'duplicate-netem-seed';
  readonly message: string;
  readonly start: number;
  readonly end: number;
}

export interface NetemDirectives {
  /** The rules that parse, in the profile's order. */
  readonly rules: string[];
  readonly seed?: number;
  readonly problems: NetemDirectiveProblem[];
}

export const MAX_NETEM_SEED = 0xffffffff;

export function findNetemDirectives(lex: LexResult): NetemDirectives {
  const rules: string[] = [];
  const problems: NetemDirectiveProblem[] = [];
  let seed: number | undefined;
  for (const d of usernetDirectives(lex)) {
    if (d.key === 'netem') {
      const rule = d.value.trimEnd();
      try {
        parseNetemRule(rule);
        rules.push(rule.trim());
      } catch (e) {
        if (!(e instanceof NetemRuleError)) throw e;
        const start = d.valueStart + Math.min(e.column - 1, rule.length);
        problems.push({ code: 'bad-netem-rule', message: `netem: ${e.reason}`, start, end: Math.max(start + e.length, start + 1) });
      }
    } else if (d.key === 'netem-seed') {
      const lead = /^\s*/.exec(d.value)![0].length;
      const text = d.value.trim();
      const start = d.valueStart + lead;
      const end = start + Math.max(text.length, 1);
      if (!/^\d{1,10}$/.test(text) || Number(text) > MAX_NETEM_SEED) {
        problems.push({ code: 'bad-netem-seed', message: `netem-seed expects a whole number from 0 to ${MAX_NETEM_SEED}, got '${text}'`, start, end });
      } else if (seed !== undefined) {
        problems.push({ code: 'duplicate-netem-seed', message: 'netem-seed is given twice: keep one', start, end });
      } else seed = Number(text);
    }
  }
  return { rules, ...(seed !== undefined ? { seed } : {}), problems };
}
