import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RuntimeSlirp } from '../../../extension/runtime/machine-port';
import type { SessionRow, TopologyBody } from '../../../extension/runtime/feed-bodies';
import { topologyBody } from '../../../extension/runtime/topology-feed';
import { buildTopology, FlowTotals, hostOf, partById, partOfStage, type TopologyInput } from '../../../extension/runtime/topology-model';
import { ip4 } from '../../../extension/slirp/config';
import { arp, GUEST_IP, HOST_IP, icmpEcho, eth, ipv4 } from '../slirp/helpers/frames';
import { makeGuest } from '../slirp/helpers/harness';

const row = (over: Partial<SessionRow>): SessionRow => ({
  id: 1, protocol: 'tcp', state: 'ESTABLISHED', guest: '10.0.2.15:40000', remote: '10.0.2.2:8080', host: '127.0.0.1:8080',
  inbound: false, bytesOut: 0, bytesIn: 0, packetsOut: 0, packetsIn: 0, ageMs: 0, recvQ: 0, sendQ: 0, ...over,
});

const runtimeSlirpOf = (slirp: ReturnType<typeof makeGuest>['slirp']): RuntimeSlirp => ({
  nat: slirp.nat, config: slirp.config, leasedAddress: undefined, settings: slirp.config,
  get guestMac() { return slirp.guestMac; }, link: slirp.link,
  addHostForward: async () => {}, removeHostForward: () => false, infoUsernet: () => '',
});

test('the slirp counts frames and bytes across the guest link both ways, and the feed reports them with the addresses', () => {
  const g = makeGuest({ guestForwards: [{ protocol: 'tcp', serverAddr: ip4(10, 0, 2, 100), serverPort: 80, target: { kind: 'cmd', command: 'nc host 80' } }] });
  const request = arp(1, GUEST_IP, HOST_IP);
  const ping = eth(0x0800, ipv4({ src: GUEST_IP, dst: HOST_IP, protocol: 1, payload: icmpEcho(7, 1, [1, 2, 3, 4]) }));
  g.slirp.input(request);
  g.slirp.input(ping);
  assert.equal(g.out.length, 2, 'an ARP reply and an echo reply');
  const body = topologyBody(runtimeSlirpOf(g.slirp), 'embedded')!;
  assert.deepEqual(body.link, {
    framesToHost: 2, bytesToHost: request.length + ping.length,
    framesToGuest: 2, bytesToGuest: g.out[0]!.length + g.out[1]!.length,
  });
  assert.equal(body.gateway, '10.0.2.2');
  assert.equal(body.dns, '10.0.2.3');
  assert.equal(body.net, '10.0.2.0/24');
  assert.equal(body.guestMac, '52:54:00:12:34:56');
  assert.deepEqual(body.guestForwards, [{ server: '10.0.2.100:80', target: 'cmd:nc host 80' }]);
  assert.equal(body.ipv6?.gateway, 'fec0::2');
  assert.equal(topologyBody(undefined, 'embedded'), undefined, 'no slirp, no topology');
});

const topology: TopologyBody = {
  engine: 'embedded', guestMac: '52:54:00:12:34:56', mtu: 9000, net: '10.0.2.0/24', gateway: '10.0.2.2', dns: '10.0.2.3',
  restrict: false, hostLoopback: true, guestForwards: [], link: { framesToHost: 10, bytesToHost: 1000, framesToGuest: 8, bytesToGuest: 800 },
};
const input = (over: Partial<TopologyInput> = {}): TopologyInput => ({
  name: 'Usernet VM', state: { state: 'running', guestAddress: '10.0.2.15' }, topology, sessions: [], forwards: [], drops: [], ...over,
});

test('the model shows the leased guest, its MAC and MTU, the link counters and where each part leads', () => {
  const m = buildTopology(input(), new FlowTotals());
  const part = (id: string) => m.parts.find((p) => p.id === id)!;
  assert.deepEqual(part('guest').lines.slice(0, 3), ['eth0 10.0.2.15', 'MAC 52:54:00:12:34:56', 'MTU 9000']);
  assert.deepEqual(part('wire').toHost, { frames: 10, bytes: 1000 });
  assert.deepEqual(part('wire').toGuest, { frames: 8, bytes: 800 });
  assert.equal(part('gateway').title, 'Gateway 10.0.2.2');
  assert.equal(part('dns').targets.break?.stage, 'dns_input');
  assert.equal(part('gateway').targets.capture, 'ip.addr == 10.0.2.2');
  assert.deepEqual(part('dns').targets.conditions?.map((c) => c.stage), ['dns_input', 'ip_output']);
  const before = buildTopology(input({ state: { state: 'running' } }), new FlowTotals());
  assert.equal(before.parts[0]!.lines[0], 'eth0: no lease yet');
});

test('under the QEMU engine the e1000 is drawn as QEMU\'s, with nothing to break on, and the guest breaks at net_slirp_receive', () => {
  const m = buildTopology(input({ topology: { ...topology, engine: 'qemu' } }), new FlowTotals());
  const nic = m.parts.find((p) => p.id === 'nic')!;
  assert.equal(nic.foreign, true);
  assert.deepEqual(nic.targets, {});
  assert.equal(m.parts.find((p) => p.id === 'guest')!.targets.break?.stage, 'net_slirp_receive');
});

test('drops and conditions are marked on the part whose stage has them', () => {
  const m = buildTopology(input({
    drops: [{ stage: 'e1000_receive_iov', reason: 'rx-ring-full', count: 3 }, { stage: 'dns_input', reason: 'dns-malformed', count: 2 }, { stage: 'ip_input', reason: 'ip-bad-checksum', count: 1 }],
    conditions: { seed: 1, rules: [{ id: 1, text: 'dns_input: delay 300ms', stage: 'dns_input', counters: {} }] },
  }), new FlowTotals());
  const part = (id: string) => m.parts.find((p) => p.id === id)!;
  assert.equal(part('nic').dropped, 3);
  assert.deepEqual(part('dns').dropLines, ['dns_input: dns-malformed ×2']);
  assert.equal(part('gateway').dropped, 1);
  assert.equal(part('wire').dropped, 0);
  assert.deepEqual(part('dns').conditions, ['dns_input: delay 300ms']);
  assert.deepEqual(part('gateway').conditions, []);
  assert.equal(partOfStage('sosendto'), 'nat');
  assert.equal(partOfStage('qemu_receive_packet'), 'wire');
});

test("the guest's routine IPv6 drops after a boot are counted apart from faults, each line saying what it is", () => {
  const routineOnly = buildTopology(input({
    drops: [{ stage: 'icmp6_input', reason: 'mld-report', count: 4 }, { stage: 'ndp_input', reason: 'ndp-dad-probe', count: 2 }],
  }), new FlowTotals());
  const gateway = routineOnly.parts.find((p) => p.id === 'gateway')!;
  assert.equal(gateway.dropped, 0, 'no red badge for a plain boot');
  assert.equal(gateway.routine, 6);
  assert.match(gateway.dropLines[0]!, /^icmp6_input: mld-report ×4 \(routine: the guest's multicast listener reports/);
  assert.match(gateway.dropLines[1]!, /^ndp_input: ndp-dad-probe ×2 \(routine: the guest's duplicate address detection/);
  const mixed = buildTopology(input({
    drops: [{ stage: 'icmp6_input', reason: 'mld-report', count: 4 }, { stage: 'ip_input', reason: 'ip-bad-checksum', count: 1 }],
  }), new FlowTotals());
  const g = mixed.parts.find((p) => p.id === 'gateway')!;
  assert.deepEqual([g.dropped, g.routine], [1, 4]);
});

test('NAT and DNS traffic are counted on their own links and stay counted after a session closes', () => {
  const totals = new FlowTotals();
  const web = row({ id: 1, packetsOut: 5, bytesOut: 500, packetsIn: 4, bytesIn: 4000 });
  const query = row({ id: 2, protocol: 'udp', remote: '10.0.2.3:53', packetsOut: 1, bytesOut: 40, packetsIn: 1, bytesIn: 90 });
  let m = buildTopology(input({ sessions: [web, query] }), totals);
  const link = (id: string) => m.parts.find((p) => p.id === id)!;
  assert.deepEqual([link('nat').toHost, link('nat').toGuest], [{ frames: 5, bytes: 500 }, { frames: 4, bytes: 4000 }]);
  assert.deepEqual([link('resolver').toHost, link('resolver').toGuest], [{ frames: 1, bytes: 40 }, { frames: 1, bytes: 90 }]);
  m = buildTopology(input({ sessions: [row({ id: 3, packetsOut: 1, bytesOut: 60 })] }), totals);
  assert.deepEqual(link('nat').toHost, { frames: 6, bytes: 560 }, 'the closed session still counts');
  assert.deepEqual(link('resolver').toHost, { frames: 1, bytes: 40 });
  assert.equal(hostOf('[fec0::3]:53'), 'fec0::3');
  assert.equal(hostOf('10.0.2.2'), '10.0.2.2');
});

test("a closed session counts with its final counters, not the last row seen before it closed", () => {
  const totals = new FlowTotals();
  totals.update([row({ id: 1, packetsOut: 1, bytesOut: 60 })], ['10.0.2.3']);
  // Closed between two events: its greeting went out after the last row was sent.
  const final = row({ id: 1, packetsOut: 1, bytesOut: 60, packetsIn: 2, bytesIn: 117 });
  const brief = row({ id: 2, protocol: 'udp', remote: '10.0.2.3:53', packetsOut: 1, bytesOut: 40, packetsIn: 1, bytesIn: 90 });
  totals.update([], ['10.0.2.3'], [final, brief]);
  totals.update([], ['10.0.2.3']);
  assert.deepEqual(totals.get('nat').toGuest, { frames: 2, bytes: 117 });
  assert.deepEqual(totals.get('nat').toHost, { frames: 1, bytes: 60 }, 'counted once');
  assert.deepEqual(totals.get('resolver').toGuest, { frames: 1, bytes: 90 }, 'a session that opened and closed between two events');
});

test('hostfwd and guestfwd rules become labelled arrows', () => {
  const m = buildTopology(input({
    forwards: [{ protocol: 'tcp', hostAddr: '127.0.0.1', hostPort: 2222, guestAddr: '', guestPort: 22 }],
    topology: { ...topology, guestForwards: [{ server: '10.0.2.100:80', target: '127.0.0.1:8080' }] },
  }), new FlowTotals());
  assert.deepEqual(m.forwards.map((f) => [f.id, f.kind, f.label]), [
    ['hostfwd-0', 'hostfwd', 'tcp 127.0.0.1:2222 → 10.0.2.15:22'],
    ['guestfwd-0', 'guestfwd', 'tcp 10.0.2.100:80 → 127.0.0.1:8080'],
  ]);
});

test('each forward rule is a part of its own: capture, break, sessions and conditions aim at its traffic only', async () => {
  const { compileFilter } = await import('../../../extension/pipeline/filter');
  const { compileSessionFilter } = await import('../../../extension/ui/session-filter');
  const m = buildTopology(input({
    forwards: [{ protocol: 'tcp', hostAddr: '127.0.0.1', hostPort: 2222, guestAddr: '', guestPort: 22 }, { protocol: 'udp', hostAddr: '', hostPort: 5353, guestAddr: '10.0.2.16', guestPort: 53 }],
    topology: { ...topology, guestForwards: [{ server: '10.0.2.100:80', target: '127.0.0.1:8080' }] },
  }), new FlowTotals());
  const ssh = partById(m, 'hostfwd-0')!;
  assert.equal(ssh.title, 'hostfwd tcp 127.0.0.1:2222 → 10.0.2.15:22');
  assert.deepEqual(ssh.targets.break, { stage: 'ip_output', condition: 'tcp.dstport == 22 && ip.dst == 10.0.2.15' });
  assert.equal(ssh.targets.capture, 'tcp.port == 22 && ip.addr == 10.0.2.15');
  assert.deepEqual(ssh.targets.conditions?.map((c) => `${c.stage} if ${c.filter}`), ['ip_output if tcp.dstport == 22 && ip.dst == 10.0.2.15', 'ip_input if tcp.srcport == 22 && ip.src == 10.0.2.15']);
  assert.equal(partById(m, 'hostfwd-1')!.targets.capture, 'udp.port == 53 && ip.addr == 10.0.2.16', 'its own guest address');
  const web = partById(m, 'guestfwd-0')!;
  assert.deepEqual(web.targets.break, { stage: 'tcp_input', condition: 'ip.dst == 10.0.2.100 && tcp.dstport == 80' });
  // Every part's filters compile (a click must not meet a syntax error), and a rule's sessions filter picks its own sessions out of the NAT table.
  for (const f of [...m.parts, ...m.forwards]) {
    for (const text of [f.targets.capture, f.targets.break?.condition, f.targets.sessions, ...(f.targets.conditions ?? []).map((c) => c.filter)]) if (text) compileFilter(text);
  }
  const inbound = row({ id: 7, inbound: true, guest: '10.0.2.15:22', remote: '127.0.0.1:40000' });
  const outbound = row({ id: 8, guest: '10.0.2.15:40000', remote: '10.0.2.2:22' });
  const toServer = row({ id: 9, guest: '10.0.2.15:40001', remote: '10.0.2.100:80' });
  assert.deepEqual([inbound, outbound, toServer].filter(compileSessionFilter(ssh.targets.sessions!)).map((r) => r.id), [7]);
  assert.deepEqual([inbound, outbound, toServer].filter(compileSessionFilter(web.targets.sessions!)).map((r) => r.id), [9]);
  assert.equal(partById(m, 'hostfwd-9'), undefined);
});

test('the extension checks the topology event before it trusts it', async () => {
  const { isTopologyBody } = await import('../../../extension/ui/event-guards');
  assert.ok(isTopologyBody(topology));
  assert.ok(!isTopologyBody({ ...topology, engine: 'bochs' }));
  assert.ok(!isTopologyBody({ ...topology, link: { ...topology.link, bytesToHost: -1 } }));
  assert.ok(!isTopologyBody({ ...topology, gateway: 'x'.repeat(300) }));
  assert.ok(!isTopologyBody({ ...topology, guestForwards: [{ server: 1 }] }));
});
