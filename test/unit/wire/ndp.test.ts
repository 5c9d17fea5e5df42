import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pcapFileHeader } from '../../../extension/pipeline/pcap';
import { ICMPV6_ECHO_REQUEST, Icmpv6View, setIcmpv6Checksum } from '../../../extension/wire/icmpv6';
import { IPPROTO_ICMPV6, IPV6_HEADER_LENGTH, writeIpv6HeaderAt } from '../../../extension/wire/ipv6';
import { IPV6_ALL_NODES, parseIpv6 } from '../../../extension/wire/ipv6-address';
import { emitNdp, MAX_NDP_OPTIONS, parseNdp, parseNdpOptions, type NdpMessage } from '../../../extension/wire/ndp';

const ROUTER = parseIpv6('fe80::2')!;
const GUEST = parseIpv6('fe80::5054:ff:fe12:3456')!;
const MAC = Uint8Array.of(0x52, 0x56, 0, 0, 0, 2);
const GUEST_MAC = Uint8Array.of(0x52, 0x54, 0, 0x12, 0x34, 0x56);
const tmp = mkdtempSync(join(tmpdir(), 'usernet-ndp-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const MESSAGES: NdpMessage[] = [
  { type: 'router-solicitation', sourceLinkLayer: GUEST_MAC },
  {
    type: 'router-advertisement',
    curHopLimit: 64,
    managed: false,
    otherConfig: true,
    routerLifetime: 1800,
    reachableTime: 0,
    retransTimer: 0,
    sourceLinkLayer: MAC,
    prefixes: [{ prefixLength: 64, onLink: true, autonomous: true, validLifetime: 86400, preferredLifetime: 14400, prefix: parseIpv6('fec0::')! }],
    mtu: 1500,
    rdnss: { lifetime: 1200, servers: [parseIpv6('fec0::3')!] },
  },
  { type: 'neighbor-solicitation', target: parseIpv6('fec0::2')!, sourceLinkLayer: GUEST_MAC },
  { type: 'neighbor-advertisement', router: true, solicited: true, override: true, target: parseIpv6('fec0::2')!, targetLinkLayer: MAC },
  { type: 'redirect', target: ROUTER, destination: parseIpv6('fec0::9')! },
];

test('every NDP message survives emit then parse unchanged', () => {
  for (const m of MESSAGES) assert.deepEqual(parseNdp(emitNdp(m)), m, m.type);
});

test('NDP with a bad code, a short body or bad options is refused', () => {
  const ns = emitNdp(MESSAGES[2]!);
  const code = ns.slice();
  code[1] = 1;
  assert.equal(parseNdp(code), 'ndp-bad-code');
  assert.equal(parseNdp(ns.subarray(0, 23)), 'ndp-truncated');
  assert.equal(parseNdp(Uint8Array.of(128, 0, 0, 0)), 'ndp-not-ndp');
  const zeroLength = ns.slice();
  zeroLength[25] = 0;
  assert.equal(parseNdp(zeroLength), 'ndp-bad-option', 'an option of length 0 would loop forever');
  const overrun = ns.slice();
  overrun[25] = 2;
  assert.equal(parseNdp(overrun), 'ndp-bad-option', 'an option past the end of the message');
  assert.equal(parseNdp(ns.subarray(0, 25)), 'ndp-bad-option', 'a lone option type byte');
  const wideMac = new Uint8Array(24 + 16);
  wideMac.set(ns.subarray(0, 24));
  wideMac.set([1, 2], 24);
  assert.equal(parseNdp(wideMac), 'ndp-bad-option', 'a 16-byte link-layer option on Ethernet');
  const ra = emitNdp(MESSAGES[1]!);
  const prefix = ra.slice();
  prefix[16 + 8 + 2] = 129;
  assert.equal(parseNdp(prefix), 'ndp-bad-option', 'a prefix longer than 128 bits');
  const many = new Uint8Array(8 + (MAX_NDP_OPTIONS + 1) * 8);
  many[0] = 133;
  for (let i = 0; i <= MAX_NDP_OPTIONS; i++) many.set([99, 1], 8 + i * 8);
  assert.equal(parseNdp(many), 'ndp-too-many-options');
  // Unknown options are skipped, not refused.
  assert.deepEqual(parseNdpOptions(Uint8Array.of(99, 1, 0, 0, 0, 0, 0, 0), 0), {});
});

test('tshark reads the NDP messages and echo we build as valid ICMPv6 with good checksums', { skip: spawnSync('tshark', ['--version'], { stdio: 'ignore' }).error ? 'tshark not installed: apt-get install tshark' : undefined }, () => {
  const frames = MESSAGES.map((m) => frame(emitNdp(m)));
  const echo = Uint8Array.of(ICMPV6_ECHO_REQUEST, 0, 0, 0, 0x12, 0x34, 0, 7, 0x61, 0x62);
  frames.push(frame(echo));
  const records = frames.map((f) => {
    const rec = Buffer.alloc(16 + f.length);
    rec.writeUInt32LE(f.length, 8);
    rec.writeUInt32LE(f.length, 12);
    rec.set(f, 16);
    return rec;
  });
  const file = join(tmp, 'ndp.pcap');
  writeFileSync(file, Buffer.concat([pcapFileHeader(65535), ...records]));
  const r = spawnSync('tshark', ['-r', file, '-T', 'fields', '-E', 'separator=|', '-e', 'icmpv6.type', '-e', 'icmpv6.checksum.status', '-e', 'icmpv6.opt.prefix', '-e', 'icmpv6.opt.rdnss', '-e', '_ws.expert'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const rows = r.stdout.trim().split('\n').map((l) => l.split('|'));
  assert.deepEqual(rows.map((c) => c[0]), ['133', '134', '135', '136', '137', '128']);
  for (const c of rows) assert.equal(c[1], '1', `checksum good in ${c.join('|')}`);
  assert.equal(rows[1]![2], 'fec0::');
  assert.equal(rows[1]![3], 'fec0::3');
  for (const c of rows) assert.equal(c[4], '', `no expert notes (malformed) in ${c.join('|')}`);
});

test('an ICMPv6 message is checked against the pseudo-header of its own addresses', () => {
  const echo = Uint8Array.of(ICMPV6_ECHO_REQUEST, 0, 0, 0, 0x12, 0x34, 0, 7);
  setIcmpv6Checksum(echo, GUEST, ROUTER);
  const v = Icmpv6View.check(echo, GUEST, ROUTER);
  assert.ok(v instanceof Icmpv6View);
  assert.equal(v.identifier, 0x1234);
  assert.equal(v.sequence, 7);
  assert.equal(Icmpv6View.check(echo, GUEST, IPV6_ALL_NODES), 'icmpv6-bad-checksum');
  assert.equal(Icmpv6View.check(echo.subarray(0, 3), GUEST, ROUTER), 'icmpv6-truncated');
});

function frame(icmp: Uint8Array): Uint8Array {
  const f = new Uint8Array(14 + IPV6_HEADER_LENGTH + icmp.length);
  f.set([0x33, 0x33, 0, 0, 0, 1], 0);
  f.set(MAC, 6);
  f.set([0x86, 0xdd], 12);
  writeIpv6HeaderAt(f, 14, ROUTER, IPV6_ALL_NODES, IPPROTO_ICMPV6, icmp.length, 255);
  const msg = f.subarray(14 + IPV6_HEADER_LENGTH);
  msg.set(icmp);
  setIcmpv6Checksum(msg, ROUTER, IPV6_ALL_NODES);
  return f;
}
