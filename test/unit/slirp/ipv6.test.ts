import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatIpv6, parseIpv6, solicitedNodeMulticast } from '../../../extension/wire/ipv6-address';
import { parseNdp } from '../../../extension/wire/ndp';
import { parseDhcpv6 } from '../../../extension/wire/dhcpv6';
import { GUEST_MAC, u16 } from './helpers/frames';
import { ALL_ROUTERS, DNS6, frame6, GUEST6, GUEST6_LL, HOST6, icmp6, icmp6ChecksumOk, ip6Fields, ROUTER6_LL, ROUTER6_MAC, udp6 } from './helpers/frames6';
import { makeGuest } from './helpers/harness';
import { allocateFrame6, TRANSPORT6_OFFSET } from '../../../extension/slirp/ip6';

const SLLA = (mac: Uint8Array) => [1, 1, ...mac];
const rs = (src = GUEST6_LL) => frame6({ src, dst: ALL_ROUTERS, nextHeader: 58, hopLimit: 255, payload: icmp6(src, ALL_ROUTERS, 133, 0, [0, 0, 0, 0, ...SLLA(GUEST_MAC)]) });
const ns = (target: Uint8Array, src = GUEST6, hopLimit = 255) => {
  const dst = solicitedNodeMulticast(target);
  return frame6({ src, dst, nextHeader: 58, hopLimit, payload: icmp6(src, dst, 135, 0, [0, 0, 0, 0, ...target, ...SLLA(GUEST_MAC)]) });
};
const echo = (dst: Uint8Array, seq: number, data: number[] = [1, 2, 3], src = GUEST6) =>
  frame6({ src, dst, nextHeader: 58, payload: icmp6(src, dst, 128, 0, [0x12, 0x34, ...u16(seq), ...data]) });
const isIcmp6Type = (type: number) => (f: Uint8Array) => f[12] === 0x86 && f[13] === 0xdd && f[20] === 58 && f[54] === type;

test('a router solicitation is answered with an advertisement of fec0::/64 for SLAAC, the default router and the DNS', () => {
  const g = makeGuest();
  g.slirp.input(rs());
  const ras = g.out.filter(isIcmp6Type(134));
  assert.equal(ras.length, 1);
  const f = ras[0]!;
  assert.deepEqual([...f.subarray(0, 6)], [0x33, 0x33, 0, 0, 0, 1], 'to all nodes');
  assert.deepEqual([...f.subarray(6, 12)], [...ROUTER6_MAC]);
  const ip = ip6Fields(f);
  assert.equal(formatIpv6(ip.src), 'fe80::2');
  assert.equal(formatIpv6(ip.dst), 'ff02::1');
  assert.equal(ip.hopLimit, 255);
  assert.ok(icmp6ChecksumOk(f));
  const ra = parseNdp(ip.payload);
  assert.ok(typeof ra !== 'string' && ra.type === 'router-advertisement');
  assert.equal(ra.routerLifetime, 1800);
  assert.deepEqual([...ra.sourceLinkLayer!], [...ROUTER6_MAC]);
  assert.equal(ra.prefixes!.length, 1);
  const p = ra.prefixes![0]!;
  assert.equal(formatIpv6(p.prefix), 'fec0::');
  assert.equal(p.prefixLength, 64);
  assert.ok(p.autonomous && p.onLink);
  assert.equal(p.validLifetime, 86400);
  assert.equal(formatIpv6(ra.rdnss!.servers[0]!), 'fec0::3');
});

test('ipv6-net and ipv6-host change what is advertised and answered', () => {
  const g = makeGuest({ ipv6Net: 'fd00:1:2::', ipv6PrefixLength: 48, ipv6Host: 'fd00:1:2::1', ipv6Dns: 'fd00:1:2::53' });
  g.slirp.input(rs());
  const ra = parseNdp(ip6Fields(g.out.find(isIcmp6Type(134))!).payload);
  assert.ok(typeof ra !== 'string' && ra.type === 'router-advertisement');
  assert.equal(formatIpv6(ra.prefixes![0]!.prefix), 'fd00:1:2::');
  assert.equal(ra.prefixes![0]!.prefixLength, 48);
  assert.equal(formatIpv6(ra.rdnss!.servers[0]!), 'fd00:1:2::53');
  assert.equal(formatIpv6(ip6Fields(g.out.find(isIcmp6Type(134))!).src), 'fe80::1', 'the router speaks from fe80:: with its own interface id');
  const guest = parseIpv6('fd00:1:2::5054:ff:fe12:3456')!;
  g.slirp.input(echo(parseIpv6('fd00:1:2::53')!, 1, [9], guest));
  assert.equal(g.out.filter(isIcmp6Type(129)).length, 1);
});

test('router advertisements also go out periodically, every 200 to 600 s as libslirp', () => {
  const g = makeGuest();
  const count = () => g.out.filter(isIcmp6Type(134)).length;
  g.clock.advance(199_999);
  assert.equal(count(), 0);
  g.clock.advance(400_001);
  assert.ok(count() >= 1 && count() <= 3, `${count()} advertisements in 600 s`);
  g.clock.advance(3_000_000);
  assert.ok(count() >= 1 + 3_000_000 / 600_000 && count() <= 1 + 3_000_000 / 200_000, `${count()} advertisements in an hour`);
});

test('neighbour solicitations for the gateway and the DNS are answered with their MACs; others are not', () => {
  const g = makeGuest();
  for (const [target, last] of [[HOST6, 2], [DNS6, 3], [ROUTER6_LL, 2]] as const) {
    g.out.length = 0;
    g.slirp.input(ns(target));
    const na = g.out.find(isIcmp6Type(136));
    assert.ok(na, formatIpv6(target));
    assert.ok(icmp6ChecksumOk(na));
    const ip = ip6Fields(na);
    assert.equal(formatIpv6(ip.dst), formatIpv6(GUEST6), 'back to the soliciting guest');
    assert.deepEqual([...na.subarray(0, 6)], [...GUEST_MAC], 'the MAC learned from the solicitation');
    const m = parseNdp(ip.payload);
    assert.ok(typeof m !== 'string' && m.type === 'neighbor-advertisement');
    assert.equal(formatIpv6(m.target), formatIpv6(target));
    assert.deepEqual([...m.targetLinkLayer!], [0x52, 0x56, 0, 0, 0, last]);
    assert.ok(m.solicited && m.override);
    assert.equal(m.router, last === 2);
  }
  g.out.length = 0;
  g.slirp.input(ns(parseIpv6('fec0::99')!));
  assert.equal(g.out.length, 0);
  assert.equal(g.slirp.drops['ndp-not-ours'], 1);
});

test('echo requests to fec0::2 and fec0::3 are answered with the same bytes', () => {
  const g = makeGuest();
  g.slirp.input(rs());
  for (const dst of [HOST6, DNS6, ROUTER6_LL]) {
    g.out.length = 0;
    g.slirp.input(echo(dst, 7, [0xaa, 0xbb, 0xcc, 0xdd, 0xee], dst === ROUTER6_LL ? GUEST6_LL : GUEST6));
    const reply = g.out.find(isIcmp6Type(129));
    assert.ok(reply, formatIpv6(dst));
    assert.ok(icmp6ChecksumOk(reply));
    const ip = ip6Fields(reply);
    assert.equal(formatIpv6(ip.src), formatIpv6(dst));
    assert.deepEqual([...ip.payload.subarray(4)], [0x12, 0x34, 0, 7, 0xaa, 0xbb, 0xcc, 0xdd, 0xee]);
  }
});

test('a destination with no known MAC is resolved by neighbour solicitation first, its frames held until the answer', () => {
  const g = makeGuest();
  const other = parseIpv6('fec0::1234')!;
  const otherMac = Uint8Array.of(0x02, 0, 0, 0, 0x12, 0x34);
  // Something for an address the guest has not used yet (as a hostfwd connection to it would be).
  const frame = allocateFrame6(8);
  frame.set([129, 0, 0, 0, 0, 1, 0, 1], TRANSPORT6_OFFSET);
  g.slirp.ip6!.ip6Output(frame, HOST6, other, 58);
  assert.equal(g.out.filter(isIcmp6Type(129)).length, 0, 'the datagram waits');
  const nsOut = g.out.find(isIcmp6Type(135));
  assert.ok(nsOut);
  const ip = ip6Fields(nsOut);
  assert.equal(formatIpv6(ip.dst), 'ff02::1:ff00:1234');
  assert.equal(formatIpv6(ip.src), 'fec0::2');
  assert.ok(icmp6ChecksumOk(nsOut));
  const ns = parseNdp(ip.payload);
  assert.ok(typeof ns !== 'string' && ns.type === 'neighbor-solicitation' && formatIpv6(ns.target) === 'fec0::1234');
  assert.equal(g.slirp.ip6!.ndpPending, 1);
  // The guest answers.
  const na = icmp6(other, HOST6, 136, 0, [0x60, 0, 0, 0, ...other, 2, 1, ...otherMac]);
  g.slirp.input(frame6({ src: other, dst: HOST6, nextHeader: 58, hopLimit: 255, srcMac: otherMac, payload: na }));
  const sent = g.out.find(isIcmp6Type(129));
  assert.ok(sent);
  assert.deepEqual([...sent.subarray(0, 6)], [...otherMac]);
  assert.equal(g.slirp.ip6!.ndpPending, 0);
  assert.deepEqual(g.slirp.ip6!.ndp.addresses(), ['fec0::1234']);
});

test('the guest cannot pose as the router or the gateway (RA, NA for fec0::2, forged hop limit, its source)', () => {
  const g = makeGuest();
  const ra = icmp6(GUEST6_LL, parseIpv6('ff02::1')!, 134, 0, [64, 0, 0x07, 0x08, 0, 0, 0, 0, 0, 0, 0, 0]);
  g.slirp.input(frame6({ src: GUEST6_LL, dst: parseIpv6('ff02::1')!, nextHeader: 58, hopLimit: 255, payload: ra }));
  assert.equal(g.slirp.drops['ndp-guest-router-advertisement'], 1);
  const evilMac = Uint8Array.of(2, 0xee, 0xee, 0xee, 0xee, 0xee);
  const na = icmp6(GUEST6, parseIpv6('ff02::1')!, 136, 0, [0x20, 0, 0, 0, ...HOST6, 2, 1, ...evilMac]);
  g.slirp.input(frame6({ src: GUEST6, dst: parseIpv6('ff02::1')!, nextHeader: 58, hopLimit: 255, payload: na }));
  assert.equal(g.slirp.drops['ndp-spoofed-advertisement'], 1);
  assert.equal(g.slirp.ip6!.ndp.lookup(HOST6), undefined);
  g.slirp.input(ns(HOST6, GUEST6, 64));
  assert.equal(g.slirp.drops['ndp-bad-hop-limit'], 1, 'NDP from off the link (hop limit not 255) is forged');
  g.slirp.input(echo(DNS6, 1, [], HOST6));
  assert.equal(g.slirp.drops['ipv6-bad-source'], 1);
  g.slirp.input(echo(HOST6, 1, [], parseIpv6('2001:db8::1')!));
  assert.equal(g.slirp.drops['ipv6-source-outside-net'], 1);
  // A duplicate-address probe (unspecified source) may not carry a link-layer address.
  g.slirp.input(ns(HOST6, parseIpv6('::')!));
  assert.equal(g.slirp.drops['ndp-bad-source'], 1);
  assert.equal(g.out.filter((f) => isIcmp6Type(136)(f) || isIcmp6Type(129)(f)).length, 0, 'none of it was answered');
});

test('stateless DHCPv6: an Information-Request gets the DNS server and the search list', () => {
  const g = makeGuest({ dnsSearch: ['example.test'] });
  const clientId = [0, 3, 0, 1, ...GUEST_MAC];
  const request = [11, 0xab, 0xcd, 0xef, 0, 1, ...u16(clientId.length), ...clientId, 0, 6, 0, 4, 0, 23, 0, 24, 0, 8, 0, 2, 0, 0];
  const dst = parseIpv6('ff02::1:2')!;
  g.slirp.input(frame6({ src: GUEST6_LL, dst, nextHeader: 17, payload: udp6(GUEST6_LL, dst, 546, 547, request) }));
  const reply = g.out.find((f) => f[12] === 0x86 && f[20] === 17);
  assert.ok(reply);
  const ip = ip6Fields(reply);
  assert.equal(formatIpv6(ip.src), 'fe80::2');
  assert.equal(formatIpv6(ip.dst), formatIpv6(GUEST6_LL));
  assert.deepEqual([...ip.payload.subarray(0, 4)], [...u16(547), ...u16(546)]);
  const m = parseDhcpv6(ip.payload.subarray(8));
  assert.ok(typeof m !== 'string');
  assert.equal(m.type, 7);
  assert.equal(m.transactionId, 0xabcdef);
  const byCode = new Map(m.options.map((o) => [o.code, o.data]));
  assert.deepEqual([...byCode.get(1)!], clientId);
  assert.equal(formatIpv6(byCode.get(23)!), 'fec0::3');
  assert.deepEqual([...byCode.get(24)!], [7, ...Buffer.from('example'), 4, ...Buffer.from('test'), 0]);
  // A stateful request (an identity association) is refused, as RFC 8415 has it.
  g.slirp.input(frame6({ src: GUEST6_LL, dst, nextHeader: 17, payload: udp6(GUEST6_LL, dst, 546, 547, [11, 0, 0, 1, 0, 3, 0, 12, ...new Array(12).fill(0)]) }));
  assert.equal(g.slirp.drops['dhcpv6-stateful-request'], 1);
  g.slirp.input(frame6({ src: GUEST6_LL, dst, nextHeader: 17, payload: udp6(GUEST6_LL, dst, 546, 547, [11, 0, 0, 1, 0, 6, 0, 9, 0]) }));
  assert.equal(g.slirp.drops['dhcpv6-bad-option'], 1);
});

test('fragments are reassembled (an echo in two pieces is answered whole) within the IPv4 limits', () => {
  const g = makeGuest();
  const data = Array.from({ length: 1992 }, (_, i) => i & 0xff);
  const whole = icmp6(GUEST6, HOST6, 128, 0, [0, 9, 0, 1, ...data]);
  const pieces = [whole.subarray(0, 1000), whole.subarray(1000)];
  const id = [0, 0, 0x42, 0x42];
  g.slirp.input(frame6({ dst: HOST6, nextHeader: 44, payload: [58, 0, ...u16(0 | 1), ...id, ...pieces[0]!] }));
  assert.equal(g.slirp.reassemblyState.datagrams, 1);
  g.slirp.input(frame6({ dst: HOST6, nextHeader: 44, payload: [58, 0, ...u16(1000), ...id, ...pieces[1]!] }));
  assert.equal(g.slirp.reassemblyState.datagrams, 0);
  // The reply is larger than Ethernet's MTU, which is all a datagram other than TCP may assume: it comes in fragments.
  const pieces6 = g.out.filter((f) => f[12] === 0x86 && f[20] === 44);
  assert.equal(pieces6.length, 2);
  assert.equal(pieces6[0]![54], 58);
  assert.equal(pieces6[0]![54 + 8], 129, 'an echo reply');
  assert.ok(pieces6.every((f) => f.length <= 14 + 1500));
  assert.equal(pieces6.reduce((n, f) => n + ip6Fields(f).payload.length - 8, 0), whole.length);
  // Overlapping pieces discard the datagram; a lone piece times out after 30 s.
  g.slirp.input(frame6({ dst: HOST6, nextHeader: 44, payload: [58, 0, ...u16(0 | 1), 0, 0, 0, 7, ...pieces[0]!] }));
  g.slirp.input(frame6({ dst: HOST6, nextHeader: 44, payload: [58, 0, ...u16(992), 0, 0, 0, 7, ...pieces[1]!] }));
  assert.equal(g.slirp.drops['frag-overlap'], 1);
  g.slirp.input(frame6({ dst: HOST6, nextHeader: 44, payload: [58, 0, ...u16(0 | 1), 0, 0, 0, 8, ...pieces[0]!] }));
  g.clock.advance(30_001);
  assert.equal(g.slirp.drops['frag-timeout'], 1);
  assert.equal(g.slirp.reassemblyState.bytes, 0);
});

test('fragment limits hold for IPv6 too: datagrams in progress and bytes held are bounded', () => {
  const g = makeGuest({}, { reassembly: { maxDatagrams: 4, maxFragmentsPerDatagram: 3, maxBytes: 4096, timeoutMs: 30_000 } });
  for (let i = 0; i < 6; i++) g.slirp.input(frame6({ dst: HOST6, nextHeader: 44, payload: [58, 0, 0, 1, 0, 0, 1, i, ...new Array(512).fill(i)] }));
  assert.equal(g.slirp.reassemblyState.datagrams, 4);
  assert.equal(g.slirp.drops['frag-evicted'], 2);
  for (let k = 0; k < 4; k++) g.slirp.input(frame6({ dst: HOST6, nextHeader: 44, payload: [58, 0, ...u16((1 + k) * 512 | 1), 0, 0, 2, 0, ...new Array(512).fill(0)] }));
  assert.equal(g.slirp.drops['frag-too-many'], 1);
  assert.ok(g.slirp.reassemblyState.bytes <= 4096);
  // A piece that would make the payload pass 65535 bytes is refused.
  g.slirp.input(frame6({ dst: HOST6, nextHeader: 44, payload: [58, 0, ...u16(65528 | 1), 0, 0, 3, 0, ...new Array(16).fill(0)] }));
  assert.equal(g.slirp.drops['frag-oversized'], 1);
});

test('hop limits run out at the gateway: time exceeded from fec0::2 (what traceroute6 shows as hop 1)', () => {
  const g = makeGuest();
  const far = parseIpv6('2001:db8::1')!;
  g.slirp.input(frame6({ dst: far, nextHeader: 17, hopLimit: 1, payload: udp6(GUEST6, far, 4000, 33434, [1]) }));
  const err = g.out.find(isIcmp6Type(3));
  assert.ok(err);
  assert.ok(icmp6ChecksumOk(err));
  const ip = ip6Fields(err);
  assert.equal(formatIpv6(ip.src), 'fec0::2');
  assert.equal(formatIpv6(ip.dst), formatIpv6(GUEST6));
  assert.equal(ip.payload[1], 0, 'code 0: hop limit exceeded in transit');
  assert.equal(formatIpv6(ip.payload.subarray(8 + 24, 8 + 40)), '2001:db8::1', 'quotes the offending datagram');
  assert.equal(g.slirp.drops['ipv6-hop-limit-exceeded'], 1);
  // An error is never answered with an error.
  g.out.length = 0;
  g.slirp.input(frame6({ dst: far, nextHeader: 58, hopLimit: 1, payload: icmp6(GUEST6, far, 1, 4, [0, 0, 0, 0]) }));
  assert.equal(g.out.length, 0);
});

test('a datagram larger than the link MTU gets packet too big with the MTU', () => {
  const g = makeGuest({ mtu: 1500 });
  g.slirp.input(frame6({ dst: HOST6, nextHeader: 58, payload: icmp6(GUEST6, HOST6, 128, 0, new Array(1500).fill(0)) }));
  const err = g.out.find(isIcmp6Type(2));
  assert.ok(err);
  const p = ip6Fields(err).payload;
  assert.equal((p[4]! << 24) | (p[5]! << 16) | (p[6]! << 8) | p[7]!, 1500);
  assert.ok(p.length <= 1280 - 40, 'the quote keeps the error within the IPv6 minimum MTU');
});

test('bad IPv6 input is dropped and counted, never thrown', () => {
  const g = makeGuest();
  const good = echo(HOST6, 1);
  g.slirp.input(good.subarray(0, 14 + 39));
  assert.equal(g.slirp.drops['ipv6-truncated'], 1);
  g.slirp.input(good.subarray(0, good.length - 1));
  assert.equal(g.slirp.drops['ipv6-length-exceeds-frame'], 1);
  const badSum = good.slice();
  badSum[14 + 40 + 2] ^= 0xff;
  g.slirp.input(badSum);
  assert.equal(g.slirp.drops['icmpv6-bad-checksum'], 1);
  g.slirp.input(frame6({ dst: HOST6, nextHeader: 0, payload: [58, 0, 0x9e, 1, 0, 0, 0, 0] }));
  assert.equal(g.slirp.drops['ipv6-unknown-option'], 1);
  const badNdp = icmp6(GUEST6, HOST6, 135, 0, [0, 0, 0, 0, ...HOST6, 1, 0, 0, 0, 0, 0, 0, 0]);
  g.slirp.input(frame6({ dst: HOST6, nextHeader: 58, hopLimit: 255, payload: badNdp }));
  assert.equal(g.slirp.drops['ndp-bad-option'], 1);
  for (let seed = 1; seed < 300; seed++) {
    const f = good.slice();
    f[14 + (seed % 60)] ^= (seed * 37) & 0xff;
    g.slirp.input(f);
  }
  assert.equal(g.slirp.drops['internal-error'] ?? 0, 0);
  // An MLD report from the unspecified address (sent while a Linux guest's address is tentative) is no forgery.
  const mldDst = parseIpv6('ff02::16')!;
  const unspecified = parseIpv6('::')!;
  g.slirp.input(frame6({ src: unspecified, dst: mldDst, nextHeader: 58, hopLimit: 1, payload: icmp6(unspecified, mldDst, 143, 0, [0, 0, 0, 0]) }));
  assert.equal(g.slirp.drops['mld-report'], 1);
  assert.equal(g.slirp.drops['icmpv6-unsupported-type'] ?? 0, 0);
});

test("the guest's duplicate address detection and multicast listener reports are routine drops, answered by nothing", () => {
  const g = makeGuest();
  const unspecified = parseIpv6('::')!;
  // A Linux interface coming up: DAD for its link-local and global addresses, then MLDv2 and MLDv1 reports and a done.
  for (const target of [GUEST6_LL, GUEST6]) {
    const dst = solicitedNodeMulticast(target);
    g.slirp.input(frame6({ src: unspecified, dst, nextHeader: 58, hopLimit: 255, payload: icmp6(unspecified, dst, 135, 0, [0, 0, 0, 0, ...target]) }));
  }
  for (const [type, group] of [[143, 'ff02::16'], [131, 'ff02::1:ff12:3456'], [132, 'ff02::2']] as const) {
    const dst = parseIpv6(group)!;
    g.slirp.input(frame6({ src: GUEST6_LL, dst, nextHeader: 58, hopLimit: 1, payload: icmp6(GUEST6_LL, dst, type, 0, [0, 0, 0, 0, ...dst]) }));
  }
  assert.deepEqual(g.probes.drops.snapshot().map((d) => `${d.stage} ${d.reason} ${d.count}`), ['icmp6_input mld-report 3', 'ndp_input ndp-dad-probe 2']);
  assert.equal(g.out.length, 0, 'nothing answers a DAD probe for an address nobody else holds, nor a listener report');
  // A solicitation for someone else's address from a configured source is no DAD.
  g.slirp.input(ns(parseIpv6('fec0::99')!));
  assert.equal(g.slirp.drops['ndp-not-ours'], 1);
});

test('ipv6=off turns IPv6 off: nothing is answered, no advertisement goes out', () => {
  const g = makeGuest({ ipv6: false });
  g.slirp.input(rs());
  g.slirp.input(ns(HOST6));
  g.slirp.input(echo(HOST6, 1));
  g.clock.advance(700_000);
  assert.equal(g.out.filter((f) => f[12] === 0x86).length, 0);
  assert.equal(g.slirp.drops['ipv6-disabled'], 3);
  assert.equal(g.slirp.ip6, undefined);
});
