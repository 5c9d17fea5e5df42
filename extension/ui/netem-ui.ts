/**
 * Network conditions in the editor: "Simulate Conditions…" on a stage (Stages
 * view), a NAT session ("this flow only") or a part of the topology view (the
 * places it offers), a status-bar item while any are
 * in force, and a picker to remove them. The rules travel to the adapter in
 * the `usernet.netem` request; what is in force comes back with the stages feed.
 */
import * as vscode from 'vscode';
import type { ConditionsBody, SessionRow } from '../debug/protocol';
import type { ConditionPlace } from '../runtime/topology-model';
import { NetemRuleError, parseNetemRule } from '../pipeline/netem';
import type { StageInfo } from '../pipeline/stages';
import { askText } from './ask-text';
import { request } from './commands';
import type { Log } from './log';
import { VmStatusItem, type StatusShown } from './status-bar';
import type { Vm, VmSessions } from './vm-sessions';

/** "$(pulse) netem 2" and a tooltip with each rule's counters; undefined when none is in force. */
export function conditionsStatus(conditions: ConditionsBody | undefined): { text: string; tooltip: string } | undefined {
  if (!conditions || conditions.rules.length === 0) return undefined;
  const lines = conditions.rules.map((r) => {
    const c = r.counters;
    return `#${r.id} ${r.text}\n    matched ${c.matched ?? 0}, dropped ${c.dropped ?? 0}, delayed ${c.delayed ?? 0}, duplicated ${c.duplicated ?? 0}, reordered ${c.reordered ?? 0}`;
  });
  return {
    text: `$(pulse) netem ${conditions.rules.length}`,
    tooltip: [`Network conditions in force (seed ${conditions.seed}):`, ...lines, 'Click to remove some'].join('\n'),
  };
}

export class ConditionsStatusBar extends VmStatusItem {
  constructor(vms: VmSessions) {
    super(vms, 'usernet.conditions', 'Usernet network conditions', 'usernet.manageConditions', 9);
    this.update();
  }

  protected shown(vm: Vm | undefined): StatusShown | undefined {
    const status = conditionsStatus(vm?.conditions);
    return status && { ...status, background: 'warningBackground' };
  }
}

/** A filter selecting one NAT session's packets, both ways. */
export function flowFilter(row: SessionRow): string {
  const guest = row.guest.split(':');
  const remote = row.remote.split(':');
  if (row.protocol === 'icmp') return `icmp && ip.addr == ${guest[0]} && ip.addr == ${remote[0]}`;
  const p = row.protocol;
  return `ip.addr == ${guest[0]} && ${p}.port == ${guest[1]} && ${p}.port == ${remote[1]}`;
}

function ruleProblem(rule: string): string | undefined {
  try {
    parseNetemRule(rule);
    return undefined;
  } catch (e) {
    return e instanceof NetemRuleError ? e.message : (e as Error).message;
  }
}

async function askRule(title: string, value: string, actionsFrom: number): Promise<string | undefined> {
  return askText({
    title,
    prompt: 'STAGE [if FILTER]: ACTIONS — loss P% [CORR%], delay T [±J], duplicate P%, reorder P% [gap N], corrupt P%, rate 1mbit, mtu N, limit N',
    value,
    valueSelection: [actionsFrom, value.length],
    problem: ruleProblem,
  });
}

type Target =
  | { kind: 'stage'; stage: StageInfo }
  | { kind: 'session'; row: SessionRow; vm: Vm }
  | { kind: 'places'; title: string; places: ConditionPlace[]; vm: Vm }
  | undefined;

export function registerConditionCommands(vms: VmSessions, log: Log): vscode.Disposable[] {
  const register = (id: string, fn: (...args: never[]) => unknown) => vscode.commands.registerCommand(id, fn as (...args: unknown[]) => unknown);
  const add = async (vm: Vm, rule: string): Promise<void> => {
    if (await request(vm, 'usernet.netem', { action: 'add', rule }, `impose '${rule}'`, log)) {
      void vscode.window.showInformationMessage(`Usernet: ${rule}`);
    }
  };
  return [
    register('usernet.simulateConditions', async (target?: Target) => {
      const vm = target?.kind === 'session' || target?.kind === 'places' ? target.vm : vms.current;
      if (!vm) return void vscode.window.showWarningMessage('Usernet: no VM is running: start one first.');
      let prefix: string;
      if (target?.kind === 'session') {
        const way = await vscode.window.showQuickPick([
          { label: 'Toward the guest', description: 'ip_output', stage: 'ip_output' },
          { label: 'From the guest', description: 'ip_input', stage: 'ip_input' },
        ], { title: `Simulate conditions on ${target.row.protocol} ${target.row.guest} ↔ ${target.row.remote} only` });
        if (!way) return;
        prefix = `${way.stage} if ${flowFilter(target.row)}: `;
      } else if (target?.kind === 'places') {
        const place = target.places.length === 1 ? target.places[0] : (await vscode.window.showQuickPick(
          target.places.map((p) => ({ label: p.label, description: p.filter ? `${p.stage} if ${p.filter}` : p.stage, place: p })),
          { title: `Simulate conditions on ${target.title}` },
        ))?.place;
        if (!place) return;
        prefix = `${place.stage}${place.filter ? ` if ${place.filter}` : ''}: `;
      } else {
        prefix = `${target?.kind === 'stage' ? target.stage.name : 'ip_input'}: `;
      }
      const rule = await askRule('Usernet: simulate network conditions', `${prefix}loss 5%`, prefix.length);
      if (rule?.trim()) await add(vm, rule.trim());
    }),
    register('usernet.manageConditions', async () => {
      const vm = vms.current;
      const rules = vm?.conditions?.rules ?? [];
      if (!vm || rules.length === 0) return void vscode.window.showInformationMessage('Usernet: no network conditions in force.');
      const pick = await vscode.window.showQuickPick(
        [...rules.map((r) => ({ label: `$(trash) #${r.id}`, description: r.text, id: r.id })), { label: '$(clear-all) Remove them all', description: '', id: 0 }],
        { title: 'Usernet: remove a network condition' },
      );
      if (!pick) return;
      await request(vm, 'usernet.netem', pick.id ? { action: 'remove', id: pick.id } : { action: 'clear' }, 'remove network conditions', log);
    }),
  ];
}
