/** A mistake in how the CLI was called: printed as one line, exit status 2, no stack trace. */
export class UsageError extends Error {}

/** Exit status for a run that hit --timeout, as timeout(1). */
export const EXIT_TIMEOUT = 124;

/** Exit status for a VM that failed under us: the emulator stopped, QEMU crashed, or the guest never printed a word. */
export const EXIT_VM_FAILED = 3;
