/** The VM in the status bar: state, guest address, NAT session count (click: the serial console); a capture in progress. */
import * as path from 'node:path';
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

/** What a status-bar item shows; undefined hides it. */
export interface StatusShown {
  readonly text: string;
  readonly tooltip: string;
  readonly background?: 'errorBackground' | 'warningBackground';
}

/**
 * A status-bar item that follows the VMs: on each change it accepts, it shows
 * what `shown` says of the current VM, or hides.
 */
export abstract class VmStatusItem implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly subscription: vscode.Disposable;

  protected constructor(protected readonly vms: VmSessions, id: string, name: string, command: string, priority: number) {
    this.item = vscode.window.createStatusBarItem(id, vscode.StatusBarAlignment.Left, priority);
    this.item.name = name;
    this.item.command = command;
    this.subscription = vms.onDidChange(({ what }) => {
      if (this.follows(what)) this.update();
    });
  }

  protected abstract shown(vm: Vm | undefined): StatusShown | undefined;

  /** Which kinds of change can alter what the item shows. */
  protected follows(_what: string): boolean {
    return true;
  }

  update(): void {
    const status = this.shown(this.vms.current);
    if (!status) return this.item.hide();
    this.item.text = status.text;
    this.item.tooltip = status.tooltip;
    this.item.backgroundColor = status.background ? new vscode.ThemeColor(`statusBarItem.${status.background}`) : undefined;
    this.item.show();
  }

  dispose(): void {
    this.subscription.dispose();
    this.item.dispose();
  }
}

export class VmStatusBar extends VmStatusItem {
  constructor(vms: VmSessions) {
    super(vms, 'usernet.status', 'Usernet VM', 'usernet.openConsole', 10);
    this.update();
  }

  protected override follows(what: string): boolean {
    return what !== 'stages' && what !== 'topology';
  }

  override update(): void {
    void vscode.commands.executeCommand('setContext', 'usernet.vmRunning', this.vms.all.length > 0);
    super.update();
  }

  protected shown(vm: Vm | undefined): StatusShown | undefined {
    if (!vm) return undefined;
    return { ...statusText(vm), ...(vm.state?.state === 'failed' ? { background: 'errorBackground' as const } : {}) };
  }
}

/** A capture in progress: its file and packet count; a click stops it (and then offers to open or reveal the file). */
export class CaptureStatusBar extends VmStatusItem {
  constructor(vms: VmSessions) {
    super(vms, 'usernet.capture', 'Usernet Capture', 'usernet.stopCapture', 9);
    this.update();
  }

  protected override follows(what: string): boolean {
    return what === 'state' || what === 'start' || what === 'end' || what === 'current';
  }

  protected shown(vm: Vm | undefined): StatusShown | undefined {
    const capture = vm?.state?.capture;
    if (!capture) return undefined;
    const packets = `${capture.packets} ${capture.packets === 1 ? 'packet' : 'packets'}`;
    return {
      text: `$(record) ${path.basename(capture.file) || 'capture'} · ${packets}`,
      tooltip: `Usernet: capturing to ${capture.file}\n${packets} so far\nClick to stop the capture`,
    };
  }
}
