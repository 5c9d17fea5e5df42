/**
 * Debug Console completion (DAP `completions`): the word before the cursor is
 * completed from the filter language's field names, the stop's objects and
 * their members (`frame`, `journey.tcp_input`, `session.bytesIn`) and the
 * console's commands. A word with a dot offers what follows that dot.
 */
import type { DebugProtocol } from '@vscode/debugprotocol';
import { FIELD_CATALOG } from '../pipeline/dissect';
import type { VarNode } from './variable-store';

const COMMANDS = ['help', 'info usernet', 'netem'];
/** Past this, the list is cut: a client shows a few dozen at best. */
export const MAX_COMPLETIONS = 200;

/** The word being typed: letters, digits, '_', '.', '-' before `column` (1-based, in `text`). */
export function wordBefore(text: string, column: number): { start: number; word: string } {
  const before = text.slice(0, Math.max(0, column - 1));
  const m = /[A-Za-z0-9_.-]*$/.exec(before)!;
  return { start: before.length - m[0].length, word: m[0] };
}

/**
 * Candidates for `word`. `objects` are the stop's named objects (none while
 * the VM runs); their children are listed only when the word reaches into them.
 */
export function completionTargets(word: string, objects: readonly VarNode[]): DebugProtocol.CompletionItem[] {
  const seen = new Set<string>();
  const out: DebugProtocol.CompletionItem[] = [];
  const add = (label: string, type: DebugProtocol.CompletionItemType, detail?: string) => {
    if (!label.startsWith(word) || seen.has(label) || out.length >= MAX_COMPLETIONS) return;
    seen.add(label);
    out.push({ label, type, ...(detail ? { detail } : {}) });
  };
  for (const o of objects) {
    add(o.evaluateName!, 'variable', o.value);
    if (o.children && word.startsWith(`${o.evaluateName}.`)) for (const c of o.children()) if (c.evaluateName) add(c.evaluateName, 'property', c.value);
  }
  for (const f of FIELD_CATALOG) add(f.name, f.type === 'protocol' ? 'module' : 'field', f.description);
  if (!word.includes('.')) for (const c of COMMANDS) add(c, 'keyword');
  return out;
}
