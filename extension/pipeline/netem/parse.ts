/**
 * The rule language: `STAGE [if FILTER]: ACTIONS`, ACTIONS in tc netem's
 * spelling (`loss 5% 25%`, `delay 100ms ±10ms`, `rate 1mbit`, ...). Every error
 * names the column where it went wrong, counted in the whole rule.
 */
import { compileFilter, FilterSyntaxError, type CompiledFilter } from '../filter';
import { isStageName } from '../stages';
import { unknownStageMessage } from '../trace';
import { DEFAULT_QUEUE_LIMIT, MAX_QUEUE_LIMIT, type Chance, type NetemActions, type NetemRule } from './rule';
import { conditionsAllowedAt, whyNoConditionsAt } from './stages';

export class NetemRuleError extends Error {
  override readonly name = 'NetemRuleError';

  constructor(
    /** What is wrong, without the position. */
    readonly reason: string,
    /** 1-based column in the rule (its length + 1 at its end). */
    readonly column: number,
    /** How many characters the mistake spans (at least 1), for a diagnostic's range. */
    readonly length = 1,
  ) {
    super(`${reason} at column ${column}`);
  }
}

export const ACTION_WORDS = ['loss', 'delay', 'duplicate', 'reorder', 'corrupt', 'rate', 'mtu', 'limit'] as const;
type ActionWord = (typeof ACTION_WORDS)[number];
const ACTION_SET: ReadonlySet<string> = new Set(ACTION_WORDS);

/** The ':' that ends the filter: the first one outside a string that an action word follows. */
const SEPARATOR = new RegExp(`:\\s*(?=(?:${ACTION_WORDS.join('|')})\\b|$)`, 'y');

export function parseNetemRule(text: string): NetemRule {
  const head = /^\s*([A-Za-z0-9_]+)/.exec(text);
  if (!head) throw new NetemRuleError(`expected 'STAGE [if FILTER]: ACTIONS', e.g. 'ip_input: loss 5%'`, firstNonBlank(text));
  const stageName = head[1]!;
  const stageColumn = head.index + head[0].length - stageName.length + 1;
  if (!isStageName(stageName)) throw new NetemRuleError(unknownStageMessage(stageName), stageColumn, stageName.length);
  if (!conditionsAllowedAt(stageName)) throw new NetemRuleError(whyNoConditionsAt(stageName), stageColumn, stageName.length);
  const colon = findSeparator(text, head[0].length);
  if (colon < 0) throw new NetemRuleError(`expected ':' and actions after '${text.slice(0, head[0].length).trim()}${filterPart(text, head[0].length)}'`, text.trimEnd().length + 1);
  const between = text.slice(head[0].length, colon);
  let filter: CompiledFilter | undefined;
  if (between.trim() !== '') {
    const ifWord = /^\s*if(\s+|$)/.exec(between);
    if (!ifWord) throw new NetemRuleError(`expected 'if' or ':' after the stage`, head[0].length + firstNonBlank(between));
    const offset = head[0].length + ifWord[0].length;
    const expr = text.slice(offset, colon);
    if (expr.trim() === '') throw new NetemRuleError(`expected a filter after 'if'`, offset + 1);
    try {
      filter = compileFilter(expr);
    } catch (err) {
      if (!(err instanceof FilterSyntaxError)) throw err;
      throw new NetemRuleError(err.reason, err.column + offset, Math.max(1, err.token.length));
    }
  }
  const actions = parseActions(text, colon + 1);
  return { text: text.trim(), stage: stageName, filter, actions };
}

function firstNonBlank(s: string): number {
  const m = /\S/.exec(s);
  return (m ? m.index : s.length) + 1;
}

function filterPart(text: string, from: number): string {
  const rest = text.slice(from).trimEnd();
  return rest === '' ? '' : ` ${rest.trim()}`;
}

/**
 * The ':' that ends the stage and filter: right after the stage when there is
 * no filter; else the first one outside a string that an action word follows
 * (a filter has colons of its own: MAC and IPv6 addresses), else the last one
 * followed by a blank (so a misspelt action is reported as one).
 */
function findSeparator(text: string, from: number): number {
  const direct = /^\s*:/.exec(text.slice(from));
  if (direct) return from + direct[0].length - 1;
  let inString = false;
  let blankAfter = -1;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && inString) i++;
    else if (c === '"') inString = !inString;
    else if (c === ':' && !inString) {
      SEPARATOR.lastIndex = i;
      if (SEPARATOR.test(text)) return i;
      if (i + 1 === text.length || /\s/.test(text[i + 1]!)) blankAfter = i;
    }
  }
  return blankAfter;
}

interface Token {
  readonly text: string;
  /** 1-based column in the rule. */
  readonly column: number;
}

function tokenize(text: string, from: number): Token[] {
  const tokens: Token[] = [];
  // '±' and '+-' stand alone or in front of the jitter; commas separate actions if one likes.
  const re = /±|\+-|[^\s,±]+/g;
  re.lastIndex = from;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[0].startsWith('+-') && m[0].length > 2) {
      tokens.push({ text: '+-', column: m.index + 1 }, { text: m[0].slice(2), column: m.index + 3 });
    } else tokens.push({ text: m[0], column: m.index + 1 });
  }
  return tokens;
}

class Cursor {
  private i = 0;

  constructor(private readonly tokens: Token[], readonly endColumn: number) {}

  get done(): boolean {
    return this.i >= this.tokens.length;
  }

  peek(): Token | undefined {
    return this.tokens[this.i];
  }

  next(expected: string): Token {
    const t = this.tokens[this.i];
    if (!t) throw new NetemRuleError(`expected ${expected}`, this.endColumn);
    this.i++;
    return t;
  }
}

function parseActions(text: string, from: number): NetemActions {
  const cursor = new Cursor(tokenize(text, from), text.trimEnd().length + 1);
  if (cursor.done) throw new NetemRuleError(`expected actions after ':' (${ACTION_WORDS.join(', ')})`, cursor.endColumn);
  const seen = new Map<ActionWord, Token>();
  const out: { -readonly [K in keyof NetemActions]: NetemActions[K] } = { limit: DEFAULT_QUEUE_LIMIT };
  while (!cursor.done) {
    const word = cursor.next('an action');
    const name = word.text.toLowerCase();
    if (!ACTION_SET.has(name)) throw new NetemRuleError(`unknown action '${word.text}' (expected ${ACTION_WORDS.join(', ')})`, word.column, word.text.length);
    const action = name as ActionWord;
    if (seen.has(action)) throw new NetemRuleError(`'${action}' is given twice`, word.column, word.text.length);
    seen.set(action, word);
    switch (action) {
      case 'loss':
        // netem also spells it `loss random P%`.
        if (cursor.peek()?.text === 'random') cursor.next('');
        out.loss = chance(cursor, 'loss');
        break;
      case 'duplicate':
        out.duplicate = chance(cursor, 'duplicate');
        break;
      case 'corrupt':
        out.corrupt = chance(cursor, 'corrupt');
        break;
      case 'reorder': {
        const c = chance(cursor, 'reorder');
        let gap = 1;
        if (cursor.peek()?.text.toLowerCase() === 'gap') {
          cursor.next('');
          gap = integer(cursor.next(`a gap after 'gap'`), 'gap', 1, 1_000_000);
        }
        out.reorder = { ...c, gap };
        break;
      }
      case 'delay': {
        const ms = duration(cursor.next('a delay, e.g. 100ms'));
        let jitterMs = 0;
        let correlation = 0;
        let t = cursor.peek();
        if (t && (t.text === '±' || t.text === '+-')) {
          cursor.next('');
          jitterMs = duration(cursor.next(`a jitter after '${t.text}', e.g. 10ms`));
        } else if (t && /^\d/.test(t.text) && !t.text.endsWith('%')) {
          jitterMs = duration(cursor.next(''));
        }
        t = cursor.peek();
        if (t && t.text.endsWith('%')) correlation = percent(cursor.next(''), 'correlation');
        out.delay = { ms, jitterMs, correlation };
        break;
      }
      case 'rate':
        out.rate = rate(cursor);
        break;
      case 'mtu':
        out.mtu = integer(cursor.next('a size in bytes after mtu'), 'mtu', 68, 65535);
        break;
      case 'limit':
        out.limit = integer(cursor.next('a packet count after limit'), 'limit', 1, MAX_QUEUE_LIMIT);
        break;
    }
  }
  if (out.reorder && !out.delay) {
    const word = seen.get('reorder')!;
    throw new NetemRuleError(`reorder needs a delay (the packets it does not send ahead wait that long): add e.g. 'delay 10ms'`, word.column, word.text.length);
  }
  return out;
}

/** `P%` and netem's optional correlation `CORR%`. */
function chance(cursor: Cursor, action: string): Chance {
  const p = percent(cursor.next(`a probability after ${action}, e.g. 5%`), action);
  const t = cursor.peek();
  const correlation = t && /^[\d.]+%$/.test(t.text) ? percent(cursor.next(''), 'correlation') : 0;
  return { p, correlation };
}

function percent(t: Token, what: string): number {
  const m = /^(\d+(?:\.\d+)?)%$/.exec(t.text);
  if (!m) throw new NetemRuleError(`expected a percentage for ${what}, e.g. 5%, got '${t.text}'`, t.column, t.text.length);
  const v = Number(m[1]);
  if (v > 100) throw new NetemRuleError(`${what} ${t.text} is over 100%`, t.column, t.text.length);
  return v / 100;
}

const TIME_UNITS: Readonly<Record<string, number>> = { '': 1, us: 0.001, usec: 0.001, ms: 1, msec: 1, s: 1000, sec: 1000 };
/** A minute: longer holds are a mistake, and memory is held meanwhile. */
const MAX_DELAY_MS = 60_000;

function duration(t: Token): number {
  const m = /^(\d+(?:\.\d+)?)([a-z]*)$/i.exec(t.text);
  const scale = m ? TIME_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || scale === undefined) throw new NetemRuleError(`expected a time such as 100ms, 500us or 1s, got '${t.text}'`, t.column, t.text.length);
  const ms = Number(m[1]) * scale;
  if (ms > MAX_DELAY_MS) throw new NetemRuleError(`${t.text} is longer than the ${MAX_DELAY_MS / 1000} s a rule may hold a packet`, t.column, t.text.length);
  return ms;
}

/** tc's rate units: bits per second (bit, kbit, ...) or bytes per second (bps, kbps, ...). */
const RATE_UNITS: Readonly<Record<string, number>> = {
  bit: 1 / 8, kbit: 1e3 / 8, mbit: 1e6 / 8, gbit: 1e9 / 8,
  bps: 1, kbps: 1e3, mbps: 1e6, gbps: 1e9,
};

function rate(cursor: Cursor): NetemActions['rate'] {
  const t = cursor.next('a rate after rate, e.g. 1mbit');
  const m = /^(\d+(?:\.\d+)?)([a-z]*)$/i.exec(t.text);
  let unitText = m?.[2] ?? '';
  let span = t.text;
  // `rate 1 mbit` as well as `rate 1mbit`.
  if (m && unitText === '' && cursor.peek() && RATE_UNITS[cursor.peek()!.text.toLowerCase()] !== undefined) {
    unitText = cursor.next('').text;
    span = `${t.text}${unitText}`;
  }
  const perSecond = RATE_UNITS[unitText.toLowerCase()];
  if (!m || perSecond === undefined) {
    throw new NetemRuleError(`expected a rate such as 512kbit, 1mbit or 1gbit, got '${t.text}'`, t.column, t.text.length);
  }
  const bytesPerMs = (Number(m[1]) * perSecond) / 1000;
  if (bytesPerMs * 1000 < 125) throw new NetemRuleError(`rate ${span} is below 1kbit`, t.column, t.text.length);
  return { bytesPerMs, text: span.toLowerCase() };
}

function integer(t: Token, what: string, min: number, max: number): number {
  if (!/^\d+$/.test(t.text)) throw new NetemRuleError(`expected a whole number for ${what}, got '${t.text}'`, t.column, t.text.length);
  const v = Number(t.text);
  if (v < min || v > max) throw new NetemRuleError(`${what} ${v} is out of range (${min}-${max})`, t.column, t.text.length);
  return v;
}
