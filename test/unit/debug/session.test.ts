/** The DAP layer in-process, over a fake VM: what VS Code sends and what it gets back. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { resolve } from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { UsernetDebugSession } from '../../../extension/debug/session';
import type { MachineFactory } from '../../../extension/runtime/machine-port';
import { ProbeLocations, scanProbeSites } from '../../../extension/runtime/probe-locations';
import { SourceStore } from '../../../extension/debug/source-store';
import { FakeMachine, fakeFactory, TX_DHCP } from '../runtime/fake-machine';
import * as P from '../pipeline/packets';
import { PipedDebugClient } from './piped-client';

const ROOT = resolve(__dirname, '../../..');
const LOCATIONS = new ProbeLocations(scanProbeSites(ROOT), ROOT);

function connect(startMachine: MachineFactory) {
  const toAdapter = new PassThrough();
  const fromAdapter = new PassThrough();
  const session = new UsernetDebugSession({ startMachine, locations: LOCATIONS, sources: new SourceStore(ROOT, undefined), pauseWaitMs: 30 });
  // Server mode: ending the session must not end the test process.
  session.setRunAsServer(true);
  session.start(toAdapter, fromAdapter);
  const dc = new PipedDebugClient().attach(fromAdapter, toAdapter);
  dc.defaultTimeout = 3000;
  const events: DebugProtocol.Event[] = [];
  for (const name of ['usernet.vmState', 'usernet.sessions', 'usernet.serial', 'progressStart', 'progressEnd', 'output']) {
    dc.on(name, (e: DebugProtocol.Event) => events.push(e));
  }
  return { dc, events };
}

async function launched() {
  const machine = new FakeMachine();
  const { dc, events } = connect(fakeFactory(machine));
  const initialized = dc.waitForEvent('initialized');
  const init = await dc.initializeRequest({ adapterID: 'usernet', pathFormat: 'path', supportsProgressReporting: true });
  await initialized;
  await dc.launchRequest({ captureFilter: 'udp' } as DebugProtocol.LaunchRequestArguments);
  await dc.configurationDoneRequest();
  return { machine, dc, events, init };
}

test('initialize announces the capabilities; launch reports progress, running state and ignored attributes', async () => {
  const { dc, events, init } = await launched();
  const caps = init.body!;
  for (const c of ['supportsFunctionBreakpoints', 'supportsConditionalBreakpoints', 'supportsHitConditionalBreakpoints', 'supportsLogPoints',
    'supportsConfigurationDoneRequest', 'supportsReadMemoryRequest', 'supportsEvaluateForHovers', 'supportsTerminateRequest', 'supportsRestartRequest'] as const) {
    assert.equal(caps[c], true, c);
  }
  assert.equal(caps.supportsSteppingGranularity, false);
  assert.deepEqual(caps.exceptionBreakpointFilters?.map((f) => [f.filter, f.label, f.supportsCondition]), [['drop', 'Break on drop', true]]);
  const names = events.map((e) => e.event);
  assert.ok(names.indexOf('progressStart') < names.indexOf('progressEnd'));
  const states = events.filter((e) => e.event === 'usernet.vmState').map((e) => e.body.state);
  assert.deepEqual(states.slice(0, 2), ['booting', 'running']);
  assert.ok(events.some((e) => e.event === 'output' && /"captureFilter" is ignored without "pcap"/.test(e.body.output)));
  await dc.disconnectRequest({});
});

test('Break on drop: a reason outside the list is refused; a drop of the chosen reason stops the VM with stage and reason', async () => {
  const { machine, dc } = await launched();
  const bad = await dc.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: 'drop', condition: 'udp-bad-chksum' }] });
  assert.equal(bad.body?.breakpoints?.[0]?.verified, false);
  assert.match(bad.body?.breakpoints?.[0]?.message ?? '', /unknown drop reason 'udp-bad-chksum'/);
  const good = await dc.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: 'drop', condition: 'udp-bad-checksum' }] });
  assert.equal(good.body?.breakpoints?.[0]?.verified, true);
  const stopped = dc.waitForEvent('stopped');
  machine.probes.drops.drop('ip-bad-checksum');
  machine.probes.drops.drop('udp-bad-checksum');
  const e = await stopped;
  assert.equal(e.body.reason, 'exception');
  assert.match(e.body.description, /^dropped at udp_input: udp-bad-checksum/);
  await dc.disconnectRequest({});
});

test('a bad launch attribute and a VM that does not boot fail the launch with the reason', async () => {
  const a = connect(fakeFactory(new FakeMachine()));
  await a.dc.initializeRequest({ adapterID: 'usernet', pathFormat: 'path' });
  await assert.rejects(a.dc.launchRequest({ memory: 4 } as DebugProtocol.LaunchRequestArguments), /'memory' must be a whole number of MiB from 16 to 2048/);
  await assert.rejects(a.dc.launchRequest({ netdev: 'user,bogus=1' } as DebugProtocol.LaunchRequestArguments), /netdev.*unknown -netdev user suboption "bogus"/);

  const b = connect(async () => { throw new Error('kernel /nope: no such file'); });
  await b.dc.initializeRequest({ adapterID: 'usernet', pathFormat: 'path' });
  await assert.rejects(b.dc.launchRequest({} as DebugProtocol.LaunchRequestArguments), /the VM did not start: kernel \/nope: no such file/);
  const failed = b.events.find((e) => e.event === 'usernet.vmState' && e.body.state === 'failed');
  assert.match(failed?.body.message, /no such file/);

  // The failed state is what the extension tells (once, with its actions): the response asks VS Code not to tell it again.
  // A bad launch.json has no VM state: VS Code shows that one itself, with Open launch.json.
  const rawLaunch = (client: typeof b, args: object) => new Promise<DebugProtocol.Response>((resolve) => {
    (client.dc as unknown as { doSend(c: string, a: object, done: (r: DebugProtocol.Response) => void): void }).doSend('launch', args, resolve);
  });
  const bootFailure = await rawLaunch(b, {});
  assert.equal(bootFailure.success, false);
  assert.equal(bootFailure.body?.error?.showUser, false);
  const badArgs = await rawLaunch(a, { memory: 4 });
  assert.equal(badArgs.success, false);
  assert.equal(badArgs.body?.error, undefined);
});

test('a stop shows the packet: stack, scopes, variables, evaluate, readMemory; continue resumes', async () => {
  const { machine, dc } = await launched();
  const bps = await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'udp_input', condition: 'udp.dstport == 67' }, { name: 'udp_inptu' }] });
  assert.equal(bps.body.breakpoints[0]!.verified, true);
  assert.match(bps.body.breakpoints[1]!.message!, /did you mean 'udp_input'/);

  const stopped = dc.waitForEvent('stopped');
  machine.send(P.dhcpDiscover, TX_DHCP);
  const ev = await stopped;
  assert.equal(ev.body.reason, 'function breakpoint');
  assert.deepEqual(ev.body.hitBreakpointIds, [bps.body.breakpoints[0]!.id]);

  const frames = (await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames;
  assert.match(frames[0]!.name, /^udp_input: /);
  assert.ok(frames[0]!.source!.path!.endsWith('.ts'));
  const scopes = (await dc.scopesRequest({ frameId: frames[0]!.id })).body.scopes;
  const packet = (await dc.variablesRequest({ variablesReference: scopes[0]!.variablesReference })).body.variables;
  const udp = packet.find((v) => v.name === 'udp')!;
  const fields = (await dc.variablesRequest({ variablesReference: udp.variablesReference })).body.variables;
  assert.equal(fields.find((f) => f.name === 'udp.dstport')!.value, '67');
  // An outer frame shows its own stage.
  const outer = (await dc.scopesRequest({ frameId: frames[1]!.id })).body.scopes;
  const stage = (await dc.variablesRequest({ variablesReference: outer.find((s) => s.name === 'Stage')!.variablesReference })).body.variables;
  assert.equal(stage.find((v) => v.name === 'name')!.value, 'ip_input');

  assert.equal((await dc.evaluateRequest({ expression: 'udp.dstport', context: 'hover' })).body.result, '67');
  // Messages come through as they are, braces and all.
  await assert.rejects(dc.evaluateRequest({ expression: 'udp.dstport == {', context: 'repl' }), /column/);
  const mem = await dc.customRequest('readMemory', { memoryReference: packet[0]!.memoryReference, offset: 14, count: 20 });
  assert.deepEqual(Buffer.from(mem.body.data, 'base64'), Buffer.from(P.dhcpDiscover.subarray(14, 34)));

  assert.equal(machine.delivered.length, 0);
  await dc.continueRequest({ threadId: 1 });
  assert.equal(machine.delivered.length, 1);
  assert.equal(machine.paused, false);
  // Old references are gone with the stop.
  assert.deepEqual((await dc.variablesRequest({ variablesReference: udp.variablesReference })).body.variables, []);
  await assert.rejects(dc.customRequest('readMemory', { memoryReference: packet[0]!.memoryReference, count: 4 }), /no longer held/);
  await dc.disconnectRequest({});
  assert.equal(machine.stopped, true);
});

test('step out stays with the packet: out of the net queue, then past its last stage the VM runs on', async () => {
  const { machine, dc, events } = await launched();
  await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'qemu_send_packet', condition: 'udp.dstport == 67' }] });
  let stopped = dc.waitForEvent('stopped');
  machine.send(P.dhcpDiscover, TX_DHCP);
  await stopped;
  stopped = dc.waitForEvent('stopped');
  await dc.stepOutRequest({ threadId: 1 });
  assert.equal((await stopped).body.reason, 'step');
  const top = async () => (await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames[0]!.name;
  assert.match(await top(), /^slirp_input: .*DHCP DISCOVER/, 'past net_slirp_receive, the same layer');
  stopped = dc.waitForEvent('stopped');
  await dc.nextRequest({ threadId: 1 });
  await stopped;
  assert.match(await top(), /^ip_input: .*DHCP DISCOVER/);
  stopped = dc.waitForEvent('stopped');
  await dc.stepInRequest({ threadId: 1 });
  await stopped;
  assert.match(await top(), /^udp_input: .*DHCP DISCOVER/);
  stopped = dc.waitForEvent('stopped');
  await dc.stepOutRequest({ threadId: 1 });
  await stopped;
  assert.match(await top(), /^bootp_input: .*DHCP DISCOVER/, 'out of the transport layer');
  await dc.stepOutRequest({ threadId: 1 });
  assert.equal(machine.delivered.length, 1);
  assert.equal(machine.paused, false);
  assert.ok(events.some((e) => e.event === 'output' && /step out: the packet went no further than bootp_input; the VM runs on/.test(e.body.output)));
  // A step in would stop this next frame of the direction; a step out never does.
  machine.send(P.arpRequest, ['qemu_send_packet', 'net_slirp_receive', 'slirp_input', 'arp_input']);
  assert.equal(machine.delivered.length, 2, 'another packet does not stop');
  await dc.disconnectRequest({});
});

test('the Debug Console evaluates every object Variables shows and completes field names; a stop shows the journey so far', async () => {
  const { machine, dc, init } = await launched();
  assert.equal(init.body!.supportsCompletionsRequest, true);
  await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'udp_input', condition: 'udp.dstport == 67' }] });
  const stopped = dc.waitForEvent('stopped');
  machine.send(P.dhcpDiscover, TX_DHCP, { session: { id: 4, protocol: 'udp', state: 'ACTIVE', guestAddr: '0.0.0.0', guestPort: 68, hostAddr: '10.0.2.2', hostPort: 67 } });
  await stopped;
  const top = (await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames[0]!;
  const scopes = (await dc.scopesRequest({ frameId: top.id })).body.scopes;
  assert.deepEqual(scopes.map((s) => s.name), ['Packet', 'NAT session', 'Journey', 'Stage']);
  const journey = (await dc.variablesRequest({ variablesReference: scopes[2]!.variablesReference })).body.variables;
  assert.deepEqual(journey.map((v) => v.name), ['e1000_mmio_write', 'start_xmit', 'process_tx_desc', 'e1000_send_packet', 'qemu_send_packet', 'net_slirp_receive', 'slirp_input', 'ip_input', 'udp_input', 'nat']);
  assert.match(journey[0]!.value, /^\d+\.\d{6} s · forwarded$/);
  assert.match(journey[8]!.value, /^\d+\.\d{6} s · held$/);

  const frame = (await dc.evaluateRequest({ expression: 'frame', context: 'repl' })).body;
  assert.match(frame.result, /DHCP DISCOVER/);
  assert.ok(frame.variablesReference > 0, 'frame expands');
  const inFrame = (await dc.variablesRequest({ variablesReference: frame.variablesReference })).body.variables.map((v) => v.name);
  assert.ok(inFrame.includes('bytes') && inFrame.includes('udp'), inFrame.join());
  assert.match((await dc.evaluateRequest({ expression: 'journey', context: 'repl' })).body.result, /^tx, 9 stages, held at udp_input$/);
  assert.match((await dc.evaluateRequest({ expression: 'session', context: 'repl' })).body.result, /^udp 0\.0\.0\.0:68 <-> 10\.0\.2\.2:67 \(session 4\)$/);
  assert.equal((await dc.evaluateRequest({ expression: 'session.guest', context: 'watch' })).body.result, '0.0.0.0:68');
  assert.match((await dc.evaluateRequest({ expression: 'frame.bytes.0000', context: 'repl' })).body.result, /^52 55 0a 00 02 02 52 54  00 12 34 56 08 00 45 00   RU\.\.\.\.RT/);
  assert.equal((await dc.evaluateRequest({ expression: 'stage.packets', context: 'repl' })).body.result, '1');
  const frames = (await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames;
  const below = (await dc.scopesRequest({ frameId: frames[1]!.id })).body.scopes.find((s) => s.name === 'Stage')!;
  const belowStage = (await dc.variablesRequest({ variablesReference: below.variablesReference })).body.variables;
  assert.deepEqual(belowStage.filter((v) => v.name === 'name' || v.name === 'packets').map((v) => v.value), ['ip_input', '1'], 'a stage nothing listens at counted the frame');
  assert.equal((await dc.evaluateRequest({ expression: 'udp', context: 'repl' })).body.result, 'true', 'a protocol name is still a filter');
  assert.equal((await dc.evaluateRequest({ expression: 'udp.dstport', context: 'repl' })).body.result, '67');
  await assert.rejects(dc.evaluateRequest({ expression: 'descriptor', context: 'repl' }), /no e1000 descriptor at udp_input/, 'no descriptor at a slirp stage');

  const done = await dc.completionsRequest({ text: 'udp.dst', column: 8 });
  assert.deepEqual(done.body.targets.map((t) => [t.label, t.start, t.length]), [['udp.dstport', 1, 7]]);
  const members = (await dc.completionsRequest({ text: 'ip.src == 1 && journey.', column: 24 })).body.targets.map((t) => t.label);
  assert.ok(members.includes('journey.udp_input') && members.includes('journey.nat'), members.join());
  await dc.continueRequest({ threadId: 1 });
  await assert.rejects(dc.evaluateRequest({ expression: 'frame', context: 'repl' }), /needs a packet/);
  await dc.disconnectRequest({});
});

test('pause with nothing in flight stops with reason pause and a one-line stack', async () => {
  const { dc, machine } = await launched();
  const stopped = dc.waitForEvent('stopped');
  await dc.pauseRequest({ threadId: 1 });
  assert.equal((await stopped).body.reason, 'pause');
  assert.equal(machine.paused, true);
  const frames = (await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames;
  assert.equal(frames.length, 1);
  assert.match(frames[0]!.name, /no packet/);
  await assert.rejects(dc.evaluateRequest({ expression: 'ip.src', context: 'repl' }), /not stopped at a packet/);
  await dc.disconnectRequest({});
});

test('custom requests are validated and their failures carry the reason; sessions are pushed', async () => {
  const { dc, machine, events } = await launched();
  await dc.customRequest('usernet.serialInput', { data: Buffer.from('echo hi\n').toString('base64') });
  assert.equal(Buffer.from(machine.serialIn[0]!).toString(), 'echo hi\n');
  await assert.rejects(dc.customRequest('usernet.serialInput', { data: '%%%' }), /not base64/);
  await assert.rejects(dc.customRequest('usernet.addForward', { spec: 'tcp:127.0.0.1:2222-:22' }), /port 2222 is in use/);
  await dc.customRequest('usernet.addForward', { spec: 'tcp:127.0.0.1:2223-:22' });
  assert.equal((await dc.customRequest('usernet.removeForward', { protocol: 'tcp', hostAddr: '127.0.0.1', hostPort: 2223 })).body.removed, true);
  await assert.rejects(dc.customRequest('usernet.removeForward', { protocol: 'tcp', hostAddr: '127.0.0.1' }), /hostPort/);
  await assert.rejects(dc.customRequest('usernet.bogus', {}), /unknown request 'usernet\.bogus'/);
  assert.deepEqual((await dc.customRequest('usernet.stopCapture', {})).body, { captured: 0 });
  machine.addSession(11);
  await new Promise((r) => setTimeout(r, 300));
  const last = events.filter((e) => e.event === 'usernet.sessions').at(-1)!;
  assert.deepEqual(last.body.sessions.map((s: { id: number }) => s.id), [11]);
  await dc.customRequest('usernet.closeSession', { id: 11 });
  assert.equal(machine.nat.size, 0);
  machine.printSerial('login: ');
  await new Promise((r) => setImmediate(r));
  assert.ok(events.some((e) => e.event === 'usernet.serial' && Buffer.from(e.body.data, 'base64').toString() === 'login: '));
  await dc.disconnectRequest({});
});

test('launched without debugging (noDebug), breakpoints come back unverified and never stop the VM', async () => {
  const machine = new FakeMachine();
  const { dc } = connect(fakeFactory(machine));
  const initialized = dc.waitForEvent('initialized');
  await dc.initializeRequest({ adapterID: 'usernet', pathFormat: 'path' });
  await initialized;
  await dc.launchRequest({ noDebug: true } as DebugProtocol.LaunchRequestArguments);
  const bps = await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'udp_input' }] });
  assert.equal(bps.body.breakpoints[0].verified, false);
  assert.match(bps.body.breakpoints[0].message ?? '', /without debugging/);
  assert.equal(machine.probes.probes.udp_input.armed, false, 'no probe armed');
  await dc.disconnectRequest({});
});

test('an image of the user\'s under QEMU: the launch answers at its shell prompt; cancelling the boot\'s progress stops the VM and ends the session without an error', async () => {
  const own = { engine: 'qemu', kernel: resolve(ROOT, 'media/guest/bzImage'), initrd: resolve(ROOT, 'package.json') } as DebugProtocol.LaunchRequestArguments;
  const ready = new FakeMachine();
  const a = connect(fakeFactory(ready));
  await a.dc.initializeRequest({ adapterID: 'usernet', pathFormat: 'path', supportsProgressReporting: true });
  let answered = false;
  const launch = a.dc.launchRequest(own).then(() => (answered = true));
  await new Promise((r) => setTimeout(r, 1300));
  assert.equal(answered, false, 'no answer before the shell prompt');
  assert.equal(a.events.find((e) => e.event === 'progressStart')?.body.cancellable, true);
  ready.printSerial('root@debian:~# ');
  await launch;
  const console = a.events.filter((e) => e.event === 'output').map((e) => e.body.output as string);
  assert.ok(console.some((o) => /^waiting for the guest's shell: 1 s/.test(o)), console.join(''));
  assert.ok(console.some((o) => /^VM running \(the guest's shell after \d+\.\d s\)/.test(o)), console.join(''));
  await a.dc.disconnectRequest({});

  const slow = new FakeMachine();
  const b = connect(fakeFactory(slow));
  await b.dc.initializeRequest({ adapterID: 'usernet', pathFormat: 'path', supportsProgressReporting: true });
  const progress = b.dc.waitForEvent('progressStart');
  const terminated = b.dc.waitForEvent('terminated');
  const cancelled = b.dc.launchRequest(own);
  await b.dc.customRequest('cancel', { progressId: (await progress).body.progressId });
  await cancelled; // answered, not failed: no error dialog for a cancel
  await terminated;
  assert.equal(slow.stopped, true);
  assert.ok(!b.events.some((e) => e.event === 'usernet.vmState' && e.body.state === 'failed'));
});
