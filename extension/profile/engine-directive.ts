/**
 * A profile may pick its engine in a comment before the command:
 * `# usernet: engine=qemu`. It wins over the `usernet.profileEngine` setting.
 */
import type { LexResult, ProfileComment } from './lexer';
import type { EngineKind } from '../pipeline/stages';

export interface EngineDirective {
  readonly engine?: EngineKind;
  readonly comment: ProfileComment;
  /** Set when the directive names no engine Usernet has. */
  readonly error?: { readonly message: string; readonly start: number; readonly end: number };
}

const DIRECTIVE = /^\s*usernet:\s*engine\s*=\s*(\S*)/;

export function findEngineDirective(lex: LexResult): EngineDirective | undefined {
  const firstWord = lex.words[0]?.start ?? Infinity;
  for (const comment of lex.comments) {
    if (comment.start > firstWord) break;
    const match = DIRECTIVE.exec(comment.text);
    if (!match) continue;
    const name = match[1];
    if (name === 'qemu' || name === 'embedded') return { engine: name, comment };
    const at = comment.start + 1 + match[0].length - name.length;
    return {
      comment,
      error: { message: `unknown engine "${name}": use engine=embedded or engine=qemu`, start: at, end: at + Math.max(name.length, 0) },
    };
  }
  return undefined;
}
