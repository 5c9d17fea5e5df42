import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { NetQueue, MAX_PENDING_TO_NIC } from '../../../extension/machine/net-queue';
import { DropLedger, type DropEvent } from '../../../extension/pipeline/drop-ledger';
import { DROP_REASONS, isDropReason, isRoutineDrop, tcpDropReason, type DropReason } from '../../../extension/pipeline/drop-reasons';
import { ProbeHub } from '../../../extension/pipeline/probe';
import { isStageName } from '../../../extension/pipeline/stages';
import { ip4, type SlirpConfig } from '../../../extension/slirp/config';
import { checksum, dhcp, dnsQuery, DNS_IP, eth, GUEST_IP, guestUdp, HOST_IP, icmpEcho, ipv4, pseudoSum, u16, u32, udp, arp } from '../slirp/helpers/frames';
import { makeGuest } from '../slirp/helpers/harness';

const OUTSIDE = ip4(1, 2, 3, 4);

/** An IPv4 frame whose header `edit` changes, the header checksum recomputed. */
function editedIp(frame: Uint8Array, edit: (header: Uint8Array) => void): Uint8Array {
  const f = frame.slice();
  const h = f.subarray(14, 14 + (f[14]! & 15) * 4);
  edit(h);
  h[10] = h[11] = 0;
  const c = checksum(h);
  h[10] = c >> 8;
  h[11] = c & 255;
  return f;
}

function tcpSegment(src: number, dst: number, sport: number, dport: number, flags: number, fixChecksum = true): Uint8Array {
  const b = [...u16(sport), ...u16(dport), ...u32(1000), ...u32(0), 0x50, flags, ...u16(65535), 0, 0, 0, 0];
  if (fixChecksum) {
    const c = checksum(b, pseudoSum(src, dst, 6, b.length));
    b[16] = c >> 8;
    b[17] = c & 255;
  }
  return Uint8Array.from(b);
}

const guestTcp = (seg: Uint8Array, dst = OUTSIDE) => eth(0x0800, ipv4({ dst, protocol: 6, payload: seg }));
const guestIcmp = (payload: Uint8Array, dst = OUTSIDE) => eth(0x0800, ipv4({ dst, protocol: 1, payload }));
const UDP_OUT = () => guestUdp(OUTSIDE, 40000, 9, [1, 2, 3, 4]);

interface Case {
  readonly reason: DropReason;
  readonly frame: () => Uint8Array;
  readonly config?: Partial<SlirpConfig>;
  /** Use slirp's own TCP stack (the default harness records segments instead). */
  readonly realTcp?: boolean;
  /** Decided where the frame is no longer at hand (reassembly, TFTP, TCP): the event carries none. */
  readonly frameless?: boolean;
}

const SYN = 0x02, RST = 0x04, ACK = 0x10, FIN = 0x01;

/** One crafted guest frame per reason slirp decides on a frame from the guest. */
const CASES: readonly Case[] = [
  { reason: 'eth-truncated', frame: () => new Uint8Array(10) },
  { reason: 'eth-vlan-unsupported', frame: () => eth(0x8100, [0, 1, 8, 0, ...new Array(40).fill(0)]) },
  { reason: 'eth-unknown-type', frame: () => eth(0x88cc, new Array(46).fill(0)) },
  { reason: 'ipv4-disabled', frame: UDP_OUT, config: { ipv4: false } },
  { reason: 'arp-truncated', frame: () => eth(0x0806, [0, 1, 8, 0]) },
  { reason: 'arp-bad-format', frame: () => { const a = arp(1, GUEST_IP, HOST_IP); a[14 + 1] = 7; return a; } },
  { reason: 'arp-bad-operation', frame: () => arp(3, GUEST_IP, HOST_IP) },
  { reason: 'ip-truncated', frame: () => eth(0x0800, [0x45, 0, 0, 20]) },
  { reason: 'ip-bad-version', frame: () => editedIp(UDP_OUT(), (h) => (h[0] = 0x65)) },
  { reason: 'ip-bad-checksum', frame: () => { const f = UDP_OUT(); f[14 + 10] ^= 0xff; return f; } },
  { reason: 'ip-length-exceeds-frame', frame: () => editedIp(UDP_OUT(), (h) => h.set(u16(200), 2)) },
  { reason: 'ip-bad-source', frame: () => guestUdp(OUTSIDE, 40000, 9, [1], HOST_IP) },
  { reason: 'ip-source-outside-net', frame: () => guestUdp(OUTSIDE, 40000, 9, [1], ip4(192, 168, 1, 1)) },
  { reason: 'ip-ttl-expired', frame: () => editedIp(UDP_OUT(), (h) => (h[8] = 0)) },
  { reason: 'ip-broadcast', frame: () => guestIcmp(icmpEcho(1, 1, [1]), 0xffffffff) },
  { reason: 'ip-unsupported-protocol', frame: () => eth(0x0800, ipv4({ dst: OUTSIDE, protocol: 47, payload: [0, 0, 0, 0] })) },
  { reason: 'frag-empty', frame: () => eth(0x0800, ipv4({ dst: OUTSIDE, protocol: 17, payload: [], mf: true })), frameless: true },
  { reason: 'frag-bad-length', frame: () => eth(0x0800, ipv4({ dst: OUTSIDE, protocol: 17, payload: [1, 2, 3, 4, 5], mf: true })), frameless: true },
  { reason: 'udp-truncated', frame: () => eth(0x0800, ipv4({ dst: OUTSIDE, protocol: 17, payload: [0, 1, 0, 2] })) },
  { reason: 'udp-bad-checksum', frame: () => { const f = UDP_OUT(); f[14 + 20 + 7] ^= 0xff; return f; } },
  { reason: 'udp-bad-port', frame: () => guestUdp(OUTSIDE, 0, 9, [1]) },
  { reason: 'udp-broadcast', frame: () => guestUdp(ip4(10, 0, 2, 255), 40000, 9, [1]) },
  { reason: 'udp-unreachable', frame: () => guestUdp(ip4(10, 0, 2, 99), 40000, 9, [1]) },
  { reason: 'udp-restricted', frame: UDP_OUT, config: { restrict: true } },
  { reason: 'dns-restricted', frame: () => guestUdp(DNS_IP, 40000, 53, dnsQuery('example.com')), config: { restrict: true } },
  { reason: 'dns-truncated', frame: () => guestUdp(DNS_IP, 40000, 53, [1, 2, 3]) },
  { reason: 'dns-not-query', frame: () => { const q = dnsQuery('example.com'); q[2] |= 0x80; return guestUdp(DNS_IP, 40000, 53, q); } },
  { reason: 'dns-no-question', frame: () => guestUdp(DNS_IP, 40000, 53, [0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]) },
  { reason: 'dns-label-loop', frame: () => guestUdp(DNS_IP, 40000, 53, [0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]) },
  { reason: 'dns-no-upstream', frame: () => guestUdp(DNS_IP, 40000, 53, dnsQuery('example.com')) },
  { reason: 'icmp-truncated', frame: () => guestIcmp(Uint8Array.from([8, 0])) },
  { reason: 'icmp-bad-checksum', frame: () => { const e = icmpEcho(1, 1, [1, 2]); e[2] ^= 0xff; return guestIcmp(e); } },
  { reason: 'icmp-unsupported-type', frame: () => guestIcmp(icmpEcho(1, 1, [1], 13)) },
  { reason: 'icmp-restricted', frame: () => guestIcmp(icmpEcho(1, 1, [1])), config: { restrict: true } },
  { reason: 'icmp-no-host-address', frame: () => guestIcmp(icmpEcho(1, 1, [1]), ip4(10, 0, 2, 99)) },
  { reason: 'icmp-forward-unsupported', frame: () => guestIcmp(icmpEcho(1, 1, [1])) },
  { reason: 'dhcp-truncated', frame: () => guestUdp(HOST_IP, 68, 67, [1, 1, 6, 0]) },
  { reason: 'dhcp-bad-cookie', frame: () => { const d = dhcp({ type: 1 }); d[236] = 0; return guestUdp(HOST_IP, 68, 67, d); } },
  { reason: 'dhcp-not-request', frame: () => { const d = dhcp({ type: 1 }); d[0] = 2; return guestUdp(HOST_IP, 68, 67, d); } },
  { reason: 'dhcp-no-message-type', frame: () => guestUdp(HOST_IP, 68, 67, dhcp({ type: 1, raw: [255] })) },
  { reason: 'dhcp-other-server', frame: () => guestUdp(HOST_IP, 68, 67, dhcp({ type: 3, serverId: ip4(10, 0, 2, 9) })) },
  { reason: 'tftp-unsupported', frame: () => guestUdp(HOST_IP, 40000, 69, [0, 1, ...Array.from('a', (c) => c.charCodeAt(0)), 0, 111, 99, 116, 101, 116, 0]), frameless: true },
  { reason: 'tcp-truncated-header', frame: () => guestTcp(Uint8Array.from([0, 1, 0, 2])), realTcp: true },
  { reason: 'tcp-bad-checksum', frame: () => guestTcp(tcpSegment(GUEST_IP, OUTSIDE, 40000, 80, SYN, false)), realTcp: true },
  { reason: 'tcp-zero-port', frame: () => guestTcp(tcpSegment(GUEST_IP, OUTSIDE, 0, 80, SYN)), realTcp: true },
  { reason: 'tcp-syn-fin', frame: () => guestTcp(tcpSegment(GUEST_IP, OUTSIDE, 40000, 80, SYN | FIN)), realTcp: true },
  { reason: 'tcp-rst-no-connection', frame: () => guestTcp(tcpSegment(GUEST_IP, OUTSIDE, 40000, 80, RST)), realTcp: true },
  { reason: 'tcp-no-connection', frame: () => guestTcp(tcpSegment(GUEST_IP, OUTSIDE, 40000, 80, ACK)), realTcp: true },
];

for (const c of CASES) {
  test(`drop reason ${c.reason}: counted once, at ${DROP_REASONS[c.reason].stage}, with the frame`, async () => {
    const g = makeGuest(c.config ?? {}, c.realTcp ? { tcp: undefined } : {});
    const seen: DropEvent[] = [];
    g.probes.drops.listen((d) => seen.push(d));
    const frame = c.frame();
    try {
      g.slirp.input(frame);
      assert.deepEqual(g.probes.drops.snapshot(), [{ stage: DROP_REASONS[c.reason].stage, reason: c.reason, count: 1 }]);
      assert.equal(seen.length, 1);
      assert.equal(seen[0]!.reason, c.reason);
      assert.equal(seen[0]!.frame, c.frameless || c.realTcp ? undefined : frame);
    } finally {
      await g.slirp.close();
    }
  });
}

test('a reason decided away from its usual stage is counted at the stage that decided it', async () => {
  const g = makeGuest();
  try {
    // A UDP datagram from 0.0.0.0 that is not DHCP: refused in udp_input, though ip-bad-source is an ip_input reason.
    g.slirp.input(guestUdp(OUTSIDE, 40000, 9, [1], 0));
    assert.deepEqual(g.probes.drops.snapshot(), [{ stage: 'udp_input', reason: 'ip-bad-source', count: 1 }]);
  } finally {
    await g.slirp.close();
  }
});

test('netqueue-full: frames for the guest past the queue bound are dropped at qemu_receive_packet', () => {
  const hub = new ProbeHub();
  const q = new NetQueue(hub);
  q.attachNic(() => true, () => false);
  for (let i = 0; i <= MAX_PENDING_TO_NIC; i++) q.toNic(new Uint8Array(60));
  assert.deepEqual(hub.drops.snapshot(), [{ stage: 'qemu_receive_packet', reason: 'netqueue-full', count: 1 }]);
});

test('the ledger counts per stage and reason, in pipeline order, and listeners can leave', () => {
  const ledger = new DropLedger();
  const seen: string[] = [];
  const stop = ledger.listen((d) => seen.push(`${d.stage} ${d.reason}`));
  ledger.drop('udp-bad-checksum');
  ledger.drop('udp-bad-checksum');
  ledger.drop('eth-truncated');
  ledger.drop('netem-loss', 'qemu_receive_packet');
  stop();
  ledger.drop('netem-loss', 'qemu_send_packet');
  assert.deepEqual(seen, ['udp_input udp-bad-checksum', 'udp_input udp-bad-checksum', 'slirp_input eth-truncated', 'qemu_receive_packet netem-loss']);
  assert.equal(ledger.total, 5);
  assert.equal(ledger.count('netem-loss'), 2);
  assert.equal(ledger.count('netem-loss', 'qemu_send_packet'), 1);
  assert.deepEqual(ledger.snapshot().map((d) => `${d.stage} ${d.reason} ${d.count}`), [
    'qemu_send_packet netem-loss 1',
    'slirp_input eth-truncated 1',
    'udp_input udp-bad-checksum 2',
    'qemu_receive_packet netem-loss 1',
  ]);
});

test('every reason names a real stage, and the TCP layer’s short names map onto the list', () => {
  for (const [reason, info] of Object.entries(DROP_REASONS)) assert.ok(isStageName(info.stage), `${reason}: ${info.stage}`);
  assert.equal(tcpDropReason('bad-checksum'), 'tcp-bad-checksum');
  assert.equal(tcpDropReason('connect-ECONNREFUSED'), 'tcp-connect-refused');
  assert.equal(tcpDropReason('connect-ENETUNREACH'), 'tcp-connect-unreachable');
  assert.equal(tcpDropReason('connect-ETIMEDOUT'), 'tcp-connect-failed');
  assert.equal(isDropReason('no-such-reason'), false);
});

test('docs/drop-reasons.md lists exactly the reasons of the table, each with its stage', () => {
  const doc = readFileSync(join(__dirname, '../../../docs/drop-reasons.md'), 'utf8');
  const rows = [...doc.matchAll(/^\| `([a-z0-9-]+)` \| `([a-z0-9_]+)` \| (\*routine:\* )?/gm)].map((m) => `${m[1]} ${m[2]}${m[3] ? ' routine' : ''}`);
  assert.deepEqual(rows, Object.entries(DROP_REASONS).map(([r, i]) => `${r} ${i.stage}${isRoutineDrop(r) ? ' routine' : ''}`));
});

test('every reason of the table is decided somewhere in the code (no reason only documented)', () => {
  // The string literals of every source file but the table's own.
  const root = join(__dirname, '../../../extension');
  const literals = new Set<string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && entry.name !== 'drop-reasons.ts') {
        const text = readFileSync(path, 'utf8');
        for (const m of text.matchAll(/['"`]([a-z0-9-]+)['"`]/g)) literals.add(m[1]!);
        // `${family}-send-error`: a name whose protocol prefix is chosen at run time.
        for (const m of text.matchAll(/`\$\{[^}`]+\}-([a-z0-9-]+)`/g)) literals.add(m[1]!);
      }
    }
  };
  walk(root);
  // The TCP layer, the TFTP server and the ping sockets name their reasons without the protocol prefix
  // (tcpDropReason, `tftp-${name}`, `${family}-send-error`); the host's connect errors are mapped by tcpDropReason itself.
  const mapped = new Set(['connect-ECONNREFUSED', 'connect-EHOSTUNREACH', 'connect-ETIMEDOUT'].map(tcpDropReason));
  const decided = (reason: string) => literals.has(reason) || mapped.has(reason as DropReason)
    || (/^(tcp|tftp|icmp|icmpv6)-/.test(reason) && literals.has(reason.slice(reason.indexOf('-') + 1)));
  assert.deepEqual(Object.keys(DROP_REASONS).filter((r) => !decided(r)), []);
});
