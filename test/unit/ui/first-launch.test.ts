import '../../support/use-vscode-fake';
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import * as vscode from 'vscode';
import { registerCommands, revealAction } from '../../../extension/ui/commands';
import { SessionsTree } from '../../../extension/ui/sessions-tree';
import { VmSessions } from '../../../extension/ui/vm-sessions';
import { env, fake, Uri, workspace } from '../../support/vscode-fake';
import { MemoryLog } from './helpers';

beforeEach(() => {
  fake.reset();
  env.remoteName = undefined;
  workspace.workspaceFolders = undefined;
});

test('Add Port Forward before any VM runs boots the bundled VM with that hostfwd', async () => {
  const log = new MemoryLog();
  const vms = new VmSessions(log);
  registerCommands({ vms, consoles: undefined as never, sessionsTree: new SessionsTree(vms), log });
  fake.inputAnswers.push('tcp:127.0.0.1:2222-:22');
  await vscode.commands.executeCommand('usernet.addForward');
  assert.deepEqual(fake.started, [{ type: 'usernet', request: 'launch', name: 'Usernet VM', engine: 'embedded', netdev: 'user,hostfwd=tcp:127.0.0.1:2222-:22' }]);
  assert.deepEqual(fake.messages, [], 'no "no VM is running" error');
  fake.inputAnswers.push('tcp:127.0.0.1:99999-:22');
  await vscode.commands.executeCommand('usernet.addForward');
  assert.equal(fake.started.length, 1, 'a spec that does not parse launches nothing');
});

test('a capture is revealed in the Explorer when in the workspace, in the OS only from a local window', () => {
  workspace.workspaceFolders = [{ uri: Uri.file('/home/u/project'), name: 'project', index: 0 }];
  assert.equal(revealAction(vscode.Uri.file('/home/u/project/usernet.pcap'))?.command, 'revealInExplorer');
  assert.equal(revealAction(vscode.Uri.file('/tmp/usernet.pcap'))?.command, 'revealFileInOS');
  env.remoteName = 'ssh-remote';
  assert.equal(revealAction(vscode.Uri.file('/home/u/project/usernet.pcap'))?.command, 'revealInExplorer');
  assert.equal(revealAction(vscode.Uri.file('/tmp/usernet.pcap')), undefined, 'no OS file manager of the wrong machine');
});
