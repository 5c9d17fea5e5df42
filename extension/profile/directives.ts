/**
 * `# usernet: KEY=VALUE` comments before a profile's command: what Usernet
 * itself should do with the machine (engine=, netem=, netem-seed=), kept in
 * the profile so that every way of launching it honours them. One directive a
 * comment; offsets index the profile's text.
 */
import type { LexResult, ProfileComment } from './lexer';

export interface UsernetDirective {
  readonly key: string;
  readonly keyStart: number;
  readonly value: string;
  /** Offset of the value's first character (after `=`). */
  readonly valueStart: number;
  readonly comment: ProfileComment;
}

export const DIRECTIVE_KEYS = [
  { name: 'engine', value: 'embedded|qemu', summary: 'The engine that runs this profile; wins over the usernet.profileEngine setting.' },
  { name: 'netem', value: 'STAGE [if FILTER]: ACTIONS', summary: 'A network condition from the start (repeatable), as --netem: e.g. tcp_input: loss 5%.' },
  { name: 'netem-seed', value: 'N', summary: 'The seed of every netem decision, so a run replays (as --netem-seed).' },
] as const;

/** The `usernet:` head of a directive comment, then the key and its `=`. */
export const DIRECTIVE_HEAD = /^\s*usernet:\s*/;
const KEY_VALUE = /([A-Za-z-]+)\s*=/y;

export function usernetDirectives(lex: LexResult): UsernetDirective[] {
  const firstWord = lex.words[0]?.start ?? Infinity;
  const found: UsernetDirective[] = [];
  for (const comment of lex.comments) {
    if (comment.start > firstWord) break;
    const head = DIRECTIVE_HEAD.exec(comment.text);
    if (!head) continue;
    KEY_VALUE.lastIndex = head[0].length;
    const kv = KEY_VALUE.exec(comment.text);
    if (!kv) continue;
    const at = KEY_VALUE.lastIndex;
    // comment.text starts after the '#'.
    found.push({ key: kv[1]!, keyStart: comment.start + 1 + head[0].length, value: comment.text.slice(at), valueStart: comment.start + 1 + at, comment });
  }
  return found;
}
