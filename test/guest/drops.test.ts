/**
 * Drops on the real guest. A plain boot (the bundled guest, udhcpc, nothing
 * else) leaves only routine drops at the gateway (its IPv6 duplicate address
 * detection and multicast listener reports), each one a frame the guest sent,
 * so the topology shows no fault. A real fault, a connection the host refuses,
 * ends its SYN's journey at sosend with its reason, and the flow graph's rows
 * (the view model the page draws) make it the red arrow from the guest.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { buildTopology, FlowTotals } from '../../extension/runtime/topology-model';
import { FlowRecorder } from '../../extension/runtime/flow-recorder';
import type { EmbeddedMachine } from '../../extension/machine/embedded-machine';
import type { DropEvent } from '../../extension/pipeline/drop-ledger';
import { isRoutineDrop } from '../../extension/pipeline/drop-reasons';
import { compileFilter } from '../../extension/pipeline/filter';
import { JourneyRecorder } from '../../extension/pipeline/journey-recorder';
import { FlowRows } from '../../webview/flow/flow-model';
import { containmentProblem } from '../support/containment';
import { sh, startGuest } from '../support/guest';

const skip = containmentProblem();
let vm: EmbeddedMachine;

before(async () => {
  if (skip) return;
  vm = await startGuest();
});
after(async () => {
  await vm?.stop();
});

const count = (drops: readonly { reason: string; count: number }[]) => drops.reduce((n, d) => n + d.count, 0);

/**
 * Waits until the guest's IPv6 addresses are no longer tentative (DAD done),
 * then `settleMs` more for the listener reports Linux repeats (robustness 2,
 * up to a second apart).
 */
async function ipv6Settled(address: string, settleMs = 4000): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const out = await sh(vm, 'ip -6 addr show dev eth0');
    if (out.includes(address) && !out.includes('tentative')) break;
    assert.ok(Date.now() < deadline, `IPv6 did not settle:\n${out}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  await new Promise((r) => setTimeout(r, settleMs));
}

test('after a plain boot every drop is routine (DAD, MLD reports) and the topology shows no fault at the gateway', { skip, timeout: 120_000 }, async () => {
  await ipv6Settled('fec0::');
  const drops = vm.probes.drops.snapshot();
  const faults = drops.filter((d) => !isRoutineDrop(d.reason));
  assert.deepEqual(faults, [], 'a plain boot drops nothing but routine frames');
  for (const d of drops) assert.ok(d.reason === 'mld-report' ? d.stage === 'icmp6_input' : d.reason === 'ndp-dad-probe' && d.stage === 'ndp_input', `${d.stage} ${d.reason}`);
  const model = buildTopology({ name: 'guest', sessions: [], forwards: [], drops }, new FlowTotals());
  const gateway = model.parts.find((p) => p.id === 'gateway')!;
  assert.equal(gateway.dropped, 0, 'no red badge');
  assert.equal(gateway.routine, count(drops), 'every routine drop is on the gateway, counted');
  assert.equal(model.parts.reduce((n, p) => n + p.dropped + p.routine, 0), count(drops), 'and nowhere else');
});

test('each routine drop is a DAD probe or a listener report the guest sent: adding an address accounts for them exactly', { skip, timeout: 120_000 }, async () => {
  // The frames that reach slirp, sorted by what they are, and the drops reported meanwhile.
  const dadProbe = compileFilter('icmpv6.type == 135 && ipv6.src == ::');
  const listenerReport = compileFilter('icmpv6.type == 131 || icmpv6.type == 132 || icmpv6.type == 143');
  const sent = { 'ndp-dad-probe': 0, 'mld-report': 0 };
  const dropped: DropEvent[] = [];
  const stopFrames = vm.probes.probes.slirp_input.listen((hit) => {
    if (dadProbe.matches(hit)) sent['ndp-dad-probe']++;
    else if (listenerReport.matches(hit)) sent['mld-report']++;
  });
  const stopDrops = vm.probes.drops.listen((d) => dropped.push({ stage: d.stage, reason: d.reason }));
  try {
    // A new address: the guest joins its solicited-node group (listener reports) and probes it (DAD), as at boot.
    await sh(vm, 'ip -6 addr add fec0::99/64 dev eth0');
    await ipv6Settled('fec0::99');
  } finally {
    stopFrames();
    stopDrops();
  }
  assert.ok(sent['ndp-dad-probe'] >= 1, 'the guest probed its new address');
  assert.ok(sent['mld-report'] >= 1, 'the guest reported its new group');
  const byReason = (reason: string) => dropped.filter((d) => d.reason === reason).length;
  assert.deepEqual({ 'ndp-dad-probe': byReason('ndp-dad-probe'), 'mld-report': byReason('mld-report') }, sent, 'one drop per frame');
  assert.equal(dropped.length, sent['ndp-dad-probe'] + sent['mld-report'], `nothing else dropped: ${dropped.map((d) => `${d.stage} ${d.reason}`).join(', ')}`);
  assert.deepEqual(new Set(dropped.map((d) => d.stage)), new Set(['ndp_input', 'icmp6_input']));
  // Nobody answered the probe, so the address is the guest's: it pings through fec0::2 from it.
  await sh(vm, 'ping6 -c 1 -W 5 -I fec0::99 fec0::2 >/dev/null');
  await sh(vm, 'ip -6 addr del fec0::99/64 dev eth0');
});

test('a connection the host refuses: the SYN is the flow graph\'s red arrow, dropped at sosend (tcp-connect-refused), the RST follows', { skip, timeout: 120_000 }, async () => {
  // A loopback port nobody listens on: the host refuses, slirp answers the guest with RST.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as { port: number }).port;
  await new Promise((r) => probe.close(r));

  const journeys = new JourneyRecorder(vm.probes, { clock: vm.clock, engine: 'embedded' });
  const flows = new FlowRecorder(vm.slirp!.nat, vm.clock);
  const stopJourneys = journeys.start();
  const stopFlows = flows.start(journeys, vm.probes);
  let ids: number[];
  try {
    const r = await vm.exec(`echo x | nc 10.0.2.2 ${port}`, 30_000);
    assert.notEqual(r.status, 0, `nc reached a closed port: ${r.output}`);
    journeys.flush();
    ids = flows.sessionIds;
  } finally {
    stopFlows();
    stopJourneys();
  }
  assert.equal(ids.length, 1, 'one NAT session was opened for the connection');
  const snapshot = flows.snapshot(ids[0]!)!;
  assert.equal(snapshot.endpoints.slirp, `10.0.2.2:${port}`);
  const rows = new FlowRows().append(snapshot.items);
  const red = rows.filter((r) => r.tone === 'drop');
  assert.equal(red.length, 1, `one red arrow: ${rows.map((r) => `${r.tone} ${r.label}`).join(' | ')}`);
  const syn = red[0]!;
  assert.deepEqual([syn.from, syn.to], [0, 1], 'from the guest to slirp');
  assert.match(syn.label, /^SYN Seq=0 Len=0/);
  assert.match(syn.comment, /^dropped at sosend: tcp-connect-refused \| /);
  const journey = flows.detail(ids[0]!, syn.n)?.journey ?? '';
  assert.match(journey, /tcp_input/, 'the journey crossed tcp_input');
  assert.match(journey, /sosend .*dropped: tcp-connect-refused/, `the journey ends at sosend with the reason:\n${journey}`);
  const rst = rows.find((r) => r.tone === 'rst' && r.n > syn.n);
  assert.ok(rst, 'slirp answered the guest with RST');
  assert.deepEqual([rst.from, rst.to], [1, 0]);
  assert.equal(vm.probes.drops.count('tcp-connect-refused', 'sosend'), 1, 'counted once at its stage');
});
