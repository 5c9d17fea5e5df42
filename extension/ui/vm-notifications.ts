/**
 * Tells the user what the VM is doing where they look: a progress
 * notification while it boots (unless the adapter reports DAP progress, which
 * VS Code shows by itself) and an error notification with the reason when it
 * fails. Nothing here is silent about a failure.
 */
import * as vscode from 'vscode';
import type { Log } from './log';
import { DEBUG_TYPE, type Vm, type VmSessions } from './vm-sessions';

export class VmNotifications implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  /** Sessions whose adapter sends DAP progress events of its own. */
  private readonly adapterProgress = new Set<string>();
  private readonly booting = new Map<string, () => void>();

  constructor(private readonly vms: VmSessions, private readonly log: Log) {
    this.disposables.push(
      vms.onDidChange(({ vm, what }) => {
        if (what === 'state') this.stateChanged(vm);
        else if (what === 'end') this.endBoot(vm.id);
      }),
      vscode.debug.registerDebugAdapterTrackerFactory(DEBUG_TYPE, {
        createDebugAdapterTracker: (session) => ({
          onDidSendMessage: (m: { type?: string; event?: string }) => {
            if (m?.type === 'event' && m.event === 'progressStart') {
              this.adapterProgress.add(session.id);
              this.endBoot(session.id);
            }
          },
          onError: (e: Error) => this.log.error(`debug adapter of "${session.name}": ${e.message}`),
          onExit: (code: number | undefined, signal: string | undefined) => {
            this.adapterProgress.delete(session.id);
            if (code) {
              void vscode.window.showErrorMessage(`Usernet: the VM process of "${session.name}" exited with code ${code}${signal ? ` (${signal})` : ''}. See the Usernet output for details.`);
            }
          },
        }),
      }),
    );
  }

  private stateChanged(vm: Vm): void {
    const state = vm.state!;
    if (state.state === 'booting') {
      if (!this.adapterProgress.has(vm.id)) this.startBoot(vm);
      return;
    }
    this.endBoot(vm.id);
    if (state.state === 'failed') {
      const reason = state.message || 'no reason was given';
      this.log.error(`VM "${vm.session.name}" failed: ${reason}`);
      void vscode.window.showErrorMessage(`Usernet: the VM "${vm.session.name}" failed: ${reason}`, 'Open Serial Console', 'Restart VM').then((pick) => {
        if (pick === 'Open Serial Console') void vscode.commands.executeCommand('usernet.openConsole');
        if (pick === 'Restart VM') void vscode.commands.executeCommand('usernet.restart');
      });
    }
  }

  private startBoot(vm: Vm): void {
    if (this.booting.has(vm.id)) return;
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Usernet: booting "${vm.session.name}"`, cancellable: true },
      (_progress, token) => new Promise<void>((resolve) => {
        this.booting.set(vm.id, resolve);
        token.onCancellationRequested(() => {
          this.endBoot(vm.id);
          void vscode.debug.stopDebugging(vm.session);
        });
      }),
    );
  }

  private endBoot(id: string): void {
    const done = this.booting.get(id);
    this.booting.delete(id);
    done?.();
  }

  dispose(): void {
    for (const id of [...this.booting.keys()]) this.endBoot(id);
    for (const d of this.disposables) d.dispose();
  }
}
