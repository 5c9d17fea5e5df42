import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ip4 } from '../../../extension/slirp/config';
import { checksum, eth, GUEST_IP, guestUdp, HOST_IP, icmpEcho, ipv4, udp } from './helpers/frames';
import { ipOf, makeGuest } from './helpers/harness';

function fixIpChecksum(b: Uint8Array, at = 14): Uint8Array {
  const hl = (b[at]! & 15) * 4;
  b[at + 10] = 0;
  b[at + 11] = 0;
  const c = checksum(b.subarray(at, at + hl));
  b[at + 10] = c >> 8;
  b[at + 11] = c & 255;
  return b;
}

const ping = () => eth(0x0800, ipv4({ dst: HOST_IP, protocol: 1, payload: icmpEcho(1, 1, [1, 2, 3, 4]) }));

test('a frame truncated at every length is dropped, counted, and never throws', () => {
  const frames = [ping(), guestUdp(HOST_IP, 1, 9, [1, 2, 3]), eth(0x0806, new Array(28).fill(0))];
  for (const full of frames) {
    for (let n = 0; n < full.length; n++) {
      const g = makeGuest();
      g.slirp.input(full.subarray(0, n));
      assert.equal(g.out.length, 0, `length ${n}`);
      assert.equal(g.slirp.drops['internal-error'], undefined);
      const total = Object.values(g.slirp.drops).reduce((a, b) => a + b, 0);
      assert.equal(total, 1, `one drop for a frame cut at ${n}: ${JSON.stringify(g.slirp.drops)}`);
      void g.slirp.close();
    }
  }
});

test('Ethernet: short frames, unknown ethertypes, IPv6 and VLAN are counted', () => {
  const g = makeGuest();
  g.slirp.input(new Uint8Array(13));
  g.slirp.input(eth(0x1234, [1, 2, 3]));
  g.slirp.input(eth(0x86dd, new Array(40).fill(0)));
  g.slirp.input(eth(0x8100, new Array(40).fill(0)));
  assert.deepEqual({ ...g.slirp.drops }, { 'eth-truncated': 1, 'eth-unknown-type': 1, 'ipv6-bad-version': 1, 'eth-vlan-unsupported': 1 });
});

test('IPv4 header checks: version, IHL, lying total length, checksum, options overrunning', () => {
  const g = makeGuest();
  const badVersion = ping();
  badVersion[14] = 0x65;
  g.slirp.input(fixIpChecksum(badVersion));
  const smallIhl = ping();
  smallIhl[14] = 0x44;
  g.slirp.input(smallIhl);
  const longer = ping();
  longer[16] = 0x05; // total length 1280+ but the frame is short
  g.slirp.input(fixIpChecksum(longer));
  const shorter = ping();
  shorter[16] = 0;
  shorter[17] = 16; // less than the header
  g.slirp.input(fixIpChecksum(shorter));
  const badSum = ping();
  badSum[22] ^= 1; // TTL changed, checksum not
  g.slirp.input(badSum);
  const bigIhl = ping();
  bigIhl[14] = 0x4f; // 60-byte header, in a 56-byte datagram
  g.slirp.input(fixIpChecksum(bigIhl.subarray(0, 14 + 56)));
  assert.equal(g.out.length, 0);
  assert.deepEqual({ ...g.slirp.drops }, {
    'ip-bad-version': 1,
    'ip-bad-ihl': 1,
    'ip-length-exceeds-frame': 1,
    'ip-bad-length': 1,
    'ip-bad-checksum': 1,
    'ip-options-overrun': 1,
  });
});

test('IP options are skipped: the transport starts after them', () => {
  const g = makeGuest();
  g.slirp.input(eth(0x0800, ipv4({ dst: HOST_IP, protocol: 1, payload: icmpEcho(5, 6, [9]), options: [1, 1, 1, 0] })));
  assert.equal(g.out.length, 1);
  assert.equal(ipOf(g.out[0]!).payload[0], 0);
});

test('Ethernet padding is not taken as payload', () => {
  const g = makeGuest();
  const f = Uint8Array.from([...guestUdp(HOST_IP, 1000, 69, [1]), 0, 0, 0, 0, 0, 0, 0, 0]);
  g.slirp.input(f);
  assert.equal(g.slirp.drops['tftp-unsupported'], 1, 'the UDP datagram was valid despite padding');
});

test('UDP: lying lengths and bad checksums; a zero checksum is accepted', () => {
  const g = makeGuest();
  const seg = udp(GUEST_IP, HOST_IP, 1000, 69, [1, 2, 3, 4]);
  const long = seg.slice();
  long[5] = 200;
  g.slirp.input(eth(0x0800, ipv4({ dst: HOST_IP, protocol: 17, payload: long })));
  const short = seg.slice();
  short[5] = 4;
  g.slirp.input(eth(0x0800, ipv4({ dst: HOST_IP, protocol: 17, payload: short })));
  const bad = seg.slice();
  bad[9] ^= 0xff;
  g.slirp.input(eth(0x0800, ipv4({ dst: HOST_IP, protocol: 17, payload: bad })));
  const none = seg.slice();
  none[6] = 0;
  none[7] = 0;
  none[9] ^= 0xff;
  g.slirp.input(eth(0x0800, ipv4({ dst: HOST_IP, protocol: 17, payload: none })));
  g.slirp.input(eth(0x0800, ipv4({ dst: HOST_IP, protocol: 17, payload: seg.subarray(0, 7) })));
  assert.deepEqual({ ...g.slirp.drops }, {
    'udp-length-exceeds-ip': 1,
    'udp-bad-length': 1,
    'udp-bad-checksum': 1,
    'tftp-unsupported': 1,
    'udp-truncated': 1,
  });
});

test('spoofed sources and unknown protocols are dropped', () => {
  const g = makeGuest();
  g.slirp.input(eth(0x0800, ipv4({ src: HOST_IP, dst: HOST_IP, protocol: 1, payload: icmpEcho(1, 1, []) })));
  g.slirp.input(eth(0x0800, ipv4({ src: ip4(127, 0, 0, 1), dst: HOST_IP, protocol: 1, payload: icmpEcho(1, 1, []) })));
  g.slirp.input(eth(0x0800, ipv4({ src: ip4(224, 0, 0, 1), dst: HOST_IP, protocol: 1, payload: icmpEcho(1, 1, []) })));
  g.slirp.input(eth(0x0800, ipv4({ dst: HOST_IP, protocol: 47, payload: [1, 2, 3, 4] })));
  g.slirp.input(eth(0x0800, ipv4({ src: ip4(192, 168, 1, 5), dst: HOST_IP, protocol: 1, payload: icmpEcho(1, 1, []) })));
  g.slirp.input(eth(0x0800, ipv4({ src: 0, dst: HOST_IP, protocol: 1, payload: icmpEcho(1, 1, []) })));
  assert.deepEqual({ ...g.slirp.drops }, { 'ip-bad-source': 2, 'ip-source-outside-net': 3, 'ip-unsupported-protocol': 1 });
  assert.equal(g.out.length, 0);
});

/** Splits an ICMP echo into fragments of `size` payload bytes (a multiple of 8). */
function fragments(id: number, payload: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let off = 0; off < payload.length; off += size) {
    const part = payload.subarray(off, Math.min(payload.length, off + size));
    out.push(eth(0x0800, ipv4({ dst: HOST_IP, protocol: 1, id, offset: off, mf: off + size < payload.length, payload: part })));
  }
  return out;
}

const bigEcho = (n: number) => icmpEcho(9, 9, Array.from({ length: n }, (_, i) => i & 255));

test('fragments in any order are reassembled; the echo reply is fragmented to 1500 even on the bundled guest\'s jumbo link (the guest may have kept 1500)', () => {
  const g = makeGuest({ mtu: 9000 });
  assert.equal(g.slirp.config.mtu, 9000);
  const echo = bigEcho(3000);
  const frags = fragments(77, echo, 1000);
  assert.equal(frags.length, 4);
  for (const f of [frags[3]!, frags[1]!, frags[0]!, frags[2]!]) g.slirp.input(f);
  assert.deepEqual({ ...g.slirp.drops }, {});
  assert.equal(g.slirp.reassemblyState.datagrams, 0);
  assert.equal(g.out.length, 3, '3008 bytes of reply in 1480-byte pieces');
  const parts = g.out.map(ipOf);
  assert.deepEqual(parts.map((p) => p.fragmentOffset), [0, 1480, 2960]);
  assert.deepEqual(parts.map((p) => p.moreFragments), [true, true, false]);
  const reply = new Uint8Array(3008);
  for (const p of parts) reply.set(p.payload, p.fragmentOffset);
  assert.equal(reply[0], 0);
  assert.equal(checksum(reply), 0);
  assert.deepEqual([...reply.subarray(8)], [...echo.subarray(8)]);
});

test('with mtu= below 1500, datagrams other than TCP are fragmented to it', () => {
  const g = makeGuest({ mtu: 1280 });
  for (const f of fragments(78, bigEcho(3000), 1000)) g.slirp.input(f);
  const parts = g.out.map(ipOf);
  assert.deepEqual(parts.map((p) => p.fragmentOffset), [0, 1256, 2512]);
  assert.ok(parts.every((p) => p.totalLength <= 1280));
});

test('overlapping fragments discard the whole datagram', () => {
  const g = makeGuest();
  const echo = bigEcho(40);
  g.slirp.input(eth(0x0800, ipv4({ dst: HOST_IP, protocol: 1, id: 5, offset: 0, mf: true, payload: echo.subarray(0, 24) })));
  g.slirp.input(eth(0x0800, ipv4({ dst: HOST_IP, protocol: 1, id: 5, offset: 16, mf: false, payload: echo.subarray(16) })));
  assert.equal(g.slirp.drops['frag-overlap'], 1);
  assert.equal(g.slirp.reassemblyState.datagrams, 0);
  assert.equal(g.slirp.reassemblyState.bytes, 0);
  // A duplicate counts as an overlap too.
  g.slirp.input(eth(0x0800, ipv4({ dst: HOST_IP, protocol: 1, id: 6, offset: 0, mf: true, payload: echo.subarray(0, 24) })));
  g.slirp.input(eth(0x0800, ipv4({ dst: HOST_IP, protocol: 1, id: 6, offset: 0, mf: true, payload: echo.subarray(0, 24) })));
  assert.equal(g.slirp.drops['frag-overlap'], 2);
  assert.equal(g.out.length, 0);
});

test('oversized, misaligned and empty fragments are refused', () => {
  const g = makeGuest();
  g.slirp.input(eth(0x0800, ipv4({ dst: HOST_IP, protocol: 1, id: 7, offset: 65528, mf: false, payload: new Array(16).fill(0) })));
  g.slirp.input(eth(0x0800, ipv4({ dst: HOST_IP, protocol: 1, id: 8, offset: 0, mf: true, payload: new Array(12).fill(0) })));
  g.slirp.input(eth(0x0800, ipv4({ dst: HOST_IP, protocol: 1, id: 9, offset: 8, mf: true, payload: [] })));
  // Data beyond the end that the last fragment set.
  g.slirp.input(eth(0x0800, ipv4({ dst: HOST_IP, protocol: 1, id: 10, offset: 8, mf: false, payload: new Array(8).fill(0) })));
  g.slirp.input(eth(0x0800, ipv4({ dst: HOST_IP, protocol: 1, id: 10, offset: 64, mf: true, payload: new Array(8).fill(0) })));
  assert.deepEqual({ ...g.slirp.drops }, { 'frag-oversized': 1, 'frag-bad-length': 1, 'frag-empty': 1, 'frag-overlap': 1 });
  assert.equal(g.slirp.reassemblyState.datagrams, 0);
});

test('a datagram never completed is forgotten after 30 s', () => {
  const g = makeGuest();
  g.slirp.input(eth(0x0800, ipv4({ dst: HOST_IP, protocol: 1, id: 11, offset: 0, mf: true, payload: new Array(8).fill(0) })));
  assert.equal(g.slirp.reassemblyState.datagrams, 1);
  g.clock.advance(29_999);
  assert.equal(g.slirp.reassemblyState.datagrams, 1);
  g.clock.advance(2);
  assert.equal(g.slirp.reassemblyState.datagrams, 0);
  assert.equal(g.slirp.reassemblyState.bytes, 0);
  assert.equal(g.slirp.drops['frag-timeout'], 1);
});

test('reassembly memory is bounded: datagram count, fragments per datagram, bytes', () => {
  const g = makeGuest({}, { reassembly: { maxDatagrams: 4, maxFragmentsPerDatagram: 3, maxBytes: 4096, timeoutMs: 30_000 } });
  for (let id = 0; id < 10; id++) g.slirp.input(eth(0x0800, ipv4({ dst: HOST_IP, protocol: 1, id, offset: 0, mf: true, payload: new Array(8).fill(0) })));
  assert.equal(g.slirp.reassemblyState.datagrams, 4);
  assert.equal(g.slirp.drops['frag-evicted'], 6);
  for (let k = 0; k < 4; k++) g.slirp.input(eth(0x0800, ipv4({ dst: HOST_IP, protocol: 1, id: 100, offset: k * 16, mf: true, payload: new Array(8).fill(0) })));
  assert.equal(g.slirp.drops['frag-too-many'], 1);
  for (let k = 0; k < 3; k++) g.slirp.input(eth(0x0800, ipv4({ dst: HOST_IP, protocol: 1, id: 200 + k, offset: 0, mf: true, payload: new Array(1480).fill(0) })));
  assert.ok(g.slirp.reassemblyState.bytes <= 4096);
  assert.ok(g.slirp.reassemblyState.datagrams <= 4);
});

test('broadcast and multicast destinations are not NATed', () => {
  const g = makeGuest();
  g.slirp.input(guestUdp(0xffffffff, 1000, 1234, [1]));
  g.slirp.input(guestUdp(ip4(10, 0, 2, 255), 1000, 1234, [1]));
  g.slirp.input(guestUdp(ip4(224, 0, 0, 251), 5353, 5353, [1]));
  assert.equal(g.slirp.drops['udp-broadcast'], 3);
  assert.equal(g.slirp.nat.size, 0);
});
