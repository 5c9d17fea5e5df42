import { lookupField, formatFieldValue, FIELD_CATALOG } from '../dissect/catalog';
import type { FieldInfo, FieldType, FieldValue } from '../dissect/field-types';
import { PacketView } from '../dissect/packet-view';
import type { ProbeHit } from '../probe';
import { FilterCompiler, type Predicate } from './compile';
import { FilterSyntaxError } from './errors';
import { parseFilter } from './parser';
import { suggestField } from './suggest';

export { FilterSyntaxError, type FilterErrorKind, type UnknownField } from './errors';
export { FIELD_CATALOG };
export type { FieldInfo };

export interface CompiledFilter {
  /** The filter text as given. */
  readonly text: string;
  /** The fields the filter reads, for display and for deciding what to dissect. */
  readonly fields: string[];
  matches(hit: ProbeHit): boolean;
  /** The same test over bare frame bytes (no stage, descriptor or session fields). */
  matchesFrame(frame: Uint8Array): boolean;
}

/**
 * Parses, type-checks and compiles a Wireshark display filter once. An empty
 * filter matches everything. Throws FilterSyntaxError (with a 1-based column).
 *
 * Fields with several values (ip.addr, tcp.port, udp.port, eth.addr,
 * ipv6.addr, dns.a, ...) follow Wireshark 4: `==`, `<`, `in` ... hold if any
 * value does; `!=` holds if the field is present and every value differs
 * ("all_ne", so `ip.addr != X` is `ip.src != X && ip.dst != X`); `~=` /
 * `any_ne` and `===` / `all_eq` give the other quantifier. A comparison with a
 * field the packet lacks is false, so `!(ip.addr == X)` also matches non-IP
 * packets while `ip.addr != X` does not.
 */
const EMPTY_FRAME = new Uint8Array(0);

export function compileFilter(text: string): CompiledFilter {
  const ast = parseFilter(text);
  const compiler = new FilterCompiler();
  const test: Predicate = ast ? compiler.compile(ast) : () => true;
  const fields = [...compiler.fields];
  // One view per filter, reset at each test: predicates are synchronous and keep nothing of it.
  const view = new PacketView(new Uint8Array(0));
  const run = (frame: Uint8Array, hit: ProbeHit | undefined): boolean => {
    const ok = test(view.reset(frame, hit));
    // Let go of the packet (the next reset forgets the rest).
    view.frame = EMPTY_FRAME;
    view.hit = undefined;
    return ok;
  };
  return {
    text,
    fields,
    matches: (hit) => run(hit.frame, hit),
    matchesFrame: (frame) => run(frame, undefined),
  };
}

export interface FieldEvaluation {
  readonly name: string;
  readonly type: FieldType;
  readonly description: string;
  /** Empty when the packet has no such field. */
  readonly values: FieldValue[];
  /** Display text of each value. */
  readonly display: string[];
}

/** A field's values in one hit, for "print FIELD", hovers and the Debug Console. */
export function evaluateField(name: string, hit: ProbeHit): FieldEvaluation {
  const trimmed = name.trim();
  const def = lookupField(trimmed);
  if (!def) {
    const suggestion = suggestField(trimmed);
    throw new FilterSyntaxError(`unknown field '${trimmed}'${suggestion ? ` (did you mean '${suggestion}'?)` : ''}`, 1, trimmed,
      'a known field name', 'unknown-field', [{ name: trimmed, column: 1, suggestion }]);
  }
  const view = new PacketView(hit.frame, hit);
  const values = def.getAll(view);
  return { name: def.name, type: def.type, description: def.description, values, display: values.map((x) => formatFieldValue(def, x, view)) };
}

/** Field names starting with `prefix`, for completion in the breakpoint editor and CLI. */
export function completeField(prefix: string): FieldInfo[] {
  return FIELD_CATALOG.filter((f) => f.name.startsWith(prefix));
}
