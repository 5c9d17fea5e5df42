import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ip4 } from '../../../extension/slirp/config';
import { arp, checksum, eth, GUEST_IP, GUEST_MAC, HOST_IP, DNS_IP, icmpEcho, ipv4, udp } from './helpers/frames';
import { ipOf, isIcmp, makeGuest } from './helpers/harness';

test('ARP requests for the gateway and the DNS are answered with 52:55 MACs', () => {
  const g = makeGuest();
  g.slirp.input(arp(1, GUEST_IP, HOST_IP));
  g.slirp.input(arp(1, GUEST_IP, DNS_IP));
  assert.equal(g.out.length, 2);
  const [gw, dns] = g.out as [Uint8Array, Uint8Array];
  assert.equal(gw.length, 60);
  assert.deepEqual([...gw.subarray(0, 6)], [...GUEST_MAC]);
  assert.deepEqual([...gw.subarray(6, 12)], [0x52, 0x55, 10, 0, 2, 2]);
  assert.equal((gw[20]! << 8) | gw[21]!, 2, 'an ARP reply');
  assert.deepEqual([...gw.subarray(22, 28)], [0x52, 0x55, 10, 0, 2, 2], 'sender MAC');
  assert.deepEqual([...gw.subarray(28, 32)], [10, 0, 2, 2], 'sender IP');
  assert.deepEqual([...gw.subarray(32, 38)], [...GUEST_MAC], 'target MAC');
  assert.deepEqual([...gw.subarray(38, 42)], [10, 0, 2, 15], 'target IP');
  assert.deepEqual([...dns.subarray(22, 28)], [0x52, 0x55, 10, 0, 2, 3]);
});

test('ARP for an address nobody serves gets no answer; guestfwd addresses are answered', () => {
  const g = makeGuest({ guestForwards: [{ protocol: 'tcp', serverAddr: ip4(10, 0, 2, 100), serverPort: 80, target: { kind: 'tcp', host: '127.0.0.1', port: 1 } }] });
  g.slirp.input(arp(1, GUEST_IP, ip4(10, 0, 2, 99)));
  assert.equal(g.out.length, 0);
  g.slirp.input(arp(1, GUEST_IP, ip4(10, 0, 2, 100)));
  assert.equal(g.out.length, 1);
  assert.deepEqual([...g.out[0]!.subarray(22, 28)], [0x52, 0x55, 10, 0, 2, 100]);
});

test('the guest MAC is learned from ARP and used for frames toward that address', () => {
  const other = Uint8Array.from([2, 0, 0, 0, 0, 7]);
  const addr = ip4(10, 0, 2, 16);
  const g = makeGuest();
  g.slirp.input(arp(2, addr, HOST_IP, other, Uint8Array.from([0x52, 0x55, 10, 0, 2, 2])));
  assert.equal(g.out.length, 0, 'a reply is only learned');
  assert.deepEqual([...g.slirp.arpTable.lookup(addr)!], [...other]);
  g.slirp.input(eth(0x0800, ipv4({ src: addr, dst: HOST_IP, protocol: 1, payload: icmpEcho(1, 1, [1, 2, 3]) }), undefined, other));
  assert.equal(g.out.length, 1);
  assert.deepEqual([...g.out[0]!.subarray(0, 6)], [...other]);
});

test('a datagram with TTL 0 is answered with time exceeded from the gateway, to the MAC it came from', () => {
  const addr = ip4(10, 0, 2, 20);
  const g = makeGuest({}, { guestMac: undefined });
  g.slirp.input(eth(0x0800, ipv4({ src: addr, dst: HOST_IP, protocol: 1, payload: icmpEcho(1, 1, []), ttl: 0 }), undefined, Uint8Array.from([2, 0, 0, 0, 0, 9])));
  // The source MAC of the datagram itself was learned, so the error went straight out.
  assert.equal(g.out.length, 1);
  assert.equal(g.slirp.drops['ip-ttl-expired'], 1);
  const ip = ipOf(g.out[0]!);
  assert.equal(ip.payload[0], 11, 'time exceeded');
  assert.equal(ip.source, HOST_IP);
  assert.equal(ip.destination, addr);
  assert.deepEqual([...g.out[0]!.subarray(0, 6)], [2, 0, 0, 0, 0, 9]);
  assert.equal(checksum(ip.payload), 0);
});

test('truncated and malformed ARP is dropped and counted', () => {
  const g = makeGuest();
  const good = arp(1, GUEST_IP, HOST_IP);
  g.slirp.input(good.subarray(0, 14 + 27));
  const badFormat = good.slice();
  badFormat[18] = 8; // hardware length 8
  g.slirp.input(badFormat);
  const badOp = good.slice();
  badOp[21] = 9;
  g.slirp.input(badOp);
  assert.equal(g.out.length, 0);
  assert.equal(g.slirp.drops['arp-truncated'], 1);
  assert.equal(g.slirp.drops['arp-bad-format'], 1);
  assert.equal(g.slirp.drops['arp-bad-operation'], 1);
});

for (const [name, addr] of [['gateway', HOST_IP], ['DNS', DNS_IP]] as const) {
  test(`ping to the ${name} is answered locally with a correct checksum and exactly the request's data`, () => {
    const g = makeGuest();
    const data = Array.from({ length: 56 }, (_, i) => i);
    // Ethernet padding after the datagram must not be echoed back.
    const frame = Uint8Array.from([...eth(0x0800, ipv4({ dst: addr, protocol: 1, payload: icmpEcho(0x77, 3, data) })), 0xee, 0xee, 0xee]);
    g.slirp.input(frame);
    assert.equal(g.out.length, 1);
    const ip = ipOf(g.out[0]!);
    assert.equal(ip.source, addr);
    assert.equal(ip.destination, GUEST_IP);
    assert.equal(ip.protocol, 1);
    const icmp = ip.payload;
    assert.equal(icmp.length, 8 + 56);
    assert.equal(icmp[0], 0, 'echo reply');
    assert.equal(checksum(icmp), 0, 'ICMP checksum');
    assert.equal((icmp[4]! << 8) | icmp[5]!, 0x77);
    assert.equal((icmp[6]! << 8) | icmp[7]!, 3);
    assert.deepEqual([...icmp.subarray(8)], data);
    assert.deepEqual([...g.out[0]!.subarray(6, 12)], [0x52, 0x55, 10, 0, 2, 2]);
  });
}

test('ping elsewhere without a ping socket is dropped, counted, and the log says why once', () => {
  const g = makeGuest();
  for (let i = 0; i < 3; i++) g.slirp.input(eth(0x0800, ipv4({ dst: ip4(192, 0, 2, 1), protocol: 1, payload: icmpEcho(1, i, []) })));
  assert.equal(g.out.length, 0);
  assert.equal(g.slirp.drops['icmp-forward-unsupported'], 3);
  assert.deepEqual(g.logs.filter((l) => l.includes('not forwarded')), ['ping to addresses past the gateway is not forwarded: this test gives no ping sockets']);
  assert.equal(g.slirp.nat.size, 0);
});

test('ICMP with a bad checksum, truncated or of an unhandled type is dropped', () => {
  const g = makeGuest();
  const bad = icmpEcho(1, 1, [1, 2, 3, 4]);
  bad[8] ^= 0xff;
  g.slirp.input(eth(0x0800, ipv4({ dst: HOST_IP, protocol: 1, payload: bad })));
  g.slirp.input(eth(0x0800, ipv4({ dst: HOST_IP, protocol: 1, payload: [8, 0, 0] })));
  g.slirp.input(eth(0x0800, ipv4({ dst: HOST_IP, protocol: 1, payload: icmpEcho(1, 1, [], 13) })));
  assert.equal(g.out.length, 0);
  assert.equal(g.slirp.drops['icmp-bad-checksum'], 1);
  assert.equal(g.slirp.drops['icmp-truncated'], 1);
  assert.equal(g.slirp.drops['icmp-unsupported-type'], 1);
  assert.equal(checksum(icmpEcho(1, 1, [1])), 0);
});

test('restrict=on still answers the gateway ping but drops others as restricted', () => {
  const g = makeGuest({ restrict: true });
  g.slirp.input(eth(0x0800, ipv4({ dst: HOST_IP, protocol: 1, payload: icmpEcho(1, 1, []) })));
  g.slirp.input(eth(0x0800, ipv4({ dst: ip4(192, 0, 2, 1), protocol: 1, payload: icmpEcho(1, 1, []) })));
  assert.equal(g.out.length, 1);
  assert.equal(g.slirp.drops['icmp-restricted'], 1);
});

test('probes see the frame at each stage of the ping path, in order', () => {
  const g = makeGuest();
  const seen: string[] = [];
  for (const s of ['net_slirp_receive', 'slirp_input', 'ip_input', 'icmp_input', 'icmp_reflect', 'ip_output', 'if_output', 'net_slirp_send_packet'] as const) {
    g.probes.probes[s].listen((hit) => void seen.push(hit.stage));
  }
  g.slirp.input(eth(0x0800, ipv4({ dst: HOST_IP, protocol: 1, payload: icmpEcho(1, 1, []) })));
  assert.deepEqual(seen, ['net_slirp_receive', 'slirp_input', 'ip_input', 'icmp_input', 'icmp_reflect', 'ip_output', 'if_output', 'net_slirp_send_packet']);
});

test('a probe that holds the frame stops it until released, then it completes', () => {
  const g = makeGuest();
  const off = g.probes.probes.ip_input.listen(() => 'hold');
  g.slirp.input(eth(0x0800, ipv4({ dst: HOST_IP, protocol: 1, payload: icmpEcho(1, 1, []) })));
  assert.equal(g.out.length, 0);
  assert.equal(g.probes.heldPackets.length, 1);
  off();
  g.probes.releaseAll();
  assert.equal(g.out.length, 1);
});

test('TCP segments are handed to the TCP layer with addresses', () => {
  const g = makeGuest();
  g.slirp.input(eth(0x0800, ipv4({ dst: HOST_IP, protocol: 6, payload: new Array(20).fill(0) })));
  assert.deepEqual(g.tcp.segments, [{ src: GUEST_IP, dst: HOST_IP, length: 20 }]);
});

test('the gateway forwards off the guest network: a datagram arriving with TTL 1 gets time exceeded from 10.0.2.2 (traceroute hop 1), nothing leaves', () => {
  const g = makeGuest();
  const outside = ip4(192, 0, 2, 1);
  const probe = ipv4({ src: GUEST_IP, dst: outside, protocol: 17, ttl: 1, payload: udp(GUEST_IP, outside, 40000, 33434, [1, 2, 3, 4]) });
  g.slirp.input(eth(0x0800, probe));
  assert.equal(g.slirp.drops['ip-ttl-expired'], 1);
  assert.equal(g.slirp.nat.size, 0, 'no host socket for it');
  const ip = ipOf(g.out.at(-1)!);
  assert.equal(ip.source, HOST_IP);
  assert.equal(ip.destination, GUEST_IP);
  assert.deepEqual([ip.payload[0], ip.payload[1]], [11, 0], 'time exceeded in transit');
  assert.deepEqual([...ip.payload.subarray(8, 28)], [...probe.subarray(0, 20)], 'quoting the probe');
  // Addressed to the gateway or DNS itself (on the link, not forwarded), TTL 1 is enough: a ping is answered.
  g.slirp.input(eth(0x0800, ipv4({ src: GUEST_IP, dst: DNS_IP, protocol: 1, ttl: 1, payload: icmpEcho(7, 1, [9]) })));
  assert.equal(ipOf(g.out.at(-1)!).payload[0], 0, 'echo reply');
  assert.equal(g.slirp.drops['ip-ttl-expired'], 1);
  void g.slirp.close();
});
