/**
 * What sits under the editor's cursor in a profile: an option word, an option's
 * argument (and which `key=value` item of it), or nothing. Completion and hover
 * both start here.
 */
import type { LexResult, ProfileWord } from './lexer';
import { lookupOption, canonicalOptionName, type OptionInfo } from './option-catalog';
import { parseOptionList, type OptionItem } from '../slirp/option-list';

export type CursorContext =
  | { readonly kind: 'option'; readonly word?: ProfileWord; readonly prefix: string; readonly replaceStart: number }
  | {
    readonly kind: 'argument';
    readonly option: string;
    readonly info: OptionInfo;
    readonly word?: ProfileWord;
    /** The argument's value up to the cursor. */
    readonly prefix: string;
    /** Items of the argument before the one being typed. */
    readonly previousItems: readonly OptionItem[];
    /** The item being typed (up to the cursor) and where it starts in the source. */
    readonly itemText: string;
    readonly itemStart: number;
  }
  | { readonly kind: 'program'; readonly word: ProfileWord };

/** The word containing the offset (a cursor at a word's end still belongs to it). */
export function wordAt(lex: LexResult, offset: number): { word: ProfileWord; index: number } | undefined {
  const index = lex.words.findIndex((w) => w.start <= offset && offset <= w.end);
  return index < 0 ? undefined : { word: lex.words[index], index };
}

/** Value characters of a word that lie before the offset. */
export function valueBefore(word: ProfileWord, offset: number): string {
  let n = 0;
  while (n < word.value.length && word.sourceOffsets[n] < offset) n++;
  return word.value.slice(0, n);
}

export function isInComment(lex: LexResult, offset: number): boolean {
  return lex.comments.some((c) => c.start < offset && offset <= c.end);
}

export function cursorContext(lex: LexResult, offset: number): CursorContext | undefined {
  if (isInComment(lex, offset)) return undefined;
  const at = wordAt(lex, offset);
  const index = at ? at.index : lex.words.filter((w) => w.end < offset).length;
  const word = at?.word;
  if (index === 0 && word && !word.value.startsWith('-')) return { kind: 'program', word };

  // Is the previous word an option that is still waiting for its argument?
  const previous = optionAwaitingArgument(lex.words, index);
  if (previous) {
    const info = lookupOption(previous.value)!;
    const prefix = word ? valueBefore(word, offset) : '';
    const items = parseOptionList(prefix);
    const current = items[items.length - 1];
    const itemStartIndex = current ? current.start : 0;
    const itemStart = word ? (itemStartIndex < word.value.length ? word.sourceOffsets[itemStartIndex] : offset) : offset;
    return {
      kind: 'argument', option: canonicalOptionName(previous.value), info, word, prefix,
      previousItems: items.slice(0, -1), itemText: current ? current.raw : '', itemStart,
    };
  }
  const prefix = word ? valueBefore(word, offset) : '';
  return { kind: 'option', word, prefix, replaceStart: word ? word.start : offset };
}

/** The option word before words[index] when it takes an argument that words[index] would be. */
function optionAwaitingArgument(words: readonly ProfileWord[], index: number): ProfileWord | undefined {
  // Walk from the start: which words are options and which are their arguments.
  let i = words[0] && !words[0].value.startsWith('-') ? 1 : 0;
  while (i < index) {
    const info = lookupOption(words[i].value);
    if (info?.takesArgument) {
      if (i + 1 === index) return words[i];
      i += 2;
    } else i += 1;
  }
  return undefined;
}
