/**
 * The "User networking" walkthrough's progress: listens to what the VMs
 * report (state, lease, NAT table, and through a debug adapter tracker the
 * call stack VS Code is shown at a stop) and sets the context key of each step
 * done (walkthrough-progress.ts says which). VS Code ticks the step when its
 * key becomes true and remembers it.
 */
import * as vscode from 'vscode';
import { keysReached, type WalkEvent, type WalkKey } from './walkthrough-progress';
import { DEBUG_TYPE, type VmSessions } from './vm-sessions';

export class WalkthroughProgress implements vscode.Disposable {
  private readonly reached = new Set<WalkKey>();
  private readonly disposables: vscode.Disposable[];

  constructor(vms: VmSessions) {
    this.disposables = [
      vms.onDidChange(({ vm, what }) => {
        if (what === 'state' && vm.state) this.note({ kind: 'vmState', body: vm.state });
        else if (what === 'sessions') this.note({ kind: 'sessions', sessions: vm.sessions });
      }),
      vscode.debug.registerDebugAdapterTrackerFactory(DEBUG_TYPE, {
        createDebugAdapterTracker: () => ({
          onDidSendMessage: (m: unknown) => {
            const frames = stackFrameNames(m);
            if (frames) this.note({ kind: 'stack', frames });
          },
        }),
      }),
    ];
  }

  /** Whether a step's key is set (for the commands that would repeat a done step). */
  has(key: WalkKey): boolean {
    return this.reached.has(key);
  }

  note(event: WalkEvent): void {
    for (const key of keysReached(event)) {
      if (this.reached.has(key)) continue;
      this.reached.add(key);
      void vscode.commands.executeCommand('setContext', key, true);
    }
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

/** The frame names of a successful stackTrace response, else undefined. */
export function stackFrameNames(m: unknown): string[] | undefined {
  const r = m as { type?: unknown; command?: unknown; success?: unknown; body?: { stackFrames?: unknown } } | undefined;
  if (r?.type !== 'response' || r.command !== 'stackTrace' || r.success !== true) return undefined;
  const frames = r.body?.stackFrames;
  if (!Array.isArray(frames)) return undefined;
  return frames.map((f: { name?: unknown }) => (typeof f?.name === 'string' ? f.name : ''));
}
