/**
 * The running VMs as the UI sees them: one per debug session of type `usernet`,
 * with the latest state, NAT table and stage counters the adapter reported.
 * Every view reads from here instead of listening to DAP on its own.
 */
import * as vscode from 'vscode';
import type { DropRow, ForwardRow, SessionRow, VmStateBody, ConditionsBody, TopologyBody } from '../debug/protocol';
import { isConditionsBody, isSerialBody, isSessionsBody, isStagesBody, isTopologyBody, isVmStateBody } from './event-guards';
import type { Log } from './log';

export const DEBUG_TYPE = 'usernet';

export class Vm {
  state: VmStateBody | undefined;
  sessions: SessionRow[] = [];
  /** The sessions the last 'sessions' event said closed, with their final counters. */
  closedSessions: SessionRow[] = [];
  forwards: ForwardRow[] = [];
  hits: Record<string, number> = {};
  /** Discards by stage and reason, pipeline order. */
  drops: DropRow[] = [];
  /** The network conditions in force, with their counters (netem-ui.ts). */
  conditions: ConditionsBody | undefined;
  /** Addresses and the guest link's counters, for the topology view. */
  topology: TopologyBody | undefined;
  /** The last serial chunk number, to notice chunks that never arrived. */
  lastSerialSeq = -1;
  readonly startedAt = Date.now();
  constructor(readonly session: vscode.DebugSession) {}

  get id(): string {
    return this.session.id;
  }
}

export type VmChange = 'start' | 'end' | 'state' | 'sessions' | 'stages' | 'topology' | 'current';

export interface SerialOutput {
  vm: Vm;
  bytes: Uint8Array;
  /** Chunks that went missing just before this one (0 normally). */
  missedChunks: number;
}

export class VmSessions implements vscode.Disposable {
  private readonly vms = new Map<string, Vm>();
  private readonly changed = new vscode.EventEmitter<{ vm: Vm; what: VmChange }>();
  private readonly serial = new vscode.EventEmitter<SerialOutput>();
  private readonly disposables: vscode.Disposable[] = [this.changed, this.serial];
  /** The most recently started VM, the current one when the focused debug session is not ours. */
  private latest: Vm | undefined;

  readonly onDidChange = this.changed.event;
  readonly onSerialOutput = this.serial.event;

  constructor(private readonly log: Log) {
    this.disposables.push(
      vscode.debug.onDidStartDebugSession((s) => this.track(s)),
      vscode.debug.onDidTerminateDebugSession((s) => this.end(s)),
      vscode.debug.onDidChangeActiveDebugSession((s) => {
        const vm = s && this.vms.get(s.id);
        if (vm) this.changed.fire({ vm, what: 'current' });
      }),
      vscode.debug.onDidReceiveDebugSessionCustomEvent((e) => this.receive(e)),
    );
    for (const s of activeSessions()) this.track(s);
  }

  /** The VM that commands and views act on: the focused one, else the newest. */
  get current(): Vm | undefined {
    const active = vscode.debug.activeDebugSession;
    return (active && this.vms.get(active.id)) ?? this.latest;
  }

  get all(): Vm[] {
    return [...this.vms.values()];
  }

  get(sessionId: string): Vm | undefined {
    return this.vms.get(sessionId);
  }

  private track(session: vscode.DebugSession): Vm | undefined {
    if (session.type !== DEBUG_TYPE) return undefined;
    let vm = this.vms.get(session.id);
    if (vm) return vm;
    vm = new Vm(session);
    this.vms.set(session.id, vm);
    this.latest = vm;
    this.changed.fire({ vm, what: 'start' });
    return vm;
  }

  private end(session: vscode.DebugSession): void {
    const vm = this.vms.get(session.id);
    if (!vm) return;
    this.vms.delete(session.id);
    if (this.latest === vm) this.latest = [...this.vms.values()].at(-1);
    this.changed.fire({ vm, what: 'end' });
  }

  private receive(e: vscode.DebugSessionCustomEvent): void {
    if (e.session.type !== DEBUG_TYPE || !e.event.startsWith('usernet.')) return;
    const vm = this.track(e.session);
    if (!vm) return;
    const body: unknown = e.body;
    switch (e.event) {
      case 'usernet.serial': {
        if (!isSerialBody(body)) return this.refuse(e.event, body);
        const missedChunks = vm.lastSerialSeq >= 0 && body.seq > vm.lastSerialSeq + 1 ? body.seq - vm.lastSerialSeq - 1 : 0;
        vm.lastSerialSeq = body.seq;
        this.serial.fire({ vm, bytes: Buffer.from(body.data, 'base64'), missedChunks });
        return;
      }
      case 'usernet.sessions':
        if (!isSessionsBody(body)) return this.refuse(e.event, body);
        vm.sessions = body.sessions;
        vm.closedSessions = body.closed ?? [];
        vm.forwards = body.forwards;
        this.changed.fire({ vm, what: 'sessions' });
        return;
      case 'usernet.stages':
        if (!isStagesBody(body)) return this.refuse(e.event, body);
        vm.hits = { ...vm.hits, ...body.hits };
        if (body.drops) vm.drops = body.drops;
        if (isConditionsBody(body.conditions)) vm.conditions = body.conditions;
        this.changed.fire({ vm, what: 'stages' });
        return;
      case 'usernet.topology':
        if (!isTopologyBody(body)) return this.refuse(e.event, body);
        vm.topology = body;
        this.changed.fire({ vm, what: 'topology' });
        return;
      case 'usernet.vmState':
        if (!isVmStateBody(body)) return this.refuse(e.event, body);
        vm.state = body;
        this.changed.fire({ vm, what: 'state' });
        return;
      default:
        this.log.warn(`ignoring unknown event ${e.event}`);
    }
  }

  private refuse(event: string, body: unknown): void {
    let text = '';
    try {
      text = JSON.stringify(body)?.slice(0, 200) ?? '';
    } catch {
      text = String(body);
    }
    this.log.warn(`dropping malformed ${event} event: ${text}`);
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    this.vms.clear();
  }
}

function activeSessions(): vscode.DebugSession[] {
  const s = vscode.debug.activeDebugSession;
  return s ? [s] : [];
}
