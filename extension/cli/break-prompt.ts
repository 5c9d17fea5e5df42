/**
 * `--break`: GDB-style stops for `usernet run`. The same BreakpointManager
 * the debug adapter drives (extension/debug/vm-runtime.ts), and the same
 * rule: a stop pauses the whole VM (CPU, clock, host sockets); continue and
 * next release the held packet and resume the VM only if the packet did not
 * stop again further down.
 */
import { BreakpointManager, type StopEvent } from '../pipeline/breakpoints';
import type { Clock } from '../pipeline/clock';
import type { ProbeHub } from '../pipeline/probe';
import type { GuestNetworkAddresses } from '../pipeline/stage-path';
import { runPromptCommand, stopHeadline, type BreakpointRow } from './break-commands';
import { captureEngineOf } from './capture';
import type { BreakPlan } from './pipeline-options';
import type { PromptInput } from './prompt-input';

/** What the prompt needs of the VM (EmbeddedMachine has it). */
export interface PausableVm {
  readonly probes: ProbeHub;
  readonly clock: Clock;
  /** Its config's host= and dns= place the built-in servers in the call stack of a stop. */
  readonly slirp?: { infoUsernet(): string; readonly config?: GuestNetworkAddresses } | undefined;
  pause(): Promise<void>;
  resume(): Promise<void>;
}

export interface BreakpointPromptOptions {
  readonly input: PromptInput;
  /** Where the prompt, stops and answers go (stderr). */
  readonly write: (text: string) => void;
  /** At the end of the input: a terminal quits (GDB's Ctrl-D), a script lets the VM run on. */
  readonly onEnd: 'quit' | 'delete';
}

export const PROMPT = '(usernet) ';

export class BreakpointPrompt {
  readonly manager: BreakpointManager;
  /** Resolves when the user typed quit (or ended a terminal's input). */
  readonly quitRequested: Promise<void>;
  private resolveQuit!: () => void;
  private rows: Array<BreakpointRow & { hits: number }>;
  private pausing: Promise<void> = Promise.resolve();
  private looping = false;
  private quitting = false;
  private lastAction: string | undefined;

  constructor(private readonly vm: PausableVm, breaks: readonly BreakPlan[], private readonly options: BreakpointPromptOptions) {
    this.quitRequested = new Promise((resolve) => (this.resolveQuit = resolve));
    this.manager = new BreakpointManager(vm.probes, { clock: vm.clock, engine: captureEngineOf(vm), network: vm.slirp?.config });
    const statuses = this.manager.set(breaks.map((b) => ({ stage: b.stage, ...(b.condition ? { condition: b.condition } : {}) })));
    const bad = statuses.find((s) => !s.verified);
    // The options were checked before boot; this only guards against the two drifting apart.
    if (bad) throw new Error(`breakpoint ${bad.id}: ${bad.message}`);
    this.rows = statuses.map((s, i) => ({ id: s.id, text: breaks[i]!.text, hits: 0 }));
    this.manager.onLog = (message) => options.write(message.endsWith('\n') ? message : `${message}\n`);
    this.manager.onStop = (event) => this.stopped(event);
  }

  /** True while a packet is held or a command is awaited: stdin is the prompt's. */
  get active(): boolean {
    return this.looping;
  }

  dispose(): void {
    this.manager.dispose();
    this.options.input.close();
  }

  private stopped(event: StopEvent): void {
    if (this.quitting) return;
    if (event.reason === 'breakpoint') {
      const row = this.rows.find((r) => r.id === event.breakpointId);
      if (row) row.hits++;
    }
    this.pausing = this.vm.pause().catch((e: Error) => this.options.write(`usernet: pausing the VM failed: ${e.message}\n`));
    this.options.write(`\n${stopHeadline(event)}\n`);
    if (!this.looping) void this.loop();
  }

  private async loop(): Promise<void> {
    this.looping = true;
    try {
      while (this.manager.stopped && !this.quitting) {
        await this.pausing;
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
    const result = runPromptCommand(line, {
      stop: this.manager.stopped,
      infoUsernet: () => this.vm.slirp?.infoUsernet(),
      breakpoints: () => this.rows,
    });
    if (result.output !== undefined) this.options.write(`${result.output}\n`);
    if (result.error !== undefined) this.options.write(`error: ${result.error}\n`);
    this.lastAction = result.action;
    switch (result.action) {
      case 'continue':
        this.manager.continue();
        return this.resumeUnlessStopped();
      case 'step':
        this.manager.step();
        return this.resumeUnlessStopped();
      case 'delete':
        this.deleteAll();
        this.manager.continue();
        return this.resumeUnlessStopped();
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
    this.manager.continue();
    await this.resumeUnlessStopped();
  }

  private deleteAll(): void {
    this.manager.set([]);
    this.rows = [];
  }

  private quit(): void {
    this.quitting = true;
    this.resolveQuit();
  }

  /** The released packet may have stopped again at once (a later breakpoint, a step): then the VM stays paused. */
  private async resumeUnlessStopped(): Promise<void> {
    if (this.manager.stopped) return;
    await this.vm.resume();
  }
}
