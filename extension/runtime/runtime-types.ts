/**
 * The words the runtime and its faces share: what a launch asks for, a
 * breakpoint as a face sets it, a stop as a face shows it, and the events the
 * runtime emits. Kept apart so that the runtime's parts (stop-control.ts,
 * runtime-feeds.ts, recordings.ts) and its faces name them without importing
 * the runtime itself.
 */
import type { StopEvent, BreakpointStatus } from '../pipeline/breakpoints';
import type { NetemSettings } from '../pipeline/netem';
import type { EngineKind } from '../pipeline/stages';
import type { SerialBody, SessionsBody, StagesBody, TopologyBody, VmStateBody } from './feed-bodies';
import type { JourneySoFar } from './journey-so-far';
import type { EngineStart } from '../machine/launch-plan';

export class RuntimeError extends Error {}

/** What a face asks the runtime to boot: the engine's start (as planRun made it) and what to do once it is up. */
export interface LaunchPlan {
  /** Which engine runs the guest, with what: under 'qemu' only the slirp stages are ours. */
  readonly start: EngineStart;
  /** How long a cold boot (or a guest's shell, under QEMU) may take. */
  readonly bootTimeoutMs?: number;
  readonly capture?: { file: string; filter?: string };
  /** The profile's `# usernet: netem=` conditions and the face's own, together. */
  readonly netem?: NetemSettings;
  /** Things accepted but not acted on, told to the user. */
  readonly notes: string[];
  /** A guest that is not ours under QEMU: the launch is ready when its console shows a shell (machine/shell-wait.ts). */
  readonly shell?: ShellPlan;
}

export interface ShellPlan {
  readonly prompt?: RegExp;
  readonly login?: string;
  readonly timeoutMs: number;
}

/** A breakpoint on a stage, as DAP's function breakpoints (and the CLI's --break) give it. */
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

export type OutputCategory = 'console' | 'stdout' | 'stderr' | 'important';

export interface RuntimeEvents {
  stopped: [RuntimeStop];
  continued: [];
  output: [text: string, category: OutputCategory];
  progress: [message: string];
  serial: [SerialBody];
  sessions: [SessionsBody];
  stages: [StagesBody];
  vmState: [VmStateBody];
  topology: [TopologyBody];
  /** The VM is gone (stopped, or exited on its own). */
  exited: [];
  /** Breakpoints whose verification changed after they were set (the engine became known at launch). */
  breakpointsChanged: [BreakpointStatus[]];
}
