/**
 * The boot's progress as Debug Console lines. The progress notification takes
 * every message; the console, which keeps them all, gets a new kind of message
 * at once and a repeat of the same kind (the wait for a guest's shell ticks
 * every second) only every ECHO_EVERY_MS.
 */
const ECHO_EVERY_MS = 10_000;

export class ProgressEcho {
  private lastHead: string | undefined;
  private lastAt = 0;

  constructor(private readonly print: (text: string) => void, private readonly now: () => number = () => performance.now()) {}

  show(message: string): void {
    // "waiting for the guest's shell: 23 s, last line: ..." is of the kind "waiting for the guest's shell".
    const head = message.split(':', 1)[0];
    const now = this.now();
    if (head === this.lastHead && now - this.lastAt < ECHO_EVERY_MS) return;
    this.lastHead = head;
    this.lastAt = now;
    this.print(`${message}\n`);
  }
}
