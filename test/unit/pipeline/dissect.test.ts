import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describe, describeHit, FIELD_CATALOG, summarize } from '../../../extension/pipeline/dissect';
import { evaluateField } from '../../../extension/pipeline/filter';
import type { ProbeHit } from '../../../extension/pipeline/probe';
import * as P from './packets';

const hit = (frame: Uint8Array, extra: Partial<ProbeHit> = {}): ProbeHit => ({ stage: 'slirp_input', frame, ...extra });
const field = (name: string, frame: Uint8Array, extra: Partial<ProbeHit> = {}) => evaluateField(name, hit(frame, extra)).display;

test('Ethernet, IPv4 and TCP fields carry Wireshark names and values', () => {
  assert.deepEqual(field('eth.src', P.syn), ['52:54:00:12:34:56']);
  assert.deepEqual(field('eth.dst', P.syn), ['52:55:0a:00:02:02']);
  assert.deepEqual(field('eth.addr', P.syn), ['52:55:0a:00:02:02', '52:54:00:12:34:56']);
  assert.deepEqual(evaluateField('eth.type', hit(P.syn)).values, [0x0800]);
  assert.deepEqual(field('ip.src', P.syn), ['10.0.2.15']);
  assert.deepEqual(field('ip.dst', P.syn), ['10.0.2.2']);
  assert.deepEqual(field('ip.addr', P.syn), ['10.0.2.15', '10.0.2.2']);
  assert.deepEqual(evaluateField('ip.proto', hit(P.syn)).values, [6]);
  assert.deepEqual(evaluateField('ip.ttl', hit(P.syn)).values, [64]);
  assert.deepEqual(evaluateField('ip.id', hit(P.syn)).values, [0x4242]);
  assert.deepEqual(evaluateField('ip.len', hit(P.syn)).values, [20 + 28]);
  assert.deepEqual(evaluateField('ip.hdr_len', hit(P.syn)).values, [20]);
  assert.deepEqual(evaluateField('ip.flags.df', hit(P.syn)).values, [true]);
  assert.deepEqual(evaluateField('ip.flags.mf', hit(P.syn)).values, [false]);
  assert.deepEqual(evaluateField('ip.frag_offset', hit(P.syn)).values, [0]);
  assert.equal(evaluateField('ip.checksum', hit(P.syn)).values.length, 1);
  assert.deepEqual(evaluateField('tcp.srcport', hit(P.syn)).values, [40000]);
  assert.deepEqual(evaluateField('tcp.dstport', hit(P.syn)).values, [8080]);
  assert.deepEqual(evaluateField('tcp.port', hit(P.syn)).values, [40000, 8080]);
  assert.deepEqual(evaluateField('tcp.seq', hit(P.synAck)).values, [1000]);
  assert.deepEqual(evaluateField('tcp.ack', hit(P.synAck)).values, [1]);
  assert.deepEqual(evaluateField('tcp.hdr_len', hit(P.syn)).values, [28]);
  assert.deepEqual(evaluateField('tcp.len', hit(P.syn)).values, [0]);
  assert.deepEqual(evaluateField('tcp.window_size_value', hit(P.syn)).values, [64240]);
  assert.deepEqual(evaluateField('tcp.flags', hit(P.synAck)).values, [0x12]);
  assert.deepEqual(field('tcp.flags', P.synAck), ['0x012 (SYN, ACK)']);
  assert.deepEqual(evaluateField('tcp.flags.syn', hit(P.synAck)).values, [true]);
  assert.deepEqual(evaluateField('tcp.flags.ack', hit(P.synAck)).values, [true]);
  assert.deepEqual(evaluateField('tcp.flags.fin', hit(P.synAck)).values, [false]);
  assert.deepEqual(evaluateField('tcp.flags.rst', hit(P.rst)).values, [true]);
  assert.deepEqual(evaluateField('tcp.flags.push', hit(P.httpGet)).values, [true]);
  assert.deepEqual(evaluateField('tcp.options.mss_val', hit(P.syn)).values, [1460]);
  assert.deepEqual(evaluateField('tcp.options.wscale.shift', hit(P.syn)).values, [7]);
  assert.deepEqual(evaluateField('tcp.options.wscale.shift', hit(P.synAck)).values, []);
  assert.deepEqual(evaluateField('tcp.len', hit(P.httpGet)).values, [16]);
  assert.equal(Buffer.from(evaluateField('tcp.payload', hit(P.httpGet)).values[0] as Uint8Array).toString(), 'GET / HTTP/1.1\r\n');
  // Ethernet padding is not payload.
  assert.deepEqual(evaluateField('tcp.payload', hit(P.rst)).values, []);
  assert.deepEqual(evaluateField('frame.len', hit(P.httpGet)).values, [P.httpGet.length]);
});

test('ARP, ICMP, UDP, DHCP and DNS fields', () => {
  assert.deepEqual(evaluateField('arp.opcode', hit(P.arpRequest)).values, [1]);
  assert.deepEqual(field('arp.src.hw_mac', P.arpRequest), ['52:54:00:12:34:56']);
  assert.deepEqual(field('arp.src.proto_ipv4', P.arpRequest), ['10.0.2.15']);
  assert.deepEqual(field('arp.dst.proto_ipv4', P.arpRequest), ['10.0.2.2']);
  assert.deepEqual(evaluateField('icmp.type', hit(P.ping)).values, [8]);
  assert.deepEqual(evaluateField('icmp.code', hit(P.ping)).values, [0]);
  assert.deepEqual(evaluateField('icmp.ident', hit(P.ping)).values, [0x77]);
  assert.deepEqual(evaluateField('icmp.seq', hit(P.pong)).values, [3]);
  assert.deepEqual(evaluateField('udp.srcport', hit(P.udpData)).values, [5000]);
  assert.deepEqual(evaluateField('udp.dstport', hit(P.udpData)).values, [9999]);
  assert.deepEqual(evaluateField('udp.port', hit(P.udpData)).values, [5000, 9999]);
  assert.deepEqual(evaluateField('udp.length', hit(P.udpData)).values, [11]);
  assert.deepEqual(evaluateField('udp.checksum', hit(P.udpData)).values, [0x1234]);
  assert.deepEqual(evaluateField('dhcp.option.dhcp', hit(P.dhcpDiscover)).values, [1]);
  assert.deepEqual(field('dhcp.hw.mac_addr', P.dhcpDiscover), ['52:54:00:12:34:56']);
  assert.deepEqual(evaluateField('dhcp.option.hostname', hit(P.dhcpDiscover)).values, ['usernet-guest']);
  assert.deepEqual(field('dhcp.option.requested_ip_address', P.dhcpDiscover), ['10.0.2.15']);
  assert.deepEqual(field('dhcp.ip.your', P.dhcpOffer), ['10.0.2.15']);
  assert.deepEqual(evaluateField('dhcp.option.dhcp', hit(P.dhcpOffer)).values, [2]);
  assert.deepEqual(evaluateField('dns.id', hit(P.dnsQuery)).values, [0xbeef]);
  assert.deepEqual(evaluateField('dns.flags.response', hit(P.dnsQuery)).values, [false]);
  assert.deepEqual(evaluateField('dns.flags.response', hit(P.dnsResponse)).values, [true]);
  assert.deepEqual(evaluateField('dns.qry.name', hit(P.dnsQuery)).values, ['www.example.com']);
  assert.deepEqual(evaluateField('dns.qry.type', hit(P.dnsQuery)).values, [1]);
  assert.deepEqual(evaluateField('dns.count.answers', hit(P.dnsResponse)).values, [2]);
  // The answers' names are compression pointers to the question.
  assert.deepEqual(field('dns.a', P.dnsResponse), ['93.184.216.34', '93.184.216.35']);
  // Not DNS: a UDP datagram to another port.
  assert.deepEqual(evaluateField('dns', hit(P.udpData)).values, []);
});

test('IPv6, ICMPv6, VLAN and fragments', () => {
  assert.deepEqual(field('ipv6.src', P.neighborSolicit), ['fe80::5054:ff:fe12:3456']);
  assert.deepEqual(field('ipv6.dst', P.neighborSolicit), ['ff02::1']);
  assert.equal(field('ipv6.addr', P.neighborSolicit).length, 2);
  assert.deepEqual(evaluateField('ipv6.nxt', hit(P.neighborSolicit)).values, [58]);
  assert.deepEqual(evaluateField('ipv6.plen', hit(P.neighborSolicit)).values, [24]);
  assert.deepEqual(evaluateField('ipv6.hlim', hit(P.neighborSolicit)).values, [255]);
  assert.deepEqual(evaluateField('icmpv6.type', hit(P.neighborSolicit)).values, [135]);
  assert.deepEqual(evaluateField('icmpv6.code', hit(P.neighborSolicit)).values, [0]);
  assert.deepEqual(evaluateField('tcp.dstport', hit(P.ipv6Tcp)).values, [22]);
  assert.deepEqual(evaluateField('ip', hit(P.ipv6Tcp)).values, []);
  assert.deepEqual(evaluateField('vlan.id', hit(P.vlanPing)).values, [42]);
  assert.deepEqual(evaluateField('eth.type', hit(P.vlanPing)).values, [0x8100]);
  assert.deepEqual(evaluateField('icmp.type', hit(P.vlanPing)).values, [8]);
  assert.deepEqual(evaluateField('ip.frag_offset', hit(P.fragment)).values, [1480]);
  assert.deepEqual(evaluateField('ip.flags.mf', hit(P.fragment)).values, [true]);
  // A later fragment carries no UDP header.
  assert.deepEqual(evaluateField('udp', hit(P.fragment)).values, []);
});

test('every prefix of every frame dissects without throwing and loses the fields it cut', () => {
  const names = FIELD_CATALOG.map((f) => f.name);
  for (const [label, frame] of Object.entries(P.ALL)) {
    for (let n = 0; n <= frame.length; n++) {
      const cut = frame.subarray(0, n);
      for (const name of names) assert.doesNotThrow(() => evaluateField(name, hit(cut)), `${label}[0:${n}] ${name}`);
      assert.doesNotThrow(() => summarize(cut), `${label}[0:${n}] summarize`);
      assert.doesNotThrow(() => describe(cut), `${label}[0:${n}] describe`);
    }
  }
  assert.deepEqual(evaluateField('eth.src', hit(P.syn.subarray(0, 10))).values, []);
  assert.deepEqual(evaluateField('ip.src', hit(P.syn.subarray(0, 14 + 19))).values, []);
  assert.deepEqual(field('ip.src', P.syn.subarray(0, 14 + 20)), ['10.0.2.15']);
  assert.deepEqual(evaluateField('tcp.srcport', hit(P.syn.subarray(0, 14 + 20 + 19))).values, []);
  assert.deepEqual(evaluateField('tcp.srcport', hit(P.syn.subarray(0, 14 + 20 + 20))).values, [40000]);
  // The options were cut off: the header is there, the MSS is not.
  assert.deepEqual(evaluateField('tcp.options.mss_val', hit(P.syn.subarray(0, 14 + 20 + 21))).values, []);
  assert.deepEqual(evaluateField('dns.qry.name', hit(P.dnsQuery.subarray(0, P.dnsQuery.length - 10))).values, []);
  assert.deepEqual(evaluateField('dhcp.option.hostname', hit(P.dhcpDiscover.subarray(0, 14 + 28 + 245))).values, []);
});

test('a DNS compression loop or a pointer out of the message yields no name', () => {
  const looped = Uint8Array.from(P.dnsQuery);
  const q = 14 + 20 + 8 + 12;
  looped[q] = 0xc0;
  looped[q + 1] = 12; // points at itself
  assert.deepEqual(evaluateField('dns.qry.name', hit(looped)).values, []);
  looped[q + 1] = 250;
  assert.deepEqual(evaluateField('dns.qry.name', hit(looped)).values, []);
});

test('summarize gives one line per protocol', () => {
  assert.equal(summarize(P.syn), '10.0.2.15:40000 -> 10.0.2.2:8080 TCP [SYN] seq=0 len=0');
  assert.equal(summarize(P.synAck), '10.0.2.2:8080 -> 10.0.2.15:40000 TCP [SYN, ACK] seq=1000 ack=1 len=0');
  assert.equal(summarize(P.httpGet), '10.0.2.15:40001 -> 93.184.216.34:80 TCP [PSH, ACK] seq=1 ack=1001 len=16');
  assert.equal(summarize(P.rst), '10.0.2.2:443 -> 10.0.2.15:40002 TCP [RST] seq=5 len=0');
  assert.equal(summarize(P.arpRequest), 'ARP who-has 10.0.2.2 tell 10.0.2.15');
  assert.equal(summarize(P.arpReply), 'ARP 10.0.2.2 is-at 52:55:0a:00:02:02');
  assert.equal(summarize(P.ping), '10.0.2.15 -> 8.8.8.8 ICMP echo request id=119 seq=3');
  assert.equal(summarize(P.pong), '8.8.8.8 -> 10.0.2.15 ICMP echo reply id=119 seq=3');
  assert.equal(summarize(P.udpData), '10.0.2.15:5000 -> 10.0.2.2:9999 UDP len=3');
  assert.equal(summarize(P.dhcpDiscover), 'DHCP DISCOVER');
  assert.equal(summarize(P.dhcpOffer), 'DHCP OFFER 10.0.2.15');
  assert.equal(summarize(P.dnsQuery), '10.0.2.15:33333 -> 10.0.2.3:53 DNS query A www.example.com');
  assert.equal(summarize(P.dnsResponse), '10.0.2.3:53 -> 10.0.2.15:33333 DNS response A www.example.com -> 93.184.216.34, 93.184.216.35');
  assert.equal(summarize(P.fragment), '10.0.2.15 -> 10.0.2.2 IPv4 fragment proto=17 off=1480 MF');
  assert.equal(summarize(P.neighborSolicit), 'fe80::5054:ff:fe12:3456 -> ff02::1 ICMPv6 neighbor solicitation');
  assert.equal(summarize(P.ipv6Tcp), '[fe80::5054:ff:fe12:3456]:1234 -> [2001:db8::2]:22 TCP [SYN] seq=0 len=0');
  assert.equal(summarize(P.lldp), '52:54:00:12:34:56 -> 01:80:c2:00:00:0e ethertype 0x88cc len=60');
  assert.equal(summarize(P.syn.subarray(0, 8)), 'truncated frame (8 bytes)');
  assert.equal(summarize(P.syn.subarray(0, 30)), '52:54:00:12:34:56 -> 52:55:0a:00:02:02 IPv4 (truncated) len=30');
  assert.equal(summarize(P.syn.subarray(0, 40)), '10.0.2.15 -> 10.0.2.2 TCP (truncated)');
});

test('describe builds a layer -> field -> text tree in frame order', () => {
  const tree = describe(P.synAck);
  assert.deepEqual(Object.keys(tree), ['frame', 'eth', 'ip', 'tcp']);
  assert.equal(tree.ip!['ip.src'], '10.0.2.2');
  assert.equal(tree.tcp!['tcp.flags'], '0x012 (SYN, ACK)');
  assert.equal(tree.tcp!['tcp.flags.syn'], '1');
  assert.equal(tree.tcp!['tcp.options.mss_val'], '1460');
  // Aggregates such as ip.addr stay filterable but do not clutter the tree.
  assert.equal(tree.ip!['ip.addr'], undefined);
  assert.deepEqual(Object.keys(describe(P.dnsResponse)), ['frame', 'eth', 'ip', 'udp', 'dns']);
  assert.equal(describe(P.dnsResponse).dns!['dns.a'], '93.184.216.34, 93.184.216.35');
  assert.deepEqual(Object.keys(describe(P.syn.subarray(0, 20))), ['frame', 'eth']);
});

test('describeHit adds the stage, the e1000 descriptor and the NAT session', () => {
  const tree = describeHit({
    stage: 'e1000_send_packet',
    frame: P.syn,
    descriptor: { ring: 'tx', index: 3, address: 0x1f000, fields: { kind: 'data', length: 62, eop: true } },
    session: { id: 7, protocol: 'tcp', state: 'SYN_SENT', guestAddr: '10.0.2.15', guestPort: 40000, hostAddr: '127.0.0.1', hostPort: 8080 },
  });
  assert.equal(tree.pipeline!['pipeline.stage'], 'e1000_send_packet');
  assert.equal(tree.e1000!['e1000.ring'], 'tx');
  assert.equal(tree.e1000!['e1000.index'], '3');
  assert.equal(tree.e1000!['e1000.addr'], '0x0001f000');
  assert.equal(tree.e1000!['e1000.kind'], 'data');
  assert.equal(tree.e1000!['e1000.length'], '62');
  assert.equal(tree.e1000!['e1000.eop'], '1');
  assert.equal(tree.session!['session.state'], 'SYN_SENT');
  assert.equal(tree.session!['session.host.addr'], '127.0.0.1');
  assert.equal(tree.session!['session.guest.port'], '40000');
});

test('the catalog lists every field once with a type and description', () => {
  const names = FIELD_CATALOG.map((f) => f.name);
  assert.equal(new Set(names).size, names.length);
  for (const f of FIELD_CATALOG) assert.ok(f.description.length > 0, f.name);
  for (const required of ['eth.src', 'vlan.id', 'arp.opcode', 'ip.checksum', 'ipv6.hlim', 'icmp.seq', 'icmpv6.code', 'udp.checksum',
    'tcp.payload', 'tcp.flags.cwr', 'tcp.flags.ece', 'tcp.flags.urg', 'dhcp.ip.your', 'dns.a', 'frame.len', 'e1000.ring', 'session.id',
    'eth', 'arp', 'ip', 'ipv6', 'icmp', 'icmpv6', 'udp', 'tcp', 'dhcp', 'dns']) {
    assert.ok(names.includes(required), required);
  }
});
