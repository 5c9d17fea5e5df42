import '../../support/use-vscode-fake';
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import * as vscode from 'vscode';
import { compileFilter } from '../../../extension/pipeline/filter';
import { registerCommands } from '../../../extension/ui/commands';
import { frameOf } from '../../../extension/ui/session-filter';
import { formatBytes, forwardSpecProblem, parseEndpoint } from '../../../extension/ui/session-format';
import { SessionsTree, type SessionsNode } from '../../../extension/ui/sessions-tree';
import { VmSessions } from '../../../extension/ui/vm-sessions';
import { FakeDebugSession, fake } from '../../support/vscode-fake';
import { forward, MemoryLog, row } from './helpers';
import { advance } from './helpers';

beforeEach(() => fake.reset());

function setup(intervalMs = 40) {
  const log = new MemoryLog();
  const vms = new VmSessions(log);
  const tree = new SessionsTree(vms, intervalMs);
  const session = fake.startSession(new FakeDebugSession());
  let refreshes = 0;
  tree.onDidChangeTreeData(() => refreshes++);
  const items = (node?: SessionsNode) => tree.getChildren(node).map((n) => ({ node: n, item: tree.getTreeItem(n) }));
  return { log, vms, tree, session, items, refreshes: () => refreshes };
}

test('sessions are grouped by protocol, forwards in a group of their own', () => {
  const { session, items } = setup();
  fake.event(session, 'usernet.sessions', {
    sessions: [
      row({ id: 3, protocol: 'udp', state: 'ACTIVE', guest: '10.0.2.15:5353', remote: '10.0.2.3:53', bytesOut: 40, bytesIn: 120 }),
      row({ id: 1 }),
      row({ id: 2, guest: '10.0.2.15:40002', remote: '10.0.2.2:9000', state: 'SYN_SENT', bytesOut: 0, bytesIn: 0 }),
      row({ id: 4, protocol: 'icmp', state: 'ACTIVE', guest: '10.0.2.15', remote: '10.0.2.2' }),
    ],
    forwards: [forward()],
  });
  const groups = items();
  assert.deepEqual(groups.map((g) => [g.item.label, g.item.description]), [['TCP', '2'], ['UDP', '1'], ['ICMP', '1'], ['Port forwards (hostfwd)', '1']]);
  const tcp = items(groups[0]!.node);
  assert.deepEqual(tcp.map((t) => t.item.label), ['10.0.2.15:40000 → 10.0.2.2:8080', '10.0.2.15:40002 → 10.0.2.2:9000']);
  assert.equal(tcp[0]!.item.description, 'ESTABLISHED ↑1.2 kB ↓34 kB');
  assert.equal(tcp[1]!.item.description, 'SYN_SENT ↑0 B ↓0 B');
  assert.equal(tcp[0]!.item.contextValue, 'usernet.session.tcp');
  const tooltip = (tcp[0]!.item.tooltip as vscode.MarkdownString).value;
  for (const fact of ['127.0.0.1:8080', 'outbound (NAT)', '1.2 kB in 5 packets', '34 kB in 30 packets', 'Session id | 1']) assert.ok(tooltip.includes(fact), fact);
  const fwd = items(groups[3]!.node);
  assert.equal(fwd[0]!.item.label, '127.0.0.1:2222 → 10.0.2.15:22');
  assert.equal(fwd[0]!.item.contextValue, 'usernet.forward');
});

test('an inbound (hostfwd) session reads from the outside peer to the guest', () => {
  const { session, items } = setup();
  fake.event(session, 'usernet.sessions', { sessions: [row({ inbound: true, guest: '10.0.2.15:22', remote: '10.0.2.2:51000' })], forwards: [] });
  const [tcp] = items();
  assert.equal(items(tcp!.node)[0]!.item.label, '10.0.2.2:51000 → 10.0.2.15:22');
});

test('a burst of events makes at most two refreshes, and unchanged tables none', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const { session, tree, refreshes } = setup(40);
  tree.getChildren();
  advance(t, 1000); // past the refreshes of the VM's start
  const before = refreshes();
  for (let i = 0; i < 20; i++) fake.event(session, 'usernet.sessions', { sessions: [row({ bytesIn: i })], forwards: [] });
  assert.equal(refreshes() - before, 1, 'the first change shows at once');
  advance(t, 40);
  assert.equal(refreshes() - before, 2, 'the rest of the burst is one more refresh');
  tree.getChildren();
  advance(t, 1000);
  for (let i = 0; i < 5; i++) fake.event(session, 'usernet.sessions', { sessions: [row({ bytesIn: 19 })], forwards: [] });
  advance(t, 1000);
  assert.equal(refreshes() - before, 2, 'the same table again changes nothing');
  tree.dispose();
});

test('malformed session events are dropped and logged', () => {
  const { session, vms, log, items } = setup();
  fake.event(session, 'usernet.sessions', { sessions: [row({ id: 1 })], forwards: [] });
  fake.event(session, 'usernet.sessions', { sessions: [{ id: 'x' }], forwards: [] });
  fake.event(session, 'usernet.sessions', null);
  assert.equal(vms.current!.sessions.length, 1);
  assert.equal(items().length, 1);
  assert.equal(log.lines.filter((l) => l.includes('malformed usernet.sessions')).length, 2);
});

test('the filter language selects sessions by header fields', () => {
  const { session, tree, items } = setup();
  fake.event(session, 'usernet.sessions', {
    sessions: [
      row({ id: 1 }),
      row({ id: 2, guest: '10.0.2.15:40001', remote: '10.0.2.2:9000' }),
      row({ id: 3, protocol: 'udp', guest: '10.0.2.15:5353', remote: '10.0.2.3:53' }),
    ],
    forwards: [forward()],
  });
  tree.setFilter('tcp.dstport == 8080');
  assert.equal(fake.context.get('usernet.sessionsFiltered'), true);
  let groups = items();
  assert.deepEqual(groups.map((g) => g.item.label), ['TCP', 'Port forwards (hostfwd)']);
  assert.deepEqual(items(groups[0]!.node).map((t) => t.node.kind === 'session' && t.node.row.id), [1]);
  tree.setFilter('udp || ip.dst == 10.0.2.2 && tcp.srcport == 40001');
  groups = items();
  assert.deepEqual(groups.map((g) => g.item.label), ['TCP', 'UDP', 'Port forwards (hostfwd)']);
  assert.deepEqual(items(groups[0]!.node).map((t) => t.node.kind === 'session' && t.node.row.id), [2]);
  assert.throws(() => tree.setFilter('tcp.dstport =='), /column/);
  assert.equal(tree.filterExpression, 'udp || ip.dst == 10.0.2.2 && tcp.srcport == 40001', 'a bad filter leaves the old one');
  tree.setFilter('');
  assert.equal(fake.context.get('usernet.sessionsFiltered'), false);
  assert.equal(items().length, 3);
});

test('session actions: break on it, copy it, close it (refusals are shown)', async () => {
  const { session, tree, vms, log, items } = setup();
  registerCommands({ vms, consoles: undefined as never, sessionsTree: tree, log });
  const r = row({ id: 7 });
  fake.event(session, 'usernet.sessions', { sessions: [r], forwards: [] });
  const node = items(items()[0]!.node)[0]!.node;

  await vscode.commands.executeCommand('usernet.session.break', node);
  const bp = fake.breakpoints[0] as vscode.FunctionBreakpoint;
  assert.ok(bp instanceof vscode.FunctionBreakpoint);
  assert.equal(bp.functionName, 'tcp_input');
  assert.equal(bp.condition, 'ip.addr == 10.0.2.15 && ip.addr == 10.0.2.2 && tcp.port == 40000 && tcp.port == 8080');
  const condition = compileFilter(bp.condition!);
  assert.ok(condition.matchesFrame(frameOf(r)), 'the condition matches the session');
  assert.ok(!condition.matchesFrame(frameOf(row({ guest: '10.0.2.15:40001' }))), 'and not its neighbour');

  await vscode.commands.executeCommand('usernet.session.copy', node);
  assert.equal(fake.clipboard, 'tcp 10.0.2.15:40000 → 10.0.2.2:8080 (host 127.0.0.1:8080, ESTABLISHED)');

  await vscode.commands.executeCommand('usernet.session.close', node);
  assert.deepEqual(session.requests.at(-1), { command: 'usernet.closeSession', args: { id: 7 } });
  session.handler = () => { throw new Error('no session 7 (it already closed)'); };
  await vscode.commands.executeCommand('usernet.session.close', node);
  assert.match(fake.messages.at(-1)!.text, /could not close the session .*: no session 7 \(it already closed\)/);
  assert.equal(fake.messages.at(-1)!.level, 'error');
});

test('capturing a session asks for a file and filters on its 5-tuple', async () => {
  const { session, tree, vms, log, items } = setup();
  registerCommands({ vms, consoles: undefined as never, sessionsTree: tree, log });
  fake.event(session, 'usernet.sessions', { sessions: [row({ id: 9, protocol: 'udp', guest: '10.0.2.15:5353', remote: '10.0.2.3:53' })], forwards: [] });
  const node = items(items()[0]!.node)[0]!.node;
  await vscode.commands.executeCommand('usernet.session.capture', node);
  const req = session.requests.at(-1)!;
  assert.equal(req.command, 'usernet.startCapture');
  const args = req.args as { file: string; filter: string };
  assert.match(args.file, /usernet-.*\.pcapng$/);
  assert.equal(args.filter, 'ip.addr == 10.0.2.15 && ip.addr == 10.0.2.3 && udp.port == 5353 && udp.port == 53');
  assert.match(fake.messages.at(-1)!.text, /capturing to .*\(filter: ip.addr == 10.0.2.15/);
});

test('a port forward the adapter cannot bind is reported with its reason', async () => {
  const { session, tree, vms, log } = setup();
  registerCommands({ vms, consoles: undefined as never, sessionsTree: tree, log });
  session.handler = (command) => {
    if (command === 'usernet.addForward') throw new Error('port 2222 is in use: choose another hostfwd port');
  };
  fake.inputAnswers.push('127.0.0.1:2222-:22');
  await vscode.commands.executeCommand('usernet.addForward');
  assert.deepEqual(session.requests.at(-1), { command: 'usernet.addForward', args: { spec: 'tcp:127.0.0.1:2222-:22' } });
  assert.equal(fake.messages.at(-1)!.text, 'Usernet: could not forward tcp:127.0.0.1:2222-:22: port 2222 is in use: choose another hostfwd port');
});

test('formats and parsers', () => {
  assert.deepEqual([0, 999, 1000, 1234, 34_000, 999_499, 1_500_000].map(formatBytes), ['0 B', '999 B', '1.0 kB', '1.2 kB', '34 kB', '999 kB', '1.5 MB']);
  assert.deepEqual(parseEndpoint('[fe80::1]:80'), { addr: 'fe80::1', port: 80 });
  assert.deepEqual(parseEndpoint('10.0.2.2'), { addr: '10.0.2.2' });
  assert.equal(forwardSpecProblem('tcp:127.0.0.1:2222-:22'), undefined);
  assert.equal(forwardSpecProblem('udp::5353-10.0.2.15:53'), undefined);
  assert.match(forwardSpecProblem('tcp:127.0.0.1:70000-:22')!, /host port 70000 is out of range/);
  assert.match(forwardSpecProblem('2222:22')!, /expected/);
});

test('a live table redraws only what changed, with the same element objects (a context menu keeps its row)', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const { session, tree, items } = setup(40);
  const fired: Array<SessionsNode | SessionsNode[] | undefined> = [];
  tree.onDidChangeTreeData((e) => fired.push(e));
  const table = (sessions: ReturnType<typeof row>[]) => {
    fake.event(session, 'usernet.sessions', { sessions, forwards: [] });
    advance(t, 100);
  };
  table([row({ id: 1 }), row({ id: 2, guest: '10.0.2.15:40001' })]);
  const [tcp] = items();
  const [first, second] = items(tcp!.node).map((i) => i.node);
  fired.length = 0;

  table([row({ id: 1, bytesIn: 99_000 }), row({ id: 2, guest: '10.0.2.15:40001' })]);
  assert.deepEqual(fired, [[first]], 'only the row whose counters moved');
  assert.equal(first!.kind === 'session' && first.row.bytesIn, 99_000, 'updated in place');
  assert.equal(items(tcp!.node)[0]!.node, first, 'the same element object');
  assert.equal(items(tcp!.node)[0]!.item.description, 'ESTABLISHED ↑1.2 kB ↓99 kB');

  fired.length = 0;
  table([row({ id: 1, bytesIn: 99_000 }), row({ id: 2, guest: '10.0.2.15:40001' })]);
  assert.deepEqual(fired, [], 'nothing shown changed: no refresh');

  table([row({ id: 1, bytesIn: 99_000 }), row({ id: 2, guest: '10.0.2.15:40001' }), row({ id: 3, guest: '10.0.2.15:40002' })]);
  assert.deepEqual(fired, [[tcp!.node]], 'a new row redraws its group only');
  assert.equal(items()[0]!.node, tcp!.node);
  assert.equal(items()[0]!.item.description, '3');
  const after = items(tcp!.node).map((i) => i.node);
  assert.deepEqual([after[0] === first, after[1] === second, after.length], [true, true, 3], 'the rows already shown keep their objects');

  fired.length = 0;
  table([row({ id: 1, bytesIn: 99_000 }), row({ id: 4, protocol: 'udp', guest: '10.0.2.15:5353', remote: '10.0.2.3:53' })]);
  assert.deepEqual(fired, [undefined], 'a group that appears redraws the root');
  assert.deepEqual(items().map((g) => g.item.label), ['TCP', 'UDP']);
  assert.equal(items(items()[0]!.node)[0]!.node, first, 'even then the rows keep their objects');
  tree.dispose();
});
