/**
 * The guest's first serial port as a byte stream both ways, with the few
 * shell-level helpers the CLI and the tests need (wait for a prompt, run a
 * command and get its output and exit status).
 */
import { EventEmitter } from 'node:events';

export interface SerialPort {
  send(bytes: Uint8Array): void;
  onByte(fn: (byte: number) => void): void;
}

export interface ExecResult {
  output: string;
  status: number;
}

/** How much recent output is kept for pattern waits (and for a reopened console). */
const SCROLLBACK_BYTES = 256 * 1024;

export class SerialConsole extends EventEmitter<{ data: [Uint8Array] }> {
  /** Recent output; `dropped` characters before it were trimmed away. Offsets below are absolute. */
  private scrollback = '';
  private dropped = 0;
  private waiters: Array<{ test: (text: string) => boolean; resolve: () => void }> = [];
  private pending: number[] = [];
  private flushScheduled = false;

  constructor(private readonly port: SerialPort) {
    super();
    port.onByte((b) => this.onByte(b));
  }

  /** Everything the guest printed recently (bounded). */
  get recentOutput(): string {
    return this.scrollback;
  }

  write(data: string | Uint8Array): void {
    this.port.send(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  }

  /**
   * Output the guest printed before this console existed (the boot log saved
   * with a snapshot), passed on in order as if it had just been printed, so a
   * restored VM's console shows its boot and its prompt like a booted one's.
   */
  replay(bytes: Uint8Array): void {
    for (const b of bytes) this.onByte(b);
  }

  /** The line the guest is on (after the last newline): its prompt when idle at the shell. */
  get currentLine(): string {
    return this.scrollback.slice(this.scrollback.lastIndexOf('\n') + 1);
  }

  /** Resolves when the output since `from` (an offset into recentOutput) satisfies `test`. */
  waitFor(pattern: RegExp | string, timeoutMs: number, what = String(pattern)): Promise<string> {
    const start = this.end;
    const test = () => {
      const text = this.since(start);
      return typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text);
    };
    return this.waitUntil(test, timeoutMs, what).then(() => this.since(start));
  }

  /** The absolute offset of the end of the output so far. */
  private get end(): number {
    return this.dropped + this.scrollback.length;
  }

  private since(offset: number): string {
    return this.scrollback.slice(Math.max(0, offset - this.dropped));
  }

  /** Like waitFor, but also matches output already received. */
  waitForAny(pattern: RegExp | string, timeoutMs: number, what = String(pattern)): Promise<void> {
    const test = (text: string) => (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text));
    return this.waitUntil(test, timeoutMs, what);
  }

  /**
   * Runs `command` in the guest's shell and returns what it printed and its
   * exit status. Echo is turned off first so the command's own text does not
   * mix with its output; the markers are built by printf so that they never
   * appear in the command text itself. `onOutput` receives the output as it
   * comes, in pieces that add up to the returned output.
   */
  async exec(command: string, timeoutMs: number, onOutput?: (text: string) => void): Promise<ExecResult> {
    this.write('stty -echo\n');
    const tag = Math.random().toString(36).slice(2, 10);
    const begin = `@@${tag}-BEGIN@@`;
    const endRe = new RegExp(`@@${tag}-END (\\d+)@@`);
    const started = this.end;
    const body = (text: string): string | undefined => {
      const b = text.indexOf(begin);
      if (b < 0) return undefined;
      const after = text.slice(b + begin.length).replace(/\r\n/g, '\n');
      return after.startsWith('\n') ? after.slice(1) : after;
    };
    let streamed = 0;
    // Whole lines only, and never the last newline: the one before the end marker is ours.
    const stream = () => {
      const text = body(this.since(started));
      if (text === undefined || endRe.test(text)) return;
      const safe = text.slice(0, Math.max(0, text.lastIndexOf('\n')));
      if (safe.length > streamed) onOutput!(safe.slice(streamed));
      streamed = Math.max(streamed, safe.length);
    };
    if (onOutput) this.on('data', stream);
    try {
      this.write(`printf '@@%s-BEGIN@@\\n' ${tag}; (${command}\n); printf '\\n@@%s-END %d@@\\n' ${tag} $?\n`);
      await this.waitUntil(() => endRe.test(this.since(started)), timeoutMs, `the end of "${command}"`);
    } finally {
      if (onOutput) this.off('data', stream);
    }
    const text = body(this.since(started)) ?? this.since(started).replace(/\r\n/g, '\n');
    const m = endRe.exec(text)!;
    let output = text.slice(0, m.index);
    // The newline printf puts before the end marker is ours, not the command's.
    if (output.endsWith('\n')) output = output.slice(0, -1);
    if (onOutput && output.length > streamed) onOutput(output.slice(streamed));
    return { output, status: Number(m[1]) };
  }

  private waitUntil(test: (text: string) => boolean, timeoutMs: number, what: string): Promise<void> {
    if (test(this.scrollback)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        test,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} on the serial console`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  private onByte(byte: number): void {
    this.pending.push(byte);
    // Bytes arrive one by one from the UART: hand them on in chunks per tick.
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const chunk = Uint8Array.from(this.pending);
    this.pending = [];
    this.scrollback += Buffer.from(chunk).toString('latin1');
    if (this.scrollback.length > SCROLLBACK_BYTES) {
      const cut = this.scrollback.length - SCROLLBACK_BYTES / 2;
      this.scrollback = this.scrollback.slice(cut);
      this.dropped += cut;
    }
    this.emit('data', chunk);
    if (this.waiters.length) {
      const ready = this.waiters.filter((w) => w.test(this.scrollback));
      this.waiters = this.waiters.filter((w) => !ready.includes(w));
      for (const w of ready) w.resolve();
    }
  }
}
