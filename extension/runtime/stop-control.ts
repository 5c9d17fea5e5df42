/**
 * The runtime's execution control: breakpoints on stages and break on drop,
 * the stop that holds a packet, pause, continue and step, and the held bytes.
 * VmRuntime owns the machine and its life; this part only arms the probes of
 * the machine it is given and says when the VM stood still or runs again.
 */
import type { EventEmitter } from 'node:events';
import { splitBreakpointName } from '../pipeline/breakpoint-name';
import { BreakpointManager, type BreakpointStatus, type StepKind, type StopEvent } from '../pipeline/breakpoints';
import { isDropReason, type DropReason } from '../pipeline/drop-reasons';
import { ProbeHub } from '../pipeline/probe';
import { STAGES, type EngineKind } from '../pipeline/stages';
import { describeHitBriefly } from '../pipeline/trace';
import { journeySoFar, type JourneySoFar } from './journey-so-far';
import type { RuntimeMachine } from './machine-port';
import { MemoryError, packetMemoryReference, parsePacketMemoryReference, readPacketMemory, type PacketMemory } from './packet-memory';
import { RuntimeError, type RuntimeEvents, type RuntimeStop, type StageBreakpoint } from './runtime-types';

/** Why a breakpoint on a stage of QEMU's own (its e1000, its net queue) cannot stop anything. */
export function foreignStageMessage(stage: string): string | undefined {
  const info = STAGES.find((s) => s.name === stage);
  if (!info || info.owner === 'slirp') return undefined;
  return `${stage} is QEMU's, not ours under the QEMU engine: break on net_slirp_receive or a later slirp stage`;
}

/** The stage, condition and log message of a breakpoint whose name may say them GDB-style. */
function stageSpec(spec: StageBreakpoint) {
  const named = splitBreakpointName(spec.name, spec.condition);
  const logMessage = spec.logMessage ?? named.logMessage;
  return { ...named, hitCondition: spec.hitCondition, ...(logMessage !== undefined ? { logMessage } : {}) };
}

/** What the stop control needs of the runtime that holds it. */
export interface StopHost {
  readonly events: EventEmitter<RuntimeEvents>;
  /** The VM being driven, if any. */
  machine(): RuntimeMachine | undefined;
  /** The engine of the launch (or adoption); undefined before the first. */
  engine(): EngineKind | undefined;
  /** The VM was paused for a stop (`held`: the stop still stands): the state says so, the feeds send the exact tables. */
  paused(held: boolean): void;
  /** The VM runs again after a continue or a step. */
  resumed(): void;
}

export class StopControl {
  private manager: BreakpointManager | undefined;
  /** Break on drop: every reason (undefined), one, or off (null). */
  private dropBreak: DropReason | undefined | null = null;
  private breakpoints: { id: number; spec: StageBreakpoint }[] = [];
  private nextBreakpointId = 1;
  private readonly stopHits = new Map<number, number>();
  private stopCount = 0;
  private current: RuntimeStop | undefined;
  private pauseTimer: ReturnType<typeof setTimeout> | undefined;
  /** A step asked while no packet was held: the next packet stops as a step. */
  private stepWanted = false;
  /** The journey at the last packet stop, which a step of the same packet continues. */
  private lastJourney: JourneySoFar | undefined;

  constructor(private readonly host: StopHost, private readonly pauseWaitMs = 1000) {}

  get stop(): RuntimeStop | undefined {
    return this.current;
  }

  /** How many times the breakpoint `id` stopped the VM. */
  stopsOf(id: number): number {
    return this.stopHits.get(id) ?? 0;
  }

  /** A VM came up: its probes take the breakpoints. */
  attach(machine: RuntimeMachine): void {
    this.newManager(machine);
  }

  /** The VM is let go of: nothing is armed or held any more. */
  detach(): void {
    this.clearPauseTimer();
    this.manager?.dispose();
    this.manager = undefined;
    this.current = undefined;
    this.stepWanted = false;
  }

  private newManager(machine: RuntimeMachine): void {
    this.manager?.dispose();
    const manager = new BreakpointManager(machine.probes, { clock: machine.clock });
    manager.onStop = (event) => this.onPacketStop(event);
    manager.onLog = (message) => this.host.events.emit('output', message.endsWith('\n') ? message : `${message}\n`, 'stdout');
    manager.set(this.breakpoints.map(({ id, spec }) => ({ id, ...stageSpec(spec) })));
    manager.breakOnDrop(this.dropBreak);
    this.manager = manager;
  }

  // ---- breakpoints ----------------------------------------------------------

  /** Replaces the stage breakpoints; each comes back verified, or not with the reason. */
  setBreakpoints(specs: readonly StageBreakpoint[]): BreakpointStatus[] {
    const withIds = specs.map((spec) => ({ id: this.nextBreakpointId++, spec }));
    const list = withIds.map(({ id, spec }) => ({ id, ...stageSpec(spec) }));
    // Under the QEMU engine its own stages never fire here: say so instead of arming them.
    const foreign = list.map((b) => b.problem ?? (this.host.engine() === 'qemu' ? foreignStageMessage(b.stage) : undefined));
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
  dropForeignBreakpoints(): void {
    if (this.host.engine() !== 'qemu') return;
    const changed: BreakpointStatus[] = [];
    this.breakpoints = this.breakpoints.filter(({ id, spec }) => {
      const message = foreignStageMessage(splitBreakpointName(spec.name).stage);
      if (message) changed.push({ id, verified: false, message });
      return message === undefined;
    });
    if (changed.length) this.host.events.emit('breakpointsChanged', changed);
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
    const journey = journeySoFar(event, this.host.machine()?.clock.now() ?? 0, event.reason === 'step' ? this.lastJourney : undefined);
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
    this.host.events.emit('stopped', stop);
  }

  private async pauseMachine(): Promise<void> {
    const machine = this.host.machine();
    if (!machine) return;
    try {
      await machine.pause();
    } catch (e) {
      this.host.events.emit('output', `pausing the VM failed: ${(e as Error).message}\n`, 'stderr');
    }
    this.host.paused(this.host.machine() === machine && this.current !== undefined);
  }

  /** Stops at the next packet at any stage; with none within pauseWaitMs, pauses the VM as it is. */
  pause(): void {
    const manager = this.needManager();
    if (this.current) return;
    manager.pauseNext();
    this.clearPauseTimer();
    this.pauseTimer = setTimeout(() => {
      this.pauseTimer = undefined;
      const machine = this.host.machine();
      if (this.current || !machine) return;
      // pauseNext cannot be withdrawn: a fresh manager forgets it (breakpoints are set again).
      this.newManager(machine);
      const stop: RuntimeStop = { id: ++this.stopCount, reason: 'pause', description: 'paused (no packet in flight)' };
      this.current = stop;
      void this.pauseMachine();
      this.host.events.emit('stopped', stop);
    }, this.pauseWaitMs);
  }

  /** Releases the held packet and lets the VM run. */
  async continue(): Promise<void> {
    const machine = this.needMachine();
    this.current = undefined;
    this.stepWanted = false;
    this.manager!.continue();
    // The released packet met another breakpoint further down: the VM stays paused there.
    if (this.current) return;
    await this.resume(machine);
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
      this.host.events.emit('continued');
      await machine.resume();
      return;
    }
    const outcome = manager.step(kind);
    // The packet went on synchronously and stopped at a later stage: the VM never ran.
    if (this.current) return;
    if (outcome.kind === 'left') this.host.events.emit('output', `step ${kind}: the packet went no further than ${outcome.lastStage}; the VM runs on\n`, 'console');
    await this.resume(machine);
  }

  private async resume(machine: RuntimeMachine): Promise<void> {
    this.host.events.emit('continued');
    await machine.resume();
    if (this.host.machine() === machine && !this.current) this.host.resumed();
  }

  private clearPauseTimer(): void {
    if (this.pauseTimer) clearTimeout(this.pauseTimer);
    this.pauseTimer = undefined;
  }

  private needMachine(): RuntimeMachine {
    const machine = this.host.machine();
    if (!machine) throw new RuntimeError('the VM is not running');
    return machine;
  }

  private needManager(): BreakpointManager {
    this.needMachine();
    return this.manager!;
  }

  // ---- the held packet ------------------------------------------------------

  /** The packet held by stop `id` (a memoryReference), or undefined once released. */
  heldBytes(memoryReference: string): Uint8Array | undefined {
    const id = parsePacketMemoryReference(memoryReference);
    const stop = this.current;
    if (id === undefined || !stop || stop.id !== id || !stop.event) return undefined;
    return stop.event.hit.frame;
  }

  readMemory(memoryReference: string, offset: number, count: number): PacketMemory {
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
}
