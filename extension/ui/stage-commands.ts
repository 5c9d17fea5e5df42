/**
 * Breakpoints and logpoints on pipeline stages without knowing the names by
 * heart: "Add Stage Breakpoint…" lists the stages with what each does, and
 * "Add Logpoint…" (on a stage in the Pipeline Stages view, or from the
 * palette on a stage or an existing stage breakpoint) asks for a message
 * with `{field}` holes, checked before it is added.
 *
 * Both add a VS Code function breakpoint, so they show in the Breakpoints
 * view like any other; a logpoint's message rides in its name (see
 * pipeline/breakpoint-name.ts: DAP function breakpoints have no log field).
 */
import * as vscode from 'vscode';
import { logpointName, splitBreakpointName } from '../pipeline/breakpoint-name';
import { compileFilter } from '../pipeline/filter';
import { compileLogMessage } from '../pipeline/logpoint';
import { STAGES, type StageInfo } from '../pipeline/stages';
import { askText } from './ask-text';
import { errorText } from './console-panel';
import type { StagesNode } from './stages-tree';

const DIRECTION = { tx: 'TX', rx: 'RX' } as const;

type StagePick = vscode.QuickPickItem & { stage?: StageInfo; breakpoint?: vscode.FunctionBreakpoint };

function stageItems(): StagePick[] {
  return STAGES.map((stage) => ({
    label: stage.name,
    description: `${DIRECTION[stage.direction]} · ${stage.owner === 'nic' ? 'e1000' : stage.owner}`,
    detail: stage.description,
    stage,
  }));
}

/** What is wrong with a filter typed into an input box (a breakpoint's condition, a capture's filter), if anything. */
export function filterProblem(text: string): string | undefined {
  if (!text.trim()) return undefined;
  try {
    compileFilter(text);
    return undefined;
  } catch (e) {
    return errorText(e);
  }
}

export function logMessageProblem(text: string): string | undefined {
  if (!text.trim()) return 'a logpoint needs a message, e.g. {ip.src}:{tcp.srcport} -> {ip.dst}:{tcp.dstport}';
  const t = compileLogMessage(text);
  return typeof t === 'string' ? t : undefined;
}

async function askCondition(stage: string, value = ''): Promise<string | undefined> {
  return askText({
    title: `Condition on ${stage} (optional)`,
    prompt: 'A Wireshark display filter; empty stops on every packet',
    placeHolder: 'tcp.dstport == 8080',
    value,
    problem: filterProblem,
  });
}

/** "Add Stage Breakpoint…": pick a stage, give an optional condition. */
export async function addStageBreakpoint(): Promise<void> {
  const pick = await vscode.window.showQuickPick(stageItems(), {
    title: 'Add Stage Breakpoint', placeHolder: 'The stage to stop at', matchOnDescription: true, matchOnDetail: true,
  });
  if (!pick?.stage) return;
  const condition = await askCondition(pick.stage.name);
  if (condition === undefined) return;
  vscode.debug.addBreakpoints([new vscode.FunctionBreakpoint(pick.stage.name, true, condition.trim() || undefined)]);
}

/**
 * "Add Logpoint…": on a stage of the Stages view, or from the palette on a
 * stage or on an existing stage breakpoint, which the logpoint then replaces
 * (keeping its condition and hit count).
 */
export async function addLogpoint(node?: StagesNode): Promise<void> {
  let stage: string | undefined = node?.kind === 'stage' ? node.stage.name : undefined;
  let replaced: vscode.FunctionBreakpoint | undefined;
  if (!stage) {
    const existing: StagePick[] = vscode.debug.breakpoints
      .filter((b): b is vscode.FunctionBreakpoint => b instanceof vscode.FunctionBreakpoint && !splitBreakpointName(b.functionName).logMessage)
      .filter((b) => STAGES.some((s) => s.name === splitBreakpointName(b.functionName).stage))
      .map((b) => ({ label: b.functionName, description: b.condition ? `if ${b.condition}` : 'breakpoint', breakpoint: b }));
    const items: StagePick[] = [
      ...(existing.length ? [{ label: 'Breakpoints to turn into logpoints', kind: vscode.QuickPickItemKind.Separator }, ...existing] : []),
      { label: 'Stages', kind: vscode.QuickPickItemKind.Separator },
      ...stageItems(),
    ];
    const pick = await vscode.window.showQuickPick(items, { title: 'Add Logpoint', placeHolder: 'A stage, or a breakpoint to log instead of stopping', matchOnDetail: true });
    if (!pick) return;
    replaced = pick.breakpoint;
    stage = pick.stage?.name ?? (replaced && splitBreakpointName(replaced.functionName).stage);
  }
  if (!stage) return;
  const message = await askText({
    title: `Logpoint on ${stage}`,
    prompt: 'Printed in the Debug Console for each packet; {field} is a Wireshark field of the packet',
    placeHolder: '{ip.src}:{tcp.srcport} -> {ip.dst}:{tcp.dstport} {tcp.flags}',
    problem: logMessageProblem,
  });
  if (message === undefined) return;
  const named = replaced ? splitBreakpointName(replaced.functionName, replaced.condition) : undefined;
  if (replaced) vscode.debug.removeBreakpoints([replaced]);
  vscode.debug.addBreakpoints([new vscode.FunctionBreakpoint(logpointName(stage, message, named?.condition), true, undefined, replaced?.hitCondition)]);
}

export function registerStageCommands(): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('usernet.addStageBreakpoint', () => addStageBreakpoint()),
    vscode.commands.registerCommand('usernet.addLogpoint', (node?: StagesNode) => addLogpoint(node)),
  ];
}
