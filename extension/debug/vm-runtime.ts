/**
 * The VM as the debugger sees it, without DAP: boot, breakpoints on pipeline
 * stages, stops with a held packet, stepping, the NAT table and the serial
 * console. The DAP session (session.ts) only translates between this and the
 * protocol, as vscode-mock-debug's session does over its MockRuntime.
 */
import { formatIpv4 } from '../wire/address';
import { EventEmitter } from 'node:events';
import { splitBreakpointName } from '../pipeline/breakpoint-name';
import { BreakpointManager, type BreakpointStatus, type StepKind, type StopEvent } from '../pipeline/breakpoints';
import { summarize } from '../pipeline/dissect';
import { isDropReason, type DropReason } from '../pipeline/drop-reasons';
import type { Capture } from '../pipeline/capture';
import { attachJourneyCapture } from '../pipeline/journey-capture';
import { ProbeHub } from '../pipeline/probe';
import { STAGES, type EngineKind, type StageName } from '../pipeline/stages';
import { describeHitBriefly } from '../pipeline/trace';
import { compileFilter } from '../pipeline/filter';
import { JourneyRecorder } from '../pipeline/journey-recorder';
import type { FlowSnapshot } from '../pipeline/flow/record';
import { ChangeBatcher, type BatchTimers } from './change-batcher';
import { FlowRecorder } from './flow-recorder';
import { EvaluateError, evaluateExpression, type EvaluateResult } from './evaluate';
import { LaunchCancelled, waitForGuestShell } from './guest-shell';
import type { LaunchPlan } from './launch-args';
import type { MachineFactory, RuntimeMachine } from './machine-port';
import { NetemControl, type ConditionsBody } from './netem-control';
import { MemoryError, packetMemoryReference, parsePacketMemoryReference, readPacketMemory } from './packet-memory';
import type { ForwardRow, SessionRow, TopologyBody, UsernetEvents, UsernetRequests, VmStateBody } from './protocol';
import { topologyBody } from './topology-feed';
import { forwardRow, sessionRow } from './session-rows';
import { journeySoFar, type JourneySoFar } from './journey-so-far';

/** The NAT table's own bound: more closed rows than that between two events are not counted. */
const MAX_CLOSED_PER_EVENT = 4096;

/** A function breakpoint as DAP sends it. */
export interface StageBreakpoint {
  readonly name: string;
  readonly condition?: string;
  readonly hitCondition?: string;
  readonly logMessage?: string;
}

export interface RuntimeStop {
  /** Counts stops; names the held bytes ("packet:<id>") and dies with the stop. */
  readonly id: number;
  readonly reason: 'breakpoint' | 'step' | 'pause' | 'drop';
  readonly breakpointId?: number;
  /** The packet event; undefined when the VM was paused with no packet in flight. */
  readonly event?: StopEvent;
  /** The stages the held packet crossed so far, with their VM time and verdicts. */
  readonly journey?: JourneySoFar;
  readonly description: string;
}

export interface RuntimeEvents {
  stopped: [RuntimeStop];
  continued: [];
  output: [text: string, category: 'console' | 'stdout' | 'stderr' | 'important'];
  progress: [message: string];
  serial: [UsernetEvents['usernet.serial']];
  sessions: [UsernetEvents['usernet.sessions']];
  stages: [UsernetEvents['usernet.stages']];
  vmState: [VmStateBody];
  topology: [TopologyBody];
  /** The VM is gone (stopped, or exited on its own). */
  exited: [];
  /** Breakpoints whose verification changed after they were set (the engine became known at launch). */
  breakpointsChanged: [BreakpointStatus[]];
}

/** Why a breakpoint on a stage of QEMU's own (its e1000, its net queue) cannot stop anything. */
export function foreignStageMessage(stage: string): string | undefined {
  const info = STAGES.find((s) => s.name === stage);
  if (!info || info.owner === 'slirp') return undefined;
  return `${stage} is QEMU's, not ours under the QEMU engine: break on net_slirp_receive or a later slirp stage`;
}

export class RuntimeError extends Error {}

/** The stage, condition and log message of a breakpoint whose name may say them GDB-style. */
function stageSpec(spec: StageBreakpoint) {
  const named = splitBreakpointName(spec.name, spec.condition);
  const logMessage = spec.logMessage ?? named.logMessage;
  return { ...named, hitCondition: spec.hitCondition, ...(logMessage !== undefined ? { logMessage } : {}) };
}

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
  private manager: BreakpointManager | undefined;
  /** Break on drop: every reason (undefined), one, or off (null). */
  private dropBreak: DropReason | undefined | null = null;
  private plan: LaunchPlan | undefined;
  private breakpoints: { id: number; spec: StageBreakpoint }[] = [];
  private nextBreakpointId = 1;
  private readonly stopHits = new Map<number, number>();
  private stopCount = 0;
  private current: RuntimeStop | undefined;
  private state: State = 'stopped';
  private failure: string | undefined;
  private serialSeq = 0;
  private capture: { capture: Capture; file?: string } | undefined;
  private pauseTimer: ReturnType<typeof setTimeout> | undefined;
  private stagePoll: ReturnType<typeof setInterval> | undefined;
  /** A step asked while no packet was held: the next packet stops as a step. */
  private stepWanted = false;
  /** The journey at the last packet stop, which a step of the same packet continues. */
  private lastJourney: JourneySoFar | undefined;
  private readonly sessionsBatch: ChangeBatcher<UsernetEvents['usernet.sessions']>;
  /** Sessions closed since the last sessions event (their last counters would be lost between two snapshots). */
  private closedSessions: SessionRow[] = [];
  private readonly stagesBatch: ChangeBatcher<UsernetEvents['usernet.stages']>;
  private readonly stateBatch: ChangeBatcher<VmStateBody>;
  private readonly topologyBatch: ChangeBatcher<TopologyBody | undefined>;
  /** Network conditions (netem rules) of this session. */
  readonly netem = new NetemControl();
  /** Every NAT session's flow while recording is on (kept after the VM stops, until the next start). */
  private flows: FlowRecorder | undefined;
  private stopFlows: (() => void) | undefined;
  /** The UI wants flows recorded (a view that shows them is visible): off, no probe is armed for them. */
  private flowsWanted = false;
  /** Ends the wait for the shell of a guest that is not ours (the VM stopped or went away). */
  private shellWait: AbortController | undefined;
  /** From launch to the shell of a guest that is not ours (the engine's boot time is only QEMU's start). */
  private shellReadyMs: number | undefined;

  constructor(private readonly options: VmRuntimeOptions) {
    super();
    this.sessionsBatch = new ChangeBatcher(() => this.sessionsSnapshot(), (b) => this.emit('sessions', b), 4, options.timers);
    this.stagesBatch = new ChangeBatcher(() => this.stagesSnapshot(), (b) => this.emit('stages', b), 4, options.timers);
    this.stateBatch = new ChangeBatcher(() => this.vmStateBody(), (b) => this.emit('vmState', b), 4, options.timers);
    this.topologyBatch = new ChangeBatcher(() => topologyBody(this.machine?.slirp, this.plan?.engine ?? 'embedded'), (b) => b && this.emit('topology', b), 4, options.timers);
  }

  get vmState(): State {
    return this.state;
  }

  get stop(): RuntimeStop | undefined {
    return this.current;
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
    return this.stopHits.get(id) ?? 0;
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
    this.netem.configure(plan.netem?.rules ?? [], plan.netem?.seed);
    this.failure = undefined;
    this.shellReadyMs = undefined;
    this.dropForeignBreakpoints();
    this.setState('booting');
    const t0 = performance.now();
    let machine: RuntimeMachine;
    try {
      // Serial output is passed on from the first byte: the console shows the boot as it happens.
      const onSerial = (chunk: Uint8Array) => this.emit('serial', { seq: this.serialSeq++, data: Buffer.from(chunk).toString('base64') });
      machine = await this.options.startMachine({ ...plan.machine, onProgress: (m) => this.emit('progress', m), onSerial });
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
   * another face of this runtime): the same breakpoints, stops, steps and
   * evaluation as a launch. Its life stays its starter's: see release().
   */
  adopt(machine: RuntimeMachine, engine: EngineKind): void {
    if (this.machine) throw new RuntimeError('the VM is already running');
    this.plan = { machine: {}, engine, notes: [] };
    this.machine = machine;
    this.attach(machine);
    this.setState('running');
  }

  /** Lets go of an adopted VM as it is (breakpoints off, the VM neither resumed nor stopped). */
  release(): void {
    if (!this.machine) return;
    this.detach();
    this.disposeBatches();
  }

  private disposeBatches(): void {
    this.sessionsBatch.dispose();
    this.stagesBatch.dispose();
    this.stateBatch.dispose();
    this.topologyBatch.dispose();
  }

  private attach(machine: RuntimeMachine): void {
    this.newManager(machine);
    this.netem.attach(machine.probes, machine.clock, this.plan?.engine, (m) => this.emit('output', `netem: ${m}\n`, 'stderr'));
    machine.onExit((reason) => {
      if (this.machine !== machine) return;
      this.shellWait?.abort(new Error(reason ?? 'the VM went away before the guest showed its shell'));
      // Why the VM is gone, where the user looks: the Debug Console.
      if (reason) this.emit('output', `${reason}\n`, 'important');
      this.detach();
      this.setState('stopped');
      this.emit('exited');
    });
    const nat = machine.slirp?.nat;
    if (nat) {
      this.flows = undefined;
      if (this.flowsWanted) this.startFlows();
      const changed = () => {
        this.sessionsBatch.poke();
        this.stateBatch.poke();
      };
      nat.on('open', changed);
      nat.on('change', changed);
      nat.on('close', (session) => {
        if (this.closedSessions.length < MAX_CLOSED_PER_EVENT) this.closedSessions.push(sessionRow(session, machine.clock.now()));
        changed();
      });
    }
    this.stagePoll = setInterval(() => {
      this.stagesBatch.poke();
      // The lease arrives without a NAT change: look for it at the same pace.
      this.stateBatch.poke();
      this.topologyBatch.poke();
    }, this.options.stagePollMs ?? 250);
    this.stagePoll.unref?.();
    this.sessionsBatch.flush();
  }

  private newManager(machine: RuntimeMachine): void {
    this.manager?.dispose();
    const manager = new BreakpointManager(machine.probes, { clock: machine.clock });
    manager.onStop = (event) => this.onPacketStop(event);
    manager.onLog = (message) => this.emit('output', message.endsWith('\n') ? message : `${message}\n`, 'stdout');
    manager.set(this.breakpoints.map(({ id, spec }) => ({ id, ...stageSpec(spec) })));
    manager.breakOnDrop(this.dropBreak);
    this.manager = manager;
  }

  private detach(): void {
    this.shellWait?.abort(new LaunchCancelled());
    this.clearPauseTimer();
    if (this.stagePoll) clearInterval(this.stagePoll);
    this.stagePoll = undefined;
    this.manager?.dispose();
    this.manager = undefined;
    this.netem.detach();
    this.stopFlows?.();
    this.stopFlows = undefined;
    this.machine = undefined;
    this.current = undefined;
    this.stepWanted = false;
  }

  /** Stops the VM (host sockets closed, capture written out); harmless when it is not running. */
  async terminate(): Promise<void> {
    const machine = this.machine;
    if (!machine) return;
    const capture = this.capture;
    this.capture = undefined;
    this.detach();
    try {
      if (capture) await capture.capture.stop();
    } finally {
      try {
        await machine.stop();
      } finally {
        this.setState('stopped');
        this.disposeBatches();
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
      await this.capture?.capture.stop();
      this.capture = undefined;
      await machine.stop();
    }
    await this.start(plan);
  }

  // ---- breakpoints ----------------------------------------------------------

  /** Replaces the stage breakpoints; each comes back verified, or not with the reason. */
  setBreakpoints(specs: readonly StageBreakpoint[]): BreakpointStatus[] {
    const withIds = specs.map((spec) => ({ id: this.nextBreakpointId++, spec }));
    const list = withIds.map(({ id, spec }) => ({ id, ...stageSpec(spec) }));
    // Under the QEMU engine its own stages never fire here: say so instead of arming them.
    const foreign = list.map((b) => b.problem ?? (this.plan?.engine === 'qemu' ? foreignStageMessage(b.stage) : undefined));
    // Before launch there is no VM: a manager over an unplugged hub checks them the same way.
    const manager = this.manager ?? new BreakpointManager(new ProbeHub());
    const checked = manager.set(list.filter((_, i) => foreign[i] === undefined));
    if (!this.manager) manager.dispose();
    let next = 0;
    const statuses = list.map((b, i): BreakpointStatus => (foreign[i] !== undefined ? { id: b.id, verified: false, message: foreign[i] } : checked[next++]!));
    this.breakpoints = withIds.filter((_, i) => statuses[i]!.verified);
    return statuses;
  }

  /** Breakpoints set before a QEMU launch on stages that are QEMU's: unverified now, with the reason. */
  private dropForeignBreakpoints(): void {
    if (this.plan?.engine !== 'qemu') return;
    const changed: BreakpointStatus[] = [];
    this.breakpoints = this.breakpoints.filter(({ id, spec }) => {
      const message = foreignStageMessage(splitBreakpointName(spec.name).stage);
      if (message) changed.push({ id, verified: false, message });
      return message === undefined;
    });
    if (changed.length) this.emit('breakpointsChanged', changed);
  }

  /** DAP's exception breakpoint "drop": null turns it off; a reason outside the list is refused with a message. */
  setDropBreak(reason: string | undefined | null): string | undefined {
    if (typeof reason === 'string' && !isDropReason(reason)) return `unknown drop reason '${reason}' (docs/drop-reasons.md lists them)`;
    this.dropBreak = reason as DropReason | undefined | null;
    this.manager?.breakOnDrop(this.dropBreak);
    return undefined;
  }

  // ---- execution control ----------------------------------------------------

  private onPacketStop(event: StopEvent): void {
    this.clearPauseTimer();
    const reason = this.stepWanted ? 'step' : event.reason;
    this.stepWanted = false;
    // A step of the packet held before continues its journey; anything else starts one.
    const journey = journeySoFar(event, this.machine?.clock.now() ?? 0, event.reason === 'step' ? this.lastJourney : undefined);
    this.lastJourney = journey;
    const stop: RuntimeStop = {
      id: ++this.stopCount,
      reason,
      ...(event.breakpointId !== undefined ? { breakpointId: event.breakpointId } : {}),
      event,
      journey,
      description: event.dropReason
        ? `dropped at ${event.hit.stage}: ${event.dropReason}${event.hit.frame.length ? ` (${describeHitBriefly(event.hit)})` : ''}`
        : `${event.hit.stage}: ${describeHitBriefly(event.hit)}`,
    };
    if (stop.breakpointId !== undefined) this.stopHits.set(stop.breakpointId, this.stopsOf(stop.breakpointId) + 1);
    this.current = stop;
    void this.pauseMachine();
    this.emit('stopped', stop);
  }

  private async pauseMachine(): Promise<void> {
    const machine = this.machine;
    if (!machine) return;
    try {
      await machine.pause();
    } catch (e) {
      this.emit('output', `pausing the VM failed: ${(e as Error).message}\n`, 'stderr');
    }
    if (this.machine === machine && this.current) this.setState('paused');
    // The UI should show the exact table while the VM stands still.
    this.sessionsBatch.flush();
    this.stagesBatch.flush();
  }

  /** Stops at the next packet at any stage; with none within pauseWaitMs, pauses the VM as it is. */
  pause(): void {
    const manager = this.needManager();
    if (this.current) return;
    manager.pauseNext();
    this.clearPauseTimer();
    this.pauseTimer = setTimeout(() => {
      this.pauseTimer = undefined;
      if (this.current || !this.machine) return;
      // pauseNext cannot be withdrawn: a fresh manager forgets it (breakpoints are set again).
      this.newManager(this.machine);
      const stop: RuntimeStop = { id: ++this.stopCount, reason: 'pause', description: 'paused (no packet in flight)' };
      this.current = stop;
      void this.pauseMachine();
      this.emit('stopped', stop);
    }, this.options.pauseWaitMs ?? 1000);
  }

  /** Releases the held packet and lets the VM run. */
  async continue(): Promise<void> {
    const machine = this.needMachine();
    this.current = undefined;
    this.stepWanted = false;
    this.manager!.continue();
    // The released packet met another breakpoint further down: the VM stays paused there.
    if (this.current) return;
    this.emit('continued');
    await machine.resume();
    if (this.machine === machine && !this.current) this.setState('running');
  }

  /** Moves the held packet on and stops where `kind` says (pipeline/breakpoints.ts StepKind). */
  async step(kind: StepKind = 'in'): Promise<void> {
    const machine = this.needMachine();
    const manager = this.manager!;
    const held = this.current?.event;
    this.current = undefined;
    if (!held) {
      // Nothing held (a pause without packet): run to the next packet anywhere.
      this.stepWanted = true;
      manager.pauseNext();
      this.emit('continued');
      await machine.resume();
      return;
    }
    const outcome = manager.step(kind);
    // The packet went on synchronously and stopped at a later stage: the VM never ran.
    if (this.current) return;
    if (outcome.kind === 'left') this.emit('output', `step ${kind}: the packet went no further than ${outcome.lastStage}; the VM runs on\n`, 'console');
    this.emit('continued');
    await machine.resume();
    if (this.machine === machine && !this.current) this.setState('running');
  }

  private clearPauseTimer(): void {
    if (this.pauseTimer) clearTimeout(this.pauseTimer);
    this.pauseTimer = undefined;
  }

  private needMachine(): RuntimeMachine {
    if (!this.machine) throw new RuntimeError('the VM is not running');
    return this.machine;
  }

  private needManager(): BreakpointManager {
    this.needMachine();
    return this.manager!;
  }

  // ---- inspection -----------------------------------------------------------

  /** The packet held by stop `id` (a memoryReference), or undefined once released. */
  heldBytes(memoryReference: string): Uint8Array | undefined {
    const id = parsePacketMemoryReference(memoryReference);
    const stop = this.current;
    if (id === undefined || !stop || stop.id !== id || !stop.event) return undefined;
    return stop.event.hit.frame;
  }

  readMemory(memoryReference: string, offset: number, count: number) {
    const bytes = this.heldBytes(memoryReference);
    if (!bytes) {
      throw new MemoryError(
        parsePacketMemoryReference(memoryReference) === undefined
          ? `unknown memory reference '${memoryReference}': packet bytes are named 'packet:<n>'`
          : `${memoryReference} is no longer held: the VM ran on since that stop`,
      );
    }
    return readPacketMemory(bytes, offset, count);
  }

  memoryReferenceOf(stop: RuntimeStop): string {
    return packetMemoryReference(stop.id);
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
    return evaluateExpression(expression, { hit: this.current?.event?.hit, infoUsernet: () => this.machine?.slirp?.infoUsernet() }, context);
  }

  summary(stop: RuntimeStop): string {
    return stop.event && stop.event.hit.frame.length ? summarize(stop.event.hit.frame) : stop.description;
  }

  liveSession(id: number) {
    return this.machine?.slirp?.nat.get(id);
  }

  // ---- custom requests ------------------------------------------------------

  /** Serial input is accepted while paused too: the guest reads it when it runs again. */
  serialInput(bytes: Uint8Array): void {
    this.needMachine().writeSerial(bytes);
  }

  closeSession(id: number): void {
    const nat = this.needSlirp().nat;
    const session = nat.get(id);
    if (!session) throw new RuntimeError(`no NAT session ${id}: it may have closed already`);
    session.close();
    this.sessionsBatch.poke();
  }

  async addForward(spec: string): Promise<void> {
    await this.needSlirp().addHostForward(spec);
    this.sessionsBatch.poke();
  }

  removeForward(rule: UsernetRequests['usernet.removeForward']['args']): boolean {
    const removed = this.needSlirp().removeHostForward(rule);
    this.sessionsBatch.poke();
    return removed;
  }

  startCapture(args: { file: string; filter?: string; snaplen?: number }): void {
    const machine = this.needMachine();
    if (this.capture) throw new RuntimeError(`a capture is already running${this.capture.file ? ` (to ${this.capture.file})` : ''}: stop it first`);
    // A .pcapng gets each frame's journey, stage and NAT mapping in its comment, as `usernet run --pcap x.pcapng` does.
    const capture = attachJourneyCapture(machine.probes, { file: args.file, engine: this.plan?.engine === 'qemu' ? 'qemu' : 'embedded', ...(args.filter ? { filter: args.filter } : {}), ...(args.snaplen ? { snaplen: args.snaplen } : {}) }, machine.clock);
    this.capture = { capture, file: args.file };
    this.stateBatch.poke();
  }

  async stopCapture(): Promise<UsernetRequests['usernet.stopCapture']['result']> {
    const c = this.capture;
    if (!c) return { captured: 0 };
    this.capture = undefined;
    this.stateBatch.poke();
    const stats = await c.capture.stop();
    if (stats.error) throw new RuntimeError(`the capture to ${c.file} failed: ${stats.error}`);
    return { captured: stats.captured, ...(c.file ? { file: c.file } : {}) };
  }

  infoUsernet(): string {
    return this.needSlirp().infoUsernet();
  }

  /** Records every NAT session's flow (on) or stops (off; what was recorded stays readable). */
  recordFlows(on: boolean): void {
    this.flowsWanted = on;
    if (on && !this.stopFlows) this.startFlows();
    if (!on) {
      this.stopFlows?.();
      this.stopFlows = undefined;
    }
  }

  private startFlows(): void {
    const machine = this.machine;
    const nat = machine?.slirp?.nat;
    if (!machine || !nat) return;
    const journeys = new JourneyRecorder(machine.probes, { clock: machine.clock, engine: this.plan?.engine ?? 'embedded' });
    const stopJourneys = journeys.start();
    this.flows ??= new FlowRecorder(nat, machine.clock);
    const stopFlows = this.flows.start(journeys, machine.probes);
    this.stopFlows = () => {
      stopFlows();
      stopJourneys();
    };
  }

  /** A NAT session's flow from item `from` on (also after the VM stopped, until it starts again). */
  flow(session: number, from: number): FlowSnapshot {
    const snapshot = this.flows?.snapshot(session, from);
    if (!snapshot) throw new RuntimeError(`no flow recorded for NAT session ${session}${this.flowsWanted ? '' : ' (flows are recorded while the NAT Sessions view or a flow view is visible)'}`);
    return snapshot;
  }

  /** The packets of a flow the filter keeps; a filter that does not parse throws its message. */
  flowFilter(session: number, text: string): number[] {
    const flows = this.flows;
    if (!flows?.snapshot(session, Number.MAX_SAFE_INTEGER)) throw new RuntimeError(`no flow recorded for NAT session ${session}`);
    const filter = compileFilter(text);
    return flows.packetsMatching(session, (frame) => filter.matchesFrame(frame));
  }

  flowDetail(session: number, n: number): { frame?: string; journey?: string } {
    const d = this.flows?.detail(session, n);
    if (!d) throw new RuntimeError(`packet ${n} of NAT session ${session} is no longer kept`);
    return { ...(d.frame ? { frame: Buffer.from(d.frame).toString('base64') } : {}), ...(d.journey ? { journey: d.journey } : {}) };
  }

  private needSlirp() {
    const slirp = this.needMachine().slirp;
    if (!slirp) throw new RuntimeError('this VM has no user-mode network (slirp) backend');
    return slirp;
  }

  // ---- UI feeds -------------------------------------------------------------

  private setState(state: State): void {
    if (this.state === state && state !== 'failed') return;
    this.state = state;
    this.stateBatch.flush();
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
    if (this.capture) body.capture = { file: this.capture.file ?? '', packets: this.capture.capture.stats.captured };
    return body;
  }

  private sessionsSnapshot(): UsernetEvents['usernet.sessions'] {
    // Taken only when a send is due; a non-empty list differs from the last one sent, so it is sent.
    const closed = this.closedSessions;
    this.closedSessions = [];
    const slirp = this.machine?.slirp;
    if (!slirp) return { sessions: [], forwards: [], closed };
    const now = this.machine!.clock.now();
    return { sessions: slirp.nat.list().map((s) => sessionRow(s, now)), forwards: slirp.nat.forwards.map(forwardRow), closed };
  }

  private stagesSnapshot(): UsernetEvents['usernet.stages'] {
    const hits: Record<string, number> = {};
    const probes = this.machine?.probes.probes;
    // Every frame that reached a stage, armed or not: the view's counters count traffic all the time.
    if (probes) for (const s of STAGES) if (probes[s.name].packets) hits[s.name] = probes[s.name].packets;
    // The conditions in force ride along, counters and all: the Stages view and the status bar show them.
    const drops = this.machine?.probes.drops.snapshot() ?? [];
    return { hits, conditions: this.netem.body, ...(drops.length ? { drops } : {}) };
  }

  /** The `usernet.netem` request: list, add, remove or clear; answers with what is in force then. */
  netemRequest(args: UsernetRequests['usernet.netem']['args']): ConditionsBody {
    if (args.action === 'add') this.netem.add(args.rule);
    else if (args.action === 'remove') {
      if (!this.netem.remove(args.id)) throw new RuntimeError(`no network condition #${args.id}`);
    } else if (args.action === 'clear') this.netem.clear();
    this.stagesBatch.poke();
    return this.netem.body;
  }
}
