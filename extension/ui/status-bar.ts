/** The VM in the status bar: state, guest address, NAT session count. Click: the serial console. */
import * as vscode from 'vscode';
import type { Vm, VmSessions } from './vm-sessions';

const ICONS: Record<string, string> = {
  booting: '$(loading~spin)',
  running: '$(vm-running)',
  paused: '$(debug-pause)',
  stopped: '$(vm-outline)',
  failed: '$(error)',
};

export function statusText(vm: Vm): { text: string; tooltip: string } {
  const state = vm.state?.state ?? 'booting';
  const sessions = vm.state?.sessionCount ?? vm.sessions.length;
  const parts = [`${ICONS[state] ?? '$(vm)'} ${state}`];
  if (vm.state?.guestAddress) parts.push(vm.state.guestAddress);
  if (state === 'running' || state === 'paused') parts.push(`${sessions} ${sessions === 1 ? 'session' : 'sessions'}`);
  const tooltip = [
    `Usernet VM "${vm.session.name}": ${state}`,
    vm.state?.message,
    vm.state?.bootMs !== undefined ? `booted in ${(vm.state.bootMs / 1000).toFixed(1)} s${vm.state.restored ? ' (restored from a snapshot)' : ''}` : undefined,
    'Click to open the serial console',
  ].filter(Boolean).join('\n');
  return { text: parts.join(' · '), tooltip };
}

export class VmStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('usernet.status', vscode.StatusBarAlignment.Left, 10);
  private readonly subscription: vscode.Disposable;

  constructor(private readonly vms: VmSessions) {
    this.item.name = 'Usernet VM';
    this.item.command = 'usernet.openConsole';
    this.subscription = vms.onDidChange(({ what }) => {
      if (what !== 'stages' && what !== 'topology') this.update();
    });
    this.update();
  }

  update(): void {
    const vm = this.vms.current;
    void vscode.commands.executeCommand('setContext', 'usernet.vmRunning', this.vms.all.length > 0);
    if (!vm) {
      this.item.hide();
      return;
    }
    const { text, tooltip } = statusText(vm);
    this.item.text = text;
    this.item.tooltip = tooltip;
    this.item.backgroundColor = vm.state?.state === 'failed' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    this.item.show();
  }

  dispose(): void {
    this.subscription.dispose();
    this.item.dispose();
  }
}
