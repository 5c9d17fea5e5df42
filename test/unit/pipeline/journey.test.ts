import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import test from 'node:test';
import { compileFilter } from '../../../extension/pipeline/filter';
import { formatJourney, journeyJson, outcome, verdictText, type Journey } from '../../../extension/pipeline/journey';
import { JourneyRecorder, type RecorderEvent } from '../../../extension/pipeline/journey-recorder';
import { NetworkConditions } from '../../../extension/pipeline/netem';
import { ip4 } from '../../../extension/slirp/config';
import { arp, eth, GUEST_IP, guestDhcp, guestUdp, HOST_IP, icmpEcho, ipv4 } from '../slirp/helpers/frames';
import { makeGuest, type Guest } from '../slirp/helpers/harness';

/** A guest with a recorder on its probes; slirp's frames count as delivered (as under QEMU: there is no NIC here). */
function recorded(filter?: string): { g: Guest; rec: JourneyRecorder; events: RecorderEvent[]; ended: () => Journey[] } {
  const g = makeGuest();
  const rec = new JourneyRecorder(g.probes, { clock: g.clock, engine: 'qemu', ...(filter ? { filter: compileFilter(filter) } : {}) });
  const events: RecorderEvent[] = [];
  rec.listen((e) => events.push(e));
  rec.start();
  const ended = () => events.flatMap((e) => (e.type === 'end' ? [e.journey] : []));
  return { g, rec, events, ended };
}

const stages = (j: Journey) => j.steps.map((s) => s.stage);
const verdicts = (j: Journey) => j.steps.map((s) => verdictText(s.verdict));

test('a ping to the gateway: the request is answered, the reply links to it and is delivered', async () => {
  const { g, rec, ended } = recorded();
  try {
    g.slirp.input(eth(0x0800, ipv4({ dst: HOST_IP, protocol: 1, payload: icmpEcho(7, 1, [1, 2, 3]) })));
    rec.flush();
    const [req, rep] = [...ended()].sort((a, b) => a.id - b.id);
    assert.ok(req && rep);
    assert.equal(req.direction, 'tx');
    assert.deepEqual(stages(req), ['net_slirp_receive', 'slirp_input', 'ip_input', 'icmp_input']);
    assert.deepEqual(verdicts(req), ['forwarded', 'forwarded', 'forwarded', 'answered']);
    assert.match(req.summary, /10\.0\.2\.15 -> 10\.0\.2\.2 ICMP echo request/);
    assert.deepEqual(req.replies, [rep.id]);
    assert.equal(rep.direction, 'rx');
    assert.equal(rep.replyTo, req.id);
    assert.deepEqual(stages(rep), ['icmp_reflect', 'ip_output', 'if_output', 'net_slirp_send_packet']);
    assert.equal(verdictText(outcome(rep)!), 'delivered');
    assert.match(rep.summary, /10\.0\.2\.2 -> 10\.0\.2\.15 ICMP echo reply/);
    assert.ok(rep.steps.every((s, i) => i === 0 || s.time >= rep.steps[i - 1]!.time), 'VM times in order');
    const text = formatJourney(req);
    assert.match(text, /^journey \d+ tx 10\.0\.2\.15 -> 10\.0\.2\.2 ICMP echo request/);
    assert.match(text, /\n  \d+\.\d{6} icmp_input  answered \(reply: journey \d+\)$/);
  } finally {
    rec.stop();
    await g.slirp.close();
  }
});

test('a packet a network condition holds shows its hold time, and its journey stays open while it is held', async () => {
  const { g, rec, ended } = recorded();
  const conditions = new NetworkConditions(g.probes, g.clock, { seed: 1 });
  conditions.add('icmp_reflect: delay 300ms');
  try {
    g.slirp.input(eth(0x0800, ipv4({ dst: HOST_IP, protocol: 1, payload: icmpEcho(7, 1, [1, 2, 3]) })));
    g.clock.advance(250);
    // Longer than the idle time, on the VM clock: the sweeper must not close a journey whose frame is held.
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(ended().filter((j) => j.direction === 'rx').length, 0, 'the reply is still held');
    g.clock.advance(50);
    rec.flush();
    const rep = ended().find((j) => j.direction === 'rx')!;
    assert.deepEqual(stages(rep), ['icmp_reflect', 'ip_output', 'if_output', 'net_slirp_send_packet']);
    assert.equal(verdictText(outcome(rep)!), 'delivered');
    assert.equal(rep.steps[1]!.time - rep.steps[0]!.time, 300, 'the next stage comes after the hold');
    assert.match(formatJourney(rep), /\n  \d+\.\d{6} icmp_reflect  held 300 ms by netem delay, then forwarded\n/);
    assert.equal((journeyJson(rep).steps as Array<{ delayed?: string }>)[0]!.delayed, 'held 300 ms by netem delay');
    assert.equal(rep.steps[2]!.delayed, undefined, 'only the holding stage says so');
  } finally {
    conditions.dispose();
    rec.stop();
    await g.slirp.close();
  }
});

test('ARP and DHCP are answered by the stack; the replies link by addresses and by xid', async () => {
  const { g, rec, ended } = recorded();
  try {
    g.slirp.input(arp(1, GUEST_IP, HOST_IP));
    g.slirp.input(guestDhcp({ type: 1, xid: 0xabcd }));
    rec.flush();
    const byId = new Map(ended().map((j) => [j.id, j]));
    const arpReq = ended().find((j) => j.direction === 'tx' && stages(j).includes('arp_input'))!;
    assert.equal(verdictText(outcome(arpReq)!), 'answered');
    assert.match(byId.get(arpReq.replies[0]!)!.summary, /ARP 10\.0\.2\.2 is-at/);
    const discover = ended().find((j) => j.direction === 'tx' && stages(j).includes('bootp_input'))!;
    assert.deepEqual(stages(discover).slice(-3), ['ip_input', 'udp_input', 'bootp_input']);
    assert.equal(verdictText(outcome(discover)!), 'answered');
    const offer = byId.get(discover.replies[0]!)!;
    assert.deepEqual(stages(offer), ['udp_output', 'ip_output', 'if_output', 'net_slirp_send_packet']);
    assert.equal(offer.replyTo, discover.id);
  } finally {
    rec.stop();
    await g.slirp.close();
  }
});

test('a dropped frame ends its journey at the dropping stage with the reason, and the drop names the journey', async () => {
  const { g, rec, events, ended } = recorded();
  try {
    const f = guestUdp(ip4(1, 2, 3, 4), 40000, 9, [1, 2, 3, 4]);
    f[14 + 20 + 7] ^= 0xff; // the UDP checksum
    g.slirp.input(f);
    const [j] = ended();
    assert.ok(j, 'closed at once, without waiting for idleness');
    assert.deepEqual(stages(j), ['net_slirp_receive', 'slirp_input', 'ip_input', 'udp_input']);
    assert.equal(verdictText(outcome(j)!), 'dropped: udp-bad-checksum');
    const drop = events.find((e) => e.type === 'drop');
    assert.ok(drop && drop.type === 'drop');
    assert.equal(drop.stage, 'udp_input');
    assert.equal(drop.journey, j);
    assert.deepEqual(journeyJson(j).steps, j.steps.map((s) => ({ stage: s.stage, time: 0, verdict: verdictText(s.verdict) })));
  } finally {
    rec.stop();
    await g.slirp.close();
  }
});

test('fragments wait in ip_input as "reassembled into datagram N"; the last one carries the datagram on', async () => {
  const { g, rec, ended } = recorded();
  try {
    const payload = Array.from({ length: 24 }, (_, i) => i);
    const udpBytes = guestUdp(HOST_IP, 40000, 9, payload).subarray(34);
    const first = eth(0x0800, ipv4({ dst: HOST_IP, protocol: 17, payload: udpBytes.subarray(0, 16), mf: true, id: 0x4d2 }));
    const last = eth(0x0800, ipv4({ dst: HOST_IP, protocol: 17, payload: udpBytes.subarray(16), offset: 16, id: 0x4d2 }));
    g.slirp.input(first);
    g.slirp.input(last);
    rec.flush();
    const [a, b] = [...ended()].filter((j) => j.direction === 'tx').sort((x, y) => x.id - y.id);
    assert.equal(verdictText(outcome(a!)!), 'reassembled into datagram 1234');
    assert.ok(stages(b!).includes('udp_input'), stages(b!).join(' '));
  } finally {
    rec.stop();
    await g.slirp.close();
  }
});

test('UDP through NAT: sent to the host socket with the mapping; the answer links back', async () => {
  const server = dgram.createSocket('udp4');
  await new Promise<void>((r) => server.bind(0, '127.0.0.1', r));
  server.on('message', (m, rinfo) => server.send(m, rinfo.port, rinfo.address));
  const port = (server.address() as { port: number }).port;
  const { g, rec, ended } = recorded('udp');
  try {
    g.slirp.input(arp(1, GUEST_IP, HOST_IP)); // not UDP: filtered out
    g.slirp.input(guestUdp(HOST_IP, 40001, port, [9, 9, 9]));
    await g.waitFor((f) => f.length > 34 && f[23] === 17);
    rec.flush();
    assert.ok(ended().every((j) => !j.summary.startsWith('ARP')), 'the filter keeps ARP out');
    const out = ended().find((j) => j.direction === 'tx')!;
    assert.deepEqual(stages(out).slice(-3), ['ip_input', 'udp_input', 'sosendto']);
    assert.equal(verdictText(outcome(out)!), 'sent');
    assert.equal(out.nat?.protocol, 'udp');
    assert.equal(out.nat?.guest, '10.0.2.15:40001');
    assert.equal(out.nat?.host, `127.0.0.1:${port}`);
    const back = ended().find((j) => j.direction === 'rx')!;
    assert.equal(back.replyTo, out.id);
    assert.deepEqual(stages(back), ['sorecvfrom', 'udp_output', 'ip_output', 'if_output', 'net_slirp_send_packet']);
    assert.match(formatJourney(out), /\n  nat udp 10\.0\.2\.15:40001 <-> 127\.0\.0\.1:\d+ \(session \d+\)\n/);
  } finally {
    rec.stop();
    server.close();
    await g.slirp.close();
  }
});

test('off, the recorder arms nothing; on, every stage but the MMIO accesses; stopped, it disarms what it armed', async () => {
  const g = makeGuest();
  assert.ok(Object.values(g.probes.probes).every((p) => !p.armed));
  const rec = new JourneyRecorder(g.probes, { clock: g.clock });
  const stop = rec.start();
  assert.deepEqual(Object.values(g.probes.probes).filter((p) => !p.armed).map((p) => p.stage), ['address_space_rw']);
  stop();
  assert.ok(Object.values(g.probes.probes).every((p) => !p.armed));
  await g.slirp.close();
});

test('a frame the filter rejects is passed over by its later stages; the next frame is followed whole; other listeners still see it', async () => {
  const { g, rec, ended } = recorded('icmp.ident == 8');
  const p = g.probes.probes;
  try {
    g.slirp.input(eth(0x0800, ipv4({ dst: HOST_IP, protocol: 1, payload: icmpEcho(7, 1, [1, 2, 3]) })));
    // Decided at net_slirp_receive (the first whole frame here): no hit is built for it further on.
    assert.deepEqual([p.net_slirp_receive.hits, p.slirp_input.hits, p.ip_input.hits, p.icmp_input.hits], [1, 0, 0, 0]);
    assert.deepEqual([p.slirp_input.packets, p.icmp_input.packets], [1, 1], 'still counted');
    assert.equal(p.ip_output.hits, 1, 'the reply is a frame of its own, decided at ip_output');
    assert.equal(p.if_output.hits, 0);
    g.slirp.input(eth(0x0800, ipv4({ dst: HOST_IP, protocol: 1, payload: icmpEcho(8, 1, [1, 2, 3]) })));
    rec.flush();
    const [req, rep] = [...ended()].sort((a, b) => a.id - b.id);
    assert.equal(ended().length, 2);
    assert.deepEqual(stages(req!), ['net_slirp_receive', 'slirp_input', 'ip_input', 'icmp_input']);
    assert.deepEqual(stages(rep!), ['icmp_reflect', 'ip_output', 'if_output', 'net_slirp_send_packet']);
    // A listener that wants every frame (a breakpoint, a trace, a capture) still gets the one passed over.
    const seen: number[] = [];
    const off = p.icmp_input.listen(() => void seen.push(1));
    g.slirp.input(eth(0x0800, ipv4({ dst: HOST_IP, protocol: 1, payload: icmpEcho(7, 2, [1, 2, 3]) })));
    off();
    assert.deepEqual(seen, [1]);
    rec.flush();
    assert.equal(ended().length, 2, 'still nothing recorded for it');
  } finally {
    rec.stop();
    await g.slirp.close();
  }
});

test('two recorders (--journey F --drops): a frame one keeps is never passed over for the other', async () => {
  const { g, rec, ended } = recorded('icmp.ident == 8');
  const all = new JourneyRecorder(g.probes, { clock: g.clock, engine: 'qemu' });
  const allEnded: Journey[] = [];
  all.listen((e) => void (e.type === 'end' && allEnded.push(e.journey)));
  all.start();
  try {
    g.slirp.input(eth(0x0800, ipv4({ dst: HOST_IP, protocol: 1, payload: icmpEcho(7, 1, [1, 2, 3]) })));
    rec.flush();
    all.flush();
    assert.equal(ended().length, 0);
    const request = allEnded.find((j) => j.direction === 'tx')!;
    assert.deepEqual(stages(request), ['net_slirp_receive', 'slirp_input', 'ip_input', 'icmp_input'], 'followed whole by the recorder that keeps it');
  } finally {
    all.stop();
    rec.stop();
    await g.slirp.close();
  }
});
