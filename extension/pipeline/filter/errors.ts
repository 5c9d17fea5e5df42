/**
 * Every way a filter can be wrong, with the place it went wrong. `message`
 * always ends in "at column N" so a single line tells the user where to look
 * (an unverified breakpoint's message, a CLI error, a diagnostic).
 */
export type FilterErrorKind = 'syntax' | 'unknown-field' | 'type';

export interface UnknownField {
  readonly name: string;
  readonly column: number;
  readonly suggestion?: string;
}

export class FilterSyntaxError extends Error {
  override readonly name = 'FilterSyntaxError';

  constructor(
    /** What is wrong, without the position. */
    readonly reason: string,
    /** 1-based column of the offending token (the filter's length + 1 at its end). */
    readonly column: number,
    /** The offending token's text, '' at the end of the filter. */
    readonly token: string,
    /** What would have been accepted there, e.g. "a value" or "')'". */
    readonly expected?: string,
    readonly kind: FilterErrorKind = 'syntax',
    readonly unknownFields: readonly UnknownField[] = [],
  ) {
    super(`${reason} at column ${column}`);
  }
}
