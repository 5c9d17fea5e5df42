/**
 * `--break`: GDB-style stops for `usernet run`, a second face of the runtime
 * the debug adapter drives (extension/runtime/vm-runtime.ts): its breakpoints,
 * stops, steps and evaluation, typed at a prompt instead of clicked. A stop
 * pauses the whole VM (CPU, clock, host sockets); continue and next release
 * the held packet and resume the VM only if the packet did not stop again
 * further down. The prompt only reads commands and prints answers.
 */
import { ProbeLocations } from '../runtime/probe-locations';
import type { RuntimeStop, VmRuntime } from '../runtime/vm-runtime';
import { runPromptCommand, stopHeadline } from './break-commands';
import type { BreakPlan } from './pipeline-options';
import type { PromptInput } from './prompt-input';

export interface BreakpointPromptOptions {
  readonly input: PromptInput;
  /** Where the prompt, stops and answers go (stderr). */
  readonly write: (text: string) => void;
  /** At the end of the input: a terminal quits (GDB's Ctrl-D), a script lets the VM run on. */
  readonly onEnd: 'quit' | 'delete';
}

export const PROMPT = '(usernet) ';

export class BreakpointPrompt {
  /** Resolves when the user typed quit (or ended a terminal's input). */
  readonly quitRequested: Promise<void>;
  private resolveQuit!: () => void;
  private rows: Array<{ id: number; text: string }>;
  private looping = false;
  private quitting = false;
  private lastAction: string | undefined;
  private readonly listeners: Array<() => void> = [];
  /** Where each stage's probe is, read on the first `bt` (the same table as the debugger's call stack). */
  private locations: ProbeLocations | undefined;

  /** `runtime` drives a VM already adopted (VmRuntime.adopt). */
  constructor(private readonly runtime: VmRuntime, breaks: readonly BreakPlan[], private readonly options: BreakpointPromptOptions) {
    this.quitRequested = new Promise((resolve) => (this.resolveQuit = resolve));
    const statuses = runtime.setBreakpoints(breaks.map((b) => ({ name: b.stage, ...(b.condition ? { condition: b.condition } : {}) })));
    const bad = statuses.find((s) => !s.verified);
    // The options were checked before boot; this only guards against the two drifting apart.
    if (bad) throw new Error(`breakpoint ${bad.id}: ${bad.message}`);
    this.rows = statuses.map((s, i) => ({ id: s.id, text: breaks[i]!.text }));
    const onStopped = (stop: RuntimeStop) => this.stopped(stop);
    // Logpoints and step notes (stdout, console) and the runtime's own troubles (stderr); the VM's end is the run's to tell.
    const onOutput = (text: string, category: string) => {
      if (category !== 'important') options.write(text);
    };
    runtime.on('stopped', onStopped);
    runtime.on('output', onOutput);
    this.listeners.push(() => runtime.off('stopped', onStopped), () => runtime.off('output', onOutput));
  }

  /** True while a packet is held or a command is awaited: stdin is the prompt's. */
  get active(): boolean {
    return this.looping;
  }

  dispose(): void {
    for (const off of this.listeners.splice(0)) off();
    this.runtime.release();
    this.options.input.close();
  }

  private stopped(stop: RuntimeStop): void {
    if (this.quitting || !stop.event) return;
    this.options.write(`\n${stopHeadline(stop.event)}\n`);
    if (!this.looping) void this.loop();
  }

  private async loop(): Promise<void> {
    this.looping = true;
    try {
      while (this.runtime.stop && !this.quitting) {
        const line = await this.options.input.readLine(PROMPT);
        if (line === null) {
          await this.endOfInput();
          break;
        }
        // An empty line repeats `next`, as GDB repeats its last command.
        const command = line.trim() === '' && this.lastAction === 'step' ? 'next' : line;
        await this.execute(command);
      }
    } finally {
      this.looping = false;
    }
  }

  /** Runs one command against the current stop. */
  private async execute(line: string): Promise<void> {
    const runtime = this.runtime;
    const result = runPromptCommand(line, {
      stop: runtime.stop?.event,
      evaluate: (expression) => runtime.evaluate(expression, 'repl').result,
      breakpoints: () => this.rows.map((r) => ({ ...r, hits: runtime.stopsOf(r.id) })),
      locate: (stage) => {
        this.locations ??= ProbeLocations.load(__dirname);
        const site = this.locations.of(stage);
        return site && `${site.file}:${site.line}`;
      },
    });
    if (result.output !== undefined) this.options.write(`${result.output}\n`);
    if (result.error !== undefined) this.options.write(`error: ${result.error}\n`);
    this.lastAction = result.action;
    switch (result.action) {
      case 'continue':
        return this.runtime.continue();
      case 'step':
        return this.runtime.step('in');
      case 'delete':
        this.deleteAll();
        return this.runtime.continue();
      case 'quit':
        this.quit();
        return;
    }
  }

  private async endOfInput(): Promise<void> {
    if (this.options.onEnd === 'quit') {
      this.quit();
      return;
    }
    this.options.write('usernet: no more prompt input: breakpoints deleted, the VM runs on\n');
    this.deleteAll();
    await this.runtime.continue();
  }

  private deleteAll(): void {
    this.runtime.setBreakpoints([]);
    this.rows = [];
  }

  private quit(): void {
    this.quitting = true;
    this.resolveQuit();
  }
}
