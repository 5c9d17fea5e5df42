/**
 * QEMU arguments given as argv (after `usernet run --`) read through the same
 * profile parser as a `.qemu` file: each word single-quoted on one line, so
 * the parser sees exactly these words and a diagnostic's column names one.
 */

export function quoteWord(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export function argvToProfileText(words: readonly string[]): string {
  return words.map(quoteWord).join(' ');
}

/** Which word of argvToProfileText(words) the column `offset` falls in. */
export function wordIndexAt(text: string, offset: number): number {
  // Words are separated by single spaces outside quotes; count those before `offset`.
  let index = 0;
  let quoted = false;
  for (let i = 0; i < Math.min(offset, text.length); i++) {
    const c = text[i];
    if (c === '\\' && !quoted) i++;
    else if (c === "'") quoted = !quoted;
    else if (c === ' ' && !quoted) index++;
  }
  return index;
}
