/**
 * The slirp's fuzz targets, after libslirp's (fuzz-ip-header, fuzz-udp, fuzz-tcp,
 * fuzz-icmp, fuzz-tftp, fuzz-dhcp, fuzz-udp-h for DNS, and ARP): each turns its
 * bytes into guest frames of one protocol, with the headers below it built right
 * and the checksums fixed, so mutations reach that protocol's parser. Every
 * destination is one the slirp serves from loopback (10.0.2.2, 10.0.2.3,
 * broadcast), so nothing leaves the host's loopback whatever the bytes say.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SlirpConfig } from '../../../extension/slirp/config';
import { TcpStack } from '../../../extension/slirp/tcp/tcp-stack';
import { fixChecksums } from '../../support/fuzz/frame-mutator';
import { malformedReason } from '../../support/fuzz/well-formed';
import { arp as arpFrame, DNS_IP, eth, GUEST_IP, HOST_IP, ipv4 } from '../../unit/slirp/helpers/frames';
import { makeGuest } from '../../unit/slirp/helpers/harness';
import { ipv6TransportChecksum } from '../../../extension/wire/ipv6';
import { parseIpv6 } from '../../../extension/wire/ipv6-address';
import { messages, type FuzzInstance, type FuzzTarget } from './target';

const BROADCAST = 0xffffffff;
const NET_BROADCAST = 0x0a0002ff;
/** Where a message may go, picked by its first byte. */
const DESTINATIONS = [HOST_IP, DNS_IP, NET_BROADCAST, BROADCAST];
const LIMITS = { maxSessions: 32, reassembly: { maxDatagrams: 16, maxFragmentsPerDatagram: 16, maxBytes: 64 * 1024, timeoutMs: 30_000 } };
const IP_MAX = 65535;
const TFTP_CLIENT_PORT = 1069;

interface SlirpTargetSpec {
  about: string;
  maxLength?: number;
  dictionary?: number[][];
  config?: Partial<SlirpConfig>;
  realTcp?: boolean;
  /** The guest frame for one message of the input. */
  frame(message: Uint8Array, seen: Seen): Uint8Array | undefined;
}

/** What later messages may need: a TFTP transfer's port, the loopback echo server's. */
interface Seen {
  transferPort: number;
  echoPort: number;
}

function slirpTarget(spec: SlirpTargetSpec): FuzzTarget {
  return {
    about: spec.about,
    maxLength: spec.maxLength ?? 4096,
    dictionary: spec.dictionary,
    async open(): Promise<FuzzInstance> {
      const tftpRoot = mkdtempSync(join(tmpdir(), 'usernet-fuzz-tftp-'));
      writeFileSync(join(tftpRoot, 'a'), Buffer.alloc(1300, 0x61));
      writeFileSync(join(tftpRoot, 'b'), '');
      const config = { dnsUpstream: '127.0.0.1:9', hostname: 'fuzz', dnsSearch: ['a.test'], tftpRoot, ...spec.config };
      const g = makeGuest(config, spec.realTcp ? { ...LIMITS, tcp: (h) => new TcpStack(h) } : LIMITS);
      const mtu = g.slirp.config.mtu;
      // A loopback echo server, so guest connections get established and carry data.
      const echo = createServer((c) => c.on('error', () => {}).pipe(c));
      await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
      const seen: Seen = { transferPort: 69, echoPort: (echo.address() as AddressInfo).port };
      return {
        run(data: Uint8Array): void {
          for (const m of messages(data)) {
            const frame = spec.frame(m, seen);
            if (frame) g.slirp.input(frame);
          }
          g.clock.advance(100);
          if (g.slirp.dropSummary()['internal-error']) throw new Error(`an exception inside the stack: ${g.logs.join('\n')}`);
          for (const f of g.out) {
            const bad = malformedReason(f, Math.max(mtu, 1500));
            if (bad) throw new Error(`the stack sent a malformed frame (${bad}): ${Buffer.from(f).toString('hex')}`);
            // A UDP reply from 10.0.2.2 to the TFTP client's port: its source is the transfer's port.
            if (f.length >= 42 && f[23] === 17 && f[36] === TFTP_CLIENT_PORT >> 8 && f[37] === (TFTP_CLIENT_PORT & 0xff)) seen.transferPort = (f[34]! << 8) | f[35]!;
          }
          g.out.length = 0;
          if (g.slirp.nat.size > LIMITS.maxSessions) throw new Error(`NAT sessions ${g.slirp.nat.size} > ${LIMITS.maxSessions}`);
          const r = g.slirp.reassemblyState;
          if (r.datagrams > LIMITS.reassembly.maxDatagrams || r.bytes > LIMITS.reassembly.maxBytes) throw new Error(`reassembly over its bounds: ${JSON.stringify(r)}`);
          if (g.slirp.arpTable.size > 16) throw new Error(`ARP table over its bound: ${g.slirp.arpTable.size}`);
        },
        async close(): Promise<void> {
          await g.slirp.close();
          await new Promise((r) => echo.close(r));
          rmSync(tftpRoot, { recursive: true, force: true });
        },
      };
    },
  };
}

/** An IPv4 datagram from the guest around `payload`, its checksums fixed. */
function datagram(protocol: number, dst: number, payload: Uint8Array, src = GUEST_IP, dstMac?: Uint8Array): Uint8Array | undefined {
  if (payload.length > IP_MAX - 20) return undefined;
  const f = eth(0x0800, ipv4({ src, dst, protocol, payload }), dstMac);
  fixChecksums(f);
  return f;
}

/** IPv6 destinations the slirp answers itself (its addresses, the multicast groups it takes): nothing else is allowed out. */
const LOCAL6 = ['fec0::2', 'fec0::3', 'fe80::2', 'ff02::1', 'ff02::2', 'ff02::16', 'ff02::1:2', 'ff02::1:ff00:2', 'ff02::1:ff00:3'].map((a) => parseIpv6(a)!);
const IPV6_MULTICAST_MAC = Uint8Array.of(0x33, 0x33, 0, 0, 0, 1);

/** An IPv6 packet from the guest, its destination kept local and its ICMPv6/UDP/TCP checksum fixed when no extension header is in the way. */
function ipv6Packet(m: Uint8Array): Uint8Array {
  if (m.length < 40) return eth(0x86dd, m);
  const ip = m.slice();
  if (!LOCAL6.some((a) => a.every((b, i) => ip[24 + i] === b))) ip.set(LOCAL6[0]!, 24);
  const next = ip[6]!;
  const at = { 58: 2, 17: 6, 6: 16 }[next];
  const payload = ip.subarray(40, 40 + ((ip[4]! << 8) | ip[5]!));
  if (at !== undefined && payload.length >= at + 2) {
    payload[at] = payload[at + 1] = 0;
    let sum = ipv6TransportChecksum(ip.subarray(8, 24), ip.subarray(24, 40), next, payload);
    if (sum === 0 && next === 17) sum = 0xffff;
    payload[at] = sum >> 8;
    payload[at + 1] = sum & 0xff;
  }
  return eth(0x86dd, ip, ip[24] === 0xff ? IPV6_MULTICAST_MAC : undefined);
}

const pick = (m: Uint8Array) => DESTINATIONS[(m[0] ?? 0) % DESTINATIONS.length]!;
const udp = (sport: number, dport: number, body: Uint8Array): Uint8Array => {
  const u = new Uint8Array(8 + body.length);
  u.set([sport >> 8, sport & 255, dport >> 8, dport & 255, u.length >> 8, u.length & 255], 0);
  u.set(body, 8);
  return u;
};
const ALL_ONES = new Uint8Array(6).fill(255);

export const slirpTargets: Record<string, FuzzTarget> = {
  'ip-header': slirpTarget({
    about: 'IPv4 datagrams (header, options, fragments) from the guest; a destination the slirp does not serve is rewritten to 10.0.2.2',
    realTcp: true,
    dictionary: [[0x45], [0x46], [0x4f], [0x20, 0x00], [0x3f, 0xff], [7, 39, 4], [0x94, 4, 0, 0], [17], [6], [1]],
    frame(m) {
      if (m.length < 20) return eth(0x0800, m);
      const ip = m.slice();
      const dst = ((ip[16]! << 24) | (ip[17]! << 16) | (ip[18]! << 8) | ip[19]!) >>> 0;
      if (!DESTINATIONS.includes(dst)) ip.set([10, 0, 2, 2], 16);
      const f = eth(0x0800, ip);
      fixChecksums(f);
      return f;
    },
  }),
  udp: slirpTarget({
    about: 'UDP datagrams (header and payload): the first byte picks 10.0.2.2, 10.0.2.3 or a broadcast address',
    dictionary: [[0, 53], [0, 67], [0, 68], [0, 69], [0, 7], [0xff, 0xff]],
    frame: (m) => datagram(17, pick(m), m.subarray(1)),
  }),
  tcp: slirpTarget({
    about: 'TCP segments into the real TCP layer, a conversation per input: the first byte of each picks 10.0.2.2 or 10.0.2.3; port 8080 on 10.0.2.2 is a loopback echo server',
    realTcp: true,
    dictionary: [[2, 4, 5, 0xb4], [3, 3, 7], [4, 2], [8, 10], [5, 10], [1], [0x50, 0x02], [0x50, 0x10], [0x50, 0x18], [0x50, 0x11], [0x50, 0x04], [0x1f, 0x90]],
    frame(m, seen) {
      // Port 8080 (the captured HTTP fetch's) is the echo server's.
      const seg = m.slice(1);
      if (seg.length >= 4 && seg[2] === 0x1f && seg[3] === 0x90) seg.set([seen.echoPort >> 8, seen.echoPort & 0xff], 2);
      return datagram(6, pick(m) === DNS_IP ? DNS_IP : HOST_IP, seg);
    },
  }),
  icmp: slirpTarget({
    about: 'ICMP messages (echo, errors quoting a datagram, anything): the first byte picks the destination',
    frame: (m) => datagram(1, pick(m), m.subarray(1)),
  }),
  tftp: slirpTarget({
    about: 'TFTP packets from one guest port, to 10.0.2.2:69 when the first byte is odd, else to the port of the last transfer the slirp answered from; the root holds a 1300-byte file "a" and an empty "b"',
    dictionary: [[0, 1], [0, 2], [0, 4], [0, 5], [0, 6], [...Buffer.from('octet\0')], [...Buffer.from('netascii\0')], [...Buffer.from('blksize\0')], [...Buffer.from('tsize\0')], [...Buffer.from('timeout\0')], [...Buffer.from('a\0')]],
    frame: (m, seen) => datagram(17, HOST_IP, udp(TFTP_CLIENT_PORT, (m[0] ?? 0) & 1 ? 69 : seen.transferPort, m.subarray(1))),
  }),
  dhcp: slirpTarget({
    about: 'BOOTP/DHCP messages from 0.0.0.0:68 to the broadcast address :67 (a conversation per input)',
    maxLength: 8192,
    dictionary: [[0x63, 0x82, 0x53, 0x63], [53, 1, 1], [53, 1, 3], [53, 1, 7], [53, 1, 8], [50, 4, 10, 0, 2, 15], [54, 4, 10, 0, 2, 2], [55, 4, 1, 3, 6, 119], [12, 1, 97], [255], [0]],
    frame: (m) => datagram(17, BROADCAST, udp(68, 67, m), 0, ALL_ONES),
  }),
  dns: slirpTarget({
    about: 'DNS queries to 10.0.2.3:53 (names, labels, compression pointers, question counts)',
    dictionary: [[0xc0, 12], [0xc0], [0x3f], [0, 1, 0, 1], [0, 28, 0, 1], [0, 12, 0, 1], [1, 0], [0, 4]],
    frame: (m) => datagram(17, DNS_IP, udp(5353, 53, m)),
  }),
  ipv6: slirpTarget({
    about: 'IPv6 packets from the guest (header, extension headers, fragments, ICMPv6 with NDP and echo, UDP, TCP, DHCPv6); a destination the slirp does not serve locally is rewritten to fec0::2',
    realTcp: true,
    dictionary: [[0x60, 0, 0, 0], [58], [17], [6], [44], [0], [60], [43], [133], [135], [136], [128], [0xfe, 0xc0], [0xff, 0x02], [2, 0x22, 2, 0x23], [0, 0x35]],
    frame: (m) => ipv6Packet(m),
  }),
  arp: slirpTarget({
    about: 'ARP packets (what follows the Ethernet header), broadcast',
    dictionary: [[0, 1, 8, 0, 6, 4], [0, 1], [0, 2], [10, 0, 2, 2], [10, 0, 2, 3], [10, 0, 2, 15]],
    frame: (m) => Uint8Array.from([...arpFrame(1, GUEST_IP, HOST_IP).subarray(0, 14), ...m]),
  }),
};
