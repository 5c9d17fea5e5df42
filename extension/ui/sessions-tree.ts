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
type GroupName = Protocol | 'forwards';
export type SessionsNode =
  | { kind: 'group'; group: GroupName; count: number }
  | { kind: 'session'; row: SessionRow; vm: Vm }
  | { kind: 'forward'; row: ForwardRow; vm: Vm };
type GroupNode = Extract<SessionsNode, { kind: 'group' }>;
type LeafNode = Extract<SessionsNode, { kind: 'session' | 'forward' }>;

const GROUP_LABELS: Record<GroupName, string> = {
  tcp: 'TCP',
  udp: 'UDP',
  icmp: 'ICMP',
  forwards: 'Port forwards (hostfwd)',
};
const PROTOCOLS: Protocol[] = ['tcp', 'udp', 'icmp'];

/**
 * Refreshes say exactly what changed, and the tree keeps handing VS Code the
 * same element objects: a row whose counters moved is refreshed alone (its
 * handle, `session:VM:ROW`, stays registered), a group only when its rows come
 * or go, the root only when a group appears or goes, the VM or the filter
 * changes. A whole-tree refresh unregisters every handle until the view asks
 * again: a context-menu command clicked meanwhile ran without its row.
 */
export class SessionsTree implements vscode.TreeDataProvider<SessionsNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<SessionsNode | SessionsNode[] | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly batcher: RefreshBatcher;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private filterText = '';
  private filter: SessionPredicate = () => true;
  private view: vscode.TreeView<SessionsNode> | undefined;
  /** What the view shows: the VM, its groups in order, each group's rows and what each row read as. */
  private shownVm: string | undefined;
  private groups: GroupNode[] = [];
  private readonly children = new Map<GroupName, LeafNode[]>();
  private readonly shownText = new WeakMap<LeafNode, string>();

  constructor(private readonly vms: VmSessions, refreshIntervalMs = 250) {
    this.batcher = new RefreshBatcher(() => this.refreshChanged(), refreshIntervalMs);
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
    this.reconcile();
    this.changed.fire(undefined);
  }

  private updateViewMessage(): void {
    if (this.view) this.view.description = this.filterText ? `filter: ${this.filterText}` : undefined;
  }

  private refreshChanged(): void {
    const changes = this.reconcile();
    if (changes === 'root') this.changed.fire(undefined);
    else if (changes.length) this.changed.fire(changes);
  }

  /**
   * Brings the shown model up to the VM's table, reusing each row's node (its
   * row is replaced in place). Returns what the view must redraw: 'root', or
   * the groups whose rows came or went and the rows that read differently.
   */
  private reconcile(): 'root' | SessionsNode[] {
    const vm = this.vms.current;
    const wanted = new Map<GroupName, Array<SessionRow | ForwardRow>>();
    if (vm) {
      const sessions = vm.sessions.filter((r) => this.filter(r)).sort((a, b) => a.id - b.id);
      for (const p of PROTOCOLS) {
        const rows = sessions.filter((r) => r.protocol === p);
        if (rows.length) wanted.set(p, rows);
      }
      if (vm.forwards.length) wanted.set('forwards', vm.forwards);
    }
    const vmChanged = vm?.id !== this.shownVm;
    if (vmChanged) {
      this.shownVm = vm?.id;
      this.groups = [];
      this.children.clear();
    }
    const names = [...wanted.keys()];
    const rootChanged = vmChanged || this.groups.length !== names.length || this.groups.some((g, i) => g.group !== names[i]);
    if (rootChanged) {
      const shown = new Map(this.groups.map((g) => [g.group, g]));
      this.groups = names.map((group) => shown.get(group) ?? { kind: 'group', group, count: 0 });
      for (const name of this.children.keys()) if (!wanted.has(name)) this.children.delete(name);
    }
    const changed: SessionsNode[] = [];
    for (const group of this.groups) {
      const old = new Map((this.children.get(group.group) ?? []).map((n) => [leafKey(n), n]));
      // A group is shown only for a VM's rows: `vm` is set here.
      const nodes = wanted.get(group.group)!.map((row) => leafNode(vm!, group.group, row, old.get(rowKey(row))));
      const membership = nodes.length !== old.size || nodes.some((n) => !old.has(leafKey(n)));
      this.children.set(group.group, nodes);
      group.count = nodes.length;
      if (membership) changed.push(group);
      for (const node of nodes) {
        const text = leafText(node);
        if (this.shownText.get(node) === text) continue;
        this.shownText.set(node, text);
        if (!membership) changed.push(node);
      }
    }
    return rootChanged ? 'root' : changed;
  }

  getChildren(node?: SessionsNode): SessionsNode[] {
    if (!node) {
      // VS Code reads the whole tree again: bring it up to date without a second refresh.
      this.reconcile();
      return this.groups;
    }
    return node.kind === 'group' ? this.children.get(node.group) ?? [] : [];
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

const isSessionRow = (row: SessionRow | ForwardRow): row is SessionRow => 'id' in row;
const rowKey = (row: SessionRow | ForwardRow): string => (isSessionRow(row) ? `s${row.id}` : `f${forwardSpec(row)}`);
const leafKey = (node: LeafNode): string => rowKey(node.row);

/** The node of `row`: the one shown before (with the new row) or a new one. */
function leafNode(vm: Vm, group: GroupName, row: SessionRow | ForwardRow, shown: LeafNode | undefined): LeafNode {
  if (group === 'forwards') {
    if (shown?.kind === 'forward') return Object.assign(shown, { row });
    return { kind: 'forward', row: row as ForwardRow, vm };
  }
  if (shown?.kind === 'session') return Object.assign(shown, { row });
  return { kind: 'session', row: row as SessionRow, vm };
}

/** Everything a row shows (label, description, tooltip): a row is redrawn when this changes. */
function leafText(node: LeafNode): string {
  if (node.kind === 'forward') return forwardSpec(node.row);
  return `${sessionLabel(node.row)}\n${sessionDescription(node.row)}\n${sessionDetails(node.row).join('\n')}`;
}

function sessionTooltip(row: SessionRow): vscode.MarkdownString {
  const md = new vscode.MarkdownString();
  md.appendMarkdown(`**${row.protocol.toUpperCase()} ${sessionLabel(row)}**\n\n`);
  md.appendMarkdown('| | |\n|---|---|\n');
  for (const [k, v] of sessionDetails(row)) md.appendMarkdown(`| ${k} | ${v.replace(/\|/g, '\\|')} |\n`);
  return md;
}
