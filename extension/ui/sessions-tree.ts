/**
 * The NAT Sessions view: the current VM's NAT table grouped by protocol, and
 * its hostfwd rules in a group of their own. Fed by the adapter's batched
 * `usernet.sessions` events (through VmSessions), refreshed at most a few
 * times a second and only when a row changed.
 */
import * as vscode from 'vscode';
import type { ForwardRow, SessionRow } from '../debug/protocol';
import { RefreshBatcher } from './refresh-batcher';
import { compileSessionFilter, type SessionPredicate } from './session-filter';
import { forwardLabel, forwardSpec, sessionDescription, sessionDetails, sessionLabel } from './session-format';
import type { Vm, VmSessions } from './vm-sessions';

export const SESSIONS_VIEW_ID = 'usernet.sessions';
export const FILTERED_CONTEXT_KEY = 'usernet.sessionsFiltered';

export type Protocol = SessionRow['protocol'];
export type SessionsNode =
  | { kind: 'group'; group: Protocol | 'forwards'; count: number }
  | { kind: 'session'; row: SessionRow; vm: Vm }
  | { kind: 'forward'; row: ForwardRow; vm: Vm };

const GROUP_LABELS: Record<Protocol | 'forwards', string> = {
  tcp: 'TCP',
  udp: 'UDP',
  icmp: 'ICMP',
  forwards: 'Port forwards (hostfwd)',
};
const PROTOCOLS: Protocol[] = ['tcp', 'udp', 'icmp'];

export class SessionsTree implements vscode.TreeDataProvider<SessionsNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<SessionsNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly batcher: RefreshBatcher;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private filterText = '';
  private filter: SessionPredicate = () => true;
  /** What the view last showed, to skip refreshes that would change nothing. */
  private shownKey = '';
  private view: vscode.TreeView<SessionsNode> | undefined;

  constructor(private readonly vms: VmSessions, refreshIntervalMs = 250) {
    this.batcher = new RefreshBatcher(() => this.refreshIfChanged(), refreshIntervalMs);
    this.disposables.push(vms.onDidChange(({ what }) => {
      if (what !== 'stages') this.batcher.request();
    }));
  }

  /** Creates the view (not done in tests that only exercise the provider). */
  createView(): vscode.TreeView<SessionsNode> {
    this.view = vscode.window.createTreeView(SESSIONS_VIEW_ID, { treeDataProvider: this });
    this.disposables.push(this.view);
    this.updateViewMessage();
    return this.view;
  }

  get filterExpression(): string {
    return this.filterText;
  }

  /** Shows only sessions matching `text` (the filter language); throws on a syntax error. */
  setFilter(text: string): void {
    this.filter = compileSessionFilter(text);
    this.filterText = text.trim();
    void vscode.commands.executeCommand('setContext', FILTERED_CONTEXT_KEY, this.filterText !== '');
    this.updateViewMessage();
    this.shownKey = '';
    this.changed.fire(undefined);
  }

  private updateViewMessage(): void {
    if (this.view) this.view.description = this.filterText ? `filter: ${this.filterText}` : undefined;
  }

  private refreshIfChanged(): void {
    const key = this.snapshotKey();
    if (key === this.shownKey) return;
    this.shownKey = key;
    this.changed.fire(undefined);
  }

  private snapshotKey(): string {
    const vm = this.vms.current;
    if (!vm) return '';
    return JSON.stringify([vm.id, this.visibleSessions(vm), vm.forwards]);
  }

  private visibleSessions(vm: Vm): SessionRow[] {
    return vm.sessions.filter((r) => this.filter(r));
  }

  getChildren(node?: SessionsNode): SessionsNode[] {
    const vm = this.vms.current;
    if (!vm) return [];
    if (!node) {
      this.shownKey = this.snapshotKey();
      const sessions = this.visibleSessions(vm);
      const groups: SessionsNode[] = [];
      for (const p of PROTOCOLS) {
        const count = sessions.filter((r) => r.protocol === p).length;
        if (count) groups.push({ kind: 'group', group: p, count });
      }
      if (vm.forwards.length) groups.push({ kind: 'group', group: 'forwards', count: vm.forwards.length });
      return groups;
    }
    if (node.kind !== 'group') return [];
    if (node.group === 'forwards') return vm.forwards.map((row) => ({ kind: 'forward', row, vm }));
    return this.visibleSessions(vm)
      .filter((r) => r.protocol === node.group)
      .sort((a, b) => a.id - b.id)
      .map((row) => ({ kind: 'session', row, vm }));
  }

  getTreeItem(node: SessionsNode): vscode.TreeItem {
    switch (node.kind) {
      case 'group': {
        const item = new vscode.TreeItem(GROUP_LABELS[node.group], vscode.TreeItemCollapsibleState.Expanded);
        item.id = `group:${node.group}`;
        item.description = String(node.count);
        item.contextValue = node.group === 'forwards' ? 'usernet.forwards' : 'usernet.group';
        return item;
      }
      case 'session': {
        const row = node.row;
        const item = new vscode.TreeItem(sessionLabel(row), vscode.TreeItemCollapsibleState.None);
        item.id = `session:${node.vm.id}:${row.id}`;
        item.description = sessionDescription(row);
        item.tooltip = sessionTooltip(row);
        item.contextValue = `usernet.session.${row.protocol}`;
        item.iconPath = new vscode.ThemeIcon(row.inbound ? 'arrow-left' : 'arrow-right');
        return item;
      }
      case 'forward': {
        const row = node.row;
        const item = new vscode.TreeItem(forwardLabel(row), vscode.TreeItemCollapsibleState.None);
        item.id = `forward:${node.vm.id}:${forwardSpec(row)}`;
        item.description = row.protocol.toUpperCase();
        item.tooltip = `hostfwd=${forwardSpec(row)}`;
        item.contextValue = 'usernet.forward';
        item.iconPath = new vscode.ThemeIcon('plug');
        return item;
      }
    }
  }

  dispose(): void {
    this.batcher.dispose();
    for (const d of this.disposables) d.dispose();
  }
}

function sessionTooltip(row: SessionRow): vscode.MarkdownString {
  const md = new vscode.MarkdownString();
  md.appendMarkdown(`**${row.protocol.toUpperCase()} ${sessionLabel(row)}**\n\n`);
  md.appendMarkdown('| | |\n|---|---|\n');
  for (const [k, v] of sessionDetails(row)) md.appendMarkdown(`| ${k} | ${v.replace(/\|/g, '\\|')} |\n`);
  return md;
}
