/**
 * A profile may pick its engine in a comment before the command:
 * `# usernet: engine=qemu`. It wins over the `usernet.profileEngine` setting.
 */
import type { LexResult, ProfileComment } from './lexer';
import type { EngineKind } from '../pipeline/stages';
import { usernetDirectives } from './directives';

export interface EngineDirective {
  readonly engine?: EngineKind;
  readonly comment: ProfileComment;
  /** Set when the directive names no engine Usernet has. */
  readonly error?: { readonly message: string; readonly start: number; readonly end: number };
}

export function findEngineDirective(lex: LexResult): EngineDirective | undefined {
  const directive = usernetDirectives(lex).find((d) => d.key === 'engine');
  if (!directive) return undefined;
  const { comment } = directive;
  const lead = /^\s*/.exec(directive.value)![0].length;
  const name = /^\S*/.exec(directive.value.slice(lead))![0];
  if (name === 'qemu' || name === 'embedded') return { engine: name, comment };
  const at = directive.valueStart + lead;
  return {
    comment,
    error: { message: `unknown engine "${name}": use engine=embedded or engine=qemu`, start: at, end: at + name.length },
  };
}
