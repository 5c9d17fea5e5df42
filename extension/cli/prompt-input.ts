/**
 * Where the breakpoint prompt reads its commands. A terminal gets a line
 * editor for each prompt (and gives the keys back to the serial console
 * after); a pipe is read line by line from start to end, so a script's lines
 * are never lost between two stops.
 */
import { createInterface, type Interface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';

export interface PromptInput {
  /** Shows `prompt` and resolves with the next line; null when the input ended. */
  readLine(prompt: string): Promise<string | null>;
  /** Whether stdin belongs to the prompt right now (the console must not forward it). */
  readonly owns: boolean;
  close(): void;
}

/** A pipe or file: lines queue up as they come; each one read is echoed after the prompt. */
export class LineInput implements PromptInput {
  private readonly lines: string[] = [];
  private waiter: ((line: string | null) => void) | undefined;
  private ended = false;
  private readonly rl: Interface;

  constructor(input: Readable, private readonly out: Writable) {
    this.rl = createInterface({ input, terminal: false, crlfDelay: Infinity });
    this.rl.on('line', (line) => this.push(line));
    this.rl.on('close', () => {
      this.ended = true;
      this.waiter?.(null);
      this.waiter = undefined;
    });
  }

  get owns(): boolean {
    return true;
  }

  readLine(prompt: string): Promise<string | null> {
    this.out.write(prompt);
    const echo = (line: string | null) => {
      this.out.write(line === null ? '\n' : `${line}\n`);
      return line;
    };
    if (this.lines.length) return Promise.resolve(echo(this.lines.shift()!));
    if (this.ended) return Promise.resolve(echo(null));
    return new Promise((resolve) => (this.waiter = (line) => resolve(echo(line))));
  }

  close(): void {
    this.rl.close();
  }

  private push(line: string): void {
    const w = this.waiter;
    this.waiter = undefined;
    if (w) w(line);
    else this.lines.push(line);
  }
}

/** A terminal: a readline for each prompt; raw mode and flow are put back as the console had them. */
export class TerminalInput implements PromptInput {
  private reading = false;

  constructor(private readonly input: NodeJS.ReadStream, private readonly out: Writable) {}

  get owns(): boolean {
    return this.reading;
  }

  readLine(prompt: string): Promise<string | null> {
    const input = this.input;
    const wasRaw = input.isRaw;
    const wasFlowing = input.readableFlowing === true;
    this.reading = true;
    return new Promise((resolve) => {
      const rl = createInterface({ input, output: this.out, terminal: true });
      let answered = false;
      const finish = (line: string | null) => {
        if (answered) return;
        answered = true;
        rl.close();
        this.reading = false;
        if (wasRaw) input.setRawMode(true);
        if (wasFlowing) input.resume();
        resolve(line);
      };
      // Ctrl-C at the prompt cancels the line, as in GDB; Ctrl-D ends the input.
      rl.on('SIGINT', () => {
        this.out.write('^C\n');
        finish('');
      });
      rl.on('close', () => finish(null));
      rl.question(prompt, (line) => finish(line));
    });
  }

  close(): void {}
}
