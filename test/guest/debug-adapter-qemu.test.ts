/**
 * The debug adapter with the QEMU engine: `node dist/adapter.js` over DAP,
 * the bundled guest under qemu-system-x86_64 (TCG) on our slirp. Only the
 * slirp stages are ours there: a breakpoint on the e1000 is refused with the
 * reason, a stop's call stack starts at net_slirp_receive, and pausing goes
 * through QMP.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { TopologyBody } from '../../extension/debug/protocol';
import { SharedAdapter, waitFor } from '../support/adapter-process';
import { containmentProblem } from '../support/containment';
import { qemuMissing } from './qemu-scenarios';

const skip = containmentProblem() ?? qemuMissing();

const adapter = new SharedAdapter();
const client = (): DebugClient => adapter.dc;
const states = () => adapter.states;

test('launch with engine qemu boots the bundled guest in QEMU through the adapter', { skip, timeout: 360_000 }, async () => {
  const dc = adapter.start().dc;
  const initialized = dc.waitForEvent('initialized');
  await dc.initializeRequest({ adapterID: 'usernet', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
  await initialized;
  await dc.launchRequest({ engine: 'qemu' } as DebugProtocol.LaunchRequestArguments);
  await dc.configurationDoneRequest();
  // The engine waits for the guest's shell prompt before it reports the VM running.
  await waitFor(adapter, 'the VM running', () => states().some((s) => s.state === 'running'), 120_000);
  // With no key pressed the console has the whole boot and the prompt.
  await waitFor(adapter, 'the boot log and the prompt', () => /Usernet guest ready[\s\S]*usernet:[^\r\n#]*# (\x1b\[6n)?$/.test(adapter.serial()), 10_000);
});

test('a breakpoint on the e1000 is refused with the reason; one on a slirp stage is verified', { skip, timeout: 30_000 }, async () => {
  const r = await client().setFunctionBreakpointsRequest({
    breakpoints: [{ name: 'e1000_receive_iov' }, { name: 'udp_input', condition: 'udp.dstport == 67' }],
  });
  const [nic, slirp] = r.body.breakpoints;
  assert.equal(nic!.verified, false);
  assert.match(nic!.message!, /e1000_receive_iov is QEMU's/);
  assert.equal(slirp!.verified, true);
});

test('DHCP stops at udp_input: the call stack holds only our stages; continue gets the lease', { skip, timeout: 240_000 }, async () => {
  const dc = client();
  const stopped = dc.waitForEvent('stopped', 120_000);
  await dc.customRequest('usernet.serialInput', { data: Buffer.from('udhcpc -i eth0 -q -n\n').toString('base64') });
  assert.equal((await stopped).body.reason, 'function breakpoint');
  await waitFor(adapter, 'the paused state', () => states().at(-1)?.state === 'paused', 10_000);
  const frames = (await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames;
  assert.match(frames[0]!.name, /^udp_input: .*DHCP Discover/i);
  assert.deepEqual(frames.map((f) => f.name.split(':')[0]), ['udp_input', 'ip_input', 'slirp_input', 'net_slirp_receive']);
  const scopes = (await dc.scopesRequest({ frameId: frames[0]!.id })).body.scopes.map((s) => s.name);
  assert.ok(!scopes.includes('e1000 descriptor'), `QEMU's e1000 gives no descriptor: ${scopes}`);
  assert.equal((await dc.evaluateRequest({ expression: 'udp.srcport', frameId: frames[0]!.id, context: 'repl' })).body.result, '68');

  await dc.setFunctionBreakpointsRequest({ breakpoints: [] });
  await dc.continueRequest({ threadId: 1 });
  await waitFor(adapter, 'the lease', () => /lease 10\.0\.2\.15/.test(adapter.serial()), 60_000);
  assert.equal(states().at(-1)?.state, 'running');
});

test('the topology event names the QEMU engine, the guest MAC it used, and counts a ping on the guest link both ways', { skip, timeout: 60_000 }, async () => {
  const dc = client();
  const first = (await dc.waitForEvent('usernet.topology', 10_000).catch(() => undefined))?.body as TopologyBody | undefined;
  const next = dc.waitForEvent('usernet.topology', 30_000);
  await dc.customRequest('usernet.serialInput', { data: Buffer.from('ping -c 2 10.0.2.2\n').toString('base64') });
  await waitFor(adapter, 'the pings', () => /2 packets received/.test(adapter.serial()), 30_000);
  let body = (await next).body as TopologyBody;
  // Events come at most four a second: wait for the one that has both replies.
  for (let i = 0; i < 20 && body.link.framesToGuest < (first?.link.framesToGuest ?? 0) + 2; i++) body = (await dc.waitForEvent('usernet.topology', 5_000)).body as TopologyBody;
  assert.equal(body.engine, 'qemu');
  assert.match(body.guestMac ?? '', /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
  assert.equal(body.gateway, '10.0.2.2');
  assert.ok(body.link.framesToHost >= (first?.link.framesToHost ?? 0) + 2, `two echo requests counted: ${JSON.stringify(body.link)}`);
  assert.ok(body.link.framesToGuest >= (first?.link.framesToGuest ?? 0) + 2, `two echo replies counted: ${JSON.stringify(body.link)}`);
  assert.ok(body.link.bytesToGuest > body.link.framesToGuest * 14, 'bytes are whole frames');
});

test('disconnect stops QEMU and the adapter process exits', { skip, timeout: 60_000 }, async () => {
  const { exitCode, lastState } = await adapter.disconnect();
  assert.equal(exitCode, 0);
  assert.equal(lastState, 'stopped');
});
