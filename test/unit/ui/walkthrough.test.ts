import '../../support/use-vscode-fake';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { beforeEach, test } from 'node:test';
import { ConsolePanels } from '../../../extension/ui/console-panel';
import { WalkthroughProgress } from '../../../extension/ui/walkthrough';
import { registerWalkthroughCommands } from '../../../extension/ui/walkthrough-commands';
import { keysReached, WALK_KEYS, type WalkKey } from '../../../extension/ui/walkthrough-progress';
import { VmSessions } from '../../../extension/ui/vm-sessions';
import { fake, FakeDebugSession, Uri } from '../../support/vscode-fake';
import { MemoryLog, row, tick } from './helpers';

beforeEach(() => fake.reset());

const root = join(__dirname, '../../..');

test('each VM event sets the key of the step it completes, and nothing else', () => {
  const cases: { event: Parameters<typeof keysReached>[0]; keys: WalkKey[] }[] = [
    { event: { kind: 'vmState', body: { state: 'booting' } }, keys: [] },
    { event: { kind: 'vmState', body: { state: 'failed', message: 'no kernel' } }, keys: [] },
    { event: { kind: 'vmState', body: { state: 'running' } }, keys: [WALK_KEYS.launched] },
    // The lease is what the stack acked (vmState.guestAddress comes from the DHCP ACK).
    { event: { kind: 'vmState', body: { state: 'running', guestAddress: '10.0.2.15' } }, keys: [WALK_KEYS.launched, WALK_KEYS.leased] },
    // Out through the gateway: the host's loopback behind 10.0.2.2.
    { event: { kind: 'sessions', sessions: [row({ remote: '10.0.2.2:43210' })] }, keys: [WALK_KEYS.reachedHost] },
    { event: { kind: 'sessions', sessions: [row({ remote: '10.0.2.3:53', protocol: 'udp' })] }, keys: [] },
    { event: { kind: 'sessions', sessions: [row({ remote: '10.0.2.20:80' })] }, keys: [] },
    // A hostfwd session: data both ways is a guest that answered; a refusal moves none.
    { event: { kind: 'sessions', sessions: [row({ inbound: true, remote: '127.0.0.1:5555', bytesIn: 20, bytesOut: 21 })] }, keys: [WALK_KEYS.forwarded] },
    { event: { kind: 'sessions', sessions: [row({ inbound: true, remote: '127.0.0.1:5555', bytesIn: 0, bytesOut: 0 })] }, keys: [] },
    { event: { kind: 'stack', frames: ['slirp_input: 10.0.2.15 -> 10.0.2.2 ICMP echo', 'net_slirp_receive', 'qemu_send_packet', 'e1000_send_packet', 'process_tx_desc', 'start_xmit', 'e1000_mmio_write'] }, keys: [WALK_KEYS.readChain] },
    // A stop elsewhere, or a chain that does not start at the NIC's register write (the QEMU engine), is not this step.
    { event: { kind: 'stack', frames: ['tcp_input: x', 'ip_input', 'slirp_input', 'e1000_mmio_write'] }, keys: [] },
    { event: { kind: 'stack', frames: ['slirp_input: x', 'net_slirp_receive'] }, keys: [] },
    { event: { kind: 'stack', frames: [] }, keys: [] },
    { event: { kind: 'hostReceived' }, keys: [WALK_KEYS.reachedHost] },
    { event: { kind: 'inboundRefused' }, keys: [WALK_KEYS.inboundRefused] },
    { event: { kind: 'guestAnswered' }, keys: [WALK_KEYS.forwarded] },
  ];
  for (const { event, keys } of cases) assert.deepEqual(keysReached(event), keys, JSON.stringify(event));
});

test('the VMs\' reports and the stack VS Code is shown set the context keys', () => {
  const vms = new VmSessions(new MemoryLog());
  const progress = new WalkthroughProgress(vms);
  const s = fake.startSession(new FakeDebugSession());
  assert.equal(fake.context.get(WALK_KEYS.launched), undefined);
  fake.event(s, 'usernet.vmState', { state: 'running' });
  assert.equal(fake.context.get(WALK_KEYS.launched), true);
  assert.equal(fake.context.get(WALK_KEYS.leased), undefined, 'no lease yet');
  fake.event(s, 'usernet.vmState', { state: 'running', guestAddress: '10.0.2.15' });
  assert.equal(fake.context.get(WALK_KEYS.leased), true);
  fake.event(s, 'usernet.sessions', { sessions: [row({ remote: '10.0.2.2:40001' })], forwards: [] });
  assert.equal(fake.context.get(WALK_KEYS.reachedHost), true);
  // The stackTrace answer VS Code asked for when the VM stopped.
  fake.adapterSends(s, { type: 'response', command: 'stackTrace', success: true, body: { stackFrames: [{ name: 'tcp_input: x' }, { name: 'e1000_mmio_write' }] } });
  assert.equal(fake.context.get(WALK_KEYS.readChain), undefined);
  fake.adapterSends(s, { type: 'response', command: 'stackTrace', success: true, body: { stackFrames: [{ name: 'slirp_input: ARP' }, { name: 'start_xmit' }, { name: 'e1000_mmio_write' }] } });
  assert.equal(fake.context.get(WALK_KEYS.readChain), true);
  assert.ok(progress.has(WALK_KEYS.readChain));
  // A malformed answer is ignored, not thrown.
  fake.adapterSends(s, { type: 'response', command: 'stackTrace', success: true, body: { stackFrames: 'nope' } });
  progress.dispose();
});

test('package.json: every step has media that exists, a button this extension runs, and completes on one of the keys', () => {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const [walkthrough] = manifest.contributes.walkthroughs;
  const vms = new VmSessions(new MemoryLog());
  const progress = new WalkthroughProgress(vms);
  registerWalkthroughCommands({ vms, consoles: new ConsolePanels(vms, Uri.file('/ext') as never, new MemoryLog()), progress, log: new MemoryLog() });
  const keys = new Set<string>(Object.values(WALK_KEYS));
  const used = new Set<string>();
  for (const step of walkthrough.steps) {
    assert.ok(existsSync(join(root, step.media.svg)), `${step.id}: ${step.media.svg} exists`);
    assert.ok(step.media.altText, `${step.id} has alt text`);
    const svg = readFileSync(join(root, step.media.svg), 'utf8');
    assert.match(svg, /var\(--vscode-foreground/, `${step.id}: its picture takes the theme's colours`);
    const buttons = [...step.description.matchAll(/\]\(command:([\w.]+)\)/g)].map((m) => m[1]);
    assert.equal(buttons.length, 1, `${step.id} has one button`);
    assert.ok(fake.commands.has(buttons[0]), `${step.id}: ${buttons[0]} is registered`);
    assert.equal(step.completionEvents.length, 1);
    const key = /^onContext:(.+)$/.exec(step.completionEvents[0])?.[1];
    assert.ok(key && keys.has(key), `${step.id} completes on a walkthrough key (${step.completionEvents[0]})`);
    used.add(key);
  }
  assert.deepEqual([...used].sort(), [...keys].sort(), 'every key completes a step');
});

function walkthroughWithVm(state: Record<string, unknown>) {
  const vms = new VmSessions(new MemoryLog());
  const progress = new WalkthroughProgress(vms);
  const consoles = new ConsolePanels(vms, Uri.file('/ext') as never, new MemoryLog());
  const disposables = registerWalkthroughCommands({ vms, consoles, progress, log: new MemoryLog() });
  const session = fake.startSession(new FakeDebugSession());
  fake.event(session, 'usernet.vmState', state);
  const typed: string[] = [];
  const onType: ((line: string) => void)[] = [];
  session.handler = (command, args) => {
    if (command !== 'usernet.serialInput') return undefined;
    const line = Buffer.from((args as { data: string }).data, 'base64').toString();
    typed.push(line);
    for (const f of onType) f(line);
    return undefined;
  };
  return { session, typed, onType, dispose: () => disposables.forEach((d) => d.dispose()) };
}

test('Connect from the guest: a loopback listener, the guest\'s nc typed into its console, the step done when the line arrives', async () => {
  const w = walkthroughWithVm({ state: 'running', guestAddress: '10.0.2.15' });
  let reply = '';
  // What the guest's `echo hello from the guest | nc 10.0.2.2 PORT` does, through the NAT, to the host's loopback.
  w.onType.push((line) => {
    const port = Number(/nc 10\.0\.2\.2 (\d+)/.exec(line)?.[1]);
    const c = net.connect(port, '127.0.0.1', () => c.write('hello from the guest\n'));
    c.on('data', (d) => (reply += d.toString()));
  });
  await fake.commands.get('usernet.walkthrough.reachHost')!();
  assert.match(w.typed[0]!, /^echo hello from the guest \| nc 10\.0\.2\.2 \d+\r$/);
  for (let i = 0; i < 100 && !fake.context.get(WALK_KEYS.reachedHost); i++) await tick(10);
  assert.equal(fake.context.get(WALK_KEYS.reachedHost), true);
  assert.equal(reply, 'hello from the host\n');
  assert.match(fake.messages.at(-1)!.text, /received "hello from the guest" from 127\.0\.0\.1:\d+/);
  w.dispose();
});

test('Try host to guest: the guest listens, the host\'s connection is refused, the step is done; without a VM nothing is typed', async () => {
  const none = walkthroughWithVm({ state: 'booting' });
  await fake.commands.get('usernet.walkthrough.tryInbound')!();
  assert.deepEqual(none.typed, []);
  assert.match(fake.messages.at(-1)!.text, /still starting/);
  none.dispose();
  fake.reset();

  const w = walkthroughWithVm({ state: 'running', guestAddress: '10.0.2.15' });
  await fake.commands.get('usernet.walkthrough.tryInbound')!();
  assert.deepEqual(w.typed, ['(echo hello from the guest | nc -l -p 8080 &)\r']);
  assert.equal(fake.context.get(WALK_KEYS.inboundRefused), true);
  assert.match(fake.messages.at(-1)!.text, /connecting to 127\.0\.0\.1:\d+ was refused/);
  w.dispose();
});
