import { bytesCompare } from '../dissect/bytes';
import type { FieldValue } from '../dissect/field-types';
import type { CompareOp } from './ast';

/**
 * Orders two field values of the same kind; NaN when they are of different
 * kinds (a descriptor field that turned out to be a string, say), which makes
 * every comparison false.
 */
export function compareValues(a: FieldValue, b: FieldValue): number {
  if (typeof a === 'number' || typeof a === 'boolean') {
    if (typeof b !== 'number' && typeof b !== 'boolean') return NaN;
    return Number(a) - Number(b);
  }
  if (typeof a === 'string') {
    if (typeof b !== 'string') return NaN;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (!(b instanceof Uint8Array)) return NaN;
  return bytesCompare(a, b);
}

export function applyOp(op: CompareOp, c: number): boolean {
  if (Number.isNaN(c)) return false;
  switch (op) {
    case 'eq': return c === 0;
    case 'ne': return c !== 0;
    case 'lt': return c < 0;
    case 'gt': return c > 0;
    case 'le': return c <= 0;
    case 'ge': return c >= 0;
  }
}
