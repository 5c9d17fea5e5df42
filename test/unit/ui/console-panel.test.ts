import '../../support/use-vscode-fake';
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import type { HostMessage } from '../../../webview/shared/protocol';
import { consolePageHtml, contentSecurityPolicy } from '../../../extension/ui/console-html';
import { ConsolePanels } from '../../../extension/ui/console-panel';
import { ConsoleStream } from '../../../extension/ui/console-stream';
import { VmSessions } from '../../../extension/ui/vm-sessions';
import { FakeDebugSession, fake, Uri, type FakeWebviewPanel } from '../../support/vscode-fake';
import { MemoryLog } from './helpers';

beforeEach(() => fake.reset());

const limits = { chunkBytes: 1000, windowBytes: 4000, scrollbackBytes: 20_000 };
const outputs = (sent: HostMessage[]) => sent.filter((m): m is Extract<HostMessage, { type: 'output' }> => m.type === 'output');
const decode = (ms: HostMessage[]) => Buffer.concat(outputs(ms).map((m) => Buffer.from(m.data, 'base64')));
const pattern = (n: number, from = 0) => Uint8Array.from({ length: n }, (_, i) => (from + i) % 251);

/** A page that acks everything it gets. */
function ackAll(stream: ConsoleStream, sent: HostMessage[]) {
  let acked = 0;
  while (acked < outputs(sent).length) stream.ack(outputs(sent)[acked++]!.id);
}

test('no more than the window is in flight; acks let the rest through, in order and once', () => {
  const sent: HostMessage[] = [];
  const stream = new ConsoleStream((m) => sent.push(m), limits);
  stream.attach();
  const data = pattern(15_000);
  for (let i = 0; i < data.length; i += 700) stream.write(data.subarray(i, i + 700));
  assert.equal(decode(sent).length, 4000, 'stops at the window');
  assert.ok(outputs(sent).every((m) => Buffer.from(m.data, 'base64').length <= 1000), 'chunks are bounded');
  assert.equal(stream.unackedBytes, 4000);
  assert.equal(stream.pendingBytes, 11_000);
  ackAll(stream, sent);
  assert.deepEqual(decode(sent), Buffer.from(data));
  assert.equal(stream.unackedBytes, 0);
  assert.equal(stream.lostBytes, 0);
});

test('a flood beyond the bound keeps memory bounded, loses only the oldest and says so', () => {
  const sent: HostMessage[] = [];
  const stream = new ConsoleStream((m) => sent.push(m), limits);
  stream.attach();
  const data = pattern(100_000);
  for (let i = 0; i < data.length; i += 500) stream.write(data.subarray(i, i + 500));
  assert.ok(stream.scrollbackBytes <= limits.scrollbackBytes);
  assert.equal(stream.lostBytes, 100_000 - 4000 - 20_000, 'everything within the window and the bound survives');
  ackAll(stream, sent);
  const text = decode(sent);
  assert.ok(text.includes(Buffer.from('76000 bytes of output were dropped')), 'a notice says what was lost');
  assert.ok(text.subarray(text.length - 20_000).equals(Buffer.from(data.subarray(80_000))), 'the newest bytes all arrive');
  assert.ok(text.subarray(0, 4000).equals(Buffer.from(data.subarray(0, 4000))), 'what was in flight arrived first');
});

test('a single write larger than the scrollback keeps its tail', () => {
  const sent: HostMessage[] = [];
  const stream = new ConsoleStream((m) => sent.push(m), limits);
  stream.write(pattern(50_000));
  assert.equal(stream.scrollbackBytes, 20_000);
  stream.attach();
  ackAll(stream, sent);
  assert.deepEqual(decode(sent), Buffer.from(pattern(20_000, 30_000)));
});

test('attaching again resets the page and replays the scrollback; stale acks are ignored', () => {
  const sent: HostMessage[] = [];
  const stream = new ConsoleStream((m) => sent.push(m), limits);
  stream.write(new TextEncoder().encode('booting...\r\nusernet:~# '));
  stream.attach();
  const firstIds = outputs(sent).map((m) => m.id);
  stream.detach();
  sent.length = 0;
  stream.write(new TextEncoder().encode('ls\r\n'));
  assert.equal(sent.length, 0, 'nothing is sent while no page is attached');
  stream.attach();
  assert.equal(sent[0]!.type, 'reset');
  assert.equal(decode(sent).toString(), 'booting...\r\nusernet:~# ls\r\n');
  const before = stream.unackedBytes;
  for (const id of firstIds) stream.ack(id);
  assert.equal(stream.unackedBytes, before, 'acks from before the reset count for nothing');
  assert.ok(outputs(sent).every((m) => m.replay === true), 'what the log held at attach is marked as a replay');
  stream.write(new TextEncoder().encode('new'));
  assert.equal(outputs(sent).at(-1)!.replay, undefined, 'new output is not');
  assert.equal(Buffer.from(outputs(sent).at(-1)!.data, 'base64').toString(), 'new', 'and never shares a chunk with replayed bytes');
});

test('the page policy allows our nonce script and styles, nothing remote, no eval', () => {
  const csp = contentSecurityPolicy('https://webview.test', 'abc123');
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'nonce-abc123'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-eval|https?:\/\/(?!webview\.test)|\*/);
  assert.doesNotMatch(csp.replace("style-src-attr 'unsafe-inline'", ''), /unsafe-inline/, 'inline only for style attributes');
  const html = consolePageHtml({ cspSource: 'https://webview.test', scriptUri: 'https://webview.test/c.js', xtermCssUri: 'x.css', consoleCssUri: 'y.css', title: 'Serial <1>' }, 'abc123');
  assert.match(html, /<script nonce="abc123" src="https:\/\/webview.test\/c.js"><\/script>/);
  assert.match(html, /<title>Serial &#60;1&#62;<\/title>/);
});

function panelSetup() {
  const log = new MemoryLog();
  const vms = new VmSessions(log);
  const consoles = new ConsolePanels(vms, Uri.file("/ext") as never, log, limits);
  const session = fake.startSession(new FakeDebugSession());
  const serial = (seq: number, text: string) => fake.event(session, 'usernet.serial', { seq, data: Buffer.from(text).toString('base64') });
  return { log, vms, consoles, session, serial, panel: () => fake.panels.at(-1)! };
}

const pageText = (p: FakeWebviewPanel) => decode(p.webview.posted as HostMessage[]).toString();

test('a VM gets its console panel at start, with local resources only', () => {
  const { panel } = panelSetup();
  assert.equal(fake.panels.length, 1);
  const p = panel();
  assert.equal(p.options.enableScripts, true);
  assert.equal(p.options.retainContextWhenHidden, undefined);
  assert.deepEqual((p.options.localResourceRoots as Uri[]).map((u) => u.path), ['/ext/dist/webview', '/ext/media']);
  assert.match(p.webview.html, /https:\/\/webview.test\/ext\/dist\/webview\/console.js/);
  assert.match(p.webview.html, /Content-Security-Policy/);
});

test('serial output reaches the page after it is ready; input goes to the adapter', async () => {
  const { serial, panel, session } = panelSetup();
  serial(0, 'Linux version 6.1\r\n');
  const p = panel();
  assert.equal(p.webview.posted.length, 0, 'nothing before the page says it is ready');
  p.webview.send({ type: 'ready', cols: 80, rows: 24 });
  serial(1, 'usernet:~# ');
  await Promise.resolve();
  assert.equal(pageText(p), 'Linux version 6.1\r\nusernet:~# ');
  p.webview.send({ type: 'input', data: Buffer.from('ls\r').toString('base64') });
  assert.deepEqual(session.requests.at(-1), { command: 'usernet.serialInput', args: { data: Buffer.from('ls\r').toString('base64') } });
  p.webview.send({ type: 'copy', text: 'selected text' });
  assert.equal(fake.clipboard, 'selected text');
});

test('malformed messages from the page are dropped and logged', () => {
  const { panel, session, log } = panelSetup();
  const p = panel();
  p.webview.send({ type: 'input', data: 'not base64!' });
  p.webview.send({ type: 'input' });
  p.webview.send({ type: 'evil', data: 'x' });
  p.webview.send('ready');
  assert.equal(session.requests.length, 0);
  assert.equal(log.lines.filter((l) => l.includes('malformed message from the webview')).length, 4);
});

test('closing and reopening the console replays the scrollback; a gap in serial chunks is noted', async () => {
  const { serial, panel, consoles, vms } = panelSetup();
  const first = panel();
  first.webview.send({ type: 'ready', cols: 80, rows: 24 });
  serial(0, 'one\r\n');
  serial(3, 'four\r\n');
  first.dispose();
  serial(4, 'five\r\n');
  consoles.open(vms.current!);
  const second = panel();
  assert.notEqual(second, first);
  second.webview.send({ type: 'ready', cols: 80, rows: 24 });
  const text = pageText(second);
  assert.match(text, /^one\r\n.*2 chunk\(s\) of serial output never arrived.*four\r\nfive\r\n$/s);
  assert.equal((second.webview.posted[0] as HostMessage).type, 'reset');
});

test('a page discarded while hidden gets everything again when it comes back', async () => {
  const { serial, panel } = panelSetup();
  const p = panel();
  p.webview.send({ type: 'ready', cols: 80, rows: 24 });
  serial(0, 'a');
  p.webview.live = false; // hidden, context not retained: messages are not delivered
  serial(1, 'b');
  await new Promise((r) => setTimeout(r, 0));
  serial(2, 'c');
  p.webview.live = true;
  p.webview.posted.length = 0;
  p.webview.send({ type: 'ready', cols: 80, rows: 24 });
  assert.equal(pageText(p), 'abc');
});

test('the console follows theme changes and VM state', () => {
  const { panel, session } = panelSetup();
  const p = panel();
  fake.colorTheme.fire({ kind: 2 });
  fake.event(session, 'usernet.vmState', { state: 'failed', message: 'the kernel did not boot' });
  const types = (p.webview.posted as HostMessage[]).map((m) => m.type);
  assert.deepEqual(types, ['theme', 'state']);
  assert.deepEqual(p.webview.posted[1], { type: 'state', state: 'failed', message: 'the kernel did not boot' });
});

test('an ended VM\'s tab says so; a VM of the same name started again takes that tab, with a fresh page', () => {
  const { session, serial, panel } = panelSetup();
  const tab = panel();
  tab.webview.send({ type: 'ready', cols: 80, rows: 24 });
  serial(0, 'first boot\r\n');
  const firstPage = tab.webview.html;
  fake.endSession(session);
  assert.equal(tab.title, 'Serial: Usernet VM (ended)');
  assert.equal(tab.disposed, false, 'the last output stays readable');

  const again = fake.startSession(new FakeDebugSession());
  assert.equal(fake.panels.length, 1, 'no second tab');
  assert.equal(tab.title, 'Serial: Usernet VM');
  assert.notEqual(tab.webview.html, firstPage, 'the page is loaded afresh');
  tab.webview.posted.length = 0;
  tab.webview.send({ type: 'ready', cols: 80, rows: 24 });
  fake.event(again, 'usernet.serial', { seq: 0, data: Buffer.from('second boot\r\n').toString('base64') });
  assert.equal(pageText(tab), 'second boot\r\n');

  fake.startSession(new FakeDebugSession('Another VM'));
  assert.equal(fake.panels.length, 2, 'a VM of another name gets its own tab');
});
