import '../../support/use-vscode-fake';
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import * as vscode from 'vscode';
import { RX_STAGES, TX_STAGES } from '../../../extension/pipeline/stages';
import { StagesTree, type StagesNode } from '../../../extension/ui/stages-tree';
import { VmSessions } from '../../../extension/ui/vm-sessions';
import { FakeDebugSession, FakeTreeView, fake } from '../../support/vscode-fake';
import { MemoryLog } from './helpers';
import { advance } from './helpers';

beforeEach(() => fake.reset());

function setup() {
  const vms = new VmSessions(new MemoryLog());
  const tree = new StagesTree(vms, 20);
  const view = tree.createView() as unknown as FakeTreeView<StagesNode>;
  const stageNode = (name: string) => tree.getChildren().flatMap((d) => tree.getChildren(d)).find((n) => n.kind === 'stage' && n.stage.name === name)!;
  const checkbox = (name: string) => {
    const state = tree.getTreeItem(stageNode(name)).checkboxState as { state: vscode.TreeItemCheckboxState };
    return state.state === vscode.TreeItemCheckboxState.Checked;
  };
  let refreshes = 0;
  tree.onDidChangeTreeData(() => refreshes++);
  return { vms, tree, view, stageNode, checkbox, refreshes: () => refreshes };
}

const fnBreakpoints = () => fake.breakpoints.filter((b): b is vscode.FunctionBreakpoint => b instanceof vscode.FunctionBreakpoint);

test('every stage is listed, TX then RX, each in pipeline order', () => {
  const { tree, view } = setup();
  assert.equal(view.options.manageCheckboxStateManually, true);
  const [tx, rx] = tree.getChildren();
  assert.equal(tree.getTreeItem(tx!).label, 'TX: guest → host');
  assert.deepEqual(tree.getChildren(tx).map((n) => tree.getTreeItem(n).label), [...TX_STAGES]);
  assert.deepEqual(tree.getChildren(rx).map((n) => tree.getTreeItem(n).label), [...RX_STAGES]);
});

test('ticking a checkbox adds a function breakpoint; unticking removes it', () => {
  const { view, stageNode, checkbox } = setup();
  assert.equal(checkbox('tcp_input'), false);
  view.checkboxEmitter.fire({ items: [[stageNode('tcp_input'), vscode.TreeItemCheckboxState.Checked]] });
  assert.deepEqual(fnBreakpoints().map((b) => [b.functionName, b.enabled]), [['tcp_input', true]]);
  assert.equal(checkbox('tcp_input'), true);
  // Ticking again does not duplicate it.
  view.checkboxEmitter.fire({ items: [[stageNode('tcp_input'), vscode.TreeItemCheckboxState.Checked]] });
  assert.equal(fnBreakpoints().length, 1);
  view.checkboxEmitter.fire({ items: [[stageNode('tcp_input'), vscode.TreeItemCheckboxState.Unchecked]] });
  assert.equal(fnBreakpoints().length, 0);
  assert.equal(checkbox('tcp_input'), false);
});

test('breakpoints made elsewhere show as ticked boxes, with their condition', () => {
  const { checkbox, tree, stageNode, refreshes } = setup();
  const before = refreshes();
  vscode.debug.addBreakpoints([new vscode.FunctionBreakpoint('udp_input', true, 'udp.dstport == 53'), new vscode.FunctionBreakpoint('not_a_stage')]);
  assert.ok(refreshes() > before, 'the view refreshes on breakpoint changes');
  assert.equal(checkbox('udp_input'), true);
  assert.equal(tree.getTreeItem(stageNode('udp_input')).description, 'if udp.dstport == 53');
  vscode.debug.removeBreakpoints(fnBreakpoints().filter((b) => b.functionName === 'udp_input'));
  assert.equal(checkbox('udp_input'), false);
});

test('a disabled breakpoint shows unticked; ticking replaces it, keeping its condition', () => {
  const { view, stageNode, checkbox } = setup();
  vscode.debug.addBreakpoints([new vscode.FunctionBreakpoint('ip_input', false, 'ip.ttl < 5')]);
  assert.equal(checkbox('ip_input'), false);
  view.checkboxEmitter.fire({ items: [[stageNode('ip_input'), vscode.TreeItemCheckboxState.Checked]] });
  assert.deepEqual(fnBreakpoints().map((b) => [b.functionName, b.enabled, b.condition]), [['ip_input', true, 'ip.ttl < 5']]);
});

test('packet counters come from the current VM, batched', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const { tree, stageNode, refreshes } = setup();
  const session = fake.startSession(new FakeDebugSession());
  advance(t, 1000);
  const before = refreshes();
  for (let i = 1; i <= 10; i++) fake.event(session, 'usernet.stages', { hits: { tcp_input: i, slirp_input: i * 2 } });
  fake.event(session, 'usernet.stages', { hits: { tcp_input: -1 } }); // malformed: dropped
  assert.equal(refreshes() - before, 1, 'the first change shows at once');
  advance(t, 20);
  assert.equal(refreshes() - before, 2, 'the rest of the burst is one refresh');
  advance(t, 1000);
  assert.equal(refreshes() - before, 2);
  assert.equal(tree.getTreeItem(stageNode('tcp_input')).description, '10 packets');
  assert.equal(tree.getTreeItem(stageNode('slirp_input')).description, '20 packets');
  assert.equal(tree.getTreeItem(stageNode('arp_input')).description, '');
  tree.dispose();
});

test('a Drops node lists the discards by stage and reason with their counts; a malformed list is refused', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const { tree } = setup();
  const session = fake.startSession(new FakeDebugSession());
  advance(t, 1000);
  const dropsNode = () => tree.getChildren().find((n) => n.kind === 'drops')!;
  assert.equal(tree.getTreeItem(dropsNode()).description, '0 frames');
  assert.deepEqual(tree.getChildren(dropsNode()), []);
  fake.event(session, 'usernet.stages', { hits: {}, drops: [{ stage: 'ip_input', reason: 'ip-bad-checksum', count: 2 }, { stage: 'udp_input', reason: 'udp-bad-checksum', count: 1 }] });
  fake.event(session, 'usernet.stages', { hits: {}, drops: [{ stage: 'ip_input', reason: 'ip-bad-checksum', count: -4 }] }); // malformed: refused
  advance(t, 50);
  assert.equal(tree.getTreeItem(dropsNode()).label, 'Drops');
  assert.equal(tree.getTreeItem(dropsNode()).description, '3 frames');
  const rows = tree.getChildren(dropsNode()).map((n) => tree.getTreeItem(n));
  assert.deepEqual(rows.map((r) => [r.label, r.description]), [['ip-bad-checksum', 'ip_input · 2'], ['udp-bad-checksum', 'udp_input · 1']]);
  assert.match(String(rows[0]!.tooltip), /^2 dropped at ip_input: ip-bad-checksum \(bad IPv4 header checksum\)$/);
  const stage = (name: string) => tree.getChildren(tree.getChildren()[0]).find((n) => n.kind === 'stage' && n.stage.name === name)!;
  assert.equal(tree.getTreeItem(stage('ip_input')).description, '2 dropped', 'a stage shows its drops beside its packets');
  tree.dispose();
});

test('a stage with network conditions lists each rule with its counters; a stage without has no children', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const { tree, stageNode } = setup();
  const session = fake.startSession(new FakeDebugSession());
  advance(t, 1000);
  const counters = { matched: 40, dropped: 19, overflowed: 0, delayed: 0, duplicated: 0, reordered: 0, corrupted: 0, held: 0, heldBytes: 0 };
  fake.event(session, 'usernet.stages', {
    hits: { icmp_input: 40 },
    conditions: { seed: 7, rules: [{ id: 1, text: 'icmp_input: loss 50%', stage: 'icmp_input', counters }, { id: 2, text: 'ip_output: delay 100ms', stage: 'ip_output', counters: { ...counters, matched: 3, dropped: 0, delayed: 3, held: 1 } }] },
  });
  advance(t, 50);
  const icmp = tree.getTreeItem(stageNode('icmp_input'));
  assert.equal(icmp.description, '40 packets · 1 condition');
  assert.equal(icmp.collapsibleState, vscode.TreeItemCollapsibleState.Expanded);
  const rows = tree.getChildren(stageNode('icmp_input')).map((n) => tree.getTreeItem(n));
  assert.deepEqual(rows.map((r) => [r.label, r.description]), [['icmp_input: loss 50%', 'matched 40 · dropped 19']]);
  const delayed = tree.getChildren(stageNode('ip_output')).map((n) => tree.getTreeItem(n).description);
  assert.deepEqual(delayed, ['matched 3 · delayed 3 · held 1']);
  assert.deepEqual(tree.getChildren(stageNode('udp_input')), []);
  assert.equal(tree.getTreeItem(stageNode('udp_input')).collapsibleState, vscode.TreeItemCollapsibleState.None);
  // Conditions removed: the rows go.
  fake.event(session, 'usernet.stages', { hits: { icmp_input: 41 }, conditions: { seed: 7, rules: [] } });
  advance(t, 50);
  assert.deepEqual(tree.getChildren(stageNode('icmp_input')), []);
  assert.equal(tree.getTreeItem(stageNode('icmp_input')).description, '41 packets');
  tree.dispose();
});
