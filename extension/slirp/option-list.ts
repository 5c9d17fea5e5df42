/**
 * QEMU's option-list syntax: `a,key=value,flag` with `,,` standing for a literal
 * comma inside a value. Indices refer to the shell word's value, so a caller can
 * map any item back to its exact source span.
 *
 * It lives beside the slirp because the `-netdev user` parser (netdev-options.ts)
 * is its lowest user; the profile's parser reads every other option with it too.
 */
export interface OptionItem {
  /** The key, or '' for a bare item (`user` in `user,id=n0`, `nic` in `-net nic`). */
  readonly key: string;
  /** The value with `,,` turned into `,`; for a bare item, the item itself. */
  readonly value: string;
  /** True when the item had `=`. */
  readonly hasValue: boolean;
  /** Value-index spans in the word: the whole item, its key and its value. */
  readonly start: number;
  readonly end: number;
  readonly keyStart: number;
  readonly keyEnd: number;
  readonly valueStart: number;
  readonly valueEnd: number;
  /** The item as written (escapes kept), for re-joining into an option string. */
  readonly raw: string;
}

export function parseOptionList(text: string): OptionItem[] {
  const items: OptionItem[] = [];
  let i = 0;
  while (i <= text.length) {
    const start = i;
    let eq = -1;
    while (i < text.length) {
      if (text[i] === ',') {
        if (text[i + 1] === ',') {
          i += 2;
          continue;
        }
        break;
      }
      if (text[i] === '=' && eq < 0) eq = i;
      i++;
    }
    const end = i;
    const raw = text.slice(start, end);
    const unescape = (s: string): string => s.replace(/,,/g, ',');
    if (eq >= 0) {
      items.push({
        key: text.slice(start, eq), value: unescape(text.slice(eq + 1, end)), hasValue: true,
        start, end, keyStart: start, keyEnd: eq, valueStart: eq + 1, valueEnd: end, raw,
      });
    } else {
      items.push({
        key: '', value: unescape(raw), hasValue: false,
        start, end, keyStart: start, keyEnd: start, valueStart: start, valueEnd: end, raw,
      });
    }
    i = end + 1;
    if (end >= text.length) break;
  }
  return items;
}

/** The first item with this key (later duplicates are QEMU's problem, not ours). */
export function findItem(items: readonly OptionItem[], key: string): OptionItem | undefined {
  return items.find((item) => item.key === key);
}

/** Escapes a value for an option list: commas doubled. */
export function escapeOptionValue(value: string): string {
  return value.replace(/,/g, ',,');
}
