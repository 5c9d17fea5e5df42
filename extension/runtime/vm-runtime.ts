/**
 * The one VM runtime, without a face: boot or adopt a VM, breakpoints on
 * pipeline stages, stops with a held packet, stepping, network conditions,
 * the NAT table, captures, flows and the serial console. The DAP session
 * (debug/session.ts) and the CLI's `--break` prompt (cli/break-prompt.ts) only
 * translate between this and their users, as vscode-mock-debug's session does
 * over its MockRuntime. This file holds the VM's life and the requests; the
 * stops are stop-control.ts's, the feeds runtime-feeds.ts's, the capture and
 * flows recordings.ts's.
 */
import { EventEmitter } from 'node:events';
import { formatIpv4 } from '../wire/address';
import type { BreakpointStatus, StepKind } from '../pipeline/breakpoints';
import { summarize } from '../pipeline/dissect';
import type { FlowSnapshot } from '../pipeline/flow/record';
import type { NetemSettings } from '../pipeline/netem';
import type { EngineKind, StageName } from '../pipeline/stages';
import type { BatchTimers } from './change-batcher';
import { EvaluateError, evaluateExpression, type EvaluateResult } from './evaluate';
import type { CaptureRequest, CaptureResult, ConditionsBody, ForwardRule, NetemRequestArgs, VmStateBody } from './feed-bodies';
import { LaunchCancelled, waitForGuestShell } from './guest-shell';
import type { MachineFactory, RuntimeMachine } from './machine-port';
import { NetemControl } from './netem-control';
import type { PacketMemory } from './packet-memory';
import { Recordings } from './recordings';
import { RuntimeFeeds } from './runtime-feeds';
import { RuntimeError, type LaunchPlan, type RuntimeEvents, type RuntimeStop, type StageBreakpoint } from './runtime-types';
import { StopControl } from './stop-control';

export { foreignStageMessage } from './stop-control';
export { RuntimeError, type LaunchPlan, type RuntimeEvents, type RuntimeStop, type ShellPlan, type StageBreakpoint } from './runtime-types';

export interface VmRuntimeOptions {
  readonly startMachine: MachineFactory;
  /** How long a pause request waits for a packet before pausing the VM without one. */
  readonly pauseWaitMs?: number;
  /** How often the stage counters are looked at (they are sent only when they changed). */
  readonly stagePollMs?: number;
  readonly timers?: BatchTimers;
}

type State = VmStateBody['state'];

export class VmRuntime extends EventEmitter<RuntimeEvents> {
  private machine: RuntimeMachine | undefined;
  private plan: LaunchPlan | undefined;
  /** The launch's engine, or the adopted VM's. */
  private engine: EngineKind | undefined;
  private state: State = 'stopped';
  private failure: string | undefined;
  private serialSeq = 0;
  /** Ends the wait for the shell of a guest that is not ours (the VM stopped or went away). */
  private shellWait: AbortController | undefined;
  /** From launch to the shell of a guest that is not ours (the engine's boot time is only QEMU's start). */
  private shellReadyMs: number | undefined;
  /** Network conditions (netem rules) of this VM: the launch's or the run's, and those added since. */
  readonly netem = new NetemControl();
  private readonly stops: StopControl;
  private readonly feeds: RuntimeFeeds;
  private readonly recordings: Recordings;

  constructor(private readonly options: VmRuntimeOptions) {
    super();
    const machine = () => this.machine;
    const engine = () => this.engine ?? 'embedded';
    this.stops = new StopControl({
      events: this,
      machine,
      engine: () => this.engine,
      paused: (held) => {
        if (held) this.setState('paused');
        this.feeds.sendTables();
      },
      resumed: () => this.setState('running'),
    }, options.pauseWaitMs);
    this.feeds = new RuntimeFeeds({ events: this, machine, engine, vmState: () => this.vmStateBody(), conditions: () => this.netem.body }, options);
    this.recordings = new Recordings({ machine, engine, captureChanged: () => this.feeds.stateChanged() });
  }

  get vmState(): State {
    return this.state;
  }

  get stop(): RuntimeStop | undefined {
    return this.stops.stop;
  }

  get running(): boolean {
    return this.machine !== undefined;
  }

  /** Whether our e1000 is the NIC (its stages can fire). */
  get ownNic(): boolean {
    return this.machine?.ownNic ?? false;
  }

  /** How many times the breakpoint `id` stopped the VM. */
  stopsOf(id: number): number {
    return this.stops.stopsOf(id);
  }

  /** Frames that reached `stage` so far, armed or not. */
  stagePackets(stage: StageName): number {
    return this.machine?.probes.probes[stage].packets ?? 0;
  }

  // ---- life cycle -----------------------------------------------------------

  /** Boots the VM; rejects with the reason when it does not come up. */
  async start(plan: LaunchPlan): Promise<void> {
    if (this.machine) throw new RuntimeError('the VM is already running');
    this.plan = plan;
    this.engine = plan.start.engine;
    this.netem.configure(plan.netem?.rules ?? [], plan.netem?.seed);
    this.failure = undefined;
    this.shellReadyMs = undefined;
    this.stops.dropForeignBreakpoints();
    this.setState('booting');
    const t0 = performance.now();
    let machine: RuntimeMachine;
    try {
      // Serial output is passed on from the first byte: the console shows the boot as it happens.
      const onSerial = (chunk: Uint8Array) => this.emit('serial', { seq: this.serialSeq++, data: Buffer.from(chunk).toString('base64') });
      const bootTimeout = plan.bootTimeoutMs !== undefined ? { bootTimeoutMs: plan.bootTimeoutMs } : {};
      machine = await this.options.startMachine(plan.start, { onProgress: (m) => this.emit('progress', m), onSerial, ...bootTimeout });
    } catch (e) {
      this.failure = (e as Error).message;
      this.setState('failed');
      throw e;
    }
    this.machine = machine;
    this.attach(machine);
    if (plan.capture) {
      try {
        this.startCapture(plan.capture);
        this.emit('output', `capturing to ${plan.capture.file}\n`, 'console');
      } catch (e) {
        this.emit('output', `pcap: ${(e as Error).message}\n`, 'stderr');
      }
    }
    // The VM runs (breakpoints, console input) but is not ready until a guest that is not ours shows its shell.
    if (plan.shell) await this.waitForShell(machine, plan.shell, t0);
    this.setState('running');
  }

  private async waitForShell(machine: RuntimeMachine, shell: NonNullable<LaunchPlan['shell']>, t0: number): Promise<void> {
    const wait = new AbortController();
    this.shellWait = wait;
    try {
      const loginHint = await waitForGuestShell(machine, shell, wait.signal, (m) => this.emit('progress', m));
      this.shellReadyMs = performance.now() - t0;
      if (loginHint) this.emit('output', `${loginHint}\n`, 'important');
    } catch (e) {
      if (this.machine === machine) {
        this.detach();
        await machine.stop().catch(() => {});
      }
      if (!(e instanceof LaunchCancelled)) {
        this.failure = (e as Error).message;
        this.setState('failed');
      }
      throw e;
    } finally {
      this.shellWait = undefined;
    }
  }

  /**
   * Drives a VM started elsewhere (`usernet run`, whose breakpoint prompt is
   * another face of this runtime): the same breakpoints, stops, steps,
   * evaluation and network conditions (`netem`: the run's, checked already) as
   * a launch. Its life stays its starter's: see release().
   */
  adopt(machine: RuntimeMachine, engine: EngineKind, netem?: NetemSettings): void {
    if (this.machine) throw new RuntimeError('the VM is already running');
    // Not a launch: its starter keeps its life, so there is nothing to restart.
    this.plan = undefined;
    this.engine = engine;
    this.netem.configure(netem?.rules ?? [], netem?.seed);
    this.machine = machine;
    this.attach(machine);
    this.setState('running');
  }

  /** Lets go of an adopted VM as it is (breakpoints and conditions off, the VM neither resumed nor stopped). */
  release(): void {
    if (!this.machine) return;
    this.detach();
    this.feeds.dispose();
  }

  private attach(machine: RuntimeMachine): void {
    this.stops.attach(machine);
    this.netem.attach(machine.probes, machine.clock, this.engine, (m) => this.emit('output', `netem: ${m}\n`, 'stderr'));
    machine.onExit((reason) => {
      if (this.machine !== machine) return;
      this.shellWait?.abort(new Error(reason ?? 'the VM went away before the guest showed its shell'));
      // Why the VM is gone, where the user looks: the Debug Console.
      if (reason) this.emit('output', `${reason}\n`, 'important');
      this.detach();
      this.setState('stopped');
      this.emit('exited');
    });
    this.recordings.attach(machine);
    this.feeds.attach(machine);
  }

  private detach(): void {
    this.shellWait?.abort(new LaunchCancelled());
    this.feeds.detach();
    this.stops.detach();
    this.netem.detach();
    this.recordings.detach();
    this.machine = undefined;
  }

  /** Stops the VM (host sockets closed, capture written out); harmless when it is not running. */
  async terminate(): Promise<void> {
    const machine = this.machine;
    if (!machine) return;
    this.detach();
    try {
      await this.recordings.endCapture();
    } finally {
      try {
        await machine.stop();
      } finally {
        this.setState('stopped');
        this.feeds.dispose();
        this.emit('exited');
      }
    }
  }

  /** Stops the VM and boots it again with the same launch plan and breakpoints. */
  async restart(): Promise<void> {
    const plan = this.plan;
    if (!plan) throw new RuntimeError('nothing to restart: the VM was never launched');
    const machine = this.machine;
    if (machine) {
      this.detach();
      await this.recordings.endCapture();
      await machine.stop();
    }
    await this.start(plan);
  }

  // ---- breakpoints and execution (stop-control.ts) ---------------------------

  /** Replaces the stage breakpoints; each comes back verified, or not with the reason. */
  setBreakpoints(specs: readonly StageBreakpoint[]): BreakpointStatus[] {
    return this.stops.setBreakpoints(specs);
  }

  /** DAP's exception breakpoint "drop": null turns it off; a reason outside the list is refused with a message. */
  setDropBreak(reason: string | undefined | null): string | undefined {
    return this.stops.setDropBreak(reason);
  }

  /** Stops at the next packet at any stage; with none within pauseWaitMs, pauses the VM as it is. */
  pause(): void {
    this.stops.pause();
  }

  /** Releases the held packet and lets the VM run. */
  continue(): Promise<void> {
    return this.stops.continue();
  }

  /** Moves the held packet on and stops where `kind` says (pipeline/breakpoints.ts StepKind). */
  step(kind: StepKind = 'in'): Promise<void> {
    return this.stops.step(kind);
  }

  // ---- inspection -----------------------------------------------------------

  /** The packet held by stop `id` (a memoryReference), or undefined once released. */
  heldBytes(memoryReference: string): Uint8Array | undefined {
    return this.stops.heldBytes(memoryReference);
  }

  readMemory(memoryReference: string, offset: number, count: number): PacketMemory {
    return this.stops.readMemory(memoryReference, offset, count);
  }

  memoryReferenceOf(stop: RuntimeStop): string {
    return this.stops.memoryReferenceOf(stop);
  }

  evaluate(expression: string, context?: string): EvaluateResult {
    const netem = /^\s*netem(?:\s+([\s\S]*))?$/.exec(expression);
    if (netem && context !== 'hover') {
      try {
        return { result: this.netem.command(netem[1] ?? '') };
      } catch (e) {
        throw new EvaluateError((e as Error).message);
      }
    }
    return evaluateExpression(expression, { hit: this.stop?.event?.hit, infoUsernet: () => this.machine?.slirp?.infoUsernet() }, context);
  }

  summary(stop: RuntimeStop): string {
    return stop.event && stop.event.hit.frame.length ? summarize(stop.event.hit.frame) : stop.description;
  }

  liveSession(id: number) {
    return this.machine?.slirp?.nat.get(id);
  }

  // ---- requests -------------------------------------------------------------

  /** Serial input is accepted while paused too: the guest reads it when it runs again. */
  serialInput(bytes: Uint8Array): void {
    this.needMachine().writeSerial(bytes);
  }

  closeSession(id: number): void {
    const nat = this.needSlirp().nat;
    const session = nat.get(id);
    if (!session) throw new RuntimeError(`no NAT session ${id}: it may have closed already`);
    session.close();
    this.feeds.sessionsChanged();
  }

  async addForward(spec: string): Promise<void> {
    await this.needSlirp().addHostForward(spec);
    this.feeds.sessionsChanged();
  }

  removeForward(rule: ForwardRule): boolean {
    const removed = this.needSlirp().removeHostForward(rule);
    this.feeds.sessionsChanged();
    return removed;
  }

  startCapture(args: CaptureRequest): void {
    this.recordings.startCapture(args);
  }

  stopCapture(): Promise<CaptureResult> {
    return this.recordings.stopCapture();
  }

  infoUsernet(): string {
    return this.needSlirp().infoUsernet();
  }

  /** Records every NAT session's flow (on) or stops (off; what was recorded stays readable). */
  recordFlows(on: boolean): void {
    this.recordings.recordFlows(on);
  }

  /** A NAT session's flow from item `from` on (also after the VM stopped, until it starts again). */
  flow(session: number, from: number): FlowSnapshot {
    return this.recordings.flow(session, from);
  }

  /** The packets of a flow the filter keeps; a filter that does not parse throws its message. */
  flowFilter(session: number, text: string): number[] {
    return this.recordings.flowFilter(session, text);
  }

  flowDetail(session: number, n: number): { frame?: string; journey?: string } {
    return this.recordings.flowDetail(session, n);
  }

  /** The `usernet.netem` request: list, add, remove or clear; answers with what is in force then. */
  netemRequest(args: NetemRequestArgs): ConditionsBody {
    if (args.action === 'add') this.netem.add(args.rule);
    else if (args.action === 'remove') {
      if (!this.netem.remove(args.id)) throw new RuntimeError(`no network condition #${args.id}`);
    } else if (args.action === 'clear') this.netem.clear();
    this.feeds.stagesChanged();
    return this.netem.body;
  }

  private needMachine(): RuntimeMachine {
    if (!this.machine) throw new RuntimeError('the VM is not running');
    return this.machine;
  }

  private needSlirp() {
    const slirp = this.needMachine().slirp;
    if (!slirp) throw new RuntimeError('this VM has no user-mode network (slirp) backend');
    return slirp;
  }

  // ---- the VM state ---------------------------------------------------------

  private setState(state: State): void {
    if (this.state === state && state !== 'failed') return;
    this.state = state;
    this.feeds.sendState();
  }

  vmStateBody(): VmStateBody {
    const body: VmStateBody = { state: this.state };
    const m = this.machine;
    if (this.state === 'failed' && this.failure) body.message = this.failure;
    if (m) {
      const lease = m.slirp?.leasedAddress;
      if (lease !== undefined) body.guestAddress = formatIpv4(lease);
      if (m.slirp) body.sessionCount = m.slirp.nat.size;
      body.bootMs = Math.round(this.shellReadyMs ?? m.bootMs);
      body.restored = m.restored;
    }
    // Read at the state's pace (4 a second at most), sent only when the count moved.
    const capture = this.recordings.captureState;
    if (capture) body.capture = capture;
    return body;
  }
}
