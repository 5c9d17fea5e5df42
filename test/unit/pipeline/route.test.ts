import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BreakpointManager, type StopEvent } from '../../../extension/pipeline/breakpoints';
import { ProbeHub } from '../../../extension/pipeline/probe';
import { routeTo, STAGE_PARENTS, TRAIL_LENGTH } from '../../../extension/pipeline/route';
import { RX_STAGES, STAGE_BY_NAME, TX_STAGES, type StageName } from '../../../extension/pipeline/stages';
import { DNS_IP, dnsQuery, guestUdp, HOST_IP } from '../slirp/helpers/frames';
import { makeGuest } from '../slirp/helpers/harness';

const NIC_TX: StageName[] = ['e1000_mmio_write', 'start_xmit', 'process_tx_desc', 'e1000_send_packet', 'qemu_send_packet', 'net_slirp_receive', 'slirp_input'];
const SLIRP_OUT: StageName[] = ['ip_output', 'if_output', 'net_slirp_send_packet', 'qemu_receive_packet', 'e1000_receive_iov'];

/** Enters each stage's probe in turn, as the pipeline's sites do. */
function enter(hub: ProbeHub, ...stages: StageName[]): void {
  for (const s of stages) hub.probes[s].enter();
}

test('a stop\'s route is the stages entered for its packet, a next descriptor cutting back to start_xmit', () => {
  const hub = new ProbeHub();
  enter(hub, 'address_space_rw', ...NIC_TX, 'ip_input', 'udp_input', 'dns_input', 'sosendto');
  assert.deepEqual(routeTo(hub.trail, 'sosendto'), [...NIC_TX, 'ip_input', 'udp_input', 'dns_input', 'sosendto']);
  // The same TDT write sends a second frame: a TCP segment whose ACK goes out (host direction) in the middle.
  enter(hub, 'process_tx_desc', 'e1000_send_packet', 'qemu_send_packet', 'net_slirp_receive', 'slirp_input', 'ip_input', 'tcp_input');
  enter(hub, 'tcp_output', ...SLIRP_OUT, 'set_ics');
  assert.deepEqual(routeTo(hub.trail, 'e1000_receive_iov'), ['tcp_output', ...SLIRP_OUT], 'the ACK follows no socket read');
  enter(hub, 'sosend');
  assert.deepEqual(routeTo(hub.trail, 'sosend'), [...NIC_TX, 'ip_input', 'tcp_input', 'sosend']);
});

test('a segment slirp sends while handling the guest\'s segment is not put after a socket read, though it carries bytes', () => {
  const hub = new ProbeHub();
  enter(hub, 'soread', 'tcp_output', ...SLIRP_OUT);
  assert.deepEqual(routeTo(hub.trail, 'e1000_receive_iov'), ['soread', 'tcp_output', ...SLIRP_OUT]);
  // A second segment of the same read follows it too.
  enter(hub, 'tcp_output', 'ip_output');
  assert.deepEqual(routeTo(hub.trail, 'ip_output'), ['soread', 'tcp_output', 'ip_output']);
  // Once the read's segments are out, a bare ACK (a timer's) is the stack's own.
  hub.endRoute();
  enter(hub, 'tcp_output');
  assert.deepEqual(routeTo(hub.trail, 'tcp_output'), ['tcp_output']);
  enter(hub, 'soread', 'tcp_output');
  // The guest's ACK opens the window: the queued bytes go out from tcp_input, not from soread.
  enter(hub, ...NIC_TX, 'ip_input', 'tcp_input', 'tcp_output', 'ip_output');
  assert.deepEqual(routeTo(hub.trail, 'ip_output'), ['tcp_output', 'ip_output']);
});

test('stages an engine does not run are skipped over (QEMU\'s own NIC and net queue)', () => {
  const hub = new ProbeHub();
  enter(hub, 'net_slirp_receive', 'slirp_input', 'ip_input', 'tcp_input');
  assert.deepEqual(routeTo(hub.trail, 'tcp_input'), ['net_slirp_receive', 'slirp_input', 'ip_input', 'tcp_input']);
  // A NIC whose net queue is not ours hands the frame to slirp_input directly.
  enter(hub, 'e1000_mmio_write', 'start_xmit', 'process_tx_desc', 'e1000_send_packet', 'slirp_input', 'arp_input');
  assert.deepEqual(routeTo(hub.trail, 'arp_input'), ['e1000_mmio_write', 'start_xmit', 'process_tx_desc', 'e1000_send_packet', 'slirp_input', 'arp_input']);
});

test('a stop at a stage its probe did not note still ends its route; an old trail is forgotten past its length', () => {
  const hub = new ProbeHub();
  assert.deepEqual(routeTo(hub.trail, 'sosendto'), ['sosendto']);
  enter(hub, ...NIC_TX, 'ip_input', 'udp_input');
  assert.deepEqual(routeTo(hub.trail, 'sosendto'), [...NIC_TX, 'ip_input', 'udp_input', 'sosendto']);
  for (let i = 0; i < TRAIL_LENGTH; i++) enter(hub, 'set_ics');
  assert.deepEqual(routeTo(hub.trail, 'sosendto'), ['sosendto']);
});

test('every parent is of the same direction and earlier in stage order', () => {
  for (const [stage, parents] of Object.entries(STAGE_PARENTS) as [StageName, StageName[]][]) {
    const order = (STAGE_BY_NAME.get(stage)!.direction === 'tx' ? TX_STAGES : RX_STAGES) as readonly StageName[];
    for (const p of parents) {
      assert.equal(STAGE_BY_NAME.get(p)!.direction, STAGE_BY_NAME.get(stage)!.direction, `${p} -> ${stage}`);
      assert.ok(order.indexOf(p) < order.indexOf(stage), `${p} before ${stage}`);
    }
  }
});

test('in the real slirp a stop\'s route is what slirp did: a query to the DNS address crosses dns_input, one to port 53 elsewhere does not', async () => {
  const g = makeGuest();
  const stops: StopEvent[] = [];
  const manager = new BreakpointManager(g.slirp.probes);
  manager.onStop = (e) => stops.push(e);
  try {
    manager.set([{ stage: 'sosendto' }, { stage: 'udp_output' }]);
    g.slirp.input(guestUdp(HOST_IP, 40000, 53, dnsQuery('example.com')));
    assert.equal(stops.length, 1);
    assert.deepEqual(stops[0]!.stageChain.slice(-3), ['ip_input', 'udp_input', 'sosendto']);
    manager.set([{ stage: 'udp_output' }]);
    manager.continue();
    // No resolver here: dns_input answers SERVFAIL itself, nothing is forwarded.
    g.slirp.input(guestUdp(DNS_IP, 40001, 53, dnsQuery('example.com')));
    assert.equal(stops.length, 2);
    assert.deepEqual(stops[1]!.stageChain, ['udp_output'], 'the stack\'s own answer follows no socket read');
    manager.continue();
  } finally {
    manager.dispose();
    await g.slirp.close();
  }
});
