/**
 * The console's one hint for a guest without network: when the VM runs, its
 * serial line has been quiet for a few seconds (the prompt is waiting) and the
 * stack has acked no DHCP lease, one dim line says how to get one, then the
 * line the guest was on (its prompt, and whatever was typed after it) is
 * written again so the shell reads as before. Once per VM, never once a lease
 * exists. The same holds under the QEMU engine with a user's image: the lease
 * is our slirp's, whatever the guest.
 *
 * Knows nothing of VS Code: console-panel.ts feeds it and prints what it says.
 */

export const LEASE_HINT = 'no DHCP lease yet: udhcpc -i eth0 gets 10.0.2.15 (gateway 10.0.2.2, DNS 10.0.2.3)';
/** How long the serial line stays quiet before the guest counts as waiting at its prompt. */
export const QUIET_MS = 4000;
/** The current line kept to write again after the hint (a prompt is short; a flood without newlines is not kept whole). */
const MAX_LINE_BYTES = 512;

export interface HintTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export class LeaseHint {
  private running = false;
  private done = false;
  private timer: unknown;
  private line: Uint8Array = new Uint8Array(0);

  constructor(
    /** Prints the hint, then `line` (the bytes after the guest's last newline). */
    private readonly show: (hint: string, line: Uint8Array) => void,
    private readonly quietMs = QUIET_MS,
    private readonly timers: HintTimers = { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) },
  ) {}

  /** The VM's state changed: running or not, with a lease or not. */
  state(running: boolean, leased: boolean): void {
    if (leased) return this.finish();
    this.running = running;
    if (running) this.arm();
    else this.disarm();
  }

  /** The guest wrote to its serial port: not quiet yet. */
  output(bytes: Uint8Array): void {
    const nl = bytes.lastIndexOf(0x0a);
    const tail = nl >= 0 ? bytes.subarray(nl + 1) : concat(this.line, bytes);
    this.line = tail.length > MAX_LINE_BYTES ? tail.slice(tail.length - MAX_LINE_BYTES) : tail.slice();
    if (this.running) this.arm();
  }

  dispose(): void {
    this.finish();
  }

  private arm(): void {
    if (this.done) return;
    this.disarm();
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      this.done = true;
      this.show(LEASE_HINT, this.line);
    }, this.quietMs);
  }

  private disarm(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private finish(): void {
    this.done = true;
    this.disarm();
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
