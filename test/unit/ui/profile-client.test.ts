import '../../support/use-vscode-fake';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, test } from 'node:test';
import { UsernetConfigurationProvider } from '../../../extension/ui/configuration-provider';
import { ProfileLanguageClient, profileClientOptions, profileServerOptions, type LanguageClientLibrary } from '../../../extension/ui/profile-client';
import { DEBUG_COMMAND, LAUNCH_COMMAND, registerProfileCommands } from '../../../extension/ui/profile-commands';
import { PROFILE_LANGUAGE } from '../../../extension/ui/profile-language';
import { commands, fake, FakeTextDocument, Uri, workspace } from '../../support/vscode-fake';
import { MemoryLog, tick } from './helpers';

const root = join(__dirname, '..', '..', '..');
const PROFILE_TEXT = 'qemu-system-x86_64 -m 128 \\\n  -netdev user,id=n0 -device e1000,netdev=n0\n';

beforeEach(() => {
  fake.reset();
  workspace.workspaceFolders = [{ uri: Uri.file('/ws'), name: 'ws', index: 0 }, { uri: Uri.file('/other'), name: 'other', index: 1 }];
});

const profile = (path: string, text = PROFILE_TEXT, languageId = PROFILE_LANGUAGE) => new FakeTextDocument(Uri.file(path), languageId, text);
const run = (id: string, ...args: unknown[]) => commands.executeCommand(id, ...args);
const errors = () => fake.messages.filter((m) => m.level === 'error').map((m) => m.text);

/** Records what the extension asks of vscode-languageclient, without starting anything. */
class RecordingClient {
  static made: RecordingClient[] = [];
  running = false;
  starts = 0;
  stops = 0;
  constructor(readonly id: string, readonly name: string, readonly server: unknown, readonly client: unknown) {
    RecordingClient.made.push(this);
  }
  async start(): Promise<void> {
    this.starts++;
    if (RecordingClient.nextFailure) throw RecordingClient.nextFailure;
    this.running = true;
  }
  isRunning(): boolean {
    return this.running;
  }
  async stop(): Promise<void> {
    this.stops++;
    this.running = false;
  }
  static nextFailure: Error | undefined;
}

// The values of vscode-languageclient's TransportKind (the real module needs the real editor to load).
const library = { LanguageClient: RecordingClient, TransportKind: { stdio: 0, ipc: 1, pipe: 2, socket: 3 } } as unknown as LanguageClientLibrary;

test('Launch Profile from a lens (the URI as a string) runs the file without debugging, in its own workspace folder', async () => {
  registerProfileCommands(new MemoryLog());
  fake.openDocument(profile('/other/vms/alpine.qemu'), false);
  assert.equal(await run(LAUNCH_COMMAND, 'file:///other/vms/alpine.qemu'), true);
  assert.deepEqual(fake.debugStarts, [{
    folder: workspace.workspaceFolders![1],
    config: { type: 'usernet', request: 'launch', name: 'Usernet: alpine.qemu', profile: '/other/vms/alpine.qemu', noDebug: true },
    options: { noDebug: true },
  }]);
});

test('Debug Profile from a menu Uri debugs; from the palette it takes the active editor\'s profile', async () => {
  registerProfileCommands(new MemoryLog());
  const doc = fake.openDocument(profile('/ws/vm.qemu'));
  await run(DEBUG_COMMAND, Uri.file('/ws/vm.qemu'));
  await run(LAUNCH_COMMAND);
  assert.deepEqual(fake.debugStarts.map((s) => [s.config, s.options]), [
    [{ type: 'usernet', request: 'launch', name: 'Usernet: vm.qemu', profile: '/ws/vm.qemu' }, { noDebug: false }],
    [{ type: 'usernet', request: 'launch', name: 'Usernet: vm.qemu', profile: '/ws/vm.qemu', noDebug: true }, { noDebug: true }],
  ]);
  assert.equal(fake.debugStarts[1]!.folder, workspace.workspaceFolders![0]);
  assert.equal(doc.saves, 0, 'a saved profile is not saved again');
  assert.deepEqual(errors(), []);
});

test('unsaved edits are saved first: the VM reads the file, so it must be what the editor shows', async () => {
  registerProfileCommands(new MemoryLog());
  const doc = fake.openDocument(profile('/ws/vm.qemu'));
  doc.edit(`${PROFILE_TEXT} -m 256\n`);
  await run(DEBUG_COMMAND);
  assert.equal(doc.saves, 1);
  assert.equal(doc.isDirty, false);
  assert.equal(fake.debugStarts.length, 1);
});

test('the engine: the setting when the profile names none, never over its own "# usernet: engine=" comment', async () => {
  registerProfileCommands(new MemoryLog());
  fake.settings.set('usernet.profileEngine', 'qemu');
  fake.openDocument(profile('/ws/a.qemu'));
  await run(LAUNCH_COMMAND);
  fake.openDocument(profile('/ws/b.qemu', `# usernet: engine=embedded\n${PROFILE_TEXT}`));
  await run(LAUNCH_COMMAND);
  fake.settings.set('usernet.profileEngine', 'embedded');
  await run(LAUNCH_COMMAND, 'file:///ws/a.qemu');
  const configs = fake.started as { engine?: string }[];
  assert.equal(configs[0]!.engine, 'qemu');
  assert.equal('engine' in configs[1]!, false, 'the comment decides, as the launch plan reads it');
  assert.equal('engine' in configs[2]!, false, 'embedded is the launch default');
});

test('no .qemu document: each command refuses, says why and what to do, and starts nothing', async () => {
  registerProfileCommands(new MemoryLog());
  await run(LAUNCH_COMMAND);
  fake.openDocument(profile('/ws/notes.txt', 'hello', 'plaintext'));
  await run(DEBUG_COMMAND);
  await run(LAUNCH_COMMAND, Uri.file('/ws/notes.txt'));
  await run(LAUNCH_COMMAND, 'file:///ws/missing.qemu');
  fake.openDocument(new FakeTextDocument(Uri.parse('untitled://Untitled-1'), PROFILE_LANGUAGE, PROFILE_TEXT));
  await run(DEBUG_COMMAND);
  assert.deepEqual(fake.debugStarts, []);
  const shown = errors();
  assert.equal(shown.length, 5);
  assert.match(shown[0]!, /^Usernet: no QEMU profile to launch: open a \.qemu file/);
  assert.match(shown[1]!, /^Usernet: no QEMU profile to debug: open a \.qemu file/);
  assert.match(shown[2]!, /cannot launch \/ws\/notes\.txt: it is not a QEMU command line/);
  assert.match(shown[3]!, /cannot launch \/ws\/missing\.qemu: cannot open/);
  assert.match(shown[4]!, /cannot debug untitled:\/\/Untitled-1: .*save it as a \.qemu file first/);
});

test('a .qemu file opened in another language mode is still a profile', async () => {
  registerProfileCommands(new MemoryLog());
  fake.openDocument(profile('/ws/vm.qemu', PROFILE_TEXT, 'shellscript'));
  assert.equal(await run(LAUNCH_COMMAND), true);
});

test('F5 without launch.json in a profile launches that profile; elsewhere the bundled guest', () => {
  const p = new UsernetConfigurationProvider();
  const empty = { type: '', request: '', name: '' };
  assert.equal(p.resolveDebugConfiguration(undefined, empty).profile, undefined);
  fake.openDocument(profile('/ws/vm.qemu'));
  assert.deepEqual(p.resolveDebugConfiguration(undefined, empty), { type: 'usernet', request: 'launch', name: 'Usernet: vm.qemu', profile: '/ws/vm.qemu' });
  // A launch.json entry is left as written, its relative profile taken from its folder.
  const entry = p.resolveDebugConfiguration(undefined, { type: 'usernet', request: 'launch', name: 'x', profile: 'vms/a.qemu' });
  assert.equal(p.resolveDebugConfigurationWithSubstitutedVariables(workspace.workspaceFolders![1] as never, entry).profile, '/other/vms/a.qemu');
});

test('client options: dist/profile-server.js over IPC, qemu-cmdline documents, the engine setting', () => {
  const server = profileServerOptions(Uri.file('/ext') as never, library) as { run: { module: string; transport: number }; debug: unknown };
  assert.equal(server.run.module, '/ext/dist/profile-server.js');
  assert.equal(server.run.transport, 1, 'TransportKind.ipc');
  assert.deepEqual(server.debug, server.run);
  fake.settings.set('usernet.profileEngine', 'qemu');
  assert.deepEqual(profileClientOptions(), {
    documentSelector: [{ language: 'qemu-cmdline' }],
    initializationOptions: { profileEngine: 'qemu' },
    synchronize: { configurationSection: 'usernet' },
  });
});

/** A JSON-RPC request over Node's IPC channel, the transport TransportKind.ipc gives. */
function ipcRequest(child: ReturnType<typeof fork>, id: number, method: string, params: unknown): Promise<any> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to ${method}`)), 8000);
    const onMessage = (m: any) => {
      if (m?.id !== id) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      if (m.error) reject(new Error(m.error.message));
      else resolve(m.result);
    };
    child.on('message', onMessage);
    child.send({ jsonrpc: '2.0', id, method, params });
  });
}

test('the shipped server speaks over IPC as the client forks it, and its lenses drive the profile commands', async (t) => {
  const bundled = join(root, 'dist', 'profile-server.js');
  // The bundle the extension ships (npm run build); the source when it has not been built.
  const child = existsSync(bundled)
    ? fork(bundled, ['--node-ipc'], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] })
    : fork(join(root, 'extension', 'profile', 'server-main.ts'), ['--node-ipc'], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], execArgv: ['--import', 'tsx'] });
  t.after(() => { if (child.exitCode === null) child.kill(); });
  const init = await ipcRequest(child, 1, 'initialize', { processId: process.pid, rootUri: null, capabilities: {}, initializationOptions: { profileEngine: 'qemu' } });
  assert.equal(init.serverInfo.name, 'usernet-profile');
  child.send({ jsonrpc: '2.0', method: 'initialized', params: {} });
  const uri = 'file:///ws/vm.qemu';
  child.send({ jsonrpc: '2.0', method: 'textDocument/didOpen', params: { textDocument: { uri, languageId: PROFILE_LANGUAGE, version: 1, text: PROFILE_TEXT } } });
  const lenses: { command: { command: string; arguments: unknown[] } }[] = await ipcRequest(child, 2, 'textDocument/codeLens', { textDocument: { uri } });
  assert.deepEqual(lenses.map((l) => l.command.command), [LAUNCH_COMMAND, DEBUG_COMMAND]);

  registerProfileCommands(new MemoryLog());
  fake.openDocument(profile('/ws/vm.qemu'), false);
  for (const lens of lenses) await run(lens.command.command, ...lens.command.arguments);
  assert.deepEqual(fake.started, [
    { type: 'usernet', request: 'launch', name: 'Usernet: vm.qemu', profile: '/ws/vm.qemu', noDebug: true },
    { type: 'usernet', request: 'launch', name: 'Usernet: vm.qemu', profile: '/ws/vm.qemu' },
  ]);
  await ipcRequest(child, 3, 'shutdown', null);
  child.send({ jsonrpc: '2.0', method: 'exit' });
  const code = await new Promise((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', r)));
  assert.equal(code, 0);
});

test('the server starts once, when the first profile opens (or is open at activation), and stops on deactivate', async () => {
  RecordingClient.made = [];
  RecordingClient.nextFailure = undefined;
  fake.openDocument(profile('/ws/readme.md', '#', 'markdown'));
  const client = new ProfileLanguageClient(Uri.file('/ext') as never, library, new MemoryLog());
  assert.equal(client.started, false, 'no profile open: no server process');
  fake.openDocument(profile('/ws/a.qemu'));
  fake.openDocument(profile('/ws/b.qemu'));
  await client.ready;
  assert.equal(RecordingClient.made.length, 1);
  const made = RecordingClient.made[0]!;
  assert.equal(made.id, 'usernet.profile');
  assert.equal((made.server as { run: { module: string } }).run.module, '/ext/dist/profile-server.js');
  assert.deepEqual((made.client as { documentSelector: unknown }).documentSelector, [{ language: 'qemu-cmdline' }]);
  assert.equal(made.running, true);
  await client.stop();
  assert.equal(made.stops, 1);
  fake.openDocument(profile('/ws/c.qemu'));
  assert.equal(RecordingClient.made.length, 1, 'not restarted after deactivate');

  fake.reset();
  fake.openDocument(profile('/ws/open-already.qemu'), false);
  const second = new ProfileLanguageClient(Uri.file('/ext') as never, library, new MemoryLog());
  assert.equal(second.started, true, 'a profile restored with the window starts it at activation');
  second.dispose();
  await tick();
  assert.equal(RecordingClient.made[1]!.stops, 1);
});

test('a server that fails to start is reported, not thrown, and stop still returns', async () => {
  RecordingClient.made = [];
  RecordingClient.nextFailure = new Error('spawn ENOENT');
  const log = new MemoryLog();
  const client = new ProfileLanguageClient(Uri.file('/ext') as never, library, log);
  fake.openDocument(profile('/ws/a.qemu'));
  await client.ready;
  RecordingClient.nextFailure = undefined;
  assert.match(errors()[0]!, /^Usernet: the \.qemu profile checker did not start: spawn ENOENT/);
  assert.ok(log.lines.some((l) => l.startsWith('error ') && l.includes('spawn ENOENT')));
  await client.stop();
  assert.equal(RecordingClient.made[0]!.stops, 0, 'nothing was running');
});

test('package.json contributes the language, its activation, the setting and the profile commands', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const c = pkg.contributes;
  assert.ok(pkg.activationEvents.includes('onLanguage:qemu-cmdline'));
  const lang = c.languages.find((l: { id: string }) => l.id === 'qemu-cmdline');
  assert.deepEqual([lang.extensions, lang.aliases], [['.qemu'], ['QEMU command line']]);
  const langConfig = JSON.parse(readFileSync(join(root, lang.configuration), 'utf8'));
  assert.equal(langConfig.comments.lineComment, '#');
  assert.deepEqual(langConfig.autoClosingPairs.map((p: { open: string }) => p.open), ["'", '"']);
  const grammar = c.grammars.find((g: { language: string }) => g.language === 'qemu-cmdline');
  assert.equal(JSON.parse(readFileSync(join(root, grammar.path), 'utf8')).scopeName, grammar.scopeName);
  const setting = c.configuration.properties['usernet.profileEngine'];
  assert.deepEqual([setting.enum, setting.default], [['embedded', 'qemu'], 'embedded']);
  for (const id of [LAUNCH_COMMAND, DEBUG_COMMAND]) {
    assert.equal(c.commands.find((x: { command: string }) => x.command === id)?.category, 'Usernet', `${id} is contributed`);
    assert.ok(c.menus['editor/title/run'].some((m: { command: string; when: string }) => m.command === id && /qemu-cmdline/.test(m.when)));
  }
});
