import { FilterSyntaxError } from './errors';

export type TokenKind =
  | 'word'      // field names and unquoted literals: 10.0.2.15, 0x1f, aa:bb:cc, tcp.port
  | 'string'    // a quoted string, escapes resolved
  | 'op'        // == != < > <= >= ~= === !== !
  | 'and' | 'or' | 'xor' | 'not'
  | 'kw'        // contains matches in eq ne lt gt le ge any_eq all_ne ...
  | '(' | ')' | '{' | '}' | ',' | '..' | 'end';

export interface Token {
  readonly kind: TokenKind;
  /** The source text (for strings: the decoded value). */
  readonly text: string;
  /** 1-based. */
  readonly column: number;
  /** The source text as typed, for error messages. */
  readonly raw: string;
}

const KEYWORDS: Readonly<Record<string, TokenKind>> = {
  and: 'and', or: 'or', xor: 'xor', not: 'not',
  contains: 'kw', matches: 'kw', in: 'kw',
  eq: 'kw', ne: 'kw', lt: 'kw', gt: 'kw', le: 'kw', ge: 'kw',
  any_eq: 'kw', all_eq: 'kw', any_ne: 'kw', all_ne: 'kw',
};

const PUNCT = ['===', '!==', '==', '!=', '<=', '>=', '~=', '&&', '||', '^^', '..', '<', '>', '!', '(', ')', '{', '}', ','];

function isWordChar(c: string): boolean {
  return /[A-Za-z0-9_.:/\-]/.test(c);
}

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') { i++; continue; }
    const column = i + 1;
    if (c === '"') {
      const { value, end } = readString(text, i);
      tokens.push({ kind: 'string', text: value, column, raw: text.slice(i, end) });
      i = end;
      continue;
    }
    // A word runs until a separator; ".." inside it starts a range (8000..8080).
    if (isWordChar(c) && !text.startsWith('..', i)) {
      let j = i;
      while (j < text.length && isWordChar(text[j]!) && !text.startsWith('..', j)) j++;
      const word = text.slice(i, j);
      const kw = KEYWORDS[word.toLowerCase()];
      tokens.push({ kind: kw ?? 'word', text: kw ? word.toLowerCase() : word, column, raw: word });
      i = j;
      continue;
    }
    const p = PUNCT.find((s) => text.startsWith(s, i));
    if (p) {
      const kind: TokenKind = p === '&&' ? 'and' : p === '||' ? 'or' : p === '^^' ? 'xor' : p === '!' ? 'not'
        : p === '(' || p === ')' || p === '{' || p === '}' || p === ',' || p === '..' ? p : 'op';
      tokens.push({ kind, text: p, column, raw: p });
      i += p.length;
      continue;
    }
    if (c === '[') throw new FilterSyntaxError(`field slices like "[0:3]" are not supported`, column, c);
    throw new FilterSyntaxError(`unexpected character '${c}'`, column, c);
  }
  tokens.push({ kind: 'end', text: '', column: text.length + 1, raw: '' });
  return tokens;
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", a: '\x07', b: '\b', f: '\f', v: '\v', '0': '\0' };

function readString(text: string, start: number): { value: string; end: number } {
  let value = '';
  let i = start + 1;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') return { value, end: i + 1 };
    if (c !== '\\') { value += c; i++; continue; }
    const e = text[i + 1];
    if (e === undefined) break;
    if (e === 'x') {
      const hex = /^[0-9A-Fa-f]{1,2}/.exec(text.slice(i + 2, i + 4));
      if (!hex) throw new FilterSyntaxError(`invalid escape '\\x' in string`, i + 1, '\\x', 'one or two hex digits');
      value += String.fromCharCode(parseInt(hex[0], 16));
      i += 2 + hex[0].length;
      continue;
    }
    const oct = /^[0-7]{3}/.exec(text.slice(i + 1, i + 4));
    if (oct) { value += String.fromCharCode(parseInt(oct[0], 8)); i += 4; continue; }
    const simple = SIMPLE_ESCAPES[e];
    if (simple === undefined) throw new FilterSyntaxError(`invalid escape '\\${e}' in string`, i + 1, `\\${e}`);
    value += simple;
    i += 2;
  }
  throw new FilterSyntaxError('unterminated string', start + 1, text.slice(start), "a closing '\"'");
}
