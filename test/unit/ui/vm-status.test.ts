import '../../support/use-vscode-fake';
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as vscode from 'vscode';
import { dynamicConfigurations, UsernetConfigurationProvider } from '../../../extension/ui/configuration-provider';
import { UsernetAdapterFactory } from '../../../extension/ui/debug-adapter-factory';
import { VmStatusBar } from '../../../extension/ui/status-bar';
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
  fake.event(s, 'usernet.vmState', { state: 'failed', message: 'the guest kernel panicked: see the serial console' });
  assert.equal(fake.messages.at(-1)!.level, 'error');
  assert.equal(fake.messages.at(-1)!.text, 'Usernet: the VM "Usernet VM" failed: the guest kernel panicked: see the serial console');
  assert.deepEqual(fake.messages.at(-1)!.items, ['Open Serial Console', 'Restart VM']);
});
