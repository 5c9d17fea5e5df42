/**
 * What the pipeline options add to `usernet run`: the capture, the traces,
 * the network conditions, the breakpoint prompt and the control socket
 * (`usernet sessions`). run.ts makes one before the boot (so bad files fail
 * early), attaches it to the VM once it is up, and closes it on the way out
 * (the capture counts are printed). The conditions and the stops are the
 * runtime's (extension/runtime/), which adopts the VM this run started: the
 * prompt's `print netem` shows what --netem imposed, as the Debug Console does.
 */
import type { Writable } from 'node:stream';
import { adoptedMachine, type StartedVm } from '../runtime/machine-port';
import type { NetemControl } from '../runtime/netem-control';
import { VmRuntime } from '../runtime/vm-runtime';
import { BreakpointPrompt } from './break-prompt';
import { captureEngineOf, checkCaptureFile, startCliCapture, type CliCapture } from './capture';
import { startControlServer, type ControlServer } from './control-socket';
import type { PipelinePlan } from './pipeline-options';
import { LineInput, TerminalInput, type PromptInput } from './prompt-input';
import { startCliJourneys } from './journeys';
import { startCliTraces } from './trace';

/** What the tools need of a machine: probes, clock, slirp, pause and resume (both engines have them). */
export interface PipelineMachine extends StartedVm {
  readonly paused: boolean;
}

export interface RunPipelineOptions {
  /** With --exec, quitting at the prompt leaves the command unfinished: exit 1, not 0. */
  readonly exec: boolean;
  readonly stdin?: NodeJS.ReadStream;
  readonly stderr?: Writable;
}

export class RunPipeline {
  /** Resolves with the exit status when the user quits at the breakpoint prompt. */
  readonly quitRequested: Promise<number>;
  private resolveQuit!: (status: number) => void;
  private capture: CliCapture | undefined;
  private stopTraces: (() => void) | undefined;
  private stopJourneys: (() => void) | undefined;
  private prompt: BreakpointPrompt | undefined;
  private input: PromptInput | undefined;
  private control: ControlServer | undefined;
  private runtime: VmRuntime | undefined;
  private readonly stdin: NodeJS.ReadStream;
  private readonly stderr: Writable;

  constructor(private readonly plan: PipelinePlan, private readonly options: RunPipelineOptions) {
    this.quitRequested = new Promise((resolve) => (this.resolveQuit = resolve));
    this.stdin = options.stdin ?? process.stdin;
    this.stderr = options.stderr ?? process.stderr;
    if (plan.capture) checkCaptureFile(plan.capture.file);
    // A script's lines are read from the start, so none is lost to the console before the first stop.
    if (plan.breaks.length) this.input = this.stdin.isTTY ? new TerminalInput(this.stdin, this.stderr) : new LineInput(this.stdin, this.stderr);
  }

  /** For the serial console: false while stdin belongs to the breakpoint prompt. */
  readonly consoleMayRead = (): boolean => !(this.input?.owns || this.prompt?.active);

  async attach(vm: PipelineMachine): Promise<void> {
    const write = (text: string) => this.stderr.write(text);
    if (this.plan.capture) this.capture = startCliCapture(vm.probes, this.plan.capture, captureEngineOf(vm), vm.clock);
    const runtime = this.adopt(vm, write);
    if (this.plan.traces.length) this.stopTraces = startCliTraces(vm, this.plan.traces, (line) => write(`${line}\n`));
    if (this.plan.journeys) this.stopJourneys = startCliJourneys(vm, this.plan.journeys, captureEngineOf(vm), (line) => write(`${line}\n`));
    if (this.input) {
      // The prompt is the runtime's second face, beside the debug adapter.
      this.prompt = new BreakpointPrompt(runtime, this.plan.breaks, { input: this.input, write, onEnd: this.stdin.isTTY ? 'quit' : 'delete' });
      void this.prompt.quitRequested.then(() => {
        if (this.options.exec) write('usernet: quit at the breakpoint prompt: the command did not finish\n');
        this.resolveQuit(this.options.exec ? 1 : 0);
      });
    }
    try {
      this.control = await startControlServer((request) => answer(vm, request, runtime.netem));
    } catch (e) {
      write(`usernet: no control socket (usernet sessions will not see this VM): ${(e as Error).message}\n`);
    }
  }

  /** The runtime drives the VM this run started, with the run's conditions; their warnings (rules on QEMU's own stages) go to stderr. */
  private adopt(vm: PipelineMachine, write: (text: string) => void): VmRuntime {
    const runtime = new VmRuntime({ startMachine: () => Promise.reject(new Error('usernet run starts its VM itself')) });
    const engine = captureEngineOf(vm);
    const warn = (text: string, category: string) => {
      if (category === 'stderr') write(`usernet: warning: ${text}`);
    };
    runtime.on('output', warn);
    try {
      runtime.adopt(adoptedMachine(vm, engine === 'embedded'), engine, this.plan.netem);
    } finally {
      runtime.off('output', warn);
    }
    const conditions = runtime.netem.summary();
    if (conditions) write(`usernet: ${conditions}\n`);
    this.runtime = runtime;
    return runtime;
  }

  async close(): Promise<void> {
    this.stopTraces?.();
    this.stopTraces = undefined;
    this.stopJourneys?.();
    this.stopJourneys = undefined;
    this.prompt?.dispose();
    this.prompt = undefined;
    this.input?.close();
    await this.control?.close();
    this.control = undefined;
    // Conditions off: what they held goes on (the VM is stopped next).
    this.runtime?.release();
    this.runtime = undefined;
    const capture = this.capture;
    this.capture = undefined;
    if (capture) this.stderr.write(`usernet: ${await capture.stop()}\n`);
  }
}

function answer(vm: PipelineMachine, request: string, conditions: NetemControl): string {
  switch (request) {
    case 'info usernet': {
      if (!vm.slirp) return 'error: this VM has no user-mode network (slirp)\n';
      // The conditions in force, with their counters, follow the NAT table (`usernet sessions`).
      return conditions.summary() ? `${vm.slirp.infoUsernet()}${conditions.listing()}` : vm.slirp.infoUsernet();
    }
    case 'info status':
      return vm.paused ? 'paused\n' : 'running\n';
  }
  return `error: unknown request '${request}': info usernet or info status\n`;
}
