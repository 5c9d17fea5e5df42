import assert from 'node:assert/strict';
import { isIPv6 } from 'node:net';
import { test } from 'node:test';
import { formatIpv6, ipv6InPrefix, linkLocalFromMac, parseIpv6, solicitedNodeMulticast, ipv6MulticastMac } from '../../../extension/wire/ipv6-address';
import {
  IPPROTO_DSTOPTS,
  IPPROTO_FRAGMENT,
  IPPROTO_HOPOPTS,
  IPPROTO_ROUTING,
  IPV6_HEADER_LENGTH,
  Ipv6View,
  ipv6TransportChecksum,
  writeIpv6HeaderAt,
} from '../../../extension/wire/ipv6';

const SRC = parseIpv6('fec0::5054:ff:fe12:3456')!;
const DST = parseIpv6('fec0::2')!;

/** An IPv6 datagram: the header, then each [nextHeader-of-this, bytes] extension header, then `upper` of protocol `proto`. */
function datagram(exts: { type: number; bytes: Uint8Array }[], proto: number, upper: Uint8Array, padding = 0): Uint8Array {
  const extLength = exts.reduce((n, e) => n + e.bytes.length, 0);
  const out = new Uint8Array(IPV6_HEADER_LENGTH + extLength + upper.length + padding);
  writeIpv6HeaderAt(out, 0, SRC, DST, exts[0]?.type ?? proto, extLength + upper.length, 64, 0xb8, 0x12345);
  let at = IPV6_HEADER_LENGTH;
  exts.forEach((e, i) => {
    out.set(e.bytes, at);
    out[at] = exts[i + 1]?.type ?? proto;
    at += e.bytes.length;
  });
  out.set(upper, at);
  return out;
}
/** An options header (hop-by-hop or destination) holding `options` and padded to 8 bytes. */
function optionsHeader(type: number, options: number[] = []): { type: number; bytes: Uint8Array } {
  const length = Math.ceil((2 + options.length) / 8) * 8;
  const bytes = new Uint8Array(length);
  bytes[1] = length / 8 - 1;
  bytes.set(options, 2);
  // Fill the rest with PadN.
  const rest = length - 2 - options.length;
  if (rest === 1) bytes[2 + options.length] = 0;
  else if (rest > 1) bytes.set([1, rest - 2], 2 + options.length);
  return { type, bytes };
}
const routing = (segmentsLeft: number) => ({ type: IPPROTO_ROUTING, bytes: Uint8Array.of(0, 0, 4, segmentsLeft, 0, 0, 0, 0) });
const fragment = (offset: number, more: boolean, id: number) => ({
  type: IPPROTO_FRAGMENT,
  bytes: Uint8Array.of(0, 0, offset >> 8, (offset & 0xf8) | (more ? 1 : 0), id >>> 24, (id >> 16) & 255, (id >> 8) & 255, id & 255),
});
const UDP = Uint8Array.of(0x12, 0x34, 0, 53, 0, 12, 0, 0, 1, 2, 3, 4);

test('IPv6 addresses parse as RFC 4291 writes them and print in RFC 5952 form (as the URL parser prints them)', () => {
  const cases: [string, string][] = [
    ['::', '::'],
    ['::1', '::1'],
    ['fec0::2', 'fec0::2'],
    ['FE80:0:0:0:5054:FF:FE12:3456', 'fe80::5054:ff:fe12:3456'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8::1:0', '2001:db8::1:0'],
    ['1:0:2:0:3:0:4:0', '1:0:2:0:3:0:4:0'],
    ['::ffff:10.0.2.15', '::ffff:a00:20f'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
  ];
  for (const [text, canonical] of cases) {
    const bytes = parseIpv6(text);
    assert.ok(bytes, text);
    assert.equal(formatIpv6(bytes), canonical, text);
    assert.equal(formatIpv6(bytes), new URL(`http://[${text}]/`).hostname.slice(1, -1).replace(/:(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_m, a, b, c, d) => `:${((+a << 8) | +b).toString(16)}:${((+c << 8) | +d).toString(16)}`));
  }
  // Random addresses with zero runs: the same text as Node's own formatter.
  let seed = 3;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 16;
  for (let i = 0; i < 500; i++) {
    const groups = Array.from({ length: 8 }, () => (rnd() % 3 === 0 ? 0 : rnd() & 0xffff).toString(16));
    const text = groups.join(':');
    assert.equal(formatIpv6(parseIpv6(text)!), new URL(`http://[${text}]/`).hostname.slice(1, -1), text);
  }
  for (const bad of ['', ':::', '1::2::3', 'g::1', '12345::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '1.2.3.4', 'fe80::1%eth0', '::1.2.3.256', ':1::', '1::8:']) {
    assert.equal(parseIpv6(bad), null, bad);
    assert.equal(isIPv6(bad) && !bad.includes('%'), false, `node agrees ${bad} is not an address`);
  }
});

test('prefixes, link-local, solicited-node groups and their MACs', () => {
  assert.ok(ipv6InPrefix(SRC, parseIpv6('fec0::')!, 64));
  assert.ok(!ipv6InPrefix(parseIpv6('fec0:0:0:1::5')!, parseIpv6('fec0::')!, 64));
  assert.ok(ipv6InPrefix(parseIpv6('fec0:0:0:1::5')!, parseIpv6('fec0::')!, 63));
  assert.equal(formatIpv6(linkLocalFromMac(Uint8Array.of(0x52, 0x54, 0, 0x12, 0x34, 0x56))), 'fe80::5054:ff:fe12:3456');
  const group = solicitedNodeMulticast(SRC);
  assert.equal(formatIpv6(group), 'ff02::1:ff12:3456');
  assert.deepEqual([...ipv6MulticastMac(group)], [0x33, 0x33, 0xff, 0x12, 0x34, 0x56]);
});

test('the header view reads every field and ignores Ethernet padding', () => {
  const d = datagram([], 17, UDP, 6);
  const v = Ipv6View.check(d);
  assert.ok(v instanceof Ipv6View);
  assert.equal(v.trafficClass, 0xb8);
  assert.equal(v.flowLabel, 0x12345);
  assert.equal(v.payloadLength, UDP.length);
  assert.equal(v.hopLimit, 64);
  assert.equal(v.protocol, 17);
  assert.equal(formatIpv6(v.source), 'fec0::5054:ff:fe12:3456');
  assert.equal(formatIpv6(v.destination), 'fec0::2');
  assert.deepEqual([...v.payload], [...UDP]);
  assert.equal(v.datagram.length, d.length - 6);
  assert.equal(v.fragment, undefined);
});

test('bad headers are refused with a reason', () => {
  const d = datagram([], 17, UDP);
  assert.equal(Ipv6View.check(d.subarray(0, 39)), 'ipv6-truncated');
  const v4 = d.slice();
  v4[0] = 0x45;
  assert.equal(Ipv6View.check(v4), 'ipv6-bad-version');
  assert.equal(Ipv6View.check(d.subarray(0, d.length - 1)), 'ipv6-length-exceeds-frame');
});

test('the extension-header walk reaches the transport header through hop-by-hop, destination options and routing', () => {
  const routerAlert = [5, 2, 0, 0];
  const v = Ipv6View.check(datagram([optionsHeader(IPPROTO_HOPOPTS, routerAlert), optionsHeader(IPPROTO_DSTOPTS), routing(0), optionsHeader(IPPROTO_DSTOPTS, [1, 12, ...new Array(12).fill(0)])], 17, UDP));
  assert.ok(v instanceof Ipv6View, String(v));
  assert.equal(v.protocol, 17);
  assert.equal(v.upperOffset, IPV6_HEADER_LENGTH + 8 + 8 + 8 + 16);
  assert.deepEqual([...v.payload], [...UDP]);
  // An unknown option whose type says "skip" (top bits 00) is skipped.
  assert.ok(Ipv6View.check(datagram([optionsHeader(IPPROTO_DSTOPTS, [0x1e, 1, 0])], 17, UDP)) instanceof Ipv6View);
});

test('bad extension-header chains are refused', () => {
  const hbh = optionsHeader(IPPROTO_HOPOPTS);
  const dst = optionsHeader(IPPROTO_DSTOPTS);
  assert.equal(Ipv6View.check(datagram([dst, hbh], 17, UDP)), 'ipv6-bad-ext-chain', 'hop-by-hop not first');
  assert.equal(Ipv6View.check(datagram([dst, dst, dst], 17, UDP)), 'ipv6-bad-ext-chain', 'three destination options');
  assert.equal(Ipv6View.check(datagram([routing(0), routing(0)], 17, UDP)), 'ipv6-bad-ext-chain', 'two routing headers');
  assert.equal(Ipv6View.check(datagram([routing(2)], 17, UDP)), 'ipv6-routing-unsupported');
  // A header longer than the payload.
  const big = datagram([dst], 17, UDP);
  big[IPV6_HEADER_LENGTH + 1] = 20;
  assert.equal(Ipv6View.check(big), 'ipv6-ext-truncated');
  // A header cut after its first bytes.
  const cut = datagram([dst], 17, new Uint8Array(0));
  assert.equal(Ipv6View.check(cut.subarray(0, IPV6_HEADER_LENGTH + 4)), 'ipv6-length-exceeds-frame');
  cut[4] = 0;
  cut[5] = 4;
  assert.equal(Ipv6View.check(cut.subarray(0, IPV6_HEADER_LENGTH + 4)), 'ipv6-ext-truncated');
  // Options: an unknown one that must not be skipped, one overrunning its header, a jumbo payload.
  assert.equal(Ipv6View.check(datagram([optionsHeader(IPPROTO_DSTOPTS, [0x9e, 1, 0])], 17, UDP)), 'ipv6-unknown-option');
  const overrun = datagram([optionsHeader(IPPROTO_DSTOPTS, [1, 10])], 17, UDP);
  assert.equal(Ipv6View.check(overrun), 'ipv6-bad-option');
  assert.equal(Ipv6View.check(datagram([optionsHeader(IPPROTO_HOPOPTS, [0xc2, 4, 0, 1, 0, 0])], 17, UDP)), 'ipv6-jumbogram-unsupported');
});

test('a fragment header stops the walk and tells offset, more-fragments and identification', () => {
  const v = Ipv6View.check(datagram([optionsHeader(IPPROTO_HOPOPTS), fragment(1448, true, 0xdeadbeef)], 17, UDP));
  assert.ok(v instanceof Ipv6View, String(v));
  assert.deepEqual(v.fragment, { at: IPV6_HEADER_LENGTH + 8, offset: 1448, more: true, identification: 0xdeadbeef, nextHeader: 17, nextHeaderFieldAt: IPV6_HEADER_LENGTH });
  assert.equal(v.upperOffset, IPV6_HEADER_LENGTH + 16);
  const reserved = datagram([fragment(0, false, 1)], 17, UDP);
  reserved[IPV6_HEADER_LENGTH + 3] |= 2;
  assert.equal(Ipv6View.check(reserved), 'ipv6-bad-fragment-header');
  assert.equal(Ipv6View.check(datagram([fragment(0, false, 1)], 17, new Uint8Array(0)).subarray(0, IPV6_HEADER_LENGTH + 4)), 'ipv6-length-exceeds-frame');
});

test('the transport checksum sums the RFC 8200 pseudo-header (source, destination, 32-bit length, next header)', () => {
  const seg = Uint8Array.of(0x80, 0, 0, 0, 0x12, 0x34, 0, 1, 0x61, 0x62, 0x63);
  // The pseudo-header laid out as bytes and summed the slow way.
  const pseudo = new Uint8Array(40 + seg.length + 1);
  pseudo.set(SRC, 0);
  pseudo.set(DST, 16);
  pseudo[34] = seg.length >> 8;
  pseudo[35] = seg.length & 255;
  pseudo[39] = 58;
  pseudo.set(seg, 40);
  let sum = 0;
  for (let i = 0; i < pseudo.length - 1; i += 2) sum += (pseudo[i]! << 8) | pseudo[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const expected = ~sum & 0xffff;
  assert.equal(ipv6TransportChecksum(SRC, DST, 58, seg), expected);
  seg[2] = expected >> 8;
  seg[3] = expected & 255;
  assert.equal(ipv6TransportChecksum(SRC, DST, 58, seg), 0);
  assert.notEqual(ipv6TransportChecksum(DST, DST, 58, seg), 0, 'another source breaks it');
});
