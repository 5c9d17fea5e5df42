import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BreakpointManager, type BreakpointManagerOptions, type StopEvent } from '../../../extension/pipeline/breakpoints';
import type { Clock } from '../../../extension/pipeline/clock';
import { FilterSyntaxError } from '../../../extension/pipeline/filter';
import { ProbeHub } from '../../../extension/pipeline/probe';
import { STAGES, stageRunsUnder, type StageName } from '../../../extension/pipeline/stages';
import * as P from './packets';
import { PipelineSim, rxTcp, rxTcpControl, TX_ARP, TX_TCP, TX_TCP_CONTROL } from './pipeline-sim';

function setup(options?: BreakpointManagerOptions) {
  const hub = new ProbeHub();
  const sim = new PipelineSim(hub);
  const mgr = new BreakpointManager(hub, options);
  const stops: StopEvent[] = [];
  const logs: string[] = [];
  mgr.onStop = (e) => stops.push(e);
  mgr.onLog = (m) => logs.push(m);
  return { hub, sim, mgr, stops, logs };
}

const armedStages = (hub: ProbeHub) => STAGES.filter((s) => hub.probes[s.name].armed).map((s) => s.name);
/** What the guest's NIC and the net queue do before slirp sees a frame (embedded engine). */
const TX_TO_SLIRP: StageName[] = ['e1000_mmio_write', 'start_xmit', 'process_tx_desc', 'e1000_send_packet', 'qemu_send_packet', 'net_slirp_receive', 'slirp_input'];
const RX_FROM_IP_OUTPUT: StageName[] = ['ip_output', 'if_output', 'net_slirp_send_packet', 'qemu_receive_packet', 'e1000_receive_iov'];

test('probes are armed only for the breakpoints\' own stages', () => {
  const { hub, mgr } = setup();
  assert.deepEqual(armedStages(hub), []);
  mgr.set([{ stage: 'tcp_input' }]);
  assert.deepEqual(armedStages(hub), ['tcp_input']);
  mgr.set([{ stage: 'tcp_input', condition: 'tcp.port == ' }]); // unverified: arms nothing
  assert.deepEqual(armedStages(hub), []);
  mgr.set([{ stage: 'tcp_input' }, { stage: 'e1000_receive_iov' }]);
  assert.deepEqual(armedStages(hub), ['tcp_input', 'e1000_receive_iov']);
  mgr.set([]);
  assert.deepEqual(armedStages(hub), []);
  mgr.set([{ stage: 'e1000_receive_iov' }]);
  mgr.dispose();
  assert.deepEqual(armedStages(hub), []);
});

test('a breakpoint that never matches leaves the stages upstream of it unprobed', () => {
  const { hub, sim, mgr, stops } = setup();
  mgr.set([{ stage: 'e1000_receive_iov', condition: 'tcp.srcport == 1' }]);
  for (let i = 0; i < 3; i++) sim.send(new Uint8Array([i]), rxTcp(P.httpOk));
  assert.equal(stops.length, 0);
  assert.equal(hub.probes.e1000_receive_iov.hits, 3);
  for (const stage of ['soread', 'tcp_output', 'ip_output', 'if_output', 'net_slirp_send_packet', 'qemu_receive_packet'] as const) {
    assert.equal(hub.probes[stage].hits, 0, `${stage} was not probed`);
  }
  assert.equal(sim.ran.filter((s) => s === 'e1000_receive_iov').length, 3);
});

test('every stage counts the frames that reach it, armed or not; a held frame counts once', () => {
  const { hub, sim, mgr, stops } = setup();
  sim.send(P.syn, TX_TCP_CONTROL);
  sim.send(P.syn, TX_TCP_CONTROL);
  assert.equal(hub.probes.slirp_input.packets, 2, 'counted with nothing armed');
  assert.equal(hub.probes.slirp_input.hits, 0, 'no listener was consulted');
  mgr.set([{ stage: 'slirp_input' }]);
  sim.send(P.syn, TX_TCP_CONTROL);
  assert.equal(stops.length, 1);
  mgr.continue();
  assert.deepEqual([hub.probes.slirp_input.packets, hub.probes.tcp_input.packets, hub.probes.e1000_send_packet.packets], [3, 3, 3]);
  assert.equal(hub.probes.arp_input.packets, 0);
});

test('a conditional breakpoint holds the matching packet until continue', () => {
  const { hub, sim, mgr, stops } = setup();
  const [status] = mgr.set([{ stage: 'tcp_input', condition: 'tcp.dstport == 80 && ip.dst == 93.184.216.0/24' }]);
  assert.deepEqual(status, { id: 1, verified: true });
  sim.send(P.syn, TX_TCP); // to 8080: passes
  assert.equal(stops.length, 0);
  assert.equal(sim.ran.filter((s) => s === 'sosend').length, 1);
  sim.send(P.httpGet, TX_TCP);
  assert.equal(stops.length, 1);
  const stop = stops[0]!;
  assert.equal(stop.reason, 'breakpoint');
  assert.equal(stop.breakpointId, 1);
  assert.equal(stop.hit.frame, P.httpGet);
  assert.equal(stop.hit.stage, 'tcp_input');
  assert.deepEqual(stop.stageChain, [...TX_TO_SLIRP, 'ip_input', 'tcp_input']);
  assert.equal(mgr.stopped, stop);
  assert.equal(hub.heldPackets.length, 1);
  const ranBefore = sim.ran.length;
  assert.equal(sim.ran.at(-1), 'ip_input', 'the tcp_input body has not run');
  mgr.continue();
  assert.deepEqual(sim.ran.slice(ranBefore), ['tcp_input', 'sosend']);
  assert.equal(mgr.stopped, undefined);
  assert.equal(hub.heldPackets.length, 0);
  assert.equal(stops.length, 1);
});

test('hit conditions in each form VS Code sends', () => {
  const cases: Array<[string, number[]]> = [
    ['5', [5]], ['== 5', [5]], ['=5', [5]], ['>= 10', [10, 11, 12]], ['> 10', [11, 12]],
    ['< 3', [1, 2]], ['<= 2', [1, 2]], ['% 5', [5, 10]], [' %4 ', [4, 8, 12]],
  ];
  for (const [hitCondition, expected] of cases) {
    const { sim, mgr, stops } = setup();
    const [status] = mgr.set([{ stage: 'arp_input', hitCondition }]);
    assert.equal(status!.verified, true, hitCondition);
    const stoppedAt: number[] = [];
    for (let i = 1; i <= 12; i++) {
      sim.send(P.arpRequest, TX_ARP);
      if (stops.length > stoppedAt.length) {
        stoppedAt.push(i);
        mgr.continue();
      }
    }
    assert.deepEqual(stoppedAt, expected, hitCondition);
  }
});

test('the hit count counts only hits whose condition held', () => {
  const { sim, mgr, stops } = setup();
  mgr.set([{ stage: 'slirp_input', condition: 'arp', hitCondition: '2' }]);
  sim.send(P.syn, TX_TCP_CONTROL);
  sim.send(P.arpRequest, TX_ARP);
  sim.send(P.syn, TX_TCP_CONTROL);
  assert.equal(stops.length, 0);
  sim.send(P.arpReply, TX_ARP);
  assert.equal(stops.length, 1);
  assert.equal(stops[0]!.hit.frame, P.arpReply);
});

test('logpoints interpolate fields and never stop', () => {
  const { sim, mgr, stops, logs, hub } = setup();
  const status = mgr.set([
    { stage: 'tcp_input', logMessage: '{ip.src}:{tcp.srcport} -> {ip.dst} flags={tcp.flags} q={dns.qry.name} {{literal}}' },
    { stage: 'ip_input', condition: 'icmp', logMessage: 'ping {ip.addr} seq {icmp.seq}' },
  ]);
  assert.ok(status.every((s) => s.verified));
  sim.send(P.syn, TX_TCP);
  sim.send(P.ping, [{ stage: 'ip_input' }, { stage: 'icmp_input' }]);
  sim.send(P.udpData, [{ stage: 'ip_input' }]);
  assert.deepEqual(logs, [
    '10.0.2.15:40000 -> 10.0.2.2 flags=0x002 (SYN) q=<missing> {literal}',
    'ping 10.0.2.15,8.8.8.8 seq 3',
  ]);
  assert.equal(stops.length, 0);
  assert.equal(hub.heldPackets.length, 0);
  assert.ok(sim.ran.includes('sosend') && sim.ran.includes('icmp_input'));
});

test('unknown stages and bad conditions leave breakpoints unverified with the reason', () => {
  const { mgr, hub } = setup();
  const status = mgr.set([
    { stage: 'slirp_inpt' },
    { stage: 'tcp_input', condition: 'tcp.port == ' },
    { stage: 'tcp_input', condition: 'ip.src == "x"' },
    { stage: 'tcp_input', condition: 'tcp.dstprt == 80' },
    { stage: 'tcp_input', hitCondition: '>> 5' },
    { stage: 'tcp_input', logMessage: 'from {ip.scr}' },
    { stage: 'tcp_input', logMessage: 'from {ip.src' },
    { stage: 'udp_input', condition: 'udp.dstport == 53', id: 40 },
    { stage: 'nonsense' },
  ]);
  assert.deepEqual(status.map((s) => s.id), [1, 2, 3, 4, 5, 6, 7, 40, 41]);
  assert.deepEqual(status.map((s) => s.verified), [false, false, false, false, false, false, false, true, false]);
  assert.equal(status[0]!.message, "unknown stage 'slirp_inpt' (did you mean 'slirp_input'?)");
  assert.equal(status[1]!.message, "expected a value after '==' at column 13");
  assert.equal(status[2]!.message, 'ip.src is an IPv4 address, cannot compare with string at column 11');
  assert.equal(status[3]!.message, "unknown field 'tcp.dstprt' (did you mean 'tcp.dstport'?) at column 1");
  assert.match(status[4]!.message!, /invalid hit condition '>> 5'/);
  assert.match(status[5]!.message!, /unknown field 'ip.scr' in the log message at column 7 \(did you mean 'ip.src'\?\)/);
  assert.match(status[6]!.message!, /unclosed '\{' at column 6/);
  assert.equal(status[8]!.message, "unknown stage 'nonsense'");
  assert.ok(hub.probes.udp_input.armed);
  assert.ok(!hub.probes.tcp_input.armed);
});

test('step stops at the next stage the same packet reaches, then at its derived frame', () => {
  const { sim, mgr, stops } = setup();
  mgr.set([{ stage: 'ip_input', condition: 'tcp.dstport == 80' }]);
  sim.send(P.httpGet, TX_TCP);
  assert.equal(stops.length, 1);
  assert.equal(stops[0]!.hit.stage, 'ip_input');
  mgr.step();
  assert.equal(stops.length, 2);
  assert.equal(stops[1]!.reason, 'step');
  assert.equal(stops[1]!.breakpointId, undefined);
  assert.equal(stops[1]!.hit.stage, 'tcp_input');
  assert.deepEqual(stops[1]!.stageChain.slice(-2), ['ip_input', 'tcp_input']);
  mgr.step();
  assert.equal(stops.length, 3);
  assert.equal(stops[2]!.hit.stage, 'sosend');
  // sosend sees the payload: a different view, the same packet.
  assert.equal(Buffer.from(stops[2]!.hit.frame).toString(), 'GET / HTTP/1.1\r\n');
  assert.deepEqual(stops[2]!.stageChain, [...TX_TO_SLIRP, 'ip_input', 'tcp_input', 'sosend']);
  mgr.continue();
  assert.equal(sim.ran.at(-1), 'sosend');
  // Stepping armed the whole direction; the stop put it back to the breakpoint's set.
  sim.send(P.syn, TX_TCP);
  assert.equal(stops.length, 3);
});

test('step from the last stage of a packet stops at the next frame in the same direction', () => {
  const { sim, mgr, stops } = setup();
  mgr.set([{ stage: 'tcp_input', condition: 'tcp.flags.syn == 1' }]);
  sim.send(P.syn, TX_TCP_CONTROL);
  assert.equal(stops.length, 1);
  mgr.step(); // the SYN ends in tcp_input
  assert.equal(stops.length, 1);
  sim.send(P.synAck, rxTcp(P.synAck)); // the other direction does not end the step
  assert.equal(stops.length, 1);
  sim.send(P.arpRequest, TX_ARP);
  assert.equal(stops.length, 2);
  assert.equal(stops[1]!.reason, 'step');
  assert.equal(stops[1]!.hit.stage, 'e1000_mmio_write');
  assert.equal(stops[1]!.hit.frame, P.arpRequest);
  assert.deepEqual(stops[1]!.stageChain, ['e1000_mmio_write']);
  mgr.continue();
});

test('step out leaves the stage\'s layer with the same packet: the NIC, then the net queue', () => {
  const { sim, mgr, stops } = setup();
  mgr.set([{ stage: 'e1000_send_packet', condition: 'tcp.dstport == 80' }]);
  sim.send(P.httpGet, TX_TCP);
  assert.equal(stops.length, 1);
  assert.deepEqual(mgr.step('out'), { kind: 'stopped' });
  assert.equal(stops[1]!.reason, 'step');
  assert.equal(stops[1]!.hit.stage, 'qemu_send_packet', 'out of the NIC');
  assert.equal(stops[1]!.hit.frame, P.httpGet);
  mgr.step('out');
  assert.equal(stops[2]!.hit.stage, 'slirp_input', 'past net_slirp_receive, the same queue layer');
  mgr.step('over');
  assert.equal(stops[3]!.hit.stage, 'ip_input', 'over: the very next stage');
  mgr.continue();
});

test('step over and out never stop at another packet: the VM runs on when the packet has left', () => {
  const { hub, sim, mgr, stops } = setup();
  mgr.set([{ stage: 'tcp_input', condition: 'tcp.flags.syn == 1' }]);
  sim.send(P.syn, TX_TCP_CONTROL);
  assert.deepEqual(mgr.step('over'), { kind: 'left', lastStage: 'tcp_input' });
  assert.deepEqual(armedStages(hub), ['tcp_input'], 'nothing is left armed for the step');
  sim.send(P.arpRequest, TX_ARP);
  assert.equal(stops.length, 1, 'the next packet does not stop');
  mgr.set([{ stage: 'slirp_input', condition: 'arp' }]);
  sim.send(P.arpRequest, TX_ARP);
  assert.equal(stops.length, 2);
  // arp_input is the link layer too: the request is answered there, nothing of it leaves the layer.
  assert.deepEqual(mgr.step('out'), { kind: 'left', lastStage: 'arp_input' });
  sim.send(P.syn, TX_TCP_CONTROL);
  assert.equal(stops.length, 2);
});

test('pauseNext stops the next packet at any stage, once', () => {
  const { sim, mgr, stops, hub } = setup();
  mgr.pauseNext();
  assert.equal(armedStages(hub).length, STAGES.length);
  sim.send(P.synAck, rxTcp(P.synAck));
  assert.equal(stops.length, 1);
  assert.equal(stops[0]!.reason, 'pause');
  assert.equal(stops[0]!.hit.stage, 'soread');
  assert.deepEqual(stops[0]!.stageChain, ['soread']);
  mgr.continue();
  assert.deepEqual(armedStages(hub), []);
  sim.send(P.synAck, rxTcp(P.synAck));
  assert.equal(stops.length, 1);
  assert.ok(sim.ran.includes('set_ics'));
});

test('a stage that cannot hold does not report a stop; the pause waits for one that can', () => {
  const { sim, mgr, stops, hub } = setup();
  mgr.pauseNext();
  sim.send(P.synAck, [{ stage: 'set_ics', noResume: true }]);
  assert.equal(stops.length, 0);
  assert.equal(hub.heldPackets.length, 0);
  sim.send(P.synAck, [{ stage: 'e1000_receive_iov' }]);
  assert.equal(stops.length, 1);
  assert.equal(stops[0]!.hit.stage, 'e1000_receive_iov');
  mgr.continue();
});

test('the RX call stack starts at soread for a segment carrying host bytes, at tcp_output for a bare one', () => {
  const { sim, mgr, stops } = setup();
  mgr.set([{ stage: 'e1000_receive_iov', condition: 'tcp' }]);
  sim.send(new Uint8Array([1, 2, 3]), rxTcp(P.httpOk));
  assert.equal(stops.length, 1);
  assert.deepEqual(stops[0]!.stageChain, ['soread', 'tcp_output', ...RX_FROM_IP_OUTPUT]);
  mgr.continue();
  sim.send(P.synAck, rxTcpControl(P.synAck));
  assert.equal(stops.length, 2);
  assert.deepEqual(stops[1]!.stageChain, ['tcp_output', ...RX_FROM_IP_OUTPUT]);
  mgr.continue();
});

test('step follows soread bytes into the segment built from them', () => {
  const { hub, sim, mgr, stops } = setup();
  mgr.set([{ stage: 'soread' }]);
  sim.send(new Uint8Array([1, 2, 3]), rxTcp(P.httpOk));
  assert.equal(stops.length, 1);
  assert.deepEqual(stops[0]!.stageChain, ['soread']);
  mgr.step();
  assert.equal(stops.length, 2);
  assert.equal(stops[1]!.reason, 'step');
  assert.equal(stops[1]!.hit.stage, 'tcp_output');
  assert.deepEqual(stops[1]!.stageChain, ['soread', 'tcp_output']);
  mgr.step();
  assert.equal(stops[2]!.hit.stage, 'ip_output');
  assert.deepEqual(stops[2]!.stageChain, ['soread', 'tcp_output', 'ip_output']);
  mgr.continue();
  assert.equal(sim.ran.at(-1), 'set_ics');
  // Only the breakpoint's stage is armed again.
  assert.deepEqual(armedStages(hub), ['soread']);
});

test('under the QEMU engine a stop\'s chain leaves out the NIC and the net queue (they never run there)', () => {
  const { sim, mgr, stops } = setup();
  mgr.set([{ stage: 'tcp_input', condition: 'tcp.dstport == 80' }, { stage: 'net_slirp_send_packet', condition: 'tcp.srcport == 80' }]);
  sim.send(P.httpGet, TX_TCP.filter((h) => stageRunsUnder('qemu', h.stage)));
  assert.deepEqual(stops[0]!.stageChain, ['net_slirp_receive', 'slirp_input', 'ip_input', 'tcp_input']);
  mgr.step();
  assert.equal(stops[1]!.hit.stage, 'sosend');
  assert.deepEqual(stops[1]!.stageChain, ['net_slirp_receive', 'slirp_input', 'ip_input', 'tcp_input', 'sosend']);
  mgr.continue();
  sim.send(new Uint8Array([1]), rxTcp(P.httpOk));
  assert.deepEqual(stops[2]!.stageChain, ['soread', 'tcp_output', 'ip_output', 'if_output', 'net_slirp_send_packet']);
  mgr.continue();
});

test('trace prints "time stage summary" for matching packets', () => {
  let now = 1000;
  const clock: Clock = { now: () => now, setTimeout: () => ({ id: 0 }), clearTimeout: () => {} };
  const { sim, mgr, hub } = setup({ clock });
  const lines: string[] = [];
  const stop = mgr.trace('tcp_input if tcp.dstport == 80 || tcp.flags.syn == 1', (line) => lines.push(line));
  assert.ok(hub.probes.tcp_input.armed);
  sim.send(P.syn, TX_TCP);
  now += 1500.25;
  sim.send(P.httpGet, TX_TCP);
  sim.send(P.rst, TX_TCP_CONTROL);
  assert.deepEqual(lines, [
    '0.000000 tcp_input 10.0.2.15:40000 -> 10.0.2.2:8080 TCP [SYN] seq=0 len=0',
    '1.500250 tcp_input 10.0.2.15:40001 -> 93.184.216.34:80 TCP [PSH, ACK] seq=1 ack=1001 len=16',
  ]);
  stop();
  assert.ok(!hub.probes.tcp_input.armed);
  const all: string[] = [];
  const stopAll = mgr.trace('*', (line) => all.push(line));
  sim.send(P.arpRequest, TX_ARP);
  assert.equal(all.length, 8, "one line per stage of the ARP request, the NIC's own included");
  assert.match(all[7]!, /^\d+\.\d{6} arp_input ARP who-has 10\.0\.2\.2 tell 10\.0\.2\.15$/);
  stopAll();
  assert.throws(() => mgr.trace('tcp_inptu', () => {}), /unknown stage 'tcp_inptu' \(did you mean 'tcp_input'\?\)/);
  assert.throws(() => mgr.trace('tcp_input if tcp.port ==', () => {}),
    (e: unknown) => e instanceof FilterSyntaxError && e.column === 25 && e.message === "expected a value after '==' at column 25");
  assert.throws(() => mgr.trace('tcp_input when tcp', () => {}), (e: unknown) => e instanceof FilterSyntaxError && e.column === 11);
});

test('break on drop: a drop of the chosen reason stops at its stage with the reason; other reasons, routine ones for every reason, and null do not', () => {
  const hub = new ProbeHub();
  const manager = new BreakpointManager(hub);
  const stops: StopEvent[] = [];
  manager.onStop = (e) => stops.push(e);
  manager.breakOnDrop('udp-bad-checksum');
  hub.drops.drop('ip-bad-checksum');
  assert.equal(stops.length, 0);
  const frame = new Uint8Array(60);
  hub.drops.drop('udp-bad-checksum', undefined, frame);
  assert.equal(stops.length, 1);
  assert.equal(stops[0]!.reason, 'drop');
  assert.equal(stops[0]!.dropReason, 'udp-bad-checksum');
  assert.equal(stops[0]!.hit.stage, 'udp_input');
  assert.equal(stops[0]!.hit.frame, frame);
  assert.equal(stops[0]!.stageChain.at(-1), 'udp_input');
  assert.equal(hub.heldPackets.length, 1, 'the VM is held at the dropping stage');
  manager.continue();
  assert.equal(hub.heldPackets.length, 0);
  manager.breakOnDrop(undefined);
  hub.drops.drop('mld-report');
  hub.drops.drop('ndp-dad-probe');
  assert.equal(stops.length, 1, "every reason passes the guest's routine IPv6 chatter by");
  hub.drops.drop('eth-truncated');
  assert.equal(stops.length, 2, 'every reason when none is named');
  manager.continue();
  manager.breakOnDrop('mld-report');
  hub.drops.drop('mld-report');
  assert.equal(stops.length, 3, 'a routine reason named stops');
  manager.continue();
  manager.breakOnDrop(null);
  hub.drops.drop('udp-bad-checksum');
  assert.equal(stops.length, 3, 'off');
  manager.dispose();
});
