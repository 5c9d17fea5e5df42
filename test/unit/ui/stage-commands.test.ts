import '../../support/use-vscode-fake';
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import * as vscode from 'vscode';
import { STAGES } from '../../../extension/pipeline/stages';
import { addLogpoint, addStageBreakpoint } from '../../../extension/ui/stage-commands';
import { StagesTree, type StagesNode } from '../../../extension/ui/stages-tree';
import { VmSessions } from '../../../extension/ui/vm-sessions';
import { fake } from '../../support/vscode-fake';
import { MemoryLog } from './helpers';

beforeEach(() => fake.reset());

const fnBreakpoints = () => fake.breakpoints.filter((b): b is vscode.FunctionBreakpoint => b instanceof vscode.FunctionBreakpoint);
const stageNode = (name: string): StagesNode => ({ kind: 'stage', stage: STAGES.find((s) => s.name === name)! });

test('Add Stage Breakpoint: a stage picked from the list, with a condition checked before it is added', async () => {
  fake.inputAnswers.push('tcp_input', 'tcp.dstport == 8080');
  await addStageBreakpoint();
  assert.deepEqual(fnBreakpoints().map((b) => [b.functionName, b.condition]), [['tcp_input', 'tcp.dstport == 8080']]);
  // A condition that does not compile is refused in the box: nothing is added.
  fake.inputAnswers.push('udp_input', 'udp.dstprot == 67');
  await addStageBreakpoint();
  assert.equal(fnBreakpoints().length, 1);
});

test('Add Logpoint on a stage of the view: the message is checked, and the logpoint ticks the stage', async () => {
  const tree = new StagesTree(new VmSessions(new MemoryLog()), 20);
  fake.inputAnswers.push('{ip.src} -> {tcp.dstprot}');
  await addLogpoint(stageNode('tcp_input'));
  assert.equal(fnBreakpoints().length, 0, 'an unknown field is refused');
  fake.inputAnswers.push('{ip.src} -> {tcp.dstport}');
  await addLogpoint(stageNode('tcp_input'));
  assert.deepEqual(fnBreakpoints().map((b) => b.functionName), ['tcp_input log "{ip.src} -> {tcp.dstport}"']);
  const item = tree.getTreeItem(stageNode('tcp_input'));
  assert.equal((item.checkboxState as { state: vscode.TreeItemCheckboxState }).state, vscode.TreeItemCheckboxState.Checked);
  assert.match(String(item.description), /log "\{ip\.src\} -> \{tcp\.dstport\}"/);
  tree.dispose();
});

test('Add Logpoint from the palette turns a stage breakpoint into a logpoint with its condition', async () => {
  vscode.debug.addBreakpoints([new vscode.FunctionBreakpoint('udp_input if udp.dstport == 67', true, 'udp.srcport == 68', '3')]);
  fake.inputAnswers.push('udp_input if udp.dstport == 67', 'DHCP from {eth.src}');
  await addLogpoint();
  assert.deepEqual(fnBreakpoints().map((b) => [b.functionName, b.hitCondition]), [['udp_input if (udp.dstport == 67) && (udp.srcport == 68) log "DHCP from {eth.src}"', '3']]);
});
