import { bytesIndexOf } from '../dissect/bytes';
import { lookupField } from '../dissect/catalog';
import { TYPE_NAMES, type FieldDef, type FieldType, type FieldValue } from '../dissect/field-types';
import type { PacketView } from '../dissect/packet-view';
import type { CompareOp, FieldRef, FilterNode, Literal, Operand, SetElement } from './ast';
import { applyOp, compareValues } from './compare';
import { FilterSyntaxError, type UnknownField } from './errors';
import { parseBool, parseByteString, parseIpv4Block, parseIpv6Block, parseMac, parseUint, stringBytes } from './literals';
import { looksLikeFieldName } from './parser';
import { suggestField } from './suggest';

/**
 * Turns a parsed filter into nested closures over a PacketView. Every literal
 * is converted once here, against the type of the field it meets; a mismatch
 * is reported with the literal's column. Nothing is evaluated as code.
 */
export type Predicate = (v: PacketView) => boolean;
/** Tests one field value. */
type ValueTest = (x: FieldValue) => boolean;

/** Field types whose values are always numbers: compared without the generic value order. */
const NUMERIC_FIELD_TYPES: ReadonlySet<FieldType> = new Set<FieldType>(['uint', 'ipv4']);

/** `x OP value` for a number field: breakpoint conditions run for every packet, so no dispatch per test. */
function numberTest(op: CompareOp, value: number): ValueTest {
  switch (op) {
    case 'eq': return (x) => x === value;
    case 'ne': return (x) => x !== value;
    case 'lt': return (x) => (x as number) < value;
    case 'gt': return (x) => (x as number) > value;
    case 'le': return (x) => (x as number) <= value;
    case 'ge': return (x) => (x as number) >= value;
  }
}

export class FilterCompiler {
  readonly fields = new Set<string>();

  compile(node: FilterNode): Predicate {
    this.checkUnknownFields(node);
    return this.node(node);
  }

  private checkUnknownFields(root: FilterNode): void {
    const unknown: UnknownField[] = [];
    const visit = (n: FilterNode): void => {
      switch (n.kind) {
        case 'and': case 'or': case 'xor': visit(n.left); visit(n.right); return;
        case 'not': visit(n.operand); return;
        case 'exists': case 'compare': case 'in': case 'contains': case 'matches': {
          const ref = n.kind === 'exists' || n.kind === 'compare' ? (n.kind === 'exists' ? n.field : n.left) : n.field;
          if (!lookupField(ref.name)) unknown.push({ name: ref.name, column: ref.column, suggestion: suggestField(ref.name) });
        }
      }
    };
    visit(root);
    if (unknown.length === 0) return;
    const describe = (u: UnknownField) => `'${u.name}'${u.suggestion ? ` (did you mean '${u.suggestion}'?)` : ''}`;
    const first = unknown[0]!;
    const reason = unknown.length === 1
      ? `unknown field ${describe(first)}`
      : `unknown fields ${unknown.map((u) => `${describe(u)} (column ${u.column})`).join(', ')}; the first`;
    throw new FilterSyntaxError(reason, first.column, first.name, 'a known field name', 'unknown-field', unknown);
  }

  private def(ref: FieldRef): FieldDef {
    const d = lookupField(ref.name)!;
    this.fields.add(d.name);
    return d;
  }

  private node(n: FilterNode): Predicate {
    switch (n.kind) {
      case 'and': { const a = this.node(n.left); const b = this.node(n.right); return (v) => a(v) && b(v); }
      case 'or': { const a = this.node(n.left); const b = this.node(n.right); return (v) => a(v) || b(v); }
      case 'xor': { const a = this.node(n.left); const b = this.node(n.right); return (v) => a(v) !== b(v); }
      case 'not': { const a = this.node(n.operand); return (v) => !a(v); }
      case 'exists': {
        const d = this.def(n.field);
        return d.multi ? (v) => d.getAll(v).length > 0 : (v) => d.get(v) !== undefined;
      }
      case 'compare': return this.compare(n.left, n.op, n.quant, n.right, n.opText, n.opColumn);
      case 'in': return this.membership(n.field, n.elements, n.negated);
      case 'contains': return this.contains(n.field, n.value, n.opColumn);
      case 'matches': return this.matches(n.field, n.pattern, n.opColumn);
    }
  }

  /** Any value passes `test` (Wireshark's default), or all do and there is one. */
  private quantified(d: FieldDef, all: boolean, test: ValueTest): Predicate {
    if (!d.multi) return (v) => { const x = d.get(v); return x !== undefined && test(x); };
    if (all) return (v) => { const xs = d.getAll(v); return xs.length > 0 && xs.every(test); };
    return (v) => d.getAll(v).some(test);
  }

  private compare(ref: FieldRef, op: CompareOp, quant: 'any' | 'all', right: Operand, opText: string, opColumn: number): Predicate {
    const d = this.def(ref);
    if (d.type === 'protocol') {
      throw new FilterSyntaxError(`${d.name} is a protocol: test it alone ('${d.name}') or with 'contains', not with '${opText}'`, opColumn, opText, "'contains', 'matches' or nothing", 'type');
    }
    const other = this.asField(right, d.type);
    if (other) return this.compareFields(d, op, quant, other);
    const lit = right as Literal;
    if (d.type === 'ipv4' || d.type === 'ipv6') {
      const block = this.addressBlock(d, lit);
      if (block) {
        if (op !== 'eq' && op !== 'ne') {
          throw new FilterSyntaxError(`a network ('${lit.text}') can only be tested with '==' or '!='`, opColumn, opText, "'==' or '!='", 'type');
        }
        return this.quantified(d, quant === 'all', op === 'eq' ? block : (x) => !block(x));
      }
    }
    const value = this.literalValue(d, lit);
    const test = typeof value === 'number' && NUMERIC_FIELD_TYPES.has(d.type) ? numberTest(op, value) : (x: FieldValue) => applyOp(op, compareValues(x, value));
    return this.quantified(d, quant === 'all', test);
  }

  private compareFields(d: FieldDef, op: CompareOp, quant: 'any' | 'all', e: FieldDef): Predicate {
    const test = (xs: FieldValue[], ys: FieldValue[]) => {
      if (xs.length === 0 || ys.length === 0) return false;
      const pair = (x: FieldValue) => ys.some((y) => applyOp(op, compareValues(x, y)));
      return quant === 'all' ? xs.every(pair) : xs.some(pair);
    };
    return (v) => test(d.getAll(v), e.getAll(v));
  }

  /** The right-hand word names a field when it is a known field of a comparable type. */
  private asField(operand: Operand, leftType: FieldType): FieldDef | undefined {
    if (operand.kind === 'field') return this.def(operand);
    if (operand.quoted) return undefined;
    const e = lookupField(operand.text);
    if (!e || e.type === 'protocol') return undefined;
    if (leftType === 'string' && e.type !== 'string' && e.type !== 'any') return undefined;
    if (e.type !== leftType && e.type !== 'any' && leftType !== 'any' && !(isNumeric(e.type) && isNumeric(leftType))) {
      throw new FilterSyntaxError(`cannot compare ${operand.text} (${TYPE_NAMES[e.type]}) with a field that is ${TYPE_NAMES[leftType]}`, operand.column, operand.text, `a field or value that is ${TYPE_NAMES[leftType]}`, 'type');
    }
    this.fields.add(e.name);
    return e;
  }

  /** For an IPv4/IPv6 literal with a prefix: a test for membership of the network. */
  private addressBlock(d: FieldDef, lit: Literal): ValueTest | undefined {
    if (lit.quoted || !lit.text.includes('/')) return undefined;
    if (d.type === 'ipv4') {
      const b = parseIpv4Block(lit.text);
      if (!b) this.badLiteral(d, lit);
      return (x) => (((x as number) & b.mask) >>> 0) === b.addr;
    }
    const b = parseIpv6Block(lit.text);
    if (!b) this.badLiteral(d, lit);
    return (x) => prefixEqual(x as Uint8Array, b.addr, b.prefix);
  }

  /** The literal as a value of the field's type, or a type error at its column. */
  private literalValue(d: FieldDef, lit: Literal): FieldValue {
    const t = d.type;
    if (lit.quoted && t !== 'string' && t !== 'bytes' && t !== 'any') {
      throw new FilterSyntaxError(`${d.name} is ${TYPE_NAMES[t]}, cannot compare with string`, lit.column, `"${lit.text}"`, `${TYPE_NAMES[t]}`, 'type');
    }
    let value: FieldValue | undefined;
    switch (t) {
      case 'uint': value = parseUint(lit.text); break;
      case 'bool': value = parseBool(lit.text); break;
      case 'ipv4': { const b = parseIpv4Block(lit.text); value = b && b.prefix === 32 ? b.addr : undefined; break; }
      case 'ipv6': { const b = parseIpv6Block(lit.text); value = b && b.prefix === 128 ? b.addr : undefined; break; }
      case 'mac': value = parseMac(lit.text); break;
      case 'bytes': value = lit.quoted ? stringBytes(lit.text) : parseByteString(lit.text); break;
      case 'string': value = lit.text; break;
      case 'any':
        value = lit.quoted ? lit.text : parseUint(lit.text) ?? parseBool(lit.text) ?? lit.text;
        break;
      case 'protocol': value = undefined; break;
    }
    if (value === undefined) this.badLiteral(d, lit);
    return value;
  }

  private badLiteral(d: FieldDef, lit: Literal): never {
    if (!lit.quoted && looksLikeFieldName(lit.text) && lit.text.includes('.') && !/^\d/.test(lit.text) && !lookupField(lit.text)) {
      const suggestion = suggestField(lit.text);
      const unknown: UnknownField = { name: lit.text, column: lit.column, suggestion };
      throw new FilterSyntaxError(`unknown field '${lit.text}'${suggestion ? ` (did you mean '${suggestion}'?)` : ''}`, lit.column, lit.text, 'a known field name', 'unknown-field', [unknown]);
    }
    const hint = d.type === 'bool' ? ' (use 1 or 0)' : '';
    throw new FilterSyntaxError(`'${lit.text}' is not ${TYPE_NAMES[d.type]}, as ${d.name} needs${hint}`, lit.column, lit.text, TYPE_NAMES[d.type], 'type');
  }

  private membership(ref: FieldRef, elements: readonly SetElement[], negated: boolean): Predicate {
    const d = this.def(ref);
    if (d.type === 'protocol') throw new FilterSyntaxError(`${d.name} is a protocol and has no value to look up in a set`, ref.column, ref.name, 'a field with a value', 'type');
    const tests = elements.map((e) => this.setElement(d, e));
    const inSet: ValueTest = (x) => tests.some((t) => t(x));
    // "not in" follows "!=": every value is outside the set.
    return negated ? this.quantified(d, true, (x) => !inSet(x)) : this.quantified(d, false, inSet);
  }

  private setElement(d: FieldDef, e: SetElement): ValueTest {
    // Set elements are values only: a field inside braces would need the packet, not the value.
    if (e.low.kind === 'field') throw new FilterSyntaxError('a set holds values, not fields', e.low.column, e.low.name, 'a value', 'type');
    const low = e.low;
    if (!e.high) {
      if (d.type === 'ipv4' || d.type === 'ipv6') {
        const block = this.addressBlock(d, low);
        if (block) return block;
      }
      const value = this.literalValue(d, low);
      return (x) => compareValues(x, value) === 0;
    }
    if (e.high.kind === 'field' || (d.type !== 'uint' && d.type !== 'ipv4' && d.type !== 'any' && d.type !== 'string' && d.type !== 'ipv6' && d.type !== 'mac')) {
      throw new FilterSyntaxError(`a range needs ordered values, ${d.name} is ${TYPE_NAMES[d.type]}`, low.column, low.text, 'single values', 'type');
    }
    const lo = this.literalValue(d, low);
    const hi = this.literalValue(d, e.high as Literal);
    return (x) => compareValues(x, lo) >= 0 && compareValues(x, hi) <= 0;
  }

  private contains(ref: FieldRef, operand: Operand, opColumn: number): Predicate {
    const d = this.def(ref);
    if (operand.kind === 'field') throw new FilterSyntaxError(`'contains' needs a value`, operand.column, operand.name, 'a string or byte string', 'type');
    if (d.type === 'string') {
      const needle = operand.text;
      return this.quantified(d, false, (x) => typeof x === 'string' && x.includes(needle));
    }
    if (d.type === 'any') {
      const needle = operand.text;
      return this.quantified(d, false, (x) => String(x).includes(needle));
    }
    if (d.type === 'bytes' || d.type === 'protocol' || d.type === 'mac' || d.type === 'ipv6') {
      const needle = operand.quoted ? stringBytes(operand.text) : parseByteString(operand.text);
      if (!needle) throw new FilterSyntaxError(`'${operand.text}' is not a byte string (write bytes as aa:bb:cc or text as "text")`, operand.column, operand.text, 'a byte string or a quoted string', 'type');
      return this.quantified(d, false, (x) => x instanceof Uint8Array && bytesIndexOf(x, needle) >= 0);
    }
    throw new FilterSyntaxError(`${d.name} is ${TYPE_NAMES[d.type]}; 'contains' needs a string, byte or protocol field`, opColumn, 'contains', "a comparison such as '=='", 'type');
  }

  private matches(ref: FieldRef, pattern: Literal, opColumn: number): Predicate {
    const d = this.def(ref);
    if (d.type !== 'string' && d.type !== 'bytes' && d.type !== 'protocol' && d.type !== 'any') {
      throw new FilterSyntaxError(`${d.name} is ${TYPE_NAMES[d.type]}; 'matches' needs a string, byte or protocol field`, opColumn, 'matches', "a comparison such as '=='", 'type');
    }
    let re: RegExp;
    try {
      // PCRE's leading (?i) is how Wireshark users ask for case-insensitive matching.
      const insensitive = pattern.text.startsWith('(?i)');
      re = new RegExp(insensitive ? pattern.text.slice(4) : pattern.text, insensitive ? 'i' : '');
    } catch (err) {
      throw new FilterSyntaxError(`invalid regular expression: ${(err as Error).message}`, pattern.column, `"${pattern.text}"`, 'a valid regular expression', 'type');
    }
    return this.quantified(d, false, (x) => re.test(x instanceof Uint8Array ? latin1(x) : String(x)));
  }
}

function isNumeric(t: FieldType): boolean {
  return t === 'uint' || t === 'bool';
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

function prefixEqual(a: Uint8Array, net: Uint8Array, prefix: number): boolean {
  const full = prefix >> 3;
  for (let i = 0; i < full; i++) if (a[i] !== net[i]) return false;
  const rest = prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (a[full]! & mask) === (net[full]! & mask);
}
