/** The parsed filter, before fields and literals are checked against each other. */
export type CompareOp = 'eq' | 'ne' | 'lt' | 'gt' | 'le' | 'ge';
/** How a comparison treats several values of one field (ip.addr is src and dst). */
export type Quantifier = 'any' | 'all';

export interface FieldRef { readonly kind: 'field'; readonly name: string; readonly column: number }
/** An unquoted literal is kept as text: its meaning depends on the field it meets. */
export interface Literal { readonly kind: 'literal'; readonly text: string; readonly quoted: boolean; readonly column: number }
export type Operand = FieldRef | Literal;

export interface SetElement { readonly low: Operand; readonly high?: Operand }

export type FilterNode =
  | { readonly kind: 'and' | 'or' | 'xor'; readonly left: FilterNode; readonly right: FilterNode }
  | { readonly kind: 'not'; readonly operand: FilterNode }
  | { readonly kind: 'exists'; readonly field: FieldRef }
  | { readonly kind: 'compare'; readonly op: CompareOp; readonly quant: Quantifier; readonly opText: string; readonly opColumn: number; readonly left: FieldRef; readonly right: Operand }
  | { readonly kind: 'in'; readonly negated: boolean; readonly field: FieldRef; readonly elements: readonly SetElement[] }
  | { readonly kind: 'contains'; readonly field: FieldRef; readonly value: Operand; readonly opColumn: number }
  | { readonly kind: 'matches'; readonly field: FieldRef; readonly pattern: Literal; readonly opColumn: number };
