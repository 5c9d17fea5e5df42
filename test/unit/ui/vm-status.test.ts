import '../../support/use-vscode-fake';
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as vscode from 'vscode';
import { dynamicConfigurations, UsernetConfigurationProvider } from '../../../extension/ui/configuration-provider';
import { UsernetAdapterFactory } from '../../../extension/ui/debug-adapter-factory';
import { CaptureStatusBar, VmStatusBar } from '../../../extension/ui/status-bar';
import { VmNotifications } from '../../../extension/ui/vm-notifications';
import { VmSessions } from '../../../extension/ui/vm-sessions';
import { DebugAdapterExecutable, FakeDebugSession, fake, Uri } from '../../support/vscode-fake';
import { MemoryLog, row, tick } from './helpers';

beforeEach(() => fake.reset());

test('no launch.json: the bundled guest; partial configurations are completed, paths resolved', () => {
  const p = new UsernetConfigurationProvider();
  assert.deepEqual(p.resolveDebugConfiguration(undefined, { type: '', request: '', name: '' }), { type: 'usernet', request: 'launch', name: 'Usernet VM', engine: 'embedded' });
  assert.deepEqual(p.resolveDebugConfiguration(undefined, { type: 'usernet', request: '', name: '', engine: 'qemu' }), { type: 'usernet', request: 'launch', name: 'Usernet VM', engine: 'qemu' });
  const folder = { uri: Uri.file('/ws'), name: 'ws', index: 0 };
  const resolved = p.resolveDebugConfigurationWithSubstitutedVariables(folder as never, { type: 'usernet', request: 'launch', name: 'x', profile: 'vm.qemu', kernel: '/abs/bzImage' });
  assert.equal(resolved.profile, '/ws/vm.qemu');
  assert.equal(resolved.kernel, '/abs/bzImage');
});

test('"create a launch.json file" writes one configuration: package.json\'s, none added by the provider', async () => {
  const manifest = JSON.parse(readFileSync(join(__dirname, '../../../package.json'), 'utf8'));
  const initial: unknown[] = manifest.contributes.debuggers.find((d: { type: string }) => d.type === 'usernet').initialConfigurations;
  // What VS Code writes: the initialConfigurations, then every Initial-trigger provider's configurations.
  const p: vscode.DebugConfigurationProvider = new UsernetConfigurationProvider();
  const written = [...initial, ...((await p.provideDebugConfigurations?.(undefined)) ?? [])];
  assert.deepEqual(written, [{ type: 'usernet', request: 'launch', name: 'Usernet VM', engine: 'embedded' }]);
  assert.deepEqual(dynamicConfigurations(), written, 'the picker without launch.json offers the same');
});

test('the adapter runs as a separate Node process on dist/adapter.js', () => {
  const d = new UsernetAdapterFactory(Uri.file('/ext') as never).createDebugAdapterDescriptor() as unknown as DebugAdapterExecutable;
  assert.ok(d instanceof DebugAdapterExecutable);
  assert.equal(d.command, process.execPath);
  assert.deepEqual(d.args, ['/ext/dist/adapter.js']);
  assert.equal(d.options?.env?.ELECTRON_RUN_AS_NODE, '1');
});

test('the status bar shows state, guest address and session count, and hides without a VM', () => {
  const vms = new VmSessions(new MemoryLog());
  const bar = new VmStatusBar(vms);
  const item = fake.statusItems[0]!;
  assert.equal(item.shown, false);
  assert.equal(fake.context.get('usernet.vmRunning'), false);
  const s = fake.startSession(new FakeDebugSession());
  assert.equal(item.shown, true);
  assert.equal(fake.context.get('usernet.vmRunning'), true);
  fake.event(s, 'usernet.vmState', { state: 'running', guestAddress: '10.0.2.15', bootMs: 2100, restored: true });
  fake.event(s, 'usernet.sessions', { sessions: [row(), row({ id: 2 })], forwards: [] });
  assert.equal(item.text, '$(vm-running) running · 10.0.2.15 · 2 sessions');
  assert.match(item.tooltip!, /booted in 2.1 s \(restored from a snapshot\)/);
  assert.equal(item.command, 'usernet.openConsole');
  fake.endSession(s);
  assert.equal(item.shown, false);
  bar.dispose();
});

test('booting shows progress until the VM runs; a failure is an error notification with the reason', async () => {
  const log = new MemoryLog();
  const vms = new VmSessions(log);
  new VmNotifications(vms, log);
  const s = fake.startSession(new FakeDebugSession());
  fake.event(s, 'usernet.vmState', { state: 'booting' });
  await tick();
  assert.deepEqual(fake.progress, [{ title: 'Usernet: booting "Usernet VM"', done: false }]);
  fake.event(s, 'usernet.vmState', { state: 'running', guestAddress: '10.0.2.15' });
  await tick();
  assert.equal(fake.progress[0]!.done, true);
  fake.event(s, 'usernet.vmState', { state: 'failed', message: 'kernel /nope: no such file' });
  assert.equal(fake.messages.at(-1)!.level, 'error');
  assert.equal(fake.messages.at(-1)!.text, 'Usernet: the VM "Usernet VM" did not start: kernel /nope: no such file');
  assert.deepEqual(fake.messages.at(-1)!.items, ['Show Log', 'Open Settings']);
});

test('a failed start is told once, with Show Log and Open Settings; the next launch puts the stale toast away', async () => {
  const log = new MemoryLog();
  const vms = new VmSessions(log);
  let logShown = 0;
  new VmNotifications(vms, log, () => logShown++);
  const hidden: unknown[] = [];
  fake.commands.set('notifications.hideToasts', () => hidden.push('hide'));
  const settings: unknown[] = [];
  fake.commands.set('workbench.action.openSettings', (query) => settings.push(query));
  fake.holdMessages = true;

  const s = fake.startSession(new FakeDebugSession());
  assert.deepEqual(hidden, [], 'nothing to put away on the first launch');
  // The adapter says it in its state (twice, as a retried start does) and its process then exits non-zero.
  fake.event(s, 'usernet.vmState', { state: 'failed', message: 'qemu-system-x86_64 was not found on PATH' });
  fake.event(s, 'usernet.vmState', { state: 'failed', message: 'qemu-system-x86_64 was not found on PATH' });
  fake.adapterSends(s, { type: 'event', event: 'output', body: { category: 'console', output: 'starting qemu\n' } });
  (fake.trackerFactories[0]!.trackers.get(s) as unknown as { onExit(code: number): void }).onExit(1);
  assert.equal(fake.messages.filter((m) => m.level === 'error').length, 1, fake.messages.map((m) => m.text).join('\n'));
  assert.ok(log.lines.includes('info [Usernet VM] starting qemu'), 'the Debug Console\'s story is in the log Show Log opens');
  fake.endSession(s);

  // Still on screen when the next launch starts: hidden (kept in the notification center).
  const again = fake.startSession(new FakeDebugSession());
  assert.deepEqual(hidden, ['hide']);
  fake.messageAnswer = 'Open Settings';
  fake.closeMessages();
  await tick();
  assert.deepEqual(settings, ['@ext:usernet.usernet']);
  fake.endSession(again);

  // Closed by then: nothing to put away. Show Log opens the log.
  fake.holdMessages = false;
  fake.messageAnswer = 'Show Log';
  const third = fake.startSession(new FakeDebugSession());
  fake.event(third, 'usernet.vmState', { state: 'failed', message: 'no kernel' });
  await tick();
  assert.equal(logShown, 1);
  fake.startSession(new FakeDebugSession());
  assert.deepEqual(hidden, ['hide'], 'no open toast of ours: others\' toasts are left alone');
});

test('a capture in progress shows its file and packet count; a click stops it; gone when it stops or the VM ends', () => {
  const log = new MemoryLog();
  const vms = new VmSessions(log);
  const bar = new CaptureStatusBar(vms);
  const item = fake.statusItems[0]!;
  const s = fake.startSession(new FakeDebugSession());
  fake.event(s, 'usernet.vmState', { state: 'running' });
  assert.equal(item.shown, false, 'no capture, no item');
  fake.event(s, 'usernet.vmState', { state: 'running', capture: { file: '/ws/usernet-2026-12-03.pcapng', packets: 1 } });
  assert.equal(item.shown, true);
  assert.equal(item.text, '$(record) usernet-2026-12-03.pcapng · 1 packet');
  assert.equal(item.command, 'usernet.stopCapture');
  assert.match(item.tooltip!, /capturing to \/ws\/usernet-2026-12-03\.pcapng/);
  fake.event(s, 'usernet.vmState', { state: 'paused', capture: { file: '/ws/usernet-2026-12-03.pcapng', packets: 42 } });
  assert.equal(item.text, '$(record) usernet-2026-12-03.pcapng · 42 packets');
  // A malformed count is refused like any bad event: the item keeps what it showed.
  fake.event(s, 'usernet.vmState', { state: 'running', capture: { file: '/ws/x.pcap', packets: -1 } });
  assert.equal(item.text, '$(record) usernet-2026-12-03.pcapng · 42 packets');
  assert.match(log.lines.at(-1)!, /malformed usernet.vmState/);
  fake.event(s, 'usernet.vmState', { state: 'running' });
  assert.equal(item.shown, false, 'stopped');
  fake.event(s, 'usernet.vmState', { state: 'running', capture: { file: '/ws/b.pcap', packets: 0 } });
  assert.equal(item.shown, true);
  fake.endSession(s);
  assert.equal(item.shown, false, 'the VM ended');
  bar.dispose();
});
