/**
 * The debug adapter as VS Code runs it: `node dist/adapter.js` spoken to over
 * DAP, booting the bundled guest, stopping its DHCP exchange at udp_input and
 * showing the packet.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { SharedAdapter, waitFor } from '../support/adapter-process';
import { containmentProblem } from '../support/containment';

const skip = containmentProblem();

const adapter = new SharedAdapter();
const client = (): DebugClient => adapter.dc;
const states = () => adapter.states;

async function waitForSerial(pattern: RegExp, timeoutMs: number): Promise<void> {
  await waitFor(adapter, `${pattern}`, () => pattern.test(adapter.serial()), timeoutMs);
}

async function typeLine(line: string): Promise<void> {
  await client().customRequest('usernet.serialInput', { data: Buffer.from(`${line}\n`).toString('base64') });
}

async function topFrame(): Promise<DebugProtocol.StackFrame> {
  const st = await client().stackTraceRequest({ threadId: 1 });
  assert.ok(st.body.stackFrames.length > 0, 'a stopped packet has a stack');
  return st.body.stackFrames[0]!;
}

async function variablesOf(ref: number): Promise<DebugProtocol.Variable[]> {
  return (await client().variablesRequest({ variablesReference: ref })).body.variables;
}

test('launch boots the guest through the adapter process and reports it running', { skip, timeout: 360_000 }, async () => {
  const dc = adapter.start().dc;

  const initialized = dc.waitForEvent('initialized');
  const init = await dc.initializeRequest({ adapterID: 'usernet', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path', supportsProgressReporting: true });
  assert.equal(init.body?.supportsFunctionBreakpoints, true);
  assert.equal(init.body?.supportsReadMemoryRequest, true);
  await initialized;
  await dc.launchRequest({ snapshot: true } as DebugProtocol.LaunchRequestArguments);
  await dc.configurationDoneRequest();
  assert.deepEqual(states().slice(0, 2).map((s) => s.state), ['booting', 'running']);
  assert.ok((states()[1]!.bootMs ?? 0) > 0);
  // With no key pressed the console has the boot (replayed from the snapshot on a restore) and the prompt.
  await waitForSerial(/Usernet guest ready[\s\S]*usernet:[^\r\n#]*# (\x1b\[6n)?$/, 10_000);

  const threads = await dc.threadsRequest();
  assert.deepEqual(threads.body.threads, [{ id: 1, name: 'VM' }]);
});

test('stage breakpoints: unknown stages and bad conditions come back unverified with the reason', { skip, timeout: 30_000 }, async () => {
  const r = await client().setFunctionBreakpointsRequest({
    breakpoints: [{ name: 'tcp_inptu' }, { name: 'udp_input', condition: 'udp.dstport ==' }, { name: 'udp_input', condition: 'udp.dstport == 67' }],
  });
  const [typo, bad, good] = r.body.breakpoints;
  assert.equal(typo!.verified, false);
  assert.match(typo!.message!, /unknown stage 'tcp_inptu' \(did you mean 'tcp_input'\?\)/);
  assert.equal(bad!.verified, false);
  assert.match(bad!.message!, /at column \d+/);
  assert.equal(good!.verified, true);
});

test('DHCP stops at udp_input: stack, variables, evaluate and memory show the packet; continue gets the lease', { skip, timeout: 240_000 }, async () => {
  const dc = client();
  const stopped = dc.waitForEvent('stopped', 120_000);
  await typeLine('udhcpc -i eth0 -q -n');
  const ev = await stopped;
  assert.equal(ev.body.reason, 'function breakpoint');
  assert.equal(ev.body.threadId, 1);
  assert.equal(ev.body.hitBreakpointIds?.length, 1);

  const top = await topFrame();
  assert.match(top.name, /^udp_input: .*DHCP Discover/i);
  assert.ok(top.source?.path?.endsWith('.ts'), `top frame source: ${JSON.stringify(top.source)}`);
  assert.ok(top.line > 0);
  const names = (await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames.map((f) => f.name.split(':')[0]);
  assert.deepEqual(names.slice(0, 3), ['udp_input', 'ip_input', 'slirp_input']);

  const scopes = (await dc.scopesRequest({ frameId: top.id })).body.scopes;
  assert.ok(scopes.some((s) => s.name === 'Stage'));
  const packet = await variablesOf(scopes.find((s) => s.name === 'Packet')!.variablesReference);
  const udp = packet.find((v) => v.name === 'udp');
  assert.ok(udp, `layers: ${packet.map((v) => v.name)}`);
  const dstport = (await variablesOf(udp.variablesReference)).find((v) => v.name === 'udp.dstport');
  assert.equal(dstport?.value, '67');

  // The bytes as hex + ASCII, the journey so far, and the console that knows every name shown.
  const lines = await variablesOf(packet.find((v) => v.name === 'bytes')!.variablesReference);
  assert.match(lines[0]!.value, /^ff ff ff ff ff ff /, 'a DHCP discover is broadcast');
  const journey = await variablesOf(scopes.find((s) => s.name === 'Journey')!.variablesReference);
  assert.deepEqual(journey.map((v) => v.name).slice(0, 2), ['e1000_mmio_write', 'start_xmit'], 'the journey starts at the register write');
  assert.match(journey.at(-1)!.value, /^\d+\.\d{6} s · held$/);
  assert.equal(journey.at(-1)!.name, 'udp_input');
  assert.match((await dc.evaluateRequest({ expression: 'frame', frameId: top.id, context: 'repl' })).body.result, /DHCP/i);
  assert.match((await dc.evaluateRequest({ expression: 'journey', frameId: top.id, context: 'repl' })).body.result, /^tx, \d+ stages, held at udp_input$/);
  const completed = await dc.completionsRequest({ text: 'udp.dst', column: 8, frameId: top.id });
  assert.deepEqual(completed.body.targets.map((t) => t.label), ['udp.dstport']);

  const evaluated = await dc.evaluateRequest({ expression: 'udp.dstport', frameId: top.id, context: 'repl' });
  assert.equal(evaluated.body.result, '67');
  assert.equal((await dc.evaluateRequest({ expression: 'udp.srcport == 68 && ip.dst == 255.255.255.255', frameId: top.id, context: 'watch' })).body.result, 'true');
  await assert.rejects(dc.evaluateRequest({ expression: 'tcp.dstport', frameId: top.id, context: 'repl' }), /no tcp\.dstport/);

  const bytesVar = packet.find((v) => v.name === 'bytes')!;
  assert.ok(bytesVar.memoryReference);
  const length = Number(/^(\d+) bytes$/.exec(bytesVar.value)![1]);
  const mem = await dc.customRequest('readMemory', { memoryReference: bytesVar.memoryReference, offset: 0, count: 4096 });
  const frame = Buffer.from(mem.body.data, 'base64');
  assert.equal(frame.length, length);
  assert.equal(frame.subarray(0, 6).toString('hex'), 'ffffffffffff', 'a DHCP discover is broadcast');
  assert.equal(frame.readUInt16BE(12), 0x0800);
  assert.equal(frame.readUInt16BE(14 + 20 + 2), 67);

  // The REQUEST that follows stops at the same breakpoint; step it once into bootp_input.
  const second = dc.waitForEvent('stopped', 60_000);
  await dc.continueRequest({ threadId: 1 });
  assert.equal((await second).body.reason, 'function breakpoint');
  assert.match((await topFrame()).name, /^udp_input: .*DHCP Request/i);
  const stepped = dc.waitForEvent('stopped', 60_000);
  await dc.nextRequest({ threadId: 1 });
  assert.equal((await stepped).body.reason, 'step');
  assert.match((await topFrame()).name, /^bootp_input/);
  const steppedNames = (await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames.map((f) => f.name.split(':')[0]);
  assert.deepEqual(steppedNames.slice(0, 4), ['bootp_input', 'udp_input', 'ip_input', 'slirp_input'], 'the step keeps the packet\'s stack');

  // Step Out stays with the request: bootp_input answers it, so nothing of it goes further and the VM runs on.
  await dc.setFunctionBreakpointsRequest({ breakpoints: [] });
  const ranOn = dc.waitForEvent('output', 30_000);
  await dc.stepOutRequest({ threadId: 1 });
  assert.match((await ranOn).body.output, /step out: the packet went no further than bootp_input; the VM runs on/);
  await waitForSerial(/lease 10\.0\.2\.15/, 60_000);
  await waitForStateWithLease(10_000);
});

async function waitForStateWithLease(timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!states().some((s) => s.state === 'running' && s.guestAddress === '10.0.2.15')) {
    if (Date.now() > end) throw new Error(`no vmState with the lease: ${JSON.stringify(states())}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('custom requests: info usernet, and bad arguments are refused', { skip, timeout: 30_000 }, async () => {
  const dc = client();
  const info = await dc.customRequest('usernet.infoUsernet', {});
  assert.match(info.body.text, /^Hub -1 \(user\.0\):\n  Protocol\[State\]/);
  await assert.rejects(dc.customRequest('usernet.serialInput', { data: '***' }), /not base64/);
  await assert.rejects(dc.customRequest('usernet.closeSession', { id: -4 }), /positive integer/);
  await assert.rejects(dc.customRequest('usernet.closeSession', { id: 999_999 }), /no NAT session 999999/);
});

test('disconnect stops the VM and the adapter process exits', { skip, timeout: 60_000 }, async () => {
  const { exitCode, lastState } = await adapter.disconnect();
  assert.equal(exitCode, 0);
  assert.equal(lastState, 'stopped');
});
