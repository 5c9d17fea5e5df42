import type { CompareOp, FieldRef, FilterNode, Literal, Operand, Quantifier, SetElement } from './ast';
import { FilterSyntaxError } from './errors';
import { tokenize, type Token } from './lexer';

/**
 * Recursive descent over Wireshark's display-filter grammar:
 *   expr := or;  or := and (('||'|'or'|'^^'|'xor') and)*;  and := unary (('&&'|'and') unary)*
 *   unary := ('!'|'not') unary | '(' expr ')' | relation
 *   relation := field [cmp operand | 'in' set | 'not' 'in' set | 'contains' operand | 'matches' string]
 * Precedence, highest first: not, and, or (as in Wireshark).
 */
const COMPARE_OPS: Readonly<Record<string, { op: CompareOp; quant: Quantifier }>> = {
  '==': { op: 'eq', quant: 'any' }, eq: { op: 'eq', quant: 'any' }, any_eq: { op: 'eq', quant: 'any' },
  '===': { op: 'eq', quant: 'all' }, all_eq: { op: 'eq', quant: 'all' },
  // Wireshark >= 3.6: "a != b" is "all values differ" (the negation of "a == b" where a exists).
  '!=': { op: 'ne', quant: 'all' }, ne: { op: 'ne', quant: 'all' }, all_ne: { op: 'ne', quant: 'all' },
  '~=': { op: 'ne', quant: 'any' }, '!==': { op: 'ne', quant: 'any' }, any_ne: { op: 'ne', quant: 'any' },
  '<': { op: 'lt', quant: 'any' }, lt: { op: 'lt', quant: 'any' },
  '>': { op: 'gt', quant: 'any' }, gt: { op: 'gt', quant: 'any' },
  '<=': { op: 'le', quant: 'any' }, le: { op: 'le', quant: 'any' },
  '>=': { op: 'ge', quant: 'any' }, ge: { op: 'ge', quant: 'any' },
};

const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_\-]*(\.[A-Za-z0-9_\-]+)*$/;

export function looksLikeFieldName(text: string): boolean {
  return FIELD_NAME.test(text);
}

function describeToken(t: Token): string {
  return t.kind === 'end' ? 'the end of the filter' : `'${t.raw}'`;
}

class Parser {
  private pos = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token { return this.tokens[this.pos]!; }
  private next(): Token { return this.tokens[this.pos++]!; }
  private previous(): Token { return this.tokens[this.pos - 1]!; }

  private fail(expected: string, after?: Token): never {
    const t = this.peek();
    const where = after ? ` after '${after.raw}'` : '';
    const got = t.kind === 'end' ? '' : `, got ${describeToken(t)}`;
    throw new FilterSyntaxError(`expected ${expected}${where}${got}`, t.column, t.raw, expected);
  }

  parseFilter(): FilterNode {
    const node = this.parseOr();
    if (this.peek().kind !== 'end') {
      const t = this.peek();
      if (t.kind === ')') throw new FilterSyntaxError(`unbalanced ')'`, t.column, t.raw, "'&&', '||' or the end of the filter");
      this.fail("'&&', '||' or the end of the filter");
    }
    return node;
  }

  private parseOr(): FilterNode {
    let left = this.parseAnd();
    while (this.peek().kind === 'or' || this.peek().kind === 'xor') {
      const kind = this.next().kind as 'or' | 'xor';
      left = { kind, left, right: this.parseAnd() };
    }
    return left;
  }

  private parseAnd(): FilterNode {
    let left = this.parseUnary();
    while (this.peek().kind === 'and') {
      this.next();
      left = { kind: 'and', left, right: this.parseUnary() };
    }
    return left;
  }

  private parseUnary(): FilterNode {
    if (this.peek().kind === 'not') {
      const op = this.next();
      if (this.peek().kind === 'end') this.fail('an expression', op);
      return { kind: 'not', operand: this.parseUnary() };
    }
    if (this.peek().kind === '(') {
      const open = this.next();
      if (this.peek().kind === ')') this.fail('an expression', open);
      const inner = this.parseOr();
      if (this.peek().kind !== ')') {
        if (this.peek().kind === 'end') throw new FilterSyntaxError(`expected ')' to close the '(' of column ${open.column}`, this.peek().column, '', "')'");
        this.fail("')'");
      }
      this.next();
      return inner;
    }
    return this.parseRelation();
  }

  private parseField(): FieldRef {
    const t = this.peek();
    if (t.kind !== 'word' || !looksLikeFieldName(t.text)) {
      const prev = this.pos > 0 ? this.previous() : undefined;
      this.fail('a field name', prev && prev.kind !== 'end' && (prev.kind === 'and' || prev.kind === 'or' || prev.kind === 'xor' || prev.kind === 'not' || prev.kind === '(') ? prev : undefined);
    }
    this.next();
    return { kind: 'field', name: t.text, column: t.column };
  }

  private parseRelation(): FilterNode {
    const field = this.parseField();
    const t = this.peek();
    if (t.kind === 'op' || (t.kind === 'kw' && COMPARE_OPS[t.text])) {
      const spec = COMPARE_OPS[t.text];
      if (!spec) this.fail('a comparison operator');
      this.next();
      const right = this.parseOperand(t);
      return { kind: 'compare', op: spec.op, quant: spec.quant, opText: t.raw, opColumn: t.column, left: field, right };
    }
    if (t.kind === 'kw' && t.text === 'contains') {
      this.next();
      return { kind: 'contains', field, value: this.parseOperand(t), opColumn: t.column };
    }
    if (t.kind === 'kw' && t.text === 'matches') {
      this.next();
      const p = this.peek();
      if (p.kind !== 'string') this.fail('a quoted regular expression', t);
      this.next();
      return { kind: 'matches', field, pattern: { kind: 'literal', text: p.text, quoted: true, column: p.column }, opColumn: t.column };
    }
    if (t.kind === 'kw' && t.text === 'in') {
      this.next();
      return { kind: 'in', negated: false, field, elements: this.parseSet(t) };
    }
    if (t.kind === 'not' && this.tokens[this.pos + 1]?.kind === 'kw' && this.tokens[this.pos + 1]?.text === 'in') {
      this.next();
      const inTok = this.next();
      return { kind: 'in', negated: true, field, elements: this.parseSet(inTok) };
    }
    return { kind: 'exists', field };
  }

  private parseOperand(after: Token): Operand {
    const t = this.peek();
    if (t.kind === 'string') {
      this.next();
      return { kind: 'literal', text: t.text, quoted: true, column: t.column };
    }
    if (t.kind === 'word') {
      this.next();
      // Whether a word is a field or a literal is decided against the catalog later.
      return { kind: 'literal', text: t.text, quoted: false, column: t.column };
    }
    return this.fail('a value', after);
  }

  private parseSet(inTok: Token): SetElement[] {
    if (this.peek().kind !== '{') this.fail("'{' to open a set", inTok);
    const open = this.next();
    const elements: SetElement[] = [];
    for (;;) {
      const t = this.peek();
      if (t.kind === '}') {
        if (elements.length === 0) this.fail('a value', open);
        this.next();
        return elements;
      }
      if (t.kind === 'end') throw new FilterSyntaxError(`expected '}' to close the set of column ${open.column}`, t.column, '', "'}'");
      if (t.kind === ',' && elements.length > 0) { this.next(); continue; }
      const low = this.parseOperand(elements.length ? this.previous() : open);
      if (this.peek().kind === '..') {
        const dots = this.next();
        elements.push({ low, high: this.parseOperand(dots) });
      } else elements.push({ low });
    }
  }
}

export function parseFilter(text: string): FilterNode | undefined {
  const tokens = tokenize(text);
  if (tokens.length === 1) return undefined;
  return new Parser(tokens).parseFilter();
}

export type { Literal };
