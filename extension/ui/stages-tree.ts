/**
 * The Pipeline Stages view: every stage a frame meets, in order, with the
 * packets that reached it and the drops there (counted all the time, refreshed
 * at most every half second) and a checkbox that is a function breakpoint on
 * that stage. The checkboxes mirror vscode.debug.breakpoints both ways: tick
 * one here and a breakpoint appears in the Breakpoints view; add or remove one
 * there and the box follows. A stage with network conditions on it lists each
 * rule with its counters (as `usernet sessions` and the Debug Console's `netem`
 * print them). A last node, Drops, lists the frames discarded by stage and
 * reason, with their counts.
 */
import * as vscode from 'vscode';
import { splitBreakpointName } from '../pipeline/breakpoint-name';
import { DROP_REASONS, isDropReason, isRoutineDrop } from '../pipeline/drop-reasons';
import { STAGES, isStageName, type Direction, type StageInfo } from '../pipeline/stages';
import type { ConditionsBody } from '../debug/protocol';
import { RefreshBatcher } from './refresh-batcher';
import type { VmSessions } from './vm-sessions';

type ConditionRule = ConditionsBody['rules'][number];

/** The counters a rule row shows, in netem's order; `matched` always, the rest when they moved. */
const RULE_COUNTERS = ['matched', 'dropped', 'overflowed', 'delayed', 'duplicated', 'reordered', 'corrupted', 'held'] as const;

export const STAGES_VIEW_ID = 'usernet.stages';

export type StagesNode =
  | { kind: 'direction'; direction: Direction }
  | { kind: 'stage'; stage: StageInfo }
  | { kind: 'rule'; rule: ConditionRule }
  | { kind: 'drops' }
  | { kind: 'drop'; stage: string; reason: string; count: number };

const DIRECTION_LABELS: Record<Direction, string> = {
  tx: 'TX: guest → host',
  rx: 'RX: host → guest',
};

/** Function breakpoints on pipeline stages (named `STAGE`, `STAGE if FILTER` or as logpoints), by stage name. */
export function stageBreakpoints(): Map<string, vscode.FunctionBreakpoint[]> {
  const byStage = new Map<string, vscode.FunctionBreakpoint[]>();
  for (const bp of vscode.debug.breakpoints) {
    if (!(bp instanceof vscode.FunctionBreakpoint)) continue;
    const { stage } = splitBreakpointName(bp.functionName);
    if (!isStageName(stage)) continue;
    const list = byStage.get(stage) ?? [];
    list.push(bp);
    byStage.set(stage, list);
  }
  return byStage;
}

export class StagesTree implements vscode.TreeDataProvider<StagesNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<StagesNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private readonly batcher: RefreshBatcher;

  constructor(private readonly vms: VmSessions, refreshIntervalMs = 500) {
    this.batcher = new RefreshBatcher(() => this.changed.fire(undefined), refreshIntervalMs);
    this.disposables.push(
      vms.onDidChange(({ what }) => {
        if (what === 'stages' || what === 'start' || what === 'end' || what === 'current') this.batcher.request();
      }),
      // Breakpoint edits are the user's own: show them at once.
      vscode.debug.onDidChangeBreakpoints(() => this.changed.fire(undefined)),
    );
  }

  createView(): vscode.TreeView<StagesNode> {
    const view = vscode.window.createTreeView(STAGES_VIEW_ID, { treeDataProvider: this, manageCheckboxStateManually: true });
    this.disposables.push(
      view,
      view.onDidChangeCheckboxState((e) => {
        for (const [node, state] of e.items) {
          if (node.kind === 'stage') this.setBreakpoint(node.stage.name, state === vscode.TreeItemCheckboxState.Checked);
        }
      }),
    );
    return view;
  }

  /** Adds (enabled) or removes the function breakpoint on `stage`. */
  setBreakpoint(stage: string, on: boolean): void {
    const existing = stageBreakpoints().get(stage) ?? [];
    if (!on) {
      if (existing.length) vscode.debug.removeBreakpoints(existing);
      return;
    }
    if (existing.some((bp) => bp.enabled)) return;
    // VS Code cannot enable a breakpoint in place: replace a disabled one, keeping its condition.
    const old = existing[0];
    if (existing.length) vscode.debug.removeBreakpoints(existing);
    vscode.debug.addBreakpoints([new vscode.FunctionBreakpoint(old?.functionName ?? stage, true, old?.condition, old?.hitCondition, old?.logMessage)]);
  }

  getChildren(node?: StagesNode): StagesNode[] {
    if (!node) return [{ kind: 'direction', direction: 'tx' }, { kind: 'direction', direction: 'rx' }, { kind: 'drops' }];
    if (node.kind === 'drops') return (this.vms.current?.drops ?? []).map((d) => ({ kind: 'drop', ...d }));
    if (node.kind === 'stage') return this.rulesOn(node.stage.name).map((rule) => ({ kind: 'rule', rule }));
    if (node.kind !== 'direction') return [];
    return STAGES.filter((s) => s.direction === node.direction).map((stage) => ({ kind: 'stage', stage }));
  }

  getTreeItem(node: StagesNode): vscode.TreeItem {
    if (node.kind === 'direction') {
      const item = new vscode.TreeItem(DIRECTION_LABELS[node.direction], vscode.TreeItemCollapsibleState.Expanded);
      item.id = `direction:${node.direction}`;
      item.contextValue = 'usernet.direction';
      return item;
    }
    if (node.kind === 'drops') {
      const drops = this.vms.current?.drops ?? [];
      const total = drops.reduce((n, d) => n + d.count, 0);
      const routine = drops.reduce((n, d) => (isRoutineDrop(d.reason) ? n + d.count : n), 0);
      const item = new vscode.TreeItem('Drops', drops.length ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
      item.id = 'drops';
      item.description = `${total} ${total === 1 ? 'frame' : 'frames'}${routine ? ` (${routine === total ? 'all' : routine} routine)` : ''}`;
      item.tooltip = 'Frames discarded, by stage and reason (docs/drop-reasons.md)';
      item.contextValue = 'usernet.drops';
      return item;
    }
    if (node.kind === 'drop') {
      const item = new vscode.TreeItem(node.reason, vscode.TreeItemCollapsibleState.None);
      item.id = `drop:${node.stage}:${node.reason}`;
      item.description = `${node.stage} · ${node.count}${isRoutineDrop(node.reason) ? ' · routine' : ''}`;
      const info = isDropReason(node.reason) ? DROP_REASONS[node.reason].summary : undefined;
      item.tooltip = `${node.count} dropped at ${node.stage}: ${node.reason}${info ? ` (${info})` : ''}`;
      item.contextValue = 'usernet.drop';
      return item;
    }
    if (node.kind === 'rule') return ruleItem(node.rule);
    const s = node.stage;
    const rules = this.rulesOn(s.name);
    const bps = stageBreakpoints().get(s.name) ?? [];
    const on = bps.some((bp) => bp.enabled);
    const hits = this.vms.current?.hits[s.name];
    const armed = bps.filter((bp) => bp.enabled).map((bp) => splitBreakpointName(bp.functionName, bp.condition));
    const condition = armed.find((b) => b.condition)?.condition;
    const logpoint = armed.find((b) => b.logMessage !== undefined)?.logMessage;
    const item = new vscode.TreeItem(s.name, rules.length ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
    item.id = `stage:${s.name}`;
    item.checkboxState = {
      state: on ? vscode.TreeItemCheckboxState.Checked : vscode.TreeItemCheckboxState.Unchecked,
      tooltip: on ? `Remove the breakpoint on ${s.name}` : `Break on ${s.name}`,
    };
    const dropped = (this.vms.current?.drops ?? []).reduce((n, d) => (d.stage === s.name ? n + d.count : n), 0);
    const parts: string[] = [];
    if (hits !== undefined) parts.push(`${hits} ${hits === 1 ? 'packet' : 'packets'}`);
    if (dropped) parts.push(`${dropped} dropped`);
    if (condition) parts.push(`if ${condition}`);
    if (logpoint !== undefined) parts.push(`log "${logpoint}"`);
    if (rules.length) parts.push(`${rules.length} ${rules.length === 1 ? 'condition' : 'conditions'}`);
    item.description = parts.join(' · ');
    item.tooltip = `${s.name}: ${s.description}\n(${s.owner === 'nic' ? 'e1000' : s.owner}, ${s.layer} layer)`;
    item.contextValue = on ? 'usernet.stage.armed' : 'usernet.stage';
    return item;
  }

  private rulesOn(stage: string): ConditionRule[] {
    return (this.vms.current?.conditions?.rules ?? []).filter((r) => r.stage === stage);
  }

  dispose(): void {
    this.batcher.dispose();
    for (const d of this.disposables) d.dispose();
  }
}

/** A condition under its stage: the rule as written, its counters beside it. */
function ruleItem(rule: ConditionRule): vscode.TreeItem {
  const item = new vscode.TreeItem(rule.text, vscode.TreeItemCollapsibleState.None);
  item.id = `rule:${rule.id}`;
  const c = rule.counters;
  item.description = RULE_COUNTERS.filter((k) => k === 'matched' || (c[k] ?? 0) > 0).map((k) => `${k} ${c[k] ?? 0}`).join(' · ');
  item.tooltip = `#${rule.id} ${rule.text}\n${RULE_COUNTERS.map((k) => `${k} ${c[k] ?? 0}`).join(', ')}`;
  item.iconPath = new vscode.ThemeIcon('pulse');
  item.contextValue = 'usernet.condition';
  return item;
}
