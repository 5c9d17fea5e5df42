import '../../support/use-vscode-fake';
import assert from 'node:assert/strict';
import { beforeEach, test, type TestContext } from 'node:test';
import type { HostMessage } from '../../../webview/shared/protocol';
import { ConsolePanels } from '../../../extension/ui/console-panel';
import { LEASE_HINT, LeaseHint, QUIET_MS } from '../../../extension/ui/lease-hint';
import { VmSessions } from '../../../extension/ui/vm-sessions';
import { FakeDebugSession, fake, Uri } from '../../support/vscode-fake';
import { advance, MemoryLog } from './helpers';

beforeEach(() => fake.reset());

const bytes = (s: string) => new TextEncoder().encode(s);

function hintWatch(t: TestContext) {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const shown: { hint: string; line: string }[] = [];
  const hint = new LeaseHint((h, line) => shown.push({ hint: h, line: new TextDecoder().decode(line) }));
  return { hint, shown };
}

test('running, quiet, no lease: the hint once, with the line the guest was on', (t) => {
  const { hint, shown } = hintWatch(t);
  hint.output(bytes('Usernet guest ready\r\nusernet:~# '));
  advance(t, QUIET_MS * 2);
  assert.deepEqual(shown, [], 'not before the VM runs');
  hint.state(true, false);
  advance(t, QUIET_MS - 100);
  hint.output(bytes('ec'));
  hint.output(bytes('ho'));
  advance(t, QUIET_MS - 100);
  assert.deepEqual(shown, [], 'output keeps it waiting');
  advance(t, 200);
  assert.deepEqual(shown, [{ hint: LEASE_HINT, line: 'usernet:~# echo' }]);
  hint.output(bytes('\r\nusernet:~# '));
  advance(t, QUIET_MS * 3);
  assert.equal(shown.length, 1, 'once per VM');
});

test('no hint when the guest has a lease, when it gets one in time, or while the VM is paused', (t) => {
  const { hint, shown } = hintWatch(t);
  hint.state(true, true);
  advance(t, QUIET_MS * 2);
  const second = new LeaseHint((h) => shown.push({ hint: h, line: '' }));
  second.state(true, false);
  advance(t, QUIET_MS / 2);
  second.state(true, true);
  advance(t, QUIET_MS * 2);
  const third = new LeaseHint((h) => shown.push({ hint: h, line: '' }));
  third.state(true, false);
  third.state(false, false);
  advance(t, QUIET_MS * 2);
  assert.deepEqual(shown, []);
  third.state(true, false);
  advance(t, QUIET_MS);
  assert.equal(shown.length, 1, 'running again, still no lease: the hint');
});

test('a long line without newlines keeps only its tail to write again', (t) => {
  const { hint, shown } = hintWatch(t);
  hint.state(true, false);
  hint.output(bytes('x'.repeat(10_000)));
  advance(t, QUIET_MS);
  assert.equal(shown[0]!.line.length, 512);
});

test('the console shows the hint as one dim line, then the prompt again', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const vms = new VmSessions(new MemoryLog());
  new ConsolePanels(vms, Uri.file('/ext') as never, new MemoryLog());
  const s = fake.startSession(new FakeDebugSession());
  const page = fake.panels.at(-1)!;
  page.webview.send({ type: 'ready', cols: 80, rows: 24 });
  fake.event(s, 'usernet.serial', { seq: 0, data: Buffer.from('Usernet guest ready\r\nusernet:~# ').toString('base64') });
  fake.event(s, 'usernet.vmState', { state: 'running' });
  advance(t, QUIET_MS + 10, 50);
  const shown = Buffer.concat((page.webview.posted as HostMessage[]).flatMap((m) => (m.type === 'output' ? [Buffer.from(m.data, 'base64')] : []))).toString();
  assert.equal(shown, `Usernet guest ready\r\nusernet:~# \r\n\x1b[2m[usernet] ${LEASE_HINT}\x1b[0m\r\nusernet:~# `);
});
