/**
 * Completion inside a `# usernet: ` comment: the directive keys, the engines,
 * and for netem= the stages that take conditions, then the action words.
 */
import { ACTION_WORDS, CONDITION_STAGES } from '../pipeline/netem';
import { STAGE_BY_NAME } from '../pipeline/stages';
import type { CompletionEntry } from './completion-entry';
import { DIRECTIVE_HEAD, DIRECTIVE_KEYS } from './directives';
import type { LexResult } from './lexer';

type Choice = { readonly name: string; readonly summary?: string };

const ENGINES: Choice[] = [
  { name: 'embedded', summary: 'v86 in this process (the default)' },
  { name: 'qemu', summary: 'QEMU, with Usernet\'s slirp over -netdev stream' },
];
const ACTIONS: Choice[] = ACTION_WORDS.map((name) => ({ name }));

/** Entries for a cursor inside a comment: undefined when the cursor is in no comment. */
export function completeDirective(lex: LexResult, offset: number): CompletionEntry[] | undefined {
  const comment = lex.comments.find((c) => c.start < offset && offset <= c.end);
  if (!comment) return undefined;
  const before = comment.text.slice(0, offset - comment.start - 1);
  const head = DIRECTIVE_HEAD.exec(before);
  if (!head) return [];
  const rest = before.slice(head[0].length);
  const entries = (choices: readonly Choice[], typed: string, kind: CompletionEntry['kind'], suffix = ''): CompletionEntry[] =>
    choices.filter((c) => c.name.startsWith(typed)).map((c) => ({
      label: c.name + suffix, kind, detail: c.summary, documentation: c.summary, insertText: c.name + suffix,
      replaceStart: offset - typed.length, replaceEnd: offset,
    }));
  const eq = rest.indexOf('=');
  if (eq < 0) return entries(DIRECTIVE_KEYS.map((k) => ({ name: k.name, summary: `${k.name}=${k.value}: ${k.summary}` })), rest, 'suboption', '=');
  const key = rest.slice(0, eq).trim();
  const value = rest.slice(eq + 1).trimStart();
  if (key === 'engine') return entries(ENGINES, value, 'value');
  if (key !== 'netem') return [];
  if (!value.includes(':')) {
    const stages = CONDITION_STAGES.map((name) => ({ name, summary: STAGE_BY_NAME.get(name)?.description }));
    return /\s/.test(value) ? [] : entries(stages, value, 'value');
  }
  // After the stage's ':' (and a filter's), an action word starts each action.
  const word = /(?:^|[\s:,])([a-z]*)$/.exec(value)?.[1] ?? '';
  return entries(ACTIONS, word, 'value');
}
