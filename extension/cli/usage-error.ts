/** A mistake in how the CLI was called: printed as one line, exit status 2, no stack trace. */
export class UsageError extends Error {}

/** Exit status for a run that hit --timeout, as timeout(1). */
export const EXIT_TIMEOUT = 124;
