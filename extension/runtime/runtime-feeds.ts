/**
 * What the runtime tells its faces while the VM runs, batched: the NAT table
 * (with each closed session's last counters), the stage counters with the
 * conditions and drops, the VM state and the topology. A few updates a second
 * at most, only when something changed; exact (flushed) when the VM stops.
 */
import type { EventEmitter } from 'node:events';
import { STAGES, type EngineKind } from '../pipeline/stages';
import { ChangeBatcher, type BatchTimers } from './change-batcher';
import type { ConditionsBody, SessionRow, SessionsBody, StagesBody, TopologyBody, VmStateBody } from './feed-bodies';
import type { RuntimeMachine } from './machine-port';
import type { RuntimeEvents } from './runtime-types';
import { forwardRow, sessionRow } from './session-rows';
import { topologyBody } from './topology-feed';

/** The NAT table's own bound: more closed rows than that between two events are not counted. */
const MAX_CLOSED_PER_EVENT = 4096;

/** Where the feeds read what they send. */
export interface FeedSources {
  readonly events: EventEmitter<RuntimeEvents>;
  machine(): RuntimeMachine | undefined;
  engine(): EngineKind;
  vmState(): VmStateBody;
  conditions(): ConditionsBody;
}

export interface FeedPace {
  /** How often the stage counters are looked at (they are sent only when they changed). */
  readonly stagePollMs?: number;
  readonly timers?: BatchTimers;
}

export class RuntimeFeeds {
  private readonly sessions: ChangeBatcher<SessionsBody>;
  private readonly stages: ChangeBatcher<StagesBody>;
  private readonly state: ChangeBatcher<VmStateBody>;
  private readonly topology: ChangeBatcher<TopologyBody | undefined>;
  /** Sessions closed since the last sessions event (their last counters would be lost between two snapshots). */
  private closedSessions: SessionRow[] = [];
  private stagePoll: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly sources: FeedSources, private readonly pace: FeedPace = {}) {
    const { events } = sources;
    this.sessions = new ChangeBatcher(() => this.sessionsSnapshot(), (b) => events.emit('sessions', b), 4, pace.timers);
    this.stages = new ChangeBatcher(() => this.stagesSnapshot(), (b) => events.emit('stages', b), 4, pace.timers);
    this.state = new ChangeBatcher(() => sources.vmState(), (b) => events.emit('vmState', b), 4, pace.timers);
    this.topology = new ChangeBatcher(() => topologyBody(sources.machine()?.slirp, sources.engine()), (b) => b && events.emit('topology', b), 4, pace.timers);
  }

  /** A VM came up: its NAT table and counters are watched. */
  attach(machine: RuntimeMachine): void {
    const nat = machine.slirp?.nat;
    if (nat) {
      const changed = () => {
        this.sessions.poke();
        this.state.poke();
      };
      nat.on('open', changed);
      nat.on('change', changed);
      nat.on('close', (session) => {
        if (this.closedSessions.length < MAX_CLOSED_PER_EVENT) this.closedSessions.push(sessionRow(session, machine.clock.now()));
        changed();
      });
    }
    this.stagePoll = setInterval(() => {
      this.stages.poke();
      // The lease arrives without a NAT change: look for it at the same pace.
      this.state.poke();
      this.topology.poke();
    }, this.pace.stagePollMs ?? 250);
    this.stagePoll.unref?.();
    this.sessions.flush();
  }

  detach(): void {
    if (this.stagePoll) clearInterval(this.stagePoll);
    this.stagePoll = undefined;
  }

  dispose(): void {
    this.sessions.dispose();
    this.stages.dispose();
    this.state.dispose();
    this.topology.dispose();
  }

  sessionsChanged(): void {
    this.sessions.poke();
  }

  stagesChanged(): void {
    this.stages.poke();
  }

  stateChanged(): void {
    this.state.poke();
  }

  /** The state changed in a way the UI must see at once (booting, running, failed). */
  sendState(): void {
    this.state.flush();
  }

  /** The VM stands still: the UI should show the exact tables. */
  sendTables(): void {
    this.sessions.flush();
    this.stages.flush();
  }

  private sessionsSnapshot(): SessionsBody {
    // Taken only when a send is due; a non-empty list differs from the last one sent, so it is sent.
    const closed = this.closedSessions;
    this.closedSessions = [];
    const machine = this.sources.machine();
    const slirp = machine?.slirp;
    if (!machine || !slirp) return { sessions: [], forwards: [], closed };
    const now = machine.clock.now();
    return { sessions: slirp.nat.list().map((s) => sessionRow(s, now)), forwards: slirp.nat.forwards.map(forwardRow), closed };
  }

  private stagesSnapshot(): StagesBody {
    const hits: Record<string, number> = {};
    const machine = this.sources.machine();
    const probes = machine?.probes.probes;
    // Every frame that reached a stage, armed or not: the view's counters count traffic all the time.
    if (probes) for (const s of STAGES) if (probes[s.name].packets) hits[s.name] = probes[s.name].packets;
    // The conditions in force ride along, counters and all: the Stages view and the status bar show them.
    const drops = machine?.probes.drops.snapshot() ?? [];
    return { hits, conditions: this.sources.conditions(), ...(drops.length ? { drops } : {}) };
  }
}
