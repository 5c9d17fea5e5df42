import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LspTestClient } from './lsp-client';

const root = resolve(__dirname, '..', '..', '..');
let client: LspTestClient;
let dir: string;
let version = 1;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'usernet-profile-lsp-'));
  writeFileSync(join(dir, 'vmlinuz'), 'kernel');
  client = new LspTestClient(root);
  const init = await client.request('initialize', {
    processId: process.pid,
    rootUri: pathToFileURL(dir).href,
    capabilities: { textDocument: { completion: { completionItem: { snippetSupport: false } } } },
    initializationOptions: { profileEngine: 'embedded' },
  });
  assert.equal(init.capabilities.hoverProvider, true);
  assert.ok(init.capabilities.completionProvider);
  assert.ok(init.capabilities.codeLensProvider);
  client.notify('initialized', {});
});

after(async () => {
  await client.close();
  rmSync(dir, { recursive: true, force: true });
});

function open(name: string, text: string): string {
  const uri = pathToFileURL(join(dir, name)).href;
  client.notify('textDocument/didOpen', { textDocument: { uri, languageId: 'qemu-cmdline', version: version++, text } });
  return uri;
}

/** The diagnostics published for the document's latest version. */
const diagnosticsFor = (uri: string) =>
  client.waitForNotification('textDocument/publishDiagnostics', (p) => p.uri === uri && p.version === version - 1);

test('didOpen publishes diagnostics at the exact tokens', async () => {
  const text = [
    'qemu-system-x86_64 -m 512 -kernel vmlinuz -initrd missing.img \\',
    '  -netdev user,id=n0,hostfwd=tcp::2222-:22,bogus=1 \\',
    '  -device e1000,netdev=n1',
  ].join('\n');
  const uri = open('a.qemu', text);
  const { diagnostics } = await diagnosticsFor(uri);
  const byCode = new Map<string, any>(diagnostics.map((d: any) => [d.code, d]));
  assert.deepEqual(byCode.get('file-not-found')?.range, { start: { line: 0, character: 50 }, end: { line: 0, character: 61 } });
  assert.match(byCode.get('file-not-found').message, /missing\.img/);
  assert.deepEqual(byCode.get('unknown-netdev-suboption')?.range, { start: { line: 1, character: 43 }, end: { line: 1, character: 48 } });
  assert.deepEqual(byCode.get('missing-netdev')?.range, { start: { line: 2, character: 23 }, end: { line: 2, character: 25 } });
  assert.deepEqual(byCode.get('unused-netdev')?.range, { start: { line: 1, character: 18 }, end: { line: 1, character: 20 } });
  assert.equal(byCode.get('missing-netdev').severity, 1);
  assert.equal(byCode.get('unused-netdev').severity, 2);
  // vmlinuz exists next to the profile: no complaint about it.
  assert.ok(!diagnostics.some((d: any) => d.message.includes('vmlinuz')));
});

test('didChange re-publishes, and the engine comment switches engine warnings', async () => {
  const uri = open('b.qemu', 'qemu-system-x86_64 -enable-kvm -m 1G');
  const first = await diagnosticsFor(uri);
  const kvm = first.diagnostics.find((d: any) => d.code === 'engine-unsupported');
  assert.ok(kvm, 'the embedded engine cannot run -enable-kvm');
  assert.deepEqual(kvm.range, { start: { line: 0, character: 19 }, end: { line: 0, character: 30 } });
  assert.match(kvm.message, /not supported by the embedded engine \(use engine: qemu\)/);

  client.notify('textDocument/didChange', {
    textDocument: { uri, version: version++ },
    contentChanges: [{ text: '# usernet: engine=qemu\nqemu-system-x86_64 -enable-kvm -m 1G' }],
  });
  const second = await diagnosticsFor(uri);
  assert.deepEqual(second.diagnostics, []);
});

test('completion offers options, suboptions and values', async () => {
  const uri = open('c.qemu', 'qemu-system-x86_64 -ena\n-netdev user,id=n0,host\n-device e1000,netdev=\n-nic user,model=');
  await diagnosticsFor(uri);
  const options = await client.request('textDocument/completion', { textDocument: { uri }, position: { line: 0, character: 23 } });
  const kvm = options.find((i: any) => i.label === '-enable-kvm');
  assert.ok(kvm);
  assert.deepEqual(kvm.textEdit.range, { start: { line: 0, character: 19 }, end: { line: 0, character: 23 } });
  assert.match(kvm.documentation.value, /\/dev\/kvm/);

  const subs = await client.request('textDocument/completion', { textDocument: { uri }, position: { line: 1, character: 23 } });
  assert.deepEqual(subs.map((i: any) => i.label).sort(), ['host=', 'hostfwd=', 'hostname=']);
  assert.deepEqual(subs[0].textEdit.range, { start: { line: 1, character: 19 }, end: { line: 1, character: 23 } });

  const ids = await client.request('textDocument/completion', { textDocument: { uri }, position: { line: 2, character: 21 } });
  assert.deepEqual(ids.map((i: any) => i.label), ['n0']);

  const models = await client.request('textDocument/completion', { textDocument: { uri }, position: { line: 3, character: 16 } });
  assert.ok(models.some((i: any) => i.label === 'e1000'));
  assert.ok(models.some((i: any) => i.label === 'virtio-net-pci'));
});

test('hover documents options with their practical notes', async () => {
  const uri = open('d.qemu', 'qemu-system-x86_64 -enable-kvm -cpu host -m 1G -nographic -hda disk.qcow2');
  await diagnosticsFor(uri);
  const hover = (character: number) => client.request('textDocument/hover', { textDocument: { uri }, position: { line: 0, character } });
  const kvm = await hover(22);
  assert.match(kvm.contents.value, /\/dev\/kvm/);
  assert.match(kvm.contents.value, /near-native/);
  assert.deepEqual(kvm.range, { start: { line: 0, character: 19 }, end: { line: 0, character: 30 } });
  assert.match((await hover(37)).contents.value, /-cpu host.*requires KVM/s);
  assert.match((await hover(46)).contents.value, /guest RAM/);
  assert.match((await hover(52)).contents.value, /serial port is on stdio/);
  assert.match((await hover(62)).contents.value, /first IDE disk/);
});

test('code lenses launch and debug the document', async () => {
  const uri = open('e.qemu', 'qemu-system-x86_64 -m 512');
  await diagnosticsFor(uri);
  const lenses = await client.request('textDocument/codeLens', { textDocument: { uri } });
  assert.deepEqual(lenses.map((l: any) => [l.command.command, l.command.arguments]), [
    ['usernet.launchProfile', [uri]],
    ['usernet.debugProfile', [uri]],
  ]);
  assert.deepEqual(lenses[0].range.start, { line: 0, character: 0 });
});
