import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VmRuntime, type RuntimeStop } from '../../../extension/runtime/vm-runtime';
import type { SessionsBody, VmStateBody } from '../../../extension/runtime/feed-bodies';
import { FakeMachine, fakeFactory, launchPlan, TX_DHCP, TX_UDP } from './fake-machine';
import * as F from '../pipeline/frames';
import * as P from '../pipeline/packets';
import { parseNetdevUser } from '../../../extension/slirp/netdev-options';

const PLAN = launchPlan();

async function started(opts: { pauseWaitMs?: number } = {}) {
  const machine = new FakeMachine();
  const rt = new VmRuntime({ startMachine: fakeFactory(machine), stagePollMs: 10_000, ...opts });
  const stops: RuntimeStop[] = [];
  const states: VmStateBody[] = [];
  rt.on('stopped', (s) => stops.push(s));
  rt.on('vmState', (s) => states.push(s));
  await rt.start(PLAN);
  return { machine, rt, stops, states };
}

const tick = () => new Promise((r) => setImmediate(r));

test('an unknown stage is refused with the closest name, a bad condition with its column', () => {
  const rt = new VmRuntime({ startMachine: fakeFactory(new FakeMachine()) });
  const [typo, badFilter, badHits, good] = rt.setBreakpoints([
    { name: 'tcp_inptu' },
    { name: 'udp_input', condition: 'udp.dstport == ' },
    { name: 'udp_input', hitCondition: 'often' },
    { name: 'udp_input', condition: 'udp.dstport == 67' },
  ]);
  assert.equal(typo!.verified, false);
  assert.match(typo!.message!, /unknown stage 'tcp_inptu' \(did you mean 'tcp_input'\?\)/);
  assert.equal(badFilter!.verified, false);
  assert.match(badFilter!.message!, /at column \d+/);
  assert.equal(badHits!.verified, false);
  assert.match(badHits!.message!, /hit condition/);
  assert.equal(good!.verified, true);
  assert.ok(good!.id > 0);
});

test('breakpoints set before launch are armed when the VM starts; a hit pauses the VM and holds the packet', async () => {
  const machine = new FakeMachine();
  const rt = new VmRuntime({ startMachine: fakeFactory(machine), stagePollMs: 10_000 });
  const [bp] = rt.setBreakpoints([{ name: 'udp_input', condition: 'udp.dstport == 67' }]);
  const stops: RuntimeStop[] = [];
  rt.on('stopped', (s) => stops.push(s));
  await rt.start(PLAN);

  machine.send(P.udpData, TX_UDP); // port 9999: the condition is false
  assert.equal(stops.length, 0);
  assert.equal(machine.delivered.length, 1);

  machine.send(P.dhcpDiscover, TX_DHCP);
  assert.equal(stops.length, 1);
  const stop = stops[0]!;
  assert.equal(stop.reason, 'breakpoint');
  assert.equal(stop.breakpointId, bp!.id);
  assert.equal(stop.event!.hit.stage, 'udp_input');
  assert.deepEqual(stop.event!.stageChain.slice(-3), ['slirp_input', 'ip_input', 'udp_input']);
  assert.equal(machine.delivered.length, 1, 'the packet is held, not delivered');
  await tick();
  assert.equal(machine.paused, true);
  assert.equal(rt.vmState, 'paused');
  assert.equal(rt.stopsOf(bp!.id), 1);

  await rt.continue();
  assert.equal(machine.paused, false);
  assert.equal(rt.vmState, 'running');
  assert.equal(machine.delivered.length, 2, 'continue releases the packet to the rest of the pipeline');
  assert.deepEqual(machine.delivered[1]!.stages, TX_DHCP);
});

test('next moves the held packet to its next stage and stops there', async () => {
  const { machine, rt, stops } = await started();
  rt.setBreakpoints([{ name: 'ip_input' }]);
  machine.send(P.dhcpDiscover, TX_DHCP);
  assert.equal(stops.at(-1)!.event!.hit.stage, 'ip_input');
  await rt.step();
  assert.equal(stops.length, 2);
  assert.equal(stops[1]!.reason, 'step');
  assert.equal(stops[1]!.event!.hit.stage, 'udp_input');
  await rt.step();
  assert.equal(stops[2]!.event!.hit.stage, 'bootp_input');
  assert.equal(machine.delivered.length, 0);
  await rt.continue();
  assert.equal(machine.delivered.length, 1);
});

test('pause stops at the next packet at any stage', async () => {
  const { machine, rt, stops } = await started({ pauseWaitMs: 5_000 });
  rt.pause();
  machine.send(P.arpRequest, ['qemu_send_packet', 'net_slirp_receive', 'slirp_input', 'arp_input']);
  assert.equal(stops.length, 1);
  assert.equal(stops[0]!.reason, 'pause');
  assert.equal(stops[0]!.event!.hit.stage, 'qemu_send_packet');
  await rt.continue();
  assert.equal(machine.delivered.length, 1);
});

test('pause with no packet in flight pauses the VM alone, and the request does not linger', async () => {
  const { machine, rt, stops } = await started({ pauseWaitMs: 20 });
  rt.setBreakpoints([{ name: 'udp_input', condition: 'udp.dstport == 67' }]);
  rt.pause();
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(stops.length, 1);
  assert.equal(stops[0]!.reason, 'pause');
  assert.equal(stops[0]!.event, undefined);
  assert.equal(machine.paused, true);
  await rt.continue();
  // The old pause request must not stop this ARP; the breakpoint still stops DHCP.
  machine.send(P.arpRequest, ['qemu_send_packet', 'slirp_input', 'arp_input']);
  assert.equal(stops.length, 1);
  machine.send(P.dhcpDiscover, TX_DHCP);
  assert.equal(stops.length, 2);
  assert.equal(stops[1]!.reason, 'breakpoint');
});

test('a VM that fails to boot rejects the start and reports failed with the reason', async () => {
  const rt = new VmRuntime({ startMachine: async () => { throw new Error('timed out after 180000 ms waiting for the guest to boot'); } });
  const states: VmStateBody[] = [];
  rt.on('vmState', (s) => states.push(s));
  await assert.rejects(rt.start(PLAN), /timed out/);
  assert.deepEqual(states.map((s) => s.state), ['booting', 'failed']);
  assert.match(states[1]!.message!, /waiting for the guest to boot/);
});

test('vmState carries the lease and the session count; terminate stops the machine', async () => {
  const { machine, rt, states } = await started();
  assert.deepEqual(states.map((s) => s.state), ['booting', 'running']);
  assert.equal(states[1]!.bootMs, 1234);
  machine.leasedAddress = (10 << 24) | (2 << 8) | 15;
  machine.addSession(7);
  await new Promise((r) => setTimeout(r, 300));
  const last = states.at(-1)!;
  assert.equal(last.guestAddress, '10.0.2.15');
  assert.equal(last.sessionCount, 1);
  let exited = 0;
  rt.on('exited', () => exited++);
  await rt.terminate();
  assert.equal(machine.stopped, true);
  assert.equal(states.at(-1)!.state, 'stopped');
  assert.equal(exited, 1);
});

test('readMemory reads the held packet by its reference, and only while it is held', async () => {
  const { machine, rt, stops } = await started();
  rt.setBreakpoints([{ name: 'udp_input' }]);
  machine.send(P.dhcpDiscover, TX_DHCP);
  const ref = rt.memoryReferenceOf(stops[0]!);
  const all = rt.readMemory(ref, 0, 10_000);
  assert.deepEqual(Buffer.from(all!.data!, 'base64'), Buffer.from(P.dhcpDiscover));
  assert.equal(all!.unreadableBytes, 10_000 - P.dhcpDiscover.length);
  await rt.continue();
  assert.throws(() => rt.readMemory(ref, 0, 4), /no longer held/);
  assert.throws(() => rt.readMemory('0x1000', 0, 4), /unknown memory reference/);
});

test('evaluate answers fields and filters about the held packet, info usernet at any time', async () => {
  const { machine, rt } = await started();
  machine.addSession(3);
  assert.match(rt.evaluate('info usernet').result, /UDP\[\d+ sec\]/);
  assert.throws(() => rt.evaluate('udp.dstport'), /not stopped/);
  rt.setBreakpoints([{ name: 'udp_input' }]);
  machine.send(P.dhcpDiscover, TX_DHCP);
  assert.equal(rt.evaluate('udp.dstport').result, '67');
  assert.equal(rt.evaluate('udp.dstport == 67 && ip.dst == 255.255.255.255').result, 'true');
  assert.equal(rt.evaluate('tcp').result, 'false');
});

test('custom requests act on slirp and say why they fail', async () => {
  const { machine, rt } = await started();
  machine.addSession(5);
  assert.throws(() => rt.closeSession(6), /no NAT session 6/);
  rt.closeSession(5);
  assert.equal(machine.nat.size, 0);
  await rt.addForward('tcp:127.0.0.1:2223-:22');
  assert.deepEqual(machine.forwards, ['tcp:127.0.0.1:2223-:22']);
  await assert.rejects(rt.addForward('tcp:127.0.0.1:2222-:22'), /port 2222 is in use/);
  rt.serialInput(Buffer.from('ls\n'));
  assert.equal(Buffer.from(machine.serialIn[0]!).toString(), 'ls\n');
});

test('a session that closes is sent once more, in `closed`, with the counters it closed with', async () => {
  const { machine, rt } = await started();
  const bodies: SessionsBody[] = [];
  rt.on('sessions', (b) => bodies.push(b));
  const s = machine.addSession(9);
  s.packetsIn = 2;
  s.bytesIn = 117;
  machine.nat.changed(s);
  s.close();
  await new Promise((r) => setTimeout(r, 300));
  const closed = bodies.flatMap((b) => b.closed ?? []);
  assert.deepEqual(closed.map((r) => [r.id, r.packetsIn, r.bytesIn]), [[9, 2, 117]]);
  assert.equal(bodies.at(-1)!.sessions.length, 0);
  await rt.terminate();
});

test('serial output is numbered in order', async () => {
  const { machine, rt } = await started();
  const got: { seq: number; data: string }[] = [];
  rt.on('serial', (b) => got.push(b));
  machine.printSerial('hello ');
  machine.printSerial('world');
  assert.deepEqual(got.map((g) => g.seq), [0, 1]);
  assert.equal(got.map((g) => Buffer.from(g.data, 'base64').toString()).join(''), 'hello world');
});

test('serial output printed while the VM boots is passed on before start() resolves', async () => {
  const machine = new FakeMachine();
  const rt = new VmRuntime({
    startMachine: async (_start, hooks) => {
      machine.onSerial(hooks?.onSerial);
      machine.printSerial('Linux version 6.6\r\n');
      machine.printSerial('usernet:~# ');
      return machine;
    },
    stagePollMs: 10_000,
  });
  const got: string[] = [];
  rt.on('serial', (b) => got.push(Buffer.from(b.data, 'base64').toString()));
  await rt.start(PLAN);
  assert.equal(got.join(''), 'Linux version 6.6\r\nusernet:~# ');
  await rt.terminate();
});

test('a logpoint prints and does not stop', async () => {
  const { machine, rt, stops } = await started();
  const out: string[] = [];
  rt.on('output', (t) => out.push(t));
  const [bp] = rt.setBreakpoints([{ name: 'udp_input', logMessage: 'DHCP to port {udp.dstport}' }]);
  assert.equal(bp!.verified, true);
  machine.send(P.dhcpDiscover, TX_DHCP);
  assert.equal(stops.length, 0);
  assert.equal(machine.delivered.length, 1);
  assert.deepEqual(out, ['DHCP to port 67\n']);
  const [badLog] = rt.setBreakpoints([{ name: 'udp_input', logMessage: 'port {udp.dstprot}' }]);
  assert.match(badLog!.message!, /unknown field 'udp\.dstprot'/);
});

test('continue into a second breakpoint further down keeps the VM stopped there', async () => {
  const { machine, rt, stops } = await started();
  rt.setBreakpoints([{ name: 'ip_input' }, { name: 'bootp_input' }]);
  machine.send(P.dhcpDiscover, TX_DHCP);
  assert.equal(stops.at(-1)!.event!.hit.stage, 'ip_input');
  await tick();
  await rt.continue();
  assert.equal(stops.length, 2);
  assert.equal(stops[1]!.event!.hit.stage, 'bootp_input');
  await tick();
  assert.equal(machine.paused, true);
  assert.equal(rt.vmState, 'paused');
  await rt.continue();
  assert.equal(machine.delivered.length, 1);
  assert.equal(machine.paused, false);
});

test('restart boots a new VM with the same breakpoints', async () => {
  const machines: FakeMachine[] = [];
  const rt = new VmRuntime({ startMachine: async () => { const m = new FakeMachine(); machines.push(m); return m; }, stagePollMs: 10_000 });
  const stops: RuntimeStop[] = [];
  rt.on('stopped', (s) => stops.push(s));
  await rt.start(PLAN);
  const [bp] = rt.setBreakpoints([{ name: 'bootp_input' }]);
  await rt.restart();
  assert.equal(machines.length, 2);
  assert.equal(machines[0]!.stopped, true);
  machines[1]!.send(P.dhcpDiscover, TX_DHCP);
  assert.equal(stops.length, 1);
  assert.equal(stops[0]!.breakpointId, bp!.id);
  await rt.terminate();
});

test('stage counters and captures: hits are reported, frames land in the pcap', async () => {
  const { mkdtempSync, readFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const machine = new FakeMachine();
  const rt = new VmRuntime({ startMachine: fakeFactory(machine), stagePollMs: 20 });
  const stages: Record<string, number>[] = [];
  rt.on('stages', (b) => stages.push(b.hits));
  const states: VmStateBody[] = [];
  rt.on('vmState', (b) => states.push(b));
  await rt.start(PLAN);
  const file = join(mkdtempSync(join(tmpdir(), 'usernet-cap-')), 'a.pcap');
  rt.startCapture({ file, filter: 'udp' });
  assert.throws(() => rt.startCapture({ file }), /already running/);
  machine.send(P.dhcpDiscover, TX_DHCP);
  machine.send(P.arpRequest, ['qemu_send_packet', 'slirp_input', 'arp_input']);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(stages.at(-1)!.qemu_send_packet, 2);
  assert.equal(stages.at(-1)!.slirp_input, 2, 'a stage nothing listens at counts too');
  assert.equal(stages.at(-1)!.arp_input, 1);
  // The VM's state carries the capture in progress and its count (the status bar's item).
  assert.deepEqual(states.at(-1)!.capture, { file, packets: 1 });
  const r = await rt.stopCapture();
  assert.deepEqual(r, { captured: 1, file });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(states.at(-1)!.capture, undefined, 'gone once the capture stops');
  const pcap = readFileSync(file);
  assert.equal(pcap.readUInt32LE(0), 0xa1b2c3d4);
  assert.equal(pcap.length, 24 + 16 + P.dhcpDiscover.length);
  await rt.terminate();
});

test('Start Capture to a .pcapng: each frame on its stage\'s interface with its journey in a comment, as the CLI writes it', async () => {
  const { mkdtempSync, readFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { readCaptureFile } = await import('../../../extension/pipeline/capture-file');
  const machine = new FakeMachine();
  const rt = new VmRuntime({ startMachine: fakeFactory(machine), stagePollMs: 10_000 });
  await rt.start(PLAN);
  const file = join(mkdtempSync(join(tmpdir(), 'usernet-cap-')), 'a.pcapng');
  rt.startCapture({ file });
  machine.send(P.arpRequest, ['qemu_send_packet', 'slirp_input', 'arp_input']);
  assert.deepEqual(await rt.stopCapture(), { captured: 1, file });
  const capture = readCaptureFile(readFileSync(file));
  assert.deepEqual(capture.interfaces.map((i) => i.name), ['qemu_send_packet']);
  assert.equal(capture.packets.length, 1);
  assert.match(capture.packets[0]!.comments[0] ?? '', /^stage qemu_send_packet; journey \d+/);
  await rt.terminate();
});

test('with net=10.9.0.0/24 a stop on a query to the DNS address (10.9.0.3) shows dns_input in its call stack', async () => {
  const config = parseNetdevUser('net=10.9.0.0/24');
  const machine = new FakeMachine(config);
  const rt = new VmRuntime({ startMachine: fakeFactory(machine), stagePollMs: 10_000 });
  rt.setBreakpoints([{ name: 'sosendto' }]);
  const stops: RuntimeStop[] = [];
  rt.on('stopped', (s) => stops.push(s));
  await rt.start(PLAN);
  const query = F.ipv4Frame({ src: '10.9.0.15', dst: '10.9.0.3', proto: 17 }, F.udp(33333, 53, F.dnsQuery(0xbeef, 'www.example.com')));
  machine.send(query, [...TX_UDP.slice(0, -1), 'dns_input', 'sosendto']);
  assert.equal(stops.length, 1);
  assert.deepEqual(stops[0]!.event!.stageChain.slice(-3), ['udp_input', 'dns_input', 'sosendto']);
  // 10.0.2.3 is an ordinary address on this network: its query is plain UDP.
  await rt.continue();
  machine.send(P.dnsQuery, TX_UDP);
  assert.deepEqual(stops[1]!.event!.stageChain.slice(-3), ['ip_input', 'udp_input', 'sosendto']);
  await rt.terminate();
});

test("a breakpoint named GDB-style, 'STAGE if FILTER', is the stage with that condition (and the condition field's too)", async () => {
  const { machine, rt, stops } = await started();
  const [both, typo, empty] = rt.setBreakpoints([
    { name: 'udp_input if udp.dstport == 67', condition: 'udp.srcport == 68' },
    { name: 'udp_input if udp.dstprot == 67' },
    { name: 'udp_input if ' },
  ]);
  assert.equal(both!.verified, true, both!.message);
  assert.equal(typo!.verified, false);
  assert.match(typo!.message!, /udp\.dstport/, 'the filter error names the field it meant');
  assert.equal(empty!.verified, false, 'an empty condition after if is refused');
  machine.send(P.dhcpDiscover, TX_DHCP);
  assert.equal(stops.length, 1);
  assert.equal(stops[0]!.event!.hit.stage, 'udp_input');
  assert.equal(stops[0]!.breakpointId, both!.id);
});

test('a breakpoint named \'STAGE log "MESSAGE"\' is a logpoint: it prints and does not stop', async () => {
  const { machine, rt, stops } = await started();
  const out: string[] = [];
  rt.on('output', (t) => out.push(t));
  const [bp] = rt.setBreakpoints([{ name: 'udp_input if udp.dstport == 67 log "DHCP to {udp.dstport}"' }]);
  assert.equal(bp!.verified, true, bp!.message);
  machine.send(P.dhcpDiscover, TX_DHCP);
  assert.equal(stops.length, 0);
  assert.deepEqual(out, ['DHCP to 67\n']);
});
