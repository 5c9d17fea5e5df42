/**
 * What the `-netdev user` parser says about a spec: each mistake with the
 * character range of the spec it is about, so the language server underlines it
 * and the CLI names the option in its error.
 */
export interface NetdevIssue {
  /** A stable name for the kind of mistake (the diagnostic's code). */
  readonly code: string;
  /** Errors refuse the spec; warnings (an extra comma) leave it usable. */
  readonly severity: 'error' | 'warning';
  /** Says what is wrong and names the suboption. */
  readonly message: string;
  /** The suboption at fault ('' when it has no name). */
  readonly option: string;
  /** Range [start, end) in the spec as written (before `,,` is unescaped). */
  readonly start: number;
  readonly end: number;
}

/** The first error of a spec, thrown where a caller needs a usable configuration or nothing. */
export class NetdevOptionError extends Error {
  constructor(
    message: string,
    /** The suboption at fault ('' when the spec as a whole is wrong). */
    readonly option: string,
    /** Range [start, end) in the spec string. */
    readonly start: number,
    readonly end: number,
  ) {
    super(message);
    this.name = 'NetdevOptionError';
  }
}

/** Throws the first error among the issues, if any. */
export function throwFirstError(issues: readonly NetdevIssue[]): void {
  const error = issues.find((i) => i.severity === 'error');
  if (error) throw new NetdevOptionError(error.message, error.option, error.start, error.end);
}

/** How a parser reports an issue about one suboption. */
export type ReportIssue = (code: string, message: string, start: number, end: number) => void;
