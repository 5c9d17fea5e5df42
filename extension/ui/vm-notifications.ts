/**
 * Tells the user what the VM is doing where they look: a progress
 * notification while it boots (unless the adapter reports DAP progress, which
 * VS Code shows by itself) and an error notification with the reason when it
 * fails. Nothing here is silent about a failure, and nothing says it twice:
 * a failed start is one notification with what to do next (the adapter's
 * failed launch response asks VS Code not to show its own), and the error
 * notifications of an earlier launch leave the screen when the next one starts.
 */
import * as vscode from 'vscode';
import type { Log } from './log';
import { DEBUG_TYPE, type Vm, type VmSessions } from './vm-sessions';

export const SHOW_LOG = 'Show Log';
export const OPEN_SETTINGS = 'Open Settings';
/** Debug Console output the log keeps, so Show Log tells how a start went (logpoints, 'stdout', stay out). */
const LOGGED_OUTPUT = new Set(['console', 'stderr', 'important']);

export class VmNotifications implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  /** Sessions whose adapter sends DAP progress events of its own. */
  private readonly adapterProgress = new Set<string>();
  private readonly booting = new Map<string, () => void>();
  /** Sessions whose failure has been told: never again, nor their adapter's exit. */
  private readonly failureShown = new Set<string>();
  /** Error notifications still open (VS Code settles each when it is closed). */
  private openErrors = 0;

  constructor(private readonly vms: VmSessions, private readonly log: Log, private readonly showLog: () => void = () => undefined) {
    this.disposables.push(
      vms.onDidChange(({ vm, what }) => {
        if (what === 'start') this.launched();
        else if (what === 'state') this.stateChanged(vm);
        else if (what === 'end') this.endBoot(vm.id);
      }),
      vscode.debug.registerDebugAdapterTrackerFactory(DEBUG_TYPE, {
        createDebugAdapterTracker: (session) => ({
          onDidSendMessage: (m: { type?: string; event?: string; body?: { category?: unknown; output?: unknown } }) => {
            if (m?.type === 'event' && m.event === 'progressStart') {
              this.adapterProgress.add(session.id);
              this.endBoot(session.id);
            } else if (m?.type === 'event' && m.event === 'output' && typeof m.body?.output === 'string' && LOGGED_OUTPUT.has(String(m.body.category ?? 'console'))) {
              this.log.info(`[${session.name}] ${m.body.output.trimEnd()}`);
            }
          },
          onError: (e: Error) => this.log.error(`debug adapter of "${session.name}": ${e.message}`),
          onExit: (code: number | undefined, signal: string | undefined) => {
            this.adapterProgress.delete(session.id);
            if (code && !this.failureShown.has(session.id)) {
              this.failureShown.add(session.id);
              this.log.error(`the VM process of "${session.name}" exited with code ${code}${signal ? ` (${signal})` : ''}`);
              this.showError(`Usernet: the VM process of "${session.name}" exited with code ${code}${signal ? ` (${signal})` : ''}.`);
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
    if (state.state === 'failed' && !this.failureShown.has(vm.id)) {
      this.failureShown.add(vm.id);
      const reason = state.message || 'no reason was given';
      this.log.error(`VM "${vm.session.name}" failed: ${reason}`);
      this.showError(`Usernet: the VM "${vm.session.name}" did not start: ${reason}`);
    }
  }

  /** One error notification with what to do next: read the whole story, or change what was asked for. */
  private showError(text: string): void {
    this.openErrors++;
    void vscode.window.showErrorMessage(text, SHOW_LOG, OPEN_SETTINGS).then((pick) => {
      this.openErrors--;
      if (pick === SHOW_LOG) this.showLog();
      if (pick === OPEN_SETTINGS) void vscode.commands.executeCommand('workbench.action.openSettings', '@ext:usernet.usernet');
    });
  }

  /**
   * A VM starts: the error notifications of earlier ones are stale. The API
   * cannot close a notification, so the toasts are hidden (they stay in the
   * notification center), and only when one of ours is still open.
   */
  private launched(): void {
    if (this.openErrors > 0) void vscode.commands.executeCommand('notifications.hideToasts');
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
