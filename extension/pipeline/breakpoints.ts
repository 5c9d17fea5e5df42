import type { Clock } from './clock';
import { isRoutineDrop, type DropReason } from './drop-reasons';
import { compileFilter, FilterSyntaxError, type CompiledFilter } from './filter';
import { parseHitCondition, type HitPredicate } from './hit-condition';
import { compileLogMessage, type LogTemplate } from './logpoint';
import type { HeldPacket, ProbeHit, ProbeHub } from './probe';
import { StageChainTracker, stagePosition, trailStages, type StagePosition, type StageTrail } from './stage-chain';
import { routeTo } from './route';
import { RX_STAGES, STAGE_BY_NAME, STAGES, TX_STAGES, isStageName, type Direction, type Layer, type StageName } from './stages';
import { startTrace, unknownStageMessage } from './trace';

/** A breakpoint as the debug adapter receives it (DAP function/stage breakpoints). */
export interface BreakpointSpec {
  readonly stage: string;
  readonly condition?: string;
  readonly hitCondition?: string;
  readonly logMessage?: string;
  readonly id?: number;
}

export interface BreakpointStatus {
  readonly id: number;
  readonly verified: boolean;
  /** Why it is unverified: "unknown stage ...", the filter error with its column, ... */
  readonly message?: string;
}

export type StopReason = 'breakpoint' | 'step' | 'pause' | 'drop';

export interface StopEvent {
  readonly reason: StopReason;
  /** Set when reason is 'breakpoint'. */
  readonly breakpointId?: number;
  readonly hit: ProbeHit;
  /** Stages this packet crossed in its direction under the engine, oldest first; the stopping stage is last. */
  readonly stageChain: readonly StageName[];
  /** Set when reason is 'drop': why the stage discarded the packet (drop-reasons.ts). */
  readonly dropReason?: DropReason;
}

interface Breakpoint {
  readonly id: number;
  readonly stage: StageName;
  readonly condition?: CompiledFilter;
  readonly hitCondition?: HitPredicate;
  readonly log?: LogTemplate;
  hits: number;
}

/**
 * How a step follows the held packet (the stack is its stage chain):
 * - in: to the next stage it, or a frame made from it, reaches; when it left
 *   the pipeline, to the next packet of its direction (into the next "call")
 * - over: to the next stage it reaches; when it left, the VM runs on
 * - out: out of the stage's layer, to the next stage it reaches in another
 *   layer (tcp_input -> sosend, process_tx_desc -> qemu_send_packet); when
 *   it left first, the VM runs on
 * Over and out never stop at another packet.
 */
export type StepKind = 'in' | 'over' | 'out';

/** What a step did before the VM runs again: stopped the packet further on, waits for it, or saw it leave. */
export type StepOutcome =
  | { readonly kind: 'stopped' }
  | { readonly kind: 'waiting' }
  /** The packet went no further than `lastStage` (consumed, sent, queued or taken): nothing is left to step. */
  | { readonly kind: 'left'; readonly lastStage: StageName };

interface PendingStep {
  readonly kind: StepKind;
  readonly trail: StageTrail;
  readonly direction: Direction;
  /** The layer of the stage the step started at: Step Out goes past its stages. */
  readonly layer: Layer;
  /** The last stage the stepped packet reached during its release. */
  lastStage: StageName;
  /** The packet left the pipeline during its release: stop at the next frame of the direction. */
  packetGone: boolean;
  /** A hit of the stepped packet was seen during the synchronous release. */
  reached: boolean;
}

export interface BreakpointManagerOptions {
  /** Time base of trace lines (the VM clock, frozen while paused). */
  readonly clock?: Clock;
}

/**
 * GDB-style breakpoints on pipeline stages. Only stages that need it are
 * armed: those with breakpoints, and every stage of a direction while a step
 * is pending (every stage while a pause is). A disabled probe keeps costing
 * one branch. A stop's stage chain is the route the pipeline took (routeTo,
 * replayed from the stages every probe notes as it is entered): a breakpoint
 * that never matches costs only its own stage.
 */
export class BreakpointManager {
  onStop: (event: StopEvent) => void = () => {};
  onLog: (message: string, hit: ProbeHit) => void = () => {};

  private breakpoints: Breakpoint[] = [];
  private byStage = new Map<StageName, Breakpoint[]>();
  private nextId = 1;
  private readonly chains = new StageChainTracker();
  private readonly armed = new Map<StageName, () => void>();
  private pauseRequested = false;
  private stepping: PendingStep | undefined;
  /** What the last listener call asked to stop, until the hub confirms the hold. */
  private pendingStop: StopEvent | undefined;
  /** The stop being shown; its trail lets a step follow the held packet. */
  private stop: { event: StopEvent; trail: StageTrail } | undefined;
  private readonly unobserve: () => void;
  private stopBreakingOnDrop: (() => void) | undefined;

  constructor(private readonly hub: ProbeHub, private readonly options: BreakpointManagerOptions = {}) {
    this.unobserve = hub.observeHolds((held) => this.held(held));
  }

  /** The stop being shown, if the VM is stopped on one of ours. */
  get stopped(): StopEvent | undefined {
    return this.stop?.event;
  }

  /** Replaces all breakpoints (DAP setBreakpoints semantics). */
  set(list: ReadonlyArray<BreakpointSpec>): BreakpointStatus[] {
    const result: BreakpointStatus[] = [];
    const next: Breakpoint[] = [];
    for (const spec of list) {
      const id = spec.id ?? this.nextId++;
      if (spec.id !== undefined && spec.id >= this.nextId) this.nextId = spec.id + 1;
      const made = this.make(id, spec);
      if (typeof made === 'string') result.push({ id, verified: false, message: made });
      else {
        next.push(made);
        result.push({ id, verified: true });
      }
    }
    this.breakpoints = next;
    this.byStage = new Map();
    for (const bp of next) {
      const at = this.byStage.get(bp.stage);
      if (at) at.push(bp);
      else this.byStage.set(bp.stage, [bp]);
    }
    this.rearm();
    return result;
  }

  /** Releases the held packet and stops where `kind` says (StepKind) it next is. */
  step(kind: StepKind = 'in'): StepOutcome {
    const current = this.stop;
    if (!current) return { kind: 'waiting' };
    const stage = current.event.hit.stage;
    const step: PendingStep = { kind, trail: current.trail, direction: current.trail.direction, layer: STAGE_BY_NAME.get(stage)!.layer, lastStage: stage, packetGone: false, reached: false };
    this.stepping = step;
    this.stop = undefined;
    this.rearm();
    this.hub.releaseAll();
    if (this.stepping !== step) return { kind: 'stopped' };
    // The release ran the packet synchronously as far as it goes now: it was consumed, sent, queued or taken.
    if (kind === 'in') {
      step.packetGone = true;
      return { kind: 'waiting' };
    }
    // Any later frame would be another packet's: over and out end here.
    this.stepping = undefined;
    this.rearm();
    return { kind: 'left', lastStage: step.lastStage };
  }

  continue(): void {
    this.stepping = undefined;
    this.stop = undefined;
    // Disarm only after the release: the held stage must see its packet pass once more.
    this.hub.releaseAll();
    this.rearm();
  }

  /** Stops at the next packet at any stage. */
  pauseNext(): void {
    this.pauseRequested = true;
    this.rearm();
  }

  /** `trace('tcp_input if tcp.flags.syn == 1', line => ...)`: returns the function that ends it. */
  trace(spec: string, onLine: (line: string, hit: ProbeHit) => void): () => void {
    return startTrace(this.hub, spec, onLine, this.options.clock);
  }

  /**
   * "Break on drop": stops the VM at the stage that discards a packet, for every
   * reason (undefined) or one; null turns it off. Every reason leaves out the
   * routine ones (the guest's DAD and MLD reports: they would stop every boot);
   * naming one stops on it. The packet is gone: continuing lets the VM run on,
   * stepping has nothing to follow.
   */
  breakOnDrop(reason: DropReason | undefined | null): void {
    this.stopBreakingOnDrop?.();
    this.stopBreakingOnDrop = undefined;
    if (reason === null) return;
    this.stopBreakingOnDrop = this.hub.drops.listen((d) => {
      if ((reason === undefined ? isRoutineDrop(d.reason) : d.reason !== reason) || this.stop || this.pendingStop) return;
      const hit: ProbeHit = { stage: d.stage, frame: d.frame ?? new Uint8Array(0) };
      this.pendingStop = { reason: 'drop', hit, stageChain: this.pathTo(d.stage), dropReason: d.reason };
      this.hub.hold(this.hub.probes[d.stage], hit, () => {});
    });
  }

  dispose(): void {
    this.stopBreakingOnDrop?.();
    this.unobserve();
    for (const off of this.armed.values()) off();
    this.armed.clear();
  }

  private make(id: number, spec: BreakpointSpec): Breakpoint | string {
    if (!isStageName(spec.stage)) return unknownStageMessage(spec.stage);
    let condition: CompiledFilter | undefined;
    if (spec.condition && spec.condition.trim() !== '') {
      try {
        condition = compileFilter(spec.condition);
      } catch (err) {
        if (err instanceof FilterSyntaxError) return err.message;
        throw err;
      }
    }
    let hitCondition: HitPredicate | undefined;
    if (spec.hitCondition && spec.hitCondition.trim() !== '') {
      const parsed = parseHitCondition(spec.hitCondition);
      if (typeof parsed === 'string') return parsed;
      hitCondition = parsed;
    }
    let log: LogTemplate | undefined;
    if (spec.logMessage !== undefined && spec.logMessage !== '') {
      const parsed = compileLogMessage(spec.logMessage);
      if (typeof parsed === 'string') return parsed;
      log = parsed;
    }
    return { id, stage: spec.stage, condition, hitCondition, log, hits: 0 };
  }

  /** Arms exactly the stages that something needs, disarms the rest. */
  private rearm(): void {
    const wanted = new Set<StageName>();
    for (const bp of this.breakpoints) wanted.add(bp.stage);
    if (this.stop) wanted.add(this.stop.event.hit.stage);
    if (this.pauseRequested) for (const s of STAGES) wanted.add(s.name);
    if (this.stepping) for (const s of this.stepping.direction === 'tx' ? TX_STAGES : RX_STAGES) wanted.add(s);
    for (const [stage, off] of this.armed) {
      if (!wanted.has(stage)) {
        off();
        this.armed.delete(stage);
      }
    }
    for (const stage of wanted) {
      if (this.armed.has(stage)) continue;
      const position = stagePosition(stage);
      this.armed.set(stage, this.hub.probes[stage].listen((hit) => this.onHit(stage, position, hit)));
    }
  }

  private onHit(stage: StageName, position: StagePosition, hit: ProbeHit): 'hold' | void {
    this.pendingStop = undefined;
    const step = this.stepping;
    // Only a step follows packets: it needs to know the held one when it comes by again.
    if (step && step.direction === position.direction) {
      const trail = this.chains.noteAt(position, hit);
      if (trail === step.trail) {
        step.reached = true;
        step.lastStage = stage;
        if (step.kind === 'out' && STAGE_BY_NAME.get(stage)!.layer === step.layer) return;
        return this.requestStop({ reason: 'step', hit, stageChain: trailStages(trail) });
      }
      if (step.packetGone) return this.requestStop({ reason: 'step', hit, stageChain: this.pathTo(stage) });
    }
    if (this.pauseRequested) return this.requestStop({ reason: 'pause', hit, stageChain: this.pathTo(stage) });
    const bps = this.byStage.get(stage);
    if (!bps) return;
    let stopAt: Breakpoint | undefined;
    for (const bp of bps) {
      if (bp.condition && !bp.condition.matches(hit)) continue;
      bp.hits++;
      if (bp.hitCondition && !bp.hitCondition(bp.hits)) continue;
      if (bp.log) this.onLog(bp.log(hit), hit);
      else stopAt ??= bp;
    }
    if (stopAt) return this.requestStop({ reason: 'breakpoint', breakpointId: stopAt.id, hit, stageChain: this.pathTo(stage) });
  }

  private pathTo(stage: StageName): StageName[] {
    return routeTo(this.hub.trail, stage);
  }

  private requestStop(event: StopEvent): 'hold' {
    this.pendingStop = event;
    return 'hold';
  }

  /** The hub held a packet: if we asked for it, this is a stop. */
  private held(held: HeldPacket): void {
    const event = this.pendingStop;
    if (!event || event.hit !== held.hit) return;
    this.pendingStop = undefined;
    // A step from here follows the held frame (released, the same buffer) and the frames made from it.
    this.stop = { event, trail: this.chains.seed(event.stageChain, event.hit) };
    if (event.reason === 'pause') this.pauseRequested = false;
    if (event.reason === 'step') this.stepping = undefined;
    // A pending step/pause armed every stage; go back to the breakpoints' set.
    this.rearm();
    this.onStop(event);
  }
}
