/**
 * Splits a `.qemu` profile into shell words the way a POSIX shell would, without
 * running any expansion: `\` newline continuations, `#` comments at a word's
 * start, '…' quotes, "…" quotes with backslash escapes, and backslash escapes.
 *
 * Unescaped newlines separate words like blanks do: a profile is one command,
 * and people often forget a trailing `\`; refusing such a file would help nobody.
 *
 * Every word remembers where each of its characters came from, so a diagnostic
 * can point at one suboption inside `-netdev 'user,hostfwd=…'` even when quotes
 * and continuations sit in between.
 */
import { LineMap, type SourceRange } from './source-range';

export interface ProfileWord {
  /** The word after quote removal: what the program receives in argv. */
  readonly value: string;
  /** Offsets into the text where the word starts and ends (end exclusive). */
  readonly start: number;
  readonly end: number;
  readonly range: SourceRange;
  /** Source offset of each value character; one extra entry for the end. */
  readonly sourceOffsets: readonly number[];
  /** True when any part of the word was quoted or escaped. */
  readonly quoted: boolean;
  /** Value indices where an unquoted or double-quoted `$` or backquote sits (never expanded here). */
  readonly expansions: readonly number[];
}

export interface ProfileComment {
  /** The comment without its leading `#`. */
  readonly text: string;
  readonly start: number;
  readonly end: number;
  readonly range: SourceRange;
}

export interface LexError {
  readonly code: 'unterminated-quote' | 'dangling-backslash';
  readonly message: string;
  readonly start: number;
  readonly end: number;
  readonly range: SourceRange;
}

export interface LexResult {
  readonly words: ProfileWord[];
  readonly comments: ProfileComment[];
  readonly errors: LexError[];
  readonly lines: LineMap;
}

const isBlank = (c: string): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';

/** Length of a line break at `i` (LF or CRLF), 0 if none. */
function lineBreakAt(text: string, i: number): number {
  if (text[i] === '\n') return 1;
  if (text[i] === '\r' && text[i + 1] === '\n') return 2;
  return 0;
}

export function lexProfile(text: string): LexResult {
  const lines = new LineMap(text);
  const words: ProfileWord[] = [];
  const comments: ProfileComment[] = [];
  const errors: LexError[] = [];
  let i = 0;

  while (i < text.length) {
    const c = text[i];
    if (c === '\\' && lineBreakAt(text, i + 1)) {
      i += 1 + lineBreakAt(text, i + 1);
      continue;
    }
    if (isBlank(c)) {
      i++;
      continue;
    }
    if (c === '#') {
      const start = i;
      while (i < text.length && text[i] !== '\n') i++;
      const end = text[i - 1] === '\r' ? i - 1 : i;
      comments.push({ text: text.slice(start + 1, end), start, end, range: lines.range(start, end) });
      continue;
    }

    const start = i;
    let value = '';
    const sourceOffsets: number[] = [];
    const expansions: number[] = [];
    let quoted = false;
    const push = (ch: string, at: number): void => {
      value += ch;
      sourceOffsets.push(at);
    };

    while (i < text.length && !isBlank(text[i])) {
      const ch = text[i];
      if (ch === '\\') {
        const lb = lineBreakAt(text, i + 1);
        if (lb) {
          i += 1 + lb;
          continue;
        }
        if (i + 1 >= text.length) {
          errors.push({ code: 'dangling-backslash', message: 'a backslash at the end of the profile escapes nothing', start: i, end: i + 1, range: lines.range(i, i + 1) });
          i++;
          continue;
        }
        quoted = true;
        push(text[i + 1], i + 1);
        i += 2;
        continue;
      }
      if (ch === "'") {
        quoted = true;
        const open = i;
        i++;
        while (i < text.length && text[i] !== "'") {
          push(text[i], i);
          i++;
        }
        if (i >= text.length) {
          errors.push({ code: 'unterminated-quote', message: 'unterminated single quote: add the closing \'', start: open, end: open + 1, range: lines.range(open, open + 1) });
          break;
        }
        i++;
        continue;
      }
      if (ch === '"') {
        quoted = true;
        const open = i;
        i++;
        while (i < text.length && text[i] !== '"') {
          if (text[i] === '\\') {
            const lb = lineBreakAt(text, i + 1);
            if (lb) {
              i += 1 + lb;
              continue;
            }
            // Inside double quotes a backslash only escapes these (POSIX 2.2.3).
            const next = text[i + 1];
            if (next === '$' || next === '`' || next === '"' || next === '\\') {
              push(next, i + 1);
              i += 2;
              continue;
            }
          }
          if (text[i] === '$' || text[i] === '`') expansions.push(value.length);
          push(text[i], i);
          i++;
        }
        if (i >= text.length) {
          errors.push({ code: 'unterminated-quote', message: 'unterminated double quote: add the closing "', start: open, end: open + 1, range: lines.range(open, open + 1) });
          break;
        }
        i++;
        continue;
      }
      if (ch === '$' || ch === '`') expansions.push(value.length);
      push(ch, i);
      i++;
    }

    const end = i;
    sourceOffsets.push(end);
    words.push({ value, start, end, range: lines.range(start, end), sourceOffsets, quoted, expansions });
  }

  return { words, comments, errors, lines };
}

/**
 * Source range of value characters [from, to) of a word: the exact span of a
 * suboption inside a token, even across quotes.
 */
export function wordSliceRange(word: ProfileWord, lines: LineMap, from: number, to: number): SourceRange {
  const { start, end } = wordSliceOffsets(word, from, to);
  return lines.range(start, end);
}

export function wordSliceOffsets(word: ProfileWord, from: number, to: number): { start: number; end: number } {
  const n = word.value.length;
  const a = Math.max(0, Math.min(from, n));
  const b = Math.max(a, Math.min(to, n));
  if (a === b) {
    const at = a < n ? word.sourceOffsets[a] : word.end;
    return { start: at, end: at };
  }
  // The end is one past the last character's source offset, so a closing quote is not included.
  return { start: word.sourceOffsets[a], end: word.sourceOffsets[b - 1] + 1 };
}
